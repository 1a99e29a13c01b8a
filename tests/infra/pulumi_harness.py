"""Run the real Pulumi program under unit-test mocks and record what it asks the engine for.

The mocks answer like AWS and pulumi-docker would (ARNs, URLs, a repo digest, the ECR invokes
from a small in-memory registry that a run's "push" adds to), the scan gate reads a scripted
DescribeImageScanFindings response, and the monitor records each RegisterResource request as
the engine would receive it, parent and `protect` included.

The program's own AWS calls go through `infra.aws_session`, whose clients all come from
`boto3.Session`: the harness replaces that class for the run with one whose clients answer from
the fake registry, and `infra.aws_session.download` with the fake registry's blobs.
"""

from __future__ import annotations

import hashlib
import runpy
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import boto3
import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.sync_await import _sync_await

from infra import aws_session
from infra.offline_run import Declared, declared, repository_outputs
from infra.paths import PROJECT_ROOT
from tests.infra.oci_image import sbom_image

ACCOUNT = "842676018087"
SIGNATURE_KEY = pulumi.runtime.rpc._special_sig_key
SECRET_SIGNATURE = pulumi.runtime.rpc._special_secret_sig
TOKEN_CALL = "aws:ecr/getAuthorizationToken:getAuthorizationToken"
REPOSITORIES_CALL = "aws:ecr/getRepositories:getRepositories"
IMAGES_CALL = "aws:ecr/getImages:getImages"
IMAGE_CALL = "aws:ecr/getImage:getImage"
REPOSITORY_CALL = "aws:ecr/getRepository:getRepository"
SCANNED_AT = "2026-11-27T09:00:00+00:00"
T = TypeVar("T")
SOURCE_STACK = "acme/retail-registry/dev"
SOURCE_DIGEST = "sha256:" + "d" * 64
SOURCE_TAG = "sha-0d0d0d0d0d0d"
# What the dev stack exports after its gate passed (README, "Stack outputs").
SOURCE_STACKS: dict[str, dict[str, Any]] = {
    SOURCE_STACK: {
        "imageRef": f"{ACCOUNT}.dkr.ecr.ap-southeast-1.amazonaws.com/mlops-dev/retail-api"
        f"@{SOURCE_DIGEST}",
        "imageTag": SOURCE_TAG,
        "imageDigest": SOURCE_DIGEST,
    }
}


@dataclass
class FakeEcr:
    """Repositories and their images (digest, tags), oldest push first; shared across runs."""

    images: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    scan: dict[str, Any] = field(default_factory=lambda: scan_response("COMPLETE"))
    """The DescribeImageScanFindings response the gate reads, for every digest."""
    refuse: str | None = None
    """An error every lookup invoke fails with (an AccessDenied, say)."""
    sbom: bytes = b'{"bomFormat": "CycloneDX", "specVersion": "1.6"}'
    """The /app/sbom.cdx.json of every image here (BatchGetImage serves one small image)."""
    labels: dict[str, str] = field(default_factory=dict)
    """The config labels of that image (its org.opencontainers.image.revision, say)."""
    rescan: dict[str, Any] | None = None
    """What DescribeImageScanFindings answers once StartImageScan has run."""
    scan_type: str = "BASIC"
    """What GetRegistryScanningConfiguration answers."""
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """The AWS calls the program made outside the provider, in order."""
    sessions: list[dict[str, Any]] = field(default_factory=list)
    """The arguments of every `boto3.Session(...)` the program built."""

    def push(self, repository: str, digest: str, tag: str) -> None:
        self.images.setdefault(repository, []).append((digest, [tag]))

    def tags(self, repository: str) -> dict[str, str]:
        return {t: d for d, tags in self.images.get(repository, []) for t in tags}

    def tag(self, repository: str, digest: str, tag: str) -> None:
        """PutImage of a tag: onto the digest's entry, or a new entry (PutImage with a
        manifest creates the image when its blobs are there)."""
        for held, tags in self.images.setdefault(repository, []):
            if held == digest:
                tags.append(tag)
                return
        self.images[repository].append((digest, [tag]))

    def untag(self, repository: str, tag: str) -> None:
        """BatchDeleteImage of a tag: an image left without tags is deleted, as in ECR."""
        entries = self.images[repository]
        for index, (_, tags) in enumerate(entries):
            if tag in tags:
                tags.remove(tag)
                if not tags:
                    del entries[index]
                return


def scan_response(
    status: str, counts: dict[str, int] | None = None, completed_at: str | None = SCANNED_AT
) -> dict[str, Any]:
    """A DescribeImageScanFindings response (ECR API reference field names), basic scanning;
    `completed_at=None` leaves out `imageScanCompletedAt` (a scan not finished)."""
    findings: dict[str, Any] = {"findingSeverityCounts": counts or {}, "findings": []}
    if completed_at is not None:
        findings["imageScanCompletedAt"] = completed_at
    return {
        "imageScanStatus": {"status": status, "description": "scripted"},
        "imageScanFindings": findings,
    }


class _ScanClient:
    """Every client `boto3.Session(...).client(...)` gives during a run: ECR and Inspector."""

    def __init__(self, ecr: FakeEcr, service: str, region: str | None) -> None:
        self.ecr = ecr
        self.service = service
        self.region = region

    def describe_image_scan_findings(self, **kwargs: Any) -> dict[str, Any]:
        self.ecr.requests.append(("DescribeImageScanFindings", kwargs))
        return {"imageId": dict(kwargs["imageId"]), **self.ecr.scan}

    def start_image_scan(self, **kwargs: Any) -> dict[str, Any]:
        self.ecr.requests.append(("StartImageScan", kwargs))
        if self.ecr.rescan is not None:
            self.ecr.scan = self.ecr.rescan
        return {"imageId": dict(kwargs["imageId"]), "imageScanStatus": {"status": "IN_PROGRESS"}}

    def get_caller_identity(self) -> dict[str, Any]:
        self.ecr.requests.append(("GetCallerIdentity", {"region": self.region}))
        return {"Account": ACCOUNT, "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/ci"}

    def get_registry_scanning_configuration(self, **kwargs: Any) -> dict[str, Any]:
        return {"scanningConfiguration": {"scanType": self.ecr.scan_type, "rules": []}}

    def batch_get_image(self, **kwargs: Any) -> dict[str, Any]:
        self.ecr.requests.append(("BatchGetImage", kwargs))
        manifest = sbom_image(self.ecr.sbom, self.ecr.labels).manifest_bytes.decode()
        return {"images": [{"imageId": kwargs["imageIds"][0], "imageManifest": manifest}]}

    def get_download_url_for_layer(self, **kwargs: Any) -> dict[str, Any]:
        return {"downloadUrl": f"https://layers.invalid/{kwargs['layerDigest']}"}

    def put_image(self, **kwargs: Any) -> dict[str, Any]:
        self.ecr.requests.append(("PutImage", kwargs))
        self.ecr.tag(kwargs["repositoryName"], kwargs["imageDigest"], kwargs["imageTag"])
        return {"image": {"imageId": {"imageDigest": kwargs["imageDigest"]}}}

    def batch_delete_image(self, **kwargs: Any) -> dict[str, Any]:
        self.ecr.requests.append(("BatchDeleteImage", kwargs))
        for image_id in kwargs["imageIds"]:
            self.ecr.untag(kwargs["repositoryName"], image_id["imageTag"])
        return {"imageIds": kwargs["imageIds"], "failures": []}


class _FakeSession:
    """Stands in for `boto3.Session`: records how it was built, serves the fake registry."""

    def __init__(self, ecr: FakeEcr, **kwargs: Any) -> None:
        self.ecr = ecr
        ecr.sessions.append({k: v for k, v in kwargs.items() if k != "botocore_session"})

    def client(self, service: str, region_name: str | None = None, **_: Any) -> _ScanClient:
        return _ScanClient(self.ecr, service, region_name)


@dataclass(frozen=True)
class Registration(Declared):
    """A declared resource and where its serialised inputs were marked secret."""

    secret_paths: list[tuple[str, ...]]


@dataclass
class ProgramRun:
    resources: list[Registration] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    call_providers: list[tuple[str, str]] = field(default_factory=list)
    """(token, provider reference `urn::id`, "" for the default provider) of every invoke."""
    exports: dict[str, Any] = field(default_factory=dict)
    namespace: dict[str, Any] = field(default_factory=dict)
    ecr: FakeEcr = field(default_factory=FakeEcr)
    stacks: dict[str, dict[str, Any]] = field(default_factory=lambda: dict(SOURCE_STACKS))
    """Outputs of the stacks a `StackReference` reads, by `<org>/<project>/<stack>`."""
    stack_reads: list[str] = field(default_factory=list)
    """Every stack the program read through a `StackReference`, in order."""

    def one(self, type_: str) -> Registration:
        (found,) = [r for r in self.resources if r.type == type_]
        return found

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]


class AwsLikeMocks(pulumi.runtime.Mocks):
    def __init__(self, run: ProgramRun, region: str, *, preview: bool = False) -> None:
        self.run = run
        self.region = region
        self.preview = preview

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ == "aws:ecr/repository:Repository":
            outputs |= repository_outputs(ACCOUNT, self.region, args.inputs["name"])
        if args.typ == "pulumi:pulumi:StackReference":
            stack = args.inputs["name"]
            self.run.stack_reads.append(stack)
            outputs |= {"outputs": self.run.stacks.get(stack, {}), "secretOutputNames": []}
        if args.typ == "pulumi-python:dynamic/promotion:RegistryCopy":
            # The copy lands in the fake registry, as the provider's create would put it there.
            _, _, digest = args.inputs["source"].partition("@")
            repository, tag = args.inputs["destination"].split("/", 1)[1].rsplit(":", 1)
            held = self.run.ecr.tags(repository).get(tag)
            if held is None:
                self.run.ecr.push(repository, digest, tag)
            outputs |= {"digest": digest, "copied": held is None}
        if args.typ == "docker:index/image:Image":
            repository, tag = args.inputs["imageName"].rsplit(":", 1)
            digest = "sha256:" + hashlib.sha256(args.inputs["imageName"].encode()).hexdigest()
            outputs["repoDigest"] = f"{repository}@{digest}"
            # pulumi-docker builds and pushes in `up` only (buildOnPreview defaults to false).
            if not self.preview:
                self.run.ecr.push(repository.split("/", 1)[1], digest, tag)
        return f"{args.name}-id", outputs

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.run.calls.append((args.token, dict(args.args)))
        self.run.call_providers.append((args.token, args.provider or ""))
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
        return self._ecr_call(args.token, args.args), []

    def _ecr_call(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        images = self.run.ecr.images
        if self.run.ecr.refuse and token in (REPOSITORIES_CALL, IMAGES_CALL, IMAGE_CALL):
            raise RuntimeError(self.run.ecr.refuse)
        if token == REPOSITORIES_CALL:
            return {"id": self.region, "names": sorted(images), "region": self.region}
        name = args.get("repositoryName", "")
        if token == IMAGES_CALL:
            ids = [
                {"imageDigest": digest, **({"imageTag": tag} if tag else {})}
                for digest, tags in images[name]
                for tag in tags or [""]
            ]
            return {"imageIds": ids, "repositoryName": name, "region": self.region}
        if token == REPOSITORY_CALL:
            name = args["name"]
            return {
                "arn": f"arn:aws:ecr:{self.region}:{ACCOUNT}:repository/{name}",
                "name": name,
                "registryId": ACCOUNT,
                "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{self.region}.amazonaws.com/{name}",
            }
        if token == IMAGE_CALL and args.get("mostRecent"):
            digest, tags = images[name][-1]
            return {"imageDigest": digest, "imageTags": tags, "repositoryName": name}
        return {}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: AwsLikeMocks) -> None:
        super().__init__(mocks)
        self.run = mocks.run

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method's name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            raw = json_format.MessageToDict(request.object)
            self.run.resources.append(
                Registration(
                    **vars(declared(request, response)), secret_paths=sorted(_secret_paths(raw))
                )
            )
        return response


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
    *,
    preview: bool = False,
    program: Callable[[], Mapping[str, Any]] | None = None,
) -> Iterator[ProgramRun]:
    """Execute `__main__.py` for `stack` with `config` (full `ns:key` names, engine strings).

    Pass `run` to inspect what was recorded even when the program fails; `preview=True` runs
    it as `pulumi preview` does (a dry run); `program` runs instead of `__main__.py` and
    returns its exports."""
    run = run if run is not None else ProgramRun()
    mocks = AwsLikeMocks(run, region, preview=preview)
    # The program's one way out to AWS, pointed at the fake registry.
    original_session = boto3.Session
    boto3.Session = lambda **kwargs: _FakeSession(run.ecr, **kwargs)
    original_download = aws_session.download
    blobs = sbom_image(run.ecr.sbom, run.ecr.labels).blobs
    aws_session.download = lambda url, limit: blobs[url.rsplit("/", 1)[1]]
    pulumi.runtime.set_all_config(config)
    pulumi.runtime.set_mocks(
        mocks,
        project="retail-registry",
        stack=stack,
        preview=preview,
        monitor=RecordingMonitor(mocks),
    )
    original_export = pulumi.export
    pulumi.export = run.exports.__setitem__  # type: ignore[assignment]
    try:
        if program is None:
            run.namespace = runpy.run_path(
                str(Path(PROJECT_ROOT) / "__main__.py"), run_name="__pulumi__"
            )
        else:
            run.exports.update(program())
        # Let every pending registration reach the monitor before the test looks.
        for value in run.exports.values():
            resolve(pulumi.Output.from_input(value))
        yield run
    finally:
        pulumi.export = original_export
        boto3.Session = original_session
        aws_session.download = original_download
        pulumi.runtime.set_all_config({})


def serve_boto3(monkeypatch: Any, client: Any) -> list[dict[str, Any]]:
    """Make every `boto3.Session(...).client(...)` be `client`; returns the sessions' arguments.

    The seam `infra.aws_session` documents: a test of one AWS call goes through the real
    AwsSession with only boto3's client replaced."""
    sessions: list[dict[str, Any]] = []

    class Session:
        def __init__(self, **kwargs: Any) -> None:
            sessions.append({k: v for k, v in kwargs.items() if k != "botocore_session"})

        def client(self, service: str, region_name: str | None = None, **_: Any) -> Any:
            return client

    monkeypatch.setattr(boto3, "Session", Session)
    return sessions
