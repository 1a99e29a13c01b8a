"""Index children and referrers: what the rules propose, corrected for relations between images.

AWS ("How lifecycle policies work"): "If an image is referenced by a manifest list, it cannot be
expired or archived without the manifest list being deleted or archived first." Referrers
(signatures, SBOMs, attestations) are removed together with their subject, not on their own.

describe-images shows neither relation. Where the manifests (`--manifests`) resolve them, they
are applied; where the answer depends on a relation nobody showed us, the image leaves the
results for the `undetermined` list with the reason: never a confident wrong answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from infra.lifecycle.images import Image
from infra.lifecycle.manifests import Relations
from infra.lifecycle.outcome import PreviewResult, Undetermined


def apply_relations(
    pool: Sequence[Image], proposed: Mapping[str, PreviewResult], relations: Relations
) -> tuple[list[PreviewResult], list[Undetermined]]:
    """(results, undetermined) from the per-rule `proposed` actions, keyed by digest."""
    present = {image.digest: image for image in pool}
    acted = _hold_children(dict(proposed), present, relations)
    referrers = {d: s for d, s in relations.subjects.items() if d in present and s in present}
    for digest in referrers:
        # Its fate is its subject's, decided below.
        acted.pop(digest, None)
    undetermined: list[Undetermined] = []
    unread = [image for image in pool if image.is_index and image.digest not in relations.read]
    for digest, result in list(acted.items()):
        reasons = _unknown_relations(result.image, unread, relations)
        if reasons:
            del acted[digest]
            undetermined.append(Undetermined(result, "; ".join(reasons)))
    for digest, subject in referrers.items():
        owner = acted.get(subject)
        if owner is not None and owner.action == "EXPIRE":
            acted[digest] = PreviewResult(present[digest], "EXPIRE", owner.rule_priority)
    return list(acted.values()), undetermined


def _hold_children(
    acted: dict[str, PreviewResult], present: Mapping[str, Image], relations: Relations
) -> dict[str, PreviewResult]:
    """Drop the action on any child whose index stays; repeated for indexes inside indexes."""
    changed = True
    while changed:
        changed = False
        for digest in list(acted):
            parents = [p for p in relations.parents(digest) if p in present]
            if any(parent not in acted for parent in parents):
                del acted[digest]
                changed = True
    return acted


def _unknown_relations(image: Image, unread: Sequence[Image], relations: Relations) -> list[str]:
    reasons: list[str] = []
    # An index's children are pushed before it, and docker buildx pushes them untagged.
    could_be_parent = [
        index.digest
        for index in unread
        if index.digest != image.digest and index.pushed_at >= image.pushed_at
    ]
    if could_be_parent and not image.tags and not image.is_index:
        reasons.append(
            f"untagged and pushed no later than index {_short(could_be_parent)}, whose manifest "
            "was not given: it may be one of its children, which AWS never expires or archives "
            "while the index remains (pass --manifests)"
        )
    if image.is_artifact and image.digest not in relations.read:
        reasons.append(
            f"artifactMediaType {image.artifact_media_type} is not an image: it may be a "
            "referrer (signature, SBOM, attestation), which AWS removes with its subject, "
            "not on its own (pass --manifests)"
        )
    return reasons


def _short(digests: Sequence[str]) -> str:
    shown = ", ".join(sorted(digest[:19] for digest in digests)[:3])
    return shown + (f" (+{len(digests) - 3} more)" if len(digests) > 3 else "")
