"""build_document: decide what a report says, in which order, from the bundle alone."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ._build_checklist import checklist_section
from ._build_extra import appendix_section, limitations_section
from ._build_groups import analysis_sections, group_sections
from ._build_model import histogram_blocks, model_section
from ._build_system import legal_of, system_section, template_record
from ._bundle import Bundle, load_bundle
from ._context import Context, decision_text, pick
from ._document import Block, BulletList, Document, FindingBlock, Paragraph, Section, Table
from ..locale import load_locale
from ._suppress import Suppressor

__all__ = ["SEVERITIES", "build_document"]

SEVERITIES = ("critical", "high", "medium", "low", "info")


def build_document(bundle: Bundle | str | os.PathLike, lang: str = "en", *, min_count: int | None = None) -> Document:
    """The report of ``bundle`` in ``lang``: every section, text and figure, ready for any renderer.

    Cells below ``min_count`` people (default: the bundle's ``suppression_threshold``, else 10) are
    withheld here, so that no renderer can publish them.
    """
    if not isinstance(bundle, Bundle):
        bundle = load_bundle(bundle)
    loc = load_locale(lang)
    k = bundle.min_count if min_count is None else min_count
    ctx = Context(bundle=bundle, loc=loc, sup=Suppressor(bundle.results, k))
    groups = group_sections(ctx)
    analyses = analysis_sections(ctx)
    model = model_section(ctx)
    if model is None:
        hist = histogram_blocks(ctx)
        if hist:
            groups.append(Section(id="scores", title=loc.t("model.hist_title"), blocks=tuple(hist)))
    findings = _findings_section(ctx)
    method = _method_section(ctx)
    checklist = checklist_section(ctx)
    results_section = Section(id="results", title=loc.t("groups.title"),
                              blocks=(Paragraph(loc.t("groups.intro", level=ctx.level, k=loc.integer(k))),),
                              subsections=tuple(groups + analyses))
    limitations = limitations_section(ctx)
    parts = [_summary_section(ctx), system_section(ctx), findings, method, results_section, model, checklist, limitations,
             appendix_section(ctx)]
    legend = loc.t("suppression.legend", k=loc.integer(k))
    sections = [_with_legends(s, legend) for s in parts if s is not None]
    title = _title(ctx)
    version = str(bundle.manifest.get("auditkit_version") or bundle.results.get("auditkit_version") or "?")
    return Document(
        lang=loc.code, direction=loc.direction, title=title,
        subtitle=_subtitle(ctx),
        citation=loc.t("doc.citation", title=title, version=version, sha256=bundle.manifest_sha256),
        sections=tuple(sections),
        labels={key: loc.t(f"doc.{key}") for key in ("contents", "skip")},
        generator=f"auditkit {version}")


def _with_legends(section: Section, legend: str) -> Section:
    """Tables holding a withheld figure get the note that says why."""
    blocks = tuple(replace(b, notes=(*b.notes, legend)) if isinstance(b, Table) and any(
        c.suppressed for r in b.rows for c in r.cells) else b for b in section.blocks)
    return replace(section, blocks=blocks, subsections=tuple(_with_legends(s, legend) for s in section.subsections))


def _title(ctx: Context) -> str:
    for source in (ctx.bundle.manifest, ctx.results.get("template") or {}):
        if isinstance(source, Mapping) and source.get("title"):
            text, _ = pick(source["title"], ctx.loc.code)
            if text:
                return text
    src = str((ctx.results.get("input") or {}).get("source", ctx.results.get("population", {}).get("source", "?")))
    model = (ctx.results.get("input") or {}).get("model")
    if model:
        return ctx.t("doc.title_assess", model=str(model.get("file", "?")), source=src)
    return ctx.t("doc.title_audit", source=src)


def _subtitle(ctx: Context) -> str:
    """'Evidence report on …', after the audited system's name when the template gives one."""
    population = _population_text(ctx)
    system = (template_record(ctx) or {}).get("system")
    name, _ = pick(system.get("name"), ctx.loc.code) if isinstance(system, Mapping) else ("", None)
    if name:
        return ctx.t("doc.subtitle_system", system=name, population=population)
    return ctx.t("doc.subtitle", population=population)


def _population_text(ctx: Context) -> str:
    pop, loc = ctx.results.get("population") or {}, ctx.loc
    if "rows_audited" in pop:
        return ctx.t("doc.population_rows", n=loc.integer(pop["rows_audited"]), source=str(pop.get("source", "?")))
    bounds = pop.get("people_bounds")  # suppressed cells: the number of people is a range
    n = loc.span(*map(loc.integer, bounds)) if bounds else loc.integer(pop.get("people"))
    return ctx.t("doc.population_people", n=n, source=str(pop.get("source", "?")))


def _sorted_findings(findings: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: rank.get(str(f.get("severity")), len(rank)))


def _statement(ctx: Context, f: Mapping[str, Any]) -> tuple[str, str | None, bool]:
    """(statement, its language if not the report's, withheld?) of one finding."""
    evidence = [str(e) for e in f.get("evidence", [])]
    withheld = any(ctx.anchors.get(e, ("", False))[1] for e in evidence)
    if not withheld:
        text, lang = pick(f.get("statement"), ctx.loc.code)
        return text, lang, False
    return ctx.t("findings.withheld", k=ctx.loc.integer(ctx.k)), None, True


def _finding_block(ctx: Context, f: Mapping[str, Any]) -> FindingBlock:
    t, lang = ctx.t, ctx.loc.code
    fid, severity = str(f.get("id", "?")), str(f.get("severity", "info"))
    statement, statement_lang, withheld = _statement(ctx, f)
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
    legal = legal_of(ctx)
    if legal is None:  # no template: the ids as the finding names them
        for key in ("rights", "provisions"):
            values = tuple((ctx.loc.label("right", str(v)) if key == "rights" else str(v), None)
                           for v in f.get(key, []))
            if values:
                details.append((t(f"findings.{key}"), values))
    else:  # the template's titles and citations, restricted to its report.jurisdictions
        rights = tuple((legal.right(str(v))[0], None) for v in f.get("rights", []))
        if rights:
            details.append((t("findings.rights"), rights))
        provisions = tuple((text, None) for text in legal.cite_all(f.get("provisions", [])))
        if provisions:
            details.append((t("findings.provisions"), provisions))
    if f.get("screening_band"):
        details.append((t("findings.screening"), ((t("findings.screening_text"), None),)))
    kind = ctx.loc.label("finding_kind", str(f.get("kind", "")))
    details.append((t("findings.rule"), ((f"{f.get('rule', '—')} · {kind}", None),)))
    severity_label = ctx.loc.label("severity", severity)
    return FindingBlock(id=fid, severity=severity if severity in SEVERITIES else "info",
                        severity_label=severity_label, heading=t("findings.heading", id=fid, severity=severity_label),
                        statement=statement, statement_lang=statement_lang, details=tuple(details), withheld=withheld)


def _findings_section(ctx: Context) -> Section:
    findings = _sorted_findings(ctx.bundle.findings)
    blocks: list[Block] = [Paragraph(ctx.t("findings.intro"))]
    if not findings:
        blocks.append(Paragraph(ctx.t("findings.none")))
    blocks += [_finding_block(ctx, f) for f in findings]
    return Section(id="findings", title=ctx.t("findings.title"), blocks=tuple(blocks))


def _summary_section(ctx: Context) -> Section:
    t, loc, results = ctx.t, ctx.loc, ctx.results
    design = results.get("design") or {}
    rows = design.get("rows", 0)
    selected = design.get("selected")
    publishable = rows and isinstance(selected, (int, float)) and not ctx.sup.small(selected)
    share = loc.percent(selected / rows) if publishable else t("suppression.withheld")
    blocks: list[Block] = [Paragraph(t("summary.examined", population=_population_text(ctx),
                                       rule=decision_text(ctx),
                                       selected=ctx.count(selected, "summary/selected").text, share=share))]
    model = (results.get("input") or {}).get("model")
    if model:
        family = (results.get("model_card") or {}).get("family", "")
        blocks.append(Paragraph(t("summary.model", file=str(model.get("file", "?")), family=str(family))))
    findings = _sorted_findings(ctx.bundle.findings)
    counts = [(s, sum(1 for f in findings if f.get("severity") == s)) for s in SEVERITIES]
    parts = ", ".join(t("summary.severity_count", n=loc.integer(n), severity=loc.label("severity", s))
                      for s, n in counts if n)
    blocks.append(Paragraph(t("summary.findings", n=loc.integer(len(findings)), parts=parts or "—")
                            if findings else t("summary.no_findings")))
    top = [f for f in findings if f.get("severity") in SEVERITIES[:3]][:5]
    if top:
        blocks.append(Paragraph(t("summary.top")))
        items = []
        for f in top:
            text, _, _ = _statement(ctx, f)
            items.append(f"{f.get('id')}: {text}")
        blocks.append(BulletList(tuple(items)))
    blocks += [Paragraph(t("summary.how_to_read", level=ctx.level,
                           family=loc.integer((results.get("multiple_testing") or {}).get("family_size", 0)))),
               Paragraph(t("summary.not_shown"))]
    return Section(id="summary", title=t("summary.title"), blocks=tuple(blocks))


def _method_section(ctx: Context) -> Section:
    from ._build_method import method_blocks

    return Section(id="method", title=ctx.t("method.title"), subsections=tuple(method_blocks(ctx)))

