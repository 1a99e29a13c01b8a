"""The key table: the stack's settings, one field per config key, validated when they load.

Pure Python (no Pulumi import) so every rule can be tested directly. Each `config_key(...)`
line is one row of the table (name, Pulumi type, default, parser, description); the loader,
the Pulumi reader, the `Pulumi.yaml` check and the README check all read the rows from here.
Adding a key = one line here + its entry in `Pulumi.yaml` (a test says which entry).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from infra.aws_config import AwsConfig
from infra.config import parsers as p
from infra.config.keys import config_key
from infra.config.lifecycle_rules import DEFAULT_LIFECYCLE_RULES, LifecycleSettings, lifecycle_rules
from infra.config.parsers import PROJECT
from infra.multiarch.platforms import IMAGE_PLATFORMS_KEY, image_platforms
from infra.paths import DOCKERFILE, SERVER_DIR
from infra.scan_gate import config as scan
from infra.scan_gate.model import AcceptedDigest, IgnoreEntry, ScanPolicy, Severity

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# Pulumi stack reference: organization, project and stack names (letters, digits, - _ .).
STACK_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class RetailRegistryArgs:
    """Everything the RetailRegistry component needs; each default is the safe choice."""

    stack: str
    """Pulumi stack name; tagged onto the repository (not a config key)."""
    aws: AwsConfig = field(default_factory=AwsConfig)
    """The stack's `aws:` config, for the program's own AWS calls (not a key of this table)."""
    repository_name: str = config_key(
        "repositoryName",
        "string",
        "mlops/retail-api",
        p.repository_name,
        "ECR repository name. Lowercase letters and digits in `/`-separated components "
        "('.', '_', '-' inside a component), 2-256 characters.",
    )
    tag_mutability: str = config_key(
        "tagMutability",
        "string",
        "IMMUTABLE",
        p.tag_mutability,
        "Tag mutability. One of IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE, "
        "MUTABLE_WITH_EXCLUSION.",
    )
    mutable_tags: tuple[str, ...] = config_key(
        "mutableTags",
        "array",
        [],
        p.mutable_tags,
        "Wildcard exclusion filters (letters, digits, '.', '_', '-', '*'; at most 5). Required "
        "with, and only with, the *_WITH_EXCLUSION modes.",
        items="string",
    )
    scan_on_push: bool = config_key(
        "scanOnPush", "boolean", True, p.boolean, "Basic vulnerability scan of every pushed image."
    )
    kms_key_arn: str | None = config_key(
        "kmsKeyArn",
        "string",
        "",
        p.kms_key_arn,
        "KMS key ARN for encryption at rest. Empty (the default) means AES256.",
    )
    force_delete: bool = config_key(
        "forceDelete",
        "boolean",
        False,
        p.boolean,
        "Let `pulumi destroy` delete the repository while it still holds images.",
    )
    protect: bool = config_key(
        "protect",
        "boolean",
        True,
        p.boolean,
        "Pulumi `protect` on the repository, so a destroy or replace fails until it is lifted.",
    )
    pull_principals: tuple[str, ...] = config_key(
        "pullPrincipals",
        "array",
        [],
        p.principals,
        "IAM ARNs (arn:aws:iam::<account>:root, :role/<name>, :user/<name>) allowed to pull, "
        "e.g. EKS node roles and IRSA roles. No wildcards.",
        items="string",
    )
    push_principals: tuple[str, ...] = config_key(
        "pushPrincipals",
        "array",
        [],
        p.principals,
        "IAM ARNs allowed to push, e.g. the CI deploy role. Push implies pull. No wildcards.",
        items="string",
    )
    pull_organization_ids: tuple[str, ...] = config_key(
        "pullOrganizationIds",
        "array",
        [],
        p.organization_ids,
        "AWS Organization IDs (o-...) whose principals may pull.",
        items="string",
    )
    lifecycle: LifecycleSettings = config_key(  # noqa: RUF009 - returns a field(), like field()
        "lifecycleRules",
        "array",
        [dict(rule) for rule in DEFAULT_LIFECYCLE_RULES],
        lifecycle_rules,
        "ECR lifecycle rules exactly as in ECR's lifecycle-policy JSON (rulePriority, "
        "description, selection, action), checked by the program before any resource is "
        "declared. Default: expire untagged images 1 day after push; keep every deployed-* "
        "image (the deployed digests); keep the 10 newest v*; keep the 30 newest sha-*.",
        items="object",
    )
    image_platform: str = config_key(
        "imagePlatform",
        "string",
        "linux/amd64",
        p.image_platform,
        "Build platform of the API image. One of linux/amd64, linux/arm64, linux/arm64/v8.",
    )
    image_platforms: tuple[str, ...] = config_key(
        IMAGE_PLATFORMS_KEY,
        "array",
        ["linux/amd64"],
        image_platforms,
        "Platforms of the API image, in order; the first is the default one. With two or more "
        "(e.g. linux/amd64 and linux/arm64) one image is built per platform and an image index "
        "lists them under the tag: imageRef pins the index. Set together with imagePlatform, "
        "this key wins (with a warning).",
        items="string",
    )
    image_tag: str | None = config_key(
        "imageTag",
        "string",
        "",
        p.image_tag,
        "Override for the image tag. Empty (the default) derives `sha-<12 hex>` from "
        "everything that goes into the build. In a promoting stack: deploy this tag from this "
        "stack's own repository, reading no source stack (a rollback pin).",
    )
    scan_fail_severity: Severity | None = config_key(  # noqa: RUF009 - a field(), see above
        scan.FAIL_SEVERITY_KEY,
        "string",
        scan.DEFAULT_FAIL_SEVERITY,
        p.raising_value_error(scan.parse_fail_severity),
        "Scan gate threshold: the update fails when the image's ECR scan has a finding of this "
        "severity or worse. One of CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNDEFINED, "
        "UNTRIAGED, or NONE (report only).",
    )
    scan_ignore: tuple[IgnoreEntry, ...] = config_key(
        scan.IGNORE_KEY,
        "array",
        [],
        p.raising_value_error(scan.parse_ignore),
        "Findings the gate accepts: a list of {id, expires: YYYY-MM-DD, reason}; an entry "
        "stops counting after its expiry day and is then reported.",
        items="object",
    )
    scan_timeout_seconds: int = config_key(
        scan.TIMEOUT_KEY,
        "integer",
        scan.DEFAULT_TIMEOUT_SECONDS,
        p.raising_value_error(scan.parse_timeout_seconds),
        f"How long `up` waits for the image's scan before failing, 1-{scan.MAX_TIMEOUT_SECONDS} s.",
    )
    scan_max_age_days: int = config_key(
        scan.MAX_AGE_KEY,
        "integer",
        scan.DEFAULT_MAX_AGE_DAYS,
        p.raising_value_error(scan.parse_max_age_days),
        "Under basic scanning, a scan older than this many days (1-365) is redone before the "
        "gate judges the image (a rollback to an old digest is judged on today's CVE data).",
    )
    scan_ignore_unfixed: bool = config_key(
        scan.IGNORE_UNFIXED_KEY,
        "boolean",
        False,
        p.boolean,
        "Enhanced scanning only: findings whose fixAvailable is NO do not fail the gate (YES "
        "and PARTIAL do). Refused under basic scanning, which reports no fixAvailable.",
    )
    scan_accepted_digests: tuple[AcceptedDigest, ...] = config_key(
        scan.ACCEPTED_KEY,
        "array",
        [],
        p.raising_value_error(scan.parse_accepted),
        "Images the gate passes without a scan (SCAN_ELIGIBILITY_EXPIRED, or no scan since a "
        "switch of scan type): a list of {digest, expires: YYYY-MM-DD, reason}.",
        items="object",
    )
    accept_unlabelled_digest: str | None = config_key(
        "acceptUnlabelledDigest",
        "string",
        "",
        p.optional_matching(DIGEST, "must be sha256:<64 lowercase hex>, or empty"),
        "With an imageTag override that ECR already holds: the digest of that held image, "
        "accepted although it has no org.opencontainers.image.revision label. Empty: refused.",
    )
    keep_deployed: int = config_key(
        "keepDeployed",
        "integer",
        3,
        p.integer_between(0, 20),
        "How many previously deployed digests (besides the current imageRef) the lifecycle "
        "policy shields from every rule, 0-20.",
    )
    pull_time_excluded_principals: tuple[str, ...] = config_key(
        "pullTimeExcludedPrincipals",
        "array",
        [],
        p.principals,
        "IAM ARNs whose pulls must not count as pulls for sinceImagePulled rules (ECR's pull "
        "time update exclusions). Empty: the pushPrincipals (the deploy role).",
        items="string",
    )
    manage_pull_time_exclusions: bool = config_key(
        "managePullTimeExclusions",
        "boolean",
        False,
        p.boolean,
        "This stack owns the account-wide pull time update exclusions; exactly one stack per "
        "account turns it on.",
    )
    promote_from: str | None = config_key(
        "promoteFrom",
        "string",
        "",
        p.optional_matching(
            STACK_REFERENCE,
            "must be a stack reference <organization>/<project>/<stack>, or empty",
        ),
        "Promotion mode: copy the gated imageRef of this stack (<org>/<project>/<stack>) into "
        "this repository by digest instead of building. Empty: build.",
    )
    build_context: Path = SERVER_DIR
    """Docker build context (not stack config: the program always builds `server/`)."""
    dockerfile: Path = DOCKERFILE
    """Dockerfile inside the build context (not stack config)."""

    @property
    def scan_policy(self) -> ScanPolicy:
        """The scan gate's keys, as the gate takes them."""
        return ScanPolicy(
            self.scan_fail_severity,
            self.scan_ignore,
            self.scan_timeout_seconds,
            self.scan_max_age_days,
            self.scan_ignore_unfixed,
            self.scan_accepted_digests,
        )


def resource_tags(stack: str) -> dict[str, str]:
    return {"project": PROJECT, "stack": stack, "managed-by": "pulumi"}
