"""build_document: decide what a report says, in which order, from the bundle alone."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ._build_checklist import checklist_section
from ._build_extra import appendix_section, limitations_section
from ._build_findings import SEVERITIES, findings_appendix, findings_section
from ._build_groups import analysis_sections, group_sections
from ._build_linkage import linkage_section
from ._build_model import histogram_blocks, model_section
from ._build_response import corrections_section, response_sections
from ._build_summary import population_text, summary_section
from ._build_system import system_section, template_record
from ._bundle import Bundle, load_bundle
from ._context import Context, pick
from ._document import Document, Paragraph, Section, Table
from ..locale import load_locale
from ._suppress import Suppressor

__all__ = ["SEVERITIES", "build_document", "table_file"]


def table_file(bundle: Bundle | str | os.PathLike, lang: str = "en", *,
               min_count: int | None = None) -> list[dict[str, Any]]:
    """The rows of the report's table file: every group and rate compared, withheld as in the report."""
    from ._build_many import table_file_rows

    if not isinstance(bundle, Bundle):
        bundle = load_bundle(bundle)
    k = bundle.min_count if min_count is None else min_count
    return table_file_rows(Context(bundle=bundle, loc=load_locale(lang), sup=Suppressor(bundle.results, k)))


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
    from ._build_model_compare import model_comparison_section  # assess --compare-model

    model_compare = model_comparison_section(ctx)
    findings = findings_section(ctx)
    method = _method_section(ctx)
    checklist = checklist_section(ctx)
    results_section = Section(id="results", title=loc.t("groups.title"),
                              blocks=(Paragraph(loc.t("groups.intro", level=ctx.level, k=loc.integer(k))),),
                              subsections=tuple(groups + analyses))
    limitations = limitations_section(ctx)
    if ctx.results.get("linkage") and not groups and not analyses:
        results_section = None  # an area audit: no group of individuals measured; its section is linkage_section
    parts = [summary_section(ctx), system_section(ctx), findings, *response_sections(ctx), method, linkage_section(ctx),
             results_section, model, model_compare,
             checklist, limitations, corrections_section(ctx), findings_appendix(ctx), appendix_section(ctx)]
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
    population = population_text(ctx)
    system = (template_record(ctx) or {}).get("system")
    name, _ = pick(system.get("name"), ctx.loc.code) if isinstance(system, Mapping) else ("", None)
    if name:
        return ctx.t("doc.subtitle_system", system=name, population=population)
    return ctx.t("doc.subtitle", population=population)


def _method_section(ctx: Context) -> Section:
    from ._build_method import method_blocks

    return Section(id="method", title=ctx.t("method.title"), subsections=tuple(method_blocks(ctx)))

