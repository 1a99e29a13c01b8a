"""Debian's `docker-registry` on loopback with basic auth: a local stand-in for ECR.

ECR's `docker login` is HTTP basic auth with user `AWS` and a short-lived token as the
password; an htpasswd-protected registry on loopback reproduces exactly that exchange.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from infra.oci import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from testkit.engine import docker
from testkit.net import free_port, wait_for

REGISTRY_USER = "AWS"
_ACCEPT = ", ".join([DOCKER_MANIFEST, OCI_MANIFEST, OCI_INDEX])


def bcrypt_hash(password: str) -> str:
    """The bcrypt hash the registry's htpasswd file needs (it accepts no other scheme)."""
    # glibc's libxcrypt does bcrypt; `crypt` is deprecated but present in 3.11 (the lock's
    # Python), which spares a compiled dependency only the tests would need.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

    hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))
    if not hashed or not hashed.startswith("$2"):
        raise RuntimeError("this libc's crypt() cannot make bcrypt hashes")
    return hashed


@dataclass
class Registry:
    """A `docker-registry serve` process on 127.0.0.1 with htpasswd auth."""

    password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="retail-reg-")))
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def blob_dir(self) -> Path:
        return self.root / "data/docker/registry/v2/blobs"

    def start(self) -> Registry:
        binary = shutil.which("docker-registry")
        if binary is None:
            raise RuntimeError("docker-registry not found: apt-get install -y docker-registry")
        (self.root / "htpasswd").write_text(f"{REGISTRY_USER}:{bcrypt_hash(self.password)}\n")
        config = {
            "version": 0.1,
            "log": {"level": "warn"},
            "storage": {
                "filesystem": {"rootdirectory": str(self.root / "data")},
                "delete": {"enabled": True},
            },
            "http": {"addr": self.host, "secret": secrets.token_hex(16)},
            "auth": {"htpasswd": {"realm": "retail-test", "path": str(self.root / "htpasswd")}},
        }
        (self.root / "config.yml").write_text(yaml.safe_dump(config))
        log = (self.root / "registry.log").open("wb")
        self.process = subprocess.Popen(
            [binary, "serve", str(self.root / "config.yml")], stdout=log, stderr=log
        )
        wait_for(self._answers, timeout=20)
        return self

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"registry exited: {(self.root / 'registry.log').read_text()}")
        try:
            urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1)
        except urllib.error.HTTPError as exc:
            return exc.code == 401  # up, and demanding credentials as it should
        except OSError:
            return False
        return True

    def login(self) -> None:
        """`docker login` as ECR's user; use a private DOCKER_CONFIG so no token lingers."""
        docker(
            "login",
            "--username",
            REGISTRY_USER,
            "--password-stdin",
            self.host,
            input_text=self.password,
        )

    def stored_bytes(self) -> int:
        """Bytes of all blobs the registry holds: the growth across a push is what it uploaded."""
        if not self.blob_dir.is_dir():
            return 0
        return sum(p.stat().st_size for p in self.blob_dir.rglob("data") if p.is_file())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class RegistryApi:
    """A registry's HTTP API V2 as ECR's user: what a test writes directly or reads back."""

    registry: Registry

    def call(
        self, method: str, path: str, data: bytes | None = None, content_type: str | None = None
    ) -> requests.Response:
        url = path if path.startswith("http") else f"http://{self.registry.host}{path}"
        headers = {"Accept": _ACCEPT, **({"Content-Type": content_type} if content_type else {})}
        answer = requests.request(
            method,
            url,
            data=data,
            headers=headers,
            auth=(REGISTRY_USER, self.registry.password),
            timeout=60,
        )
        answer.raise_for_status()
        return answer

    def manifest(self, repo: str, reference: str) -> tuple[bytes, str, str]:
        """(bytes, media type, digest) the registry serves `reference` as."""
        answer = self.call("GET", f"/v2/{repo}/manifests/{reference}")
        return (
            answer.content,
            answer.headers["Content-Type"],
            answer.headers["Docker-Content-Digest"],
        )

    def blob(self, repo: str, digest: str) -> bytes:
        return self.call("GET", f"/v2/{repo}/blobs/{digest}").content

    def put_blob(self, repo: str, data: bytes) -> str:
        """A monolithic upload: POST a session, then PUT the bytes with their digest."""
        location = self.call("POST", f"/v2/{repo}/blobs/uploads/").headers["Location"]
        separator = "&" if "?" in location else "?"
        digest = sha256(data)
        self.call("PUT", f"{location}{separator}digest={digest}", data, "application/octet-stream")
        return digest

    def put_manifest(self, repo: str, reference: str, document: dict[str, Any]) -> tuple[str, int]:
        """Store `document` under `reference`; its digest and size, as a descriptor needs them."""
        data = json.dumps(document).encode()
        answer = self.call("PUT", f"/v2/{repo}/manifests/{reference}", data, document["mediaType"])
        assert answer.headers["Docker-Content-Digest"] == sha256(data)
        return sha256(data), len(data)
