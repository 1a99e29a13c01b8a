"""`simulate --in-use`: what runs, read from kubectl's pod JSON or a plain list, resolved to the
repository's images; a policy that would take a running image exits 1 naming pod, image, rule."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra.lifecycle import Image
from infra.lifecycle.in_use import (
    InUseError,
    Reference,
    Repository,
    parse_in_use,
    running_images,
)
from infra.paths import PROJECT_ROOT
from testkit.cli import write_input

from .support import DAY, NOW, cli

EXAMPLE = PROJECT_ROOT / "examples" / "lifecycle"
HOST = "842676018087.dkr.ecr.ap-southeast-1.amazonaws.com"
REPO = f"{HOST}/mlops/retail-api"
BACKFILL_DIGEST = "sha256:8d1b74ff03f8d17e3a1bb05267224671489042f77f4b1c64b015da33639f6ee2"


def ecr_image(digest: str, *tags: str) -> Image:
    return Image(
        digest, tags, NOW - DAY, repository_name="mlops/retail-api", registry_id="842676018087"
    )


IMAGES = [ecr_image("sha256:aaa", "sha-1", "v1.0.0"), ecr_image("sha256:bbb", "latest")]
HERE = Repository("mlops/retail-api", "842676018087")


def resolved(*references: str, repository: Repository = HERE) -> dict[str, list[str]]:
    refs = [Reference(f"line {i}", text) for i, text in enumerate(references, start=1)]
    return {
        digest: [ref.text for ref in found]
        for digest, found in running_images(IMAGES, refs, repository).items()
    }


def test_references_resolve_by_digest_then_tag_then_latest() -> None:
    assert resolved(
        f"{REPO}@sha256:aaa",
        f"{REPO}:v1.0.0",
        f"{REPO}",
        f"{REPO}:sha-9",  # no such tag here
    ) == {"sha256:aaa": [f"{REPO}@sha256:aaa", f"{REPO}:v1.0.0"], "sha256:bbb": [REPO]}


def test_a_digest_wins_over_the_tag_beside_it() -> None:
    # `repo:tag@digest` pulls the digest; the tag is decoration.
    assert resolved(f"{REPO}:latest@sha256:aaa") == {"sha256:aaa": [f"{REPO}:latest@sha256:aaa"]}


def test_other_repositories_and_accounts_do_not_match() -> None:
    assert (
        resolved(
            f"{HOST}/mlops/other@sha256:aaa",
            "111122223333.dkr.ecr.ap-southeast-1.amazonaws.com/mlops/retail-api@sha256:aaa",
            "docker.io/library/nginx:latest",
            "nginx",
        )
        == {}
    )


def test_without_a_repository_name_every_path_matches_by_digest_or_tag() -> None:
    unknown = Repository(None, None)
    assert resolved("mirror.local:5000/team/api@sha256:aaa", "x/y:sha-1", repository=unknown) == {
        "sha256:aaa": ["mirror.local:5000/team/api@sha256:aaa", "x/y:sha-1"]
    }


def test_repository_is_read_from_the_images() -> None:
    assert Repository.of(IMAGES) == HERE
    assert Repository.of([*IMAGES, Image("sha256:c", (), NOW)]) == Repository(None, None)


def test_reference_parts() -> None:
    assert Reference("x", "localhost:5000/a/b:t@sha256:d").parts == (
        "localhost:5000",
        "a/b",
        "t",
        "sha256:d",
    )
    assert Reference("x", "mlops/retail-api:v1").parts == (None, "mlops/retail-api", "v1", None)


def pod(name: str, image: str, image_id: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if image_id is not None:
        status["containerStatuses"] = [{"name": "c", "image": image, "imageID": image_id}]
    return {
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {"containers": [{"name": "c", "image": image}]},
        "status": status,
    }


def test_kubectl_pods_give_spec_images_and_running_digests() -> None:
    document = {
        "kind": "List",
        "items": [
            pod("a", f"{REPO}:v1", f"docker-pullable://{REPO}@sha256:aaa"),
            # A local image ID names no registry digest: ignored.
            pod("b", f"{REPO}:v2", "docker://sha256:0123"),
        ],
    }
    assert parse_in_use(json.dumps(document)) == (
        Reference("pod ns/a", f"{REPO}:v1"),
        Reference("pod ns/a", f"{REPO}@sha256:aaa"),
        Reference("pod ns/b", f"{REPO}:v2"),
    )


def test_init_and_ephemeral_containers_count() -> None:
    single = pod("a", f"{REPO}:v1")
    single["kind"] = "Pod"
    single["spec"]["initContainers"] = [{"name": "i", "image": f"{REPO}:init"}]
    single["spec"]["ephemeralContainers"] = [{"name": "e", "image": f"{REPO}:debug"}]
    assert [ref.text for ref in parse_in_use(json.dumps(single))] == [
        f"{REPO}:init",
        f"{REPO}:v1",
        f"{REPO}:debug",
    ]


def test_plain_lists() -> None:
    assert parse_in_use(f"# running in prod\n{REPO}:v1\n\n  {REPO}@sha256:aaa  # canary\n") == (
        Reference("line 2", f"{REPO}:v1"),
        Reference("line 4", f"{REPO}@sha256:aaa"),
    )
    assert parse_in_use(json.dumps([f"{REPO}:v1"])) == (Reference("entry 1", f"{REPO}:v1"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"kind": "List"}', 'kubectl JSON must have an "items" list'),
        ('{"items": [{"spec": {}}]}', "items[0].metadata.name: required"),
        (
            '{"items": [{"metadata": {"name": "p"}, "spec": {"containers": {}}}]}',
            "items[0].spec.containers: must be a list",
        ),
        (
            '{"items": [{"metadata": {"name": "p"}, "spec": {"containers": [{"image": 3}]}}]}',
            "items[0].spec.containers[0].image: must be a string",
        ),
        ("[1, 2]", "must hold image references (strings)"),
        ("a b\n", "line 1: one image reference per line"),
        ("3", "must be kubectl pods JSON, a list of references, or text"),
    ],
)
def test_bad_input_names_the_field(text: str, message: str) -> None:
    with pytest.raises(InUseError, match=re.escape(message)):
        parse_in_use(text)


# --- the CLI on the bundled example ------------------------------------------------------------


def simulate_example(in_use: Path, *extra: str) -> Any:
    return cli(
        "simulate",
        "--stack",
        "prod",
        "--images",
        EXAMPLE / "describe-images.json",
        "--now",
        "2026-11-30T00:00:00Z",
        "--in-use",
        in_use,
        *extra,
    )


def test_the_sample_pod_running_an_expiring_image_fails_the_check() -> None:
    result = simulate_example(EXAMPLE / "pods.json", "--format", "table")
    assert result.returncode == 1
    assert result.stderr == (
        "error: pod retail/price-backfill-29410560-h7xkt runs "
        f"{REPO}@{BACKFILL_DIGEST} (image sha256:8d1b74ff03f8 sha-ef020b7877af), which rule 4 "
        "would expire\n"
    )
    rows = [line.split() for line in result.stdout.splitlines() if "pod retail/" in line]
    assert [(row[0], row[2], row[-3] if row[-1] == "+1" else row[-2], row[-1]) for row in rows] == [
        ("KEPT", "4", "pod", "+1"),
        ("KEPT", "3", "pod", "retail/retail-api-canary-7b4d9c6f8-p8sdw"),
        ("EXPIRE", "4", "pod", "retail/price-backfill-29410560-h7xkt"),
    ]
    assert "; in use 3" in result.stdout


def test_without_the_expiring_pod_the_check_passes(tmp_path: Path) -> None:
    pods = json.loads((EXAMPLE / "pods.json").read_text())
    pods["items"] = [p for p in pods["items"] if not p["metadata"]["name"].startswith("price-")]
    result = simulate_example(write_input(tmp_path, "pods.json", pods))
    assert (result.returncode, result.stderr) == (0, "")
    in_use = json.loads(result.stdout)["inUse"]
    assert [(entry["imageDigest"][:19], len(entry["usedBy"])) for entry in in_use] == [
        ("sha256:401e829b5e56", 2),
        # Two pods, each naming the digest in spec and status: one reference per pod.
        ("sha256:748d94629911", 2),
    ]


def test_a_plain_list_names_the_line(tmp_path: Path) -> None:
    listed = write_input(
        tmp_path, "running.txt", f"{REPO}:sha-8f16294d5447\n{REPO}:sha-ef020b7877af\n"
    )
    result = simulate_example(listed)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: line 2 runs {REPO}:sha-ef020b7877af (image ")


def test_an_unreadable_in_use_file_is_one_line(tmp_path: Path) -> None:
    result = simulate_example(write_input(tmp_path, "pods.json", {"kind": "List"}))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert 'pods.json: in-use: kubectl JSON must have an "items" list' in result.stderr
