"""Copy one image (a manifest or an index with its children) between repositories by digest.

What makes the copy exact: every manifest is fetched by digest and its bytes are checked
against it, then PUT unchanged, children first, the tag last, so the destination serves the
same digest; blobs are checked by sha256 on the way. What makes it cheap: a blob the
destination already has is not sent, and within one registry it is mounted from the source
repository rather than downloaded and uploaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from infra.oci import descriptor_digest, is_index, parse_json
from infra.promotion.client import RegistryClient
from infra.promotion.refs import PromotionError

# An index inside an index is legal but unusual; this bounds the walk if one nests further.
MAX_DEPTH = 2


class DigestConflictError(PromotionError):
    """The destination tag already holds a different digest: promotion never moves a tag."""

    def __init__(self, where: str, tag: str, held: str, wanted: str) -> None:
        super().__init__(
            f"{where}:{tag} already holds {held}, not the promoted {wanted}; a tag is never "
            "moved by promotion (see docs/deploying.md, rolling back)"
        )
        self.held = held
        self.wanted = wanted


@dataclass
class CopyReport:
    """What one promotion did."""

    digest: str
    copied: bool
    """False when the destination tag already held the digest (nothing was written)."""
    manifests: list[str] = field(default_factory=list)
    """Manifests written, children first, the tagged one last."""
    blobs_present: list[str] = field(default_factory=list)
    blobs_mounted: list[str] = field(default_factory=list)
    blobs_uploaded: list[str] = field(default_factory=list)


def copy_image(
    source: RegistryClient, destination: RegistryClient, digest: str, tag: str
) -> CopyReport:
    """Copy `source@digest` to `destination:tag`, byte for byte; a no-op when already there.

    DigestConflictError when the tag holds another digest; PromotionError when the copy
    reads back a different digest (a registry that rewrote the manifest)."""
    held = destination.manifest_digest(tag)
    if held == digest:
        return CopyReport(digest, copied=False)
    if held is not None:
        raise DigestConflictError(str(destination.repository), tag, held, digest)
    report = CopyReport(digest, copied=True)
    _copy_manifest(source, destination, digest, tag, report, depth=0)
    landed = destination.manifest_digest(tag)
    if landed != digest:
        raise PromotionError(
            f"{destination.repository}:{tag} reads back as {landed}, not the copied {digest}"
        )
    return report


def _copy_manifest(
    source: RegistryClient,
    destination: RegistryClient,
    digest: str,
    reference: str,
    report: CopyReport,
    depth: int,
) -> None:
    data, media_type = source.manifest(digest)
    manifest = parse_json(data, f"manifest {digest}")
    if is_index(manifest):
        if depth >= MAX_DEPTH:
            raise PromotionError(f"manifest {digest}: indexes nested deeper than {MAX_DEPTH}")
        for entry in manifest.get("manifests") or []:
            child = descriptor_digest(entry, f"index {digest} entry")
            # Every child, attestations included: the index's digest covers them all.
            if destination.manifest_digest(child) != child:
                _copy_manifest(source, destination, child, child, report, depth + 1)
    else:
        blobs = [descriptor_digest(manifest.get("config"), f"manifest {digest} config")]
        blobs += [
            descriptor_digest(layer, f"manifest {digest} layer")
            for layer in manifest.get("layers") or []
        ]
        for blob in dict.fromkeys(blobs):
            _copy_blob(source, destination, blob, report)
    written = destination.put_manifest(reference, data, media_type or _media_type(manifest))
    if written is not None and written != digest:
        raise PromotionError(f"{destination.repository} stored {digest} as {written}")
    report.manifests.append(digest)


def _copy_blob(
    source: RegistryClient, destination: RegistryClient, blob: str, report: CopyReport
) -> None:
    if destination.has_blob(blob):
        report.blobs_present.append(blob)
        return
    upload_url = None
    if source.repository.host == destination.repository.host:
        mounted, upload_url = destination.mount_blob(blob, source.repository)
        if mounted:
            report.blobs_mounted.append(blob)
            return
    with source.download_blob(blob) as data:
        destination.upload_blob(blob, data, upload_url)
    report.blobs_uploaded.append(blob)


def _media_type(manifest: object) -> str:
    media_type = manifest.get("mediaType") if isinstance(manifest, dict) else None
    if not isinstance(media_type, str):
        raise PromotionError("manifest: no media type in the answer or the document")
    return media_type
