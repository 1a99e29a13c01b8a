"""The gate in `pulumi up`: wait for the pushed digest's ECR scan and fail the update on a bad one.

Why an `apply` on the program side and not a dynamic resource: the verdict must be re-read on
every `up` (enhanced scanning keeps finding CVEs in an unchanged digest, and an ignore entry
can expire), the digest outputs must not resolve before it, and the AWS client has to be
injectable for tests under `pulumi.runtime.set_mocks` — a dynamic provider runs pickled in
another process, where mocks never call it. pulumi-aws has no function that returns scan
findings, so the call is boto3's.

Test harnesses that run the whole program may replace the module attribute
`boto3_client_factory` (looked up when `gate_image` is called) with a fake.
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
from infra.scan_gate.model import (
    FindingsError,
    ScanGateError,
    ScanPolicy,
    ScanSummary,
    unjudged_output,
)
from infra.scan_gate.verdict import (
    Clock,
    FetchPage,
    collect_pages,
    failure_message,
    judge,
    wait_for_scan,
)

# check_image and look_once share this signature, so `up` and preview run the same way.
Check = Callable[[str, str, ScanPolicy, ClientFactory, "Clock | None", dt.date], ScanSummary]


@dataclass(frozen=True)
class GatedImage:
    """What the component exports instead of the raw digest."""

    digest: pulumi.Output[str]
    """The image digest, resolved only once the gate has passed (during `up`)."""
    image_scan: pulumi.Output[dict[str, Any]]
    """The `imageScan` stack output: ScanSummary.to_output(), or unjudged_output()."""


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
    look, no waiting, never raises; a failing or unfinished scan is logged as a warning.
    With `fail_severity` None (NONE) `up` never fails either: it waits, reports and warns.

    The region and account come from the repository ARN (where the repository really is);
    credentials from `aws:profile` and the caller is checked against `aws:allowedAccountIds`
    (see `credentials_from_stack`). Pass `client_factory`, `clock` and `today` in tests.
    """
    factory = client_factory or stack_client_factory()
    day = today or (lambda: dt.datetime.now(dt.UTC).date())

    async def run(args: list[Any]) -> dict[str, Any]:
        arn, image_digest = str(args[0]), str(args[1])
        preview = pulumi.runtime.is_dry_run()
        check: Check = look_once if preview else check_image
        try:
            # The ECR calls (and the waiting) run in a worker thread, so the event loop keeps
            # registering the rest of the program meanwhile.
            summary = await asyncio.to_thread(
                check, arn, image_digest, policy, factory, clock, day()
            )
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
        if summary.expired_ignore_ids:
            expired = ", ".join(summary.expired_ignore_ids)
            pulumi.log.warn(f"scan gate: expired scanIgnore entries (renew or remove): {expired}")
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
    """`up`, blocking: wait for the scan and judge it; ScanGateError unless the gate passes."""
    fetch = _fetcher(repository_arn, digest, client_factory)
    summary = judge(wait_for_scan(fetch, policy.timeout_seconds, clock), policy, today)
    if not summary.passed:
        raise ScanGateError(failure_message(summary), summary)
    return summary


def look_once(
    repository_arn: str,
    digest: str,
    policy: ScanPolicy,
    client_factory: ClientFactory,
    clock: Clock | None,
    today: dt.date,
) -> ScanSummary:
    """Preview: one look, no waiting (`clock` unused); an unfinished scan is not judged yet."""
    fetch = _fetcher(repository_arn, digest, client_factory)
    first = fetch(None)
    _, status, description = page_status(first)
    if status not in JUDGEABLE:
        raise ScanGateError(
            f"scan gate: image {digest}: scan {status} ({description or 'not finished'}); "
            "`up` waits for it",
            status=status,
        )
    summary = judge(merge_pages(collect_pages(fetch, first)), policy, today)
    if not summary.passed:
        raise ScanGateError(f"{failure_message(summary)}; `up` would fail", summary)
    return summary


def stack_client_factory() -> ClientFactory:
    """ECR clients with the stack's credentials: the one factory the gate and the SBOM reader use.

    `boto3_client_factory` is looked up when this is called, so a harness that replaces it
    on this module replaces it for every caller."""
    return boto3_client_factory(credentials_from_stack())


def credentials_from_stack() -> AwsCredentials:
    """`aws:profile` and `aws:allowedAccountIds` from the stack config, as the provider reads."""
    config = pulumi.Config("aws")
    allowed = config.get_object("allowedAccountIds") or []
    return AwsCredentials(
        profile=config.get("profile") or None,
        allowed_account_ids=tuple(str(a) for a in allowed) if isinstance(allowed, list) else (),
    )


def _fetcher(repository_arn: str, digest: str, factory: ClientFactory) -> FetchPage:
    """The page fetcher for `digest` in the repository `repository_arn`, through its client."""
    target = EcrTarget.from_arn(repository_arn)
    return page_fetcher(_client(factory, target, digest), target, digest)


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
