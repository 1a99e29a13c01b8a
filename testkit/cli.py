"""Run one of the project's `python -m` commands the way a user does: a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from infra.paths import PROJECT_ROOT


def run_module(
    module: str,
    *args: str | Path,
    cwd: Path = PROJECT_ROOT,
    stdin: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """`python -m MODULE ARGS` from `cwd`, output captured as text.

    A non-zero exit is returned, not raised: the tests assert on exit codes and stderr.
    `extra_env` is laid over the caller's environment.
    """
    env = {**os.environ, **extra_env} if extra_env is not None else None
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def write_input(folder: Path, name: str, content: object) -> Path:
    """An input file for a command: `content` as is when it is text, else as JSON."""
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path
