"""Pure builders for the EKS side: the retail API's Kubernetes objects.

No Pulumi import and no I/O, so they are unit-testable with plain strings. Bad input raises
ValueError naming the stack output or config key it came from.
"""

from __future__ import annotations

import re
from typing import Any

from sizing import PROBE_TIMEOUT_SECONDS, PodSize, size_pod

# The container contract of the retail-registry image (see the server's Dockerfile).
CONTAINER_UID = 10001
CONTAINER_PORT = 8000
LIVENESS_PATH = "/health/live"
READINESS_PATH = "/ready"
# The pod keeps serving 5 s while it is taken out of the Service's endpoints, so a scale-in
# or a rollout refuses no connection (the server's idle keep-alive deadline is 5 s too, so
# connections opened before the removal have gone idle and closed by then). Then SIGTERM:
# readiness turns 503, idle connections close, in-flight requests finish and queued work
# that cannot finish in time gets 503 + Connection: close, all within SHUTDOWN_TIMEOUT,
# which the container is given explicitly (server/retail_api/core/drain.py); 5 s more covers
# the lifespan shutdown and process exit before the kubelet's SIGKILL.
PRE_STOP_SLEEP_SECONDS = 5
SERVER_GRACEFUL_SHUTDOWN_SECONDS = 5
PROCESS_EXIT_SECONDS = 5
TERMINATION_GRACE_SECONDS = (
    PRE_STOP_SLEEP_SECONDS + SERVER_GRACEFUL_SHUTDOWN_SECONDS + PROCESS_EXIT_SECONDS
)
# With several workers the server runs prometheus_client's multi-process mode in this folder
# (on the /tmp emptyDir) and empties it at start; a fixed path means a restarted container
# reuses one folder instead of leaving a new one behind each time.
METRICS_DIR = "/tmp/prometheus"  # noqa: S108

_IMAGE_REF = re.compile(
    r"^(?P<host>\d{12}\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?)"
    r"/(?P<repo>[a-z0-9]+(?:[._/-][a-z0-9]+)*)@sha256:[0-9a-f]{64}$"
)
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


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


def _check_count(field: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{field}: must be an integer >= {minimum}, got {value!r}")
    return value


def _labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "retail-registry"}


def _selector(name: str) -> dict[str, Any]:
    return {"matchLabels": {"app.kubernetes.io/name": name}}


def _metadata(name: str, namespace: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": _labels(name)}


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
        "timeoutSeconds": PROBE_TIMEOUT_SECONDS,
        "failureThreshold": 3,
    }


def _environment(size: PodSize) -> list[dict[str, str]]:
    env = [
        {"name": "PORT", "value": str(CONTAINER_PORT)},
        {"name": "WORKERS", "value": str(size.workers)},
        {"name": "SHUTDOWN_TIMEOUT", "value": str(SERVER_GRACEFUL_SHUTDOWN_SECONDS)},
    ]
    if size.workers > 1:
        env.append({"name": "PROMETHEUS_MULTIPROC_DIR", "value": METRICS_DIR})
    return env


def _container(name: str, image_ref: str, size: PodSize) -> dict[str, Any]:
    return {
        "name": name,
        "image": image_ref,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"}],
        "env": _environment(size),
        "securityContext": _security_context(),
        "livenessProbe": _probe(LIVENESS_PATH, 10),
        "readinessProbe": _probe(READINESS_PATH, 5),
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SLEEP_SECONDS}}},
        # No CPU limit: CFS throttling would surface as p99 latency, never as an error.
        "resources": {
            "requests": {"cpu": size.cpu_request, "memory": size.memory_request},
            "limits": {"memory": size.memory_limit},
        },
        # The root filesystem is read-only; Prometheus' multi-process files (one set per
        # worker) and the libraries' temporary files need a writable /tmp.
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108
    }


def build_deployment(
    image_ref: str,
    region: str,
    *,
    name: str = "retail-api",
    namespace: str = "retail",
    size: PodSize | None = None,
) -> dict[str, Any]:
    """The Deployment running the retail API image pinned by digest.

    It has no `replicas`: the HorizontalPodAutoscaler owns the count, and a replica count in
    the manifest would reset it on every apply.
    """
    image = check_image_ref(image_ref, region)
    name = _check_dns_label("name", name)
    namespace = _check_dns_label("namespace", namespace)
    pod_size = size_pod() if size is None else size
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(name, namespace),
        "spec": {
            "selector": _selector(name),
            # A rollout adds a pod before it removes one: serving capacity never dips below
            # what the autoscaler asked for.
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
            },
            "template": {
                "metadata": {"labels": _labels(name)},
                "spec": {
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": CONTAINER_UID,
                        "fsGroup": CONTAINER_UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    # Spread over zones so one zone's outage leaves pods serving.
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "topology.kubernetes.io/zone",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": _selector(name),
                        }
                    ],
                    "containers": [_container(name, image, pod_size)],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }


def build_disruption_budget(name: str, namespace: str) -> dict[str, Any]:
    """Voluntary disruptions (node drains, upgrades) take one API pod at a time."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _metadata(name, namespace),
        "spec": {
            # maxUnavailable rather than minAvailable: it stays right as the HPA scales.
            "maxUnavailable": 1,
            "selector": _selector(name),
            # A pod that is not ready serves nothing; it must not block a drain.
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def build_autoscaler(
    name: str, namespace: str, *, min_replicas: int, max_replicas: int, size: PodSize
) -> dict[str, Any]:
    """autoscaling/v2 HPA on CPU: one worker's CPU tracks its request rate (see sizing.py)."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(name, namespace),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": size.target_cpu_utilisation_percent,
                        },
                    },
                }
            ],
        },
    }


def build_network_policy(name: str, namespace: str) -> dict[str, Any]:
    """Ingress to the API pods on TCP 8000 only, from any peer; every other port is closed."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(name, namespace),
        "spec": {
            "podSelector": _selector(name),
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"protocol": "TCP", "port": CONTAINER_PORT}]}],
        },
    }


def build_manifests(
    image_ref: str,
    region: str,
    *,
    name: str = "retail-api",
    namespace: str = "retail",
    replicas: object = 2,
    max_replicas: object = 10,
    target_rps_per_pod: object = None,
) -> list[dict[str, Any]]:
    """Deployment, PodDisruptionBudget, HorizontalPodAutoscaler and NetworkPolicy, in that order.

    `replicas` is the autoscaler's minimum. Everything is checked before anything is built.
    """
    size = size_pod() if target_rps_per_pod is None else size_pod(target_rps_per_pod)
    minimum = _check_count("replicas", replicas, 1)
    maximum = _check_count("maxReplicas", max_replicas, 1)
    if maximum < minimum:
        raise ValueError(f"maxReplicas: must be >= replicas ({minimum}), got {maximum}")
    deployment = build_deployment(image_ref, region, name=name, namespace=namespace, size=size)
    return [
        deployment,
        build_disruption_budget(name, namespace),
        build_autoscaler(name, namespace, min_replicas=minimum, max_replicas=maximum, size=size),
        build_network_policy(name, namespace),
    ]
