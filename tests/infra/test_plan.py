"""infra/plan.py: one lifecycle rule per line, in words; values only `up` knows say so."""

from __future__ import annotations

import pytest

from infra.lifecycle import Rule
from infra.plan import AFTER_UP, OFFLINE_DIGEST, output_text, rule_line


def typed(**fields: object) -> Rule:
    rule: dict[str, object] = {
        "priority": 1,
        "description": None,
        "tag_status": "tagged",
        "tag_list_kind": "tagPatternList",
        "tag_list": ("v*",),
        "storage_class": "standard",
        "count_type": "imageCountMoreThan",
        "count_unit": None,
        "count_number": 10,
        "action": "expire",
        "target_storage_class": None,
    }
    rule.update(fields)
    return Rule(**rule)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule", "line"),
    [
        (typed(), "rule 1: tagged pattern v*: keep the 10 newest, expire the rest"),
        (
            typed(tag_list_kind="tagPrefixList", tag_list=("prod", "rc")),
            "rule 1: tagged prefix prod, rc: keep the 10 newest, expire the rest",
        ),
        (
            typed(
                priority=4,
                tag_status="any",
                tag_list_kind=None,
                tag_list=(),
                count_type="sinceImagePulled",
                count_unit="days",
                count_number=90,
                action="transition",
                target_storage_class="archive",
            ),
            "rule 4: any images: transition to archive 90 days after the last pull",
        ),
        (
            typed(
                priority=5,
                tag_status="untagged",
                tag_list_kind=None,
                tag_list=(),
                storage_class="archive",
                count_type="sinceImageTransitioned",
                count_unit="days",
                count_number=365,
            ),
            "rule 5: untagged images (archive): expire 365 days after archiving",
        ),
    ],
)
def test_each_rule_is_one_line_in_words(rule: Rule, line: str) -> None:
    assert rule_line(rule) == line


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, AFTER_UP),
        ({"status": "UNKNOWN"}, AFTER_UP),
        (f"r.example/api@{OFFLINE_DIGEST}", f"r.example/api@sha256:… {AFTER_UP}"),
        ("mlops/retail-api", "mlops/retail-api"),
    ],
)
def test_outputs_known_only_after_up_say_so(value: object, shown: str) -> None:
    assert output_text(value) == shown
