"""Constants and file builders shared by the `infra.image_tag` tests."""

from __future__ import annotations

from pathlib import Path

PLATFORM = "linux/amd64"
PINNED = "python:3.11-slim@sha256:" + "ab" * 32


def write_files(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def dockerfile_text(base: str = PINNED) -> str:
    return f"# the base\nARG BASE_IMAGE={base}\nFROM ${{BASE_IMAGE}}\nCOPY app /app\n"
