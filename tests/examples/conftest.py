"""Fixtures for the EKS consumer example: its modules, the registry's outputs, the program run
under Pulumi mocks, and the offline Kubernetes schema check every rendered object goes through.
"""

from __future__ import annotations

import functools
import importlib
import runpy
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, cast

import kubernetes_validate  # type: ignore[import-untyped]
import pulumi
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "eks-consumer"
# The example's modules import each other by bare name, as Pulumi runs them from their folder.
_EXAMPLE_MODULES = ("manifest", "pull_policy", "sizing")
# The oldest and newest Kubernetes whose schemas kubernetes-validate 1.37.0 ships: a manifest
# valid under both uses no field added after 1.32 and none removed by 1.37.
KUBERNETES_VERSIONS = ("1.32", "1.37")

ACCOUNT = "842676018087"
REGION = "ap-southeast-1"
DIGEST = "sha256:" + "ab" * 32
URL = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/mlops/retail-api"
ARN = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/mlops/retail-api"


@pytest.fixture(scope="session")
def example() -> Iterator[SimpleNamespace]:
    """examples/eks-consumer's modules, imported from their folder."""
    saved = {name: sys.modules.pop(name) for name in _EXAMPLE_MODULES if name in sys.modules}
    sys.path.insert(0, str(EXAMPLE))
    try:
        modules = {name: importlib.import_module(name) for name in _EXAMPLE_MODULES}
    finally:
        sys.path.remove(str(EXAMPLE))
        for name in _EXAMPLE_MODULES:
            sys.modules.pop(name, None)
        sys.modules.update(saved)
    yield SimpleNamespace(**modules)


@pytest.fixture
def example_dir() -> Path:
    return EXAMPLE


@pytest.fixture
def manifest(example: SimpleNamespace) -> ModuleType:
    return cast(ModuleType, example.manifest)


@pytest.fixture
def pull_policy(example: SimpleNamespace) -> ModuleType:
    return cast(ModuleType, example.pull_policy)


@pytest.fixture
def sizing(example: SimpleNamespace) -> ModuleType:
    return cast(ModuleType, example.sizing)


@pytest.fixture
def registry_outputs() -> dict[str, str]:
    """What a retail-registry stack exports (README "Stack outputs")."""
    return {
        "repositoryName": "mlops/retail-api",
        "repositoryUrl": URL,
        "repositoryArn": ARN,
        "registryId": ACCOUNT,
        "region": REGION,
        "imageTag": "1.4.0",
        "imageUri": f"{URL}:1.4.0",
        "imageDigest": DIGEST,
        "imageRef": f"{URL}@{DIGEST}",
    }


def _validate(document: dict[str, Any]) -> None:
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(part) for part in error.path)
            pytest.fail(f"{document['kind']} is not valid Kubernetes {version}: {where}: {error}")


@pytest.fixture(scope="session")
def _schema_cache() -> Iterator[None]:
    """kubernetes-validate re-reads its 1.3 MB definitions file on every call (~60 % of the
    time); memoising that reader leaves the validation itself untouched."""
    reader = kubernetes_validate.utils.schema_contents
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kubernetes_validate.utils, "schema_contents", functools.cache(reader))
        yield


@pytest.fixture
def assert_valid_kubernetes(_schema_cache: None) -> Callable[[dict[str, Any]], None]:
    """Checks one object against the real Kubernetes OpenAPI schemas, offline and strict
    (an unknown or misspelt field fails), for every version in KUBERNETES_VERSIONS."""
    return _validate


class RegistryMocks(pulumi.runtime.Mocks):
    """Answers the StackReference with retail-registry's outputs; records what was created."""

    def __init__(self, outputs: dict[str, Any]) -> None:
        self.outputs = outputs
        self.created: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        self.created.append(args)
        if args.typ == "pulumi:pulumi:StackReference":
            state = {"name": args.inputs["name"], "outputs": self.outputs, "secretOutputNames": []}
            return args.inputs["name"], state
        return f"{args.name}-id", dict(args.inputs)

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


@dataclass
class ProgramRun:
    """The program's resolved values by variable name, and the resources it asked for."""

    values: dict[str, Any] = field(default_factory=dict)
    created: list[pulumi.runtime.MockResourceArgs] = field(default_factory=list)


_RESOLVED = ("manifest_list", "deployment", "pull_policy")
RunProgram = Callable[[dict[str, Any], dict[str, str]], ProgramRun]


@pytest.fixture
def run_program() -> Iterator[RunProgram]:
    """Runs examples/eks-consumer/__main__.py under fresh mocks and resolves its outputs.

    Errors raised while the outputs resolve (a bad imageRef, say) propagate to the caller.
    """
    saved = {name: sys.modules.pop(name) for name in _EXAMPLE_MODULES if name in sys.modules}
    # pulumi.runtime.test is untyped; this is its signature.
    as_test = cast(Callable[[Callable[[], Any]], Callable[[], None]], pulumi.runtime.test)

    def run(outputs: dict[str, Any], config: dict[str, str]) -> ProgramRun:
        mocks = RegistryMocks(outputs)
        result = ProgramRun(created=mocks.created)
        pulumi.runtime.set_mocks(mocks, project="retail-eks-consumer", stack="dev", preview=False)
        pulumi.runtime.set_all_config({f"retail-eks-consumer:{k}": v for k, v in config.items()})

        def program() -> Any:
            namespace = runpy.run_path(str(EXAMPLE), run_name="__main__")
            return pulumi.Output.all(*(namespace[name] for name in _RESOLVED)).apply(
                lambda values: result.values.update(zip(_RESOLVED, values, strict=True))
            )

        as_test(program)()
        return result

    try:
        yield run
    finally:
        pulumi.runtime.set_all_config({})
        for name in _EXAMPLE_MODULES:
            sys.modules.pop(name, None)
        sys.modules.update(saved)
