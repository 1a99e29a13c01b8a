"""Headless Chromium (Debian's `chromium` package) for the HTML report's tests and screenshot.

Every run gets a fresh profile and no network: host names resolve to nothing and the proxy is a
closed loopback port, so a page that tried to load anything would show it missing.
`python -m tests.infra.lifecycle.chromium OUT.png` redraws the screenshot in docs/.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

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
