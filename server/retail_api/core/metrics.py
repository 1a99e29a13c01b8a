"""Prometheus metrics: per-app registry in one process, the library's multiprocess mode with
several workers (every scrape sums all of them), and process metrics in both.

Multiprocess mode is on when PROMETHEUS_MULTIPROC_DIR is set; `python -m retail_api` sets
it whenever WORKERS > 1 (see core/server.py). prometheus_client reads the variable when it
is first imported, so it must be set before that, in the parent process.
"""

from __future__ import annotations

import collections
import os
import re
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)

from retail_api.core.config import MULTIPROC_ENV

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# Methods outside this set share one label, so a client cannot mint series.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# process_* as ProcessCollector names them; in multiprocess mode each worker publishes its
# own and the scrape adds up the live ones.
_PROCESS_SERIES = {
    "process_resident_memory_bytes": "Resident memory, summed over live workers",
    "process_cpu_seconds_total": "CPU seconds, summed over live workers",
    "process_open_fds": "Open file descriptors, summed over live workers",
}


# prometheus_client's file for a worker's live* gauges: gauge_livesum_<pid>.db and the like.
_LIVE_GAUGE_FILE = re.compile(r"^gauge_live[a-z]*_(\d+)\.db$")


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def _alive(pid: int) -> bool:
    """Whether `pid` runs; a zombie (killed, not yet reaped by the supervisor) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no procfs: ask the kernel instead
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    # The state letter follows the parenthesised command name, which may hold spaces.
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def forget_dead_workers(directory: Path) -> list[int]:
    """Drop the live* gauge files of workers that no longer exist; returns their pids.

    A worker killed outright (OOM killer, SIGKILL) never runs its shutdown, and uvicorn's
    supervisor has no hook when a child exits, so the scrape itself checks: a pid with
    live* files that is not running has its files removed, as mark_process_dead does.
    """
    dead = set()
    for path in directory.iterdir():
        match = _LIVE_GAUGE_FILE.match(path.name)
        if match and not _alive(int(match.group(1))):
            dead.add(int(match.group(1)))
    for pid in dead:
        multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
    return sorted(dead)


class Metrics:
    def __init__(self) -> None:
        self.multiprocess = multiprocess_enabled()
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ["route", "method", "status"]
        self.requests = Counter(
            "retail_api_requests",
            "HTTP requests by route template, method and status (499: client left)",
            labels,
            registry=self.registry,
        )
        self.latency = Histogram(
            "retail_api_request_duration_seconds",
            "HTTP request latency by route template, method and status",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "retail_api_predictions",
            "Predictions served by predicted class",
            ["prediction"],
            registry=self.registry,
        )
        # live*: a stopped worker's value leaves the sum (mark_dead removes its file).
        self.model_info = Gauge(
            "retail_api_model_info",
            "Loaded model (1 = loaded) labelled by version",
            ["model_version", "algorithm"],
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self.model_loaded = Gauge(
            "retail_api_model_loaded",
            "1 when a model is loaded (in every live worker), else 0",
            registry=self.registry,
            multiprocess_mode="livemin",
        )
        self._process = ProcessCollector(registry=None)
        self._process_gauges: dict[str, Gauge] = {}
        if self.multiprocess:
            self._process_gauges = {
                name: Gauge(name, text, registry=None, multiprocess_mode="livesum")
                for name, text in _PROCESS_SERIES.items()
            }
        else:
            self.registry.register(self._process)
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def set_model(self, version: str | None, algorithm: str | None) -> None:
        # Multiprocess mode cannot clear labels (prometheus_client warns on stderr); a
        # worker sets its model once, so there is nothing of its own to clear there.
        if not self.multiprocess:
            self.model_info.clear()
        if version is not None and algorithm is not None:
            self.model_info.labels(model_version=version, algorithm=algorithm).set(1)
        self.model_loaded.set(0 if version is None else 1)

    def count_predictions(self, labels: Iterable[str]) -> None:
        """One increment per predicted class, not per prediction: a walk shared by dozens
        of baskets pays a label lookup and an increment for each of at most three classes."""
        for label, count in collections.Counter(labels).items():
            self.predictions.labels(label).inc(count)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count and time one request; label children are looked up once per label set."""
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            labels = (route, method if method in _METHODS else "other", str(status))
            children = (self.requests.labels(*labels), self.latency.labels(*labels))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def refresh_process(self) -> None:
        """Publish this worker's process figures (multiprocess mode; a no-op otherwise)."""
        if not self._process_gauges:
            return
        for family in self._process.collect():
            for sample in family.samples:
                gauge = self._process_gauges.get(sample.name)
                if gauge is not None:
                    gauge.set(sample.value)

    def mark_dead(self) -> None:
        """This worker is stopping: drop its live* gauge values from the sums."""
        if self.multiprocess:
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    def exposition(self) -> bytes:
        if not self.multiprocess:
            return generate_latest(self.registry)
        self.refresh_process()
        forget_dead_workers(Path(os.environ[MULTIPROC_ENV]))
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
