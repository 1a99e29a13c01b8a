"""examples/eks-consumer/sizing.py: workers, requests and limits from the benchmark figures.

Each expectation is worked out here by hand from the figures the module documents (one
worker ~2,800 req/s at p99 ~50 ms, peak RSS 128 MiB, 70 % target), not read from it.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest


@pytest.mark.parametrize(
    ("target", "workers", "cpu", "memory_request", "memory_limit"),
    [
        # 1,960 = 2,800 x 70 %: what one worker carries at the target; the default.
        (None, 1, "1000m", "128Mi", "256Mi"),
        (1, 1, "1000m", "128Mi", "256Mi"),
        (1960, 1, "1000m", "128Mi", "256Mi"),
        # One request more needs a second worker: 2 x 128 = 256Mi.
        (1961, 2, "2000m", "256Mi", "512Mi"),
        # ceil(4,000 / 1,960) = 3; 3 x 128 = 384Mi.
        (4000, 3, "3000m", "384Mi", "768Mi"),
        # 64 workers, the server's WORKERS maximum: 64 x 1,960 req/s; 64 x 128 = 8,192Mi.
        (125_440, 64, "64000m", "8192Mi", "16384Mi"),
    ],
)
def test_pod_size_for_a_target_rate(
    sizing: ModuleType,
    target: int | None,
    workers: int,
    cpu: str,
    memory_request: str,
    memory_limit: str,
) -> None:
    size = sizing.size_pod() if target is None else sizing.size_pod(target)
    assert (size.workers, size.cpu_request, size.memory_request, size.memory_limit) == (
        workers,
        cpu,
        memory_request,
        memory_limit,
    )
    assert size.target_cpu_utilisation_percent == 70


@pytest.mark.parametrize("target", [0, -5, True, 1.5, "1960", None])
def test_a_bad_target_names_the_config_key(sizing: ModuleType, target: Any) -> None:
    with pytest.raises(ValueError, match=r"^targetRequestsPerPod: must be an integer >= 1 "):
        sizing.size_pod(target)


def test_more_workers_than_the_server_allows_is_refused(sizing: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"^targetRequestsPerPod: 125441 req/s needs 65 workers"):
        sizing.size_pod(125_441)


def test_probe_timeout_is_above_liveness_under_the_largest_batch(sizing: ModuleType) -> None:
    # Measured under the largest batch (make bench, 2026-12-02): p99 7.8 ms, max 10.2 ms,
    # rounded up. The probe timeout is 2 s, over 25x the worst: 2,000 ms / 11 ms ~ 180.
    assert sizing.LIVENESS_P99_UNDER_LARGEST_BATCH_MS == 8
    assert sizing.LIVENESS_MAX_UNDER_LARGEST_BATCH_MS == 11
    assert sizing.PROBE_TIMEOUT_SECONDS * 1000 > 25 * sizing.LIVENESS_MAX_UNDER_LARGEST_BATCH_MS


def test_sizing_names_where_its_rate_comes_from(sizing: ModuleType) -> None:
    # Pods are sized for 2,800 req/s a worker, below the saturation rate the dated run
    # measured; the source names that run and its figures.
    assert sizing.BENCH_PREDICT_RPS_PER_WORKER == 2_800
    assert sizing.BENCH_SOURCE == "make bench, 2026-12-02: 4,828 req/s at saturation, p99 56.19 ms"
    assert sizing.BENCH_DATE == "2026-12-02"
