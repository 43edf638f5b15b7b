"""The checklist section: the scored human-rights impact assessment, rendered from whatever keys it has.

The scored assessment (``checklist.json``) is written by :mod:`auditkit.checklist`; its shape may grow.
Known keys get a place and an order; any other list becomes a table of its entries, any other value a
labelled row, so nothing present is dropped and nothing missing breaks the report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._context import Context, pick
from ._document import Block, Cell, KeyValues, Paragraph, Section, Table, TableRow

__all__ = ["checklist_section"]

_ID_KEYS = ("item", "id", "right", "flag", "question_id")
_TEXT_KEYS = ("title", "text", "question", "reason", "message", "description", "statement")
_LISTS = ("red_flags", "red_flags_unresolved", "rights", "contradictions", "gates_open", "gaps",
          "filled_from_evidence", "suggestions", "coverage", "evidence_unavailable", "evidence_references_unmatched",
          "rule_errors")
_ALWAYS_SHOWN = ("red_flags", "gaps", "contradictions")
_SKIPPED = ("instrument", "assessment", "results_read", "impact", "comparison_total")


def _short(value: Any, lang: str) -> str:
    if isinstance(value, Mapping) and value and all(isinstance(v, str) for v in value.values()):
        return pick(value, lang)[0]
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return ", ".join(map(str, value))
    if isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
        return "; ".join(" ".join(f"{k}={v}" for k, v in entry.items() if isinstance(v, (str, int, float)))
                         for entry in value)
    if isinstance(value, (Mapping, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _entry(ctx: Context, entry: Any) -> tuple[Cell, Cell, Cell]:
    """(id, explanation, other details) of one checklist entry, whatever its shape."""
    lang = ctx.loc.code
    if not isinstance(entry, Mapping):
        text, in_lang = pick(entry, lang)
        return (Cell(text), Cell(""), Cell("")) if " " not in text.strip() else (Cell("—"), Cell(text, lang=in_lang),
                                                                                 Cell(""))
    ident = next((str(entry[k]) for k in _ID_KEYS if isinstance(entry.get(k), (str, int))), "—")
    texts, langs = [], set()
    for key in _TEXT_KEYS:
        if entry.get(key) not in (None, "", {}):
            text, in_lang = pick(entry[key], lang)
            if isinstance(entry[key], str) and " " not in text:
                text, in_lang = ctx.loc.label("checklist.value", text), None
            texts.append(text)
            langs.add(in_lang)
    details = [f"{ctx.loc.label('checklist.key', k)}: {_short(v, lang)}" for k, v in entry.items()
               if k not in _ID_KEYS + _TEXT_KEYS and v not in (None, "", [], {})]
    in_lang = langs.pop() if len(langs) == 1 else None
    return Cell(ident), Cell(" — ".join(texts), lang=in_lang), Cell("; ".join(details))


def _summary_rows(ctx: Context, check: Mapping[str, Any]) -> list[tuple[str, Cell]]:
    t, loc, lang = ctx.t, ctx.loc, ctx.loc.code
    rows: list[tuple[str, Cell]] = []
    instrument = check.get("instrument")
    if isinstance(instrument, Mapping):
        title, in_lang = pick(instrument.get("title"), lang)
        ident = " ".join(str(instrument[k]) for k in ("id", "version") if instrument.get(k))
        rows.append((t("checklist.instrument"), Cell(f"{title} ({ident})" if title and ident else title or ident,
                                                     lang=in_lang)))
    elif instrument:
        rows.append((t("checklist.instrument"), Cell(str(instrument))))
    assessment = check.get("assessment")
    if isinstance(assessment, Mapping):
        system = assessment.get("system") or {}
        for label, value in ((t("checklist.assessment_title"), assessment.get("title")),
                             (t("checklist.system"), system.get("name") if isinstance(system, Mapping) else None)):
            if value:
                rows.append((label, Cell(str(value))))
    for key, value in check.items():
        if key in _SKIPPED or isinstance(value, list) or value is None:
            continue
        label = loc.label("checklist.key", key)
        if isinstance(value, str):
            rows.append((label, Cell(loc.label("checklist.value", value))))
        elif isinstance(value, Mapping) and lang in value or isinstance(value, (int, float, bool)):
            rows.append((label, Cell(pick(value, lang)[0])))
        else:
            rows.append((label, Cell(json.dumps(value, ensure_ascii=False, sort_keys=True), code=True)))
    impact = check.get("impact")
    if isinstance(impact, Mapping) and impact.get("overridden_by_red_flags"):
        rows.append((t("checklist.overridden"), Cell(", ".join(map(str, impact["overridden_by_red_flags"])))))
    total = check.get("comparison_total")
    if isinstance(total, Mapping) and {"final", "max_impact", "level"} <= set(total):
        rows.append((t("checklist.comparison_total"),
                     Cell(t("checklist.comparison_value", points=loc.integer(total["final"]),
                            max=loc.integer(total["max_impact"]), level=str(total["level"])))))
    return rows


def checklist_section(ctx: Context) -> Section | None:
    """The scored impact assessment: headline, red flags, seriousness per right, gaps, contradictions, ..."""
    check = ctx.bundle.checklist
    if not check:
        return None
    t = ctx.t
    rows = _summary_rows(ctx, check)
    blocks: list[Block] = [KeyValues(t("checklist.caption"), tuple(rows))] if rows else []
    extra = [k for k, v in check.items() if isinstance(v, list) and k not in _LISTS]
    for key in (*_LISTS, *extra):
        entries = check.get(key)
        if not isinstance(entries, list):
            continue
        title = ctx.loc.label("checklist.list", key)
        if not entries:
            if key in _ALWAYS_SHOWN:
                blocks.append(Paragraph(t("checklist.none", what=title)))
            continue
        blocks.append(Table(caption=title, header=(t("checklist.col.item"), t("checklist.col.explanation"),
                                                   t("checklist.col.details")),
                            rows=tuple(TableRow(_entry(ctx, e), emphasis=key == "red_flags") for e in entries)))
    return Section(id="checklist", title=t("checklist.title"), blocks=tuple(blocks))
