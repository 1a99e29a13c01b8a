"""Compiled forest vs scikit-learn ``predict_proba`` on the same pipeline.

Run from the repo root: ``.venv/bin/python benchmarks/bench_model.py``. Trains the
pipeline with the trainer's defaults (the one the bundled artifact was compiled from),
checks both agree, then prints a markdown table of latencies.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "server")]

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
import sklearn  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from retail_api.core.config import DEFAULT_MODEL_DIR  # noqa: E402
from retail_api.forest.contract import INPUT_FEATURES  # noqa: E402
from retail_api.forest.encoding import Record  # noqa: E402
from retail_api.forest.loader import CompiledModel, load_model  # noqa: E402
from training.generator import generate_baskets  # noqa: E402
from training.train import train  # noqa: E402


def _timings(call: Callable[[], object], repeats: int) -> list[float]:
    call()  # warm caches and lazy imports outside the measurement
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def _p(samples: list[float], percentile: int) -> float:
    return float(np.percentile(samples, percentile))


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs" if seconds < 1e-2 else f"{seconds * 1e3:,.1f} ms"


def paired_models() -> tuple[CompiledModel, Pipeline, npt.NDArray[Any], list[Record]]:
    """The bundled compiled model, the pipeline it was compiled from (trained again with the
    trainer's defaults), and the same 1,000 rows for each (an array, and records as the API
    passes them), checked first to give the same probabilities."""
    compiled = load_model(DEFAULT_MODEL_DIR)
    pipeline = train().pipeline
    rows = generate_baskets(1000, seed=123).features
    records: list[Record] = [dict(zip(INPUT_FEATURES, row, strict=True)) for row in rows]
    np.testing.assert_allclose(
        compiled.predict_proba(records), pipeline.predict_proba(rows), rtol=0, atol=1e-9
    )
    return compiled, pipeline, rows, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=2000, help="single-row repeats")
    parser.add_argument("--batch", type=int, default=30, help="1000-row batch repeats")
    args = parser.parse_args()

    compiled, pipeline, rows, records = paired_models()

    one_row, one_record = rows[:1], records[:1]
    cases = [
        (
            "single row",
            lambda: compiled.predict_proba(one_record),
            lambda: pipeline.predict_proba(one_row),
            args.single,
        ),
        (
            "1000-row batch",
            lambda: compiled.predict_proba(records),
            lambda: pipeline.predict_proba(rows),
            args.batch,
        ),
    ]
    print(
        f"Model benchmark: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, numpy {np.__version__}, scikit-learn "
        f"{sklearn.__version__}, model {compiled.version}\n"
    )
    print(
        "| case | compiled p50 | compiled p99 | scikit-learn p50 | scikit-learn p99 "
        "| speed-up (p50) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, fast, slow, repeats in cases:
        fast_s = _timings(fast, repeats)
        slow_s = _timings(slow, max(repeats // 10, 10))
        print(
            f"| {name} | {_fmt(_p(fast_s, 50))} | {_fmt(_p(fast_s, 99))} | "
            f"{_fmt(_p(slow_s, 50))} | {_fmt(_p(slow_s, 99))} | "
            f"{_p(slow_s, 50) / _p(fast_s, 50):,.1f}x |"
        )


if __name__ == "__main__":
    main()
