"""HTTP figures for the API on real uvicorn processes, loaded with ``wrk`` on loopback.

Run from the repo root: ``.venv/bin/python benchmarks/bench_http.py``. Prints markdown:

1. Throughput, 1 and 2 workers, c=64: a bare FastAPI app with one trivial route (the
   floor, started here under the same uvicorn settings: uvloop, httptools, access log at
   the default level), our ``GET /health`` and our ``POST /predict``. The three alternate
   in short rounds so background load hits them alike; requests/s, p50 and p99 are the
   medians of the per-round values (a burst of background load spoils one round, not the
   figure).
2. ``/health/live`` latency while the largest allowed batch is posted again and again.
3. The access log's cost: ``/predict`` at LOG_LEVEL=info against LOG_LEVEL=warning, two
   servers up at once, alternating.

Previous figures (before issue 13) are printed beside. Needs the Debian ``wrk`` package.
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "server")]

from retail_api.schemas import EXAMPLE_BASKET, MAX_BATCH  # noqa: E402
from testkit.net import free_port, wait_for  # noqa: E402

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
FLOOR_APP = """from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
"""
PREVIOUS = (
    "Previous (README, before issue 13; 1 worker, c=8, access log off): /health 4,251 req/s, "
    "/predict 2,788 req/s, ratio 0.66 (0.61 in another run); issue 13's measurements: "
    "/health/live 2.65 s with one 200 MB batch in flight, access log ~19 % of /predict."
)


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


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


def _combine(rounds: list[WrkResult]) -> WrkResult:
    return WrkResult(
        requests_per_s=statistics.median(r.requests_per_s for r in rounds),
        p50_ms=statistics.median(r.p50_ms for r in rounds),
        p99_ms=statistics.median(r.p99_ms for r in rounds),
        errors=sum(r.errors for r in rounds),
    )


def _answers(port: int, path: str) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False


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
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            wait_for(lambda: _answers(port, probe), timeout=30)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=20)


# WORKERS and LOG_LEVEL come from the environment, as in the image.
OURS = [sys.executable, "-m", "retail_api"]


def _floor(app_dir: Path, workers: int) -> list[str]:
    return [
        *(sys.executable, "-m", "uvicorn", "floor:app", "--app-dir", str(app_dir)),
        *("--host", "127.0.0.1", "--port", "{port}", "--workers", str(workers)),
        *("--loop", "uvloop", "--http", "httptools"),
    ]


def _wrk(wrk: str, url: str, seconds: int, script: Path | None) -> WrkResult:
    cmd = [wrk, "-t1", "-c64", f"-d{seconds}s", "--latency", url]
    if script is not None:
        cmd[1:1] = ["-s", str(script)]
    run = subprocess.run(cmd, check=True, capture_output=True, text=True)  # noqa: S603
    return _parse(run.stdout)


def _alternate(
    wrk: str, targets: dict[str, tuple[str, Path | None]], rounds: int, seconds: int
) -> dict[str, WrkResult]:
    results: dict[str, list[WrkResult]] = {name: [] for name in targets}
    for round_no in range(rounds + 1):
        for name, (url, script) in targets.items():
            result = _wrk(wrk, url, seconds, script)
            if round_no:  # round 0 warms everything up and is discarded
                results[name].append(result)
    return {name: _combine(values) for name, values in results.items()}


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
    return latencies, _parse(output)


def _row(name: str, result: WrkResult) -> str:
    return (
        f"| {name} | {result.requests_per_s:,.0f} | {result.p50_ms:.2f} ms | "
        f"{result.p99_ms:.2f} ms | {result.errors} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds")
    parser.add_argument("--seconds", type=int, default=2, help="wrk duration per round")
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")
    server_dir = ROOT / "server"
    errors = 0
    print(
        f"HTTP benchmark: {platform.machine()}, {os.cpu_count()} CPUs, uvicorn (uvloop + "
        f"httptools), wrk -t1 -c64 on loopback, {args.rounds} alternating rounds of "
        f"{args.seconds} s per target\n\n{PREVIOUS}\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "floor.py").write_text(FLOOR_APP)
        script = Path(tmp) / "predict.lua"
        body = json.dumps(EXAMPLE_BASKET).replace("\\", "\\\\").replace('"', '\\"')
        script.write_text(
            f'wrk.method = "POST"\nwrk.body = "{body}"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        print("| workers | target | requests/s | p50 | p99 | errors |")
        print("|---|---|---:|---:|---:|---:|")
        ratios = []
        for workers in (1, 2):
            env = {"WORKERS": str(workers), "LOG_LEVEL": "info"}
            with (
                _serve(_floor(Path(tmp), workers), {}, server_dir, "/health") as floor,
                _serve(OURS, env, server_dir, "/health") as ours,
            ):
                results = _alternate(
                    wrk,
                    {
                        "floor GET /health": (f"http://127.0.0.1:{floor}/health", None),
                        "GET /health": (f"http://127.0.0.1:{ours}/health", None),
                        "POST /predict": (f"http://127.0.0.1:{ours}/predict", script),
                    },
                    args.rounds,
                    args.seconds,
                )
            for name, result in results.items():
                print(_row(f"{workers} | {name}", result))
                errors += result.errors
            health, predict = results["GET /health"], results["POST /predict"]
            floor_health = results["floor GET /health"]
            ratios.append(
                f"{workers} worker(s): /predict : /health = "
                f"{predict.requests_per_s / health.requests_per_s:.2f} (goal >= 0.8), "
                f"/health : floor = "
                f"{health.requests_per_s / floor_health.requests_per_s:.2f} (goal >= 0.9)"
            )
        print("\n" + "\n".join(ratios))

        batch_script = Path(tmp) / "batch.lua"
        batch = _largest_batch().decode().replace('"', '\\"')
        batch_script.write_text(
            f'wrk.method = "POST"\nwrk.body = "{batch}"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        with _serve(OURS, {"WORKERS": "1"}, server_dir, "/health") as ours:
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

        # Both servers up at once and alternating rounds, so noise hits both alike.
        with (
            _serve(OURS, {"WORKERS": "1", "LOG_LEVEL": "info"}, server_dir, "/health") as on,
            _serve(OURS, {"WORKERS": "1", "LOG_LEVEL": "warning"}, server_dir, "/health") as off,
        ):
            levels = _alternate(
                wrk,
                {
                    "info": (f"http://127.0.0.1:{on}/predict", script),
                    "warning": (f"http://127.0.0.1:{off}/predict", script),
                },
                args.rounds,
                args.seconds,
            )
        info, warning = levels["info"], levels["warning"]
        cost = 1 - info.requests_per_s / warning.requests_per_s
        print(
            f"\nAccess log cost on /predict (1 worker): {info.requests_per_s:,.0f} req/s with "
            f"it (LOG_LEVEL=info), {warning.requests_per_s:,.0f} without (warning): {cost:.0%}"
        )
    if errors:
        raise SystemExit("wrk saw errors or non-2xx responses")


if __name__ == "__main__":
    main()
