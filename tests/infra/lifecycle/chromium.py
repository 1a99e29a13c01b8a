"""Headless Chromium (Debian's `chromium` package) for the HTML report's tests and screenshot.

Every run gets a fresh profile and no network: host names resolve to nothing and the proxy is a
closed loopback port, so a page that tried to load anything would show it missing.
`evaluate` asks the rendered page questions over the DevTools protocol on a pipe
(`--remote-debugging-pipe`: NUL-terminated JSON on file descriptors 3 and 4), the few calls it
needs written out here rather than a client library that would bring its own browser.
`python -m tests.infra.lifecycle.chromium OUT.png` redraws the screenshot in docs/.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from infra.paths import PROJECT_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=socks5://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
)
EXAMPLE = PROJECT_ROOT / "examples" / "lifecycle"
SIMULATE_EXAMPLE = (
    "simulate",
    "--stack",
    "prod",
    "--images",
    str(EXAMPLE / "describe-images.json"),
    "--in-use",
    str(EXAMPLE / "pods.json"),
    "--now",
    "2026-11-30T00:00:00Z",
    "--format",
    "html",
)


def chromium(page: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """Chromium on `page` (loaded as a file:// URL) with `args`; output captured as text."""
    if not Path(CHROMIUM).exists():
        raise AssertionError(f"{CHROMIUM} is missing: install Debian's chromium package")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )


def dump_dom(page: Path) -> str:
    """The document as Chromium parsed it."""
    return chromium(page, "--dump-dom").stdout


def screenshot(page: Path, out: Path, width: int, height: int) -> tuple[int, int]:
    """A PNG of the page at `width` x `height`; returns the PNG's own size."""
    chromium(page, f"--screenshot={out.resolve()}", f"--window-size={width},{height}")
    return png_size(out.read_bytes())


def evaluate(page: Path, expression: str, timeout: float = 60) -> Any:
    """The JSON value of `expression`, evaluated in `page` once it has loaded."""
    if not Path(CHROMIUM).exists():
        raise AssertionError(f"{CHROMIUM} is missing: install Debian's chromium package")
    url = page.resolve().as_uri()
    theirs_in, commands = os.pipe()
    replies, theirs_out = os.pipe()

    def on_fds_3_and_4() -> None:
        os.dup2(theirs_in, 3)
        os.dup2(theirs_out, 4)

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        browser = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", url],
            # preexec_fn is unsafe with threads; the test process starts none.
            preexec_fn=on_fds_3_and_4,
            pass_fds=(3, 4),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(theirs_in)
        os.close(theirs_out)
        session = _Session(commands, replies, time.monotonic() + timeout)
        try:
            return session.evaluate(url, expression)
        finally:
            _close(browser, session)
            os.close(commands)
            os.close(replies)


def _close(browser: subprocess.Popen[bytes], session: _Session) -> None:
    try:
        session.send("Browser.close")
        browser.wait(timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        # Already gone, or stuck: never leave it running.
        browser.kill()
        browser.wait()


class _Session:
    def __init__(self, commands: int, replies: int, deadline: float) -> None:
        self.commands, self.replies, self.deadline = commands, replies, deadline
        self.buffer = b""
        self.last_id = 0
        self.page_session: str | None = None

    def send(self, method: str, params: dict[str, Any] | None = None, page: bool = False) -> int:
        self.last_id += 1
        message: dict[str, Any] = {"id": self.last_id, "method": method, "params": params or {}}
        if page:
            message["sessionId"] = self.page_session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        return self.last_id

    def call(self, method: str, params: dict[str, Any] | None = None, page: bool = False) -> Any:
        wanted = self.send(method, params, page)
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == wanted:
                    if "error" in reply:
                        raise AssertionError(f"{method}: {reply['error']}")
                    return reply["result"]
            ready, _, _ = select.select([self.replies], [], [], self.deadline - time.monotonic())
            chunk = os.read(self.replies, 1 << 16) if ready else b""
            if not chunk:
                raise AssertionError(f"{method}: Chromium did not answer")
            self.buffer += chunk

    def evaluate(self, url: str, expression: str) -> Any:
        targets = self.call("Target.getTargets")["targetInfos"]
        [target] = [t for t in targets if t["type"] == "page"]
        attached = self.call(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        self.page_session = attached["sessionId"]
        # The tab starts on about:blank; wait for the page itself to finish loading.
        loaded = f"location.href === {json.dumps(url)} && document.readyState === 'complete'"
        while not self._value(loaded):
            if time.monotonic() > self.deadline:
                raise AssertionError(f"{url} did not load")
            time.sleep(0.05)
        return self._value(expression)

    def _value(self, expression: str) -> Any:
        params = {"expression": expression, "returnByValue": True}
        result = self.call("Runtime.evaluate", params, page=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")


def png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise AssertionError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def main(out: str) -> None:
    page = Path(tempfile.mkdtemp()) / "report.html"
    result = subprocess.run(
        [sys.executable, "-m", "infra.lifecycle", *SIMULATE_EXAMPLE],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    page.write_text(result.stdout, encoding="utf-8")
    screenshot(page, Path(out), 1400, 2320)


if __name__ == "__main__":
    main(sys.argv[1])
