"""Ratios measured round by round, reported as the median with the spread of the rounds.

Used by bench_http.py: a ratio taken inside one round compares two targets under the same
background load, so the rounds' spread says how far one figure can be trusted.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "server")]


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
    import numpy as np

    from retail_api.core.config import DEFAULT_MODEL_DIR
    from retail_api.forest.contract import INPUT_FEATURES
    from retail_api.forest.loader import load_model
    from training.generator import generate_baskets
    from training.train import train

    compiled = load_model(DEFAULT_MODEL_DIR)
    pipeline = train().pipeline
    rows = generate_baskets(1000, seed=123).features
    records = [dict(zip(INPUT_FEATURES, row, strict=True)) for row in rows]
    np.testing.assert_allclose(
        compiled.predict_proba(records), pipeline.predict_proba(rows), rtol=0, atol=1e-9
    )
    values = []
    ours = theirs = 0.0
    for _ in range(rounds):
        ours = _median_seconds(lambda: compiled.predict_proba(records), repeats)
        theirs = _median_seconds(lambda: pipeline.predict_proba(rows), repeats)
        values.append(theirs / ours)
    return Ratio("1000-row batch : scikit-learn predict_proba", 3.0, tuple(values)), ours, theirs
