"""moto in server mode on loopback: the ECR API the push script logs in through."""

from __future__ import annotations

from dataclasses import dataclass, field

from testkit.net import free_port


@dataclass
class MotoEcr:
    """A `ThreadedMotoServer` on 127.0.0.1; `endpoint` is what boto3 and the aws CLI take."""

    port: int = field(default_factory=free_port)
    server: object | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoEcr:
        # Imported here: moto is a dev dependency, and the benchmarks never start it.
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        server.start()
        self.server = server
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()  # type: ignore[attr-defined]
