"""The Pulumi side of a copy: a dynamic resource whose create/update runs `run.promote`.

What goes into the state: the pickled provider below (a class with no attributes: nothing
captured), the inputs `source`, `destination`, `plainHttp` in plain text (the preview shows
exactly what will be copied: source digest → destination tag), and `credentials` as a secret
input — the stack's `aws:` settings (ECR tokens are fetched from them inside create/update, at
run time, and never written anywhere) or, for non-ECR registries, a user and password.
Delete never removes anything: images in the destination outlive the resource, as
pulumi-docker's images do.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi.dynamic as dynamic
from pulumi.runtime import rpc

from infra.promotion.refs import PromotionError, parse_digest_ref
from infra.promotion.run import Logins, parse_destination, promote, report_outputs

COPY_INPUTS = ("source", "destination", "plainHttp")


class RegistryCopyProvider(dynamic.ResourceProvider):
    """Copies by registry API; holds no state, so its pickled form carries no secret."""

    # The default would encrypt the pickled provider wholesale; it has nothing to hide, and a
    # test holds it to that, so the state stays readable.
    serialize_as_secret_always = False

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        failures = []
        for key, parse in (("source", parse_digest_ref), ("destination", parse_destination)):
            if news.get(key) == rpc.UNKNOWN:
                # A preview before the repository exists: its URL is not known yet.
                continue
            try:
                parse(str(news.get(key, "")))
            except PromotionError as error:
                failures.append(dynamic.CheckFailure(key, str(error)))
        return dynamic.CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        # Credentials change on every run (a token, rotated keys) without changing the copy.
        changed = [key for key in COPY_INPUTS if olds.get(key) != news.get(key)]
        return dynamic.DiffResult(changes=bool(changed), replaces=[], stables=[])

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        return dynamic.CreateResult(str(props["destination"]), _copy(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        return dynamic.UpdateResult(_copy(news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing: the copied image stays in the destination (its lifecycle policy ages it)."""


def _copy(props: dict[str, Any]) -> dict[str, Any]:
    report = promote(
        str(props["source"]),
        str(props["destination"]),
        Logins.from_document(str(props.get("credentials") or "")),
        plain_http=bool(props.get("plainHttp")),
    )
    return {key: props.get(key) for key in COPY_INPUTS} | report_outputs(report)


class RegistryCopy(dynamic.Resource, module="promotion", name="RegistryCopy"):
    """`source` (host/repo@sha256:…) copied to `destination` (host/repo:tag) by digest."""

    digest: pulumi.Output[str]
    copied: pulumi.Output[bool]

    def __init__(
        self,
        name: str,
        *,
        source: pulumi.Input[str],
        destination: pulumi.Input[str],
        credentials: pulumi.Input[str],
        plain_http: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "source": source,
            "destination": destination,
            "plainHttp": plain_http,
            "credentials": pulumi.Output.secret(credentials),
            "digest": None,
            "copied": None,
            "manifests": None,
            "blobsUploaded": None,
            "blobsMounted": None,
            "blobsPresent": None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["credentials"])
        super().__init__(
            RegistryCopyProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret)
        )
