"""`simulate --format html`: the preview as one self-contained page.

A timeline of the repository, one row per image, coloured by fate (kept, in use, expire,
transition, undetermined) with the rule that decides it, then the summary. No script and nothing
fetched: the styles are inline and the page's Content-Security-Policy (`default-src 'none'`)
forbids every load, so it reads the same from a file, an artifact store or an air-gapped laptop.
Built as an ElementTree, so every text and attribute is escaped by the serialiser.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import datetime

from infra.lifecycle.in_use import Reference
from infra.lifecycle.outcome import (
    DEFAULT_ARCHIVE_PRICE_PER_GB,
    DEFAULT_PRICE_PER_GB,
    FATES,
    KEPT,
    Fate,
    Preview,
)
from infra.lifecycle.tally import (
    IN_USE,
    by_fate,
    by_rule,
    format_price,
    format_size,
    format_usd,
    in_use_count,
    short_digest,
)

POLICY = "default-src 'none'; style-src 'unsafe-inline'"
COLOURS = {
    "kept": "#2e7d32",
    "in-use": "#1565c0",
    "expire": "#c62828",
    "transition": "#6a1b9a",
    "undetermined": "#ef6c00",
}
STYLE = (
    "body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222}"
    "h1{font-size:18px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 6px}"
    "table{border-collapse:collapse}th,td{padding:2px 6px;text-align:left;white-space:nowrap}"
    "thead th{border-bottom:1px solid #999}td.num{text-align:right}"
    "code{font:12px ui-monospace,monospace}"
    ".timeline tr.image td{border-bottom:1px solid #eee}"
    ".track{position:relative;width:360px;height:12px;background:#f3f3f3}"
    ".life{position:absolute;top:2px;height:8px;border-radius:2px}"
    ".mark{position:absolute;top:0;width:3px;height:12px;background:#222}"
    ".mark.archived{background:#6a1b9a}.mark.restored{background:#00838f}"
    ".badge{display:inline-block;padding:0 4px;border-radius:3px;color:#fff;font-size:11px}"
    "tr.conflict td{font-weight:600}details{display:inline}summary{cursor:pointer}"
    ".legend span{margin-right:12px}"
    + "".join(
        f".fate-{name} .life,.fate-{name} .badge,.swatch-{name}{{background:{colour}}}"
        f"tr.fate-{name}{{background:{colour}14}}"
        for name, colour in COLOURS.items()
    )
    + ".swatch{display:inline-block;width:10px;height:10px;margin-right:4px}"
)


def format_html(
    preview: Preview,
    now: datetime,
    price_per_gb: float = DEFAULT_PRICE_PER_GB,
    archive_price_per_gb: float = DEFAULT_ARCHIVE_PRICE_PER_GB,
    in_use: Mapping[str, Sequence[Reference]] | None = None,
) -> str:
    running = in_use or {}
    fates = preview.fates()
    html = ET.Element("html", lang="en")
    head = ET.SubElement(html, "head")
    ET.SubElement(head, "meta", charset="utf-8")
    ET.SubElement(head, "meta", {"http-equiv": "Content-Security-Policy", "content": POLICY})
    repository = next((i.repository_name for i in preview.images if i.repository_name), None)
    title = f"Lifecycle preview: {repository or 'repository'} at {_time(now)}"
    _text(head, "title", title)
    _text(head, "style", STYLE)
    body = ET.SubElement(html, "body")
    _text(body, "h1", title)
    _text(
        body,
        "p",
        f"{len(fates)} images. Rules apply in rulePriority order; the first rule "
        "whose selection matches an image decides it, acting on it or keeping it.",
    )
    _summary(body, preview, fates, running, price_per_gb, archive_price_per_gb)
    _rules(body, preview, fates)
    _legend(body)
    _timeline(body, fates, running, now)
    return "<!DOCTYPE html>\n" + ET.tostring(html, encoding="unicode", method="html") + "\n"


def fate_class(fate: Fate, running: Mapping[str, object]) -> str:
    """The colour a row gets: in use outranks kept; an action outranks in use (and is flagged)."""
    if fate.kind == KEPT and fate.image.digest in running:
        return "in-use"
    return fate.kind.lower()


def _legend(body: ET.Element) -> None:
    legend = ET.SubElement(body, "p", {"class": "legend"})
    for name in COLOURS:
        item = ET.SubElement(legend, "span")
        ET.SubElement(item, "span", {"class": f"swatch swatch-{name}"})
        item[-1].tail = name.replace("-", " ")


def _timeline(
    body: ET.Element, fates: Sequence[Fate], running: Mapping[str, object], now: datetime
) -> None:
    _text(body, "h2", "Timeline, newest first")
    start = min((fate.image.pushed_at for fate in fates), default=now)
    span = max((now - start).total_seconds(), 1.0)

    def at(moment: datetime | None) -> str | None:
        if moment is None:
            return None
        share = min(max((moment - start).total_seconds() / span, 0.0), 1.0)
        return f"{share * 100:.2f}%"

    table = ET.SubElement(body, "table", {"class": "timeline"})
    heads = ("fate", "rule", "digest", "tags", "pushed", "last pulled", "archived", "in use")
    row = ET.SubElement(ET.SubElement(table, "thead"), "tr")
    for head in heads:
        _text(row, "th", head)
    _text(row, "th", f"{_time(start)} → {_time(now)}")
    rows = ET.SubElement(table, "tbody")
    for fate in fates:
        image = fate.image
        kind = fate_class(fate, running)
        conflict = kind != "in-use" and fate.kind != KEPT and image.digest in running
        row = ET.SubElement(
            rows,
            "tr",
            {
                "class": f"image fate-{kind}" + (" conflict" if conflict else ""),
                "data-fate": kind,
                "data-digest": image.digest,
            },
        )
        _fate_cell(row, fate, kind)
        _text(row, "td", "no rule" if fate.rule_priority is None else f"rule {fate.rule_priority}")
        _text(ET.SubElement(row, "td", title=image.digest), "code", short_digest(image.digest))
        _text(row, "td", ", ".join(image.tags) or "untagged")
        for moment in (image.pushed_at, image.last_pulled_at, image.archived_at):
            _text(row, "td", _time(moment) if moment else "")
        _text(row, "td", IN_USE if image.digest in running else "")
        track = ET.SubElement(ET.SubElement(row, "td"), "div", {"class": "track"})
        left = at(image.pushed_at) or "0%"
        ET.SubElement(track, "div", {"class": "life", "style": f"left:{left};right:0"})
        for mark, moment in (
            ("pull", image.last_pulled_at),
            ("archived", image.archived_at),
            ("restored", image.activated_at),
        ):
            position = at(moment)
            if position is not None:
                ET.SubElement(
                    track, "span", {"class": f"mark {mark}", "style": f"left:{position}"}
                ).set("title", f"{mark} {_time(moment)}")


def _fate_cell(row: ET.Element, fate: Fate, kind: str) -> None:
    cell = ET.SubElement(row, "td")
    label = kind.replace("-", " ")
    if fate.reason is None:
        _text(cell, "span", label).set("class", "badge")
        return
    details = ET.SubElement(cell, "details")
    _text(ET.SubElement(details, "summary"), "span", label).set("class", "badge")
    _text(details, "span", f" would be {(fate.would_be or '').lower()}: {fate.reason}")


def _summary(
    body: ET.Element,
    preview: Preview,
    fates: Sequence[Fate],
    running: Mapping[str, object],
    price_per_gb: float,
    archive_price_per_gb: float,
) -> None:
    _text(body, "h2", "Summary")
    table = ET.SubElement(body, "table", {"class": "summary"})
    counts = by_fate(fates)
    for fate in FATES:
        row = ET.SubElement(table, "tr", {"data-fate": fate.lower()})
        _text(row, "th", fate.lower())
        _text(row, "td", str(counts[fate].images)).set("class", "num count")
        _text(row, "td", format_size(counts[fate].size_bytes)).set("class", "num")
    row = ET.SubElement(table, "tr", {"data-fate": "in-use"})
    _text(row, "th", "in use")
    _text(row, "td", str(in_use_count(fates, running))).set("class", "num count")
    by_class = preview.retained_bytes_by_class()
    estimate = preview.monthly_storage_usd(price_per_gb, archive_price_per_gb)
    _text(
        body,
        "p",
        f"Retained: {len(preview.retained)} images, "
        f"{format_size(by_class['standard'] + by_class['archive'])} (standard "
        f"{format_size(by_class['standard'])}, archive {format_size(by_class['archive'])}). "
        f"Estimated storage: {format_usd(estimate)} per month at "
        f"{format_price(price_per_gb)} standard, {format_price(archive_price_per_gb)} archive.",
    ).set("class", "retained")


def _rules(body: ET.Element, preview: Preview, fates: Sequence[Fate]) -> None:
    _text(body, "h2", "Per rule")
    table = ET.SubElement(body, "table", {"class": "rules"})
    row = ET.SubElement(ET.SubElement(table, "thead"), "tr")
    for head in ("rule", "description", *(fate.lower() for fate in FATES)):
        _text(row, "th", head)
    rows = ET.SubElement(table, "tbody")
    for tally in by_rule(preview, fates):
        row = ET.SubElement(rows, "tr")
        _text(row, "td", tally.label)
        _text(row, "td", tally.description or "")
        for fate in FATES:
            _text(row, "td", str(tally.by_fate[fate].images)).set("class", "num")


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = text
    return element


def _time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""
