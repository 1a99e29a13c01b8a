"""The commands sit on the top floor of infra/: no module below imports `infra.cli`.

Only entry files may: `infra/__main__.py`, and a package's `__main__.py`, which `python -m
PACKAGE` needs and nothing imports. Import lines are read as text: every import in infra/ is
absolute and at the start of a line (ruff's isort keeps them so)."""

from __future__ import annotations

import re
from pathlib import Path

from infra.paths import PROJECT_ROOT

INFRA = PROJECT_ROOT / "infra"
IMPORT = re.compile(r"^\s*(?:from\s+(?P<from>[\w.]+)\s+import\b|import\s+(?P<plain>[\w.]+))", re.M)


def imported_modules(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return {match["from"] or match["plain"] for match in IMPORT.finditer(text)}


def test_no_module_below_the_commands_imports_them() -> None:
    offenders = sorted(
        str(path.relative_to(PROJECT_ROOT))
        for path in INFRA.rglob("*.py")
        if path.name != "__main__.py"
        and INFRA / "cli" not in path.parents
        and any(
            name == "infra.cli" or name.startswith("infra.cli.") for name in imported_modules(path)
        )
    )
    assert offenders == []


def test_the_package_entry_files_only_start_a_command() -> None:
    for package in ("scan_gate", "image_tag", "lifecycle"):
        entry = (INFRA / package / "__main__.py").read_text(encoding="utf-8")
        code = [line for line in entry.split('"""')[-1].splitlines() if line.strip()]
        assert code == [f"from infra.cli.{package} import main", "raise SystemExit(main())"]
