"""The report's section over time: a line chart of each group's rate per period, the per-period table, and
per group the persistence, trend and homogeneity of its ratio (from ``results["periods"]``).

Small cells: a rate is shown in a period only when its counts (numerator, denominator and their
difference) are 0 or at least the report's minimum; a group whose rate must be withheld in *any* period is
withheld in *every* period for that rate (and with it its comparisons and over-time figures), because the
periods add up to the overall counts the report prints, from which a single withheld period would follow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._context import Context, anchor_for, nice_ticks
from ._document import Block, Cell, Chart, LineChart, LineSeries, Notice, Paragraph, Section, Table, TableRow

__all__ = ["periods_section"]


def _metric(periods: Mapping[str, Any]) -> str:
    metrics = list(periods.get("metrics") or [])
    return "selection_rate" if "selection_rate" in metrics else (metrics[0] if metrics else "selection_rate")


def _publishable(ctx: Context, periods: Mapping[str, Any], attr: str, metric: str) -> dict[str, bool]:
    """Per group of ``attr``: may its ``metric`` be shown in every period?"""
    ok: dict[str, bool] = {}
    for p in periods["per_period"]:
        for g in p["groups"]:
            if str(g["attribute"]) != attr:
                continue
            name = str(g["group"])
            fine = not ctx.sup.group_hidden(attr, name) and ctx.sup.rate_ok(g.get(metric))
            ok[name] = ok.get(name, True) and fine
    return ok


def _unit(ctx: Context, periods: Mapping[str, Any], many: bool = False) -> str:
    return ctx.t(f"periods.{'units' if many else 'unit'}.{periods.get('unit', 'period')}")


def _chart(ctx: Context, periods: Mapping[str, Any], attr: str, metric: str, ok: dict[str, bool]) -> Chart | None:
    t, loc = ctx.t, ctx.loc
    names = list(dict.fromkeys(str(g["group"]) for g in periods["per_period"][0]["groups"]
                               if str(g["attribute"]) == attr))
    series, highs, described = [], [], []
    for name in names:
        points = []
        is_ref = False
        for p in periods["per_period"]:
            g = next(g for g in p["groups"] if str(g["attribute"]) == attr and str(g["group"]) == name)
            rec = g.get(metric) or {}
            is_ref = is_ref or bool(g.get("is_reference"))
            value = rec.get("value") if ok.get(name) else None
            points.append((value, rec.get("ci_low") if value is not None else None,
                           rec.get("ci_high") if value is not None else None))
            if value is not None:
                highs.append(rec.get("ci_high") or value)
                described.append(t("periods.chart_item", group=ctx.group_label(attr, name), period=p["period"],
                                   value=loc.percent(value)))
        label = ctx.group_label(attr, name) + (f" ({t('groups.reference')})" if is_ref else "")
        series.append(LineSeries(label, tuple(points), dashed=is_ref))
    if not highs:
        return None
    ticks = nice_ticks(max(highs))
    levels = periods["levels"]
    words = {"metric": loc.label("metric", metric), "attribute": ctx.attr_label(attr), "level": ctx.level,
             "unit": _unit(ctx, periods), "first": levels[0], "last": levels[-1]}
    return Chart(id=anchor_for(f"chart/periods/{attr}/{metric}"), title=t("periods.chart_title", **words),
                 description=t("periods.chart_desc", items="; ".join(described), **words),
                 body=LineChart(categories=tuple(levels), series=tuple(series), axis_label=str(periods["column"]),
                                value_label=loc.label("metric", metric), y_max=ticks[-1],
                                y_ticks=tuple((v, loc.percent(v, 0 if abs(v * 100 - round(v * 100)) < 1e-9 else 1))
                                              for v in ticks)))


def _per_period_table(ctx: Context, periods: Mapping[str, Any], attr: str, metric: str, ok: dict[str, bool]) -> Table:
    t, loc = ctx.t, ctx.loc
    rows, reference = [], ""
    for p in periods["per_period"]:
        comps = {str(c["group"]): c for c in p["comparisons"] if str(c["attribute"]) == attr and c["metric"] == metric}
        for g in (g for g in p["groups"] if str(g["attribute"]) == attr):
            name = str(g["group"])
            where = f"periods/{attr}/{name}/{metric}/{p['period']}"
            c = comps.get(name)
            shown = ok.get(name, False) and (c is None or ok.get(str(c["reference"]), False))
            if c is not None:
                reference = str(c["reference"])
            rate = ctx.rate(g.get(metric), ok.get(name, False), where)
            if c is None:
                cells = (Cell(t("groups.reference")), Cell("—"), Cell("—"))
            elif shown:
                cells = (ctx.ratio(c, True, where), Cell(loc.p_value(c.get("p_holm")), numeric=True),
                         Cell(loc.label("status", str(c.get("status")))))
            else:
                cells = (ctx.withheld(where + "/ratio"), Cell(t("suppression.withheld"), True),
                         Cell(t("suppression.withheld"), True))
            n = (g.get(metric) or {}).get("denominator")
            rows.append(TableRow((Cell(str(p["period"])), Cell(ctx.group_label(attr, name)),
                                  Cell(loc.integer(n) if ok.get(name) else t("suppression.withheld"),
                                       not ok.get(name), numeric=True), rate, *cells),
                                 anchor=anchor_for(where), emphasis=c is not None and c.get("status") ==
                                 "difference_detected" and shown))
    header = (t("periods.col.period"), t("groups.col.group"), t("periods.col.n"), t("groups.col.rate", level=ctx.level),
              t("groups.col.ratio", level=ctx.level), t("groups.col.p"), t("groups.col.status"))
    return Table(caption=t("periods.table_caption", metric=loc.label("metric", metric), attribute=ctx.attr_label(attr),
                           reference=ctx.group_label(attr, reference), unit=_unit(ctx, periods)),
                 header=header, rows=tuple(rows))


def _ranges_text(ctx: Context, labels: list[str], levels: list[str]) -> str:
    from ..findings_periods import _ranges

    return ", ".join(_ranges(labels, levels)) if labels else ctx.t("periods.none")


def _over_time_table(ctx: Context, periods: Mapping[str, Any], attr: str) -> Table:
    t, loc = ctx.t, ctx.loc
    rows = []
    publishable: dict[str, dict[str, bool]] = {}
    for o in (o for o in periods["over_time"] if str(o["attribute"]) == attr):
        if o["metric"] not in publishable:
            publishable[o["metric"]] = _publishable(ctx, periods, attr, o["metric"])
        ok = publishable[o["metric"]]
        path = f"periods/{attr}/{o['group']}/{o['metric']}" + (f"/vs/{o['reference']}" if o.get("held") else "")
        shown = ok.get(str(o["group"]), False) and ok.get(str(o["reference"]), False)
        ctx.anchors[path] = (anchor_for(path), not shown)
        label = t("analyses.versus", group=ctx.group_label(attr, str(o["group"])),
                  reference=ctx.group_label(attr, str(o["reference"])), attribute=ctx.attr_label(attr))
        if not shown:
            ctx.sup.note(path)
            withheld = Cell(t("suppression.withheld"), True)
            rows.append(TableRow((Cell(label), Cell(loc.label("metric", o["metric"])), *(withheld,) * 5),
                                 anchor=anchor_for(path)))
            continue
        per, tr, ho = o["persistence"], o["trend"], o["homogeneity"]
        run = per["runs"][per["longest_run"]] if per["runs"] else None
        span = "" if run is None else run["first"] if run["first"] == run["last"] else f"{run['first']}–{run['last']}"
        run_text = "—" if run is None else (
            f"{span}: {loc.number(run['pooled']['ratio'])} "
            f"({loc.span(loc.number(run['pooled']['ratio_ci'][0]), loc.number(run['pooled']['ratio_ci'][1]))})")
        ci = tr.get("ratio_change_ci") or [None, None]
        trend = "—" if tr.get("ratio_change_per_period") is None else (
            f"{loc.number(tr['ratio_change_per_period'])} ({loc.span(loc.number(ci[0]), loc.number(ci[1]))})")
        rows.append(TableRow((
            Cell(label), Cell(loc.label("metric", o["metric"])),
            Cell(f"{_ranges_text(ctx, per['detected_in'], periods['levels'])} "
                 f"({per['periods_detected']}/{per['periods']})"),
            Cell(run_text, numeric=True), Cell(trend, numeric=True),
            Cell(loc.p_value(tr.get("p_holm")) if tr.get("p_holm") is not None else "—", numeric=True),
            Cell(loc.p_value(ho.get("p_holm")) if ho.get("p_holm") is not None else "—", numeric=True),
        ), anchor=anchor_for(path), emphasis=bool(per["runs"])))
    unit = _unit(ctx, periods)
    header = (t("analyses.col.comparison"), t("periods.col.metric"),
              t("periods.col.detected", units=_unit(ctx, periods, True)),
              t("periods.col.run", level=ctx.level), t("periods.col.trend", unit=unit, level=ctx.level),
              t("periods.col.trend_p"), t("periods.col.homogeneity_p"))
    return Table(caption=t("periods.summary_caption", attribute=ctx.attr_label(attr), units=_unit(ctx, periods, True)),
                 header=header, rows=tuple(rows))


def _shift_notices(ctx: Context, periods: Mapping[str, Any]) -> list[Block]:
    """A shift between groups, stated as the finding states it, when every group in it may be shown."""
    out: list[Block] = []
    for s in periods.get("shifts") or []:
        everyone = s["ended"] + s["began"]
        if not all(_publishable(ctx, periods, str(x["attribute"]), s["metric"]).get(str(x["group"]), False)
                   and _publishable(ctx, periods, str(x["attribute"]), s["metric"]).get(str(x["reference"]), False)
                   for x in everyone):
            continue

        def who(items: list[dict]) -> str:
            return ", ".join(ctx.t("periods.who", group=ctx.group_label(str(x["attribute"]), str(x["group"])),
                                   attribute=ctx.attr_label(str(x["attribute"])),
                                   reference=ctx.group_label(str(x["attribute"]), str(x["reference"])))
                             for x in items)

        def runs(items: list[dict]) -> str:
            return ", ".join(a if a == b else f"{a}–{b}" for a, b in (x["run"] for x in items))

        metric = ctx.loc.label("metric", s["metric"])
        out.append(Notice(ctx.t("periods.shift", period=s["period"], metric=metric[:1].lower() + metric[1:],
                                ended=who(s["ended"]), ended_run=runs(s["ended"]), began=who(s["began"]),
                                began_run=runs(s["began"])), "warning"))
    return out


def periods_section(ctx: Context) -> Section | None:
    """The section over time, or None when the audit had no period."""
    periods = ctx.results.get("periods")
    if not periods or not periods.get("per_period"):
        return None
    t = ctx.t
    metric = _metric(periods)
    levels = periods["levels"]
    blocks: list[Block] = [Paragraph(t("periods.section_intro", column=str(periods["column"]), count=len(levels),
                                       unit=_unit(ctx, periods), units=_unit(ctx, periods, True),
                                       first=levels[0], last=levels[-1]))]
    blocks += _shift_notices(ctx, periods)
    subsections = []
    for attr in dict.fromkeys(str(o["attribute"]) for o in periods["over_time"]):
        ok = _publishable(ctx, periods, attr, metric)
        parts: list[Block] = []
        chart = _chart(ctx, periods, attr, metric, ok)
        parts += [chart] if chart else []
        parts += [_over_time_table(ctx, periods, attr), _per_period_table(ctx, periods, attr, metric, ok)]
        subsections.append(Section(id=anchor_for(f"periods/{attr}"), title=ctx.attr_label(attr), blocks=tuple(parts)))
    return Section(id="periods", title=t("periods.section_title"), blocks=tuple(blocks), subsections=tuple(subsections))
