"""Pure builders for the EKS side: the API Deployment and the node role's ECR pull policy.

No Pulumi import and no I/O, so they are unit-testable with plain strings. Bad input raises
ValueError naming the stack output or config key it came from.
"""

from __future__ import annotations

import re
from typing import Any

# The container contract of the retail-registry image (see the server's Dockerfile).
CONTAINER_UID = 10001
CONTAINER_PORT = 8000
LIVENESS_PATH = "/health/live"
READINESS_PATH = "/ready"

_IMAGE_REF = re.compile(
    r"^(?P<host>\d{12}\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?)"
    r"/(?P<repo>[a-z0-9]+(?:[._/-][a-z0-9]+)*)@sha256:[0-9a-f]{64}$"
)
_REPOSITORY_ARN = re.compile(r"^arn:aws[a-z-]*:ecr:[a-z0-9-]+:\d{12}:repository/[a-z0-9._/-]+$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)


def check_image_ref(image_ref: object, region: object) -> str:
    """Returns image_ref if it is an ECR reference by digest in `region`, else raises."""
    if not isinstance(image_ref, str):
        raise ValueError(f"imageRef: must be a string, got {type(image_ref).__name__}")
    match = _IMAGE_REF.match(image_ref)
    if match is None:
        raise ValueError(
            "imageRef: must be '<account>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:<64 hex>' "
            f"(pinned by digest, never by tag), got {image_ref!r}"
        )
    if match.group("region") != region:
        raise ValueError(
            f"region: {region!r} does not match the registry host in imageRef "
            f"({match.group('region')!r}); the outputs come from different stacks"
        )
    return image_ref


def _check_dns_label(field: str, value: object) -> str:
    if not isinstance(value, str) or not _DNS_LABEL.match(value):
        raise ValueError(f"{field}: must be a DNS-1123 label (a-z, 0-9, '-'), got {value!r}")
    return value


def _check_replicas(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"replicas: must be an integer >= 1, got {value!r}")
    return value


def _security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": CONTAINER_UID,
        "runAsGroup": CONTAINER_UID,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _probe(path: str, period_seconds: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period_seconds,
        "timeoutSeconds": 2,
        "failureThreshold": 3,
    }


def _container(name: str, image_ref: str) -> dict[str, Any]:
    return {
        "name": name,
        "image": image_ref,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"}],
        "env": [{"name": "PORT", "value": str(CONTAINER_PORT)}],
        "securityContext": _security_context(),
        "livenessProbe": _probe(LIVENESS_PATH, 10),
        "readinessProbe": _probe(READINESS_PATH, 5),
        "resources": {
            "requests": {"cpu": "250m", "memory": "256Mi"},
            "limits": {"memory": "512Mi"},
        },
        # The root filesystem is read-only; the server and its libraries still need a /tmp.
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108
    }


def build_deployment(
    image_ref: str,
    region: str,
    *,
    name: str = "retail-api",
    namespace: str = "retail",
    replicas: int = 2,
) -> dict[str, Any]:
    """The Kubernetes Deployment running the retail API image pinned by digest."""
    image = check_image_ref(image_ref, region)
    name = _check_dns_label("name", name)
    namespace = _check_dns_label("namespace", namespace)
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "retail-registry"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": _check_replicas(replicas),
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": CONTAINER_UID,
                        "fsGroup": CONTAINER_UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [_container(name, image)],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }


def node_pull_policy(repository_arn: object) -> dict[str, Any]:
    """IAM policy for the EKS node role: pull from this one repository, nothing else."""
    if not isinstance(repository_arn, str) or not _REPOSITORY_ARN.match(repository_arn):
        raise ValueError(
            "repositoryArn: must be 'arn:aws:ecr:<region>:<account>:repository/<name>', "
            f"got {repository_arn!r}"
        )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PullRetailApi",
                "Effect": "Allow",
                "Action": list(PULL_ACTIONS),
                "Resource": repository_arn,
            },
            # The registry login token is account-wide; IAM offers no narrower resource for it.
            {
                "Sid": "EcrLogin",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
        ],
    }
