"""Limitations and the appendix (how to reproduce and verify)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._build_many import MANY
from ._context import Context
from ._document import Block, BulletList, Cell, CodeBlock, KeyValues, Notice, Paragraph, Section, Table, TableRow

__all__ = ["appendix_section", "limitations_section"]

def _power_items(ctx: Context) -> list[str]:
    loc, out = ctx.loc, []
    low, high = ctx.band
    for c in ctx.results.get("comparisons", []):
        ci = c.get("ratio_ci") or [None, None]
        if (c.get("status") == "no_difference_detected" and c.get("metric") == "selection_rate"
                and ctx.sup.comparison_ok(c) and None not in ci[:2] and (ci[0] < low or ci[1] > high)):
            out.append(_power_sentence(ctx, c, loc.number(ci[0]), loc.number(ci[1])))
    return out[:MANY]


def _power_sentence(ctx: Context, c: Mapping[str, Any], low: str, high: str) -> str:
    """One sentence on a comparison whose interval is too wide to rule out a substantial difference."""
    attr = str(c.get("attribute"))
    return ctx.t("limits.power_item", group=ctx.group_label(attr, str(c.get("group"))),
                 reference=ctx.group_label(attr, str(c.get("reference"))), attribute=ctx.attr_label(attr), low=low,
                 high=high,
                 mdr=ctx.loc.number(c.get("min_detectable_ratio")))


def _insufficient(ctx: Context) -> list[TableRow]:
    seen: dict[tuple[str, str], list[str]] = {}
    for c in ctx.results.get("comparisons", []):
        if c.get("status") == "insufficient_evidence":
            metric = ctx.loc.label("metric", str(c["metric"]))
            seen.setdefault((str(c["attribute"]), str(c["group"])), []).append(metric)
    groups = {(str(g.get("attribute")), str(g.get("group"))): g for g in ctx.results.get("groups", [])}
    rows = []
    for (attr, group), metrics in list(seen.items())[:MANY]:  # the rest: in the table file
        g = groups.get((attr, group)) or {}
        n_cell = ctx.masked_count(g.get("n"), ctx.sup.count_hidden(attr, group, "selection_rate", "den"),
                                  f"limits/{attr}/{group}/n", (g.get("bounds") or {}).get("n"))
        rows.append(TableRow((Cell(ctx.group_label(attr, group)), Cell(ctx.attr_label(attr)), n_cell,
                              Cell(", ".join(metrics)))))
    return rows


def limitations_section(ctx: Context) -> Section:
    """What the numbers cannot show: small groups, power, design, data quality, suppression, strata."""
    t, loc, results = ctx.t, ctx.loc, ctx.results
    blocks: list[Block] = [Paragraph(t("limits.general"))]
    rows = _insufficient(ctx)
    if rows:
        min_size = (results.get("parameters") or {}).get("min_group_size", 30)
        total = len({(c.get("attribute"), c.get("group")) for c in results.get("comparisons", [])
                     if c.get("status") == "insufficient_evidence"})
        if total > len(rows):
            blocks.append(Paragraph(t("many.limits_note", shown=loc.integer(len(rows)), total=loc.integer(total))))
        blocks += [Paragraph(t("limits.insufficient", n=loc.integer(min_size))),
                   Table(t("limits.insufficient_caption"), (t("groups.col.group"), t("model.col.attribute"),
                                                            t("analyses.col.n"), t("limits.col.rates")), tuple(rows))]
    power = _power_items(ctx)
    if power:
        blocks += [Paragraph(t("limits.power")), BulletList(tuple(power))]
    undefined = (results.get("design") or {}).get("undefined_metrics") or {}
    by_reason: dict[str, list[str]] = {}
    for metric, reason in undefined.items():
        by_reason.setdefault(str(reason), []).append(loc.label("metric", metric))
    if by_reason:
        blocks.append(Paragraph(t("limits.undefined")))
        blocks.append(Table(t("limits.undefined_caption"), (t("limits.col.rates"), t("limits.col.reason")),
                            tuple(TableRow((Cell(", ".join(m)), ctx.english(r))) for r, m in by_reason.items())))
    notes = list(results.get("notes", []))
    if notes:
        blocks += [Paragraph(t("limits.notes")), BulletList(*ctx.analysis_list(notes))]
    bounded = [g for g in results.get("groups", []) if g.get("bounds")]
    if bounded:
        blocks.append(Paragraph(t("limits.source_suppressed", groups=loc.integer(len(bounded)))))
    withheld = len(ctx.sup.withheld_cells)
    blocks.append(Notice(t("limits.suppressed", k=loc.integer(ctx.k), figures=loc.integer(withheld))
                         if withheld else t("limits.suppressed_none", k=loc.integer(ctx.k))))
    strata = (results.get("parameters") or {}).get("strata") or []
    if strata:
        blocks.append(Paragraph(t("limits.strata", strata=", ".join(map(str, strata)))))
    for s in results.get("stratified", []):
        if s.get("direction_reversed") and s.get("warning"):
            text, lang = ctx.analysis(s["warning"])
            blocks.append(Notice(text, "warning", lang=lang))
    if (results.get("parameters") or {}).get("bootstrap"):
        blocks.append(Paragraph(t("limits.bootstrap")))
    return Section(id="limitations", title=t("limits.title"), blocks=tuple(blocks))


def appendix_section(ctx: Context) -> Section:
    """The command that reproduces the bundle, how to verify it, every input's sha256, versions, parameters."""
    t, loc = ctx.t, ctx.loc
    manifest = ctx.bundle.manifest
    command = manifest.get("command")
    reproduce: list[Block] = [Paragraph(t("appendix.reproduce"))]
    reproduce.append(CodeBlock(str(command)) if command else Paragraph(t("appendix.no_command")))
    inputs = [i for i in manifest.get("inputs", []) if isinstance(i, Mapping)]
    reproduce.append(Table(t("appendix.inputs_caption"),
                           (t("appendix.col.role"), t("appendix.col.name"), t("appendix.col.bytes"), "sha256"),
                           tuple(TableRow((Cell(loc.label("input_role", str(i.get("role", "")))), Cell(str(i.get("name", ""))),
                                           Cell(loc.integer(i.get("bytes")), numeric=True),
                                           Cell(str(i.get("sha256", "")), code=True))) for i in inputs)))
    verify: list[Block] = [Paragraph(t("appendix.verify")), CodeBlock(t("appendix.verify_command")),
                           Paragraph(t("appendix.verify_rerun")),
                           Paragraph(t("appendix.hash_tools")), CodeBlock(t("appendix.hash_commands")),
                           KeyValues(t("appendix.files_caption"),
                                     (("manifest.json", Cell(ctx.bundle.manifest_sha256, code=True)),
                                      *((str(f.get("path")), Cell(str(f.get("sha256")), code=True))
                                        for f in manifest.get("files", []) if isinstance(f, Mapping))))]
    deps = manifest.get("dependencies") or {}
    versions = KeyValues(t("appendix.versions_caption"),
                         (("auditkit", Cell(str(manifest.get("auditkit_version", "—")))),
                          *((str(k), Cell(str(v))) for k, v in deps.items())))
    params = manifest.get("parameters") or {}
    parameters = KeyValues(t("appendix.parameters_caption"),
                           tuple((str(k), Cell(json.dumps(v, ensure_ascii=False), code=True))
                                 for k, v in params.items()), code_keys=True)
    return Section(id="appendix", title=t("appendix.title"), subsections=(
        Section(id="reproduce", title=t("appendix.reproduce_title"), blocks=tuple(reproduce)),
        Section(id="verify", title=t("appendix.verify_title"), blocks=tuple(verify)),
        Section(id="versions", title=t("appendix.versions_title"), blocks=(versions, parameters)),
    ))
