"""The HTTP/1.1 connection: uvicorn's httptools protocol with deadlines and header limits.

uvicorn cancels its keep-alive timer on any byte received, and llhttp skips the CR/LF that
may precede a request without starting one, so under uvicorn's timer alone a client
trickling ``\\r\\n`` after a response would hold a connection forever. Here every phase of
a connection has one deadline, counted from the start of that phase and never pushed back by
further bytes:

- waiting for a request on a kept-alive connection: ``KEEP_ALIVE_TIMEOUT``;
- request line and headers: ``HEADER_TIMEOUT`` from connect, or from a kept-alive
  request's first byte;
- the body: ``BODY_TIMEOUT``, enforced where the route reads it (api/body.py); a body that
  arrived whole before the route ran (the usual small request) is marked in the scope and
  read there without a deadline, as there is nothing left to wait for.

A response sent before the request's body has fully arrived ends the connection: it cannot
be reused, so the rest of the body is not waited for (beyond a lingering close bounded in
time and bytes, core/connection.py). Header bytes, one header line and the header count are
bounded (431, as RFC 6585 section 5 defines it), and a body's bytes are reserved with the
worker's admission control before any is buffered (503 past it, core/admission.py). Every
answer this layer gives (400, 431, 503) goes through the app with a marker in the scope, so
it carries the same headers and is logged and counted like any other (core/middleware.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from retail_api.core.admission import (
    ADMISSION_STATE_KEY,
    ADMITTED_EXTENSION,
    Admission,
    OverloadedError,
    Ticket,
)
from retail_api.core.connection import (
    BODY_COMPLETE_EXTENSION,
    LINGER_BYTES,
    LINGER_SECONDS,
    REJECT_EXTENSION,
    Deadline,
    LingeringTransport,
    connection_limits,
    refusal_scope,
)
from retail_api.core.drain import DRAIN_STATE_KEY, Drain

# A body this large waits on the socket until the route asks for it, so a request the app
# refuses (413, 503) never has its body buffered here.
_HOLD_BODY_OVER = 16 * 1024
# How long an idle connection stays open once the server stops, for a request already on
# its way (the close of an idle keep-alive connection races with the client's next request).
IDLE_CLOSE_SECONDS = 0.5


class GuardedProtocol(HttpToolsProtocol):
    """httptools protocol with per-phase deadlines, header limits and a drain hook."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = connection_limits()
        self._deadline = Deadline(self.loop, self._expire)
        # True from a request's headers being complete until its response is.
        self._busy = False
        self._idle = False
        self._raw_header_bytes = 0
        self._header_bytes = 0
        self._header_count = 0
        self._header_fault: str | None = None
        self._declared_body = 0
        self._url_seen = False
        self._refused = False
        self._stopping = False
        self._lingering = False
        self._lingered_bytes = 0
        self._chunked = False
        self._skip_body = False
        # One entry per request whose headers are in, oldest first: its body-bytes ticket.
        self._tickets: deque[Ticket | None] = deque()

    # --- deadlines ---------------------------------------------------------------------
    def _arm(self, seconds: float) -> None:
        self._deadline.arm(seconds)

    def _disarm(self) -> None:
        self._deadline.disarm()

    def _expire(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    def linger(self) -> None:
        """Close after an answer: at once if the request was read to its end, else stop
        writing, drop what the client still sends, and close when it does or at the bounds."""
        if self._lingering or self.transport.is_closing():
            return
        if not self._refused and self.cycle is not None and not self.cycle.more_body:
            self.transport.close()
            return
        self._lingering = True
        self.flow.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._arm(LINGER_SECONDS)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline.cancel()
        while self._tickets:
            ticket = self._tickets.popleft()
            if ticket is not None:
                ticket.release()
        super().connection_lost(exc)

    # --- reading -----------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self._lingering or self._refused:
            self._lingered_bytes += len(data)
            if self._lingered_bytes > LINGER_BYTES:
                self.transport.close()
            return
        if not self._busy:
            self._raw_header_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            self._refuse(400, "invalid HTTP request")
            return
        if not self._busy and self._raw_header_bytes > self._limits.max_header_bytes:
            self._refuse(431, f"request headers exceed {self._limits.max_header_bytes} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._idle:  # a kept-alive connection's next request: its header clock starts
            self._idle = False
            self._arm(self._limits.header_timeout)
        self._header_bytes = self._header_count = self._declared_body = 0
        self._header_fault = None
        self._chunked = self._skip_body = False
        self._url_seen = False

    def on_url(self, url: bytes) -> None:
        self._url_seen = True
        self._header_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        line = len(name) + len(value) + 4
        self._header_bytes += line
        self._header_count += 1
        if self._header_fault is not None:
            return
        if line > self._limits.max_header_line_bytes:
            self._header_fault = (
                f"a request header line exceeds {self._limits.max_header_line_bytes} bytes"
            )
            return
        if self._header_count > self._limits.max_headers:
            self._header_fault = f"more than {self._limits.max_headers} request headers"
            return
        # What HttpToolsProtocol.on_header does, plus noting how much body is coming.
        name = name.lower()
        if name == b"content-length":
            self._declared_body = int(value) if value.isdigit() else 0
        elif name == b"transfer-encoding":
            self._declared_body = _HOLD_BODY_OVER + 1
            self._chunked = True
        elif name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._disarm()
        self._busy = True
        self._raw_header_bytes = 0
        fault = self._request_fault()
        ticket = None
        if fault is None and self._declared_body:
            try:
                ticket = self._admit()
            except OverloadedError as exc:
                fault = (503, str(exc))
        if fault is not None:
            self.scope["extensions"] = {REJECT_EXTENSION: fault}  # type: ignore[dict-item]
            self._skip_body = True  # answered without it: not one byte is buffered
        elif ticket is not None:
            self.scope["extensions"] = {ADMITTED_EXTENSION: {}}
        self._tickets.append(ticket)
        super().on_headers_complete()
        if self._stopping:
            self.cycle.keep_alive = False
        if fault is not None or self._declared_body:
            # The answer may go out before the body is in: close it lingering.
            self.cycle.transport = LingeringTransport(self.transport, self.linger)  # type: ignore[assignment]
        if fault is not None or self._declared_body > _HOLD_BODY_OVER:
            # RequestResponseCycle.receive resumes reading when the route asks for the body.
            self.flow.pause_reading()

    def _admit(self) -> Ticket | None:
        """Reserve the body's bytes with the worker's admission control before any of them
        is buffered: past its bound the request is answered 503 here, body unread. A body
        over the route's limit reserves only the limit; the route answers it 413."""
        admission = self.app_state.get(ADMISSION_STATE_KEY)
        if not isinstance(admission, Admission):
            return None
        limit = self._limits.max_body_bytes
        return admission.ticket(limit if self._chunked else min(self._declared_body, limit))

    def on_body(self, body: bytes) -> None:
        if not self._skip_body:
            super().on_body(body)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # Mutating the scope's own extensions: the request's ASGI task reads this same dict.
        self.scope.setdefault("extensions", {})[BODY_COMPLETE_EXTENSION] = {}

    def _request_fault(self) -> tuple[int, str] | None:
        if self._header_fault is not None:
            return 431, self._header_fault
        if self._header_bytes > self._limits.max_header_bytes:
            return 431, f"request headers exceed {self._limits.max_header_bytes} bytes"
        # RFC 9112 section 3.2: a server MUST respond 400 to an HTTP/1.1 request without Host.
        if self.parser.get_http_version() == "1.1" and not any(
            name == b"host" for name, _ in self.headers
        ):
            return 400, "an HTTP/1.1 request needs a Host header"
        return None

    # --- after the response ------------------------------------------------------------
    def on_response_complete(self) -> None:
        # HttpToolsProtocol.on_response_complete, with this protocol's keep-alive deadline
        # in place of uvicorn's (which any received byte cancels).
        self.server_state.total_requests += 1
        if self._tickets:
            ticket = self._tickets.popleft()
            if ticket is not None:
                ticket.release()
        if self.transport.is_closing():
            return
        if self.pipeline:  # the next request's headers are in: serve it
            self.flow.resume_reading()
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._busy = False
        if self._lingering:
            return
        if self.cycle is not None and self.cycle.more_body:
            # The body never fully arrived: the connection cannot carry another request.
            self.linger()
            return
        self.flow.resume_reading()
        self._idle = True
        self._arm(self._limits.keep_alive_timeout)

    def _refuse(self, status: int, detail: str) -> None:
        """Answer `status` through the app and read nothing more from this connection."""
        self._refused = True
        self._disarm()
        if self.cycle is not None and not self.cycle.response_complete:
            # A response is still being written; a second one cannot follow it.
            self.transport.close()
            return
        # The parser knows the method once the URL has started; before that it has none.
        method = "UNKNOWN"
        if self._url_seen:
            with contextlib.suppress(httptools.HttpParserError, UnicodeDecodeError):
                method = self.parser.get_method().decode("ascii")
        scope = refusal_scope(
            {
                "asgi": {"version": self.asgi_version, "spec_version": "2.3"},
                "server": self.server,
                "client": self.client,
                "scheme": self.scheme,
                "root_path": self.root_path,
                "state": self.app_state.copy(),
            },
            method,
            status,
            detail,
        )
        self.cycle = RequestResponseCycle(
            scope=scope,
            transport=LingeringTransport(self.transport, self.linger),  # type: ignore[arg-type]
            flow=self.flow,
            logger=self.logger,
            access_logger=self.access_logger,
            access_log=self.access_log,
            default_headers=self.server_state.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=False,
            keep_alive=False,
            on_response=self.on_response_complete,
        )
        self.cycle.more_body = False
        self._start_asgi_task(self.cycle, self.app)

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, "invalid HTTP request")

    # --- graceful stop -----------------------------------------------------------------
    def shutdown(self) -> None:
        """The server is stopping: tell the app (readiness, queued work), then close this
        connection after its current response, or, if it is idle, shortly: a request the
        client sent just before it could see a close is served (with Connection: close)
        instead of being reset unanswered."""
        drain = self.app_state.get(DRAIN_STATE_KEY)
        if isinstance(drain, Drain):
            drain.begin()
        self._stopping = True
        if self._busy:
            super().shutdown()  # its response carries Connection: close
        else:
            self._arm(IDLE_CLOSE_SECONDS)
