"""Sections on groups: one table per attribute and rate, with charts; stratified, random-sample, stages."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..findings import comparison_path
from ._build_many import MANY, many_groups
from ._context import Context, anchor_for, nice_ticks, reference_rule_text, short_number
from ._document import Cell, Chart, ChartRow, IntervalChart, Paragraph, Section, Table, TableRow

__all__ = ["analysis_sections", "group_sections", "ratio_chart"]

_LOG_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def _metrics(results: Mapping[str, Any], attr: str) -> list[str]:
    seen: dict[str, None] = {}
    for c in results.get("comparisons", []):
        if c.get("attribute") == attr:
            seen.setdefault(str(c.get("metric")))
    order = ["selection_rate", "ppv"]
    return sorted(seen, key=lambda m: (order.index(m) if m in order else len(order), list(seen).index(m)))


def _status(ctx: Context, c: Mapping[str, Any]) -> Cell:
    status = str(c.get("status", ""))
    return Cell(ctx.loc.label("status", status) if status else "—")


def _p(ctx: Context, c: Mapping[str, Any], ok: bool) -> Cell:
    uses = (ctx.results.get("multiple_testing") or {}).get("status_uses", "holm")
    key = "p_bh" if uses in ("bh", "benjamini-hochberg") else "p_holm"
    return Cell(ctx.loc.p_value(c.get(key)) if ok else ctx.t("suppression.withheld"), suppressed=not ok, numeric=True)


def _metric_table(ctx: Context, attr: str, metric: str, groups: list[Mapping[str, Any]],
                  comps: dict[str, Mapping[str, Any]], split: str = "") -> Table:
    t, loc = ctx.t, ctx.loc
    rows = []
    for g in groups:
        name, rec = str(g["group"]), g.get(metric) or {}
        where = f"groups/{attr}/{name}/{metric}" + (f"/within/{split}" if split else "")
        rate_ok = ctx.sup.group_rate_ok(attr, name, metric, rec)
        c = comps.get(name)
        num_bounds, den_bounds = ctx.rate_bounds(rec)  # suppressed cells in the source: ranges
        n_cell = ctx.masked_count(rec.get("denominator"), ctx.sup.count_hidden(attr, name, metric, "den"),
                                  where + "/denominator", den_bounds)
        num_cell = ctx.masked_count(rec.get("numerator"), ctx.sup.count_hidden(attr, name, metric, "num"),
                                    where + "/numerator", num_bounds)
        # Within an intersection's split, a cell at the split attribute's reference level is a reference.
        is_ref = split in (g.get("reference_for") or []) if split else bool(g.get("is_reference"))
        label = ctx.group_label(attr, name) + (f" ({t('groups.reference')})" if is_ref else "")
        cells = [Cell(label), n_cell, num_cell, ctx.rate(rec, rate_ok, where)]
        if is_ref or c is None:
            cells += [Cell("—", numeric=True), Cell("—", numeric=True), Cell("—", numeric=True),
                      Cell(t("groups.reference") if is_ref else loc.label("status", "undefined"))]
        else:
            ok = ctx.sup.comparison_ok(c)
            cells += [ctx.ratio(c, ok, where + "/ratio"), ctx.difference(c, ok, where + "/difference"),
                      _p(ctx, c, ok), _status(ctx, c) if ok else Cell(t("suppression.withheld"), suppressed=True)]
        anchor = anchor_for(comparison_path(c) if c is not None else where)
        if c is not None:
            ctx.anchors[comparison_path(c)] = (anchor, not ctx.sup.comparison_ok(c))
        ctx.anchors[where] = (anchor, not rate_ok)
        rows.append(TableRow(tuple(cells), anchor=anchor, emphasis=is_ref))
    header = (t("groups.col.group"), loc.label("metric_denominator", metric), loc.label("metric_numerator", metric),
              t("groups.col.rate", level=ctx.level), t("groups.col.ratio", level=ctx.level),
              t("groups.col.difference", level=ctx.level), t("groups.col.p"), t("groups.col.status"))
    return Table(caption=t("groups.table_caption", metric=loc.label("metric", metric), attribute=ctx.attr_label(attr)),
                 header=header, rows=tuple(rows))


def _rate_chart(ctx: Context, attr: str, metric: str, groups: list[Mapping[str, Any]]) -> Chart | None:
    t, loc = ctx.t, ctx.loc
    rows, highs, described = [], [], []
    ref_line = None
    for g in groups:
        name, rec = str(g["group"]), g.get(metric) or {}
        ok = ctx.sup.group_rate_ok(attr, name, metric, rec)
        value = rec.get("value") if ok else None
        if ok and value is not None:
            cell = ctx.rate(rec)
            text = f"{cell.text} ({cell.detail})"
            highs.append(rec.get("ci_high") or value)
            described.append(t("chart.rate_item", group=ctx.group_label(attr, name), value=loc.percent(value)))
            if g.get("is_reference"):
                ref_line = (value, t("chart.reference_rate", group=ctx.group_label(attr, name), value=loc.percent(value)))
        elif ok and rec.get("bounds"):
            text = t("cell.bounded_rate", low=loc.percent(rec["bounds"][0]), high=loc.percent(rec["bounds"][1]),
                     ci=loc.span(loc.percent(rec.get("ci_low")), loc.percent(rec.get("ci_high"))))
        else:
            text = t("suppression.withheld") if not ok else "—"
        label = ctx.group_label(attr, name) + (f" ({t('groups.reference')})" if g.get("is_reference") else "")
        rows.append(ChartRow(label, value, rec.get("ci_low") if value is not None else None,
                             rec.get("ci_high") if value is not None else None, text, bool(g.get("is_reference"))))
    if not highs:
        return None
    ticks = nice_ticks(max(highs))
    return Chart(id=anchor_for(f"chart/rate/{attr}/{metric}"),
                 title=t("chart.rate_title", metric=loc.label("metric", metric), attribute=ctx.attr_label(attr), level=ctx.level),
                 description=t("chart.rate_desc", metric=loc.label("metric", metric), attribute=ctx.attr_label(attr),
                               level=ctx.level, items="; ".join(described)),
                 body=IntervalChart(rows=tuple(rows), axis_label=loc.label("metric", metric),
                                    domain=(0.0, ticks[-1]),
                                    ticks=tuple((v, loc.percent(v, 0 if abs(v * 100 - round(v * 100)) < 1e-9 else 1))
                                                for v in ticks),
                                    reference=ref_line))


def _log_domain(values: list[float]) -> tuple[float, float]:
    """From the labelled tick at or below the smallest value (at most 0.5) to the one at or above the largest."""
    finite = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    lo = min([0.5, *finite])
    hi = max([2.0, *finite])
    lo = max([t for t in _LOG_TICKS if t <= lo * (1 + 1e-9)] or [_LOG_TICKS[0]])
    hi = min([t for t in _LOG_TICKS if t >= hi * (1 - 1e-9)] or [_LOG_TICKS[-1]])
    return lo, hi


def within_split(ctx: Context, attr: str, comps: list[Mapping[str, Any]],
                 varies: str | None = None) -> tuple[list[Mapping[str, Any]], str]:
    """An intersection compared within the other attributes' levels has one comparison per cell and
    attribute: the comparisons of one attribute (``varies``, default the first) and the words naming
    their reference ('Nederlands (Nationaliteit)', the template's labels); other comparisons come back unchanged with no words."""
    if not any(c.get("held") for c in comps):
        return comps, ""
    varies = varies if varies is not None else comps[0].get("varies")
    a = next((x for x in ctx.results.get("attributes", []) if x.get("attribute") == attr), {})
    level = str((a.get("reference_levels") or {}).get(varies))
    varies_name = str(varies)
    return ([c for c in comps if c.get("varies") == varies],
            f"{ctx.group_label(varies_name, level)} ({ctx.attr_label(varies_name)})")


def ratio_chart(ctx: Context, attr: str, comps: list[Mapping[str, Any]], highlight: str | None = None) -> Chart | None:
    """Selection-rate ratios of ``attr``'s groups to the reference on a log axis; ``highlight`` marks one group.

    An intersection compared within the other attributes' levels is drawn for one attribute's
    comparisons (the highlighted group's, else the first attribute's): see :func:`within_split`.
    """
    t, loc = ctx.t, ctx.loc
    varies = next((c.get("varies") for c in comps if highlight is not None and str(c.get("group")) == highlight), None)
    comps, within = within_split(ctx, attr, comps, varies)
    rows, values, described = [], [], []
    reference = within
    for c in comps:
        reference = within or ctx.group_label(attr, str(c.get("reference")))
        label = ctx.group_label(attr, str(c["group"]))
        ok = ctx.sup.comparison_ok(c)
        ratio, ci = c.get("ratio"), c.get("ratio_ci") or [None, None]
        if ok and ratio is not None:
            text = f"{loc.number(ratio)} ({loc.span(loc.number(ci[0]), loc.number(ci[1]))})"
            values += [v for v in (ratio, ci[0], ci[1]) if v is not None]
            described.append(t("chart.ratio_item", group=label, value=loc.number(ratio),
                               low=loc.number(ci[0]), high=loc.number(ci[1])))
            rows.append(ChartRow(label, ratio, ci[0], ci[1], text, highlight=str(c["group"]) == highlight))
        elif ok and c.get("ratio_bounds"):
            b = c["ratio_bounds"]
            rows.append(ChartRow(label, None, None, None,
                                 t("cell.bounded_ratio", low=loc.number(b[0]), high=loc.number(b[1]),
                                   ci=loc.span(loc.number(ci[0]), loc.number(ci[1])))))
        else:
            rows.append(ChartRow(label, None, None, None, t("suppression.withheld") if not ok else "—"))
    if not values:
        return None
    lo, hi = _log_domain(values)
    band = ctx.band
    wanted = sorted({*_LOG_TICKS, *(band if hi / lo <= 8 else ())})
    ticks = tuple((v, short_number(loc, v)) for v in wanted if lo <= v <= hi)
    return Chart(id=anchor_for(f"chart/ratio/{attr}" + (f"/within/{comps[0].get('varies')}" if within else "")),
                 title=(t("chart.ratio_title_within", varies=ctx.attr_label(str(comps[0].get("varies"))),
                          attribute=ctx.attr_label(attr), reference=reference, level=ctx.level) if within else
                        t("chart.ratio_title", attribute=ctx.attr_label(attr), reference=reference, level=ctx.level)),
                 description=ctx.band_text("chart.ratio_desc", attribute=ctx.attr_label(attr), reference=reference,
                                           level=ctx.level, items="; ".join(described)),
                 body=IntervalChart(rows=tuple(rows), axis_label=t("chart.ratio_axis", reference=reference),
                                    domain=(lo, hi), ticks=ticks, log=True,
                                    reference=(1.0, t("chart.ratio_reference", reference=reference)),
                                    band=(*band, ctx.band_text("chart.band_label"))))


def group_sections(ctx: Context) -> list[Section]:
    """One subsection per attribute: a table per rate compared, and the selection-rate charts."""
    results, t = ctx.results, ctx.t
    out = []
    for a in results.get("attributes", []):
        attr = str(a.get("attribute"))
        groups = [g for g in results.get("groups", []) if str(g.get("attribute")) == attr]
        blocks: list[Any] = [Paragraph(t("groups.reference_sentence", reference=ctx.group_label(attr, str(a.get("reference"))),
                                         rule=reference_rule_text(ctx, str(a.get("reference_rule", "")), a)))]
        if a.get("groups_small") or a.get("groups_empty"):
            blocks.append(Paragraph(t("groups.small_empty", small=ctx.loc.integer(a.get("groups_small", 0)),
                                      empty=ctx.loc.integer(a.get("groups_empty", 0)))))
        for metric in _metrics(results, attr):
            comps = [c for c in results.get("comparisons", []) if c.get("attribute") == attr
                     and c.get("metric") == metric]
            if len(groups) > MANY:
                blocks += _many(ctx, a, metric, groups, comps)
                continue
            if metric == "selection_rate":
                chart = _rate_chart(ctx, attr, metric, groups)
                blocks += [chart] if chart else []
            blocks += _comparison_blocks(ctx, a, metric, groups, comps)
        out.append(Section(id=anchor_for(f"attribute/{attr}"), title=t("groups.attribute_title", attribute=ctx.attr_label(attr)),
                           blocks=tuple(blocks)))
    return out


def _many(ctx: Context, a: Mapping[str, Any], metric: str, groups: list[Mapping[str, Any]],
          comps: list[Mapping[str, Any]]) -> list[Any]:
    """The condensed section of an attribute with many groups, once per attribute compared within an intersection."""
    from dataclasses import replace

    attr = str(a.get("attribute"))
    if not any(c.get("held") for c in comps):
        return many_groups(ctx, attr, metric, groups, comps)
    blocks: list[Any] = []
    for varies in dict.fromkeys(c.get("varies") for c in comps):
        blocks.append(_within_sentence(ctx, a, varies))
        part = many_groups(ctx, attr, metric, groups, [c for c in comps if c.get("varies") == varies])
        blocks += [replace(b, id=f"{b.id}-{anchor_for(str(varies))}") if isinstance(b, Chart) else b for b in part]
    return blocks


def _within_sentence(ctx: Context, a: Mapping[str, Any], varies: Any) -> Paragraph:
    """'Compared by Nationality: each group against the group with Nationality Dutch and the same Gender.'"""
    level = str((a.get("reference_levels") or {}).get(varies))
    others = ", ".join(ctx.attr_label(str(x)) for x in a.get("attributes", []) if x != varies)
    name = ctx.attr_label(str(varies))
    return Paragraph(ctx.t("groups.within_sentence", attribute=name, reference=ctx.group_label(str(varies), level),
                           others=others))


def _comparison_blocks(ctx: Context, a: Mapping[str, Any], metric: str, groups: list[Mapping[str, Any]],
                       comps: list[Mapping[str, Any]]) -> list[Any]:
    """The ratio chart and table of one rate; an intersection compared within the other attributes'
    levels has one of each per attribute (a cell has one comparison per attribute)."""
    attr = str(a.get("attribute"))
    within = any(c.get("held") for c in comps)
    splits = list(dict.fromkeys(c.get("varies") for c in comps)) if within else [None]
    blocks: list[Any] = []
    for varies in splits:
        part = [c for c in comps if not within or c.get("varies") == varies]
        if within:
            blocks.append(_within_sentence(ctx, a, varies))
        if metric == "selection_rate":
            chart = ratio_chart(ctx, attr, part)
            blocks += [chart] if chart else []
        blocks.append(_metric_table(ctx, attr, metric, groups, {str(c["group"]): c for c in part},
                                    str(varies) if within else ""))
    return blocks


def analysis_sections(ctx: Context) -> list[Section]:
    """Stratified comparisons, random sample against model selection, and process stages, when present."""
    from ._build_analyses import selection_method_section, stages_section, stratified_section

    from ._build_periods import periods_section

    return [s for s in (stratified_section(ctx), selection_method_section(ctx), stages_section(ctx),
                        periods_section(ctx)) if s]

