"""`python -m infra check --stack NAME`: the whole stack checked offline, before any preview.

1. `Pulumi.NAME.yaml` is read with the loader `pulumi up` uses (`infra.config`), `aws:` keys
   included; every problem is printed, one line each (`secure:` values are taken as present;
   ESC `environment:` imports are noted as not checked).
2. With no config error, the program itself runs as a preview under Pulumi's mocks
   (`infra.offline_run`): no AWS call, no Docker, no Pulumi CLI.
3. The policy pack's policies judge what it declared; then the plan: every resource with the
   settings that matter, and the outputs the EKS project reads.

Exit 0: no config error and no mandatory policy violation; 1: any config or policy error (a
YAML syntax error included); 2: usage (bad flags, no such stack file).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import pulumi

from infra.cli.policies import violations
from infra.config.review import StackReview, review_stack
from infra.config.stack_file import StackFileError, stack_path
from infra.offline_run import DEFAULT_REGION, PLACEHOLDER_ACCOUNT, OfflineRun, run_offline
from infra.plan import OFFLINE_DIGEST, plan_lines

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"check: error: {message}\n")


def parser() -> argparse.ArgumentParser:
    commands = _Parser(
        prog="python -m infra check",
        description="Check a stack's config, the program and the policy pack offline, and "
        "print what `pulumi up` would create.",
    )
    commands.add_argument("--stack", required=True, help="reads Pulumi.STACK.yaml")
    commands.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="the folder holding Pulumi.STACK.yaml (default: the project root)",
    )
    return commands


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)
    stack: str = options.stack
    try:
        path = stack_path(stack, options.dir)
    except StackFileError as error:
        return _usage(str(error))
    if not path.is_file():
        return _usage(f"{path}: no such stack file; write one with `python -m infra init`")
    try:
        review = review_stack(stack, options.dir)
    except StackFileError as error:
        _say(str(error))
        return _verdict(stack, 1)
    for note in review.notes:
        _say(f"note: {note}")
    for line in review.errors:
        _say(line)
    if review.args is None:
        return _verdict(stack, len(review.errors))
    try:
        run = _run(review)
    except Exception as error:
        # The program refused something the loader let through (an unpinned base image, say):
        # a RunError is its message alone; anything else is named by its type, never a trace.
        text = (
            str(error) if isinstance(error, pulumi.RunError) else f"{type(error).__name__}: {error}"
        )
        lines = text.splitlines() or ["the program stopped"]
        for line in lines:
            _say(f"program: {line}")
        return _verdict(stack, len(lines))
    for warning in run.warnings:
        _say(f"warning: {warning.replace(OFFLINE_DIGEST, 'sha256:…')}")
    found = violations(run.resources)
    for violation in found:
        _say(violation.line())
    resources = [(r.type, r.name, r.protect, r.inputs) for r in run.resources]
    for line in plan_lines(resources, run.exports, review.args):
        _say(line)
    return _verdict(stack, sum(v.mandatory for v in found))


def _run(review: StackReview) -> OfflineRun:
    aws = review.args.aws if review.args else None
    account = aws.allowed_account_ids[0] if aws and aws.allowed_account_ids else None
    region = aws.region if aws and aws.region else DEFAULT_REGION
    return run_offline(review.stack, review.engine_config, account or PLACEHOLDER_ACCOUNT, region)


def _verdict(stack: str, errors: int) -> int:
    if errors:
        _say(f"FAIL stack {stack}: {errors} error{'s' if errors != 1 else ''}")
        return EXIT_ERRORS
    _say(f"OK stack {stack}: config, program and mandatory policies pass offline")
    return EXIT_OK


def _usage(message: str) -> int:
    sys.stderr.write(f"check: error: {message}\n")
    return EXIT_USAGE


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
