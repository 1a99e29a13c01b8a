"""The gate in `pulumi up`: wait for the image's ECR scan and fail the update on a bad one.

Why an `apply` on the program side and not a dynamic resource: the verdict must be re-read on
every `up` (enhanced scanning keeps finding CVEs in an unchanged digest, a basic scan ages, an
ignore entry can expire), the digest outputs must not resolve before it, and the AWS session has
to be the stack's own and replaceable in tests under `pulumi.runtime.set_mocks` — a dynamic
provider runs pickled in another process, where mocks never call it. pulumi-aws has no function
that returns scan findings, so the calls go through `infra.aws_session`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from infra.aws_session import AwsSession
from infra.aws_types import EcrTarget
from infra.scan_gate import gate
from infra.scan_gate.model import FindingsError, ScanGateError, ScanPolicy, unjudged_output
from infra.scan_gate.verdict import Clock


@dataclass(frozen=True)
class GatedImage:
    """What the component exports instead of the raw digest."""

    digest: pulumi.Output[str]
    """The image digest, resolved only once the gate has passed (during `up`)."""
    image_scan: pulumi.Output[dict[str, Any]]
    """The `imageScan` stack output (see gate.combine), or unjudged_output()."""


def gate_image(
    repository_arn: pulumi.Input[str],
    digest: pulumi.Input[str],
    policy: ScanPolicy,
    *,
    session: AwsSession,
    platforms: Sequence[str],
    fresh_push: bool,
    clock: Clock | None = None,
    today: Callable[[], dt.date] | None = None,
) -> GatedImage:
    """Gate `digest` (sha256:…, an image or an index) of the repository `repository_arn`.

    During `up`: waits up to `policy.timeout_seconds` for a finished scan of every image, then
    raises `pulumi.RunError` (failing the update; the stack keeps its previous outputs) when
    the verdict fails, no scan can come, or the wait times out. During preview: one look, no
    waiting, never raises; a failing or unfinished scan is logged as a warning. With
    `fail_severity` None (NONE) `up` never fails either: it waits, reports and warns.
    The region and account come from the repository ARN (where the repository really is).
    """
    day = today or (lambda: dt.datetime.now(dt.UTC).date())

    async def run(args: list[Any]) -> dict[str, Any]:
        arn, image_digest = str(args[0]), str(args[1])
        preview = pulumi.runtime.is_dry_run()
        try:
            target = EcrTarget.from_arn(arn)
            gate_run = gate.GateRun(
                session, target, policy, tuple(platforms), fresh_push, day(), clock
            )
            step = gate.look if preview else gate.check
            # The AWS calls (and the waiting) run in a worker thread, so the event loop keeps
            # registering the rest of the program meanwhile.
            output = await asyncio.to_thread(step, gate_run, image_digest)
        except (ScanGateError, FindingsError, ValueError) as exc:
            status = exc.status if isinstance(exc, ScanGateError) else "UNKNOWN"
            if preview or policy.fail_severity is None:
                # Preview and report-only never fail the update; they say what they saw.
                pulumi.log.warn(f"{exc} ({'preview' if preview else 'scanFailSeverity NONE'})")
                if isinstance(exc, ScanGateError) and exc.summary is not None:
                    return exc.summary.to_output()
                return unjudged_output(image_digest, status, policy.fail_severity)
            # RunError: the engine prints the message alone, without a Python traceback.
            raise pulumi.RunError(str(exc)) from None
        if output["expiredIgnoreIds"]:
            expired = ", ".join(output["expiredIgnoreIds"])
            pulumi.log.warn(f"scan gate: expired scanIgnore entries (renew or remove): {expired}")
        pulumi.log.info(f"scan gate: {json.dumps(output, sort_keys=True)}")
        return output

    image_scan: pulumi.Output[dict[str, Any]] = pulumi.Output.all(repository_arn, digest).apply(run)
    gated = pulumi.Output.all(digest, image_scan).apply(lambda args: str(args[0]))
    return GatedImage(digest=gated, image_scan=image_scan)
