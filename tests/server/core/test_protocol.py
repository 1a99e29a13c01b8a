"""core/protocol.py on a real uvicorn process: deadlines that trickled bytes cannot extend,
header limits (431), Host (400), and server-layer answers logged and counted like the rest."""

from __future__ import annotations

import contextlib
import json
import socket
import time

import httpx
import pytest

from tests.server.conftest import LiveServer, ServerFactory, connect, read_until_closed

LINE_LIMIT = 8 * 1024
TOTAL_LIMIT = 32 * 1024
COUNT_LIMIT = 100


@pytest.fixture(scope="module")
def server(start_module_server: ServerFactory) -> LiveServer:
    return start_module_server(KEEP_ALIVE_TIMEOUT="1", HEADER_TIMEOUT="2")


def _trickle_until_closed(sock: socket.socket, byte: bytes, limit_seconds: float) -> float:
    """Send `byte` every 0.1 s until the server closes; seconds it took (bounded)."""
    started = time.monotonic()
    sock.settimeout(0.1)
    while time.monotonic() - started < limit_seconds:
        try:
            sock.sendall(byte)
            if sock.recv(65536) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - started
    raise AssertionError(f"connection still open after {limit_seconds} s of trickling")


def _read_response(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length from a kept-alive connection."""
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _status(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


def _head_and_body(reply: bytes) -> tuple[dict[str, str], dict[str, str]]:
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")[1:]
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return headers, json.loads(body)


def _counted(server: LiveServer, status: int) -> float:
    total = 0.0
    for line in httpx.get(f"{server.base}/metrics", timeout=5).text.splitlines():
        if line.startswith("retail_api_requests_total{") and f'status="{status}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.timeout(30)
def test_trickled_crlf_after_a_response_does_not_keep_the_connection(server: LiveServer) -> None:
    """llhttp skips CR/LF between requests; the keep-alive deadline (1 s) still holds."""
    with connect(server.port) as sock:
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        assert _trickle_until_closed(sock, b"\r\n", limit_seconds=15) < 10


@pytest.mark.timeout(30)
def test_trickled_headers_are_cut_at_the_header_deadline(server: LiveServer) -> None:
    """Each header byte arriving in time does not move the 2 s header deadline."""
    with connect(server.port) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        assert _trickle_until_closed(sock, b"a", limit_seconds=15) < 10


@pytest.mark.timeout(30)
def test_kept_alive_request_trickling_headers_is_cut(server: LiveServer) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"GET /health/live HTTP/1.1\r\n")
        assert _trickle_until_closed(sock, b"X", limit_seconds=15) < 10


@pytest.mark.timeout(30)
def test_body_still_coming_after_the_response_is_not_waited_for(server: LiveServer) -> None:
    """A route that answers without reading the body: the rest of it is never awaited."""
    with connect(server.port) as sock:
        sock.sendall(
            b"GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 10
        )
        reply = read_until_closed(sock, timeout=10)
    assert _status(reply) == 200


@pytest.mark.timeout(30)
def test_keep_alive_still_serves_several_requests(server: LiveServer) -> None:
    with connect(server.port) as sock:
        for _ in range(3):
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _status(_read_response(sock)) == 200
            time.sleep(0.3)  # idle, but under the 1 s keep-alive deadline


def _request_with(headers: bytes) -> bytes:
    return b"GET /health/live HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n"


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("headers", "status", "detail"),
    [
        # A line is name + ": " + value + CRLF.
        (b"X-A: " + b"a" * (LINE_LIMIT - 7) + b"\r\n", 200, None),
        (
            b"X-A: " + b"a" * (LINE_LIMIT - 6) + b"\r\n",
            431,
            f"a request header line exceeds {LINE_LIMIT} bytes",
        ),
        (b"X-A: 1\r\n" * (COUNT_LIMIT - 1), 200, None),
        (b"X-A: 1\r\n" * COUNT_LIMIT, 431, f"more than {COUNT_LIMIT} request headers"),
        (
            b"".join(b"X-%d: %s\r\n" % (i, b"a" * 4000) for i in range(9)),
            431,
            f"request headers exceed {TOTAL_LIMIT} bytes",
        ),
    ],
    ids=["line-at-limit", "line-over", "count-at-limit", "count-over", "total-over"],
)
def test_header_limits(server: LiveServer, headers: bytes, status: int, detail: str | None) -> None:
    with connect(server.port) as sock:
        sock.sendall(_request_with(headers))
        sock.shutdown(socket.SHUT_WR)
        reply = read_until_closed(sock, timeout=10)
    assert _status(reply) == status, reply[:200]
    if detail is not None:
        response_headers, body = _head_and_body(reply)
        assert body == {"detail": detail}
        assert response_headers["connection"] == "close"
        assert response_headers["x-content-type-options"] == "nosniff"


@pytest.mark.timeout(60)
def test_endless_header_is_refused_without_reading_it(server: LiveServer) -> None:
    """A 50 MB header: the server answers 431 and stops reading long before the end."""
    before = _counted(server, 431)
    sent = 0
    with connect(server.port) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
        chunk = b"a" * 65536
        sock.settimeout(5)
        try:
            while sent < 50_000_000:
                sock.sendall(chunk)
                sent += len(chunk)
        except (ConnectionResetError, BrokenPipeError, TimeoutError):
            pass
    assert sent < 50_000_000
    assert _counted(server, 431) == before + 1


@pytest.mark.timeout(30)
def test_ten_thousand_headers_get_431(server: LiveServer) -> None:
    before = _counted(server, 431)
    # The server may stop reading at its limit and reset the rest.
    with (
        connect(server.port) as sock,
        contextlib.suppress(ConnectionResetError, BrokenPipeError),
    ):
        sock.sendall(_request_with(b"X-A: 1\r\n" * 10_000))
    deadline = time.monotonic() + 5
    while _counted(server, 431) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _counted(server, 431) == before + 1


@pytest.mark.timeout(30)
def test_http11_without_host_is_400_and_http10_is_served(server: LiveServer) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"GET /health/live HTTP/1.1\r\n\r\n")
        reply = read_until_closed(sock, timeout=10)
    assert _status(reply) == 400
    assert _head_and_body(reply)[1] == {"detail": "an HTTP/1.1 request needs a Host header"}
    with connect(server.port) as sock:
        sock.sendall(b"GET /health/live HTTP/1.0\r\n\r\n")
        assert _status(read_until_closed(sock, timeout=10)) == 200


@pytest.mark.timeout(30)
def test_malformed_request_gets_a_counted_json_400(server: LiveServer) -> None:
    before = _counted(server, 400)
    with connect(server.port) as sock:
        sock.sendall(b"NOT HTTP AT ALL\x00\r\n\r\n")
        reply = read_until_closed(sock, timeout=10)
    headers, body = _head_and_body(reply)
    assert _status(reply) == 400
    assert body == {"detail": "invalid HTTP request"}
    assert headers["x-content-type-options"] == "nosniff"
    assert _counted(server, 400) == before + 1


@pytest.mark.timeout(60)
def test_server_layer_answers_are_logged_without_tracebacks(server: LiveServer) -> None:
    """Runs last in this module: every refusal above is one JSON access line."""
    log = server.stop()
    assert "Traceback" not in log
    entries = [json.loads(line) for line in log.splitlines() if line.strip()]
    statuses = [e["status"] for e in entries if e["logger"] == "retail_api.access"]
    assert statuses.count(431) >= 5
    assert statuses.count(400) >= 2
