"""The model section: what the model is, SHAP by group, proxies, flip tests, bias clusters, score histograms."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ._context import Context, anchor_for, nice_ticks, short_number
from ._document import (
    Block, BulletList, Cell, Chart, GroupedBars, Histogram, KeyValues, Paragraph, Section, Series, Table, TableRow,
)

__all__ = ["histogram_blocks", "model_section"]

_MAX_SERIES = 8


def _signed_ticks(lo: float, hi: float) -> list[float]:
    span = max(abs(lo), abs(hi))
    base = nice_ticks(span, 4)
    step = base[1] - base[0] if len(base) > 1 else 1.0
    first, last = math.floor(lo / step - 1e-9), math.ceil(hi / step + 1e-9)
    return [round(i * step, 10) for i in range(min(first, 0), max(last, 0) + 1)]


def _card(ctx: Context) -> list[Block]:
    t, loc = ctx.t, ctx.loc
    model = (ctx.results.get("input") or {}).get("model") or {}
    card = ctx.results.get("model_card") or {}
    rows = [(t("model.file"), Cell(str(model.get("file", card.get("file", "—"))))),
            (t("model.format"), Cell(str(model.get("format", card.get("format", "—"))))),
            (t("model.sha256"), Cell(str(model.get("sha256", card.get("sha256", "—"))), code=True)),
            (t("model.family"), ctx.english(card.get("family", card.get("class", "—")))),
            (t("model.scoring"), Cell(str(model.get("scoring_method", "—"))))]
    if card.get("readable"):
        (kind, k_lang), (why, w_lang) = ctx.analysis(card["readable"]), ctx.analysis(card.get("readable_reason", ""))
        rows.append((t("model.readable"), Cell(f"{kind}: {why}", lang=k_lang or w_lang)))
    blocks: list[Block] = [KeyValues(t("model.card_caption"), tuple(rows))]
    inputs = card.get("inputs") or []
    if inputs:
        tagged = [Cell(f"{i.get('name')} ({loc.label('input_tag', str(i.get('tag')))})") for i in inputs]
        blocks.append(Paragraph(t("model.inputs", inputs=", ".join(c.text for c in tagged))))
    protected_inputs = [str(i.get("name")) + (f" ({i['recodes']})" if i.get("recodes") else "")
                        for i in inputs if i.get("tag") == "protected"]
    if protected_inputs:
        blocks.append(Paragraph(t("model.protected_inputs", inputs=", ".join(protected_inputs)), style="warning"))
    if card.get("protected_not_inputs"):
        blocks.append(Paragraph(t("model.protected_not_inputs",
                                  attributes=", ".join(ctx.attr_label(str(a)) for a in card["protected_not_inputs"]))))
    from ._build_spec import learning_blocks, spec_blocks  # the published weights/rules; retraining

    return blocks + spec_blocks(ctx, card) + learning_blocks(ctx, card)


def _shap_blocks(ctx: Context, shap: Mapping[str, Any]) -> list[Block]:
    t, loc = ctx.t, ctx.loc
    scale = loc.label("shap_scale", str(shap.get("output_scale", "")))
    blocks: list[Block] = [Paragraph(t("model.shap_intro", explainer=str(shap.get("explainer", "")), scale=scale,
                                       rows=loc.integer(shap.get("rows_explained")),
                                       total=loc.integer(shap.get("rows_in_data"))))]
    features = [str(f["feature"]) for f in shap.get("overall", [])]
    by_group = shap.get("by_group") or []
    for attr in dict.fromkeys(str(g.get("attribute")) for g in by_group):
        groups = [g for g in by_group if str(g.get("attribute")) == attr]
        series, rows, described = [], [], []
        for g in groups:
            name = str(g.get("group"))
            ok = not (ctx.sup.small(g.get("n")) or ctx.sup.group_hidden(attr, name))
            means = {str(f["feature"]): f.get("mean_shap") for f in g.get("features", [])}
            values = tuple(means.get(f) if ok else None for f in features)
            series.append(Series(ctx.group_label(attr, name), values))
            if not ok:
                ctx.sup.note(f"shap/{attr}/{name}")
            rows.append(TableRow((Cell(ctx.group_label(attr, name)), ctx.count(g.get("n"), f"shap/{attr}/{name}/n"),
                                  *(Cell(loc.number(v, 3), numeric=True) if ok else ctx.withheld(f"shap/{attr}/{name}")
                                    for v in values))))
            if ok and features:
                top = max(features, key=lambda f: abs(means.get(f) or 0.0))
                described.append(t("chart.shap_item", group=ctx.group_label(attr, name), feature=top, value=loc.number(means.get(top), 3)))
        shown = [v for s in series for v in s.values if v is not None]
        if shown and len(series) <= _MAX_SERIES:
            ticks = _signed_ticks(min(shown), max(shown))
            blocks.append(Chart(id=anchor_for(f"chart/shap/{attr}"), title=t("chart.shap_title", attribute=ctx.attr_label(attr)),
                                description=t("chart.shap_desc", attribute=ctx.attr_label(attr), scale=scale,
                                              items="; ".join(described)),
                                body=GroupedBars(categories=tuple(features), series=tuple(series),
                                                 axis_label=t("chart.shap_axis", scale=scale),
                                                 domain=(ticks[0], ticks[-1]),
                                                 ticks=tuple((v, short_number(loc, v)) for v in ticks)),
                                legend_label=t("chart.legend_groups")))
        blocks.append(Table(caption=t("model.shap_table_caption", attribute=ctx.attr_label(attr), scale=scale),
                            header=(t("groups.col.group"), t("model.col.rows_explained"), *features), rows=tuple(rows)))
    gaps = shap.get("gap_decomposition") or []
    if gaps:
        blocks.append(_gap_table(ctx, gaps, scale))
    return blocks


def _gap_table(ctx: Context, gaps: list[Mapping[str, Any]], scale: str) -> Table:
    t, loc = ctx.t, ctx.loc
    rows = []
    for g in gaps:
        attr, name, ref = str(g.get("attribute")), str(g.get("group")), str(g.get("reference"))
        ok = not (ctx.sup.small(g.get("n")) or ctx.sup.small(g.get("n_reference")) or ctx.sup.group_hidden(attr, name))
        parts = [t("model.contribution", feature=str(f.get("feature")), value=loc.number(f.get("contribution"), 3,
                                                                                           sign=True),
                   share=loc.percent(f.get("share_of_gap"), 0)) for f in (g.get("features") or [])[:3]]
        rows.append(TableRow((Cell(t("analyses.versus", group=ctx.group_label(attr, name),
                                     reference=ctx.group_label(attr, ref), attribute=ctx.attr_label(attr))),
                              Cell(loc.number(g.get("mean_score_gap"), 3, sign=True), numeric=True) if ok
                              else ctx.withheld(f"gap/{attr}/{name}"),
                              Cell("; ".join(parts)) if ok else ctx.withheld(f"gap/{attr}/{name}/features"))))
    return Table(caption=t("model.gap_caption", scale=scale),
                 header=(t("analyses.col.comparison"), t("model.col.gap"), t("model.col.contributions")),
                 rows=tuple(rows))


def _reasons(ctx: Context, reasons: list[Any]) -> Cell:
    texts, lang = ctx.analysis_list(reasons)
    return Cell("; ".join(texts) or "—", lang=lang)


def _proxy_table(ctx: Context, proxies: list[Mapping[str, Any]]) -> Table:
    t, loc = ctx.t, ctx.loc
    rows = tuple(TableRow((Cell(str(p.get("feature"))), Cell(ctx.attr_label(str(p.get("attribute")))),
                           Cell(loc.number(p.get("auc"), 2), numeric=True),
                           Cell(loc.percent(p.get("mi_share"), 0), numeric=True),
                           Cell(t("common.yes") if p.get("strong") else t("common.no")),
                           _reasons(ctx, p.get("reasons") or [])),
                          emphasis=bool(p.get("strong")))
                 for p in sorted(proxies, key=lambda p: not p.get("strong")))
    return Table(caption=t("model.proxy_caption"),
                 header=(t("model.col.feature"), t("model.col.attribute"), t("model.col.auc"),
                         t("model.col.information"), t("model.col.strong"), t("model.col.reasons")), rows=rows)


def _flip_table(ctx: Context, flips: list[Mapping[str, Any]]) -> Table:
    t, loc = ctx.t, ctx.loc
    rows = []
    for f in flips:
        attr = str(f.get("attribute"))
        for d in f.get("direct_effect") or []:
            where = f"flips/{attr}/{d.get('value')}"
            counts = (d.get("flips_to_selected"), d.get("flips_to_not_selected"))
            ok = ctx.sup.counts_ok(counts)
            diff = {"difference": d.get("difference"), "difference_ci": [d.get("ci_low"), d.get("ci_high")]}
            rows.append(TableRow((Cell(t("model.flip_change", attribute=attr, baseline=str(d.get("baseline")),
                                         value=str(d.get("value")))),
                                  ctx.count(counts[0], where + "/to_selected"),
                                  ctx.count(counts[1], where + "/to_not_selected"),
                                  ctx.difference(diff, ok, where + "/difference"),
                                  Cell(loc.p_value(d.get("p_holm")) if ok else t("suppression.withheld"), not ok,
                                       numeric=True))))
    return Table(caption=t("model.flip_caption", level=ctx.level),
                 header=(t("model.col.change"), t("model.col.to_selected"), t("model.col.to_not_selected"),
                         t("model.col.direct_effect", level=ctx.level), t("groups.col.p")), rows=tuple(rows))


def _share_ok(ctx: Context, share: Any, size: Any) -> bool:
    """A mean of a 0/1 bias measure over ``size`` cases is a count in disguise: publish it only if that count may be."""
    if not isinstance(share, (int, float)) or not isinstance(size, (int, float)) or not 0 <= share <= 1:
        return True
    count = share * size
    if abs(count - round(count)) > 1e-6:
        return True  # not a proportion of cases (an error size, say): no count to protect
    return ctx.sup.rate_ok({"numerator": round(count), "denominator": size})


def _cluster_table(ctx: Context, clusters: Mapping[str, Any]) -> Table:
    t, loc = ctx.t, ctx.loc
    rows = []
    for c in clusters.get("clusters") or []:
        where = f"clusters/{c.get('id')}"
        ok = not ctx.sup.small(c.get("size_holdout")) and _share_ok(ctx, c.get("bias_holdout"), c.get("size_holdout"))
        ci = c.get("ci") or {}
        low, high = (loc.number(ci.get(k), 3, sign=True) for k in ("low", "high"))
        span = t("cell.range", low=low, high=high)
        diff = (Cell(loc.number(c.get("difference"), 3, sign=True), numeric=True, detail=span) if ok
                else ctx.withheld(where + "/difference"))
        rows.append(TableRow((Cell(str(c.get("id"))), ctx.english(c.get("description", "")),
                              ctx.count(c.get("size_holdout"), where + "/size"),
                              Cell(f"{loc.number(c.get('bias_holdout'), 3)} / "
                                   f"{loc.number(c.get('bias_rest_holdout'), 3)}", numeric=True)
                              if ok else ctx.withheld(where + "/bias"),
                              diff,
                              Cell(loc.p_value(c.get("p_holm")) if ok else t("suppression.withheld"), not ok,
                                   numeric=True),
                              Cell(t("common.yes") if c.get("confirmed") else t("common.no"))),
                             emphasis=bool(c.get("confirmed"))))
    return Table(caption=t("model.cluster_caption"),
                 header=(t("model.col.cluster"), t("model.col.description"), t("model.col.size_holdout"),
                         t("model.col.bias"), t("model.col.bias_difference", level=ctx.level), t("groups.col.p"),
                         t("model.col.confirmed")), rows=tuple(rows))


def _archetype_table(ctx: Context, people: list[Mapping[str, Any]]) -> Table:
    """Named example persons scored side by side.  They are made up, so they have no small cells; their
    rank among the real population is shown only when that population holds at least k people."""
    t, loc = ctx.t, ctx.loc
    rows = []
    for a in people:
        groups = "; ".join(f"{ctx.attr_label(str(k))}: {ctx.group_label(str(k), str(v))}"
                           for k, v in (a.get("groups") or {}).items())
        decision = a.get("decision")
        decided = "—" if decision is None else t("model.archetype_selected" if decision else "model.archetype_not")
        n = a.get("reference_rows")
        ranked = a.get("rank") is not None and isinstance(n, int) and n >= ctx.k
        rank = t("model.archetype_rank", rank=loc.integer(a.get("rank")), n=loc.integer(n),
                 percentile=loc.number(a.get("percentile"), 1)) if ranked else "—"
        filled = ", ".join(map(str, a.get("filled_from_defaults") or [])) or "—"
        description, lang = (str(a.get("description")), ctx.text_lang()) if a.get("description") else ("", None)
        rows.append(TableRow((Cell(str(a.get("name"))), Cell(description or "—", lang=lang if description else None),
                              Cell(groups or "—"), Cell(loc.number(a.get("score"), 3), numeric=True),
                              Cell(decided), Cell(rank, numeric=True), Cell(filled))))
    return Table(caption=t("model.archetype_caption"),
                 header=(t("model.col.person"), t("model.col.description"), t("model.col.groups"),
                         t("model.col.score"), t("model.col.decision"), t("model.col.rank"), t("model.col.filled")),
                 rows=tuple(rows))


def model_section(ctx: Context) -> Section | None:
    """What the model is and what drives its scores, when a model was assessed."""
    results, t = ctx.results, ctx.t
    explanations = results.get("explanations") or {}
    if not ((results.get("input") or {}).get("model") or results.get("model_card") or explanations):
        return None
    subs = [Section(id="model-card", title=t("model.card_title"), blocks=tuple(_card(ctx)))]
    if (explanations.get("shap") or {}).get("by_group"):
        subs.append(Section(id="model-shap", title=t("model.shap_title"),
                            blocks=tuple(_shap_blocks(ctx, explanations["shap"]))))
    if explanations.get("proxies"):
        subs.append(Section(id="model-proxies", title=t("model.proxy_title"),
                            blocks=(Paragraph(t("model.proxy_intro")), _proxy_table(ctx, explanations["proxies"]))))
    if explanations.get("flips"):
        subs.append(Section(id="model-flips", title=t("model.flip_title"),
                            blocks=(Paragraph(t("model.flip_intro")), _flip_table(ctx, explanations["flips"]))))
    if explanations.get("archetypes"):
        subs.append(Section(id="model-archetypes", title=t("model.archetype_title"),
                            blocks=(Paragraph(t("model.archetype_intro")),
                                    _archetype_table(ctx, explanations["archetypes"]))))
    if (explanations.get("clusters") or {}).get("clusters"):
        subs.append(Section(id="model-clusters", title=t("model.cluster_title"),
                            blocks=(Paragraph(t("model.cluster_intro")),
                                    _cluster_table(ctx, explanations["clusters"]))))
    hist = histogram_blocks(ctx)
    if hist:
        subs.append(Section(id="model-scores", title=t("model.hist_title"), blocks=tuple(hist)))
    from ._build_scores import scores_section  # calibration, ROC and threshold sweep by group

    subs += [s for s in (scores_section(ctx),) if s is not None]
    notes = [*(results.get("scoring") or {}).get("notes", []), *(explanations.get("shap") or {}).get("notes", [])]
    if notes:
        subs.append(Section(id="model-notes", title=t("model.notes_title"),
                            blocks=(BulletList(*ctx.analysis_list(notes)),)))
    return Section(id="model", title=t("model.title"), subsections=tuple(subs))


def _histograms(results: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Score histograms by group, as ``[{attribute, group, edges, counts}]``, from either documented shape."""
    raw = results.get("score_histograms")
    if isinstance(raw, Mapping):
        edges = raw.get("edges")
        return [{**g, "edges": g.get("edges", edges)} for g in raw.get("groups", []) if isinstance(g, Mapping)]
    if isinstance(raw, list):
        return [g for g in raw if isinstance(g, Mapping)]
    return []


def histogram_blocks(ctx: Context) -> list[Block]:
    """Score distributions by group (share of each group per score bin), only when the results hold them."""
    t, loc = ctx.t, ctx.loc
    hists = [h for h in _histograms(ctx.results) if h.get("edges") and h.get("counts")
             and len(h["edges"]) == len(h["counts"]) + 1]
    blocks: list[Block] = []
    for attr in dict.fromkeys(str(h.get("attribute")) for h in hists):
        mine = [h for h in hists if str(h.get("attribute")) == attr and h["edges"] == hists[0]["edges"]]
        series = []
        for h in mine[:_MAX_SERIES]:
            total = sum(c for c in h["counts"] if isinstance(c, (int, float)))
            hidden = ctx.sup.small(total) or ctx.sup.group_hidden(attr, str(h.get("group")))
            shares = tuple(None if hidden or ctx.sup.small(c) or not total else c / total for c in h["counts"])
            if any(s is None for s in shares):
                ctx.sup.note(f"histogram/{attr}/{h.get('group')}")
            series.append(Series(ctx.group_label(attr, str(h.get("group"))), shares))
        top = max([s for ser in series for s in ser.values if s is not None] or [0.0])
        if not top:
            continue
        edges = tuple(float(e) for e in mine[0]["edges"])
        y_ticks = nice_ticks(top, 4)
        x_ticks = nice_ticks(edges[-1], 5) if edges[0] >= 0 else [edges[0], edges[-1]]
        blocks.append(Chart(id=anchor_for(f"chart/hist/{attr}"), title=t("chart.hist_title", attribute=ctx.attr_label(attr)),
                            description=t("chart.hist_desc", attribute=ctx.attr_label(attr), k=loc.integer(ctx.k)),
                            body=Histogram(edges=edges, series=tuple(series), axis_label=t("chart.hist_axis"),
                                           value_label=t("chart.hist_value"),
                                           x_ticks=tuple((v, short_number(loc, v)) for v in x_ticks
                                                         if edges[0] <= v <= edges[-1]),
                                           y_ticks=tuple((v, loc.percent(v, 0)) for v in y_ticks),
                                           y_max=y_ticks[-1]),
                            legend_label=t("chart.legend_groups")))
    return blocks
