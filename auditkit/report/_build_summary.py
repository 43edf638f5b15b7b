"""The summary: the headline result first (one sentence, its interval, its chart), then what else was found.

The headline is chosen by the rule of :mod:`auditkit.report._headline`; the report states the rule in
one sentence under it, so that a reader knows why this result and not another leads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ._build_findings import SEVERITIES, block_key, sorted_findings, statement
from ._build_groups import ratio_chart
from ._build_many import LARGEST, MANY, supported
from ._context import Context, anchor_for, decision_text
from ._document import Block, BulletList, Chart, Paragraph, Section
from ._headline import Headline, choose_headline

__all__ = ["headline_blocks", "headline_chart", "headline_of", "headline_sentence", "population_text",
           "summary_section"]

#: Findings per attribute listed in the summary; the rest are counted.
_PER_ATTRIBUTE = 3


def population_text(ctx: Context) -> str:
    """'6,000 rows of decisions.csv' (or people, a range when the source suppressed cells)."""
    pop, loc = ctx.results.get("population") or {}, ctx.loc
    if "rows_audited" in pop and "people" in pop:  # --person: rows are a person's stages; people are counted
        return ctx.t("doc.population_people", n=loc.integer(pop["people"]), source=str(pop.get("source", "?")))
    if "rows_audited" in pop:
        return ctx.t("doc.population_rows", n=loc.integer(pop["rows_audited"]), source=str(pop.get("source", "?")))
    bounds = pop.get("people_bounds")  # suppressed cells: the number of people is a range
    n = loc.span(*map(loc.integer, bounds)) if bounds else loc.integer(pop.get("people"))
    return ctx.t("doc.population_people", n=n, source=str(pop.get("source", "?")))


def headline_of(ctx: Context) -> Headline | None:
    """The headline of the report's bundle; only comparisons whose figures may be published qualify."""
    return choose_headline(ctx.results, ctx.bundle.findings, ctx.sup.comparison_ok)


def headline_sentence(ctx: Context, h: Headline) -> str:
    """The headline in one sentence, with the rates compared and the interval of the ratio."""
    c, loc = h.comparison, ctx.loc
    attr, metric = str(c.get("attribute")), str(c.get("metric"))
    ci = list(c.get("ratio_ci") or [None, None])
    values = dict(group=ctx.group_label(attr, str(c.get("group"))), attribute=ctx.attr_label(attr),
                  reference=ctx.group_label(attr, str(c.get("reference"))), ratio=loc.number(c.get("ratio")),
                  rate=loc.percent((c.get("group_rate") or {}).get("value")),
                  reference_rate=loc.percent((c.get("reference_rate") or {}).get("value")),
                  level=ctx.level, low=loc.number(ci[0]), high=loc.number(ci[1]),
                  metric=loc.label("metric", metric).lower())
    key = "summary.headline_selection" if metric == "selection_rate" else "summary.headline_metric"
    stages = (ctx.results.get("population") or {}).get("stages")
    if stages and metric == "selection_rate":  # a process: the comparisons are end to end
        key = "summary.headline_end_to_end"
        values.update(first=str(stages["order"][0]), last=str(stages["order"][-1]))
    return ctx.t(key, **values)


def headline_chart(ctx: Context, h: Headline) -> Chart | None:
    """The ratio chart of the headline's attribute with the headline group in bold (selection rates only)."""
    c = h.comparison
    attr, metric = str(c.get("attribute")), str(c.get("metric"))
    if metric != "selection_rate":
        return None
    comps = [x for x in ctx.results.get("comparisons", []) if str(x.get("attribute")) == attr
             and x.get("metric") == metric]
    if len(comps) > MANY:  # many groups: the headline group among the strongest disparities
        strongest = sorted((x for x in comps if ctx.sup.comparison_ok(x)), key=supported, reverse=True)[:LARGEST]
        comps = strongest if c in strongest else [*strongest[:LARGEST - 1], c]
    chart = ratio_chart(ctx, attr, comps, highlight=str(c.get("group")))
    return None if chart is None else replace(chart, id=anchor_for(f"headline/chart/{attr}"))


def headline_blocks(ctx: Context) -> list[Block]:
    """The headline paragraph, its source line (finding id, adjusted p, group sizes), the rule, its chart."""
    h = headline_of(ctx)
    if h is None and ctx.results.get("linkage"):  # area estimates: no comparison of individuals to lead with
        from ._build_linkage import linkage_headline

        return [linkage_headline(ctx)]
    if h is None:
        records = list(ctx.results.get("comparisons") or [])
        records += [s.get("comparison") or {} for s in ctx.results.get("stages") or []]
        return [Paragraph(_no_headline(ctx, [c for c in records if isinstance(c, Mapping)]), style="headline")]
    c, loc = h.comparison, ctx.loc
    uses = (ctx.results.get("multiple_testing") or {}).get("status_uses", "holm")
    p = c.get("p_bh" if uses in ("bh", "benjamini-hochberg") else "p_holm")
    source = ctx.t("summary.headline_source", n=loc.integer((c.get("group_rate") or {}).get("denominator")),
                   n_reference=loc.integer((c.get("reference_rate") or {}).get("denominator")), p=loc.p_value(p))
    if h.finding is not None:
        source = ctx.t("summary.headline_finding", id=str(h.finding.get("id")), source=source)
    blocks: list[Block] = [Paragraph(headline_sentence(ctx, h), style="headline"),
                           Paragraph(source, style="headline-source")]
    chart = headline_chart(ctx, h)
    if chart is not None:
        blocks.append(chart)
    blocks.append(Paragraph(ctx.t("summary.headline_rule"), style="headline-rule"))
    return blocks


def _no_headline(ctx: Context, records: list[Mapping[str, Any]]) -> str:
    """Why no comparison leads, stated exactly: detected ones withheld or resting on suppressed cells (ranges,
    which cannot lead as one figure), or none detected; then 'none' says whether suppressed cells leave it open."""
    detected = [c for c in records if c.get("status") == "difference_detected"]
    if detected:  # detected differences that may not lead must not read as 'none found'
        if all(c.get("ratio") is None and c.get("ratio_bounds") for c in detected if ctx.sup.comparison_ok(c)) \
                and any(ctx.sup.comparison_ok(c) for c in detected):
            return ctx.t("summary.headline_bounded")
        return ctx.t("summary.headline_withheld", k=ctx.loc.integer(ctx.k))
    alpha = (ctx.results.get("multiple_testing") or {}).get("alpha", 0.05)
    # With suppressed cells the status uses the largest p-value the cells allow; where the smallest is below
    # alpha, the cells' true values decide, and 'no difference' holds only as 'not for every value'.
    open_ = [c for c in records if c.get("ratio_bounds") and (c.get("p_value_bounds") or [None])[0] is not None
             and c["p_value_bounds"][0] < alpha and c.get("status") == "no_difference_detected"]
    if open_:
        return ctx.t("summary.headline_none_suppressed", n=ctx.loc.integer(len(open_)),
                     alpha=ctx.loc.number(alpha, 2))
    return ctx.t("summary.headline_none")


def _by_attribute(ctx: Context, findings: list[Mapping[str, Any]], skip: str | None) -> list[Block]:
    """The other serious findings, grouped by the attribute their evidence concerns."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for f in findings:
        if f.get("severity") in SEVERITIES[:3] and str(f.get("id")) != skip and not statement(ctx, f)[2]:
            grouped.setdefault(block_key(ctx, f)[1], []).append(f)
    if not grouped:
        return []
    attrs = [str(a.get("attribute")) for a in ctx.results.get("attributes", []) if isinstance(a, Mapping)]
    blocks: list[Block] = [Paragraph(ctx.t("summary.top"))]
    for attr in sorted(grouped, key=lambda a: (attrs.index(a) if a in attrs else len(attrs), a)):
        items = []
        for f in grouped[attr][:_PER_ATTRIBUTE]:
            text, _, _ = statement(ctx, f)
            items.append(f"{f.get('id')}: {text}")
        more = len(grouped[attr]) - _PER_ATTRIBUTE
        if more > 0:
            items.append(ctx.t("summary.more", n=ctx.loc.integer(more)))
        blocks += [Paragraph(ctx.attr_label(attr) if attr else ctx.t("summary.other"), style="summary-attribute"),
                   BulletList(tuple(items))]
    return blocks


def summary_section(ctx: Context) -> Section:
    """Headline, what was examined, the findings by severity and by attribute, how to read the numbers."""
    t, loc, results = ctx.t, ctx.loc, ctx.results
    design = results.get("design") or {}
    rows = design.get("rows", 0)
    selected = design.get("selected")
    publishable = rows and isinstance(selected, (int, float)) and not ctx.sup.small(selected)
    share = loc.percent(selected / rows) if publishable else t("suppression.withheld")
    sel_b, not_b = design.get("selected_bounds"), design.get("not_selected_bounds")
    if publishable and sel_b and not_b:  # suppressed cells: the share from its least to its largest value
        share = ctx.share_range(sel_b[0], sel_b[0] + not_b[1], sel_b[1], sel_b[1] + not_b[0])
    from ._build_response import corrections_notice

    notice = corrections_notice(ctx)
    blocks: list[Block] = ([notice] if notice else []) + headline_blocks(ctx)
    blocks.append(Paragraph(t("summary.examined", population=population_text(ctx), rule=decision_text(ctx),
                              selected=ctx.count(selected, "summary/selected", sel_b).text, share=share)))
    model = (results.get("input") or {}).get("model")
    if model:
        family = (results.get("model_card") or {}).get("family", "")
        blocks.append(Paragraph(t("summary.model", file=str(model.get("file", "?")), family=ctx.analysis(family)[0])))
    people = (results.get("explanations") or {}).get("archetypes") or []
    if people:
        items = "; ".join(t("summary.archetype_item", name=str(a.get("name")), score=loc.number(a.get("score"), 3),
                            decision=t("model.archetype_selected" if a.get("decision") else "model.archetype_not")
                            if a.get("decision") is not None else "—") for a in people)
        blocks.append(Paragraph(t("summary.archetypes", items=items)))
    findings = sorted_findings(ctx.bundle.findings)
    counts = [(s, sum(1 for f in findings if f.get("severity") == s)) for s in SEVERITIES]
    parts = ", ".join(t("summary.severity_count", n=loc.integer(n), severity=loc.label("severity", s))
                      for s, n in counts if n)
    blocks.append(Paragraph(t("summary.findings", n=loc.integer(len(findings)), parts=parts or "—")
                            if findings else t("summary.no_findings")))
    h = headline_of(ctx)
    skip = str(h.finding.get("id")) if h is not None and h.finding is not None else None
    blocks += _by_attribute(ctx, findings, skip)
    blocks += [Paragraph(t("summary.how_to_read", level=ctx.level,
                           family=loc.integer((results.get("multiple_testing") or {}).get("family_size", 0)))),
               Paragraph(t("summary.not_shown"))]
    return Section(id="summary", title=t("summary.title"), blocks=tuple(blocks))
