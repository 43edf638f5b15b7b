"""The report section of `assess --compare-model`: two model versions decided on the same people.

Counts of fewer than k people are withheld like every other count; a group whose own figures the audit
withholds is withheld here too, and so is the change in its rate when one of its changed-decision counts
is small (the change is their difference over the group's size).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._context import Context, anchor_for
from ._document import Cell, Paragraph, Section, Table, TableRow

__all__ = ["model_comparison_section"]


def _withheld(ctx: Context, where: str) -> Cell:
    ctx.sup.note(where)
    return Cell(ctx.t("suppression.withheld"), suppressed=True, numeric=True)


def _group_ok(ctx: Context, g: Mapping[str, Any]) -> bool:
    attr, group = str(g["attribute"]), str(g["group"])
    selected_b = g["selected_both"] + g["selected_b_only"]
    return (not ctx.sup.group_hidden(attr, group) and ctx.sup.group_rate_ok(attr, group, "selection_rate")
            and ctx.sup.counts_ok([selected_b, g["n"] - selected_b]))


def _group_row(ctx: Context, g: Mapping[str, Any]) -> TableRow:
    loc, t = ctx.loc, ctx.t
    where = f"model_comparison/{g['attribute']}/{g['group']}/decisions"
    ok = _group_ok(ctx, g)
    change_ok = ok and ctx.sup.counts_ok([g["selected_a_only"], g["selected_b_only"]])
    ctx.anchors[where] = (anchor_for(where), not change_ok)
    counts = [ctx.count(g[k], where) if ok else _withheld(ctx, where)
              for k in ("n", "selected_both", "selected_a_only", "selected_b_only")]
    ci = g.get("change_in_rate_ci") or [None, None]
    scale = (lambda x: None if x is None else 100 * x)
    change = (Cell(loc.number(scale(g.get("change_in_rate")), 1, sign=True), numeric=True,
                   detail=loc.span(loc.number(scale(ci[0]), 1, sign=True), loc.number(scale(ci[1]), 1, sign=True)))
              if change_ok and g.get("change_in_rate") is not None else
              _withheld(ctx, where) if not change_ok else Cell("—", numeric=True))
    rates = [Cell(loc.percent(g.get(k)), numeric=True) if ok else _withheld(ctx, where) for k in ("rate_a", "rate_b")]
    p = Cell(loc.p_value(g.get("p_adjusted")), numeric=True) if change_ok else _withheld(ctx, where)
    status = Cell(loc.label("model_compare.status", str(g.get("status")))) if change_ok else _withheld(ctx, where)
    name = f"{ctx.group_label(str(g['attribute']), str(g['group']))} ({ctx.attr_label(str(g['attribute']))})"
    return TableRow((Cell(name), *counts, *rates, change, p, status),
                    anchor=anchor_for(where))


def _disparity_row(ctx: Context, d: Mapping[str, Any], by_group: Mapping[tuple, Mapping[str, Any]]) -> TableRow:
    loc = ctx.loc
    where = f"model_comparison/{d['attribute']}/{d['group']}/ratio_of_ratios"
    ok = all(g is not None and _group_ok(ctx, g) for g in (by_group.get((d["attribute"], d["group"])),
                                                          by_group.get((d["attribute"], d["reference"]))))
    ctx.anchors[where] = (anchor_for(where), not ok)
    ci = d.get("ratio_of_ratios_ci") or [None, None]
    cells = [Cell(loc.number(d.get(k)), numeric=True) if ok else _withheld(ctx, where) for k in ("ratio_a", "ratio_b")]
    rr = (Cell(loc.number(d.get("ratio_of_ratios")), numeric=True, detail=loc.span(loc.number(ci[0]), loc.number(ci[1])))
          if ok and d.get("ratio_of_ratios") is not None else Cell("—", numeric=True) if ok else _withheld(ctx, where))
    p = Cell(loc.p_value(d.get("p_adjusted")), numeric=True) if ok else _withheld(ctx, where)
    status = Cell(loc.label("model_compare.status", str(d.get("change")))) if ok else _withheld(ctx, where)
    attr = str(d["attribute"])
    name = f"{ctx.group_label(attr, str(d['group']))} ({ctx.attr_label(attr)})"
    return TableRow((Cell(name), Cell(ctx.group_label(attr, str(d["reference"]))), *cells, rr, p, status),
                    anchor=anchor_for(where))


def model_comparison_section(ctx: Context) -> Section | None:
    """Paired decisions per group and the change in each disparity (None without ``model_comparison``)."""
    mc = ctx.results.get("model_comparison")
    if not isinstance(mc, Mapping):
        return None
    t, loc = ctx.t, ctx.loc
    method = mc.get("method") or {}
    adjust = loc.label("adjust", str(method.get("adjust", "")))
    from ..locale._phrases import translate  # the rules are the analysis' English sentences

    rule_a, rule_b = (translate(loc, str((mc.get(k) or {}).get("rule", "?")))[0]
                      for k in ("decision_rule_a", "decision_rule_b"))
    o = mc["overall"]
    small = not ctx.sup.counts_ok([o["selected_a_only"], o["selected_b_only"], o["selected_both"]])
    blocks: list[Any] = [
        Paragraph(t("model_compare.intro", model_a=str(mc["model_a"]["file"]), model_b=str(mc["model_b"]["file"]),
                    n=loc.integer(mc["rows"]), rule_b=rule_b)),
        Paragraph(t("model_compare.scope", rule_a=rule_a, rule_b=rule_b))]
    if not small:
        blocks.append(Paragraph(t("model_compare.overall", both=loc.integer(o["selected_both"]),
                                  a_only=loc.integer(o["selected_a_only"]), b_only=loc.integer(o["selected_b_only"]),
                                  neither=loc.integer(o["selected_neither"]), p=loc.p_value(o["p_value"]))))
    col = "model_compare.col."
    header = tuple(t(col + k) for k in ("group", "n", "both", "a_only", "b_only", "rate_a", "rate_b", "change", "p",
                                        "status"))
    groups = mc.get("groups") or []
    blocks.append(Table(caption=t("model_compare.groups_caption", level=ctx.level, adjust=adjust), header=header,
                        rows=tuple(_group_row(ctx, g) for g in groups)))
    by_group = {(g["attribute"], g["group"]): g for g in groups}
    header = tuple(t(col + k) for k in ("group", "reference", "ratio_a", "ratio_b", "rr", "p", "status"))
    blocks.append(Table(caption=t("model_compare.disparities_caption", level=ctx.level, adjust=adjust), header=header,
                        rows=tuple(_disparity_row(ctx, d, by_group) for d in mc.get("disparities") or [])))
    blocks.append(Paragraph(t("model_compare.method")))
    return Section(id="model-comparison", title=t("model_compare.title"), blocks=tuple(blocks))
