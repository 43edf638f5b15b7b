"""The model card's published specification (weights, points or rules, as the agency wrote them) and what is
known about retraining (the card's ``learning`` and the template's ``system.retraining`` / ``feedback_loop``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._context import Context, pick
from ._document import Block, BulletList, Cell, KeyValues, Table, TableRow

__all__ = ["learning_blocks", "spec_blocks"]


def _edge(ctx: Context, x: Any) -> str:
    return "—" if x is None else ctx.loc.number(float(x), 2).rstrip("0").rstrip(ctx.loc.meta["decimal"])


def _term_rows(ctx: Context, term: Mapping[str, Any]) -> list[TableRow]:
    t, loc = ctx.t, ctx.loc
    var = str(term.get("variable"))
    rows = []
    if "weight" in term:
        how = [str(term["transform"])] if term.get("transform") else []
        if term.get("cap"):
            how.append(t("spec.cap", low=_edge(ctx, term["cap"][0]), high=_edge(ctx, term["cap"][1])))
        rows.append((var, ", ".join(how) or t("spec.per_unit"), term["weight"]))
    for level, weight in (term.get("levels") or {}).items():
        rows.append((var, f"= {level}", weight))
    if term.get("reference") is not None:
        rows.append((var, t("spec.reference", level=str(term["reference"])), 0.0))
    for band in term.get("bands") or []:
        rows.append((var, t("spec.band", low=_edge(ctx, band.get("from")), high=_edge(ctx, band.get("to"))),
                     band.get("weight")))
    if term.get("missing") is not None:
        rows.append((var, t("spec.missing"), term["missing"]))
    return [TableRow((Cell(v, code=True), Cell(what), Cell(loc.number(w, 4, sign=True), numeric=True)))
            for v, what, w in rows]


def _rules_table(ctx: Context, coefficients: Mapping[str, Any]) -> Table:
    t = ctx.t
    rows = []
    for i, rule in enumerate(coefficients.get("rules") or [], start=1):
        conditions = t("spec.and").join(f"{c.get('column')} {c.get('op')} {c.get('value')}"
                                        for c in rule.get("if") or [])
        rows.append(TableRow((Cell(str(i), numeric=True), Cell(str(rule.get("name", ""))), Cell(conditions, code=True),
                              Cell(t("spec.flag") if rule.get("then") == "flag" else t("spec.no_flag")))))
    default = coefficients.get("default") == "flag"
    rows.append(TableRow((Cell("—"), Cell(t("spec.default")), Cell("—"),
                          Cell(t("spec.flag") if default else t("spec.no_flag"))), emphasis=True))
    return Table(caption=t("spec.rules_caption"),
                 header=(t("spec.col.order"), t("spec.col.rule"), t("spec.col.if"), t("spec.col.then")),
                 rows=tuple(rows))


def spec_blocks(ctx: Context, card: Mapping[str, Any]) -> list[Block]:
    """The published specification as a readable table (nothing for a model file)."""
    coefficients = card.get("coefficients")
    if not str(card.get("family", "")).startswith("published specification") or not isinstance(coefficients, Mapping):
        return []
    t, loc = ctx.t, ctx.loc
    if "rules" in coefficients:
        return [_rules_table(ctx, coefficients)]
    scorecard = "base_points" in coefficients
    first = coefficients.get("base_points" if scorecard else "intercept")
    rows = [TableRow((Cell(t("spec.base" if scorecard else "spec.intercept")), Cell("—"),
                      Cell(loc.number(first, 4, sign=True), numeric=True)), emphasis=True)]
    for term in coefficients.get("terms") or []:
        rows += _term_rows(ctx, term)
    notes = []
    if scorecard and coefficients.get("cutoff") is not None:
        notes.append(t("spec.cutoff", cutoff=loc.number(coefficients["cutoff"], 2)))
    if not scorecard:
        notes.append(t(f"spec.link_{coefficients.get('link', 'identity')}"))
    return [Table(caption=t("spec.points_caption" if scorecard else "spec.weights_caption"),
                  header=(t("spec.col.variable"), t("spec.col.value"),
                          t("spec.col.points" if scorecard else "spec.col.weight")),
                  rows=tuple(rows), notes=tuple(notes))]


def learning_blocks(ctx: Context, card: Mapping[str, Any]) -> list[Block]:
    """What the file shows about learning, and what the template declares about retraining."""
    learning = card.get("learning")
    if not isinstance(learning, Mapping):
        return []
    t = ctx.t
    rows = [(t("spec.learning_file"), Cell(ctx.loc.label("learning", str(learning.get("model")))))]
    system = (ctx.results.get("template") or {}).get("system") if isinstance(ctx.results.get("template"),
                                                                               Mapping) else None
    for key in ("retraining", "feedback_loop"):
        value = system.get(key) if isinstance(system, Mapping) else None
        if value is not None:
            text, lang = (ctx.loc.label("retraining", str(value)), None) if key == "retraining" \
                else pick(value, ctx.loc.code)
            if text:
                rows.append((t(f"spec.declared_{key}"), Cell(text, lang=lang)))
    blocks: list[Block] = [KeyValues(t("spec.learning_caption"), tuple(rows))]
    evidence, lang = ctx.analysis_list(learning.get("evidence") or [])
    if evidence:
        blocks.append(BulletList(evidence, lang=lang))
    return blocks
