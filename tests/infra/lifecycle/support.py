"""Builders and the CLI runner shared by the lifecycle tests (and the settings tests' `rule`).

The moto `ecr` fixture comes from tests/infra/conftest.py.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infra.lifecycle import Image, Preview, Relations, analyse, simulate
from infra.paths import PROJECT_ROOT
from testkit.cli import run_module, write_input

NOW = datetime(2026, 11, 28, tzinfo=UTC)
DAY = timedelta(days=1)
PYTHON = PROJECT_ROOT / ".venv" / "bin" / "python"
INDEX = "application/vnd.oci.image.index.v1+json"
SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json"


def rule(
    priority: int,
    status: str = "tagged",
    *,
    prefixes: list[str] | None = None,
    patterns: list[str] | None = None,
    count_type: str = "imageCountMoreThan",
    number: int = 1,
    unit: str | None = None,
    storage: str | None = None,
    action: str = "expire",
    target: str | None = None,
) -> dict[str, Any]:
    """A rule document; `unit` defaults to days for since* count types."""
    selection: dict[str, Any] = {"tagStatus": status}
    if prefixes is not None:
        selection["tagPrefixList"] = prefixes
    if patterns is not None:
        selection["tagPatternList"] = patterns
    if storage is not None:
        selection["storageClass"] = storage
    selection["countType"] = count_type
    if unit is not None or count_type != "imageCountMoreThan":
        selection["countUnit"] = unit or "days"
    selection["countNumber"] = number
    act: dict[str, Any] = {"type": action}
    if target is not None:
        act["targetStorageClass"] = target
    return {"rulePriority": priority, "selection": selection, "action": act}


UNTAGGED = rule(1, "untagged", count_type="sinceImagePushed", number=1)
RELEASES = rule(2, patterns=["v*"], number=10)
BUILDS = rule(3, patterns=["sha-*"], number=30)
VALID = {"rules": [UNTAGGED, RELEASES, BUILDS]}
NO_FINDINGS: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())


def findings(document: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(errors, warnings) of `analyse(document)`."""
    analysis = analyse(document)
    return analysis.errors, analysis.warnings


def single_error(document: object) -> str:
    errors = analyse(document).errors
    assert len(errors) == 1, errors
    return errors[0]


def preview_of(
    document: dict[str, Any],
    images: list[Image],
    now: datetime = NOW,
    relations: Relations | None = None,
) -> Preview:
    """`simulate` on a policy that must be valid."""
    analysis = analyse(document)
    assert analysis.ok, analysis.errors
    return simulate(analysis.rules, images, now, relations)


def acted(preview: Preview) -> list[tuple[str, str, int]]:
    return [(r.image.digest, r.action, r.rule_priority) for r in preview.results]


def archive_unpulled(priority: int, days: int = 30, storage: str | None = None) -> dict[str, Any]:
    """An `any` rule that moves images nobody pulled for `days` to the archive class."""
    return rule(
        priority,
        "any",
        count_type="sinceImagePulled",
        number=days,
        action="transition",
        target="archive",
        storage=storage,
    )


def image(
    digest: str,
    tags: tuple[str, ...] = (),
    age: timedelta = DAY,
    *,
    size: int = 0,
    pulled_ago: timedelta | None = None,
    storage: str = "standard",
    archived_ago: timedelta | None = None,
    restored_ago: timedelta | None = None,
    manifest_type: str | None = None,
    artifact_type: str | None = None,
) -> Image:
    return Image(
        digest=digest,
        tags=tags,
        pushed_at=NOW - age,
        size_bytes=size,
        last_pulled_at=None if pulled_ago is None else NOW - pulled_ago,
        storage_class=storage,
        archived_at=None if archived_ago is None else NOW - archived_ago,
        activated_at=None if restored_ago is None else NOW - restored_ago,
        manifest_media_type=manifest_type,
        artifact_media_type=artifact_type,
    )


def detail(digest: str, tags: list[str], age: timedelta, size: int = 100) -> dict[str, Any]:
    """One `imageDetails` entry as `aws ecr describe-images` prints it."""
    entry: dict[str, Any] = {
        "imageDigest": digest,
        "imagePushedAt": (NOW - age).isoformat(),
        "imageSizeInBytes": size,
    }
    if tags:
        entry["imageTags"] = tags
    return entry


def manifest_entry(digest: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """One `images[]` entry as `aws ecr batch-get-image` prints it."""
    return {"imageId": {"imageDigest": digest}, "imageManifest": json.dumps(manifest)}


# --- the CLI, run as a subprocess ---------------------------------------------------------------


def cli(*args: str | Path, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH keeps `infra` importable when the working directory is not the project root.
    return run_module(
        "infra.lifecycle", *args, cwd=cwd, extra_env={"PYTHONPATH": str(PROJECT_ROOT)}
    )


WORKED_CLI_POLICY = {
    "rules": [
        rule(3, "untagged", count_type="sinceImagePushed", number=1),
        rule(1, patterns=["v*"], number=1),
        rule(2, patterns=["sha-*"], number=2),
    ]
}
WORKED_CLI_IMAGES = {
    "imageDetails": [
        detail("sha256:i1", ["v1.0.0", "sha-a"], 30 * DAY),
        detail("sha256:i2", ["v1.1.0", "sha-b"], 20 * DAY),
        detail("sha256:i3", ["sha-c"], 10 * DAY),
        detail("sha256:i4", ["sha-d"], 5 * DAY),
        detail("sha256:i5", [], 3 * DAY),
        detail("sha256:i6", [], timedelta(hours=12)),
    ]
}


def simulate_worked(
    folder: Path, *extra: str | Path, images: Any = None, policy: Any = None
) -> subprocess.CompletedProcess[str]:
    """`simulate` on the worked example (or other `images` or `policy`) with extra arguments."""
    return cli(
        "simulate",
        "--policy",
        write_input(folder, "p.json", WORKED_CLI_POLICY if policy is None else policy),
        "--images",
        write_input(folder, "i.json", WORKED_CLI_IMAGES if images is None else images),
        *extra,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
