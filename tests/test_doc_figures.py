"""Figures quoted in the docs come from a command run here, not from memory.

Each check runs the command the doc names and compares the figure the doc quotes with the one
the command prints today, so an edit by hand (or a change that moves the figure) fails here.
"""

from __future__ import annotations

import re

from infra.paths import PROJECT_ROOT
from testkit.cli import run_module

OPERATIONS = (PROJECT_ROOT / "docs" / "operations.md").read_text()
EXAMPLE = PROJECT_ROOT / "examples" / "lifecycle"


def test_the_storage_cost_in_operations_is_the_simulators() -> None:
    done = run_module(
        "infra.lifecycle",
        "simulate",
        "--stack",
        "prod",
        "--images",
        EXAMPLE / "describe-images.json",
        "--manifests",
        EXAMPLE / "manifests",
        "--now",
        "2026-11-30T00:00:00Z",
        "--format",
        "table",
    )
    assert done.returncode == 0, done.stderr
    retained = re.search(r"Retained: (\d+) images, ([\d.]+ GB)", done.stdout)
    cost = re.search(r"Estimated storage: \$([\d.]+) per month", done.stdout)
    assert retained and cost, done.stdout
    quoted = re.search(r"keeps (\d+) images, ([\d.]+ GB), and estimates \$([\d.]+) a", OPERATIONS)
    assert quoted is not None, "docs/operations.md no longer quotes the simulator's figures"
    assert quoted.groups() == (*retained.groups(), cost.group(1))


RESULTS = PROJECT_ROOT / "benchmarks" / "results.md"
CITATION = re.compile(r"make bench, (\d{4}-\d{2}-\d{2})")
# A figure as the benchmarks print it: a number with its unit, a speed-up (`209.2x`) or a
# ratio with decimals (`2.10`).
FIGURE = re.compile(r"\d[\d,]*(?:\.\d+)?(?: ?(?:req/s|ms|µs|MB|MiB|GB|kB|s\b|%)|x\b)|\d+\.\d+")
QUOTING = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]


def blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each paragraph, list item or table row."""
    found: list[tuple[int, list[str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        starts = not line.strip() or line.lstrip().startswith(("- ", "* ", "|", "#"))
        if starts or not found:
            found.append((number, []))
        if line.strip():
            found[-1][1].append(line)
    return [(number, " ".join(lines)) for number, lines in found if lines]


def citing_lines() -> list[tuple[str, int, str, str]]:
    """(file, line, cited date, block) for every block of the docs citing a `make bench` run."""
    found = []
    for path in QUOTING:
        for number, block in blocks(path.read_text()):
            for date in CITATION.findall(block):
                found.append((path.name, number, date, block))
    return found


def holds(results: str, figure: str) -> bool:
    """The figure's number stands in the results as a whole number (tables print the unit in
    the header, prose beside it): `8,241` matches `| 8,241 |`, never `18,241` or `8,2410`."""
    value = re.match(r"[\d,]*\d(?:\.\d+)?", figure)
    assert value is not None
    pattern = rf"(?<![\d.,]){re.escape(value.group())}(?![\d,]|\.\d)"
    return re.search(pattern, results) is not None


def test_the_results_file_is_one_dated_run() -> None:
    first = RESULTS.read_text().splitlines()[0]
    assert CITATION.fullmatch(first.removeprefix("# ")), first


def test_figures_citing_make_bench_are_in_the_latest_results() -> None:
    results = RESULTS.read_text()
    (latest,) = CITATION.findall(results.splitlines()[0])
    lines = citing_lines()
    assert lines, "no doc cites the benchmarks"
    problems = []
    for name, number, date, line in lines:
        if date != latest:
            problems.append(f"{name}:{number} cites make bench, {date}; the latest is {latest}")
        problems += [
            f"{name}:{number} quotes {figure!r}, which benchmarks/results.md does not hold"
            for figure in FIGURE.findall(line)
            if not holds(results, figure)
        ]
    assert problems == []


def test_the_eks_sizing_names_the_latest_run_and_its_figures() -> None:
    sizing = (PROJECT_ROOT / "examples" / "eks-consumer" / "sizing.py").read_text()
    results = RESULTS.read_text()
    (latest,) = CITATION.findall(results.splitlines()[0])
    source = re.search(r'^BENCH_SOURCE = "(.*)"$', sizing, re.MULTILINE)
    assert source is not None
    assert CITATION.findall(source.group(1)) == [latest]
    assert [f for f in FIGURE.findall(source.group(1)) if not holds(results, f)] == []
