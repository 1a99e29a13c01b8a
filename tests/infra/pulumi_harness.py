"""Run the real Pulumi program under unit-test mocks and record what it asks the engine for.

The mocks answer like AWS and pulumi-docker would (ARNs, URLs, a repo digest), and the
monitor records each RegisterResource request as the engine would receive it, parent and
`protect` included.
"""

from __future__ import annotations

import hashlib
import runpy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.sync_await import _sync_await

from infra.paths import PROJECT_ROOT

ACCOUNT = "842676018087"
SIGNATURE_KEY = pulumi.runtime.rpc._special_sig_key
SECRET_SIGNATURE = pulumi.runtime.rpc._special_secret_sig
TOKEN_CALL = "aws:ecr/getAuthorizationToken:getAuthorizationToken"
T = TypeVar("T")


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    parent: str
    protect: bool
    inputs: dict[str, Any]
    secret_paths: list[tuple[str, ...]]


@dataclass
class ProgramRun:
    resources: list[Registration] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    namespace: dict[str, Any] = field(default_factory=dict)

    def one(self, type_: str) -> Registration:
        (found,) = [r for r in self.resources if r.type == type_]
        return found

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]


class AwsLikeMocks(pulumi.runtime.Mocks):
    def __init__(self, run: ProgramRun, region: str) -> None:
        self.run = run
        self.region = region

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ == "aws:ecr/repository:Repository":
            name = args.inputs["name"]
            outputs |= {
                "arn": f"arn:aws:ecr:{self.region}:{ACCOUNT}:repository/{name}",
                "registryId": ACCOUNT,
                "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{self.region}.amazonaws.com/{name}",
                "region": self.region,
            }
        if args.typ == "docker:index/image:Image":
            repository = args.inputs["imageName"].rsplit(":", 1)[0]
            digest = hashlib.sha256(args.inputs["imageName"].encode()).hexdigest()
            outputs["repoDigest"] = f"{repository}@sha256:{digest}"
        return f"{args.name}-id", outputs

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.run.calls.append((args.token, dict(args.args)))
        if args.token == TOKEN_CALL:
            registry = args.args["registryId"]
            token = {
                "proxyEndpoint": f"https://{registry}.dkr.ecr.{self.region}.amazonaws.com",
                "userName": "AWS",
                "password": "ecr-token-for-" + registry,
                "authorizationToken": "QVdTOnRva2Vu",
                "registryId": registry,
                "expiresAt": "2026-11-28T12:00:00Z",
                "id": self.region,
            }
            return token, []
        return {}, []


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: AwsLikeMocks) -> None:
        super().__init__(mocks)
        self.run = mocks.run

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method's name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            inputs = _reveal(pulumi.runtime.rpc.deserialize_properties(request.object))
            raw = json_format.MessageToDict(request.object)
            self.run.resources.append(
                Registration(
                    request.type,
                    request.name,
                    response.urn,
                    request.parent,
                    request.protect,
                    inputs,
                    sorted(_secret_paths(raw)),
                )
            )
        return response


def _reveal(value: Any) -> Any:
    """Inputs with secret wrappers replaced by their values (secret_paths keeps the marks)."""
    if isinstance(value, dict):
        if value.get(SIGNATURE_KEY) == SECRET_SIGNATURE:
            return _reveal(value["value"])
        return {key: _reveal(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_reveal(child) for child in value]
    return value


def _secret_paths(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Where the serialised inputs carry Pulumi's secret signature."""
    if isinstance(value, dict):
        if value.get(SIGNATURE_KEY) == SECRET_SIGNATURE:
            yield path
            return
        for key, child in value.items():
            yield from _secret_paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _secret_paths(child, (*path, str(index)))


def resolve(output: pulumi.Output[T]) -> T:
    return cast(T, _sync_await(output.future()))


def is_secret(output: pulumi.Output[Any]) -> bool:
    return bool(_sync_await(output.is_secret()))


@contextmanager
def program_run(
    stack: str,
    config: dict[str, str],
    region: str = "ap-southeast-1",
    run: ProgramRun | None = None,
) -> Iterator[ProgramRun]:
    """Execute `__main__.py` for `stack` with `config` (full `ns:key` names, engine strings).

    Pass `run` to inspect what was recorded even when the program fails."""
    run = run if run is not None else ProgramRun()
    mocks = AwsLikeMocks(run, region)
    pulumi.runtime.set_all_config(config)
    pulumi.runtime.set_mocks(
        mocks,
        project="retail-registry",
        stack=stack,
        preview=False,
        monitor=RecordingMonitor(mocks),
    )
    original_export = pulumi.export
    pulumi.export = run.exports.__setitem__  # type: ignore[assignment]
    try:
        run.namespace = runpy.run_path(
            str(Path(PROJECT_ROOT) / "__main__.py"), run_name="__pulumi__"
        )
        # Let every pending registration reach the monitor before the test looks.
        for value in run.exports.values():
            resolve(pulumi.Output.from_input(value))
        yield run
    finally:
        pulumi.export = original_export
        pulumi.runtime.set_all_config({})
