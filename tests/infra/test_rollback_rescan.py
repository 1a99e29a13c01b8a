"""A rollback to a digest whose basic scan is a month old, through the whole program.

Basic scanning scans once, on push; the gate starts a new scan (StartImageScan) for a digest
whose last scan is older than scanMaxAgeDays, waits, and judges the new scan. The registry
holds the tag, so nothing is built (the rollback), and the update fails on what the new scan
found. A second `up` the same day finds a fresh scan and starts none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pulumi
import pytest

from infra.image_tag import BuildPlan, build_plan
from tests.infra.conftest import engine_config
from tests.infra.pulumi_harness import FakeEcr, ProgramRun, program_run, resolve

REPOSITORY = "mlops-dev/retail-api"
HELD = "sha256:" + "ab" * 32


def scan(completed: dt.datetime, findings: list[dict[str, Any]]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
    return {
        "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed."},
        "imageScanFindings": {
            "imageScanCompletedAt": completed.isoformat(),
            "findingSeverityCounts": counts,
            "findings": findings,
        },
    }


def test_a_month_old_scan_is_redone_once_and_judged(monkeypatch: pytest.MonkeyPatch) -> None:
    now = dt.datetime.now(dt.UTC)
    tag = "sha-0123456789ab"

    def held_commit(*args: Any, **kwargs: Any) -> BuildPlan:
        return replace(build_plan(*args, **kwargs), tag=tag, content_tag=tag)

    monkeypatch.setattr("infra.registry.build_plan", held_commit)
    critical = {"name": "CVE-2026-4242", "severity": "CRITICAL", "attributes": []}
    ecr = FakeEcr(
        images={REPOSITORY: [(HELD, [tag])]},
        scan=scan(now - dt.timedelta(days=30), []),
        rescan=scan(now, [critical]),
    )
    with (
        pytest.raises(pulumi.RunError, match="1 failing: CVE-2026-4242"),
        program_run("dev", engine_config("dev"), run=ProgramRun(ecr=ecr)),
    ):
        pass
    starts = [args for name, args in ecr.requests if name == "StartImageScan"]
    assert starts == [
        {
            "registryId": "842676018087",
            "repositoryName": REPOSITORY,
            "imageId": {"imageDigest": HELD},
        }
    ]
    # Accepted for now: the next `up` sees a fresh scan and starts no other.
    ecr.scan = scan(now, [])
    ecr.requests.clear()
    run = ProgramRun(ecr=ecr)
    with program_run("dev", engine_config("dev"), run=run):
        assert resolve(pulumi.Output.from_input(run.exports["imageDigest"])) == HELD
    assert [name for name, _ in ecr.requests].count("StartImageScan") == 0
