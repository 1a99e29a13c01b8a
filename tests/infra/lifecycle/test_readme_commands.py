"""The README's "Lifecycle policy" commands, run exactly as written on examples/lifecycle/.

Expected figures, worked out by hand from the example (74 images on 2026-11-30, prod rules:
untagged after 1 day, keep 10 `v*`, keep 30 `sha-*`):
- `v*` (rule 2) sees 15 standard images: v1.0.0 (restored 3 days ago, so newest), v2.0.0-rc1
  (4 days), v1.13.0 … v1.1.0; it keeps 10 and expires v1.1.0 … v1.5.0: 5.
- `sha-*` (rule 3) sees 45 builds and 14 releases; the 30 newest are v1.0.0, v1.13.0 and builds
  0-27; of the rest only the 17 builds 28-44 are its own (releases belong to rule 2): 17.
- untagged (rule 1): 9 images. Three leftovers are under a day old. The 3-day-old one was pushed
  after the index, so it cannot be its child: EXPIRE. Without manifests the 9- and 40-day-old
  leftovers, the two platform images (pushed before the index) and the signature (an artifact)
  are undetermined: 5. With manifests the children stay with their index, the signature with its
  release, and the two old leftovers expire.
"""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from infra.paths import PROJECT_ROOT

from .support import PYTHON

README = (PROJECT_ROOT / "README.md").read_text()
SECTION = re.search(r"^## Lifecycle policy$(.*?)(?=^## )", README, re.MULTILINE | re.DOTALL)
COMMANDS = [
    line.strip()
    for block in re.findall(r"```bash\n(.*?)```", SECTION.group(1) if SECTION else "", re.DOTALL)
    for line in block.splitlines()
    if line.strip().startswith(".venv/bin/python -m infra.lifecycle simulate")
]
# (expire, undetermined, kept) of the 74 images; none is transitioned.
EXPECTED = {False: (23, 5, 46), True: (25, 0, 49)}
IMAGES_LINE = re.compile(
    r"^Images: 74: expire (\d+), transition 0, undetermined (\d+), kept (\d+); in use 0$",
    re.MULTILINE,
)


def test_the_section_shows_both_simulate_commands() -> None:
    assert len(COMMANDS) == 2
    assert ["--manifests" in command for command in COMMANDS] == [False, True]
    assert all("examples/lifecycle/describe-images.json" in command for command in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_simulate_command_runs_as_written(command: str) -> None:
    words = shlex.split(command)
    assert words[0] == ".venv/bin/python"
    result = subprocess.run(
        [str(PYTHON), *words[1:]],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    table = result.stdout.splitlines()
    assert (
        len([line for line in table if line.split()[:1] in (["KEPT"], ["EXPIRE"])])
        + len([line for line in table if line.startswith("UNDETERMINED")])
        == 74
    )
    counts = IMAGES_LINE.search(result.stdout)
    assert counts is not None, result.stdout[-600:]
    expected = EXPECTED["--manifests" in words]
    assert tuple(int(count) for count in counts.groups()) == expected
    assert f"Retained: {74 - expected[0]} images, " in result.stdout
