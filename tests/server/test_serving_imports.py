"""The serving package stays free of scikit-learn, joblib, pickle-based loading and infra/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SERVER_DIR = Path(__file__).resolve().parents[2] / "server"
FORBIDDEN = ("sklearn", "joblib", "infra", "training", "pandas")


def test_app_imports_no_training_stack() -> None:
    code = (
        "import sys, retail_api.main, retail_api.__main__\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({FORBIDDEN!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=SERVER_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_loader_refuses_pickles() -> None:
    source = (SERVER_DIR / "retail_api" / "forest" / "loader.py").read_text()
    assert "allow_pickle=False" in source
    assert "allow_pickle=True" not in source
