"""`infra.lifecycle.model`: the typed rule and `render`, the canonical policy JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from infra.lifecycle import analyse, render

from .support import BUILDS, RELEASES, UNTAGGED, archive_unpulled, rule


def rendered(rules: list[dict[str, Any]]) -> str:
    return render(analyse({"rules": rules}).rules)


def test_render_sorts_rules_and_orders_keys() -> None:
    messy = {
        "action": {"type": "expire"},
        "selection": {
            "countNumber": 10,
            "countType": "imageCountMoreThan",
            "tagPatternList": ["v*"],
            "tagStatus": "tagged",
        },
        "description": "releases",
        "rulePriority": 2,
    }
    built = json.loads(render(analyse({"rules": [BUILDS, messy, UNTAGGED]}).rules))
    assert [r["rulePriority"] for r in built["rules"]] == [1, 2, 3]
    assert list(built["rules"][1]) == ["rulePriority", "description", "selection", "action"]
    assert list(built["rules"][1]["selection"]) == [
        "tagStatus",
        "tagPatternList",
        "countType",
        "countNumber",
    ]


def test_render_is_canonical_and_compact() -> None:
    forward = rendered([UNTAGGED, RELEASES, BUILDS])
    backward = rendered([BUILDS, RELEASES, UNTAGGED])
    reordered = {k: RELEASES[k] for k in reversed(list(RELEASES))}
    assert forward == backward == rendered([reordered, BUILDS, UNTAGGED])
    assert forward.startswith('{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged",')
    assert " " not in forward


def test_rules_type_every_schema_field() -> None:
    transition = {
        "rulePriority": 2,
        "description": "Archive what nobody pulled for a quarter",
        "selection": {
            "tagStatus": "tagged",
            "tagPatternList": ["sha-*"],
            "countType": "sinceImagePulled",
            "countUnit": "days",
            "countNumber": 90,
        },
        "action": {"type": "transition", "targetStorageClass": "archive"},
    }
    expire = {
        "rulePriority": 1,
        "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 3},
        "action": {"type": "expire"},
    }
    first, second = analyse({"rules": [transition, expire]}).rules
    assert (first.priority, first.description, first.tag_status) == (1, None, "untagged")
    assert (first.count_type, first.count_unit, first.count_number) == (
        "imageCountMoreThan",
        None,
        3,
    )
    assert (first.action, first.target_storage_class, first.storage_class) == (
        "expire",
        None,
        "standard",
    )
    assert second.description == "Archive what nobody pulled for a quarter"
    assert (second.tag_list_kind, second.tag_list) == ("tagPatternList", ("sha-*",))
    assert (second.count_type, second.count_unit, second.count_number) == (
        "sinceImagePulled",
        "days",
        90,
    )
    assert (second.action, second.target_storage_class) == ("transition", "archive")


def test_render_reads_only_the_typed_rules() -> None:
    # "standard" is the default storage class: written or not, the policy text is the same.
    explicit = rule(1, "untagged", count_type="sinceImagePushed", storage="standard")
    implicit = rule(1, "untagged", count_type="sinceImagePushed")
    assert (
        rendered([explicit])
        == rendered([implicit])
        == (
            '{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged",'
            '"countType":"sinceImagePushed","countUnit":"days","countNumber":1},'
            '"action":{"type":"expire"}}]}'
        )
    )
    [typed] = analyse({"rules": [explicit]}).rules
    moved = replace(typed, count_number=7, description="seven days")
    assert json.loads(render([moved]))["rules"][0] == {
        "rulePriority": 1,
        "description": "seven days",
        "selection": {
            "tagStatus": "untagged",
            "countType": "sinceImagePushed",
            "countUnit": "days",
            "countNumber": 7,
        },
        "action": {"type": "expire"},
    }


def test_archive_rules_render_their_storage_class_and_target() -> None:
    archive = rule(1, "any", count_type="sinceImageTransitioned", number=90, storage="archive")
    unpulled = archive_unpulled(2, storage="standard")
    built = json.loads(rendered([unpulled, archive]))["rules"]
    assert built[0]["selection"]["storageClass"] == "archive"
    assert "storageClass" not in built[1]["selection"]
    assert built[1]["action"] == {"type": "transition", "targetStorageClass": "archive"}
