"""The Pulumi program run offline, as a preview, under Pulumi's mocks: what it would declare.

`run_offline` executes `__main__.py` exactly as `pulumi preview` would start it, but with
`pulumi.runtime.set_mocks`: every resource is recorded (type, name, parent, `protect`, inputs)
and answered with made-up outputs shaped like AWS's; the registry lookup's invokes answer
"no such repository", so the run shows a first deploy. Nothing reaches AWS: for the run,
`boto3.Session` is replaced with one that refuses to be built, which the program's one AWS
session (`infra.aws_session`) turns into a failed call — in preview the scan gate reports that
as a warning and goes on. Set-up and tear-down are undone even when the program fails.
"""

from __future__ import annotations

import contextlib
import logging
import runpy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.exceptions
import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.stack import wait_for_rpcs
from pulumi.runtime.sync_await import _sync_await

from infra.config.parsers import PROJECT
from infra.paths import PROJECT_ROOT

# The account the made-up ARNs and URLs name when the stack pins none (documentation's own).
PLACEHOLDER_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
LOGIN_CALL = "aws:ecr/getAuthorizationToken:getAuthorizationToken"
REPOSITORIES_CALL = "aws:ecr/getRepositories:getRepositories"
_SECRET_KEY = pulumi.runtime.rpc._special_sig_key
_SECRET = pulumi.runtime.rpc._special_secret_sig


class NotCheckedOffline(botocore.exceptions.BotoCoreError):  # type: ignore[misc]
    """What every AWS call of an offline run meets: botocore's own kind of failure."""

    fmt = "not checked offline: this run makes no AWS calls"


class _RefusingSession:
    def __init__(self, **_: Any) -> None:
        raise NotCheckedOffline()


@dataclass(frozen=True)
class Declared:
    """One resource the program registered, as the engine would receive it."""

    type: str
    name: str
    urn: str
    parent: str
    protect: bool
    inputs: dict[str, Any]
    """Inputs with Pulumi's secret wrappers replaced by their values; never print them whole."""


@dataclass
class OfflineRun:
    resources: list[Declared] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    """Stack outputs; None for a value only `up` can know."""
    warnings: list[str] = field(default_factory=list)


def repository_outputs(account: str, region: str, name: str) -> dict[str, str]:
    """What AWS returns for a new ECR repository: its ARN, registry, URL and region."""
    return {
        "arn": f"arn:aws:ecr:{region}:{account}:repository/{name}",
        "registryId": account,
        "repositoryUrl": f"{account}.dkr.ecr.{region}.amazonaws.com/{name}",
        "region": region,
    }


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ == "aws:ecr/repository:Repository":
            outputs |= repository_outputs(self.account, self.region, args.inputs["name"])
        if args.typ == "docker:index/image:Image":
            # A digest of zeros: plainly not a real image's, and a valid sha256 reference.
            repository = str(args.inputs["imageName"]).rsplit(":", 1)[0]
            outputs["repoDigest"] = f"{repository}@sha256:{'0' * 64}"
        return f"{args.name}-id", outputs

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == REPOSITORIES_CALL:
            return {"id": self.region, "names": [], "region": self.region}, []
        if args.token == LOGIN_CALL:
            registry = args.args.get("registryId", self.account)
            endpoint = f"https://{registry}.dkr.ecr.{self.region}.amazonaws.com"
            return {"proxyEndpoint": endpoint, "userName": "AWS", "password": "offline"}, []
        return {}, []


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: _Mocks, run: OfflineRun) -> None:
        super().__init__(mocks)
        self.run = run

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method's name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self.run.resources.append(declared(request, response))
        return response


def declared(request: Any, response: Any) -> Declared:
    """What a mock monitor's RegisterResource request and its response say was declared."""
    inputs = reveal(pulumi.runtime.rpc.deserialize_properties(request.object))
    return Declared(
        request.type, request.name, response.urn, request.parent, request.protect, inputs
    )


class _WarningLog(logging.Handler):
    def __init__(self, run: OfflineRun) -> None:
        super().__init__(logging.WARNING)
        self.run = run

    def emit(self, record: logging.LogRecord) -> None:
        self.run.warnings.append(record.getMessage())


def run_offline(stack: str, config: dict[str, str], account: str, region: str) -> OfflineRun:
    """Run `__main__.py` for `stack` with `config` (engine strings, `ns:key`) as a preview.

    Raises what the program raises (pulumi.RunError for a refused value)."""
    run = OfflineRun()
    with _offline(run, stack, config, account, region):
        runpy.run_path(str(PROJECT_ROOT / "__main__.py"), run_name="__pulumi__")
        run.exports.update({name: _resolve(value) for name, value in list(run.exports.items())})
        # Resources declared inside an `apply` register after the outputs resolve: wait for
        # every outstanding call, as the engine does before it ends a preview.
        _sync_await(wait_for_rpcs())
    return run


@contextmanager
def _offline(
    run: OfflineRun, stack: str, config: dict[str, str], account: str, region: str
) -> Iterator[None]:
    mocks = _Mocks(account, region)
    logger = logging.getLogger(f"{__name__}.{stack}")
    logger.propagate = False
    handler = _WarningLog(run)
    logger.addHandler(handler)
    with contextlib.suppress(Exception):
        # What an earlier Pulumi run in this process left pending (a test's, say) settles
        # first, so it is never reported as this run's.
        _sync_await(wait_for_rpcs())
    original_session, original_export = boto3.Session, pulumi.export
    boto3.Session = _RefusingSession
    pulumi.export = run.exports.__setitem__  # type: ignore[assignment]
    pulumi.runtime.set_all_config(config)
    try:
        pulumi.runtime.set_mocks(
            mocks,
            project=PROJECT,
            stack=stack,
            preview=True,
            logger=logger,
            monitor=_RecordingMonitor(mocks, run),
        )
        yield
    finally:
        boto3.Session = original_session
        pulumi.export = original_export
        pulumi.runtime.set_all_config({})
        logger.removeHandler(handler)


def _resolve(value: Any) -> Any:
    output = pulumi.Output.from_input(value)
    if not _sync_await(output.is_known()):
        return None
    return reveal(_sync_await(output.future()))


def reveal(value: Any) -> Any:
    """Deserialised inputs or outputs with Pulumi's secret wrappers replaced by their values."""
    if isinstance(value, dict):
        if value.get(_SECRET_KEY) == _SECRET:
            return reveal(value["value"])
        return {key: reveal(child) for key, child in value.items()}
    if isinstance(value, list):
        return [reveal(child) for child in value]
    return value
