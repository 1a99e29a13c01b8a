"""Image figures for the docs: size and layers, build times, pushes, start-to-healthy.

    DOCKER_HOST=unix://… .venv/bin/python benchmarks/bench_image.py [--skip-seed] [--skip-arm64]

Needs a Docker engine (see .ci/docker.sh) and Debian's docker-registry. Prints markdown
tables, with a "Before" column holding the image as first built (pip inside, the whole venv
compiled, same stand-in base). The seed-style image
(benchmarks/seed/) is built on the same base in the same run; it downloads about 1 GB of
wheels, which `--skip-seed` avoids. The bytecode row compares start-to-healthy with a copy of
the image whose whole venv is compiled, which the build does not do. The linux/arm64
rows (the other child of a multi-platform index) come from a BuildKit build under qemu on the
arm64 stand-in base, beside the amd64 figures; `--skip-arm64` leaves them out.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra.paths import PROJECT_ROOT, SERVER_DIR
from testkit.base_image import emulation_problem, ensure_base_image, ensure_platform_base
from testkit.buildkit import buildkit_build
from testkit.engine import (
    build_image,
    docker,
    engine_problem,
    image_size,
    inspect,
    layer_sizes,
    pip_build_args,
)
from testkit.net import answers_ok, free_port
from testkit.registry import Registry

SEED_DIR = PROJECT_ROOT / "benchmarks" / "seed"
MB = 1_000_000
STARTS = 5
# The goals the image is held to.
GOAL_ADDED_MB = 70
GOAL_RATIO = 6
GOAL_CODE_PUSH_MB = 2
GOAL_START_S = 3
# The image as first built (pip inside, the whole venv compiled, same stand-in base).
BEFORE = {"added": "104.0 MB", "healthy": "2.40 s", "code_push": "22.4 kB"}


@dataclass
class Figures:
    base: str
    base_bytes: int
    image_bytes: int = 0
    cold_build_s: float = 0.0
    rebuild_s: float = 0.0
    full_push_bytes: int = 0
    code_push_bytes: int = 0
    serving_s: float = 0.0
    docker_healthy_s: float = 0.0
    all_bytecode_healthy_s: float = 0.0
    all_bytecode_extra_bytes: int = 0
    layers: list[tuple[str, int]] = field(default_factory=list)
    seed_bytes: int | None = None
    arm64: Arm64Figures | None = None


@dataclass(frozen=True)
class Arm64Figures:
    """The linux/arm64 image of a multi-platform index, built here under qemu emulation."""

    base: str
    base_bytes: int
    image_bytes: int
    build_s: float


def copy_context(source: Path, destination: Path) -> Path:
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__"))
    return destination


def seed_context(destination: Path) -> Path:
    """Seed Dockerfile and requirements plus today's package and model (size is what counts)."""
    destination.mkdir()
    for name in ("Dockerfile", "requirements.txt"):
        shutil.copy2(SEED_DIR / name, destination / name)
    for name in ("retail_api", "artifact"):
        shutil.copytree(
            SERVER_DIR / name, destination / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    return destination


def start_once(image: str) -> tuple[float, float]:
    """Seconds from `docker run` to /health answering 200, and to Docker reporting `healthy`.

    Both are polled from the same start; the health status is read every 50 ms, so the
    figure is at most that much late. Docker runs the first probe one HEALTHCHECK interval
    after start, so `healthy` can never come sooner than that interval.
    """
    name = f"retail-bench-{secrets.token_hex(4)}"
    port = free_port()
    started = time.monotonic()
    # The tmpfs is the container's own /tmp, as production runs it (read-only root).
    docker(
        "run",
        "-d",
        "--name",
        name,
        "--read-only",
        "--tmpfs",
        "/tmp",  # noqa: S108
        "-p",
        f"127.0.0.1:{port}:8000",
        image,
    )
    try:
        while not answers_ok(f"http://127.0.0.1:{port}/health"):
            if time.monotonic() - started > 60:
                raise TimeoutError("container never served /health")
            time.sleep(0.02)
        serving = time.monotonic() - started
        while (status := inspect(name)["State"]["Health"]["Status"]) != "healthy":
            if status == "unhealthy" or time.monotonic() - started > 120:
                raise TimeoutError(f"container never became healthy (last status {status})")
            time.sleep(0.05)
        return serving, time.monotonic() - started
    finally:
        docker("rm", "--force", name)


def push_bytes(registry: Registry, image: str, tag: str) -> int:
    """Bytes the registry stored for this push: new blobs only, as `docker push` skips others."""
    ref = f"{registry.host}/retail-api:{tag}"
    docker("tag", image, ref)
    before = registry.stored_bytes()
    docker("push", ref, timeout=600)
    docker("rmi", ref)
    return registry.stored_bytes() - before


def measure(skip_seed: bool, work: Path, skip_arm64: bool = False) -> Figures:
    base = ensure_base_image()
    figures = Figures(base=base, base_bytes=image_size(base))
    args = {"BASE_IMAGE": base, **pip_build_args()}
    context = copy_context(SERVER_DIR, work / "server")
    cold = build_image(context, "retail-api:bench", args, extra=["--no-cache"])
    figures.cold_build_s = cold.seconds
    figures.image_bytes = image_size("retail-api:bench")
    figures.layers = layer_sizes("retail-api:bench")[len(layer_sizes(base)) :]
    # The same image with every module of the venv compiled, as `pip install` used to do.
    # Starts alternate between the two, so a busy machine slows both alike.
    all_bytecode = (
        "FROM retail-api:bench\nUSER 0\n"
        "RUN python -m compileall -q /opt/venv/lib\nUSER 10001:10001\n"
    )
    docker("build", "-t", "retail-api:bench-bytecode", "-", input_text=all_bytecode)
    try:
        figures.all_bytecode_extra_bytes = image_size("retail-api:bench-bytecode") - image_size(
            "retail-api:bench"
        )
        runs, compiled = [], []
        for _ in range(STARTS):
            runs.append(start_once("retail-api:bench"))
            compiled.append(start_once("retail-api:bench-bytecode"))
        figures.all_bytecode_healthy_s = statistics.median(run[1] for run in compiled)
    finally:
        docker("rmi", "retail-api:bench-bytecode")
    figures.serving_s = statistics.median(run[0] for run in runs)
    figures.docker_healthy_s = statistics.median(run[1] for run in runs)

    registry = Registry().start()
    try:
        registry.login()
        figures.full_push_bytes = push_bytes(registry, "retail-api:bench", "sha-bench-one")
        init = context / "retail_api" / "__init__.py"
        init.write_text(init.read_text() + "\n# code-only change (benchmark)\n")
        figures.rebuild_s = build_image(context, "retail-api:bench-2", args).seconds
        figures.code_push_bytes = push_bytes(registry, "retail-api:bench-2", "sha-bench-two")
    finally:
        registry.stop()
        docker("rmi", "retail-api:bench-2")

    if not skip_seed:
        build_image(seed_context(work / "seed"), "retail-api:seed", args)
        figures.seed_bytes = image_size("retail-api:seed")
    if not skip_arm64:
        figures.arm64 = measure_arm64(context)
    return figures


def measure_arm64(context: Path) -> Arm64Figures | None:
    """The arm64 child: one BuildKit build for linux/arm64 on the arm64 stand-in base (several
    minutes under qemu, hence after everything else); None, with the reason on stderr, when
    this machine cannot run arm64 binaries."""
    problem = emulation_problem("linux/arm64")
    if problem is not None:
        print(f"bench_image: no arm64 figures: {problem}", file=sys.stderr)
        return None
    base = ensure_platform_base("linux/arm64")
    args = {"BASE_IMAGE": base, **pip_build_args()}
    build = buildkit_build(
        context, "retail-api:bench-arm64", args, extra=["--platform", "linux/arm64", "--no-cache"]
    )
    try:
        return Arm64Figures(
            base, image_size(base), image_size("retail-api:bench-arm64"), build.seconds
        )
    finally:
        docker("rmi", "retail-api:bench-arm64")


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


Row = tuple[str, str, str, str, str]


def row(
    figure: str, measured: str, before: str = "", goal: str = "", ok: bool | None = None
) -> Row:
    return (figure, measured, before, goal, "" if ok is None else verdict(ok))


def table(f: Figures) -> str:
    added = f.image_bytes - f.base_bytes
    healthy = f"Start-to-healthy: `docker run` → Docker reports `healthy` (median of {STARTS})"
    rows = [
        row("Base image", f"`{f.base}`: {f.base_bytes / MB:.1f} MB"),
        row("Production image, total", f"{f.image_bytes / MB:.1f} MB"),
        row(
            "Production image, added over base",
            f"{added / MB:.1f} MB",
            BEFORE["added"],
            f"≤ {GOAL_ADDED_MB} MB",
            added <= GOAL_ADDED_MB * MB,
        ),
    ]
    if f.seed_bytes is not None:
        seed_added = f.seed_bytes - f.base_bytes
        ratio = seed_added / added
        rows += [
            row("Seed-style image, total", f"{f.seed_bytes / MB:.1f} MB"),
            row("Seed-style image, added over base", f"{seed_added / MB:.1f} MB"),
            row(
                "Seed-style added ÷ production added",
                f"{ratio:.1f}x",
                "",
                f"≥ {GOAL_RATIO}x",
                ratio >= GOAL_RATIO,
            ),
        ]
    if f.arm64 is not None:
        arm_added = f.arm64.image_bytes - f.arm64.base_bytes
        rows += [
            row("linux/arm64 base (stand-in, debootstrap)", f"{f.arm64.base_bytes / MB:.1f} MB"),
            row(
                "linux/arm64 image, total (beside amd64 above)",
                f"{f.arm64.image_bytes / MB:.1f} MB",
            ),
            row(
                "linux/arm64 image, added over its base",
                f"{arm_added / MB:.1f} MB",
                "",
                f"≤ {GOAL_ADDED_MB} MB",
                arm_added <= GOAL_ADDED_MB * MB,
            ),
            row(
                "linux/arm64 cold build under qemu (BuildKit, `--no-cache`)",
                f"{f.arm64.build_s:.1f} s",
            ),
        ]
    rows += [
        row("Cold build (`--no-cache`, wheels from PyPI)", f"{f.cold_build_s:.1f} s"),
        row("Rebuild after a code-only change", f"{f.rebuild_s:.1f} s"),
        row("First push, compressed bytes (incl. base)", f"{f.full_push_bytes / MB:.1f} MB"),
        row(
            "Push after a code-only change",
            f"{f.code_push_bytes / 1000:.1f} kB",
            BEFORE["code_push"],
            f"≤ {GOAL_CODE_PUSH_MB} MB",
            f.code_push_bytes <= GOAL_CODE_PUSH_MB * MB,
        ),
        row(
            healthy,
            f"{f.docker_healthy_s:.2f} s",
            BEFORE["healthy"],
            f"≤ {GOAL_START_S} s, not slower",
            f.docker_healthy_s <= GOAL_START_S,
        ),
        row(f"Start → `/health` answers 200 (median of {STARTS})", f"{f.serving_s:.2f} s"),
        row(
            f"{healthy}, whole venv compiled (+{f.all_bytecode_extra_bytes / MB:.1f} MB)",
            f"{f.all_bytecode_healthy_s:.2f} s",
        ),
    ]
    lines = ["| Figure | Measured | Before | Goal | |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", "| Layer over the base | Size |", "|---|---|"]
    lines += [
        f"| `{instruction(created_by)}` | {size / MB:.2f} MB |"
        for created_by, size in f.layers
        if size > 0
    ]
    return "\n".join(lines)


def instruction(created_by: str) -> str:
    """`docker history`'s CreatedBy as the Dockerfile line, cut to a readable length."""
    text = created_by.split("#(nop) ", 1)[-1].replace("/bin/sh -c ", "RUN ", 1).strip()
    return text if len(text) <= 70 else text[:67] + "..."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-seed", action="store_true", help="skip the ~1 GB seed build")
    parser.add_argument(
        "--skip-arm64", action="store_true", help="skip the linux/arm64 build (minutes under qemu)"
    )
    options = parser.parse_args(argv)
    problem = engine_problem()
    if problem is not None:
        print(f"bench_image: {problem}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="retail-bench-") as work:
        # `docker login` must not leave the registry's token in the user's own config.
        os.environ["DOCKER_CONFIG"] = str(Path(work) / "docker-config")
        figures = measure(options.skip_seed, Path(work), options.skip_arm64)
    print(table(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
