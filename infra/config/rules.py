"""Rules across keys: what one key allows depends on another.

Each rule takes the parsed settings and raises ConfigError naming the key to change; the
loader (`settings.load_args`) runs a rule only when every key it reads parsed, so one wrong
value is reported once, by its own key.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable

from infra.config.parsers import ConfigError
from infra.config.settings import RetailRegistryArgs
from infra.lifecycle.shield import DEPLOYED_TAG_PREFIX, SHIELD_COUNT, rules_reaching_shield
from infra.scan_gate import config as scan

MAX_MUTABLE_TAG_FILTERS = 5


def _check_mutable_tags(args: RetailRegistryArgs) -> None:
    with_exclusion = args.tag_mutability.endswith("_WITH_EXCLUSION")
    if with_exclusion and not args.mutable_tags:
        raise ConfigError(
            "mutableTags",
            [],
            f"required (1-{MAX_MUTABLE_TAG_FILTERS} filters) with {args.tag_mutability}",
        )
    if not with_exclusion and args.mutable_tags:
        raise ConfigError(
            "mutableTags",
            list(args.mutable_tags),
            f"only allowed with a *_WITH_EXCLUSION tagMutability, not {args.tag_mutability}",
        )
    if len(args.mutable_tags) > MAX_MUTABLE_TAG_FILTERS:
        raise ConfigError(
            "mutableTags", list(args.mutable_tags), f"at most {MAX_MUTABLE_TAG_FILTERS} filters"
        )


def tag_is_immutable(tag: str, mode: str, exclusion_filters: tuple[str, ...]) -> bool:
    """Whether ECR refuses a second push of `tag`: the filters invert the mode for the tags
    they match. They only use `*` wildcards, which fnmatch reads the same way."""
    excluded = any(fnmatch.fnmatchcase(tag, pattern) for pattern in exclusion_filters)
    if mode == "IMMUTABLE_WITH_EXCLUSION":
        return not excluded
    if mode == "MUTABLE_WITH_EXCLUSION":
        return excluded
    return mode == "IMMUTABLE"


def _check_image_tag(args: RetailRegistryArgs) -> None:
    # A moving tag in an immutable repository is accepted once and refused on every later push.
    if args.image_tag == "latest" and tag_is_immutable(
        "latest", args.tag_mutability, args.mutable_tags
    ):
        raise ConfigError(
            "imageTag",
            "latest",
            f"`latest` is immutable under tagMutability {args.tag_mutability} and could be "
            "pushed only once; use a content or release tag, or exclude it with mutableTags",
        )


def _check_scan_gate(args: RetailRegistryArgs) -> None:
    # Without scan on push ECR never scans the image: the gate would read ScanNotFound as a
    # scan still pending, wait scanTimeoutSeconds and fail every `up`.
    if not args.scan_on_push and args.scan_fail_severity is not None:
        raise ConfigError(
            "scanOnPush",
            False,
            f"nothing is scanned, so the gate at scanFailSeverity {args.scan_fail_severity.value} "
            "fails every `up`; write scanOnPush: true, or scanFailSeverity: NONE to deploy "
            "unscanned images",
        )


def _check_shield(args: RetailRegistryArgs) -> None:
    # The deployed digests (imageRef and the keepDeployed before it) carry a deployed-* tag
    # (infra/deployed.py); a rule that can reach such an image would take what EKS runs.
    carriers = args.keep_deployed + 1
    reaching = rules_reaching_shield(args.lifecycle.rules, DEPLOYED_TAG_PREFIX, carriers)
    if reaching:
        rule = reaching[0].rule
        verb = "archive" if rule.action == "transition" else "expire"
        raise ConfigError(
            "lifecycleRules",
            None,
            f"rulePriority {rule.priority} could {verb} a deployed image (tagged "
            f"{DEPLOYED_TAG_PREFIX}*); before it, keep them: tagPrefixList "
            f"[{DEPLOYED_TAG_PREFIX}], imageCountMoreThan {SHIELD_COUNT}",
            path=f"[{_position(args.lifecycle.source, rule.priority)}]",
        )


def _position(rules: tuple[object, ...], priority: int) -> int:
    """Where the rule with `priority` stands in the list as written."""
    for index, rule in enumerate(rules):
        if isinstance(rule, dict) and rule.get("rulePriority") == priority:
            return index
    return 0


def _check_pull_time_exclusions(args: RetailRegistryArgs) -> None:
    # ECR takes only IAM role ARNs as pull-time update exclusions
    # (https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-time-update-exclusions-considerations.html).
    not_roles = [arn for arn in args.pull_time_excluded_principals if ":role/" not in arn]
    if not_roles:
        raise ConfigError(
            "pullTimeExcludedPrincipals",
            not_roles[0],
            "ECR excludes only IAM roles from pull-time updates; write a role ARN "
            "(arn:aws:iam::<account>:role/<name>)",
        )


# Each rule across keys, with the keys it reads.
RULES_ACROSS_KEYS: tuple[tuple[Callable[[RetailRegistryArgs], None], frozenset[str]], ...] = (
    (_check_mutable_tags, frozenset({"tagMutability", "mutableTags"})),
    (_check_image_tag, frozenset({"imageTag", "tagMutability", "mutableTags"})),
    (_check_scan_gate, frozenset({"scanOnPush", scan.FAIL_SEVERITY_KEY})),
    (_check_shield, frozenset({"lifecycleRules", "keepDeployed"})),
    (_check_pull_time_exclusions, frozenset({"pullTimeExcludedPrincipals"})),
)
