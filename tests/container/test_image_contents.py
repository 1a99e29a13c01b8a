"""The image's CycloneDX SBOM, read without running the image, and the lean runtime it audits.

Expected values come from outside the image's build: the distributions `importlib.metadata`
sees inside the image, the hashes pinned in `server/requirements.txt` (the lock export), the
CycloneDX 1.6 field names and the package-URL spec for PyPI (`pkg:pypi/<name>@<version>`,
name lowercased with `_` written as `-`).
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from retail_api.schemas import EXAMPLE_BASKET
from testkit.engine import copy_from_image, docker, image_size, inspect
from testkit.net import wait_for
from tests.container.conftest import BuiltImage, remove_container, run_container

pytestmark = pytest.mark.container

SBOM_PATH = "/app/sbom.cdx.json"
SBOM_LABEL = "org.retail-registry.sbom"
MB = 1_000_000
# What the image may add over its base: the runtime venv, the model and the code, no pip.
ADDED_GOAL_BYTES = 70 * MB
# The training stack must never reach the runtime image.
TRAINING_STACK = {"scikit-learn", "scipy", "pandas", "joblib", "xgboost"}
REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)")
HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


def normalise(name: str) -> str:
    """PEP 503 name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def run_python(image: str, code: str, interpreter: str = "python") -> Any:
    """Run a probe as the image's user on a read-only root and parse the JSON it prints."""
    out = docker("run", "--rm", "--read-only", "--entrypoint", interpreter, image, "-c", code)
    return json.loads(out)


def pinned_hashes(requirements: Path) -> dict[str, set[str]]:
    """name -> sha256 digests the lock export allows for it."""
    pins: dict[str, set[str]] = {}
    current = ""
    for line in requirements.read_text().splitlines():
        if match := REQUIREMENT.match(line):
            current = normalise(match.group(1))
            pins[current] = set()
        pins.setdefault(current, set()).update(HASH.findall(line))
    return pins


@pytest.fixture(scope="module")
def sbom(built_image: BuiltImage, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The SBOM copied out of a created, never started, container."""
    target = tmp_path_factory.mktemp("sbom") / "sbom.cdx.json"
    document: dict[str, Any] = json.loads(
        copy_from_image(built_image.tag, SBOM_PATH, target).read_text()
    )
    return document


@pytest.fixture(scope="module")
def installed(built_image: BuiltImage) -> dict[str, str]:
    """name -> version of every distribution the image's interpreter can see."""
    probe = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    found: dict[str, str] = run_python(built_image.tag, probe)
    return {normalise(name): version for name, version in found.items()}


def test_the_label_points_to_the_sbom(built_image: BuiltImage) -> None:
    assert inspect(built_image.tag)["Config"]["Labels"][SBOM_LABEL] == SBOM_PATH


def test_sbom_is_reproducible_cyclonedx_json(sbom: dict[str, Any]) -> None:
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom["specVersion"] == "1.6"
    # No serial number or timestamp: the same dependencies give the same bytes, so the
    # layer holding it (and its sha256) only changes with the dependencies.
    assert "serialNumber" not in sbom
    assert "timestamp" not in sbom.get("metadata", {})


def test_sbom_lists_every_distribution_with_its_version(
    sbom: dict[str, Any], installed: dict[str, str]
) -> None:
    listed = {normalise(c["name"]): c["version"] for c in sbom["components"]}
    assert listed == installed
    assert {"fastapi", "uvicorn", "numpy", "pydantic"} <= listed.keys()
    assert not listed.keys() & TRAINING_STACK


def test_components_carry_the_package_url(sbom: dict[str, Any]) -> None:
    for component in sbom["components"]:
        name = component["name"].lower().replace("_", "-")
        assert component["purl"] == f"pkg:pypi/{name}@{component['version']}"


def test_each_component_hash_is_one_the_lock_pins(
    sbom: dict[str, Any], built_image: BuiltImage
) -> None:
    """The sha256 of the file pip installed, which must be one the lock export allows."""
    pins = pinned_hashes(built_image.context / "requirements.txt")
    for component in sbom["components"]:
        hashes = {h["alg"]: h["content"] for h in component.get("hashes", [])}
        assert hashes.keys() == {"SHA-256"}, component["name"]
        assert hashes["SHA-256"] in pins[normalise(component["name"])], component["name"]


def test_no_pip_setuptools_or_wheel_anywhere(built_image: BuiltImage) -> None:
    """Neither interpreter (the venv's nor the base's) nor the filesystem has them."""
    probe = (
        "import importlib.util as u, json, pathlib, re, shutil, sys; "
        "names = ('pip', 'setuptools', 'wheel'); "
        "dist = re.compile(r'(pip|setuptools|wheel)-[0-9][^/]*[.](dist-info|egg-info|whl)'); "
        "files = [str(p) for root in ('/usr', '/opt') for p in pathlib.Path(root).rglob('*') "
        "if dist.fullmatch(p.name) or (p.name in names and p.parent.name.endswith('-packages'))]; "
        "print(json.dumps({'prefix': sys.prefix, 'base': sys.base_prefix, "
        "'modules': [n for n in names if u.find_spec(n)], "
        "'commands': [c for c in ('pip', 'pip3') if shutil.which(c)], 'files': files}))"
    )
    venv = run_python(built_image.tag, probe)
    assert venv["prefix"] == "/opt/venv"
    assert (venv["modules"], venv["commands"], venv["files"]) == ([], [], [])
    base = run_python(built_image.tag, probe, interpreter=f"{venv['base']}/bin/python3")
    assert base["modules"] == []


def test_no_tests_headers_stubs_or_source_maps(built_image: BuiltImage) -> None:
    probe = (
        "import json, pathlib; "
        "print(json.dumps(sorted(str(p) for p in pathlib.Path('/opt/venv').rglob('*') "
        "if (p.is_dir() and p.name in ('tests', 'include')) "
        "or p.suffix in ('.h', '.a', '.c', '.pyi', '.pyx', '.pxd', '.pxi', '.map'))))"
    )
    assert run_python(built_image.tag, probe) == []


def test_bytecode_exactly_for_what_the_server_imports(built_image: BuiltImage) -> None:
    """Started with a writable pycache prefix, the server compiles every module it imports
    there; the ones the image ships bytecode for must cover them all, and a package the
    server never imports (h11: uvicorn serves HTTP with httptools) has none."""
    running = run_container(
        built_image.tag, "-e", "PYTHONDONTWRITEBYTECODE=", "-e", "PYTHONPYCACHEPREFIX=/tmp/pyc"
    )
    try:
        wait_for(lambda: inspect(running.name)["State"]["Health"]["Status"] == "healthy", 60)
        # The first request too: what it imports would otherwise be compiled on every start.
        request = urllib.request.Request(
            f"{running.url}/predict",
            data=json.dumps(EXAMPLE_BASKET).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        probe = (
            "import json, pathlib; "
            "venv = pathlib.Path('/opt/venv'); "
            "used = {str(p.relative_to('/tmp/pyc/opt/venv')) "
            "for p in pathlib.Path('/tmp/pyc/opt/venv').rglob('*.pyc')}; "
            "shipped = {str((p.parent.parent / p.name).relative_to(venv)) "
            "for p in venv.rglob('__pycache__/*.pyc')}; "
            "print(json.dumps({'missing': sorted(used - shipped), "
            "'h11': [s for s in shipped if '/h11/' in s]}))"
        )
        found = json.loads(docker("exec", running.name, "python", "-c", probe))
    finally:
        remove_container(running.name)
    assert found == {"missing": [], "h11": []}


def test_added_size_is_within_the_goal(built_image: BuiltImage) -> None:
    base = built_image.build_args["BASE_IMAGE"]
    added = image_size(built_image.tag) - image_size(base)
    print(f"\nimage adds {added / MB:.1f} MB over {base} (goal ≤ {ADDED_GOAL_BYTES / MB:.0f} MB)")
    assert added <= ADDED_GOAL_BYTES
