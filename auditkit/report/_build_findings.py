"""Findings in a report: grouped blocks up front, the full per-finding cards in an appendix.

A reader wants each result once: one block per attribute and metric (or per analysis, such as the
random control sample) with all its groups in one short table, its chart, and the recommendation, rights
and legal provisions stated once.  Every finding keeps its own card, with its id as anchor, in the
appendix "Finding cards", so that an id quoted in a letter or a debate can still be looked up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ._build_groups import ratio_chart
from ._build_many import LARGEST, MANY, supported
from ._build_system import legal_of
from ._context import Context, anchor_for, pick
from ._document import Block, Cell, FindingBlock, KeyValues, Paragraph, Section, Table, TableRow
from ._headline import comparison_key

__all__ = ["SEVERITIES", "block_key", "finding_block", "findings_appendix", "findings_section", "legal_details",
           "sorted_findings", "statement"]

SEVERITIES = ("critical", "high", "medium", "low", "info")
#: Ids listed under a block, and finding cards in the appendix, at most (the rest are in findings.json).
CARDS = 60
MANY_CARDS = 200


def sorted_findings(findings: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Findings by severity, most serious first (stable within a severity)."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: rank.get(str(f.get("severity")), len(rank)))


def statement(ctx: Context, f: Mapping[str, Any]) -> tuple[str, str | None, bool]:
    """(statement, its language if not the report's, withheld?) of one finding."""
    evidence = [str(e) for e in f.get("evidence", [])]
    withheld = any(ctx.anchors.get(e, ("", False))[1] for e in evidence)
    if not withheld:
        text, lang = pick(f.get("statement"), ctx.loc.code)
        return text, lang, False
    return ctx.t("findings.withheld", k=ctx.loc.integer(ctx.k)), None, True


def legal_details(ctx: Context, rights: list[str], provisions: list[str]) -> list[tuple[str, tuple]]:
    """(label, ((text, None), ...)) rows for rights by title and provisions by citation (ids without a template)."""
    t, details = ctx.t, []
    legal = legal_of(ctx)
    if legal is None:  # no template: the ids as the finding names them
        if rights:
            details.append((t("findings.rights"), tuple((ctx.loc.label("right", r), None) for r in rights)))
        if provisions:
            details.append((t("findings.provisions"), tuple((p, None) for p in provisions)))
        return details
    titles = tuple((legal.right(r)[0], None) for r in rights)
    if titles:
        details.append((t("findings.rights"), titles))
    cited = tuple((text, None) for text in legal.cite_all(provisions))
    if cited:
        details.append((t("findings.provisions"), cited))
    return details


def finding_block(ctx: Context, f: Mapping[str, Any]) -> FindingBlock:
    """The full card of one finding (the appendix), anchored at its id."""
    t, lang = ctx.t, ctx.loc.code
    fid, severity = str(f.get("id", "?")), str(f.get("severity", "info"))
    text, text_lang, withheld = statement(ctx, f)
    details: list[tuple[str, tuple[tuple[str, str | None], ...]]] = []
    recommendation, _ = pick(f.get("recommendation"), lang)
    if recommendation:
        details.append((t("findings.recommendation"), ((recommendation, None),)))
    population, _ = pick(f.get("population"), lang)
    if population:
        details.append((t("findings.population"), ((ctx.redact(population), None),)))
    evidence = tuple((str(e), ctx.anchors[str(e)][0] if str(e) in ctx.anchors else None) for e in f.get("evidence", []))
    if evidence:
        details.append((t("findings.evidence"), evidence))
    details += legal_details(ctx, [str(v) for v in f.get("rights", [])], [str(v) for v in f.get("provisions", [])])
    if f.get("screening_band"):
        details.append((t("findings.screening"), ((ctx.band_text("findings.screening_text"), None),)))
    kind = ctx.loc.label("finding_kind", str(f.get("kind", "")))
    details.append((t("findings.rule"), ((f"{f.get('rule', '—')} · {kind}", None),)))
    severity_label = ctx.loc.label("severity", severity)
    return FindingBlock(id=fid, severity=severity if severity in SEVERITIES else "info",
                        severity_label=severity_label, heading=t("findings.heading", id=fid, severity=severity_label),
                        statement=text, statement_lang=text_lang, details=tuple(details), withheld=withheld)


# grouping ----------------------------------------------------------------------------------------------

def block_key(ctx: Context, f: Mapping[str, Any]) -> tuple[str, str, str]:
    """(analysis, attribute, metric) of a finding's first evidence id, e.g. ('comparisons', 'nationality',
    'selection_rate'); attribute names are matched against the results, since a group may contain '/'."""
    evidence = [str(e) for e in f.get("evidence", [])]
    if not evidence or "/" not in evidence[0]:
        return ("other", "", str(f.get("rule", "")))
    prefix, rest = evidence[0].split("/", 1)
    if prefix == "comparisons" and "/vs/" in rest:  # compared within an intersection: '.../METRIC/vs/REFERENCE'
        rest = rest.rsplit("/vs/", 1)[0]
    body, _, metric = rest.rpartition("/")
    names = sorted((str(a.get("attribute")) for a in ctx.results.get("attributes", []) if isinstance(a, Mapping)),
                   key=len, reverse=True)
    attr = next((a for a in names if body.startswith(a + "/")), body.split("/", 1)[0])
    return (prefix, attr, metric)


def _order(ctx: Context, key: tuple[str, str, str]) -> tuple[Any, ...]:
    attrs = [str(a.get("attribute")) for a in ctx.results.get("attributes", []) if isinstance(a, Mapping)]
    position = attrs.index(key[1]) if key[1] in attrs else len(attrs)
    return (position, key[0] != "comparisons", key[0], key[2] != "selection_rate", key[2])


def _comparison_table(ctx: Context, attr: str, metric: str, ids: dict[str, list[str]]) -> Table:
    """The groups of ``attr`` for ``metric``, the reference first: rate, ratio, difference, adjusted p, result
    and the findings that cite each group (with many groups: the cited ones with the largest disparities)."""
    t, loc = ctx.t, ctx.loc
    comps = [c for c in ctx.results.get("comparisons", [])
             if str(c.get("attribute")) == attr and str(c.get("metric")) == metric]
    reference = str(comps[0].get("reference")) if comps else ""
    first = comps[0] if comps else None
    many = len(comps) > MANY  # many groups: the cited ones with the largest disparities (all in the table file)
    if many:
        comps = sorted((c for c in comps if ids.get(comparison_key(c))),
                       key=lambda c: (-supported(c), str(c.get("group"))))[:LARGEST]
    uses = (ctx.results.get("multiple_testing") or {}).get("status_uses", "holm")
    rows = []
    if first is not None:
        ref_ok = ctx.sup.group_rate_ok(attr, reference, metric, first.get("reference_rate"))
        dash = Cell("—", numeric=True)
        rows.append(TableRow((Cell(f"{ctx.group_label(attr, reference)} ({t('groups.reference')})"),
                              ctx.rate(first.get("reference_rate"), ref_ok, f"groups/{attr}/{reference}/{metric}"),
                              dash, dash, dash, Cell(t("groups.reference")), Cell("—")), emphasis=True))
    for c in comps:
        key, ok, group = comparison_key(c), ctx.sup.comparison_ok(c), str(c.get("group"))
        where = f"groups/{attr}/{group}/{metric}"  # the ids the results tables note withheld figures by
        found = ids.get(key, [])
        p = c.get("p_bh" if uses in ("bh", "benjamini-hochberg") else "p_holm")
        rate_ok = ctx.sup.group_rate_ok(attr, group, metric, c.get("group_rate"))
        # An intersection compared within the other attributes' levels: each row names its reference.
        label = ctx.group_label(attr, group)
        if c.get("held"):
            label = t("findings.versus", group=label, reference=ctx.group_label(attr, str(c.get("reference"))))
        cells = (Cell(label), ctx.rate(c.get("group_rate"), rate_ok, where),
                 ctx.ratio(c, ok, where + "/ratio"), ctx.difference(c, ok, where + "/difference"),
                 Cell(loc.p_value(p) if ok else t("suppression.withheld"), suppressed=not ok, numeric=True),
                 Cell(loc.label("status", str(c.get("status", ""))) if c.get("status") and ok
                      else t("suppression.withheld") if not ok else "—", suppressed=not ok),
                 Cell(" ".join(found) or "—", code=bool(found), ids=bool(found)))
        rows.append(TableRow(cells))
    header = (t("groups.col.group"), t("groups.col.rate", level=ctx.level), t("groups.col.ratio", level=ctx.level),
              t("groups.col.difference", level=ctx.level), t("groups.col.p"), t("groups.col.status"),
              t("findings.col.findings"))
    notes = (t("many.findings_note", n=loc.integer(len(rows) - 1), file=f"report.{loc.code}.csv"),) if many else ()
    return Table(caption=t("findings.block_caption", metric=loc.label("metric", metric), attribute=ctx.attr_label(attr),
                           reference=ctx.group_label(attr, reference)),
                 header=header, rows=tuple(rows), notes=notes)


def _findings_list(ctx: Context, findings: list[Mapping[str, Any]]) -> Table:
    t = ctx.t
    rows = []
    for f in findings:
        text, lang, withheld = statement(ctx, f)
        rows.append(TableRow((Cell(str(f.get("id")), code=True),
                              Cell(ctx.loc.label("severity", str(f.get("severity", "info")))),
                              Cell(text, lang=lang, suppressed=withheld))))
    return Table(caption=t("findings.list_caption"),
                 header=(t("findings.col.finding"), t("findings.col.severity"), t("findings.col.statement")),
                 rows=tuple(rows))


def _once(ctx: Context, findings: list[Mapping[str, Any]]) -> KeyValues | None:
    """Recommendation(s), rights and provisions of a block, each stated once."""
    recs = list(dict.fromkeys(r for r, _ in (pick(f.get("recommendation"), ctx.loc.code) for f in findings) if r))
    rights = list(dict.fromkeys(str(r) for f in findings for r in f.get("rights", [])))
    provisions = list(dict.fromkeys(str(p) for f in findings for p in f.get("provisions", [])))
    rows = [(ctx.t("findings.recommendation"), Cell(r)) for r in recs]
    for label, values in legal_details(ctx, rights, provisions):
        rows.append((label, Cell("; ".join(text for text, _ in values))))
    if any(f.get("screening_band") for f in findings):
        rows.append((ctx.t("findings.screening"), Cell(ctx.band_text("findings.screening_text"))))
    return KeyValues(caption=ctx.t("findings.block_legal"), rows=tuple(rows)) if rows else None


def _block(ctx: Context, key: tuple[str, str, str], findings: list[Mapping[str, Any]]) -> Section:
    prefix, attr, metric = key
    blocks: list[Block] = []
    if prefix == "comparisons":
        ids: dict[str, list[str]] = {}
        for f in findings:
            for e in f.get("evidence", []):
                ids.setdefault(str(e), []).append(str(f.get("id")))
        comps = [c for c in ctx.results.get("comparisons", []) if str(c.get("attribute")) == attr
                 and c.get("metric") == metric]
        if metric == "selection_rate" and len(comps) <= MANY:
            chart = ratio_chart(ctx, attr, comps)
            if chart is not None:
                blocks.append(replace(chart, id=anchor_for(f"findings/chart/{attr}/{metric}")))
        blocks.append(_comparison_table(ctx, attr, metric, ids))
        title = ctx.t("findings.block_title", attribute=ctx.attr_label(attr), metric=ctx.loc.label("metric", metric))
    else:
        blocks.append(_findings_list(ctx, findings))
        title = ctx.t("findings.block_title_analysis", attribute=ctx.attr_label(attr) if attr else "—",
                      analysis=ctx.loc.label("evidence_kind", prefix), measure=ctx.loc.label("evidence_measure", metric))
    once = _once(ctx, findings)
    if once is not None:
        blocks.append(once)
    cards = [str(f.get("id")) for f in findings[:CARDS]]
    more = ctx.t("many.more_cards", n=ctx.loc.integer(len(findings) - CARDS)) if len(findings) > CARDS else ""
    blocks.append(Paragraph(ctx.t("findings.block_cards", ids=", ".join(cards) + more), style="block-cards"))
    return Section(id=anchor_for(f"findings/{prefix}/{attr}/{metric}"), title=title, blocks=tuple(blocks))


def findings_section(ctx: Context) -> Section:
    """Findings grouped: one subsection per attribute and metric (or analysis), most serious block first."""
    findings = sorted_findings(ctx.bundle.findings)
    blocks: list[Block] = [Paragraph(ctx.t("findings.intro"))]
    if not findings:
        blocks.append(Paragraph(ctx.t("findings.none")))
    grouped: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for f in findings:
        grouped.setdefault(block_key(ctx, f), []).append(f)
    subsections = tuple(_block(ctx, key, grouped[key]) for key in sorted(grouped, key=lambda k: _order(ctx, k)))
    return Section(id="findings", title=ctx.t("findings.title"), blocks=tuple(blocks), subsections=subsections)


def findings_appendix(ctx: Context) -> Section | None:
    """Every finding's full card, by severity, each anchored at its id."""
    findings = sorted_findings(ctx.bundle.findings)
    if not findings:
        return None
    blocks: list[Block] = [Paragraph(ctx.t("findings.cards_intro"))]
    if len(findings) > MANY_CARDS:  # thousands of cards help no reader: the most serious, the rest in the bundle
        blocks.append(Paragraph(ctx.t("many.cards_note", shown=ctx.loc.integer(MANY_CARDS),
                                      total=ctx.loc.integer(len(findings)))))
        findings = findings[:MANY_CARDS]
    blocks += [finding_block(ctx, f) for f in findings]
    return Section(id="finding-cards", title=ctx.t("findings.cards_title"), blocks=tuple(blocks))
