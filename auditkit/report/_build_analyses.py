"""Further analyses: comparisons within strata, random sample against model selection, process stages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._context import Context, anchor_for
from ._document import Block, Cell, Notice, Paragraph, Section, Table, TableRow

__all__ = ["selection_method_section", "stages_section", "stratified_section"]


def _num(ctx: Context, x: Any, ok: bool, digits: int = 2) -> Cell:
    return Cell(ctx.loc.number(x, digits), numeric=True) if ok else Cell(ctx.t("suppression.withheld"), True)


def stratified_section(ctx: Context) -> Section | None:
    """Crude against Mantel–Haenszel odds ratios and conditional demographic disparity, per group."""
    records = ctx.results.get("stratified") or []
    if not records:
        return None
    t, loc = ctx.t, ctx.loc
    rows, blocks = [], []
    strata = ", ".join(str(s) for s in records[0].get("strata", []))
    for s in records:
        attr, group, ref = str(s.get("attribute")), str(s.get("group")), str(s.get("reference"))
        mid = f"stratified/{attr}/{group}"
        # the crude odds ratio and the disparities are made of both groups' n and selected
        ok = all(ctx.sup.group_rate_ok(attr, g, "selection_rate") and not ctx.sup.group_hidden(attr, g)
                 for g in (group, ref))
        if not ok:
            ctx.sup.note(mid)
        ci = s.get("mh_odds_ratio_ci") or [None, None]
        mh = (f"{loc.number(s.get('mh_odds_ratio'))} ({loc.span(loc.number(ci[0]), loc.number(ci[1]))})"
              if s.get("mh_odds_ratio") is not None else "—")
        reversed_ = bool(s.get("direction_reversed"))
        rows.append(TableRow((
            Cell(t("analyses.versus", group=ctx.group_label(attr, group), reference=ctx.group_label(attr, ref),
                   attribute=ctx.attr_label(attr))),
            _num(ctx, s.get("crude_odds_ratio"), ok),
            Cell(mh if ok else t("suppression.withheld"), not ok, numeric=True),
            Cell(loc.p_value(s.get("p_holm", s.get("p_value"))) if ok else t("suppression.withheld"), not ok,
                 numeric=True),
            _num(ctx, s.get("conditional_demographic_disparity"), ok, 3),
            Cell(loc.label("status", str(s.get("status", ""))) if s.get("status") else "—"),
            Cell(t("common.yes") if reversed_ else t("common.no")),
        ), anchor=anchor_for(mid), emphasis=reversed_))
        ctx.anchors[mid] = (anchor_for(mid), not ok)
        if reversed_ and ok:
            blocks.append(Notice(t("analyses.reversal", group=ctx.group_label(attr, group),
                                   reference=ctx.group_label(attr, ref), attribute=ctx.attr_label(attr)), "warning"))
    header = (t("analyses.col.comparison"), t("analyses.col.crude_or"), t("analyses.col.mh_or", level=ctx.level),
              t("analyses.col.cmh_p"), t("analyses.col.cdd"), t("groups.col.status"), t("analyses.col.reversed"))
    table = Table(caption=t("analyses.stratified_caption", strata=strata), header=header, rows=tuple(rows))
    intro = Paragraph(t("analyses.stratified_intro", strata=strata))
    return Section(id="stratified", title=t("analyses.stratified_title"), blocks=(intro, *blocks, table))


def _status_cell(ctx: Context, c: Mapping[str, Any], ok: bool) -> Cell:
    """A comparison's status; withheld with its figures (a status says on which side of the threshold the
    withheld p-value lies, a constraint on the withheld counts)."""
    if not ok:
        return Cell(ctx.t("suppression.withheld"), suppressed=True)
    return Cell(ctx.loc.label("status", str(c.get("status", ""))) if c.get("status") else "—")


def _pair(ctx: Context, m: Mapping[str, Any], first: str, second: str, comp: str, mid: str,
          attr: str, group: str) -> TableRow:
    a_ok = ctx.sup.group_rate_ok(attr, group, first, m.get(first))
    b_ok = ctx.sup.group_rate_ok(attr, group, second, m.get(second))
    c = m.get(comp) or {}
    ok = a_ok and b_ok
    ctx.anchors[mid] = (anchor_for(mid), not ok)
    return TableRow((Cell(ctx.group_label(attr, group)), ctx.rate(m.get(first), a_ok, mid + "/" + first),
                     ctx.rate(m.get(second), b_ok, mid + "/" + second), ctx.ratio(c, ok, mid + "/ratio"),
                     Cell(ctx.loc.p_value(c.get("p_holm")) if ok else ctx.t("suppression.withheld"), not ok,
                          numeric=True),
                     _status_cell(ctx, c, ok)), anchor=anchor_for(mid))


def selection_method_section(ctx: Context) -> Section | None:
    """Each group's share of the random sample against its share of the model's selection, and hit rates."""
    records = ctx.results.get("selection_method") or []
    if not records:
        return None
    t = ctx.t
    blocks: list[Block] = [Paragraph(t("analyses.random_intro"))]
    attrs = list(dict.fromkeys(str(m.get("attribute")) for m in records))
    for attr in attrs:
        mine = [m for m in records if str(m.get("attribute")) == attr]
        shares = [_pair(ctx, m, "share_of_random_sample", "share_of_model_selection", "share_comparison",
                        f"selection_method/{attr}/{m.get('group')}/share_comparison", attr, str(m.get("group")))
                  for m in mine]
        hits = [_pair(ctx, m, "base_rate_random_sample", "hit_rate_model_selection", "hit_rate_comparison",
                      f"selection_method/{attr}/{m.get('group')}/hit_rate_comparison", attr, str(m.get("group")))
                for m in mine]
        common = (t("analyses.col.ratio", level=ctx.level), t("groups.col.p"), t("groups.col.status"))
        blocks.append(Table(caption=t("analyses.shares_caption", attribute=ctx.attr_label(attr)),
                            header=(t("groups.col.group"), t("analyses.col.share_random", level=ctx.level),
                                    t("analyses.col.share_model", level=ctx.level), *common), rows=tuple(shares)))
        blocks.append(Table(caption=t("analyses.hits_caption", attribute=ctx.attr_label(attr)),
                            header=(t("groups.col.group"), t("analyses.col.base_random", level=ctx.level),
                                    t("analyses.col.hit_model", level=ctx.level), *common), rows=tuple(hits)))
    return Section(id="random-sample", title=t("analyses.random_title"), blocks=tuple(blocks))


def _stage_row(ctx: Context, r: Mapping[str, Any], ref: Mapping[str, Any] | None,
               shares_ok: tuple[bool, bool]) -> TableRow:
    attr, group, stage = str(r.get("attribute")), str(r.get("group")), str(r.get("stage"))
    where = f"stages/{attr}/{group}/{stage}"
    hidden = ctx.sup.group_hidden(attr, group)
    entering, leaving = r.get("entering") or {}, r.get("leaving") or {}
    rate_ok = not hidden and ctx.sup.rate_ok(r.get("selection_rate"))
    cum_ok = not hidden and ctx.sup.rate_ok(r.get("cumulative_selection_rate"))
    c = r.get("comparison") or {}
    ref_ok = ref is None or ctx.sup.rate_ok(ref.get("selection_rate"))
    ok = rate_ok and ref_ok
    ctx.anchors[where] = (anchor_for(where), not ok)
    status = ctx.t("groups.reference") if r.get("is_reference") else (
        ctx.loc.label("status", str(c.get("status", ""))) if c.get("status") else "—")
    return TableRow((
        Cell(stage), Cell(ctx.group_label(attr, group)), ctx.count(entering.get("n"), where + "/entering"),
        ctx.rate(entering.get("share"), shares_ok[0] and not hidden and ctx.sup.rate_ok(entering.get("share")),
                 where + "/share_in"),
        ctx.rate(leaving.get("share"), shares_ok[1] and not hidden and ctx.sup.rate_ok(leaving.get("share")),
                 where + "/share_out"),
        ctx.rate(r.get("selection_rate"), rate_ok, where + "/selection_rate"),
        ctx.ratio(c, ok, where + "/ratio") if c else Cell("—", numeric=True),
        Cell(ctx.loc.p_value(c.get("p_holm")) if ok and c else ("—" if ok else ctx.t("suppression.withheld")),
             not ok, numeric=True),
        Cell(status),
        ctx.rate(r.get("cumulative_selection_rate"), cum_ok, where + "/cumulative")), anchor=anchor_for(where))


def _shares_ok(ctx: Context, records: list[Mapping[str, Any]], stage: str) -> tuple[bool, bool]:
    """May the shares of those entering and of those leaving a stage be shown?

    A share reveals its stage's total (a group's count over its share), and the total less the
    other groups' counts reveals a withheld small count: when any group's count at the stage is
    small, every share of that count at the stage is withheld (complementary suppression).
    """
    at = [r for r in records if str(r.get("stage")) == stage]
    return tuple(not any(ctx.sup.small((r.get(part) or {}).get("n")) for r in at)  # type: ignore[return-value]
                 for part in ("entering", "leaving"))


def stages_section(ctx: Context) -> Section | None:
    """Per process stage: who entered, who was selected, the rate at the stage and its comparison, the
    cumulative rate; each person counted once (never rows of several stages added up)."""
    records = ctx.results.get("stages") or []
    if not records:
        return None
    t = ctx.t
    blocks: list[Block] = [Paragraph(t("analyses.stages_intro"))]
    for attr in dict.fromkeys(str(r.get("attribute")) for r in records):
        mine = [r for r in records if str(r.get("attribute")) == attr]
        refs = {str(r.get("stage")): r for r in mine if r.get("is_reference")}
        rows = [_stage_row(ctx, r, refs.get(str(r.get("stage"))), _shares_ok(ctx, mine, str(r.get("stage"))))
                for r in mine]
        blocks.append(Table(caption=t("analyses.stages_caption", attribute=ctx.attr_label(attr),
                                      reference=ctx.group_label(attr, str(mine[0].get("reference")))),
                            header=(t("analyses.col.stage"), t("groups.col.group"), t("analyses.col.entered"),
                                    t("analyses.col.share_in", level=ctx.level),
                                    t("analyses.col.share_out", level=ctx.level),
                                    t("analyses.col.stage_rate", level=ctx.level),
                                    t("analyses.col.ratio", level=ctx.level), t("groups.col.p"),
                                    t("groups.col.status"), t("analyses.col.cumulative", level=ctx.level)),
                            rows=tuple(rows)))
    return Section(id="stages", title=t("analyses.stages_title"), blocks=tuple(blocks))
