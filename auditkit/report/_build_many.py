"""An attribute with many groups (neighbourhoods, caseworker teams): what a reader needs, and the rest in a file.

A table of 10,000 rows helps no reader and makes a report nobody can open.  Above :data:`MANY` groups an
attribute's section shows, per rate compared: how many comparisons reached each status, the comparisons
with the largest disparities (ranked by the end of the ratio's interval nearest to 1, so a wide interval
around a large ratio does not outrank a well-measured one), and the distribution of the ratios as a chart
with its figures in a table.  Every group, with every figure the report would print, is in the table
file ``report.LANG.csv`` that the audit run writes into the bundle beside the report
(``auditkit report BUNDLE --format csv``), under the same suppression as the report itself.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

from ._context import Context, anchor_for, short_number
from ._document import Cell, Chart, Histogram, Paragraph, Series, Table, TableRow

__all__ = ["LARGEST", "MANY", "many_groups", "needs_table_file", "supported", "table_file_rows"]

#: An attribute with more groups than this gets the condensed section.
MANY = 40
#: How many of the largest disparities the condensed section lists.
LARGEST = 20
_BIN_WIDTH = 0.25  # of the histogram, in log2 units: a ratio of 1.19 per bin


def needs_table_file(results: Mapping[str, Any]) -> bool:
    """Does some attribute have more than :data:`MANY` groups (so the report refers to a table file)?"""
    counts = Counter(str(g.get("attribute")) for g in results.get("groups", []))
    return any(n > MANY for n in counts.values())


def supported(c: Mapping[str, Any]) -> float:
    """How far from 1 the ratio's interval keeps it, in |log|: 0 when the interval includes 1."""
    lo, hi = (c.get("ratio_ci") or [None, None])[:2]
    if lo is None or hi is None or not (lo > 0 and hi > 0):
        return 0.0
    if lo > 1:
        return math.log(lo)
    if hi < 1:
        return -math.log(hi)
    return 0.0


def _status_table(ctx: Context, attr: str, metric: str, comps: list[Mapping[str, Any]]) -> Table:
    t, loc = ctx.t, ctx.loc
    counts = Counter("withheld" if not ctx.sup.comparison_ok(c) else str(c.get("status") or "undefined")
                     for c in comps)
    rows = []
    for status, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        label = t("suppression.withheld") if status == "withheld" else loc.label("status", status)
        rows.append(TableRow((Cell(label), Cell(loc.integer(n), numeric=True))))
    return Table(caption=t("many.status_caption", metric=loc.label("metric", metric), attribute=ctx.attr_label(attr)),
                 header=(t("groups.col.status"), t("many.col.comparisons")), rows=tuple(rows))


def _ratio_histogram(ctx: Context, attr: str, metric: str, comps: list[Mapping[str, Any]]) -> list[Any]:
    """The distribution of the published ratios (log2 bins), as a chart and as its table of figures."""
    t, loc = ctx.t, ctx.loc
    logs = [math.log2(c["ratio"]) for c in comps if ctx.sup.comparison_ok(c)
            and isinstance(c.get("ratio"), (int, float)) and c["ratio"] > 0 and math.isfinite(c["ratio"])]
    if not logs:
        return []
    lo = math.floor(min(logs) / _BIN_WIDTH) * _BIN_WIDTH
    hi = (math.floor(max(logs) / _BIN_WIDTH) + 1) * _BIN_WIDTH
    nbins = max(1, round((hi - lo) / _BIN_WIDTH))
    counts = [0] * nbins
    for v in logs:
        counts[min(nbins - 1, int((v - lo) / _BIN_WIDTH + 1e-9))] += 1
    edges = tuple(lo + i * _BIN_WIDTH for i in range(nbins + 1))
    top = max(counts)
    step = max(1, 10 ** math.floor(math.log10(top)) if top >= 10 else 1)
    y_max = float(math.ceil(top / step) * step)
    y_ticks = tuple((float(v), loc.integer(v)) for v in range(0, int(y_max) + 1, int(max(step, y_max // 5 or 1))))
    x_ticks = tuple((float(e), short_number(loc, 2.0 ** e)) for e in range(math.ceil(lo), math.floor(hi) + 1))
    ratio = (lambda e: loc.number(2.0 ** e))
    bins = [(ratio(edges[i]), ratio(edges[i + 1]), n) for i, n in enumerate(counts)]
    described = "; ".join(t("many.bin_item", low=a, high=b, n=loc.integer(n)) for a, b, n in bins if n)
    reference = ""
    if comps:
        reference = ctx.group_label(attr, str(comps[0].get("reference")))
    chart = Chart(id=anchor_for(f"chart/ratios/{attr}/{metric}"),
                  title=t("many.chart_title", metric=loc.label("metric", metric), attribute=ctx.attr_label(attr),
                          reference=reference),
                  description=t("many.chart_desc", metric=loc.label("metric", metric), reference=reference,
                                n=loc.integer(len(logs)), items=described),
                  body=Histogram(edges=edges, series=(Series(ctx.attr_label(attr), tuple(float(n) for n in counts)),),
                                 axis_label=t("chart.ratio_axis", reference=reference),
                                 value_label=t("many.col.comparisons"), x_ticks=x_ticks, y_ticks=y_ticks, y_max=y_max))
    table = Table(caption=t("many.bins_caption", metric=loc.label("metric", metric), attribute=ctx.attr_label(attr)),
                  header=(t("many.col.ratio_from"), t("many.col.ratio_to"), t("many.col.comparisons")),
                  rows=tuple(TableRow((Cell(a, numeric=True), Cell(b, numeric=True), Cell(loc.integer(n), numeric=True)))
                             for a, b, n in bins))
    return [chart, table]


def many_groups(ctx: Context, attr: str, metric: str, groups: list[Mapping[str, Any]],
                comps: list[Mapping[str, Any]]) -> list[Any]:
    """The condensed blocks of one attribute and rate: statuses, the largest disparities, the ratios' spread."""
    from ._build_groups import _metric_table

    t, loc = ctx.t, ctx.loc
    by_group = {str(c["group"]): c for c in comps}
    shown = sorted((c for c in comps if ctx.sup.comparison_ok(c) and supported(c) > 0),
                   key=lambda c: (-supported(c), str(c["group"])))[:LARGEST]
    wanted = {str(c["group"]) for c in shown}
    largest = [g for g in groups if g.get("is_reference")]
    largest += sorted((g for g in groups if str(g["group"]) in wanted), key=lambda g: -supported(by_group[str(g["group"])]))
    blocks: list[Any] = [Paragraph(t("many.intro", groups=loc.integer(len(groups)), attribute=ctx.attr_label(attr),
                                     metric=loc.label("metric", metric), largest=loc.integer(len(shown)),
                                     file=f"report.{loc.code}.csv"))]
    blocks.append(_status_table(ctx, attr, metric, comps))
    blocks += _ratio_histogram(ctx, attr, metric, comps)
    table = _metric_table(ctx, attr, metric, largest, by_group)
    blocks.append(Table(caption=t("many.largest_caption", n=loc.integer(len(shown)), metric=loc.label("metric", metric),
                                  attribute=ctx.attr_label(attr)), header=table.header, rows=table.rows, notes=table.notes))
    return blocks


# --- the table file ----------------------------------------------------------------------------------

_COLUMNS = ("attribute", "group", "label", "reference", "metric", "denominator", "numerator", "rate", "rate_ci_low",
            "rate_ci_high", "ratio", "ratio_ci_low", "ratio_ci_high", "difference", "difference_ci_low",
            "difference_ci_high", "p_adjusted", "status", "compared_with")


def _num(x: Any, digits: int = 6) -> Any:
    """A number as a number (so that a negative one is not taken for a formula), to ``digits`` digits."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return ""
    return int(x) if isinstance(x, int) else float(f"{x:.{digits}g}")


def _span(b: Any, digits: int = 6) -> str:
    return f"{_num(b[0], digits)} to {_num(b[1], digits)}" if isinstance(b, (list, tuple)) and len(b) == 2 else ""


def table_file_rows(ctx: Context) -> list[dict[str, Any]]:
    """Every group, attribute and rate compared, with the figures the report would print (small cells
    '<k', withheld figures 'withheld', source-suppressed ones as 'low to high'); machine-readable numbers."""
    results, k = ctx.results, ctx.k
    less, withheld = f"<{k}", "withheld"
    uses = (results.get("multiple_testing") or {}).get("status_uses", "holm")
    p_key = "p_bh" if uses in ("bh", "benjamini-hochberg") else "p_holm"
    # An intersection compared within the other attributes' levels has one comparison (one row) per attribute.
    comps: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for c in results.get("comparisons", []):
        comps.setdefault((str(c.get("attribute")), str(c.get("group")), str(c.get("metric"))), []).append(c)
    metrics = list(dict.fromkeys(str(c.get("metric")) for c in results.get("comparisons", []))) or ["selection_rate"]
    rows = []
    for g in results.get("groups", []):
        attr, name = str(g.get("attribute")), str(g.get("group"))
        for metric, c in ((m, c) for m in metrics for c in comps.get((attr, name, m)) or [None]):
            rec = g.get(metric) or {}
            row = dict.fromkeys(_COLUMNS, "")
            row.update(attribute=attr, group=name, label=ctx.group_label(attr, name), metric=metric,
                       reference="yes" if g.get("is_reference") else "")
            num_bounds, den_bounds = ctx.rate_bounds(rec)
            for part, key, b in (("den", "denominator", den_bounds), ("num", "numerator", num_bounds)):
                value = rec.get(key)
                if b and len(b) == 2:
                    row[key] = less if isinstance(b[1], (int, float)) and b[1] < k else _span(b)
                elif ctx.sup.small(value):
                    row[key] = less
                elif ctx.sup.count_hidden(attr, name, metric, part):
                    row[key] = withheld
                else:
                    row[key] = _num(value)
            if not ctx.sup.group_rate_ok(attr, name, metric, rec):
                row.update(rate=withheld, rate_ci_low=withheld, rate_ci_high=withheld)
            else:
                row.update(rate=_num(rec.get("value")) or _span(rec.get("bounds")),
                           rate_ci_low=_num(rec.get("ci_low")), rate_ci_high=_num(rec.get("ci_high")))
            if c is not None:
                row["status"] = str(c.get("status") or "")
                row["compared_with"] = ctx.group_label(attr, str(c.get("reference")))
                if not ctx.sup.comparison_ok(c):
                    row.update({col: withheld for col in _COLUMNS[10:17]})
                else:
                    rci, dci = c.get("ratio_ci") or [None, None], c.get("difference_ci") or [None, None]
                    row.update(ratio=_num(c.get("ratio")) or _span(c.get("ratio_bounds")), ratio_ci_low=_num(rci[0]),
                               ratio_ci_high=_num(rci[1]),
                               difference=_num(c.get("difference")) or _span(c.get("difference_bounds")),
                               difference_ci_low=_num(dci[0]), difference_ci_high=_num(dci[1]),
                               p_adjusted=_num(c.get(p_key)))
            rows.append(row)
    return rows
