"""The lifecycle simulator on what a multi-platform deploy leaves in ECR: an index under
`sha-<12 hex>` and its children under `sha-<12 hex>-<arch>`, all matched by the `sha-*` rule.

AWS, "How lifecycle policies work": "If an image is referenced by a manifest list, it cannot be
expired or archived without the manifest list being deleted or archived first."
"""

from __future__ import annotations

from datetime import timedelta

from infra.lifecycle import Relations, parse_batch_get_image
from infra.lifecycle.images import Image
from infra.multiarch.platforms import child_tag
from tests.infra.lifecycle.support import DAY, acted, image, manifest_entry, preview_of, rule

MINUTE = timedelta(minutes=1)
LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
# Keep the 2 newest sha-* images: fewer than one release holds, to show what is held.
KEEP_TWO = {"rules": [rule(1, patterns=["sha-*"], number=2)]}


def release(tag: str, age: timedelta) -> list[Image]:
    """Children pushed first, the index last, as the program publishes them."""
    return [
        image(f"sha256:{tag}-amd64", (child_tag(tag, "linux/amd64"),), age + 2 * MINUTE),
        image(f"sha256:{tag}-arm64", (child_tag(tag, "linux/arm64"),), age + MINUTE),
        image(f"sha256:{tag}", (tag,), age, manifest_type=LIST),
    ]


def relations(*tags: str) -> Relations:
    entries = [
        manifest_entry(
            f"sha256:{tag}",
            {"manifests": [{"digest": f"sha256:{tag}-amd64"}, {"digest": f"sha256:{tag}-arm64"}]},
        )
        for tag in tags
    ]
    return parse_batch_get_image([("indexes.json", {"images": entries})])


def test_a_kept_index_keeps_its_children_and_an_expired_one_takes_them() -> None:
    old, new = "sha-000000000001", "sha-000000000002"
    images = release(old, 9 * DAY) + release(new, DAY)
    preview = preview_of(KEEP_TWO, images, relations=relations(old, new))
    # The count would take the new amd64 child (third newest sha-*): its index stays, so it stays.
    assert sorted(acted(preview)) == [
        (f"sha256:{old}", "EXPIRE", 1),
        (f"sha256:{old}-amd64", "EXPIRE", 1),
        (f"sha256:{old}-arm64", "EXPIRE", 1),
    ]
    assert {i.digest for i in preview.retained} == {
        f"sha256:{new}",
        f"sha256:{new}-amd64",
        f"sha256:{new}-arm64",
    }
    assert preview.undetermined == ()
