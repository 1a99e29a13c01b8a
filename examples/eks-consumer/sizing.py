"""How big a retail API pod is and when to add one, derived from what `make bench` measured.

To refresh: rerun `make bench`, copy its figures into the BENCH_* constants with the date, and
the workers, requests, limits and autoscaling target below follow. No Pulumi import, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# --- Measured (`make bench`, 2026-12-02: benchmarks/results.md, 2 vCPU AMD EPYC, loopback) ---
# One worker at saturation (wrk, 64 connections, access log on): POST /predict 4,828 req/s with
# p99 56.19 ms. Pods are sized for 2,800 req/s a worker, 58 % of that ceiling on a slow day of
# the shared bench machine, whose absolute rates vary up to twofold between runs
# (docs/benchmarks.md): p99 climbs steeply as a worker nears saturation, so the sizing rate
# keeps a margin below what one worker can do rather than chasing each run.
BENCH_SOURCE = "make bench, 2026-12-02: 4,828 req/s at saturation, p99 56.19 ms"
BENCH_DATE = "2026-12-02"  # the run the figures below were checked against
BENCH_PREDICT_RPS_PER_WORKER = 2_800
# Resident set of one worker: idle with the model loaded, and its peak (VmHWM) under the
# hostile loads of tests/server/core/test_overload.py and `make bench` (1,000 clients each
# sending a 1 MiB batch at once): 109 MiB in the 2026-12-02 run, rounded up. Admission
# control bounds it whatever the load: at most 4 batches and 8 MiB of bodies in flight per
# worker (server/retail_api/core/config.py).
BENCH_IDLE_RSS_MIB = 92
BENCH_PEAK_RSS_MIB = 128
# /health/live while the largest allowed batch (1000 baskets) is kept in flight: p50 3.1 ms,
# p99 7.8 ms, max 10.2 ms (make bench, 2026-12-02; the server's goal is p99 < 100 ms), rounded
# up. Probe timeouts must stay well above it (see PROBE_TIMEOUT_SECONDS).
LIVENESS_P99_UNDER_LARGEST_BATCH_MS = 8
LIVENESS_MAX_UNDER_LARGEST_BATCH_MS = 11

# --- Chosen ----------------------------------------------------------------------------------
# Scale out when pods average 70 % of the sizing rate. The other 30 % is
# the traffic that can arrive while a new pod is found, scheduled and ready (HPA sync 15 s,
# start to ready under 1 s on the bench machine, plus node scheduling).
TARGET_UTILISATION_PERCENT = 70
# The default load one pod is sized for: 70 % of one worker's sizing rate.
DEFAULT_TARGET_RPS_PER_POD = BENCH_PREDICT_RPS_PER_WORKER * TARGET_UTILISATION_PERCENT // 100
# A uvicorn worker is one event loop on one thread: at its ceiling it keeps one core busy.
MILLICORES_PER_WORKER = 1000
# Kubernetes' probe timeout: over 25x the worst liveness answer above (2,000 ms / 11 ms ~ 180x);
# the rest is network and kubelet scheduling noise. An unbounded request body once held
# liveness at seconds; if the server's bench ever reports more than ~1 s, raise this with it.
PROBE_TIMEOUT_SECONDS = 2
_MEMORY_STEP_MIB = 64
_MAX_WORKERS = 64  # the server's own WORKERS bound


@dataclass(frozen=True)
class PodSize:
    """Workers and resources of one pod, and the CPU utilisation the autoscaler aims for."""

    workers: int
    cpu_request: str
    memory_request: str
    memory_limit: str
    target_cpu_utilisation_percent: int


def _round_up(mib: int) -> int:
    return math.ceil(mib / _MEMORY_STEP_MIB) * _MEMORY_STEP_MIB


def size_pod(target_rps_per_pod: object = DEFAULT_TARGET_RPS_PER_POD) -> PodSize:
    """The pod that serves `target_rps_per_pod` /predict requests a second at 70 % of its ceiling.

    Workers: enough that 70 % of their measured ceiling covers the target. CPU request: one
    core per worker, and no CPU limit (throttling would show up as p99, not as an error).
    Memory request: every worker at its measured peak RSS, rounded up to 64 MiB; limit: twice
    that, headroom for what the bench did not exercise before the OOM killer steps in.
    """
    if (
        isinstance(target_rps_per_pod, bool)
        or not isinstance(target_rps_per_pod, int)
        or target_rps_per_pod < 1
    ):
        raise ValueError(
            f"targetRequestsPerPod: must be an integer >= 1 (req/s), got {target_rps_per_pod!r}"
        )
    per_worker = BENCH_PREDICT_RPS_PER_WORKER * TARGET_UTILISATION_PERCENT / 100
    workers = math.ceil(target_rps_per_pod / per_worker)
    if workers > _MAX_WORKERS:
        raise ValueError(
            f"targetRequestsPerPod: {target_rps_per_pod} req/s needs {workers} workers, "
            f"more than the server's limit of {_MAX_WORKERS}; add pods instead"
        )
    memory_request = _round_up(workers * BENCH_PEAK_RSS_MIB)
    return PodSize(
        workers=workers,
        cpu_request=f"{workers * MILLICORES_PER_WORKER}m",
        memory_request=f"{memory_request}Mi",
        memory_limit=f"{2 * memory_request}Mi",
        target_cpu_utilisation_percent=TARGET_UTILISATION_PERCENT,
    )
