"""The Pulumi side of the index: a dynamic resource whose create/update runs `publish.publish`.

Like `infra.promotion.provider`: the pickled provider captures nothing; `destination`,
`children` and `plainHttp` are plain inputs (the preview shows which digests go into which
tag), `credentials` a secret input (the stack's `aws:` settings; the ECR token is fetched from
them at run time and never stored). Delete removes nothing: the index outlives the resource,
as pulumi-docker's images do, and the lifecycle policy ages it.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi.dynamic as dynamic

from infra.multiarch.publish import publish
from infra.promotion.refs import PromotionError, parse_digest_ref
from infra.promotion.run import Logins, parse_destination

INDEX_INPUTS = ("destination", "children", "plainHttp")


class ImageIndexProvider(dynamic.ResourceProvider):
    """Publishes by registry API; holds no state, so its pickled form carries no secret."""

    serialize_as_secret_always = False

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        failures = []
        try:
            parse_destination(str(news.get("destination", "")))
        except PromotionError as error:
            failures.append(dynamic.CheckFailure("destination", str(error)))
        children = news.get("children")
        if not isinstance(children, list) or not children:
            failures.append(dynamic.CheckFailure("children", "no platform images"))
        return dynamic.CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        # The token in `credentials` changes on every run without changing the index.
        changed = [key for key in INDEX_INPUTS if olds.get(key) != news.get(key)]
        return dynamic.DiffResult(changes=bool(changed), replaces=[], stables=[])

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        return dynamic.CreateResult(str(props["destination"]), _publish(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        return dynamic.UpdateResult(_publish(news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing: the index stays in the repository (its lifecycle policy ages it)."""


def _publish(props: dict[str, Any]) -> dict[str, Any]:
    destination = str(props["destination"])
    host_repository = destination.rpartition(":")[0]
    # A list, not a mapping: the engine sorts an object's keys, and the order is the index's.
    children = {str(c["platform"]): str(c["digest"]) for c in props["children"]}
    for digest in children.values():
        parse_digest_ref(f"{host_repository}@{digest}")
    published = publish(
        destination,
        children,
        Logins.from_document(str(props.get("credentials") or "")),
        plain_http=bool(props.get("plainHttp")),
    )
    return {key: props.get(key) for key in INDEX_INPUTS} | {
        "digest": published.digest,
        "published": published.published,
        "mediaType": published.media_type,
    }


class ImageIndex(dynamic.Resource, module="multiarch", name="ImageIndex"):
    """The image index of `children` ([{platform, digest}], in index order) under
    `destination` (host/repo:tag)."""

    digest: pulumi.Output[str]
    published: pulumi.Output[bool]

    def __init__(
        self,
        name: str,
        *,
        destination: pulumi.Input[str],
        children: pulumi.Input[list[dict[str, str]]],
        credentials: pulumi.Input[str],
        plain_http: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "destination": destination,
            "children": children,
            "plainHttp": plain_http,
            "credentials": pulumi.Output.secret(credentials),
            "digest": None,
            "published": None,
            "mediaType": None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["credentials"])
        super().__init__(
            ImageIndexProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret)
        )
