"""The report of a comparison bundle (`auditkit compare A B --out DIR`): what changed and what did not.

Built from the comparison bundle alone, in the order a reader needs: the two audits, how they differ
(before any figure), the findings, the changes per group and measure with a chart, the method (which
test, and why it is conservative when both audits are of the same people), and the bundles compared.
A record whose group or reference has a count, or a complement, of fewer than k people in either audit
is withheld, with the findings that rest on it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..exceptions import UsageError
from ..locale import load_locale
from ._bundle import Bundle
from ._context import anchor_for, short_number
from ._document import (Cell, Chart, ChartRow, Document, FindingBlock, IntervalChart, Notice, Paragraph, Section,
                        Table, TableRow)

__all__ = ["build_comparison_document", "render_comparison"]

_LOG_TICKS = (0.1, 0.2, 0.25, 0.5, 0.8, 1.0, 1.25, 2.0, 4.0, 5.0, 10.0)


def _record_path(r: Mapping[str, Any]) -> str:
    return "records/" + "/".join(str(r.get(k)) for k in ("attribute", "group", "reference", "metric"))


def _small(n: Any, k: int) -> bool:
    return isinstance(n, (int, float)) and 0 < n < k


def _withheld(r: Mapping[str, Any], k: int) -> bool:
    """A count or complement below k in either audit (the audits' own reports withhold these)."""
    for side in ("counts_a", "counts_b"):
        for pair in ((r.get(side) or {}).get("group"), (r.get(side) or {}).get("reference")):
            if pair and (_small(pair[0], k) or _small(pair[1] - pair[0], k) or _small(pair[1], k)):
                return True
    return False


class _Ctx:
    def __init__(self, bundle: Bundle, lang: str) -> None:
        self.bundle, self.doc, self.loc = bundle, bundle.results, load_locale(lang)
        self.k = bundle.min_count
        level = (self.doc.get("method") or {}).get("level", 0.95)
        self.level = self.loc.percent(level, 0 if round(level * 100, 6) == round(level * 100) else 1)
        self.hidden = {_record_path(r) for r in self.doc.get("records") or [] if _withheld(r, self.k)}

    def t(self, key: str, **values: Any) -> str:
        return self.loc.t(key, **values)

    def name(self, r: Mapping[str, Any], key: str = "group") -> str:
        """``key``'s level of the record's attribute as the templates label it (its code where they do not)."""
        from ..locale import label

        value = r.get(key)
        return "—" if value is None else label(self.doc.get("labels") or {}, str(r.get("attribute")), value,
                                               lang=self.loc.code)

    def attribute(self, r: Mapping[str, Any]) -> str:
        from ..locale import label

        return label(self.doc.get("labels") or {}, str(r.get("attribute")), lang=self.loc.code)


def _summary(c: _Ctx) -> Section:
    doc, t, loc = c.doc, c.t, c.loc
    records = doc.get("records") or []
    count = {s: loc.integer(sum(r.get("change") == s for r in records))
             for s in ("ratio_changed", "no_change_detected", "undefined")}
    blocks: list[Any] = [Paragraph(t("compare.audit_line", which=w.upper(), name=str(doc[w]["bundle"]),
                                     title=_examined(c, doc[w]), sha256=str(doc[w]["manifest_sha256"])))
                         for w in ("a", "b")]
    blocks.append(Paragraph(t("compare.counts", n=loc.integer(len(records)), changed=count["ratio_changed"],
                              unchanged=count["no_change_detected"], undefined=count["undefined"])))
    only_a, only_b = (doc.get("unmatched") or {}).get("only_a") or [], (doc.get("unmatched") or {}).get("only_b") or []
    if only_a or only_b:
        blocks.append(Paragraph(t("compare.unmatched", only_a=loc.integer(len(only_a)), only_b=loc.integer(len(only_b)))))
    if doc.get("differences"):
        blocks.append(Notice(t("compare.differences_intro"), "warning"))
    return Section(id="summary", title=t("compare.summary_title"), blocks=tuple(blocks))


def _examined(c: _Ctx, side: Mapping[str, Any]) -> str:
    source = str(side.get("source") or "?")
    if side.get("model"):
        return c.t("doc.title_assess", model=str(side["model"]), source=source)
    return c.t("doc.title_audit", source=source)


def _value(x: Any) -> str:
    return "—" if x is None else x if isinstance(x, str) else json.dumps(x, ensure_ascii=False, sort_keys=True)


def _differences(c: _Ctx) -> Section:
    t = c.t
    diffs = c.doc.get("differences") or []
    if not diffs:
        return Section(id="differences", title=t("compare.differences_title"),
                       blocks=(Paragraph(t("compare.differences_none")),))
    rows = tuple(TableRow((Cell(str(d["what"]), code=True), Cell(_value(d.get("a")), code=True),
                           Cell(_value(d.get("b")), code=True))) for d in diffs)
    table = Table(caption=t("compare.differences_caption"),
                  header=(t("compare.col.what"), t("compare.col.a"), t("compare.col.b")), rows=rows)
    return Section(id="differences", title=t("compare.differences_title"),
                   blocks=(Paragraph(t("compare.differences_intro")), table))


def _findings(c: _Ctx) -> Section:
    t, loc = c.t, c.loc
    blocks: list[Any] = []
    for f in c.bundle.findings:
        evidence = [str(e) for e in f.get("evidence", [])]
        withheld = any(e in c.hidden for e in evidence)
        statement = f.get("statement") or {}
        text, lang = ((t("findings.withheld", k=loc.integer(c.k)), None) if withheld else
                      (statement[loc.code], None) if loc.code in statement else (statement.get("en", ""), "en"))
        rec = f.get("recommendation") or {}
        details = [(t("findings.recommendation"), ((rec.get(loc.code, rec.get("en", "")), None),)),
                   (t("findings.evidence"), tuple((e, None if withheld or not e.startswith("records/") else
                                                   anchor_for(e)) for e in evidence)),
                   (t("findings.rule"), ((f"{f.get('rule')} · {loc.label('finding_kind', str(f.get('kind')))}",
                                          None),))]
        severity = str(f.get("severity", "info"))
        blocks.append(FindingBlock(id=str(f["id"]), severity=severity, severity_label=loc.label("severity", severity),
                                   heading=t("findings.heading", id=f["id"], severity=loc.label("severity", severity)),
                                   statement=text, statement_lang=lang, details=tuple(details), withheld=withheld))
    if not blocks:
        blocks.append(Paragraph(t("findings.none")))
    return Section(id="findings", title=t("compare.findings_title"), blocks=tuple(blocks))


def _row(c: _Ctx, r: Mapping[str, Any]) -> TableRow:
    loc, path = c.loc, _record_path(r)
    if path in c.hidden:
        cells = [Cell(c.t("suppression.withheld"), suppressed=True, numeric=True) for _ in range(7)]
    else:
        ci, rr_ci = r.get("change_in_rate_ci") or [None, None], r.get("ratio_of_ratios_ci") or [None, None]
        pp = (lambda x: None if x is None else 100 * x)
        cells = [Cell(loc.percent(r.get("value_a")), numeric=True), Cell(loc.percent(r.get("value_b")), numeric=True),
                 Cell(loc.number(pp(r.get("change_in_rate")), 1, sign=True), numeric=True,
                      detail=loc.span(loc.number(pp(ci[0]), 1, sign=True), loc.number(pp(ci[1]), 1, sign=True))
                      if r.get("change_in_rate_ci") else ""),
                 Cell(loc.number(r.get("ratio_a")), numeric=True), Cell(loc.number(r.get("ratio_b")), numeric=True),
                 Cell(loc.number(r.get("ratio_of_ratios")), numeric=True,
                      detail=loc.span(loc.number(rr_ci[0]), loc.number(rr_ci[1])) if r.get("ratio_of_ratios_ci")
                      else ""),
                 Cell(loc.p_value(r.get("p_holm")), numeric=True)]
    return TableRow((Cell(f"{c.name(r)} ({c.attribute(r)})"), Cell(c.name(r, "reference")),
                     Cell(loc.label("metric", str(r.get("metric")))), *cells,
                     Cell(loc.label("compare.status", str(r.get("change"))))), anchor=anchor_for(path))


def _chart(c: _Ctx, records: Sequence[Mapping[str, Any]]) -> Chart | None:
    loc, rows, values, items = c.loc, [], [], []
    for r in records:
        label = f"{c.name(r)} ({c.attribute(r)}), {loc.label('metric', str(r.get('metric')))}"
        rr, ci = r.get("ratio_of_ratios"), r.get("ratio_of_ratios_ci") or [None, None]
        if _record_path(r) in c.hidden or rr is None:
            text = c.t("suppression.withheld") if _record_path(r) in c.hidden else "—"
            rows.append(ChartRow(label, None, None, None, text))
            continue
        text = f"{loc.number(rr)} ({loc.span(loc.number(ci[0]), loc.number(ci[1]))})"
        rows.append(ChartRow(label, rr, ci[0], ci[1], text, highlight=r.get("change") == "ratio_changed"))
        values += [rr, ci[0], ci[1]]
        items.append(c.t("compare.chart_item", label=label, value=text))
    if not values:
        return None
    lo = max([v for v in _LOG_TICKS if v <= min(0.5, *values) * (1 + 1e-9)] or [_LOG_TICKS[0]])
    hi = min([v for v in _LOG_TICKS if v >= max(2.0, *values) * (1 - 1e-9)] or [_LOG_TICKS[-1]])
    ticks = tuple((v, short_number(loc, v)) for v in _LOG_TICKS if lo <= v <= hi)
    return Chart(id="chart-ratio-of-ratios", title=c.t("compare.chart_title", level=c.level),
                 description=c.t("compare.chart_desc", items="; ".join(items)),
                 body=IntervalChart(rows=tuple(rows), axis_label=c.t("compare.chart_axis"), domain=(lo, hi),
                                    ticks=ticks, log=True, reference=(1.0, "1")))


def _changes(c: _Ctx) -> Section:
    t = c.t
    records = c.doc.get("records") or []
    col = "compare.col."
    header = tuple(t(col + k) for k in ("group", "reference", "metric", "value_a", "value_b", "change", "ratio_a",
                                        "ratio_b", "rr", "p", "status"))
    blocks: list[Any] = [Table(caption=t("compare.changes_caption", level=c.level), header=header,
                               rows=tuple(_row(c, r) for r in records))]
    chart = _chart(c, records)
    if chart is not None:
        blocks.append(chart)
    return Section(id="changes", title=t("compare.changes_title"), blocks=tuple(blocks))


def _method(c: _Ctx) -> Section:
    method = c.doc.get("method") or {}
    blocks: list[Any] = [Paragraph(c.t("compare.method_independent", alpha=c.loc.number(method.get("alpha"), 2)))]
    if c.doc.get("same_data"):
        data = str((c.doc.get("data_sha256") or {}).get("a") or "—")
        blocks.append(Notice(c.t("compare.method_same_data", sha256=data), "info"))
    return Section(id="method", title=c.t("compare.method_title"), blocks=tuple(blocks))


def _inputs(c: _Ctx) -> Section:
    t = c.t
    compared = c.bundle.manifest.get("compared") or {}
    rows = tuple(TableRow((Cell(t(f"compare.col.{w}")), Cell(str(c.doc[w]["bundle"])),
                           Cell(str((compared.get(w) or {}).get("path", "—")), code=True),
                           Cell(str(c.doc[w]["manifest_sha256"]), code=True))) for w in ("a", "b"))
    table = Table(caption=t("compare.inputs_caption"), header=("", t("compare.col.bundle"), t("compare.col.path"),
                                                                t("compare.col.manifest")), rows=rows)
    return Section(id="inputs", title=t("compare.inputs_title"), blocks=(Paragraph(t("compare.inputs_text")), table))


def build_comparison_document(bundle: Bundle, lang: str = "en") -> Document:
    """The report of a comparison bundle in ``lang``."""
    c = _Ctx(bundle, lang)
    a, b = str(c.doc["a"]["bundle"]), str(c.doc["b"]["bundle"])
    title = c.t("compare.title", a=a, b=b)
    version = str(bundle.manifest.get("auditkit_version") or "?")
    sections = (_summary(c), _differences(c), _findings(c), _changes(c), _method(c), _inputs(c))
    legend = c.t("suppression.legend", k=c.loc.integer(c.k))
    sections = tuple(s if s.id != "changes" or not c.hidden else
                     Section(id=s.id, title=s.title, blocks=(*s.blocks, Paragraph(legend))) for s in sections)
    return Document(lang=c.loc.code, direction=c.loc.direction, title=title, subtitle=c.t("compare.subtitle", a=a, b=b),
                    citation=c.t("doc.citation", title=title, version=version, sha256=bundle.manifest_sha256),
                    sections=sections, labels={key: c.t(f"doc.{key}") for key in ("contents", "skip")},
                    generator=f"auditkit {version}")


def render_comparison(bundle: Bundle, lang: str, formats: Sequence[str], out: Path) -> list[Path]:
    """Write ``report.LANG.FORMAT`` (html, pdf, md) of a comparison bundle into ``out``."""
    from .._output import write_bytes

    other = [f for f in formats if f not in ("html", "pdf", "md")]
    if other:
        raise UsageError(f"A comparison bundle has no {other[0]!r} report; its formats are html, pdf and md.")
    doc = build_comparison_document(bundle, lang)
    written = []
    html = None
    for fmt in formats:
        path = out / f"report.{doc.lang}.{fmt}"
        if fmt in ("html", "pdf") and html is None:
            from ._html import render_html

            html = render_html(doc)
        if fmt == "html":
            write_bytes(path, html.encode("utf-8"))
        elif fmt == "pdf":
            from ._pdf import render_pdf

            write_bytes(path, render_pdf(html))
        else:
            from ._markdown import render_markdown

            write_bytes(path, render_markdown(doc).encode("utf-8"))
        written.append(path)
    return written
