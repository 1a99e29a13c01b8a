"""The deployed window in `pulumi up`: tag the gated digest, untag what left the window.

Why ECR calls from the program (an `apply` after the scan gate, like the gate itself) and not a
dynamic resource: the window is read back from ECR's tags on every run — so lost state, a
rollback and a manual push are all seen as they are — and only a digest the gate let through
is ever tagged. A resource would keep its own idea of the window in state, which is exactly what
must not be trusted. Preview computes the same plan from the lookup and logs it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from infra.aws_session import AwsSession
from infra.aws_types import AwsCallError, EcrTarget
from infra.deployed.window import WindowPlan, plan_window
from infra.oci import accepted_media_types

NEW_IMAGE = "<the image this update pushes>"
IAM_HINT = "the deploying role needs ecr:BatchGetImage, ecr:PutImage and ecr:BatchDeleteImage"


def utc_now() -> dt.datetime:
    """The time a deploy's tag records (tests replace it with a clock that moves)."""
    return dt.datetime.now(dt.UTC)


def preview_window(
    tags_by_digest: Mapping[str, Sequence[str]], digest: str | None, keep: int
) -> WindowPlan:
    """What `up` will tag and untag; `digest` None stands for an image not built yet."""
    plan = plan_window(tags_by_digest, digest or NEW_IMAGE, keep, utc_now())
    for line in plan.lines():
        if digest is None and plan.add is not None and line.startswith("tag "):
            stamp = plan.add.tag.rsplit("-", 1)[0]
            line = f"tag {NEW_IMAGE} {stamp}-<its first 12 hex>"
        pulumi.log.info(f"deployed window: {line}")
    return plan


def apply_window(
    session: AwsSession,
    target: EcrTarget,
    plan: WindowPlan,
) -> list[str]:
    """Blocking: put the new tag first (the image is shielded before anything else moves), then
    remove the tags of digests that left the window. Returns what was done, one line each."""
    try:
        if plan.add is not None:
            manifest = session.manifest(target, plan.add.digest, list(accepted_media_types()))
            session.tag_image(target, plan.add.digest, plan.add.tag, manifest)
        for change in plan.remove:
            session.untag_image(target, change.tag)
    except AwsCallError as exc:
        hint = "" if exc.no_credentials else f" ({IAM_HINT})"
        raise pulumi.RunError(f"deployed window: {exc}{hint}") from None
    return plan.lines()


def shield_deployed(
    session: AwsSession,
    repository_arn: pulumi.Input[str],
    gated_digest: pulumi.Input[str],
    tags_by_digest: Mapping[str, Sequence[str]],
    keep: int,
) -> pulumi.Output[list[str]]:
    """During `up`, once `gated_digest` resolves (the gate passed), move the window to it."""

    async def run(args: list[Any]) -> list[str]:
        target = EcrTarget.from_arn(str(args[0]))
        plan = plan_window(tags_by_digest, str(args[1]), keep, utc_now())
        done = await asyncio.to_thread(apply_window, session, target, plan)
        for line in done:
            pulumi.log.info(f"deployed window: {line}")
        return done

    return pulumi.Output.all(repository_arn, gated_digest).apply(run)
