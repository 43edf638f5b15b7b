"""The report's section on area estimates (results key ``linkage``): three estimates side by side.

Each group's assumption-free bounds, area-weighted estimate and ecological-regression estimate stand in
one row, with the assumption of each stated under the table, the regression's diagnostic and the join's
report.  Rates only: no count of people below the publishing minimum is shown (the per-area counts stay
in results.json).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._context import Context
from ._document import Cell, Paragraph, Section, Table, TableRow

__all__ = ["linkage_headline", "linkage_section"]


def _span(ctx: Context, pair: Any, percent: bool = True) -> str:
    lo, hi = (pair or [None, None])[:2]
    fmt = ctx.loc.percent if percent else ctx.loc.number
    no = ctx.t("linkage.no_bound")
    return ctx.loc.span(fmt(lo) if lo is not None else no, fmt(hi) if hi is not None else no)


def _estimate(ctx: Context, est: Mapping[str, Any], reference: bool) -> str:
    text = f"{ctx.loc.percent(est.get('rate'))} ({_span(ctx, est.get('ci'))})"
    if not reference and est.get("ratio") is not None:
        text += f"; × {ctx.loc.number(est['ratio'])} ({_span(ctx, est.get('ratio_ci'), False)})"
    return text


def _row(ctx: Context, g: Mapping[str, Any]) -> TableRow:
    ref = bool(g.get("is_reference"))
    b = g.get("bounds") or {}
    return TableRow((Cell(str(g.get("group"))), Cell(_span(ctx, b.get("rate")), numeric=True),
                     Cell("—" if ref else _span(ctx, b.get("ratio"), False), numeric=True),
                     Cell(_estimate(ctx, g.get("weighted") or {}, ref), numeric=True),
                     Cell(_estimate(ctx, g.get("ecological") or {}, ref), numeric=True)), emphasis=ref)


def _join(ctx: Context, join: Mapping[str, Any], matched: int) -> str:
    n = ctx.loc.integer
    d = join.get("decided_without_composition") or {}
    return ctx.t("linkage.join", matched=n(matched), unmatched=n(d.get("areas", 0)), people=n(d.get("people", 0)),
                 no_decisions=n((join.get("composition_without_decisions") or {}).get("areas", 0)),
                 mapped=n((join.get("crosswalk") or {}).get("mapped_areas", 0)),
                 rematched=n(len(join.get("rematched") or [])))


def linkage_headline(ctx: Context) -> Paragraph:
    """The summary's headline of an area audit: what kind of evidence this is, and where the estimates are."""
    link = ctx.results["linkage"]
    return Paragraph(ctx.t("linkage.headline", attribute=str(link["attribute"]), areas=ctx.loc.integer(link["areas"]),
                           composition=str(link["composition"]["source"])), style="headline")


def linkage_section(ctx: Context) -> Section | None:
    """The section, or None when the results hold no area estimates."""
    link = ctx.results.get("linkage")
    if not isinstance(link, Mapping):
        return None
    t = ctx.t
    source = str((ctx.results.get("population") or {}).get("source", ""))
    blocks: list[Any] = [Paragraph(t("linkage.intro", attribute=str(link["attribute"]), source=source,
                                     composition=str(link["composition"]["source"]),
                                     areas=ctx.loc.integer(link["areas"]), reference=str(link["reference"])))]
    level = ctx.level
    header = (t("linkage.col_group"), t("linkage.col_bounds"), t("linkage.col_bounds_ratio"),
              t("linkage.col_weighted", level=level), t("linkage.col_ecological", level=level))
    blocks.append(Table(t("linkage.title"), header, tuple(_row(ctx, g) for g in link["groups"])))
    # The assumptions in the report's language (results.json states them in English).
    for key in ("bounds", "weighted", "ecological", "all"):
        blocks.append(Paragraph(t(f"linkage.assumption_{key}", text=t(f"linkage.text_{key}", source=source))))
    diag = link.get("diagnostics") or {}
    blocks.append(Paragraph(t("linkage.diagnostics", dispersion=ctx.loc.number(diag.get("ecological_dispersion")),
                              outside=t("linkage.outside") if diag.get("ecological_outside_unit_interval") else "")))
    blocks.append(Paragraph(_join(ctx, link.get("join") or {}, int(link["areas"]))))
    return Section(id="linkage", title=t("linkage.title"), blocks=tuple(blocks))
