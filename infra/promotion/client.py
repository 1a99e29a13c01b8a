"""One repository on a registry, through the OCI distribution HTTP API V2.

Endpoints and status codes follow the distribution spec
(https://github.com/opencontainers/distribution-spec/blob/main/spec.md): manifests are read
and written as raw bytes (never re-serialised, so a digest survives the copy), blobs are
streamed through a temporary file while their sha256 is checked.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from typing import IO

import requests

from infra.oci import accepted_media_types, verified
from infra.promotion.auth import TIMEOUT_SECONDS, Credentials, authorization
from infra.promotion.refs import Repository

CHUNK_BYTES = 1 << 20


class RegistryError(Exception):
    """A registry answered a request with an unexpected status; names the request, not secrets."""

    def __init__(self, what: str, response: requests.Response) -> None:
        detail = response.text[:300].strip()
        super().__init__(f"{what}: HTTP {response.status_code} {detail}".strip())
        self.status = response.status_code


class RegistryClient:
    """Reads and writes one repository. `plain_http` is for loopback test registries only."""

    def __init__(
        self,
        repository: Repository,
        credentials: Credentials | None,
        *,
        plain_http: bool = False,
        pull_from: Sequence[Repository] = (),
    ) -> None:
        self.repository = repository
        scheme = "http" if plain_http else "https"
        self._root = f"{scheme}://{repository.host}"
        self._base = f"{self._root}/v2/{repository.name}"
        self._http = requests.Session()
        # Mounting from another repository needs pull on it (Bearer registries scope tokens).
        scopes = [f"repository:{repository.name}:pull,push"]
        scopes += [f"repository:{other.name}:pull" for other in pull_from]
        header = authorization(self._http, self._root, credentials, scopes)
        if header is not None:
            self._http.headers["Authorization"] = header

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, url: str, **kwargs: object) -> requests.Response:
        # requests drops the Authorization header on a redirect to another host (ECR sends
        # blob downloads to S3 with a presigned URL, which refuses a second credential).
        return self._http.request(method, url, timeout=TIMEOUT_SECONDS, **kwargs)  # type: ignore[arg-type]

    # --- manifests ---------------------------------------------------------------------------

    def manifest(self, digest: str) -> tuple[bytes, str]:
        """(exact bytes, media type) of the manifest `digest`, checked against the digest."""
        answer = self._request(
            "GET",
            f"{self._base}/manifests/{digest}",
            headers={"Accept": ", ".join(accepted_media_types())},
        )
        if answer.status_code != 200:
            raise RegistryError(f"GET {self.repository}@{digest}", answer)
        media_type = answer.headers.get("Content-Type", "").split(";")[0].strip()
        return verified(digest, answer.content), media_type

    def manifest_digest(self, reference: str) -> str | None:
        """The digest the registry holds under a tag (or digest); None when it holds nothing."""
        answer = self._request(
            "HEAD",
            f"{self._base}/manifests/{reference}",
            headers={"Accept": ", ".join(accepted_media_types())},
        )
        if answer.status_code == 404:
            return None
        digest = answer.headers.get("Docker-Content-Digest")
        if answer.status_code != 200 or not digest:
            raise RegistryError(f"HEAD {self.repository}:{reference}", answer)
        return digest

    def put_manifest(self, reference: str, data: bytes, media_type: str) -> str | None:
        """PUT the manifest bytes under a tag or digest; the digest the registry reports."""
        answer = self._request(
            "PUT",
            f"{self._base}/manifests/{reference}",
            data=data,
            headers={"Content-Type": media_type},
        )
        if answer.status_code not in (200, 201):
            raise RegistryError(f"PUT {self.repository}:{reference}", answer)
        return answer.headers.get("Docker-Content-Digest")

    # --- blobs -------------------------------------------------------------------------------

    def has_blob(self, digest: str) -> bool:
        # Not followed: a registry may redirect to storage with a URL signed for GET only.
        answer = self._request("HEAD", f"{self._base}/blobs/{digest}", allow_redirects=False)
        if answer.status_code in (200, 302, 303, 307):
            return True
        if answer.status_code == 404:
            return False
        raise RegistryError(f"HEAD blob {self.repository}@{digest}", answer)

    def mount_blob(self, digest: str, source: Repository) -> tuple[bool, str | None]:
        """Cross-repository mount: (mounted, the upload URL the registry opened instead).

        The spec lets a registry decline a mount with 202 and a plain upload session; one that
        refuses the request outright is treated the same way: the blob is then copied."""
        answer = self._request(
            "POST",
            f"{self._base}/blobs/uploads/",
            params={"mount": digest, "from": source.name},
        )
        if answer.status_code == 201:
            return True, None
        if answer.status_code == 202:
            return False, self._location(answer)
        return False, None

    def download_blob(self, digest: str) -> IO[bytes]:
        """The blob in a temporary file (rewound), its sha256 checked against `digest`."""
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
        hashed = hashlib.sha256()
        with self._request("GET", f"{self._base}/blobs/{digest}", stream=True) as answer:
            if answer.status_code != 200:
                spool.close()
                raise RegistryError(f"GET blob {self.repository}@{digest}", answer)
            for chunk in answer.iter_content(CHUNK_BYTES):
                hashed.update(chunk)
                spool.write(chunk)
        if f"sha256:{hashed.hexdigest()}" != digest:
            spool.close()
            raise ValueError(f"blob {digest}: content hashes to sha256:{hashed.hexdigest()}")
        spool.seek(0)
        return spool

    def upload_blob(self, digest: str, data: IO[bytes], upload_url: str | None = None) -> None:
        """Monolithic upload (POST to open, PUT with `?digest=`); the registry checks the hash."""
        if upload_url is None:
            answer = self._request("POST", f"{self._base}/blobs/uploads/")
            if answer.status_code != 202:
                raise RegistryError(f"open upload {self.repository}", answer)
            upload_url = self._location(answer)
        answer = self._request(
            "PUT",
            upload_url,
            params={"digest": digest},
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        if answer.status_code != 201:
            raise RegistryError(f"PUT blob {self.repository}@{digest}", answer)

    def _location(self, answer: requests.Response) -> str:
        location = answer.headers.get("Location", "")
        if not location:
            raise RegistryError(f"upload in {self.repository}: no Location", answer)
        return location if "://" in location else f"{self._root}{location}"
