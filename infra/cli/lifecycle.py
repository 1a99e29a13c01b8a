"""`python -m infra.lifecycle validate|simulate`: check and preview policies offline.

`validate` prints `ok` (exit 0) or one line per error (exit 1) on stdout, warnings on stderr
(`warning: ...`); `--format json` prints `{"ok", "errors", "warnings"}` instead. `simulate`
prints GetLifecyclePolicyPreview-shaped JSON plus an `undetermined` list (actions that depend on
index or referrer relations `--manifests` did not resolve), a table of every image with
`--format table`, or one self-contained HTML page with `--format html`; a policy with errors
exits 1 with one `error: ...` line each on stderr, and so does a policy that would expire or
archive an image `--in-use` says is running (one line per pod and image, naming the rule).
Stack rules come from `infra.config.read_stack_values`, defaults applied.

Exit codes: 0 success, 1 the policy has errors or would take a running image, 2 unreadable input
or bad arguments (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from infra.cli.lifecycle_inputs import (
    InputError,
    load_images,
    load_in_use,
    load_manifests,
    load_policy,
    parse_now,
)
from infra.lifecycle.analysis import analyse
from infra.lifecycle.html_page import format_html
from infra.lifecycle.in_use import Reference, Repository, conflicts, places, running_images
from infra.lifecycle.outcome import (
    DEFAULT_ARCHIVE_PRICE_PER_GB,
    DEFAULT_PRICE_PER_GB,
    PRICE_SOURCE,
)
from infra.lifecycle.simulate import simulate
from infra.lifecycle.table import format_table
from infra.paths import PROJECT_ROOT


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except InputError as exc:
        sys.stderr.write(f"error: {one_line(str(exc))}\n")
        return 2
    except RecursionError:
        # Whatever reached this far was nested too deeply for Python to walk.
        sys.stderr.write("error: input is nested too deeply to process\n")
        return 2
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m infra.lifecycle",
        description="Validate and preview ECR lifecycle policies offline.",
        epilog="Exit codes: 0 success, 1 the policy has errors (or, for simulate --in-use, would "
        "expire or archive a running image), 2 unreadable input or bad arguments.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    check = commands.add_parser(
        "validate",
        help="report errors and warnings of a policy",
        description="Check a policy against ECR's rules. Default output: `ok` on stdout and "
        "exit 0, or one line per error on stdout and exit 1; warnings go to stderr as "
        "`warning: ...` lines either way.",
    )
    source = check.add_mutually_exclusive_group(required=True)
    source.add_argument("policy", nargs="?", type=Path, help='policy JSON file ({"rules": [...]})')
    source.add_argument("--stack", help="read lifecycleRules from Pulumi.<STACK>.yaml")
    _add_root(check)
    check.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help='stdout format: text (`ok`, or one line per error) or json ({"ok": ..., '
        '"errors": [...], "warnings": [...]}) (default: text)',
    )
    check.set_defaults(run=_run_validate)

    preview = commands.add_parser(
        "simulate",
        help="preview which images a policy acts on",
        description="Preview offline, with ECR's semantics, which images a policy would expire "
        "or transition. Output mirrors GetLifecyclePolicyPreview.",
    )
    source = preview.add_mutually_exclusive_group(required=True)
    source.add_argument("--policy", type=Path, help="policy JSON file")
    source.add_argument("--stack", help="read lifecycleRules from Pulumi.<STACK>.yaml")
    preview.add_argument(
        "--images",
        type=Path,
        required=True,
        help="output of `aws ecr describe-images --output json`",
    )
    preview.add_argument("--now", help="evaluation time, ISO-8601 (default: current UTC time)")
    preview.add_argument(
        "--manifests",
        type=Path,
        metavar="DIR",
        help="folder of `aws ecr batch-get-image --output json` outputs (*.json): resolves which "
        "images an index references and which image a referrer (signature, SBOM) refers to; "
        "without it such images are listed as undetermined instead of guessed",
    )
    preview.add_argument(
        "--price-per-gb",
        type=float,
        default=DEFAULT_PRICE_PER_GB,
        help="USD per GB-month of standard storage for estimatedMonthlyStorageUsd, a finite "
        "number >= 0; a GB is 2**30 bytes (binary GB, as AWS bills storage) (default: "
        f"%(default)s, standard storage on the {PRICE_SOURCE})",
    )
    preview.add_argument(
        "--archive-price-per-gb",
        type=float,
        default=DEFAULT_ARCHIVE_PRICE_PER_GB,
        help="USD per GB-month of archive storage, for archived and transitioned images "
        f"(default: %(default)s, archive storage for the first 150 TB a month on the "
        f"{PRICE_SOURCE}). The storage figure is an estimate: it ignores restore fees, the "
        "90-day archive minimum and layers shared between images",
    )
    _add_root(preview)
    preview.add_argument(
        "--in-use",
        type=Path,
        metavar="FILE",
        help="what runs: `kubectl get pods -A -o json` output, or image references one per line; "
        "those images are marked IN USE, and the command exits 1 naming pod, image and rule "
        "when the policy would expire or archive one (or may: undetermined)",
    )
    preview.add_argument(
        "--format",
        choices=("json", "table", "html"),
        default="json",
        help="stdout format: json (GetLifecyclePolicyPreview-shaped), table (every image, its "
        "fate and rule, per-rule and total summary) or html (one self-contained page: a timeline "
        "of the repository coloured by fate, and the summary) (default: json)",
    )
    preview.set_defaults(run=_run_simulate)
    return parser


def _add_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="directory holding Pulumi.<STACK>.yaml (default: the current directory if it "
        f"holds that file, else the project root {PROJECT_ROOT})",
    )


def _run_validate(args: argparse.Namespace) -> int:
    document = load_policy(args.policy, args.stack, args.root)
    findings = analyse(document)
    if args.format == "json":
        _write_lines(sys.stderr, "warning", findings.warnings)
        _write_lines(sys.stderr, "error", findings.errors)
        result = {"ok": findings.ok, "errors": findings.errors, "warnings": findings.warnings}
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        _write_lines(sys.stderr, "warning", findings.warnings)
        sys.stdout.write(
            "ok\n" if findings.ok else "".join(f"{one_line(e)}\n" for e in findings.errors)
        )
    return 0 if findings.ok else 1


def _run_simulate(args: argparse.Namespace) -> int:
    prices = (args.price_per_gb, args.archive_price_per_gb)
    for option, price in zip(("--price-per-gb", "--archive-price-per-gb"), prices, strict=True):
        if not math.isfinite(price) or price < 0:
            raise InputError(
                f"{option}: must be a finite number >= 0 (USD per GB-month), got {price}"
            )
    document = load_policy(args.policy, args.stack, args.root)
    images = load_images(args.images)
    relations = load_manifests(args.manifests)
    now = parse_now(args.now)
    references = load_in_use(args.in_use)
    analysis = analyse(document)
    _write_lines(sys.stderr, "warning", analysis.warnings)
    if not analysis.ok:
        _write_lines(sys.stderr, "error", analysis.errors)
        return 1
    preview = simulate(analysis.rules, images, now, relations)
    running = running_images(images, references, Repository.of(images))
    if args.format == "table":
        sys.stdout.write(format_table(preview, *prices, in_use=places(running)))
    elif args.format == "html":
        sys.stdout.write(format_html(preview, now, *prices, in_use=running))
    else:
        sys.stdout.write(json.dumps(_with_in_use(preview.to_dict(*prices), running), indent=2))
        sys.stdout.write("\n")
    taken = conflicts(preview.fates(), running)
    _write_lines(sys.stderr, "error", taken)
    return 1 if taken else 0


def _with_in_use(
    shown: dict[str, Any], running: Mapping[str, Sequence[Reference]]
) -> dict[str, Any]:
    if running:
        shown["inUse"] = [
            {"imageDigest": digest, "usedBy": [{"where": r.where, "image": r.text} for r in refs]}
            for digest, refs in sorted(running.items())
        ]
    return shown


def _write_lines(stream: TextIO, kind: str, lines: Sequence[str]) -> None:
    stream.write("".join(f"{kind}: {one_line(line)}\n" for line in lines))


def one_line(text: str) -> str:
    """`text` with line breaks escaped, so each finding stays exactly one output line."""
    return "".join(repr(char)[1:-1] if char.splitlines() != [char] else char for char in text)
