"""A code-only change built on a machine with an empty Docker cache, with and without
`--cache-from` of the previous image pulled from the registry (issue 10, item 4).

"Empty cache" without pruning the shared engine: the builds run on a base made unique for
this test (the stand-in or pinned base plus a random label), so no layer anyone built before
matches, and `remove_descendants` deletes exactly what these builds left behind.

Classic builder: its cache for a multi-stage build is the local image chain, and only the
final stage's layers are in the pushed image, so the builder stage (where pip runs) is
pushed as its own `-builder` image and both are given to `--cache-from`. BuildKit reads
inline cache metadata instead (`BUILDKIT_INLINE_CACHE=1`); its cache store cannot be
emptied here without pruning everyone's, so that path is not measured.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testkit.engine import (
    Build,
    build_image,
    docker,
    inspect,
    remove_descendants,
    step_used_cache,
)
from testkit.registry import Registry
from tests.container.conftest import BuiltImage

pytestmark = pytest.mark.container

# A fragment of the dependency-install instruction in server/Dockerfile.
PIP_STEP = "--require-hashes --report"


@dataclass(frozen=True)
class CacheRuns:
    cold: Build
    warm: Build


def unique_base(base: str) -> str:
    """`base` plus a random label: a new image id that no cached layer descends from."""
    tag = f"retail-api-cache-base:{secrets.token_hex(4)}"
    dockerfile = f"FROM {base}\nLABEL org.retail-registry.cache-test={tag}\n"
    docker("build", "--tag", tag, "-", input_text=dockerfile, timeout=120)
    image_id: str = inspect(tag)["Id"]
    return image_id


def code_only_change(context: Path, destination: Path) -> Path:
    shutil.copytree(context, destination)
    init = destination / "retail_api" / "__init__.py"
    init.write_text(init.read_text() + "\n# code-only change for the cache test\n")
    return destination


@pytest.fixture(scope="module")
def cache_runs(
    built_image: BuiltImage, registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CacheRuns]:
    base = unique_base(built_image.build_args["BASE_IMAGE"])
    args = {**built_image.build_args, "BASE_IMAGE": base}
    previous = f"{registry.host}/retail-api-cache:previous"
    stage = f"{previous}-builder"
    changed = code_only_change(built_image.context, tmp_path_factory.mktemp("cache") / "server")
    try:
        # The previous deploy: both stages pushed, then this machine forgets everything.
        build_image(built_image.context, previous, args)
        build_image(built_image.context, stage, args, extra=["--target", "builder"])
        docker("push", previous, timeout=600)
        docker("push", stage, timeout=600)
        remove_descendants(base)
        cold = build_image(changed, "retail-api-cache:cold", args)
        remove_descendants(base)
        docker("pull", previous, timeout=600)
        docker("pull", stage, timeout=600)
        warm = build_image(
            changed,
            "retail-api-cache:warm",
            args,
            extra=["--cache-from", previous, "--cache-from", stage],
        )
        print(
            f"\ncode-only change on an empty cache: {cold.seconds:.1f} s without --cache-from,"
            f" {warm.seconds:.1f} s with the previous image pulled as cache"
        )
        yield CacheRuns(cold=cold, warm=warm)
    finally:
        remove_descendants(base)
        docker("rmi", "--force", base, timeout=120)


def test_without_cache_from_the_dependencies_are_installed(cache_runs: CacheRuns) -> None:
    assert not step_used_cache(cache_runs.cold.log, PIP_STEP)
    assert "Collecting" in cache_runs.cold.log


def test_with_cache_from_pip_does_not_run(cache_runs: CacheRuns) -> None:
    assert step_used_cache(cache_runs.warm.log, PIP_STEP)
    assert "Collecting" not in cache_runs.warm.log and "Downloading" not in cache_runs.warm.log


def test_with_cache_from_only_the_code_layer_is_new(cache_runs: CacheRuns) -> None:
    """Every step before the code COPY comes from the pulled images; the build is faster."""
    assert step_used_cache(cache_runs.warm.log, "COPY --from=builder /opt/venv")
    assert not step_used_cache(cache_runs.warm.log, "COPY retail_api")
    assert cache_runs.warm.seconds < cache_runs.cold.seconds
