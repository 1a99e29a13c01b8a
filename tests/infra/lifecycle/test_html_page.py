"""`simulate --format html`: one self-contained page, checked as Chromium renders it.

The bundled example with its pods: 74 images; 23 expire (one of them runs in pod
retail/price-backfill-…), 5 are undetermined, 46 are kept, of which 2 run (the newest build in
two retail-api pods, v1.13.0 in the canary).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from infra.lifecycle.html_page import format_html

from .chromium import EXAMPLE, SIMULATE_EXAMPLE, dump_dom, evaluate, screenshot
from .support import DAY, NOW, cli, image, preview_of, rule

MAX_PAGE_BYTES = 300 * 1024


class Page(HTMLParser):
    """The rows, summary cells and every loadable URL of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.summary: dict[str, str] = {}
        self.urls: list[str] = []
        self.tags: Counter[str] = Counter()
        self._summary_fate: str | None = None
        self._in_count = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.tags[tag] += 1
        self.urls += [attributes[k] for k in ("src", "href", "srcset", "poster") if k in attributes]
        classes = attributes.get("class", "").split()
        if tag == "tr" and "image" in classes:
            self.rows.append({**attributes, "text": ""})
        elif tag == "tr" and "data-fate" in attributes:
            self._summary_fate = attributes["data-fate"]
        self._in_count = tag == "td" and "count" in classes

    def handle_data(self, data: str) -> None:
        if self._in_count and self._summary_fate is not None:
            self.summary[self._summary_fate] = data
        elif self.rows and self._summary_fate is None:
            self.rows[-1]["text"] += data + "|"

    def handle_endtag(self, tag: str) -> None:
        self._in_count = False
        if tag == "tr":
            self._summary_fate = None


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = cli(*SIMULATE_EXAMPLE)
    # The example's backfill pod runs an expiring image: the page is written and the exit is 1.
    assert result.returncode == 1, result.stderr
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(result.stdout, encoding="utf-8")
    return path


def parsed(text: str) -> Page:
    reader = Page()
    reader.feed(text)
    return reader


def test_page_is_small_and_self_contained(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert len(text.encode()) < MAX_PAGE_BYTES
    document = parsed(text)
    assert document.tags["script"] == 0
    assert document.tags["link"] == 0
    assert document.urls == []
    assert "default-src 'none'" in text
    assert "http://" not in text
    assert "https://" not in text


def test_chromium_renders_one_row_per_image_and_the_summary(page: Path) -> None:
    rendered = parsed(dump_dom(page))
    assert len(rendered.rows) == 74
    assert len({row["data-digest"] for row in rendered.rows}) == 74
    assert Counter(row["data-fate"] for row in rendered.rows) == {
        "kept": 44,
        "in-use": 2,
        "expire": 23,
        "undetermined": 5,
    }
    assert rendered.summary == {
        "expire": "23",
        "transition": "0",
        "undetermined": "5",
        "kept": "46",
        "in-use": "3",
    }
    # Each row shows a short digest of at least 12 hex characters and the deciding rule.
    for row in rendered.rows:
        short = row["data-digest"][: len("sha256:") + 12]
        assert f"|{short}|" in row["text"], row
        assert re.search(r"\|(rule \d+|no rule)\|", row["text"]), row
    [conflict] = [row for row in rendered.rows if "conflict" in row["class"].split()]
    assert conflict["data-fate"] == "expire"
    assert "|sha-ef020b7877af|" in conflict["text"]
    assert "|IN USE|" in conflict["text"]


# What a reader of the page sees, measured by the browser: every row laid out, the bar's colour,
# the weight of the text, the summary as drawn, and what the page asked the network for.
SEEN = """JSON.stringify({
  resources: performance.getEntriesByType('resource').length,
  rows: [...document.querySelectorAll('tr.image')].map(row => ({
    fate: row.dataset.fate,
    height: row.getBoundingClientRect().height,
    bar: getComputedStyle(row.querySelector('.life')).backgroundColor,
    weight: getComputedStyle(row.cells[2]).fontWeight,
  })),
  summary: Object.fromEntries([...document.querySelectorAll('table.summary tr')].map(
    row => [row.dataset.fate, row.querySelector('.count').innerText])),
})"""
BAR_COLOURS = {
    "kept": "rgb(46, 125, 50)",
    "in-use": "rgb(21, 101, 192)",
    "expire": "rgb(198, 40, 40)",
    "transition": "rgb(106, 27, 154)",
    "undetermined": "rgb(239, 108, 0)",
}


def test_chromium_shows_every_row_in_its_fates_colour(page: Path) -> None:
    seen = json.loads(evaluate(page, SEEN))
    assert seen["resources"] == 0
    assert len(seen["rows"]) == 74
    assert all(row["height"] > 0 for row in seen["rows"])
    assert all(row["bar"] == BAR_COLOURS[row["fate"]] for row in seen["rows"])
    # The one running image the policy expires stands out.
    assert Counter(row["weight"] for row in seen["rows"]) == {"400": 73, "600": 1}
    assert seen["summary"] == {
        "expire": "23",
        "transition": "0",
        "undetermined": "5",
        "kept": "46",
        "in-use": "3",
    }


def test_chromium_shows_transitions_in_their_colour(tmp_path: Path) -> None:
    result = cli(
        "simulate",
        "--policy",
        EXAMPLE / "archive-policy.json",
        "--images",
        EXAMPLE / "describe-images.json",
        "--manifests",
        EXAMPLE / "manifests",
        "--now",
        "2026-11-30T00:00:00Z",
        "--format",
        "html",
    )
    assert (result.returncode, result.stderr) == (0, "")
    archive_page = tmp_path / "archive.html"
    archive_page.write_text(result.stdout, encoding="utf-8")
    seen = json.loads(evaluate(archive_page, SEEN))
    colours = Counter((row["fate"], row["bar"]) for row in seen["rows"])
    assert colours == {
        ("kept", BAR_COLOURS["kept"]): 43,
        ("expire", BAR_COLOURS["expire"]): 21,
        ("transition", BAR_COLOURS["transition"]): 10,
    }
    assert seen["summary"]["transition"] == "10"


def test_undetermined_rows_carry_their_reason(page: Path) -> None:
    rendered = parsed(dump_dom(page))
    undetermined = [row for row in rendered.rows if row["data-fate"] == "undetermined"]
    assert all(
        "would be expire: untagged and pushed no later than index" in row["text"]
        for row in undetermined
    )


def test_chromium_draws_the_page(page: Path, tmp_path: Path) -> None:
    assert screenshot(page, tmp_path / "report.png", 1400, 900) == (1400, 900)


def test_text_from_the_policy_is_escaped() -> None:
    hostile = {**rule(1, patterns=["v*"], number=1), "description": "<script>x</script> & co"}
    images = [
        image("sha256:" + "c" * 64, ("v1",), DAY),
        image("sha256:" + "d" * 64, ("v2",), 2 * DAY),
    ]
    page = format_html(preview_of({"rules": [hostile]}, images), NOW)
    assert "<script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt; &amp; co" in page
    document = parsed(page)
    assert [(row["data-fate"], row["data-digest"][:9]) for row in document.rows] == [
        ("kept", "sha256:cc"),
        ("expire", "sha256:dd"),
    ]
    assert document.summary == {
        "expire": "1",
        "transition": "0",
        "undetermined": "0",
        "kept": "1",
        "in-use": "0",
    }
