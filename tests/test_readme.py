"""The README is short, complete and true: its sections, links, commands and tables."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from fastapi.testclient import TestClient

from infra.paths import PROJECT_ROOT
from retail_api.core.config import DEFAULT_MODEL_DIR, Settings
from retail_api.main import create_app

README = (PROJECT_ROOT / "README.md").read_text()
# A README a newcomer reads in one sitting; the long versions live in docs/. The config and
# outputs tables take one row per key and output (tests hold them to the code), so the bound is
# on everything else.
MAX_PROSE_LINES = 180
OWNED_SECTIONS = [
    "Rolling back",
    "Stack configuration",
    "Stack outputs",
    "Lifecycle policy",
    "Scan gate",
    "The image",
    "The API",
    "Running on EKS",
]
SECTION_BODY_LIMIT = 15  # lines, tables excepted (the shared rules for the README)
# Markdown link targets that are files in this repository (not http(s) or in-page anchors).
LOCAL_LINK = re.compile(r"\]\((?!https?://|#)([^)#\s]+)(?:#[^)]*)?\)")


def section(title: str) -> str:
    match = re.search(
        rf"^## {re.escape(title)}[^\n]*$(.*?)(?=^## |\Z)", README, re.MULTILINE | re.DOTALL
    )
    assert match, f"README has no section {title!r}"
    return match.group(1)


def table_rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and cells:
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def code_lines(text: str) -> list[str]:
    """The command lines of the ```bash blocks in `text`, comments stripped."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL):
        for line in block.splitlines():
            command = line.split(" #", 1)[0].strip()
            if command:
                lines.append(command)
    return lines


def test_readme_is_short() -> None:
    prose = [line for line in README.splitlines() if not line.startswith("|")]
    assert len(prose) <= MAX_PROSE_LINES


def test_readme_has_the_owned_sections_in_order_then_read_more() -> None:
    headings = re.findall(r"^## (.+)$", README, re.MULTILINE)
    assert headings[:3] == ["Set up", "Architecture", "Deploying"]
    assert headings[3:] == [*OWNED_SECTIONS, "Read more"]


def test_owned_sections_stay_short_and_link_their_docs_page() -> None:
    for title in OWNED_SECTIONS:
        body = section(title).strip().splitlines()
        prose = [line for line in body if not line.lstrip().startswith("|")]
        assert len(prose) <= SECTION_BODY_LIMIT, f"{title}: {len(prose)} lines"
        if title not in {"Stack configuration", "Stack outputs"}:
            assert LOCAL_LINK.search(section(title)), f"{title} links no docs/ page"


def test_every_local_link_in_the_readme_and_docs_resolves() -> None:
    pages = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in LOCAL_LINK.findall(page.read_text()):
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(PROJECT_ROOT)} -> {target}")
    assert broken == []


def test_every_docs_page_is_listed_under_read_more() -> None:
    listed = set(LOCAL_LINK.findall(section("Read more")))
    pages = {f"docs/{path.name}" for path in (PROJECT_ROOT / "docs").glob("*.md")}
    assert pages - listed == set()


def test_set_up_names_the_two_commands_and_every_prerequisite() -> None:
    setup = section("Set up")
    assert code_lines(setup) == ["make serve", "make test"]
    for prerequisite in ("Python 3.11", "make", "Node.js", "npm", "Docker"):
        assert prerequisite in setup, prerequisite


def test_every_make_target_the_readme_names_exists() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):", makefile, re.MULTILINE))
    named = set(re.findall(r"`make ([a-z-]+)`", README))
    named |= {line.split()[1] for line in code_lines(README) if line.startswith("make ")}
    named |= set(re.findall(r"`(lint|bench|requirements|clean|help)`", section("Set up")))
    assert named, "the README names no make target"
    assert named <= targets


def test_ci_runs_the_readmes_test_command() -> None:
    script = (PROJECT_ROOT / ".ci" / "run").read_text().splitlines()
    commands = [line for line in script if line.strip() and not line.lstrip().startswith("#")]
    # The last thing CI does is the README's command, made strict about Docker.
    assert shlex.split(commands[-1]) == ["REQUIRE_DOCKER=1", "make", "test"]
    assert "make test" in code_lines(section("Set up"))


def test_the_readmes_curl_example_gets_a_prediction() -> None:
    line = next(line for line in README.splitlines() if line.startswith("`curl"))
    url = re.search(r"localhost:(\d+)(/\S+)", line)
    body = re.search(r"-d '(\{.*?\})'", line)
    assert url and body, line
    # `make serve` listens where the example sends its request.
    assert int(url.group(1)) == Settings().port
    with TestClient(create_app(Settings(model_dir=DEFAULT_MODEL_DIR))) as client:
        response = client.post(url.group(2), json=json.loads(body.group(1)))
    assert response.status_code == 200, response.text
    assert "prediction" in response.text


def test_python_modules_the_readme_runs_exist() -> None:
    modules = re.findall(r"python -m ([\w.]+)", README)
    assert modules
    for module in modules:
        parts = Path(*module.split("."))
        roots = (PROJECT_ROOT, PROJECT_ROOT / "server")
        found = any(
            (root / parts).with_suffix(".py").is_file() or (root / parts / "__main__.py").is_file()
            for root in roots
        )
        assert found, f"README runs python -m {module}, which does not exist"


def test_config_table_matches_the_key_table() -> None:
    # Imported here so the README's structure is still checked while the config code moves.
    from infra.config import RetailRegistryArgs, readme_table_problems

    rows = table_rows(section("Stack configuration"))
    assert rows, "the Stack configuration section has no key table"
    assert readme_table_problems(RetailRegistryArgs, rows) == []


def test_outputs_table_lists_the_exported_names_in_order() -> None:
    rows = table_rows(section("Stack outputs"))
    program = (PROJECT_ROOT / "__main__.py").read_text()
    exported = re.findall(r'pulumi\.export\("(\w+)"', program)
    assert list(rows) == exported
