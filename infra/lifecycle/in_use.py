"""Which images are running: image references read from `kubectl get pods -A -o json` (or a plain
list of references), resolved to the repository's images.

From a pod, both the reference it asks for (`spec.*containers[].image`: the image a new pod
would pull) and the one it runs (`status.*containerStatuses[].imageID`, `repo@sha256:…`) count.
An `imageID` without a repository (`docker://sha256:…`, a local image ID, not a registry digest)
says nothing about the registry and is ignored.

A reference names this repository when its path is `repositoryName` (and, for an ECR host
`<account>.dkr.ecr.<region>.amazonaws.com`, the account is `registryId`), where describe-images
gave them; it then matches by digest, or else by tag (`latest` when it has neither), as
`docker pull` resolves it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from infra.lifecycle.images import Image
from infra.lifecycle.outcome import EXPIRE, KEPT, TRANSITION, Fate
from infra.lifecycle.tally import short_digest

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
STATUS_LISTS = ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses")
_ECR_HOST = re.compile(r"(\d{12})\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?")
_RUNTIME_SCHEME = re.compile(r"^[a-z-]+://")


class InUseError(ValueError):
    """An in-use document that cannot be read; the message names the entry and field."""


@dataclass(frozen=True)
class Reference:
    """One image reference and where it was found (`pod NAMESPACE/NAME` or `line N`)."""

    where: str
    text: str

    @property
    def parts(self) -> tuple[str | None, str, str | None, str | None]:
        """(host, path, tag, digest) as `docker pull` splits the reference."""
        name, _, digest = self.text.partition("@")
        slash = name.rfind("/")
        colon = name.rfind(":")
        tag = name[colon + 1 :] if colon > slash else None
        name = name[:colon] if colon > slash else name
        host, _, path = name.partition("/")
        if not path or not ("." in host or ":" in host or host == "localhost"):
            host, path = "", name
        return host or None, path, tag, digest or None


def parse_in_use(text: str) -> tuple[Reference, ...]:
    """References from kubectl's JSON (a pod list or one pod), a JSON list of strings, or plain
    text with one reference per line (`#` starts a comment)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return tuple(_from_lines(text))
    if isinstance(document, list):
        if not all(isinstance(entry, str) for entry in document):
            raise InUseError("in-use list: must hold image references (strings)")
        return tuple(Reference(f"entry {i + 1}", ref) for i, ref in enumerate(document) if ref)
    if not isinstance(document, Mapping):
        raise InUseError("in-use: must be kubectl pods JSON, a list of references, or text")
    if document.get("kind") == "Pod":
        return tuple(_from_pod(document, "pod"))
    items = document.get("items")
    if not isinstance(items, list):
        raise InUseError(
            'in-use: kubectl JSON must have an "items" list (kubectl get pods -o json)'
        )
    return tuple(ref for i, pod in enumerate(items) for ref in _from_pod(pod, f"items[{i}]"))


def _from_lines(text: str) -> Iterable[Reference]:
    for number, line in enumerate(text.splitlines(), start=1):
        reference = line.split("#", 1)[0].strip()
        if reference:
            if any(char.isspace() for char in reference):
                raise InUseError(f"line {number}: one image reference per line, got {line!r}")
            yield Reference(f"line {number}", reference)


def _from_pod(pod: object, at: str) -> Iterable[Reference]:
    if not isinstance(pod, Mapping):
        raise InUseError(f"{at}: must be a pod object")
    where = f"pod {_pod_name(pod, at)}"
    for section, lists, key in (
        ("spec", CONTAINER_LISTS, "image"),
        ("status", STATUS_LISTS, "imageID"),
    ):
        body = pod.get(section)
        body = {} if body is None else body
        if not isinstance(body, Mapping):
            raise InUseError(f"{at}.{section}: must be an object")
        for list_key in lists:
            for index, container in enumerate(_list(body, list_key, f"{at}.{section}")):
                value = _text(container, key, f"{at}.{section}.{list_key}[{index}]")
                reference = _RUNTIME_SCHEME.sub("", value or "")
                if reference and not (key == "imageID" and "@" not in reference):
                    yield Reference(where, reference)


def _pod_name(pod: Mapping[str, Any], at: str) -> str:
    metadata = pod.get("metadata")
    if not isinstance(metadata, Mapping) or not isinstance(metadata.get("name"), str):
        raise InUseError(f"{at}.metadata.name: required, the pod's name")
    namespace = metadata.get("namespace")
    return f"{namespace}/{metadata['name']}" if isinstance(namespace, str) else metadata["name"]


def _list(body: Mapping[str, Any], key: str, at: str) -> Sequence[Any]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InUseError(f"{at}.{key}: must be a list")
    return value


def _text(container: object, key: str, at: str) -> str | None:
    if not isinstance(container, Mapping):
        raise InUseError(f"{at}: must be an object")
    value = container.get(key)
    if value is not None and not isinstance(value, str):
        raise InUseError(f"{at}.{key}: must be a string")
    return value


@dataclass(frozen=True)
class Repository:
    """The repository describe-images listed; either part may be unknown (None)."""

    name: str | None = None
    registry_id: str | None = None

    @classmethod
    def of(cls, images: Iterable[Image]) -> Repository:
        """The one repository the images name; unknown where they name none or several."""
        names = {image.repository_name for image in images}
        accounts = {image.registry_id for image in images}
        return cls(
            next(iter(names)) if len(names) == 1 else None,
            next(iter(accounts)) if len(accounts) == 1 else None,
        )

    def holds(self, reference: Reference) -> bool:
        host, path, _, _ = reference.parts
        if self.name is not None and path != self.name:
            return False
        account = _ECR_HOST.fullmatch(host or "")
        return not (account and self.registry_id and account.group(1) != self.registry_id)


def running_images(
    images: Iterable[Image], references: Iterable[Reference], repository: Repository
) -> dict[str, tuple[Reference, ...]]:
    """Digest -> the references (in input order, no repeats) that resolve to that image."""
    by_digest = {image.digest: image for image in images}
    by_tag = {tag: image.digest for image in by_digest.values() for tag in image.tags}
    found: dict[str, list[Reference]] = {}
    for reference in references:
        if not repository.holds(reference):
            continue
        _, _, tag, digest = reference.parts
        target = digest if digest is not None else by_tag.get(tag or "latest")
        if target in by_digest:
            seen = found.setdefault(target, [])
            if reference not in seen:
                seen.append(reference)
    return {digest: tuple(refs) for digest, refs in found.items()}


VERBS = {EXPIRE: "would expire", TRANSITION: "would archive"}


def conflicts(fates: Iterable[Fate], running: Mapping[str, Sequence[Reference]]) -> list[str]:
    """One line per running image the policy would (or, undetermined, might) take, naming where
    it runs, the reference, the image and the rule."""
    lines = []
    for fate in fates:
        if fate.kind == KEPT:
            continue
        verb = VERBS.get(fate.kind, "may expire or archive (undetermined: pass --manifests)")
        # A pod names its image twice (spec and status): one line per pod is enough.
        first = {ref.where: ref for ref in reversed(running.get(fate.image.digest, ()))}
        for reference in reversed(first.values()):
            lines.append(
                f"{reference.where} runs {reference.text} (image {short_digest(fate.image.digest)}"
                f" {','.join(fate.image.tags) or 'untagged'}), which rule "
                f"{fate.rule_priority} {verb}"
            )
    return lines


def places(running: Mapping[str, Sequence[Reference]]) -> dict[str, list[str]]:
    """Digest -> where it runs, each place once, in input order."""
    return {
        digest: list(dict.fromkeys(ref.where for ref in refs)) for digest, refs in running.items()
    }
