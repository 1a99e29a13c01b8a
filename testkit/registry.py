"""Debian's `docker-registry` on loopback with basic auth: a local stand-in for ECR.

ECR's `docker login` is HTTP basic auth with user `AWS` and a short-lived token as the
password; an htpasswd-protected registry on loopback reproduces exactly that exchange.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from testkit.engine import docker
from testkit.net import free_port, wait_for

REGISTRY_USER = "AWS"


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
