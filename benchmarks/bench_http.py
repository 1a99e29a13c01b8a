"""HTTP figures for the API on real uvicorn processes, loaded with ``wrk`` on loopback.

Run from the repo root: ``.venv/bin/python benchmarks/bench_http.py``. Prints markdown:

1. Per-request cost as ratios, 1 worker, c=64, taken inside each round so background load
   hits both sides alike; the median and the spread (min-max) of the rounds:
   - our ``GET /health`` : a stock FastAPI route under the same uvicorn settings (the floor),
     with access logs on both sides (uvicorn's for the floor, ours for us) and off on both;
   - our ``POST /predict`` : the workshop server's mock (reconstructed: a stock FastAPI route
     validating the basket with a pydantic model and returning a fixed prediction), logs on;
   - a 1000-row batch through the compiled forest : scikit-learn's ``predict_proba``.
2. ``/health/live`` latency while the largest allowed batch is posted again and again.
3. Overload: 1,000 clients each send a 1 MiB batch at once and hang up; statuses and the
   worker's peak RSS (VmHWM).

Needs the Debian ``wrk`` package.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "server")]

from benchmarks.rounds import (  # noqa: E402
    RATIO_HEADER,
    Ratio,
    WrkResult,
    alternate,
    batch_vs_scikit_learn,
    combine,
    parse_wrk,
    ratio_of,
    row,
)
from retail_api.schemas import EXAMPLE_BASKET, MAX_BATCH  # noqa: E402
from testkit.hostile import post_request, send_all  # noqa: E402
from testkit.net import free_port, wait_for  # noqa: E402

# The floor: stock FastAPI routes. GET /health is the bare route; POST /predict stands in
# for the workshop server's mock (its code is not in this repository): a pydantic body
# model, validated by FastAPI, answered with a fixed prediction.
FLOOR_APP = """from typing import Literal

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Basket(BaseModel):
    BASKET_SIZE: Literal["S", "M", "L"]
    BASKET_TYPE: str
    STORE_REGION: str
    STORE_FORMAT: Literal["SS", "MS", "LS", "XLS"]
    SPEND: float
    QUANTITY: int
    PROD_CODE_20: str
    PROD_CODE_30: str


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/predict")
async def predict(basket: Basket) -> dict[str, object]:
    return {
        "prediction": "Medium",
        "probability": {"Low": 0.2, "Medium": 0.5, "High": 0.3},
        "confidence": 0.5,
        "model_version": "mock",
    }
"""


def _answers(port: int, path: str) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False


# Port -> pid of the process serving it (with 1 worker, the worker itself).
SERVED: dict[int, int] = {}


@contextmanager
def _serve(cmd: list[str], env: dict[str, str], cwd: Path, probe: str) -> Iterator[int]:
    """Start a server on a free port (stderr to a file, as a log shipper would read it)."""
    port = free_port()
    environ = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), **env}
    with tempfile.TemporaryFile() as log:
        # argv is fixed here: this interpreter, uvicorn or retail_api, a 127.0.0.1 port.
        process = subprocess.Popen(  # noqa: S603
            [arg.replace("{port}", str(port)) for arg in cmd],
            cwd=cwd,
            env=environ,
            stdin=subprocess.DEVNULL,
            # uvicorn's access log goes to stdout: both sides write their lines to a file.
            stdout=log,
            stderr=log,
        )
        SERVED[port] = process.pid
        try:
            wait_for(lambda: _answers(port, probe), timeout=30)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=20)


# WORKERS and LOG_LEVEL come from the environment, as in the image.
OURS = [sys.executable, "-m", "retail_api"]


def _floor(app_dir: Path, access_log: bool) -> list[str]:
    return [
        *(sys.executable, "-m", "uvicorn", "floor:app", "--app-dir", str(app_dir)),
        *("--host", "127.0.0.1", "--port", "{port}", "--workers", "1"),
        *("--loop", "uvloop", "--http", "httptools"),
        *(() if access_log else ("--no-access-log",)),
    ]


def _largest_batch() -> bytes:
    widest = {**EXAMPLE_BASKET, "SPEND": 99999.99, "QUANTITY": 9999}
    widest |= {key: "W" * 64 for key in ("BASKET_TYPE", "STORE_REGION", "PROD_CODE_20")}
    widest["PROD_CODE_30"] = "W" * 64
    return json.dumps([widest] * MAX_BATCH).encode()


def _liveness_under_batches(
    wrk: str, port: int, script: Path, seconds: int
) -> tuple[list[float], WrkResult]:
    """/health/live latencies (ms, a fresh connection each, like a kubelet) while wrk keeps
    two largest-batch requests in flight. wrk is its own process, so the probe's timing never
    waits for a poster thread of this interpreter."""
    cmd = [wrk, "-t1", "-c2", f"-d{seconds}s", "--latency", "-s", str(script)]
    posters = subprocess.Popen(  # noqa: S603
        [*cmd, f"http://127.0.0.1:{port}/predict/batch"],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)  # let the first batches arrive
    latencies = []
    while posters.poll() is None:
        started = time.perf_counter()
        assert _answers(port, "/health/live")
        latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(0.02)
    output, _ = posters.communicate()
    return latencies, parse_wrk(output)


def _throughput(
    wrk: str, tmp: Path, script: Path, rounds: int, seconds: int
) -> tuple[dict[str, list[WrkResult]], list[Ratio]]:
    server_dir = ROOT / "server"
    with (
        _serve(_floor(tmp, access_log=True), {}, server_dir, "/health") as floor_on,
        _serve(_floor(tmp, access_log=False), {}, server_dir, "/health") as floor_off,
        _serve(OURS, {"WORKERS": "1", "LOG_LEVEL": "info"}, server_dir, "/health") as on,
        _serve(OURS, {"WORKERS": "1", "LOG_LEVEL": "warning"}, server_dir, "/health") as off,
    ):
        results = alternate(
            wrk,
            {
                "floor GET /health, log on": (f"http://127.0.0.1:{floor_on}/health", None),
                "GET /health, log on": (f"http://127.0.0.1:{on}/health", None),
                "floor GET /health, log off": (f"http://127.0.0.1:{floor_off}/health", None),
                "GET /health, log off": (f"http://127.0.0.1:{off}/health", None),
                "mock POST /predict, log on": (f"http://127.0.0.1:{floor_on}/predict", script),
                "POST /predict, log on": (f"http://127.0.0.1:{on}/predict", script),
            },
            rounds,
            seconds,
        )
    ratios = [
        ratio_of(
            "/health : floor, logs on",
            0.9,
            results,
            "GET /health, log on",
            "floor GET /health, log on",
        ),
        ratio_of(
            "/health : floor, logs off",
            0.9,
            results,
            "GET /health, log off",
            "floor GET /health, log off",
        ),
        ratio_of(
            "/predict : workshop mock, logs on",
            1.5,
            results,
            "POST /predict, log on",
            "mock POST /predict, log on",
        ),
    ]
    return results, ratios


def _overload(body: bytes) -> str:
    """1,000 clients send a 1 MiB batch at once and hang up; what the worker did."""
    server_dir = ROOT / "server"
    padded = body[:-1] + b" " * (1024 * 1024 - len(body)) + b"]"
    with _serve(OURS, {"WORKERS": "1", "LOG_LEVEL": "warning"}, server_dir, "/health") as port:
        started = time.perf_counter()
        send_all(port, [post_request("/predict/batch", padded)] * 1000, abandon=True)
        sent = time.perf_counter() - started
        time.sleep(2)  # let the worker finish what it admitted
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
        peak = _peak_rss_mib(SERVED[port])
    statuses = re.findall(
        r'^retail_api_requests_total\{method="POST",route="/predict/batch",status="(\d+)"\} (\S+)$',
        text,
        re.MULTILINE,
    )
    counts = ", ".join(f"{status}: {float(n):,.0f}" for status, n in statuses)
    return (
        f"1,000 clients each sent a 1 MiB batch and hung up ({sent:.1f} s to send): {counts}; "
        f"worker peak RSS (VmHWM) {peak:.0f} MiB"
    )


def _peak_rss_mib(pid: int) -> float:
    match = re.search(r"^VmHWM:\s+(\d+) kB$", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(match.group(1)) / 1024 if match else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    parser.add_argument("--seconds", type=int, default=2, help="wrk duration per round")
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")
    print(
        f"HTTP benchmark, {time.strftime('%Y-%m-%d', time.gmtime())}: {platform.machine()}, "
        f"{os.cpu_count()} CPUs, uvicorn (uvloop + httptools), wrk -t1 -c64 on loopback, "
        f"{args.rounds} alternating rounds of {args.seconds} s per target, 1 worker\n"
    )
    errors = 0
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "floor.py").write_text(FLOOR_APP)
        script = Path(tmp) / "predict.lua"
        body = json.dumps(EXAMPLE_BASKET).replace("\\", "\\\\").replace('"', '\\"')
        script.write_text(
            f'wrk.method = "POST"\nwrk.body = "{body}"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        results, ratios = _throughput(wrk, Path(tmp), script, args.rounds, args.seconds)
        print("| target | requests/s | p50 | p99 | errors |")
        print("|---|---:|---:|---:|---:|")
        for name, rounds in results.items():
            combined = combine(rounds)
            print(row(name, combined))
            errors += combined.errors
        batch_ratio, ours_s, theirs_s = batch_vs_scikit_learn(args.rounds)
        ratios.append(batch_ratio)
        print(f"\n{RATIO_HEADER}")
        for ratio in ratios:
            print(ratio.row())
        print(
            f"\n1000-row batch, last round's medians: compiled {ours_s * 1e3:.2f} ms, "
            f"scikit-learn {theirs_s * 1e3:.2f} ms"
        )

        batch_script = Path(tmp) / "batch.lua"
        batch = _largest_batch().decode().replace('"', '\\"')
        batch_script.write_text(
            f'wrk.method = "POST"\nwrk.body = "{batch}"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        with _serve(OURS, {"WORKERS": "1"}, ROOT / "server", "/health") as ours:
            latencies, batches = _liveness_under_batches(wrk, ours, batch_script, seconds=10)
        errors += batches.errors
        cuts = statistics.quantiles(latencies, n=100)
        print(
            f"\n/health/live with the largest batch ({MAX_BATCH} baskets, "
            f"{len(_largest_batch()):,} bytes) kept in flight by wrk -c2, 1 worker: "
            f"p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms, max {max(latencies):.1f} ms over "
            f"{len(latencies)} probes ({batches.requests_per_s:.1f} batches/s served; "
            "goal p99 < 100 ms)"
        )
        print("\n" + _overload(json.dumps([EXAMPLE_BASKET] * MAX_BATCH).encode()))
    if errors:
        raise SystemExit("wrk saw errors or non-2xx responses")


if __name__ == "__main__":
    main()
