"""The `ecr-repository-policy-not-public` check: no Allow statement grants everyone.

A `*` principal is acceptable only when a condition pins it to named organizations or accounts,
and only when every value of that pin is a literal id. IAM's StringLike treats `*` and `?` as
wildcards, so `StringLike aws:PrincipalOrgID "o-*"` or `aws:PrincipalAccount "*?"` match every
organization or account: a public grant in disguise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policy.checks import as_list, parse_policy_text

# "*" as an action includes every ecr:* action, so it is as broad as ecr:* itself.
FORBIDDEN_ACTIONS = frozenset({"*", "ecr:*"})
# Operators under which a pin restricts who matches. The ...IfExists forms and ForAllValues:
# are true when the key is absent (an anonymous caller has no organization), so they pin
# nothing; negated operators exclude rather than name.
PIN_OPERATORS = frozenset(
    {"StringEquals", "StringLike", "ForAnyValue:StringEquals", "ForAnyValue:StringLike"}
)
ORGANIZATION_ID = re.compile(r"o-[a-z0-9]{10,32}")
ACCOUNT_ID = re.compile(r"[0-9]{12}")


@dataclass(frozen=True)
class PinKey:
    what: str
    example: str
    id_pattern: re.Pattern[str]
    path: bool = False
    """The value is an organization path (`o-…/r-…/ou-…/…`): only its first segment is the id,
    and the segments after it may hold wildcards (any OU inside that organization)."""


# Condition keys are case-insensitive in IAM.
PIN_KEYS = {
    "aws:principalorgid": PinKey("organization ID", "o-a1b2c3d4e5", ORGANIZATION_ID),
    "aws:principalaccount": PinKey("account ID", "123456789012", ACCOUNT_ID),
    "aws:principalorgpaths": PinKey(
        "organization path", "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*", ORGANIZATION_ID, True
    ),
}


def check_repository_policy(props: Mapping[str, Any]) -> list[str]:
    document, errors = parse_policy_text("policy", props.get("policy"))
    if document is None:
        return errors
    found: list[str] = []
    for index, statement in enumerate(as_list(document.get("Statement"))):
        if not isinstance(statement, Mapping):
            found.append(f"policy.Statement[{index}] must be a JSON object.")
        elif statement.get("Effect") == "Allow":
            # Deny statements with a wildcard principal only narrow access, so they pass.
            found.extend(_statement_violations(f"policy.Statement[{index}]", statement))
    return found


def _statement_violations(where: str, statement: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    if _grants_everyone(statement.get("Principal")):
        found += _unpinned(where, statement.get("Condition"))
    if "NotPrincipal" in statement:
        found.append(f"{where} uses NotPrincipal with Allow, which grants everyone else.")
    actions = {str(a).lower() for a in as_list(statement.get("Action"))}
    for action in sorted(actions & FORBIDDEN_ACTIONS):
        found.append(f"{where}.Action grants {action!r}; list the ECR actions explicitly.")
    if "NotAction" in statement:
        found.append(f"{where} uses NotAction with Allow, which grants every other action.")
    return found


def _grants_everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return any(p == "*" for values in principal.values() for p in as_list(values))
    return False


def _unpinned(where: str, condition: Any) -> list[str]:
    """Why a '*' principal is public under `condition`; empty when it is pinned."""
    pins = _pins(condition)
    if not pins:
        return [
            f"{where}.Principal grants '*' without an aws:PrincipalOrgID/PrincipalAccount "
            "condition; name the accounts, roles or organizations that may pull."
        ]
    found: list[str] = []
    for operator, key, values in pins:
        pin = PIN_KEYS[key.lower()]
        for position, value in enumerate(values):
            if not _is_literal_id(pin, value):
                found.append(
                    f"{where}.Condition.{operator}.{key}[{position}] {value!r} is not a literal "
                    f"{pin.what}, so it does not pin Principal '*' (a wildcard matches every "
                    f"{pin.what}); write the id itself, e.g. {pin.example!r}."
                )
    return found


def _pins(condition: Any) -> list[tuple[str, str, list[Any]]]:
    """(operator, key, values) of every clause that restricts callers to organizations or
    accounts; a clause with no values pins nothing and is left out."""
    if not isinstance(condition, Mapping):
        return []
    pins = []
    for operator, clauses in condition.items():
        if operator not in PIN_OPERATORS or not isinstance(clauses, Mapping):
            continue
        for key, values in clauses.items():
            if isinstance(key, str) and key.lower() in PIN_KEYS and as_list(values):
                pins.append((operator, key, as_list(values)))
    return pins


def _is_literal_id(pin: PinKey, value: Any) -> bool:
    """The id part matches the id's format exactly, so it holds no `*` or `?`. Under
    StringEquals that is all there is to it; under StringLike only an organization path may
    carry wildcards, after its literal organization id."""
    if not isinstance(value, str):
        return False
    id_part = value.split("/", 1)[0] if pin.path else value
    return pin.id_pattern.fullmatch(id_part) is not None
