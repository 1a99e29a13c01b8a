"""A code-only change built on a machine with an empty Docker cache, with and without the
previous image as cache, pulled from the registry.

BuildKit, as the program builds: `infra/registry.py` declares a `docker.Image` with
BuildKit, the build arg `BUILDKIT_INLINE_CACHE=1` and `cache_from` = the newest image in the
repository, which pulumi-docker pulls before it builds. Only that one image, the final stage,
is pushed: its inline cache metadata (mode=min) must be enough to skip the builder stage, where
pip runs. The chain is checked too: the image a warm build made is itself a working cache for
the build after it (BuildKit has lost inline cache on "every other build" before:
moby/buildkit#1981, #2274).

Classic builder, for comparison: its cache is the local image chain, so it needs the builder
stage pushed as its own `-builder` image and both given to `--cache-from`.

"Empty cache" without pruning the shared engine: every build runs on a base with one layer
made for this test, so no cache anyone built before matches; between builds the test deletes
exactly what it left behind (its images, and the BuildKit cache records under that layer,
`testkit.buildkit.new_cache_records`). The cold build is the control: if anything of the
previous build had survived, pip would not run there either.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.registry import INLINE_CACHE_ARG
from testkit.buildkit import (
    buildkit_build,
    buildkit_command,
    buildkit_steps,
    cache_records,
    new_cache_records,
    remove_cache_records,
    step_ran,
)
from testkit.engine import Build, DockerError, build_image, docker, inspect, remove_descendants
from testkit.engine import step_used_cache as classic_step_cached
from testkit.registry import Registry
from tests.container.conftest import BuiltImage

pytestmark = pytest.mark.container

# Fragments of instructions in server/Dockerfile: the dependency install and the code copy.
PIP_STEP = "--require-hashes --report"
CODE_STEP = "COPY retail_api"


@dataclass(frozen=True)
class UniqueBase:
    ref: str
    token: str
    """Written by the base's own layer; names that layer in BuildKit's cache records."""


@dataclass(frozen=True)
class BuildKitRuns:
    cold: Build
    warm: Build
    following: Build
    cache_refs: tuple[str, str]
    """The pulled `repo@sha256:` references given to the warm and the following build."""


@pytest.fixture(scope="module")
def unique_base(built_image: BuiltImage) -> Iterator[UniqueBase]:
    """The test's base plus a layer of its own: a new image no cached layer descends from."""
    if buildkit_command() is None:
        pytest.skip("no BuildKit client: neither `docker buildx` nor a pre-23 docker CLI")
    token = secrets.token_hex(4)
    ref = f"retail-api-cache-base:{token}"
    base = built_image.build_args["BASE_IMAGE"]
    dockerfile = f"FROM {base}\nRUN echo {token} > /etc/retail-cache-test\n"
    docker("build", "--tag", ref, "-", input_text=dockerfile, timeout=120)
    yield UniqueBase(ref=ref, token=token)
    remove_descendants(inspect(ref)["Id"])
    docker("rmi", "--force", ref, timeout=120)


def code_only_change(context: Path, note: str) -> None:
    init = context / "retail_api" / "__init__.py"
    init.write_text(init.read_text() + f"\n# code-only change for the cache test: {note}\n")


def push(ref: str) -> str:
    """Push `ref`; return `repo@sha256:…` as the registry names it (what `cache_from` gets)."""
    docker("push", ref, timeout=600)
    repository = ref.rsplit(":", 1)[0]
    digests: list[str] = inspect(ref)["RepoDigests"]
    return next(d for d in digests if d.startswith(f"{repository}@"))


def forgetter(base: UniqueBase) -> Callable[..., None]:
    """A function that makes this machine forget the given images and this test's cache."""
    before = set(cache_records())

    def forget(*refs: str) -> None:
        for ref in refs:
            with contextlib.suppress(DockerError):  # never made, or already gone
                docker("rmi", "--force", ref, timeout=120)
        remove_cache_records(new_cache_records(before, base.token))

    return forget


@pytest.fixture(scope="module")
def buildkit_runs(
    built_image: BuiltImage,
    registry: Registry,
    unique_base: UniqueBase,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BuildKitRuns]:
    args = {**built_image.build_args, "BASE_IMAGE": unique_base.ref, **INLINE_CACHE_ARG}
    repository = f"{registry.host}/retail-api-cache"
    changed = tmp_path_factory.mktemp("buildkit-cache") / "server"
    shutil.copytree(built_image.context, changed)
    code_only_change(changed, "first")
    forget = forgetter(unique_base)
    refs: list[str] = [f"{repository}:previous", "retail-api-cache:cold", f"{repository}:warm"]
    try:
        # The previous deploy pushed one image; then this machine forgets everything.
        buildkit_build(built_image.context, refs[0], args)
        previous = push(refs[0])
        refs.append(previous)
        forget(refs[0])
        cold = buildkit_build(changed, refs[1], args)
        forget(refs[1])
        # What pulumi-docker does with `cache_from`: pull each image, then build with it.
        started = time.monotonic()
        docker("pull", previous, timeout=600)
        pull_seconds = time.monotonic() - started
        warm = buildkit_build(changed, refs[2], args, extra=["--cache-from", previous])
        warm_pushed = push(refs[2])
        refs.append(warm_pushed)
        # The next deploy, on another empty machine, uses the warm build's image as cache.
        forget(refs[2], previous)
        code_only_change(changed, "second")
        docker("pull", warm_pushed, timeout=600)
        following = buildkit_build(
            changed, "retail-api-cache:following", args, extra=["--cache-from", warm_pushed]
        )
        refs.append("retail-api-cache:following")
        print(
            f"\nBuildKit, code-only change on an empty cache: {cold.seconds:.1f} s without"
            f" cache_from, {warm.seconds:.1f} s with the previous image as cache (after a"
            f" {pull_seconds:.1f} s pull),"
            f" {following.seconds:.1f} s for the next change on that image"
        )
        yield BuildKitRuns(
            cold=cold, warm=warm, following=following, cache_refs=(previous, warm_pushed)
        )
    finally:
        forget(*refs)


def test_without_cache_from_pip_installs_every_dependency(buildkit_runs: BuildKitRuns) -> None:
    assert step_ran(buildkit_runs.cold.log, PIP_STEP)
    assert "Collecting" in buildkit_runs.cold.log


def test_the_previous_image_alone_skips_the_builder_stage(buildkit_runs: BuildKitRuns) -> None:
    """Final-stage inline cache: the venv COPY hits, so pip never runs; only the code is new."""
    warm = buildkit_runs.warm.log
    assert f"importing cache manifest from {buildkit_runs.cache_refs[0]}" in warm
    assert not step_ran(warm, PIP_STEP)
    assert not step_ran(warm, "COPY --from=builder /opt/venv")
    assert "Collecting" not in warm and "Downloading" not in warm
    assert step_ran(warm, CODE_STEP)
    assert buildkit_runs.warm.seconds < buildkit_runs.cold.seconds


def test_an_image_built_from_cache_is_a_cache_for_the_next_build(
    buildkit_runs: BuildKitRuns,
) -> None:
    following = buildkit_runs.following.log
    assert f"importing cache manifest from {buildkit_runs.cache_refs[1]}" in following
    assert not step_ran(following, PIP_STEP)
    assert "Collecting" not in following
    assert step_ran(following, CODE_STEP)
    assert buildkit_runs.following.seconds < buildkit_runs.cold.seconds


@pytest.fixture(scope="module")
def classic_warm(
    built_image: BuiltImage,
    registry: Registry,
    unique_base: UniqueBase,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Build]:
    """The classic builder's warm build: final image and builder stage pushed, both pulled."""
    args = {**built_image.build_args, "BASE_IMAGE": unique_base.ref}
    base_id: str = inspect(unique_base.ref)["Id"]
    previous = f"{registry.host}/retail-api-cache:classic"
    stage = f"{previous}-builder"
    changed = tmp_path_factory.mktemp("classic-cache") / "server"
    shutil.copytree(built_image.context, changed)
    code_only_change(changed, "classic")
    try:
        build_image(built_image.context, previous, args)
        build_image(built_image.context, stage, args, extra=["--target", "builder"])
        docker("push", previous, timeout=600)
        docker("push", stage, timeout=600)
        remove_descendants(base_id)
        docker("pull", previous, timeout=600)
        docker("pull", stage, timeout=600)
        warm = build_image(
            changed,
            "retail-api-cache:classic-warm",
            args,
            extra=["--cache-from", previous, "--cache-from", stage],
        )
        print(f"\nclassic builder, code-only change: {warm.seconds:.1f} s with both images")
        yield warm
    finally:
        remove_descendants(base_id)


def test_classic_builder_needs_the_builder_stage_too_and_then_skips_pip(
    classic_warm: Build, buildkit_runs: BuildKitRuns
) -> None:
    """Every step before the code COPY comes from the pulled images; pip never runs."""
    assert classic_step_cached(classic_warm.log, PIP_STEP)
    assert classic_step_cached(classic_warm.log, "COPY --from=builder /opt/venv")
    assert not classic_step_cached(classic_warm.log, CODE_STEP)
    assert "Collecting" not in classic_warm.log
    # The cold BuildKit build did the same pip work on an empty cache.
    assert classic_warm.seconds < buildkit_runs.cold.seconds


# An excerpt of a real `--progress plain` log (Docker 20.10 CLI): a cached step, a step that
# ran with output, and interleaving (a step's header printed again after another's lines).
PLAIN_LOG = """\
#10 [builder 5/7] RUN pip install --require-hashes --report r.json -r requirements.txt
#10 sha256:9f2c
#10 CACHED

#16 [runtime 6/7] COPY retail_api /app/retail_api
#16 sha256:41aa
#17 [runtime 7/7] WORKDIR /app
#16 [runtime 6/7] COPY retail_api /app/retail_api
#16 DONE 0.2s
#17 DONE 0.1s
"""


def test_the_plain_log_tells_cached_from_run_steps() -> None:
    """The parser the assertions above rely on, on a log whose answers are written out."""
    assert buildkit_steps(PLAIN_LOG) == {
        "[builder 5/7] RUN pip install --require-hashes --report r.json -r requirements.txt": (
            "cached"
        ),
        "[runtime 6/7] COPY retail_api /app/retail_api": "ran",
        "[runtime 7/7] WORKDIR /app": "ran",
    }
    assert not step_ran(PLAIN_LOG, PIP_STEP)
    assert step_ran(PLAIN_LOG, CODE_STEP)
    # A step BuildKit never showed (not needed) did not run either.
    assert not step_ran(PLAIN_LOG, "apt-get install")
