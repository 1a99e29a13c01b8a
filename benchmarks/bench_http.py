"""/predict vs /health throughput on one real uvicorn server, loaded with ``wrk``.

Run from the repo root: ``.venv/bin/python benchmarks/bench_http.py``. Starts
``python -m retail_api`` on a free 127.0.0.1 port (access log off via LOG_LEVEL=warning),
then alternates short wrk runs against the two endpoints (default 8 rounds of 2 s each),
so CPU noise from other processes hits both alike, and prints a markdown table:
total requests/s and the median of the per-round p50/p99. Needs the Debian ``wrk``
package. Only loopback is ever contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "server")]

from retail_api.schemas import EXAMPLE_BASKET  # noqa: E402

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "warning",
        "WORKERS": "1",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "retail_api"], cwd=ROOT / "server", env=env, stdin=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("server did not become healthy within 30 s")


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def _parse(output: str) -> WrkResult:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    if not (rate and p50 and p99):
        raise ValueError(f"could not parse wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return WrkResult(float(rate.group(1)), _ms(p50.group(1)), _ms(p99.group(1)), errors)


def _wrk(wrk: str, url: str, seconds: int, connections: int, script: Path | None) -> WrkResult:
    cmd = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script is not None:
        cmd[1:1] = ["-s", str(script)]
    # argv is fixed here: the wrk found on PATH and a 127.0.0.1 URL.
    run = subprocess.run(cmd, check=True, capture_output=True, text=True)  # noqa: S603
    return _parse(run.stdout)


def _combine(rounds: list[WrkResult]) -> WrkResult:
    return WrkResult(
        requests_per_s=statistics.fmean(r.requests_per_s for r in rounds),
        p50_ms=statistics.median(r.p50_ms for r in rounds),
        p99_ms=statistics.median(r.p99_ms for r in rounds),
        errors=sum(r.errors for r in rounds),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8, help="alternating rounds")
    parser.add_argument("--seconds", type=int, default=2, help="wrk duration per round")
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")

    port = _free_port()
    server = _start_server(port)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "predict.lua"
            body = json.dumps(EXAMPLE_BASKET).replace("\\", "\\\\").replace('"', '\\"')
            script.write_text(
                'wrk.method = "POST"\n'
                f'wrk.body = "{body}"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
            )
            targets = {
                "GET /health": (f"http://127.0.0.1:{port}/health", None),
                "POST /predict": (f"http://127.0.0.1:{port}/predict", script),
            }
            rounds: dict[str, list[WrkResult]] = {name: [] for name in targets}
            for round_no in range(args.rounds + 1):
                for name, (url, lua) in targets.items():
                    result = _wrk(wrk, url, args.seconds, args.connections, lua)
                    if round_no:  # round 0 warms both endpoints up and is discarded
                        rounds[name].append(result)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)

    health, predict = _combine(rounds["GET /health"]), _combine(rounds["POST /predict"])
    print(
        f"HTTP benchmark: {platform.machine()}, {os.cpu_count()} CPUs, 1 uvicorn worker "
        f"(uvloop + httptools), wrk -t1 -c{args.connections}, {args.rounds} alternating "
        f"rounds of {args.seconds} s per endpoint\n"
    )
    print("| endpoint | requests/s | p50 | p99 | errors |")
    print("|---|---:|---:|---:|---:|")
    for name, result in (("GET /health", health), ("POST /predict", predict)):
        print(
            f"| {name} | {result.requests_per_s:,.0f} | {result.p50_ms:.2f} ms | "
            f"{result.p99_ms:.2f} ms | {result.errors} |"
        )
    ratio = predict.requests_per_s / health.requests_per_s
    print(f"\n/predict : /health throughput ratio = {ratio:.2f} (goal >= 0.6)")
    if health.errors or predict.errors:
        raise SystemExit("wrk saw errors or non-2xx responses")


if __name__ == "__main__":
    main()
