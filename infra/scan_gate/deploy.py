"""The gate in `pulumi up`: wait for the pushed digest's ECR scan and fail the update on a bad one.

Why an `apply` on the program side and not a dynamic resource: the verdict must be re-read on
every `up` (enhanced scanning keeps finding new CVEs in an unchanged digest, and an ignore entry
can expire), the digest outputs must not resolve before it, and the AWS client has to be
injectable for tests under `pulumi.runtime.set_mocks` — a dynamic provider runs pickled in
another process, where mocks never call it. The ECR call runs in a worker thread so the rest of
the program keeps registering resources while the scan finishes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi

from infra.scan_gate.aws import (
    AwsCredentials,
    ClientFactory,
    EcrScanClient,
    EcrTarget,
    boto3_client_factory,
    page_fetcher,
)
from infra.scan_gate.findings import JUDGEABLE, merge_pages, page_status
from infra.scan_gate.model import FindingsError, ScanGateError, ScanPolicy, ScanSummary
from infra.scan_gate.verdict import Clock, collect_pages, failure_message, judge, wait_for_scan


@dataclass(frozen=True)
class GatedImage:
    """What the component exports instead of the raw digest."""

    digest: pulumi.Output[str]
    """The image digest, resolved only once the gate has passed (during `up`)."""
    image_scan: pulumi.Output[dict[str, Any]]
    """The `imageScan` stack output: ScanSummary.to_output(), or a preview report."""


def gate_image(
    repository_arn: pulumi.Input[str],
    digest: pulumi.Input[str],
    policy: ScanPolicy,
    *,
    client_factory: ClientFactory | None = None,
    clock: Clock | None = None,
    today: Callable[[], dt.date] | None = None,
) -> GatedImage:
    """Gate `digest` (sha256:…) of the repository `repository_arn` on its ECR scan.

    During `up`: waits up to `policy.timeout_seconds` for the scan, then raises
    `pulumi.RunError` (failing the update; the stack keeps its previous outputs) when the
    verdict fails, the status is not judgeable, or the wait times out. During preview: one
    look, no waiting, never raises; a known digest's verdict is logged as a warning.

    The region and account come from the repository ARN (where the repository really is);
    credentials from `aws:profile` and the caller is checked against `aws:allowedAccountIds`
    (see `credentials_from_stack`). Pass `client_factory`, `clock` and `today` in tests.
    """
    factory = client_factory or boto3_client_factory(credentials_from_stack())
    day = today or (lambda: dt.datetime.now(dt.UTC).date())

    async def run(args: list[Any]) -> dict[str, Any]:
        arn, image_digest = str(args[0]), str(args[1])
        if pulumi.runtime.is_dry_run():
            return await asyncio.to_thread(_preview, arn, image_digest, policy, factory, day())
        try:
            summary = await asyncio.to_thread(
                check_image, arn, image_digest, policy, factory, clock, day()
            )
        except (ScanGateError, FindingsError, ValueError) as exc:
            # RunError: the engine prints the message alone, without a Python traceback.
            raise pulumi.RunError(str(exc)) from None
        if summary.fail_severity is not None and summary.expired_ignore_ids:
            pulumi.log.warn(
                f"scan gate: expired scanIgnore entries: {', '.join(summary.expired_ignore_ids)}"
            )
        pulumi.log.info(f"scan gate: {json.dumps(summary.to_output(), sort_keys=True)}")
        return summary.to_output()

    image_scan: pulumi.Output[dict[str, Any]] = pulumi.Output.all(repository_arn, digest).apply(run)
    gated = pulumi.Output.all(digest, image_scan).apply(lambda args: str(args[0]))
    return GatedImage(digest=gated, image_scan=image_scan)


def check_image(
    repository_arn: str,
    digest: str,
    policy: ScanPolicy,
    client_factory: ClientFactory,
    clock: Clock | None,
    today: dt.date,
) -> ScanSummary:
    """Blocking: wait for the scan, judge it; raise ScanGateError unless the gate passes."""
    target = EcrTarget.from_arn(repository_arn)
    fetch = page_fetcher(_client(client_factory, target, digest), target, digest)
    summary = judge(wait_for_scan(fetch, policy.timeout_seconds, clock), policy, today)
    if not summary.passed:
        raise ScanGateError(failure_message(summary), summary)
    return summary


def credentials_from_stack() -> AwsCredentials:
    """`aws:profile` and `aws:allowedAccountIds` from the stack config, as the provider reads."""
    config = pulumi.Config("aws")
    allowed = config.get_object("allowedAccountIds") or []
    return AwsCredentials(
        profile=config.get("profile") or None,
        allowed_account_ids=tuple(str(a) for a in allowed) if isinstance(allowed, list) else (),
    )


def _preview(
    arn: str, digest: str, policy: ScanPolicy, factory: ClientFactory, today: dt.date
) -> dict[str, Any]:
    # Preview never blocks and never fails: one look, reported as a warning.
    report: dict[str, Any] = {"digest": digest, "status": "UNKNOWN", "passed": False}
    try:
        target = EcrTarget.from_arn(arn)
        fetch = page_fetcher(_client(factory, target, digest), target, digest)
        first = fetch(None)
        _, status, _ = page_status(first)
        report["status"] = status
        if status in JUDGEABLE:
            summary = judge(merge_pages(collect_pages(fetch, first)), policy, today)
            report = summary.to_output()
            if not summary.passed:
                pulumi.log.warn(f"{failure_message(summary)} (preview: `up` would fail)")
        else:
            pulumi.log.info(f"scan gate: image {digest}: scan {status}; `up` will wait for it")
    except Exception as exc:
        pulumi.log.warn(f"{exc} (preview: not judged)")
    return report


def _client(factory: ClientFactory, target: EcrTarget, digest: str) -> EcrScanClient:
    # No credentials, an unknown profile, an STS failure: fail closed with one line.
    try:
        return factory(target)
    except ScanGateError:
        raise
    except Exception as exc:
        raise ScanGateError(
            f"scan gate: image {digest}: no ECR client for {target.account}/{target.region}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
