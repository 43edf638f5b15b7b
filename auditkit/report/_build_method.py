"""Population, data and method: who was counted, which rows were left out, how each figure was made."""

from __future__ import annotations

from typing import Any

from ._context import Context, decision_text, reference_rule_text
from ._document import Block, Cell, KeyValues, Paragraph, Section, Table, TableRow

__all__ = ["method_blocks"]


def _data(ctx: Context) -> Section:
    t, loc, results = ctx.t, ctx.loc, ctx.results
    pop, inp = results.get("population") or {}, results.get("input") or {}
    rows: list[tuple[str, Cell]] = [(t("method.source"), Cell(str(inp.get("source", pop.get("source", "—"))))),
                                    (t("method.kind"), Cell(loc.label("input_kind", str(inp.get("kind", "—")))))]
    if "rows_read" in pop:
        rows += [(t("method.rows_read"), Cell(loc.integer(pop["rows_read"]), numeric=True)),
                 (t("method.rows_audited"), Cell(loc.integer(pop.get("rows_audited")), numeric=True))]
    else:
        rows += [(t("method.published_rows"), Cell(loc.integer(pop.get("published_rows")), numeric=True)),
                 (t("method.people"), Cell(loc.span(*map(loc.integer, pop["people_bounds"])) if pop.get("people_bounds")
                                           else loc.integer(pop.get("people")), numeric=True))]
    model = inp.get("model")
    if model:
        text = f"{model.get('file', '?')} (sha256 {model.get('sha256', '?')})"
        rows.append((t("method.model"), Cell(text, code=True)))
    rows.append((t("method.engine"), Cell(str(results.get("engine", "—")))))
    blocks: list[Block] = [KeyValues(t("method.data_caption"), tuple(rows))]
    filters = pop.get("filters") or []
    if filters:
        table_rows = []
        for f in filters:
            before, after = f.get("rows_before"), f.get("rows_after")
            removed = before - after if isinstance(before, int) and isinstance(after, int) else None
            table_rows.append(TableRow((ctx.english(f.get("step", "?")), Cell(loc.integer(before), numeric=True),
                                        Cell(loc.integer(after), numeric=True),
                                        Cell(loc.integer(removed), numeric=True))))
        blocks.append(Table(t("method.filters_caption"), (t("method.col.step"), t("method.col.before"),
                                                          t("method.col.after"), t("method.col.removed")),
                            tuple(table_rows)))
    else:
        blocks.append(Paragraph(t("method.no_filters")))
    return Section(id="method-data", title=t("method.data_title"), blocks=tuple(blocks))


def _decision(ctx: Context) -> Section:
    t, loc, results = ctx.t, ctx.loc, ctx.results
    pop, design = results.get("population") or {}, results.get("design") or {}
    rule = pop.get("decision_rule") or {}
    blocks: list[Block] = [Paragraph(t("method.decision", rule=decision_text(ctx),
                                       selection_is=loc.label("selection_is", str((results.get("parameters") or {})
                                                                                    .get("selection_is", "adverse")))))]
    if rule.get("cutoff_score") is not None:
        blocks.append(Paragraph(t("method.cutoff", cutoff=loc.number(rule["cutoff_score"], 4),
                                  tied=loc.integer(rule.get("tied_at_cutoff")),
                                  tied_selected=loc.integer(rule.get("tied_selected")),
                                  tie_break=ctx.analysis(rule.get("tie_break", ""))[0])))
    outcome = pop.get("outcome") or {}
    if outcome.get("column") and outcome.get("column") != "cells":
        blocks.append(Paragraph(t("method.outcome", column=str(outcome["column"]),
                                  positive=", ".join(map(str, outcome.get("positive") or [])) or "—",
                                  unknown=loc.integer(outcome.get("rows_outcome_unknown", 0)))))
    else:
        blocks.append(Paragraph(t("method.no_outcome")))
    blocks.append(KeyValues(t("method.design_caption"),
                            ((t("method.design_kind"), ctx.english(design.get("kind", "—"))),
                             (t("method.selected"), ctx.count(design.get("selected"), "design/selected",
                                                              design.get("selected_bounds"))),
                             (t("method.not_selected"), ctx.count(design.get("not_selected"), "design/not_selected",
                                                                  design.get("not_selected_bounds"))))))
    return Section(id="method-decision", title=t("method.decision_title"), blocks=tuple(blocks))


def _groups(ctx: Context) -> Section:
    t, loc = ctx.t, ctx.loc
    rows = tuple(TableRow((Cell(ctx.attr_label(str(a.get("attribute")))),
                           Cell(ctx.group_label(str(a.get("attribute")), str(a.get("reference")))),
                           Cell(reference_rule_text(ctx, str(a.get("reference_rule", "")), a)),
                           Cell(loc.integer(a.get("groups")), numeric=True),
                           Cell(loc.integer(a.get("groups_small")), numeric=True),
                           Cell(loc.integer(a.get("groups_empty")), numeric=True)))
                 for a in ctx.results.get("attributes", []))
    min_size = loc.integer((ctx.results.get("parameters") or {}).get("min_group_size", 30))
    return Section(id="method-groups", title=t("method.groups_title"), blocks=(
        Paragraph(t("method.groups_intro", n=min_size)),
        Table(t("method.groups_caption"), (t("model.col.attribute"), t("method.col.reference"), t("method.col.rule"),
                                           t("method.col.groups"), t("method.col.small", n=min_size),
                                           t("method.col.empty")), rows)))


def _tests(ctx: Context) -> Section:
    t, loc, results = ctx.t, ctx.loc, ctx.results
    params: dict[str, Any] = dict(results.get("parameters") or {})
    mt = results.get("multiple_testing") or {}
    uses = str(mt.get("status_uses", params.get("adjust", "holm")))
    blocks: list[Block] = [
        Paragraph(t("method.intervals", level=ctx.level)),
        Paragraph(t("method.test", test=loc.label("test", str(params.get("test", "fisher"))))),
        Paragraph(t("method.adjustment", family=loc.integer(mt.get("family_size", 0)),
                    adjust=loc.label("adjust", uses), alpha=loc.number(mt.get("alpha", params.get("alpha")), 2))),
        Paragraph(ctx.band_text("method.screening")),
    ]
    if params.get("strata"):
        blocks.append(Paragraph(t("method.strata", strata=", ".join(map(str, params["strata"])))))
    if params.get("bootstrap"):
        blocks.append(Paragraph(t("method.bootstrap", n=loc.integer(params["bootstrap"]),
                                  seed=str(params.get("seed", 0)))))
    return Section(id="method-tests", title=t("method.tests_title"), blocks=tuple(blocks))


def method_blocks(ctx: Context) -> list[Section]:
    """The subsections of 'Population, data and method'."""
    return [_data(ctx), _decision(ctx), _groups(ctx), _tests(ctx)]
