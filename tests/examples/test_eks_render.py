"""examples/eks-consumer/render.py: the program's objects as YAML, offline.

docs/eks.md's "Render offline" commands run exactly as written (exit code and the lines the doc
shows); what they print is valid Kubernetes and is what build_manifests returns.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
import yaml

from infra.paths import PROJECT_ROOT

Validate = Callable[[dict[str, Any]], None]
RENDER = PROJECT_ROOT / "examples" / "eks-consumer" / "render.py"
DOC = (PROJECT_ROOT / "docs" / "eks.md").read_text()
_SECTION = re.search(r"^## Render offline$(.*?)(?=^## |\Z)", DOC, re.MULTILINE | re.DOTALL)
SECTION = _SECTION.group(1) if _SECTION else ""
COMMANDS = re.findall(
    r"```bash\n(?P<command>[^\n]+?)  # exit (?P<code>\d)\n```\n\n```\w+\n(?P<shown>.*?)```",
    SECTION,
    re.DOTALL,
)
IMAGE_REF = (
    "842676018087.dkr.ecr.ap-southeast-1.amazonaws.com/mlops/retail-api@sha256:"
    "b0bbbd04ae3196d9f8bf07a028e0873926fef7069b4140dad25b6ead4f296d58"
)
KINDS = ["Deployment", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"]


def run(words: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        words, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def render(*options: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, str(RENDER), *options])


def test_the_section_shows_a_render_and_a_refusal() -> None:
    assert SECTION.count("```bash") == len(COMMANDS) == 2
    assert [code for _, code, _ in COMMANDS] == ["0", "2"]


@pytest.mark.parametrize(("command", "code", "shown"), COMMANDS, ids=["render", "tag-only"])
def test_doc_command_runs_as_written(
    command: str, code: str, shown: str, assert_valid_kubernetes: Validate
) -> None:
    words = shlex.split(command)
    assert words[:2] == [".venv/bin/python", "examples/eks-consumer/render.py"]
    done = run(words)
    assert done.returncode == int(code), done.stderr
    expected = shown.splitlines()
    if code == "2":
        assert (done.stdout, done.stderr.splitlines()) == ("", expected)
        return
    assert done.stderr == ""
    assert done.stdout.splitlines()[: len(expected)] == expected
    objects = list(yaml.safe_load_all(done.stdout))
    assert [o["kind"] for o in objects] == KINDS
    for document in objects:
        assert_valid_kubernetes(document)
    [container] = objects[0]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == words[words.index("--image-ref") + 1]


def test_output_is_the_builders_objects_with_every_option(
    manifest: ModuleType, assert_valid_kubernetes: Validate
) -> None:
    done = render(
        *("--image-ref", IMAGE_REF, "--namespace", "shop", "--replicas", "3"),
        *("--max-replicas", "6", "--target-requests-per-pod", "4000"),
    )
    assert (done.returncode, done.stderr) == (0, "")
    objects = list(yaml.safe_load_all(done.stdout))
    assert objects == manifest.build_manifests(
        IMAGE_REF,
        "ap-southeast-1",
        namespace="shop",
        replicas=3,
        max_replicas=6,
        target_rps_per_pod=4000,
    )
    for document in objects:
        assert_valid_kubernetes(document)
    assert {o["metadata"]["namespace"] for o in objects} == {"shop"}
    hpa = objects[2]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 6)
    # 4,000 req/s at 1,960 a worker (sizing.py; tests/examples/test_eks_sizing.py): 3 workers.
    [container] = objects[0]["spec"]["template"]["spec"]["containers"]
    assert {"name": "WORKERS", "value": "3"} in container["env"]
    assert container["resources"]["requests"]["cpu"] == "3000m"


def test_defaults_are_the_programs_defaults(manifest: ModuleType) -> None:
    done = render("--image-ref", IMAGE_REF)
    assert done.returncode == 0, done.stderr
    objects = list(yaml.safe_load_all(done.stdout))
    assert objects == manifest.build_manifests(IMAGE_REF, "ap-southeast-1")
    assert {o["metadata"]["namespace"] for o in objects} == {"retail"}
    assert (objects[2]["spec"]["minReplicas"], objects[2]["spec"]["maxReplicas"]) == (2, 10)


def test_a_china_region_host_gives_its_region(manifest: ModuleType) -> None:
    ref = "842676018087.dkr.ecr.cn-north-1.amazonaws.com.cn/mlops/retail-api@sha256:" + "0" * 64
    done = render("--image-ref", ref)
    assert done.returncode == 0, done.stderr
    assert list(yaml.safe_load_all(done.stdout)) == manifest.build_manifests(ref, "cn-north-1")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--image-ref", "ghcr.io/acme/retail-api@sha256:" + "0" * 64],
            "render: error: imageRef: must be '<account>.dkr.ecr.<region>.amazonaws.com/"
            "<repo>@sha256:<64 hex>' (pinned by digest, never by tag), "
            "got 'ghcr.io/acme/retail-api@sha256:" + "0" * 64 + "'",
        ),
        (
            ["--image-ref", IMAGE_REF, "--replicas", "0"],
            "render: error: replicas: must be an integer >= 1, got 0",
        ),
        (
            ["--image-ref", IMAGE_REF, "--replicas", "4", "--max-replicas", "2"],
            "render: error: maxReplicas: must be >= replicas (4), got 2",
        ),
        (
            ["--image-ref", IMAGE_REF, "--namespace", "Retail"],
            "render: error: namespace: must be a DNS-1123 label (a-z, 0-9, '-'), got 'Retail'",
        ),
        (
            ["--image-ref", IMAGE_REF, "--replicas", "two"],
            "render: error: argument --replicas: invalid int value: 'two'",
        ),
        ([], "render: error: the following arguments are required: --image-ref"),
    ],
    ids=["not-ecr", "replicas-0", "max-below-min", "namespace", "not-int", "missing"],
)
def test_bad_input_is_one_line_and_exit_2(options: list[str], message: str) -> None:
    done = render(*options)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", message + "\n")
