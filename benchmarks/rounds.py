"""wrk in alternating rounds, and ratios taken inside each round, reported as the median
with the spread of the rounds.

Used by bench_http.py: a ratio taken inside one round compares two targets under the same
background load, so the rounds' spread says how far one figure can be trusted.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "server")]


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


def ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
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
    return WrkResult(float(rate.group(1)), ms(p50.group(1)), ms(p99.group(1)), errors)


def combine(rounds: list[WrkResult]) -> WrkResult:
    return WrkResult(
        requests_per_s=statistics.median(r.requests_per_s for r in rounds),
        p50_ms=statistics.median(r.p50_ms for r in rounds),
        p99_ms=statistics.median(r.p99_ms for r in rounds),
        errors=sum(r.errors for r in rounds),
    )


def run_wrk(wrk: str, url: str, seconds: int, script: Path | None) -> WrkResult:
    cmd = [wrk, "-t1", "-c64", f"-d{seconds}s", "--latency", url]
    if script is not None:
        cmd[1:1] = ["-s", str(script)]
    run = subprocess.run(cmd, check=True, capture_output=True, text=True)  # noqa: S603
    return parse_wrk(run.stdout)


def alternate(
    wrk: str, targets: dict[str, tuple[str, Path | None]], rounds: int, seconds: int
) -> dict[str, list[WrkResult]]:
    """Every target once per round, in turn; round 0 warms everything up and is dropped."""
    results: dict[str, list[WrkResult]] = {name: [] for name in targets}
    for round_no in range(rounds + 1):
        for name, (url, script) in targets.items():
            result = run_wrk(wrk, url, seconds, script)
            if round_no:
                results[name].append(result)
    return results


def row(name: str, result: WrkResult) -> str:
    return (
        f"| {name} | {result.requests_per_s:,.0f} | {result.p50_ms:.2f} ms | "
        f"{result.p99_ms:.2f} ms | {result.errors} |"
    )


def ratio_of(
    name: str, goal: float, results: dict[str, list[WrkResult]], ours: str, floor: str
) -> Ratio:
    pairs = zip(results[ours], results[floor], strict=True)
    return Ratio(name, goal, tuple(o.requests_per_s / f.requests_per_s for o, f in pairs))


@dataclass(frozen=True)
class Ratio:
    name: str
    goal: float
    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def row(self) -> str:
        met = "met" if self.median >= self.goal else "**missed**"
        low, high = min(self.values), max(self.values)
        return (
            f"| {self.name} | {self.median:.2f} | {low:.2f} to {high:.2f} | {len(self.values)} "
            f"| ≥ {self.goal:g} | {met} |"
        )


RATIO_HEADER = (
    "| ratio | median | spread (min to max) | rounds | goal | |\n|---|---:|---:|---:|---:|---|"
)


def _median_seconds(call: Callable[[], object], repeats: int) -> float:
    call()  # warm caches outside the measurement
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def batch_vs_scikit_learn(rounds: int, repeats: int = 15) -> tuple[Ratio, float, float]:
    """scikit-learn's predict_proba time over the compiled forest's, on the same 1,000 rows
    (the served path: records in, probabilities out), one ratio per round; also returns the
    last round's medians (seconds) for each side. Checks first that both agree."""
    from benchmarks.bench_model import paired_models

    compiled, pipeline, rows, records = paired_models()
    values = []
    ours = theirs = 0.0
    for _ in range(rounds):
        ours = _median_seconds(lambda: compiled.predict_proba(records), repeats)
        theirs = _median_seconds(lambda: pipeline.predict_proba(rows), repeats)
        values.append(theirs / ours)
    return Ratio("1000-row batch : scikit-learn predict_proba", 3.0, tuple(values)), ours, theirs
