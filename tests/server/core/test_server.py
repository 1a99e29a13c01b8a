"""core/server.py and `python -m retail_api` as real uvicorn processes on loopback:
clean stop, structured access log, header and keep-alive deadlines, worker-summed metrics."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from retail_api.core.config import Settings
from retail_api.core.metrics import forget_dead_workers
from retail_api.core.server import prepare_metrics_dir, run
from testkit.net import wait_for
from tests.server.conftest import LiveServer, ServerFactory, connect, read_until_closed


@pytest.mark.timeout(60)
def test_serves_logs_fields_and_stops_cleanly(
    start_server: ServerFactory, basket: dict[str, Any]
) -> None:
    server = start_server()
    health = httpx.get(f"{server.base}/health", timeout=5)
    assert health.status_code == 200
    predicted = httpx.post(f"{server.base}/predict", json=basket, timeout=5)
    assert predicted.status_code == 200
    assert predicted.json()["model_version"] == health.json()["model_version"]

    server.process.send_signal(signal.SIGTERM)
    stderr = server.stop()
    assert server.process.returncode == 0
    assert "Traceback" not in stderr
    logs = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    events = [entry.get("event") for entry in logs]
    assert "model_loaded" in events
    assert "shutdown" in events
    assert logs[-1]["message"].startswith("Finished server process")
    access = [entry for entry in logs if entry["logger"] == "retail_api.access"]
    predict_line = next(entry for entry in access if entry["route"] == "/predict")
    # Fields, not one preformatted string.
    assert set(predict_line) == {
        "time",
        "level",
        "logger",
        "message",
        "method",
        "route",
        "status",
        "duration_ms",
        "client",
    }
    assert (predict_line["method"], predict_line["status"]) == ("POST", 200)
    assert predict_line["client"].startswith("127.0.0.1:")
    assert 0 < predict_line["duration_ms"] < 5000
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", predict_line["time"])
    assert not [entry for entry in logs if entry["logger"] == "uvicorn.access"]


@pytest.mark.timeout(60)
def test_warning_level_turns_the_access_log_off(start_server: ServerFactory) -> None:
    server = start_server(LOG_LEVEL="warning")
    assert httpx.get(f"{server.base}/health", timeout=5).status_code == 200
    assert "retail_api.access" not in server.stop()


@pytest.mark.timeout(60)
def test_half_sent_headers_are_cut_off(start_server: ServerFactory) -> None:
    """Slowloris: a connection that never finishes its headers is closed at HEADER_TIMEOUT."""
    server = start_server(HEADER_TIMEOUT="1")
    with connect(server.port) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        assert read_until_closed(sock, timeout=10) == b""
        assert 0.8 < time.monotonic() - started < 4
    with connect(server.port) as idle:  # nothing sent at all
        started = time.monotonic()
        assert read_until_closed(idle, timeout=10) == b""
        assert time.monotonic() - started < 4


@pytest.mark.timeout(60)
def test_idle_keep_alive_connection_is_closed(start_server: ServerFactory) -> None:
    server = start_server(KEEP_ALIVE_TIMEOUT="1", HEADER_TIMEOUT="30")
    with connect(server.port) as sock:
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        started = time.monotonic()
        reply = read_until_closed(sock, timeout=10)
        assert reply.startswith(b"HTTP/1.1 200 ")
        assert 0.8 < time.monotonic() - started < 4


def _counter(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    assert match, f"{series} missing from:\n{text}"
    return float(match.group(1))


def _workers(supervisor: int) -> list[int]:
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    # multiprocessing also starts a resource tracker; workers run spawn_main.
    return [
        int(pid)
        for pid in children
        if Path(f"/proc/{pid}").exists()
        and b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def _worker_rss(supervisor: int) -> float:
    """Resident bytes of the supervisor's worker children, read from /proc (Linux)."""
    workers = _workers(supervisor)
    assert len(workers) == 2, workers
    pages = sum(int(Path(f"/proc/{pid}/statm").read_text().split()[1]) for pid in workers)
    return float(pages * os.sysconf("SC_PAGE_SIZE"))


@pytest.mark.timeout(90)
def test_two_workers_every_scrape_sums_both(
    start_server: ServerFactory, basket: dict[str, Any], tmp_path: Path
) -> None:
    server = start_server(WORKERS="2", PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    for _ in range(40):
        # A new connection each time lets the kernel hand requests to either worker.
        assert httpx.post(f"{server.base}/predict", json=basket, timeout=5).status_code == 200
    series = 'retail_api_requests_total{method="POST",route="/predict",status="200"}'
    for _ in range(6):  # whichever worker answers, the total is the same
        text = httpx.get(f"{server.base}/metrics", timeout=5).text
        assert _counter(text, series) == 40
    assert _counter(text, "retail_api_model_loaded") == 1
    assert "pid=" not in text, "series must not multiply per worker"
    # prometheus_client's own multiprocess files, one per worker.
    assert len(list(tmp_path.glob("counter_*.db"))) == 2
    # Process memory is the sum over both workers, as /proc counts it (within 25 %).
    rss = _counter(text, "process_resident_memory_bytes")
    assert rss == pytest.approx(_worker_rss(server.process.pid), rel=0.25)
    assert "Traceback" not in server.stop()


@pytest.mark.timeout(90)
def test_killed_worker_leaves_the_sums(start_server: ServerFactory, tmp_path: Path) -> None:
    """SIGKILL runs no shutdown: the next scrape notices the pid is gone and drops its live*
    gauges, so process figures and model_loaded sum only running workers."""
    server = start_server(WORKERS="2", PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    wait_for(lambda: len(list(tmp_path.glob("gauge_livesum_*.db"))) == 2, timeout=30)
    victim = _workers(server.process.pid)[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: victim not in _workers(server.process.pid), timeout=10)
    text = httpx.get(f"{server.base}/metrics", timeout=5).text
    assert not list(tmp_path.glob(f"gauge_live*_{victim}.db"))
    assert _counter(text, "retail_api_model_loaded") == 1
    # uvicorn's supervisor starts a replacement; once it serves, the sum covers the two alive.
    wait_for(lambda: len(_workers(server.process.pid)) == 2, timeout=30)
    # The replacement publishes its figures at start (and every 5 s), so the sum catches up.
    wait_for(lambda: _rss_sum_matches(server, rel=0.25), timeout=30)
    assert "Traceback" not in server.stop()


def _rss_sum_matches(server: LiveServer, rel: float) -> bool:
    text = httpx.get(f"{server.base}/metrics", timeout=5).text
    rss = _counter(text, "process_resident_memory_bytes")
    return bool(rss == pytest.approx(_worker_rss(server.process.pid), rel=rel))


def test_forget_dead_workers_keeps_live_and_foreign_files(tmp_path: Path) -> None:
    dead = 2**22 + 12345  # above Linux's default pid_max of 2**22: never running
    for name in (
        f"gauge_livesum_{dead}.db",
        f"gauge_livemin_{dead}.db",
        f"gauge_livesum_{os.getpid()}.db",
        f"counter_{dead}.db",
        "notes.txt",
    ):
        (tmp_path / name).write_bytes(b"")
    assert forget_dead_workers(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"counter_{dead}.db",  # counters keep counting after a worker dies
        f"gauge_livesum_{os.getpid()}.db",
        "notes.txt",
    ]


@pytest.fixture
def no_metrics_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset for the test and unset again after: prepare_metrics_dir writes os.environ,
    and a leftover value would switch every later Metrics() to multiprocess mode."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "placeholder")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")


@pytest.mark.usefixtures("no_metrics_dir")
def test_metrics_dir_only_with_several_workers() -> None:
    assert prepare_metrics_dir(1) is None
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ


def test_given_metrics_dir_is_emptied_of_old_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "keep.txt").write_text("not ours")
    assert prepare_metrics_dir(1) == (tmp_path, False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


@pytest.mark.usefixtures("no_metrics_dir")
def test_own_metrics_dir_is_removed_after_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Path] = []

    def fake_run(*args: object, **kwargs: object) -> None:
        directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        assert directory.is_dir()
        seen.append(directory)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    run(Settings(workers=2))
    (directory,) = seen
    assert directory.name.startswith("retail-api-metrics-")
    assert not directory.exists()


def test_no_metrics_dir_leaks_into_later_tests() -> None:
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
