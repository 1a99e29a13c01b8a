"""`imageSbomSha256`: the hash of the image's CycloneDX SBOM, read from the registry.

- `reader`: pure; the SBOM layer found through the config's history, untarred as a stream.
- `deploy`: the ECR side in `pulumi up` (BatchGetImage and one layer download through
  `infra.aws_session`), as an `apply` on the gated digest.
"""

from infra.image_sbom.reader import (
    MAX_BLOB_BYTES,
    MAX_SBOM_BYTES,
    MAX_TAR_BYTES,
    SBOM_PATH,
    SbomError,
    file_sha256,
    image_sbom_sha256,
    sbom_layer,
    sbom_sha256,
)

__all__ = [
    "MAX_BLOB_BYTES",
    "MAX_SBOM_BYTES",
    "MAX_TAR_BYTES",
    "SBOM_PATH",
    "SbomError",
    "file_sha256",
    "image_sbom_sha256",
    "sbom_layer",
    "sbom_sha256",
]
