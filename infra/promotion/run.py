"""One promotion run: credentials resolved now, the copy, the report. Shared by the dynamic
provider (during `up`) and `python -m infra.promotion` (the manual path)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.aws_session import AwsSession
from infra.promotion.auth import (
    Credentials,
    aws_config_from_document,
    ecr_credentials,
)
from infra.promotion.client import RegistryClient
from infra.promotion.copier import CopyReport, copy_image
from infra.promotion.refs import PromotionError, Repository, check_tag, parse_digest_ref


@dataclass(frozen=True)
class Logins:
    """How to log in to each registry: ECR through the AWS session, others by user/password.

    Built inside the run from the secret input, so no credential outlives the copy."""

    session: AwsSession | None
    basic: Mapping[str, Credentials]

    @classmethod
    def from_document(cls, text: str) -> Logins:
        """From the `credentials` input: `{"aws": <AwsConfig>|null, "basic": {host: {...}}}`."""
        document = json.loads(text) if text else {}
        aws = document.get("aws")
        session = AwsSession(aws_config_from_document(aws)) if aws is not None else None
        basic = {
            host: Credentials(str(login["username"]), str(login["password"]))
            for host, login in (document.get("basic") or {}).items()
        }
        return cls(session, basic)

    def for_repository(self, repository: Repository) -> Credentials | None:
        if repository.host in self.basic:
            return self.basic[repository.host]
        if repository.ecr is not None and self.session is not None:
            return ecr_credentials(self.session, repository)
        return None


def parse_destination(text: str) -> tuple[Repository, str]:
    """`host/repo:tag` → (repository, tag)."""
    name, _, tag = text.rpartition(":")
    if not name or "/" not in name:
        raise PromotionError(f"destination {text!r} is not <registry host>/<repository>:<tag>")
    return Repository.parse(name), check_tag(tag)


def promote(
    source_ref: str, destination_ref: str, logins: Logins, *, plain_http: bool
) -> CopyReport:
    """Copy `host/repo@sha256:…` to `host/repo:tag`; see `copier.copy_image`."""
    source_repo, digest = parse_digest_ref(source_ref)
    destination_repo, tag = parse_destination(destination_ref)
    source = RegistryClient(source_repo, logins.for_repository(source_repo), plain_http=plain_http)
    destination = RegistryClient(
        destination_repo,
        logins.for_repository(destination_repo),
        plain_http=plain_http,
        pull_from=(source_repo,) if source_repo.host == destination_repo.host else (),
    )
    try:
        return copy_image(source, destination, digest, tag)
    finally:
        source.close()
        destination.close()


def report_outputs(report: CopyReport) -> dict[str, Any]:
    """The resource's outputs: what was copied, never a credential."""
    return {
        "digest": report.digest,
        "copied": report.copied,
        "manifests": list(report.manifests),
        "blobsUploaded": len(report.blobs_uploaded),
        "blobsMounted": len(report.blobs_mounted),
        "blobsPresent": len(report.blobs_present),
    }
