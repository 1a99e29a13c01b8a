"""The shield rule and the check that no rule can expire or archive a shielded image.

AWS ("How lifecycle policies work"): "An image that matches the tagging requirements of a higher
priority rule cannot be expired by a rule with a lower priority." Each case below is also run
through `simulate`, so the check and the simulator agree on what reaches a shielded image.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.lifecycle import Rule, analyse
from infra.lifecycle.shield import SHIELD_COUNT, rules_reaching_shield, shield_rule

from .support import DAY, archive_unpulled, image, preview_of, rule

PREFIX = "deployed-"
SHIELD = shield_rule(PREFIX)
# A deployed build, old and never pulled: every rule below would like to take it.
DEPLOYED = image("sha256:deployed", ("deployed-1", "sha-old", "v1.0.0"), 400 * DAY)


def typed(*rules: dict[str, Any]) -> tuple[Rule, ...]:
    analysis = analyse({"rules": list(rules)})
    assert analysis.ok, analysis.errors
    return analysis.rules


def reaching(*rules: dict[str, Any], carriers: int = 4) -> list[tuple[int, str]]:
    return [
        (r.rule.priority, r.message) for r in rules_reaching_shield(typed(*rules), PREFIX, carriers)
    ]


def taken(*rules: dict[str, Any]) -> list[tuple[str, str, int]]:
    """What the simulator does to DEPLOYED (plus one newer image per tag, so counts bite)."""
    newer = [image(f"sha256:n{i}", (f"sha-{i}", f"v2.{i}.0"), i * DAY) for i in range(1, 3)]
    preview = preview_of({"rules": list(rules)}, [DEPLOYED, *newer])
    return [
        (r.image.digest, r.action, r.rule_priority) for r in preview.results if r.image is DEPLOYED
    ]


def test_shield_rule_is_a_valid_first_rule() -> None:
    assert SHIELD == {
        "rulePriority": 1,
        "description": "Keep every image tagged deployed-* (deployed images): nothing after this "
        "rule can expire or archive them",
        "selection": {
            "tagStatus": "tagged",
            "tagPrefixList": ["deployed-"],
            "countType": "imageCountMoreThan",
            "countNumber": 9999,
        },
        "action": {"type": "expire"},
    }
    assert analyse({"rules": [SHIELD]}).warnings == ()
    assert shield_rule("keep-", priority=5)["rulePriority"] == 5


@pytest.mark.parametrize(
    ("prefix", "priority", "message"),
    [
        ("", 1, "tag_prefix: must be a non-empty tag prefix"),
        ("deployed-*", 1, "without '*'"),
        ("deployed-", 0, "priority: must be a positive integer, got 0"),
        ("deployed-", True, "priority: must be a positive integer, got True"),
    ],
)
def test_shield_rule_refuses_bad_arguments(prefix: str, priority: int, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("*", r"\*")):
        shield_rule(prefix, priority)


AFTER_THE_SHIELD = [
    rule(2, "untagged", count_type="sinceImagePushed", number=1),
    rule(3, patterns=["sha-*"], number=1),
    rule(4, patterns=["*"], count_type="sinceImagePushed", number=1),
    archive_unpulled(5, days=1),
]


def test_rules_after_the_shield_cannot_reach_it() -> None:
    # Even an "any" rule and a ["*"] expire: the shield matched first, so they only count it.
    assert reaching(SHIELD, *AFTER_THE_SHIELD) == []
    assert taken(SHIELD, *AFTER_THE_SHIELD) == []


def test_a_tagged_rule_before_the_shield_is_named() -> None:
    before = rule(1, patterns=["sha-*"], number=1)
    shield = shield_rule(PREFIX, priority=2)
    assert reaching(before, shield) == [
        (
            1,
            "rulePriority 1: could expire an image tagged deployed-* (tagPatternList ['sha-*'], "
            "imageCountMoreThan 1): it is evaluated before any rule keeping deployed-* images; "
            "give the shield a smaller rulePriority than 1",
        )
    ]
    assert taken(before, shield) == [("sha256:deployed", "EXPIRE", 1)]


def test_a_star_pattern_before_the_shield_would_archive() -> None:
    # (A tagStatus "any" rule must be the last of its storage class, so it never comes first.)
    before = rule(
        1,
        patterns=["*"],
        count_type="sinceImagePulled",
        number=30,
        action="transition",
        target="archive",
    )
    shield = shield_rule(PREFIX, priority=2)
    [(priority, message)] = reaching(before, shield)
    assert priority == 1
    assert message.startswith(
        "rulePriority 1: could archive an image tagged deployed-* (tagPatternList ['*'], "
        "sinceImagePulled 30)"
    )
    assert taken(before, shield) == [("sha256:deployed", "TRANSITION", 1)]


def test_without_a_shield_every_rule_that_can_match_is_named() -> None:
    rules = [
        rule(1, "untagged", count_type="sinceImagePushed"),
        rule(2, patterns=["v*"], number=1),
        rule(3, patterns=["*"], count_type="sinceImagePushed", number=30),
    ]
    assert [priority for priority, _ in reaching(*rules)] == [2, 3]
    # The untagged rule cannot match a tagged image; the archive-class rule only sees archived ones.
    archive_only = rule(1, "any", count_type="sinceImageTransitioned", number=90, storage="archive")
    assert reaching(rule(2, "untagged", count_type="sinceImagePushed"), archive_only) == []


def test_a_shield_keeping_fewer_than_the_window_is_named() -> None:
    small = {**SHIELD, "selection": {**SHIELD["selection"], "countNumber": 3}}
    assert reaching(small, carriers=4) == [
        (
            1,
            "rulePriority 1: keeps only 3 images tagged deployed-*, but 4 carry that tag at "
            "once: it would expire the oldest of them; keep at least 4 (the shield keeps "
            f"{SHIELD_COUNT})",
        )
    ]
    assert reaching(small, carriers=3) == []


def test_another_prefix_does_not_shield() -> None:
    other = shield_rule("prod-", priority=1)
    later = rule(2, patterns=["sha-*"], number=1)
    assert [priority for priority, _ in reaching(other, later)] == [1, 2]
