"""The program's one AWS session: every boto3 client and every AWS call outside the provider.

The scan gate, the SBOM reader and the held-image check ask ECR (and Amazon Inspector) things no
pulumi-aws function answers. They must ask as the provider would, so the session is built from
the stack's `aws:` config (`infra.aws_config.AwsConfig`; `identity.py` builds the session:
static keys, profile and shared files, the web-identity role and the `assumeRoles` chain, and
every client's endpoint, retries, proxies and CA bundle), and the caller is checked against
`allowedAccountIds`/`forbiddenAccountIds`. Each AWS call is one method here.

Seams for tests: every client comes from `boto3.Session(...)` (looked up when the session is
built, so a harness may replace `boto3.Session`, or point `endpoints` at moto's server), and
every presigned layer download goes through `download`.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

import boto3
import botocore.exceptions

from infra.aws_config import AwsConfig
from infra.aws_session.identity import build_session, client_options
from infra.aws_types import AwsCallError, EcrTarget, check_account

DOWNLOAD_TIMEOUT_SECONDS = 60
_NO_CREDENTIALS = (
    botocore.exceptions.NoCredentialsError,
    botocore.exceptions.PartialCredentialsError,
    botocore.exceptions.ProfileNotFound,
    botocore.exceptions.NoRegionError,
    botocore.exceptions.CredentialRetrievalError,
)


class AwsSession:
    """boto3 clients as the stack's provider would make them; one method per AWS call."""

    def __init__(self, config: AwsConfig) -> None:
        self.config = config
        self._session: boto3.Session | None = None
        self._clients: dict[tuple[str, str, bool], Any] = {}

    # --- the calls -----------------------------------------------------------------------

    def scan_findings_page(
        self, target: EcrTarget, digest: str, token: str | None
    ) -> Mapping[str, Any]:
        """One DescribeImageScanFindings page; AwsCallError (e.g. ScanNotFoundException)."""
        request: dict[str, Any] = {
            **target.scope,
            "imageId": {"imageDigest": digest},
            "maxResults": 1000,
        }
        if token is not None:
            request["nextToken"] = token
        return self._call("ecr", target.region, "describe_image_scan_findings", **request)

    def start_image_scan(self, target: EcrTarget, digest: str) -> Mapping[str, Any]:
        """StartImageScan (basic scanning; ECR allows one per image per 24 hours).

        Not retried: botocore reads its LimitExceededException as throttling and would back off
        for half a minute before giving the one answer that matters here."""
        image = {"imageDigest": digest}
        return self._call(
            "ecr", target.region, "start_image_scan", retry=False, **target.scope, imageId=image
        )

    def registry_scan_type(self, target: EcrTarget) -> str:
        """BASIC or ENHANCED: GetRegistryScanningConfiguration of the repository's registry."""
        answer = self._call("ecr", target.region, "get_registry_scanning_configuration")
        configuration = answer.get("scanningConfiguration") or {}
        return str(configuration.get("scanType") or "BASIC")

    def manifest(self, target: EcrTarget, digest: str, media_types: list[str]) -> bytes:
        """The manifest bytes ECR holds for `digest` (BatchGetImage)."""
        answer = self._call(
            "ecr",
            target.region,
            "batch_get_image",
            **target.scope,
            imageIds=[{"imageDigest": digest}],
            acceptedMediaTypes=media_types,
        )
        images = answer.get("images") or []
        manifest = images[0].get("imageManifest") if images else None
        if not isinstance(manifest, str):
            failure = (answer.get("failures") or [{}])[0]
            code = str(failure.get("failureCode", "ImageNotFound"))
            raise AwsCallError("BatchGetImage", code, str(failure.get("failureReason", digest)))
        return manifest.encode()

    def blob(self, target: EcrTarget, digest: str, limit: int) -> bytes:
        """A layer or config blob: GetDownloadUrlForLayer, then one HTTPS GET of that URL."""
        answer = self._call(
            "ecr", target.region, "get_download_url_for_layer", **target.scope, layerDigest=digest
        )
        url = answer.get("downloadUrl")
        if not isinstance(url, str):
            raise AwsCallError("GetDownloadUrlForLayer", "NoDownloadUrl", digest)
        try:
            return download(url, limit)
        except (OSError, ValueError) as exc:
            raise AwsCallError("layer download", type(exc).__name__, str(exc)) from None

    def authorization_token(self, registry_id: str, region: str) -> tuple[str, str, str]:
        """GetAuthorizationToken for one registry: (user, password, proxy endpoint).

        The token is valid for 12 hours, so it is fetched when needed and never stored
        (https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html)."""
        answer = self._call("ecr", region, "get_authorization_token", registryIds=[registry_id])
        data = (answer.get("authorizationData") or [{}])[0]
        token, endpoint = data.get("authorizationToken"), data.get("proxyEndpoint")
        if not isinstance(token, str) or not isinstance(endpoint, str):
            raise AwsCallError("GetAuthorizationToken", "NoAuthorizationData", registry_id)
        user, _, password = base64.b64decode(token).decode().partition(":")
        return user, password, endpoint

    def tag_image(self, target: EcrTarget, digest: str, tag: str, manifest: bytes) -> None:
        """PutImage: one more tag on the image `manifest` (its exact bytes, read by `manifest`),
        so the digest stays the same. A tag already on this very image is not an error."""
        media_type = _media_type(manifest)
        request: dict[str, Any] = {
            **target.scope,
            "imageManifest": manifest.decode(),
            "imageTag": tag,
            "imageDigest": digest,
        }
        if media_type:
            request["imageManifestMediaType"] = media_type
        try:
            self._call("ecr", target.region, "put_image", **request)
        except AwsCallError as exc:
            if exc.code != "ImageAlreadyExistsException":
                raise

    def untag_image(self, target: EcrTarget, tag: str) -> None:
        """BatchDeleteImage of one tag: the tag goes, the image stays while another tag (or
        none, if this was its last: then ECR deletes the image) is on it."""
        answer = self._call(
            "ecr", target.region, "batch_delete_image", **target.scope, imageIds=[{"imageTag": tag}]
        )
        # A tag already gone (ImageNotFound) is what was asked for.
        for failure in answer.get("failures") or []:
            code = str(failure.get("failureCode", "Failure"))
            if code != "ImageNotFound":
                raise AwsCallError("BatchDeleteImage", code, str(failure.get("failureReason")))

    def inspector_coverage(self, target: EcrTarget, digest: str) -> Mapping[str, Any] | None:
        """Amazon Inspector's coverage record for the image (ListCoverage), or None if absent.

        `lastScannedAt` and `scanStatus` say whether enhanced scanning has really scanned it."""
        answer = self._call(
            "inspector2",
            target.region,
            "list_coverage",
            filterCriteria={
                "resourceId": [{"comparison": "EQUALS", "value": f"{target.arn}/{digest}"}],
                "resourceType": [{"comparison": "EQUALS", "value": "AWS_ECR_CONTAINER_IMAGE"}],
            },
        )
        covered = answer.get("coveredResources") or []
        return covered[0] if covered else None

    # --- clients -------------------------------------------------------------------------

    def client(self, service: str, region: str, *, retry: bool = True) -> Any:
        """A boto3 client for `service` in `region`, after the account check (once)."""
        key = (service, region, retry)
        if key not in self._clients:
            self._clients[key] = self._session_once().client(
                service, region_name=region, **client_options(self.config, service, retry=retry)
            )
        return self._clients[key]

    def _call(
        self, service: str, region: str, method: str, *, retry: bool = True, **request: Any
    ) -> Mapping[str, Any]:
        name = "".join(part.title() for part in method.split("_"))
        try:
            client = self.client(service, region, retry=retry)
            answer: Mapping[str, Any] = getattr(client, method)(**request)
            return answer
        except AwsCallError:
            raise
        except _NO_CREDENTIALS as exc:
            raise AwsCallError(name, type(exc).__name__, str(exc), no_credentials=True) from None
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "ClientError"))
            raise AwsCallError(name, code, str(error.get("Message", exc))) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise AwsCallError(name, type(exc).__name__, str(exc)) from None

    def _session_once(self) -> boto3.Session:
        if self._session is None:
            session = build_session(self.config)
            self._session = session
            try:
                self._check_account(session)
            except BaseException:
                self._session = None
                raise
        return self._session

    def _check_account(self, session: boto3.Session) -> None:
        config = self.config
        if not (config.allowed_account_ids or config.forbidden_account_ids):
            return
        region = config.sts_region or config.region or "us-east-1"
        client = session.client("sts", region_name=region, **client_options(self.config, "sts"))
        try:
            account = str(client.get_caller_identity()["Account"])
        except _NO_CREDENTIALS as exc:
            raise AwsCallError(
                "GetCallerIdentity", type(exc).__name__, str(exc), no_credentials=True
            ) from None
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            raise AwsCallError(
                "GetCallerIdentity", str(error.get("Code")), str(error.get("Message"))
            ) from None
        check_account(account, config)


def _media_type(manifest: bytes) -> str | None:
    """The manifest's own `mediaType` field (Docker v2 and OCI both write it)."""
    try:
        value = json.loads(manifest).get("mediaType")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def download(url: str, limit: int) -> bytes:
    """GET a presigned layer URL (HTTPS only), at most `limit` bytes."""
    if urllib.parse.urlsplit(url).scheme != "https":
        raise ValueError(f"layer download URL is not HTTPS: {url.split('?')[0]}")
    # The URL is AWS's own answer and carries its signature; no credentials are added.
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:  # noqa: S310
        data: bytes = response.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"layer download: over the {limit} byte cap")
    return data
