"""Images as a registry stores them, built in memory: tar layers, config, manifest, index.

Field names follow the OCI image-spec (manifest.md, config.md, image-index.md), written out
here rather than taken from `infra.image_sbom`, so the tests check the module against the
spec. Shared by `test_image_sbom.py` and the whole-program harness's fake ECR.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
SBOM_COPY = "COPY /app/sbom.cdx.json /app/sbom.cdx.json # buildkit"
SBOM_MEMBER = "app/sbom.cdx.json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_of(files: dict[str, bytes]) -> bytes:
    """An uncompressed tar holding `files` (member name -> content), as a layer diff."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


@dataclass(frozen=True)
class Step:
    """One Dockerfile instruction: its `created_by`, and the files its layer adds (None: none)."""

    created_by: str
    files: dict[str, bytes] | None = None
    compress: bool = True


@dataclass
class Image:
    manifest: dict[str, Any]
    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[str, bytes] = field(default_factory=dict)

    @property
    def manifest_bytes(self) -> bytes:
        return json.dumps(self.manifest, indent=3).encode()

    @property
    def digest(self) -> str:
        return sha256(self.manifest_bytes)

    def fetch_blob(self, digest: str) -> bytes:
        return self.blobs[digest]

    def fetch_manifest(self, digest: str) -> bytes:
        return self.manifests[digest]


def image_of(
    steps: Sequence[Step], platform: str = "linux/amd64", labels: dict[str, str] | None = None
) -> Image:
    """Layers in step order; `empty_layer` history entries for steps without files; `labels`
    become the config's `config.Labels`."""
    os_name, _, rest = platform.partition("/")
    architecture, _, variant = rest.partition("/")
    layers, diff_ids, history, blobs = [], [], [], {}
    for step in steps:
        if step.files is None:
            history.append({"created_by": step.created_by, "empty_layer": True})
            continue
        diff = tar_of(step.files)
        blob = gzipped(diff) if step.compress else diff
        blobs[sha256(blob)] = blob
        diff_ids.append(sha256(diff))
        history.append({"created_by": step.created_by})
        media = OCI_LAYER_GZIP if step.compress else "application/vnd.oci.image.layer.v1.tar"
        layers.append({"mediaType": media, "digest": sha256(blob), "size": len(blob)})
    config: dict[str, Any] = {
        "architecture": architecture,
        "os": os_name,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    if variant:
        config["variant"] = variant
    if labels:
        config["config"] = {"Labels": dict(labels)}
    config_bytes = json.dumps(config).encode()
    blobs[sha256(config_bytes)] = config_bytes
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": OCI_CONFIG,
            "digest": sha256(config_bytes),
            "size": len(config_bytes),
        },
        "layers": layers,
    }
    return Image(manifest=manifest, blobs=blobs)


def index_of(entries: Sequence[tuple[dict[str, str], Image]]) -> Image:
    """An OCI index over `entries` (platform object, image); blobs and manifests merged."""
    index = Image(manifest={"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
    for platform, image in entries:
        index.manifest["manifests"].append(
            {
                "mediaType": OCI_MANIFEST,
                "digest": image.digest,
                "size": len(image.manifest_bytes),
                "platform": platform,
            }
        )
        index.blobs |= image.blobs
        index.manifests[image.digest] = image.manifest_bytes
    return index


def sbom_image(sbom: bytes, labels: dict[str, str] | None = None) -> Image:
    """The production image's shape, in small: base, venv, SBOM alone, code, metadata."""
    return image_of(
        [
            Step("/bin/sh -c #(nop) ADD file:0a1b in / ", {"etc/os-release": b"ID=debian\n"}),
            Step("ENV PATH=/opt/venv/bin:/usr/bin"),
            Step("COPY /opt/venv /opt/venv # buildkit", {"opt/venv/pyvenv.cfg": b"home = /\n"}),
            Step(SBOM_COPY, {SBOM_MEMBER: sbom}),
            Step("COPY retail_api /app/retail_api # buildkit", {"app/retail_api/x.py": b"x=1\n"}),
            Step('LABEL org.retail-registry.sbom="/app/sbom.cdx.json"'),
        ],
        labels=labels,
    )
