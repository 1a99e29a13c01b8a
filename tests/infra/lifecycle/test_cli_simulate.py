"""`python -m infra.lifecycle simulate`, run as a subprocess."""

from __future__ import annotations

import json
import math
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from testkit.cli import write_input

from .support import (
    DAY,
    INDEX,
    NOW,
    WORKED_CLI_IMAGES,
    assert_one_line_error,
    cli,
    detail,
    manifest_entry,
    rule,
    simulate_worked,
)


def test_stack_without_rules_uses_defaults(tmp_path: Path) -> None:
    write_input(tmp_path, "Pulumi.bare.yaml", "config:\n  aws:region: ap-southeast-1\n")
    result = cli(
        "simulate",
        "--stack",
        "bare",
        "--root",
        tmp_path,
        "--images",
        write_input(tmp_path, "i.json", WORKED_CLI_IMAGES),
        "--now",
        NOW.isoformat(),
    )
    assert result.returncode == 0, result.stderr
    # Defaults: untagged after 1 day, 10 v*, 30 sha-*: only I5 goes.
    assert [r["imageDigest"] for r in json.loads(result.stdout)["previewResults"]] == ["sha256:i5"]


def test_simulate_reads_stack_file_from_working_directory(tmp_path: Path) -> None:
    rules = json.dumps(json.dumps([rule(1, "untagged", count_type="sinceImagePushed")]))
    write_input(
        tmp_path, "Pulumi.local.yaml", f"config:\n  retail-registry:lifecycleRules: {rules}\n"
    )
    images = write_input(tmp_path, "i.json", WORKED_CLI_IMAGES)
    result = cli(
        "simulate", "--stack", "local", "--images", images, "--now", NOW.isoformat(), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert [r["imageDigest"] for r in json.loads(result.stdout)["previewResults"]] == ["sha256:i5"]


def test_simulate_worked_example(tmp_path: Path) -> None:
    result = simulate_worked(tmp_path, "--now", "2026-11-28T00:00:00Z", "--price-per-gb", "1000")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert [
        (r["imageDigest"], r["appliedRulePriority"], r["action"]["type"])
        for r in output["previewResults"]
    ] == [("sha256:i1", 1, "EXPIRE"), ("sha256:i5", 3, "EXPIRE")]
    assert output["summary"]["retainedBytes"] == 400
    # Unrounded: 400 bytes of binary GB (2**30 bytes) at $1000 per GB-month.
    assert output["summary"]["estimatedMonthlyStorageUsd"] == 400 / 2**30 * 1000


def test_simulate_table_shows_every_image_with_its_fate_and_rule(tmp_path: Path) -> None:
    sized = {
        "imageDetails": [
            {**entry, "imageSizeInBytes": size}
            for entry, size in zip(
                WORKED_CLI_IMAGES["imageDetails"],
                [3 * 2**30, 2**30, 300 * 2**20, 2**29, 5000, 0],
                strict=True,
            )
        ]
    }
    result = simulate_worked(
        tmp_path, "--now", "2026-11-28T00:00:00Z", "--format", "table", images=sized
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["FATE", "RULE", "PUSHED", "SIZE", "DIGEST", "TAGS", "IN", "USE"]
    # Newest first; kept images name the first rule that matched them (it keeps them).
    assert [line.split() for line in lines[1:7]] == [
        ["KEPT", "rule", "3", "2026-11-27", "12:00", "0.0", "MB", "sha256:i6", "<untagged>"],
        ["EXPIRE", "rule", "3", "2026-11-25", "00:00", "<", "0.1", "MB", "sha256:i5", "<untagged>"],
        ["KEPT", "rule", "2", "2026-11-23", "00:00", "512.0", "MB", "sha256:i4", "sha-d"],
        ["KEPT", "rule", "2", "2026-11-18", "00:00", "300.0", "MB", "sha256:i3", "sha-c"],
        ["KEPT", "rule", "1", "2026-11-08", "00:00", "1.00", "GB", "sha256:i2", "v1.1.0,sha-b"],
        ["EXPIRE", "rule", "1", "2026-10-29", "00:00", "3.00", "GB", "sha256:i1", "v1.0.0,sha-a"],
    ]
    assert lines[7:] == [
        "",
        "Per rule:",
        "  rule 1: expire 1 (3.00 GB), kept 1 (1.00 GB)",
        "  rule 2: kept 2 (812.0 MB)",
        "  rule 3: expire 1 (< 0.1 MB), kept 1 (0.0 MB)",
        "",
        "Images: 6: expire 2, transition 0, undetermined 0, kept 4; in use 0",
        "Expiring: 3.00 GB",
        "Retained: 4 images, 1.79 GB (standard 1.79 GB, archive 0.0 MB)",
        # 1.79296875 GB at $0.10: 0.179... rounds to 18 cents.
        "Estimated storage: $0.18 per month (standard $0.10/GB-month, archive $0.10/GB-month)",
    ]


def test_simulate_table_names_images_no_rule_matches(tmp_path: Path) -> None:
    policy = {"rules": [rule(1, "untagged", count_type="sinceImagePushed", number=1)]}
    result = simulate_worked(
        tmp_path, "--now", "2026-11-28T00:00:00Z", "--format", "table", policy=policy
    )
    rows = [line.split() for line in result.stdout.splitlines()[1:7]]
    assert [(row[0], " ".join(row[1:3])) for row in rows] == [
        ("KEPT", "rule 1"),
        ("EXPIRE", "rule 1"),
        ("KEPT", "no rule"),
        ("KEPT", "no rule"),
        ("KEPT", "no rule"),
        ("KEPT", "no rule"),
    ]
    assert "  no rule: kept 4 (< 0.1 MB)" in result.stdout.splitlines()


def test_simulate_invalid_policy_exits_1(tmp_path: Path) -> None:
    result = cli(
        "simulate",
        "--policy",
        write_input(tmp_path, "p.json", {"rules": [{}]}),
        "--images",
        write_input(tmp_path, "i.json", WORKED_CLI_IMAGES),
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "error: rule 1 (rulePriority missing): rulePriority: required" in result.stderr


PRICE_RULE = "--price-per-gb: must be a finite number >= 0"


@pytest.mark.parametrize(
    ("images", "extra", "fragment"),
    [
        ({"imageDetails": [{"imageDigest": "d"}]}, [], "imageDetails[0].imagePushedAt: required"),
        ("[", [], "images file is not valid JSON"),
        (WORKED_CLI_IMAGES, ["--now", "next tuesday"], "--now: not an ISO-8601 timestamp"),
        (
            WORKED_CLI_IMAGES,
            ["--now", "0001-01-01T00:00:00+01:00"],
            "--now: timestamp out of range in UTC: '0001-01-01T00:00:00+01:00'",
        ),
        (
            WORKED_CLI_IMAGES,
            ["--price-per-gb", "-1"],
            "--price-per-gb: must be a finite number >= 0",
        ),
        (
            WORKED_CLI_IMAGES,
            ["--price-per-gb", "inf"],
            "--price-per-gb: must be a finite number >= 0",
        ),
        (
            WORKED_CLI_IMAGES,
            ["--price-per-gb", "nan"],
            "--price-per-gb: must be a finite number >= 0",
        ),
        (
            WORKED_CLI_IMAGES,
            ["--price-per-gb=-inf"],
            "--price-per-gb: must be a finite number >= 0",
        ),
        ("[" * 100_000, [], "images file is nested too deeply to read"),
    ],
)
def test_simulate_bad_input_exits_2(
    tmp_path: Path, images: Any, extra: list[str], fragment: str
) -> None:
    result = simulate_worked(tmp_path, *extra, images=images)
    assert_one_line_error(result, fragment)


@pytest.mark.parametrize(("stack", "releases", "builds"), [("prod", 10, 30), ("dev", 3, 10)])
def test_stack_simulation_keeps_newest_of_each_family(
    tmp_path: Path, stack: str, releases: int, builds: int
) -> None:
    details = [detail(f"sha256:r{n:02d}", [f"v1.{n}.0"], n * DAY) for n in range(1, 41)]
    details += [detail(f"sha256:b{n:02d}", [f"sha-{n:04x}"], n * DAY) for n in range(1, 41)]
    details += [detail("sha256:u-new", [], timedelta(hours=2)), detail("sha256:u-old", [], 2 * DAY)]
    result = cli(
        "simulate",
        "--stack",
        stack,
        "--now",
        NOW.isoformat(),
        "--images",
        write_input(tmp_path, "i.json", {"imageDetails": details}),
    )
    assert result.returncode == 0, result.stderr
    gone = {r["imageDigest"] for r in json.loads(result.stdout)["previewResults"]}
    assert "sha256:r01" not in gone and "sha256:b01" not in gone
    assert gone == (
        {f"sha256:r{n:02d}" for n in range(releases + 1, 41)}
        | {f"sha256:b{n:02d}" for n in range(builds + 1, 41)}
        | {"sha256:u-old"}
    )


def test_simulate_huge_count_selects_nothing(tmp_path: Path) -> None:
    policy = {"rules": [rule(1, "any", count_type="sinceImagePushed", number=1_000_000_000)]}
    result = simulate_worked(tmp_path, "--now", NOW.isoformat(), policy=policy)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["previewResults"] == []
    assert output["summary"]["retainedImageCount"] == 6


def test_price_zero_is_accepted(tmp_path: Path) -> None:
    result = simulate_worked(tmp_path, "--price-per-gb", "0")
    assert result.returncode == 0, result.stderr
    estimate = json.loads(result.stdout)["summary"]["estimatedMonthlyStorageUsd"]
    assert estimate == 0 and math.isfinite(estimate)


def test_simulate_help_names_both_prices_and_their_source() -> None:
    text = " ".join(cli("simulate", "--help").stdout.split())
    assert "--archive-price-per-gb" in text
    assert "Amazon ECR pricing page (https://aws.amazon.com/ecr/pricing/), ap-southeast-1" in text
    assert "The storage figure is an estimate" in text
    assert "--manifests DIR" in text


def test_archive_price_applies_to_transitioned_images(tmp_path: Path) -> None:
    policy = {
        "rules": [
            rule(
                1,
                "any",
                count_type="sinceImagePushed",
                number=7,
                action="transition",
                target="archive",
            )
        ]
    }
    prices = ("--price-per-gb", "1", "--archive-price-per-gb", "0.5")
    result = simulate_worked(tmp_path, "--now", NOW.isoformat(), *prices, policy=policy)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    # i1, i2, i3 (pushed 30, 20, 10 days ago) move to archive; the other three stay.
    assert (summary["retainedArchiveBytes"], summary["retainedStandardBytes"]) == (300, 300)
    assert summary["estimatedMonthlyStorageUsd"] == 300 / 2**30 * 1 + 300 / 2**30 * 0.5


INDEXED = {
    "imageDetails": [
        detail("sha256:amd64", [], 10 * DAY),
        detail("sha256:arm64", [], 10 * DAY),
        {**detail("sha256:index", ["v1.0.0"], 9 * DAY), "imageManifestMediaType": INDEX},
    ]
}
UNTAGGED_RULE = {"rules": [rule(1, "untagged", count_type="sinceImagePushed", number=1)]}


def simulate_indexed(tmp_path: Path, *extra: str | Path) -> subprocess.CompletedProcess[str]:
    return simulate_worked(
        tmp_path, "--now", NOW.isoformat(), *extra, policy=UNTAGGED_RULE, images=INDEXED
    )


def test_index_children_are_undetermined_without_manifests(tmp_path: Path) -> None:
    result = simulate_indexed(tmp_path)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["previewResults"] == []
    assert [u["imageDigest"] for u in output["undetermined"]] == ["sha256:amd64", "sha256:arm64"]
    assert output["summary"]["undeterminedImageCount"] == 2
    table = simulate_indexed(tmp_path, "--format", "table").stdout.splitlines()
    undetermined = [line.split() for line in table if line.startswith("UNDETERMINED")]
    assert [row[:2] + row[-2:] for row in undetermined] == [
        ["UNDETERMINED[1]", "rule", "sha256:amd64", "<untagged>"],
        ["UNDETERMINED[2]", "rule", "sha256:arm64", "<untagged>"],
    ]
    notes = [line for line in table if line.startswith("[")]
    assert [note[:4] for note in notes] == ["[1] ", "[2] "]
    assert all(note[4:].startswith("untagged and pushed no later than index") for note in notes)


def test_manifests_resolve_index_children(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    index = {"manifests": [{"digest": "sha256:amd64"}, {"digest": "sha256:arm64"}]}
    write_input(folder, "index.json", {"images": [manifest_entry("sha256:index", index)]})
    result = simulate_indexed(tmp_path, "--manifests", folder)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert (output["previewResults"], output["undetermined"]) == ([], [])


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "is not a folder of batch-get-image JSON files"),
        ({"images": {}}, 'must be batch-get-image output, an object with an "images" list'),
        (
            {"images": [{"imageId": {"imageDigest": "sha256:x"}, "imageManifest": "{"}]},
            "images[0].imageManifest: not valid JSON",
        ),
        ("{", "manifests file is not valid JSON"),
    ],
)
def test_bad_manifests_exit_2(tmp_path: Path, content: Any, fragment: str) -> None:
    folder = tmp_path / "manifests"
    if content is not None:
        folder.mkdir()
        write_input(folder, "m.json", content)
    assert_one_line_error(simulate_indexed(tmp_path, "--manifests", folder), fragment)


def test_an_archived_image_two_rules_match_is_one_undetermined_row(tmp_path: Path) -> None:
    entry = {
        "imageDigest": "sha256:" + "e" * 64,
        "imageTags": ["v1.0.0"],
        "imagePushedAt": "2025-01-01T00:00:00Z",
        "imageStatus": "ARCHIVED",
    }
    policy = {
        "rules": [
            rule(
                1,
                patterns=["v*"],
                count_type="sinceImageTransitioned",
                number=90,
                storage="archive",
            ),
            rule(2, "any", count_type="sinceImageTransitioned", number=180, storage="archive"),
        ]
    }
    images = {"imageDetails": [entry]}
    shown = simulate_worked(tmp_path, "--now", "2026-11-28T00:00:00Z", images=images, policy=policy)
    [undetermined] = json.loads(shown.stdout)["undetermined"]
    assert undetermined["wouldBe"] == {"action": {"type": "EXPIRE"}, "appliedRulePriority": 1}
    table = simulate_worked(
        tmp_path, "--now", "2026-11-28T00:00:00Z", "--format", "table", images=images, policy=policy
    ).stdout
    assert table.count("sha256:eeeeeeeeeeee") == 1
    assert "Images: 1: expire 0, transition 0, undetermined 1, kept 0; in use 0" in table
    assert "  rule 1: undetermined 1 (0.0 MB)" in table
    assert "  rule 2: no images" in table
