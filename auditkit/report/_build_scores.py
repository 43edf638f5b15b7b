"""The report's "Scores by group" part: calibration, ROC/AUC and the threshold sweep (results' ``score_behaviour``).

Charts are drawn by :mod:`auditkit.report._lines`; every figure in a chart is also in a table next to it (the
Markdown report keeps only the tables).  A bin, a rate or a curve resting on fewer than k people is left out,
as everywhere in the report, and groups below the audit's minimum size carry the small-group mark.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._context import Context, anchor_for, nice_ticks, short_number
from ._document import Block, Cell, Chart, Paragraph, Section, Table, TableRow
from ._lines import XYSeries, Lines

__all__ = ["scores_section"]

_MAX_SERIES = 8


def _label(ctx: Context, g: Mapping[str, Any]) -> str:
    name = ctx.group_label(str(g.get("attribute")), str(g.get("group")))
    return ctx.t("scores.small", group=name) if g.get("small_group") else name


def _hidden(ctx: Context, g: Mapping[str, Any]) -> bool:
    return ctx.sup.small(g.get("n")) or ctx.sup.group_hidden(str(g.get("attribute")), str(g.get("group")))


def _ticks(ctx: Context, lo: float, hi: float, percent: bool = False) -> tuple[tuple[float, str], ...]:
    values = [v for v in nice_ticks(hi, 5) if v >= lo] if hi > 0 else [lo, hi]
    return tuple((v, ctx.loc.percent(v, 0) if percent else short_number(ctx.loc, v)) for v in values)


def _calibration_chart(ctx: Context, attr: str, groups: list[Mapping[str, Any]], probability: bool) -> Chart | None:
    series = []
    for g in groups[:_MAX_SERIES]:
        points = []
        for b in g.get("calibration") or []:
            rate = b.get("observed_rate") or {}
            ok = not _hidden(ctx, g) and ctx.sup.rate_ok(rate) and rate.get("value") is not None
            x = b.get("mean_score") if b.get("mean_score") is not None else (b["low"] + b["high"]) / 2
            points.append((float(x), rate.get("value") if ok else None, rate.get("ci_low") if ok else None,
                           rate.get("ci_high") if ok else None))
            if not ok and b.get("n"):
                ctx.sup.note(f"scores/{attr}/{g.get('group')}/calibration")
        series.append(XYSeries(_label(ctx, g), tuple(points)))
    xs = [p[0] for s in series for p in s.points]
    ys = [v for s in series for p in s.points if p[1] is not None for v in (p[1], p[3]) if v is not None]
    if not xs or not ys:
        return None
    highs = [float(b["high"]) for g in groups for b in g.get("calibration") or []]
    x_lo = 0.0 if probability else min(xs)
    x_hi = nice_ticks(max(highs + xs), 5)[-1] if probability else max(xs)
    y_hi = nice_ticks(max(ys + ([x_hi] if probability else [])), 5)[-1]
    label = ctx.attr_label(attr)
    return Chart(id=anchor_for(f"chart/calibration/{attr}"), title=ctx.t("scores.cal_title", attribute=label),
                 description=ctx.t("scores.cal_desc", attribute=label, level=ctx.level),
                 body=Lines(series=tuple(series), x_label=ctx.t("scores.cal_x"), y_label=ctx.t("scores.cal_y"),
                            x_domain=(x_lo, x_hi), y_domain=(0.0, min(y_hi, 1.0)), x_ticks=_ticks(ctx, x_lo, x_hi),
                            y_ticks=_ticks(ctx, 0.0, min(y_hi, 1.0), percent=True),
                            diagonal=ctx.t("scores.cal_diagonal") if probability else ""),
                 legend_label=ctx.t("chart.legend_groups"))


def _roc_chart(ctx: Context, attr: str, groups: list[Mapping[str, Any]]) -> Chart | None:
    series = []
    for g in groups[:_MAX_SERIES]:
        auc = g.get("auc") or {}
        if _hidden(ctx, g) or ctx.sup.small(auc.get("n_positive")) or ctx.sup.small(auc.get("n_negative")):
            if g.get("roc"):
                ctx.sup.note(f"scores/{attr}/{g.get('group')}/roc")
            continue
        points = tuple((float(p["fpr"]), float(p["tpr"]), None, None) for p in g.get("roc") or [])
        if points:
            series.append(XYSeries(_label(ctx, g), ((0.0, 0.0, None, None),) + points + ((1.0, 1.0, None, None),)))
    if not series:
        return None
    ticks = _ticks(ctx, 0.0, 1.0, percent=True)
    return Chart(id=anchor_for(f"chart/roc/{attr}"), title=ctx.t("scores.roc_title", attribute=ctx.attr_label(attr)),
                 description=ctx.t("scores.roc_desc", attribute=ctx.attr_label(attr)),
                 body=Lines(series=tuple(series), x_label=ctx.t("scores.roc_x"), y_label=ctx.t("scores.roc_y"),
                            x_domain=(0.0, 1.0), y_domain=(0.0, 1.0), x_ticks=ticks, y_ticks=ticks,
                            diagonal=ctx.t("scores.roc_diagonal")),
                 legend_label=ctx.t("chart.legend_groups"))


def _share(cut: Mapping[str, Any], rows: int) -> float | None:
    """The x position of a cut-off: its top-k percent, or the operating point's share selected."""
    if cut.get("top_percent") is not None:
        return float(cut["top_percent"])
    return 100.0 * cut.get("selected", 0) / rows if rows else None


def _sweep_chart(ctx: Context, sweep: Mapping[str, Any], groups: Mapping[str, Mapping[str, Any]],
                 rows: int) -> Chart | None:
    attr, reference = str(sweep.get("attribute")), str(sweep.get("reference"))
    cuts = [c for c in sweep.get("cutoffs") or [] if c.get("kind") == "top"]
    operating = next((c for c in sweep.get("cutoffs") or [] if c.get("kind") != "top"), None)
    names = [str(g.get("group")) for g in (cuts[0].get("groups") if cuts else []) if str(g.get("group")) != reference]
    series, highs = [], [1.0]
    for name in names[:_MAX_SERIES]:
        g = groups.get(name, {"attribute": attr, "group": name})
        points = []
        for c in cuts:
            rec = next((x for x in c.get("groups") or [] if str(x.get("group")) == name), {})
            ref = next((x for x in c.get("groups") or [] if str(x.get("group")) == reference), {})
            sel = rec.get("selection_rate") or {}
            ci = sel.get("ratio_ci") or [None, None]
            ok = (not _hidden(ctx, g) and ctx.sup.rate_ok(sel) and sel.get("ratio") is not None
                  and not _hidden(ctx, groups.get(reference, {})) and ctx.sup.rate_ok(ref.get("selection_rate")))
            points.append((float(c["top_percent"]), sel.get("ratio") if ok else None, ci[0] if ok else None,
                           ci[1] if ok else None))
            highs += [v for v in (sel.get("ratio"), ci[1]) if ok and v is not None]
        series.append(XYSeries(_label(ctx, g), tuple(points)))
    if not any(p[1] is not None for s in series for p in s.points):
        return None
    top = min(max(highs), 10.0)
    x_hi = max(float(c["top_percent"]) for c in cuts)
    share = _share(operating, rows) if operating else None
    marker = (share, ctx.t("scores.operating", share=ctx.loc.number(share, 1))) if share is not None else None
    ref, label, y_top = ctx.group_label(attr, reference), ctx.attr_label(attr), nice_ticks(top, 5)[-1]
    return Chart(id=anchor_for(f"chart/sweep/{attr}"), title=ctx.t("scores.sweep_title", attribute=label, reference=ref),
                 description=ctx.t("scores.sweep_desc", attribute=label, reference=ref, level=ctx.level),
                 body=Lines(series=tuple(series), x_label=ctx.t("scores.sweep_x"),
                            y_label=ctx.t("scores.sweep_y", reference=ref), x_domain=(0.0, x_hi),
                            y_domain=(0.0, y_top), x_ticks=_ticks(ctx, 0.0, x_hi), y_ticks=_ticks(ctx, 0.0, y_top),
                            level=(1.0, ctx.t("scores.same_rate", reference=ref)), marker=marker),
                 legend_label=ctx.t("chart.legend_groups"))


def _auc_table(ctx: Context, attr: str, groups: list[Mapping[str, Any]]) -> Table:
    t, loc = ctx.t, ctx.loc
    rows = []
    for g in groups:
        auc, cil = g.get("auc") or {}, g.get("calibration_in_the_large") or {}
        ok = not _hidden(ctx, g) and ctx.sup.counts_ok((auc.get("n_positive"), auc.get("n_negative")))
        where = f"scores/{attr}/{g.get('group')}"
        span = loc.span(loc.number(auc.get("ci_low")), loc.number(auc.get("ci_high")))
        cal = ctx.difference({"difference": cil.get("difference"),
                              "difference_ci": [cil.get("ci_low"), cil.get("ci_high")]}, ok, where + "/cil") \
            if cil else Cell("—")
        rows.append(TableRow((Cell(_label(ctx, g)), ctx.count(g.get("n"), where + "/n"),
                              ctx.count(g.get("positives"), where + "/positives") if ok else ctx.withheld(where),
                              Cell(loc.number(auc.get("value")), numeric=True, detail=span) if ok
                              else ctx.withheld(where + "/auc"), cal,
                              Cell(loc.p_value(cil.get("p_value")), numeric=True) if ok and cil else Cell("—"))))
    return Table(caption=t("scores.auc_caption", attribute=ctx.attr_label(attr), level=ctx.level),
                 header=(t("groups.col.group"), t("scores.col.n"), t("scores.col.positives"),
                         t("scores.col.auc", level=ctx.level), t("scores.col.cil", level=ctx.level),
                         t("scores.col.p")), rows=tuple(rows))


def _calibration_table(ctx: Context, attr: str, groups: list[Mapping[str, Any]]) -> Table:
    loc, shown = ctx.loc, groups[:_MAX_SERIES]
    bins = shown[0].get("calibration") or [] if shown else []
    rows = []
    for i, b in enumerate(bins):
        cells = [Cell(loc.span(short_number(loc, b["low"]), short_number(loc, b["high"])))]
        for g in shown:
            rate = (g.get("calibration") or [{}] * len(bins))[i].get("observed_rate") or {}
            ok = not _hidden(ctx, g) and ctx.sup.rate_ok(rate)
            cells.append(ctx.rate(rate, ok, f"scores/{attr}/{g.get('group')}/bin{i}"))
        rows.append(TableRow(tuple(cells)))
    return Table(caption=ctx.t("scores.cal_caption", attribute=ctx.attr_label(attr), level=ctx.level),
                 header=(ctx.t("scores.col.bin"), *(_label(ctx, g) for g in shown)), rows=tuple(rows))


def _sweep_table(ctx: Context, sweep: Mapping[str, Any], groups: Mapping[str, Mapping[str, Any]]) -> Table:
    t, loc = ctx.t, ctx.loc
    attr, reference = str(sweep.get("attribute")), str(sweep.get("reference"))
    rows = []
    for c in sweep.get("cutoffs") or []:
        cut = (t("scores.top", share=loc.number(c.get("top_percent"), 0)) if c.get("kind") == "top"
               else t("scores.operating_row", threshold=loc.number(c.get("threshold"), 3)))
        ref = next((x for x in c.get("groups") or [] if str(x.get("group")) == reference), {})
        for rec in c.get("groups") or []:
            name = str(rec.get("group"))
            g = groups.get(name, {"attribute": attr, "group": name})
            where = f"scores/{attr}/{name}/sweep"
            cells = [Cell(cut), Cell(_label(ctx, g))]
            for metric in ("selection_rate", "fpr", "fnr"):
                r = rec.get(metric) or {}
                ok = not _hidden(ctx, g) and ctx.sup.rate_ok(r)
                cells.append(ctx.rate(r, ok, f"{where}/{metric}"))
                # a ratio and one rate give the other: both rates must be publishable
                both = ok and not _hidden(ctx, groups.get(reference, {})) and ctx.sup.rate_ok(ref.get(metric))
                cells.append(ctx.ratio(r, both, f"{where}/{metric}/ratio") if name != reference
                             else Cell(t("groups.reference")))
            rows.append(TableRow(tuple(cells), emphasis=c.get("kind") != "top"))
    return Table(caption=t("scores.sweep_caption", attribute=ctx.attr_label(attr),
                           reference=ctx.group_label(attr, reference), level=ctx.level),
                 header=(t("scores.col.cutoff"), t("groups.col.group"), t("scores.col.selection"),
                         t("scores.col.ratio"), t("scores.col.fpr"), t("scores.col.ratio"), t("scores.col.fnr"),
                         t("scores.col.ratio")),
                 rows=tuple(rows))


def _attribute_blocks(ctx: Context, sb: Mapping[str, Any], attr: str, probability: bool) -> list[Block]:
    groups = [g for g in sb.get("by_group") or [] if str(g.get("attribute")) == attr]
    blocks: list[Block] = []
    for chart in (_calibration_chart(ctx, attr, groups, probability), _roc_chart(ctx, attr, groups)):
        if chart is not None:
            blocks.append(chart)
    blocks += [_calibration_table(ctx, attr, groups), _auc_table(ctx, attr, groups)]
    by_name = {str(g.get("group")): g for g in groups}
    for sweep in (s for s in sb.get("threshold_sweep") or [] if str(s.get("attribute")) == attr):
        chart = _sweep_chart(ctx, sweep, by_name, int(sb.get("rows") or 0))
        blocks += ([chart] if chart is not None else []) + [_sweep_table(ctx, sweep, by_name)]
    return blocks


def scores_section(ctx: Context) -> Section | None:
    """Calibration, ROC and the threshold sweep by group, when the results hold ``score_behaviour``."""
    sb = ctx.results.get("score_behaviour")
    if not isinstance(sb, Mapping):
        return None
    t, loc = ctx.t, ctx.loc
    if sb.get("status") != "measured":
        reason, prefix = str(sb.get("reason", "")), "calibration and ROC pool selected and non-selected cases; "
        lead = t("scores.pooled") + " " if reason.startswith(prefix) else ""
        text, lang = ctx.analysis(reason[len(prefix):] if lead else reason)
        blocks: list[Block] = [Paragraph(t("scores.undefined")), Paragraph(lead + text, lang=lang)]
        return Section(id="model-score-behaviour", title=t("scores.title"), blocks=tuple(blocks))
    probability = sb.get("score_scale") == "probability"
    intro = t("scores.intro", rows=loc.integer(sb.get("rows")), positives=loc.integer(sb.get("positives")))
    used, lang = ctx.analysis(sb.get("rows_used", ""))
    blocks = [Paragraph(intro), Paragraph(t("scores.rows_used", rows=used), lang=lang)]
    sample = sb.get("sample")
    if isinstance(sample, Mapping):
        blocks.append(Paragraph(t("scores.sample", rows=loc.integer(sample.get("rows")),
                                  of=loc.integer(sample.get("of")), seed=str(sample.get("seed")))))
    subs = tuple(Section(id=anchor_for(f"scores/{attr}"), title=ctx.attr_label(attr),
                         blocks=tuple(_attribute_blocks(ctx, sb, attr, probability)))
                 for attr in dict.fromkeys(str(g.get("attribute")) for g in sb.get("by_group") or []))
    return Section(id="model-score-behaviour", title=t("scores.title"), blocks=tuple(blocks), subsections=subs)
