"""The program side of promotion: read the source stack, decide, copy, gate.

Decided from what is known before any copy: the source stack's outputs (a `StackReference`,
known in preview too) and what this stack's repository holds (the registry lookup, through
the stack's own provider). So the preview already says what `up` will do, and a tag held with
another digest fails the preview as well as the update.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

import pulumi
import pulumi_aws as aws

from infra.aws_session import AwsSession
from infra.config import RetailRegistryArgs
from infra.promotion.auth import aws_config_document
from infra.promotion.copier import DigestConflictError
from infra.promotion.provider import RegistryCopy
from infra.promotion.refs import PromotionError, Source, source_from_outputs
from infra.registry_lookup import RegistryContents, look_up
from infra.scan_gate.deploy import GatedImage, gate_image


@dataclass(frozen=True)
class Decision:
    """What this run does with the source image."""

    source: Source | None
    """None for a pinned `imageTag`: this repository's own copy, the source unread."""
    tag: str
    digest: str
    copy: bool
    """True when this repository lacks the tag: the image is copied (a fresh push to gate)."""


class Promotion(NamedTuple):
    """The copy (None for a pinned tag), the tag, and the gated digest of this repository."""

    resource: RegistryCopy | None
    tag: pulumi.Output[str]
    gated: GatedImage


def decide(
    source: Source | None, contents: RegistryContents, repository: str, pinned: str | None
) -> Decision:
    """Pure: copy, reuse, or refuse (the tag holds another digest, or a pin is not here)."""
    if pinned is not None:
        held = contents.digests_by_tag.get(pinned)
        if held is None:
            raise PromotionError(
                f"imageTag {pinned}: {repository} does not hold it, and a promoting stack "
                "deploys a pinned tag only from its own repository; remove imageTag to "
                "promote the source stack's image"
            )
        return Decision(None, pinned, held, copy=False)
    assert source is not None
    held = contents.digests_by_tag.get(source.tag)
    if held is not None and held != source.digest:
        raise DigestConflictError(repository, source.tag, held, source.digest)
    return Decision(source, source.tag, source.digest, copy=held is None)


def promote(
    name: str,
    args: RetailRegistryArgs,
    repository: aws.ecr.Repository,
    session: AwsSession,
    parent: pulumi.Resource,
) -> Promotion:
    """Copy the `promoteFrom` stack's gated image into `repository` and gate the copy here."""
    contents = _look_up(args, pulumi.InvokeOptions(parent=parent))
    if args.image_tag:
        # A rollback pin: the digest this repository holds, no source stack involved.
        decision = pulumi.Output.from_input(
            _run_error(decide, None, contents, args.repository_name, args.image_tag)
        )
        resource = None
        digest: pulumi.Output[str] = decision.apply(lambda d: d.digest)
    else:
        assert args.promote_from is not None
        stack = args.promote_from
        ref = pulumi.StackReference(stack, opts=pulumi.ResourceOptions(parent=parent))
        decision = ref.outputs.apply(
            lambda outputs: _run_error(_decide_from, stack, outputs, contents, args.repository_name)
        )
        destination = pulumi.Output.all(repository.repository_url, decision).apply(
            lambda values: f"{values[0]}:{values[1].tag}"
        )
        credentials = json.dumps({"aws": aws_config_document(args.aws)}, sort_keys=True)
        resource = RegistryCopy(
            f"{name}-promotion",
            source=decision.apply(lambda d: d.source.ref if d.source else ""),
            destination=destination,
            credentials=pulumi.Output.secret(credentials),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        # The copy's id resolves once it ran (unknown in a preview that copies).
        digest = pulumi.Output.all(resource.id, decision).apply(lambda v: v[1].digest)

    def gate(d: Decision) -> GatedImage:
        return gate_image(
            repository.arn,
            digest,
            args.scan_policy,
            session=session,
            platforms=args.image_platforms,
            fresh_push=d.copy,
        )

    gated = decision.apply(gate)
    return Promotion(
        resource,
        decision.apply(lambda d: d.tag),
        GatedImage(
            digest=gated.apply(lambda g: g.digest), image_scan=gated.apply(lambda g: g.image_scan)
        ),
    )


def _decide_from(
    stack: str, outputs: dict[str, Any], contents: RegistryContents, repository: str
) -> Decision:
    decision = decide(source_from_outputs(stack, outputs), contents, repository, None)
    assert decision.source is not None
    if decision.copy:
        pulumi.log.info(f"promotion: copy {decision.source.ref} to {repository}:{decision.tag}")
    else:
        pulumi.log.info(f"promotion: {repository}:{decision.tag} holds {decision.digest}")
    return decision


def _run_error(function: Any, *arguments: Any) -> Decision:
    try:
        result: Decision = function(*arguments)
    except PromotionError as error:
        # RunError: the engine prints the message alone, without a Python traceback.
        raise pulumi.RunError(str(error)) from None
    return result


def _look_up(args: RetailRegistryArgs, opts: pulumi.InvokeOptions) -> RegistryContents:
    try:
        return look_up(args.repository_name, opts)
    except Exception as error:  # an invoke failure arrives as a bare Exception
        raise pulumi.RunError(
            f"registry lookup for {args.repository_name} failed (the deploying role needs "
            f"ecr:DescribeRepositories, ecr:ListImages, ecr:DescribeImages): {error}"
        ) from None
