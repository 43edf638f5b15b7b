"""The ``auditkit`` command: a thin shell over the Python API.

The only module that reads argv, prints, or maps errors to exit codes
(0 ok, 1 error in the input, 2 usage).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from .assess import EXPLAIN_SAMPLE
from ._text import bootstrap_progress, terminal_safe
from .exceptions import AuditkitError, InputDataError
from .cli_examples import example_option, next_steps, start_example
from .cli_linkage import area_options, linkage_summary, run_area_audit
from .cli_templates import apply_template, assess_options_with_template, template_option
from .spec import METRICS, AuditSpec, Filter

__all__ = ["main"]


def _split(values: tuple[str, ...]) -> tuple[str, ...] | None:
    """'Medium,High' and repeated options both give ('Medium', 'High')."""
    out = tuple(v.strip() for value in values for v in value.split(",") if v.strip())
    return out or None


def _pair_list(values: tuple[str, ...], option: str, form: str = "COLUMN=VALUE") -> list[tuple[str, str]]:
    out = []
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"{option} takes {form}; got {value!r}.")
        out.append((key.strip(), val.strip()))
    return out


def _pairs(values: tuple[str, ...], option: str, form: str = "COLUMN=VALUE") -> dict[str, str]:
    """COLUMN=VALUE options as a mapping; the same key twice with different values is an error."""
    out: dict[str, str] = {}
    for key, val in _pair_list(values, option, form):
        if out.get(key, val) != val:
            raise click.UsageError(f"{option} names {key!r} twice ({out[key]!r} and {val!r}); give it once.")
        out[key] = val
    return out


def _filters(keep: tuple[str, ...], drop: tuple[str, ...]) -> tuple[Filter, ...]:
    """Filters in the order given; several on one column are all applied, one after the other."""
    filters = []
    for values, is_keep, option in ((keep, True, "--filter"), (drop, False, "--exclude")):
        for col, val in _pair_list(values, option, "COLUMN=VALUE[,VALUE]"):
            filters.append(Filter(col, tuple(v.strip() for v in val.split(",")), is_keep))
    return tuple(filters)


def _json_target(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """--json FILE: refused at once (exit 1) when FILE is a folder, before any work is done."""
    if value is not None and str(value) != "-" and Path(value).is_dir():
        raise click.ClickException(f"--json {value}: {str(value)!r} is a folder; give a file name for the JSON, "
                                   f"e.g. --json {Path(value) / 'results.json'}.")
    return value


def _pair(text: str, sep: str, kind: type, option: str, example: str) -> tuple:
    """``LOW<sep>HIGH`` of an option as two numbers of ``kind``; a usage error naming the option otherwise."""
    low, _, high = text.partition(sep)
    try:
        return kind(low), kind(high)
    except ValueError:
        raise click.UsageError(f"{option} takes LOW{sep}HIGH, e.g. {example}; got {text!r}.") from None


class _Group(click.Group):
    #: Command groups in their own modules, imported only when named (or for --help): an audit
    #: run must not pay for the checklist's JSON Schema machinery at start-up.
    LAZY = {"checklist": "cli_checklist", "compare": "cli_compare", "datasets": "cli_datasets", "keygen": "cli_bundle",
            "linkage-request": "cli_linkage", "power": "cli_power", "report": "cli_report", "sign": "cli_bundle", "templates": "cli_templates",
            "verify": "cli_bundle"}

    def list_commands(self, ctx: click.Context) -> list[str]:  # noqa: D102
        return sorted(set(super().list_commands(ctx)) | set(self.LAZY))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:  # noqa: D102
        if name in self.LAZY and name not in self.commands:
            import importlib

            module = importlib.import_module(f"{__package__}.{self.LAZY[name]}")
            self.add_command(getattr(module, name.replace("-", "_")))
        return super().get_command(ctx, name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:  # noqa: D102
        # Keep the command line as typed: the bundle's manifest records it as the way to reproduce the run.
        ctx.meta["auditkit.argv"] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):  # noqa: D102 - maps library errors to messages and exit codes
        # Everything printed shows control characters as escapes: data and templates come from others.
        with terminal_safe():
            try:
                return super().invoke(ctx)
            except AuditkitError as err:
                click.echo(f"Error: {err}", err=True)
                ctx.exit(err.exit_code)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="auditkit")
def main() -> None:
    """Audit government algorithms: disparities with intervals and tests, from decision
    data or the count tables agencies publish."""


def _known_language(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--lang: any language with a message catalog (shipped, or on AUDITKIT_LOCALES_PATH)."""
    if value is None:
        return None
    from .locale import LocaleError, load_locale

    try:
        load_locale(value)
    except LocaleError as err:
        raise click.BadParameter(str(err), ctx=ctx, param=param) from None
    return value


_AUDIT_OPTIONS = [
    click.option("--lang", "lang", metavar="CODE", callback=lambda c, p, v: _known_language(c, p, v),
                 help="Language of the terminal summary and of the report in --out: en, nl, or any language with "
                      "a catalog. Default: the template's report.language, else en."),
    click.option("--protected", "protected", multiple=True, metavar="COL",
                 help="Protected attribute column (repeatable). Intersections are measured too."),
    click.option("--decision", metavar="COL", help="Column holding the decision (who was selected)."),
    click.option("--positive", multiple=True, metavar="VALUE[,VALUE]", help="Decision values meaning 'selected'."),
    click.option("--score", metavar="COL", help="Score column; decisions by --threshold, --top or --top-n."),
    click.option("--threshold", type=float, metavar="T", help="Select rows with score >= T."),
    click.option("--top", type=float, metavar="PCT", help="Select the top PCT percent of scores."),
    click.option("--top-n", type=int, metavar="N", help="Select the N highest scores."),
    click.option("--truth", metavar="COL", help="True-outcome column (e.g. fraud found)."),
    click.option("--truth-positive", multiple=True, metavar="VALUE[,VALUE]", help="Outcome values meaning positive."),
    click.option("--truth-negative", multiple=True, metavar="VALUE[,VALUE]",
                 help="Outcome values meaning negative; other values then count as unknown."),
    click.option("--reference", multiple=True, metavar="COL=VALUE", help="Reference group of an attribute."),
    click.option("--reference-rule", type=click.Choice(["largest", "most-favourable"]), default="largest",
                 show_default=True, help="How to choose a reference where none is given."),
    click.option("--intersection-reference", type=click.Choice(["within", "single"]), default="within",
                 show_default=True,
                 help="Intersections: compare each cell, per attribute, with that attribute's reference level within "
                      "the same levels of the others (within), or every cell with one reference cell (single)."),
    click.option("--selection-is", type=click.Choice(["adverse", "beneficial"]), default="adverse",
                 show_default=True, help="Whether being selected harms (an investigation) or helps (a benefit)."),
    click.option("--strata", multiple=True, metavar="COL", help="Legitimate factor to condition on (repeatable)."),
    click.option("--period", metavar="COL", help="Period column: dates, months (2019-03), quarters (2019-Q1), ISO "
                 "weeks or years; or labels ordered by --period-order."),
    click.option("--period-freq", type=click.Choice(["year", "quarter", "month", "week", "day"]),
                 help="Group the --period column's dates into years, quarters, months, ISO weeks or days."),
    click.option("--period-order", metavar="A,B,C", help="Order of --period labels that are not dates (model "
                 "versions, rounds), earliest first."),
    click.option("--stage", metavar="COL", help="Process-stage column: the stage of each row (with --person) or the "
                 "furthest stage each person reached."),
    click.option("--stage-order", metavar="A,B,C", help="Order of the stages (default: sorted)."),
    click.option("--person", metavar="COL", help="Person id: the file holds one row per person per stage reached; "
                 "each person is counted once (needs --stage)."),
    click.option("--selection-method", metavar="COL", help="Column saying how a case was selected."),
    click.option("--random", multiple=True, metavar="VALUE", help="Value of --selection-method marking the random sample."),
    click.option("--count-column", metavar="COL", help="The file is a count table: each row stands for COL people."),
    click.option("--cell-column", metavar="COL", help="Count table column naming the cell (tp/fp/tn/fn/selected/not_selected)."),
    click.option("--cell", "cells", multiple=True, metavar="CELL=COL", help="Wide count table: column holding a cell's count."),
    click.option("--suppressed", multiple=True, metavar="VALUE", help="Count value marking a suppressed cell (e.g. 0, '<10')."),
    click.option("--suppressed-range", default="0-9", show_default=True, metavar="LOW-HIGH",
                 help="What a suppressed cell may hold."),
    click.option("--filter", "keep", multiple=True, metavar="COL=VALUE[,VALUE]", help="Keep only these rows (reported)."),
    click.option("--exclude", "drop", multiple=True, metavar="COL=VALUE[,VALUE]", help="Remove these rows (reported)."),
    click.option("--drop-missing", is_flag=True, help="Leave out rows with a blank decision or score (reported)."),
    click.option("--missing-value", multiple=True, metavar="VALUE", help="Extra value meaning 'missing' in group columns."),
    click.option("--min-group-size", type=int, default=30, show_default=True, metavar="N",
                 help="Groups below N rows get 'insufficient evidence' instead of a verdict."),
    click.option("--max-depth", type=int, metavar="K", help="Largest intersection measured (default: all attributes)."),
    click.option("--metric", "metrics", multiple=True, type=click.Choice(METRICS[:-1]), help="Rate to compare (repeatable)."),
    click.option("--level", type=float, default=0.95, show_default=True, help="Confidence level of intervals."),
    click.option("--alpha", type=float, default=0.05, show_default=True, help="Significance level after adjustment."),
    click.option("--test", type=click.Choice(["fisher", "chi2"]), default="fisher", show_default=True),
    click.option("--adjust", type=click.Choice(["holm", "bh"]), default="holm", show_default=True,
                 help="Adjusted p-value that sets each status (both are reported)."),
    click.option("--bootstrap", type=int, default=0, show_default=True, metavar="N",
                 help="Bootstrap replicates (at most 100,000; progress on stderr from 10,000)."),
    click.option("--seed", type=int, default=0, show_default=True),
    click.option("--screening-band", default="0.8,1.25", show_default=True, metavar="LOW,HIGH",
                 help="Band of selection-rate ratios that flags a comparison for a closer look (a rule of thumb, "
                      "never the test); the US four-fifths band by default."),
    click.option("--all-selected", is_flag=True,
                 help="Every row was selected (investigated): no --decision; implied by --selection-method alone."),
    click.option("--keep-row", multiple=True, metavar="LABEL",
                 help="Count table: keep a row labelled LABEL (e.g. Totaal) that would be dropped as a total."),
    click.option("--decimal", type=click.Choice([",", "."]), help="Decimal mark of text scores, when a column "
                 "cannot tell by itself (e.g. '1,234')."),
    click.option("--thousands", type=click.Choice([",", ".", " ", "'", "_"]),
                 help="Thousands separator of text scores, when a column cannot tell by itself."),
    click.option("--encoding", help="Text encoding of a CSV file (default UTF-8), e.g. latin-1."),
    click.option("--delimiter", help="CSV delimiter (default: detected from the header)."),
    click.option("--sheet", metavar="NAME|N", help="Spreadsheet: the sheet to read, by name or number from 1 "
                 "(default: the first with values)."),
    click.option("--header-row", type=click.IntRange(min=1), metavar="N",
                 help="Spreadsheet: the header's row number (default: detected; title rows above it are skipped)."),
    click.option("--engine", type=click.Choice(["pandas", "duckdb", "dask"]), default="pandas", show_default=True,
                 help="How rows are counted: in memory, DuckDB out of core, or a Dask cluster."),
    click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler to connect to (with --engine dask)."),
    click.option("--json", "json_path", type=click.Path(path_type=Path), callback=_json_target,
                 help="Write the results JSON here ('-' for stdout)."),
    click.option("--csv", "csv_dir", type=click.Path(file_okay=False, path_type=Path), help="Write CSV tables into this folder."),
    click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                 help="Write the evidence bundle (results, findings, manifest of hashes) into this folder."),
    click.option("--checklist", "answers", type=click.Path(dir_okay=False, path_type=Path), metavar="ASSESSMENT",
                 help="A human-rights impact assessment (auditkit checklist init) to score against the results."),
    click.option("--no-report", is_flag=True, help="With --out, do not render the HTML report into the bundle."),
    click.option("--quiet", is_flag=True, help="Do not print the summary."),
]


def audit_options(command: Any) -> Any:
    """Attach the options shared by ``audit`` and ``assess`` (same spelling in both)."""
    for option in reversed(_AUDIT_OPTIONS):
        command = option(command)
    return command


def fields_from_options(o: dict[str, Any]) -> dict[str, Any]:
    """The :class:`AuditSpec` fields the command-line options describe."""
    fields: dict[str, Any] = dict(
        protected=tuple(o["protected"]), decision=o.get("decision"), positive=_split(o["positive"]),
        score=o.get("score"), threshold=o["threshold"], top=o["top"], top_n=o["top_n"], truth=o["truth"],
        truth_positive=_split(o["truth_positive"]), truth_negative=_split(o["truth_negative"]),
        references=_pairs(o["reference"], "--reference"), reference_rule=o["reference_rule"],
        intersection_reference=o["intersection_reference"],
        selection_is=o["selection_is"], strata=tuple(o["strata"]), stage=o["stage"], period=o.get("period"),
        period_freq=o.get("period_freq"),
        period_order=_split((o["period_order"],)) if o.get("period_order") else None,
        stage_order=_split((o["stage_order"],)) if o["stage_order"] else None, person=o.get("person"),
        selection_method=o["selection_method"], random=_split(o["random"]), count_column=o.get("count_column"),
        cell_column=o.get("cell_column"), cells=_pairs(o.get("cells", ()), "--cell", "CELL=COLUMN"),
        suppressed=tuple(o.get("suppressed", ())),
        suppressed_range=_pair(o.get("suppressed_range", "0-9"), "-", int, "--suppressed-range", "0-9"),
        filters=_filters(o["keep"], o["drop"]), drop_missing=o["drop_missing"],
        missing_values=tuple(o["missing_value"]), min_group_size=o["min_group_size"], max_depth=o["max_depth"],
        metrics=tuple(o["metrics"]) or None, level=o["level"], alpha=o["alpha"], test=o["test"],
        adjust=o["adjust"], bootstrap=o["bootstrap"], seed=o["seed"], encoding=o["encoding"],
        delimiter=o["delimiter"], sheet=o.get("sheet"), header_row=o.get("header_row"),
        keep_rows=_split(o.get("keep_row", ())) or (), decimal=o.get("decimal"), thousands=o.get("thousands"),
        all_selected=o.get("all_selected", False),
        screening_band=_pair(o.get("screening_band", "0.8,1.25"), ",", float, "--screening-band", "0.8,1.25"))
    return fields


def spec_from_options(o: dict[str, Any]) -> AuditSpec:
    """The :class:`AuditSpec` the command-line options describe."""
    return AuditSpec(**fields_from_options(o))


def _command_line() -> str:
    import shlex

    argv = click.get_current_context().meta.get("auditkit.argv", [])
    return shlex.join(["auditkit", *argv])


def _findings(results: dict[str, Any], template: Any) -> list[dict]:
    """Findings from the template's rules (the base template's when none was given)."""
    from ._derive import findings_for

    return findings_for(results, template)


#: The most groups the publishing step (findings, disclosure control, report, terminal summary) takes on:
#: 12,005 groups took 24 s of CPU and 0.65 GB, 50,000 took 118 s and 2.4 GB (docs/performance.md,
#: "Publishing many groups"); 100,000 did not finish in 40 minutes on a loaded two-core machine.
MAX_PUBLISHED_GROUPS = 50_000


def _check_publishable(results: dict[str, Any]) -> None:
    """Refuse to publish more groups than the publishing step was measured to handle, naming what to coarsen."""
    groups = results.get("groups") or []
    if len(groups) <= MAX_PUBLISHED_GROUPS:
        return
    single = [a for a in results.get("attributes") or [] if len(a.get("attributes") or []) == 1]
    widest = max(single, key=lambda a: a.get("groups") or 0, default=None)
    coarser = (f" Group the column {widest['attribute']!r} ({widest.get('groups'):,} values) into coarser levels "
               "(neighbourhoods into districts or municipalities, for instance), or leave it out of the "
               "intersections with --max-depth 1." if widest else "")
    raise InputDataError(
        f"The audit has {len(groups):,} groups; auditkit publishes findings, reports and summaries for at most "
        f"{MAX_PUBLISHED_GROUPS:,} (larger ones were not shown to finish in reasonable time and memory).{coarser} "
        "The measurements themselves are not limited: write them with --json FILE --quiet or --csv DIR --quiet.")


def write_outputs(results: dict[str, Any], o: dict[str, Any], inputs: list[tuple[str, Any]] | None = None,
                  run: dict[str, Any] | None = None, template: Any = None) -> None:
    """Write --json, --csv and the --out bundle, and print the summary unless --quiet or JSON goes to stdout."""
    from .results import comparison_rows, group_rows, summary_text, to_json, write_csv

    if template is not None:
        results["template"] = template.record()
        inputs = list(inputs or []) + [("template", path) for path, _ in template.files]
    printing = not o["quiet"] and str(o["json_path"]) != "-"
    if printing or o.get("out_dir") is not None:
        _check_publishable(results)
    # Findings go into the bundle and onto the terminal; a quiet run writing only JSON or CSV skips them
    # (and does not load the base template, whose import costs start-up time).
    findings: list[dict] = []
    if printing or o.get("out_dir") is not None:
        if template is None:
            from .templates import load_template

            template = load_template("base")
        findings = _findings(results, template)
    checklist = None
    if o.get("answers") is not None:
        from .checklist import load_assessment, score_assessment

        instrument, assessment = load_assessment(o["answers"])
        checklist = score_assessment(instrument, assessment, results)
        inputs = list(inputs or []) + [("answers", o["answers"])]
    if o.get("out_dir") is not None:
        _write_bundle(results, o, inputs or [], run, template, findings, checklist)
    text = to_json(results)
    json_path, csv_dir = o["json_path"], o["csv_dir"]
    if json_path is not None:
        from ._output import write_text

        write_text(json_path, text)
    if csv_dir is not None:
        write_csv(group_rows(results), Path(csv_dir) / "groups.csv")
        write_csv(comparison_rows(results), Path(csv_dir) / "comparisons.csv")
        if results.get("periods"):  # --period: per period, and per group over the periods
            from ._summary_periods import over_time_rows, period_rows

            write_csv(period_rows(results), Path(csv_dir) / "periods.csv")
            write_csv(over_time_rows(results), Path(csv_dir) / "over_time.csv")
    if printing:
        lang = _language(o, template)
        click.echo(summary_text(results, lang=lang) + ("\n" + linkage_summary(results) if "linkage" in results else ""))
        click.echo(_headline_and_flips(results, findings, lang))
        from ._assess_compare import summary_lines

        click.echo("".join(f"{line}\n" for line in summary_lines(results, lang)), nl=False)  # --compare-model
        shown = [f for f in findings if f["severity"] in ("critical", "high", "medium")]
        if shown:
            from .locale import load_locale

            loc = load_locale(lang)
            click.echo(loc.t("terminal.findings") + "\n" + "\n".join(
                f"  [{f['id']} {loc.label('severity', f['severity']) if lang != 'en' else f['severity']}] "
                f"{f['statement'].get(lang) or f['statement']['en']}" for f in shown[:20]))


def _num(x: Any, fmt: str, scale: float = 1.0) -> str:
    return format(scale * x, fmt) if isinstance(x, (int, float)) and not isinstance(x, bool) else "?"


def _p(x: Any) -> str:
    return "< 0.0001" if isinstance(x, (int, float)) and x < 0.0001 else _num(x, ".4f")


def _language(o: dict[str, Any], template: Any) -> str:
    """--lang, else the template's report language, else English."""
    return o.get("lang") or getattr(template, "language", None) or "en"


def _headline_and_flips(results: dict, findings: list, lang: str = "en") -> str:
    """The headline (the rule of docs/reports.md) and the counterfactual flip tests, for the terminal."""
    from ._summary_words import Words
    from .report._headline import choose_headline

    w, lines = Words(results, lang), []
    level = f"{(results.get('parameters') or {}).get('level', 0.95):.0%}"
    h = choose_headline(results, findings)
    if h is not None:
        c = h.comparison
        ci = list(c.get("ratio_ci") or [None, None])
        values = dict(id=f" [{h.finding['id']}]" if h.finding else "", group=w.group(c.get("attribute"), c.get("group")),
                      attribute=w.attr(c.get("attribute")), reference=w.group(c.get("attribute"), c.get("reference")),
                      ratio=w.n(_num(c.get("ratio"), ".2f")), level=level, low=w.n(_num(ci[0], ".2f")),
                      high=w.n(_num(ci[1], ".2f")), metric=w.metric(str(c.get("metric"))))
        lines.append(w.t("headline" if c.get("metric") == "selection_rate" else "headline_metric", **values))
    from ._assess_direct import flip_label, turned_off_line

    for f in (results.get("explanations") or {}).get("flips") or []:
        for d in f.get("direct_effect") or []:
            per = next((v for v in f.get("per_value") or [] if v.get("value") == d.get("value")), {})
            lines.append(w.t("flip", feature=flip_label(f, w), baseline=d.get("baseline"), value=d.get("value"),
                             to_selected=per.get("flips_to_selected", "?"), to_not=per.get("flips_to_not_selected", "?"),
                             difference=w.n(_num(d.get("difference"), "+.1f", 100)), level=level,
                             low=w.n(_num(d.get("ci_low"), "+.1f", 100)), high=w.n(_num(d.get("ci_high"), "+.1f", 100)),
                             p=w.n(_p(d.get("p_holm")))))
    lines += turned_off_line(results, w)
    return "\n".join(lines) + ("\n" if lines else "")


@main.command()
@click.argument("data", required=False, type=click.Path(dir_okay=True, readable=False, path_type=Path))
@audit_options
@area_options
@template_option
@example_option
def audit(data: Path | None, **o: Any) -> None:
    """Measure disparate impact in DATA: decisions (CSV/Parquet) or a published count table."""
    from .audit import audit as run_audit

    ctx = click.get_current_context()
    example = start_example(ctx, "audit", {"DATA": data})
    if example is not None:
        data, o["out_dir"] = example.data, example.out
    fields, template = apply_template(ctx, fields_from_options(o))
    with bootstrap_progress(fields.get("bootstrap") or 0):
        if o["area"] or o["composition"]:  # the protected attribute from area statistics: cli_linkage
            result, inputs = run_area_audit(data, fields, o)
        else:
            result, inputs = run_audit(data, AuditSpec(**fields), engine=o["engine"], scheduler=o["scheduler"]), [("data", data)]
    write_outputs(result.results, o, inputs, _run_record("audit", fields, o), template)
    if example is not None:
        _echo_next(example, o)


def _run_record(kind: str, fields: dict[str, Any], o: dict[str, Any]) -> dict[str, Any]:
    """The manifest's record of how to re-run: the spec, and the engine where it is not the default."""
    from ._rerun import fields_to_json

    run: dict[str, Any] = {"kind": kind, "spec": fields_to_json(fields)}
    if o["engine"] != "pandas":
        run["engine"] = o["engine"]
    return run


def _echo_next(example: Any, o: dict[str, Any]) -> None:
    if not o["quiet"]:
        lang = o.get("lang") or "en"  # the examples' templates are English; --lang names the report in the bundle
        click.echo("\n" + next_steps(example, lang), err=str(o["json_path"]) == "-")


_LIMIT_OPTIONS = [
    click.option("--model-memory", type=click.FloatRange(min=0.25), default=8.0, show_default=True, metavar="GB",
                 help="Address space of the worker process the model runs in, in GiB."),
    click.option("--model-timeout", type=click.FloatRange(min=0.1), default=600.0, show_default=True,
                 metavar="SECONDS", help="Wall time one step in the model worker may take (open, a batch, SHAP)."),
    click.option("--model-cpu", type=click.FloatRange(min=1.0), default=3600.0, show_default=True, metavar="SECONDS",
                 help="CPU time one step in the model worker may use."),
    click.option("--model-open-files", type=click.IntRange(min=32), default=256, show_default=True, metavar="N",
                 help="Files the model worker may hold open."),
]


def limit_options(command: Any) -> Any:
    """The model worker's limits (see docs/models.md)."""
    for option in reversed(_LIMIT_OPTIONS):
        command = option(command)
    return command


def _limits(o: dict[str, Any]) -> Any:
    from .load._limits import ModelLimits

    return ModelLimits(memory_gb=o.pop("model_memory"), timeout=o.pop("model_timeout"), cpu=o.pop("model_cpu"),
                       open_files=o.pop("model_open_files"))


def _write_bundle(results: dict[str, Any], o: dict[str, Any], inputs: list[tuple[str, Any]], run: Any,
                  template: Any, findings: list[dict], checklist: Any) -> None:
    """The --out bundle, with its HTML report unless --no-report, written whole."""
    from ._derive import TEMPLATE_FILE, parameters_for, template_document
    from .bundle import write_bundle

    render, names = None, []
    if not o.get("no_report"):
        from .report import render_report

        from .report._build_many import needs_table_file

        lang = _language(o, template)
        formats = ("html", "csv") if needs_table_file(results) else ("html",)  # many groups: the full table
        names = [f"report.{lang}.{fmt}" for fmt in formats]

        def render(folder: Path) -> list[Path]:
            return render_report(folder, lang=lang, formats=formats, out_dir=folder)

    write_bundle(o["out_dir"], results, inputs=inputs, command=_command_line(), findings=findings,
                 checklist=checklist, extra={"run": run}, parameters=parameters_for(results, template),
                 files={TEMPLATE_FILE: template_document(template)}, render=render, report_names=names)


@main.command()
@click.argument("model", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--data", "data", type=click.Path(dir_okay=True, readable=False, path_type=Path),
              help="Rows to score: the model's inputs and the protected attributes (CSV or Parquet).")
@audit_options
@template_option
@example_option
@click.option("--model-decision", is_flag=True, help="Decide by the model's own prediction instead of a rule on scores.")
@click.option("--trust-model", is_flag=True,
              help="Load a pickle the scan refused. This RUNS THE FILE'S CODE: only for files whose maker you trust.")
@click.option("--link", type=click.Choice(["logistic", "identity"]),
              help="MODEL is a published table of weights (CSV term,weight): how the weighted sum becomes the score.")
@click.option("--no-explain", is_flag=True, help="Skip SHAP, proxies and flip tests.")
@click.option("--shap-sample", type=int, default=2000, show_default=True, metavar="N", help="Rows explained by SHAP.")
@click.option("--features", metavar="COL,COL,...|FILE",
              help="The model's inputs in its order, for a model that records no input names (an ONNX file with "
                   "one input tensor, a model fitted on an array); or a YAML/CSV file listing them.")
@click.option("--explain-sample", type=click.IntRange(min=1), metavar="N",
              help="Explain a seeded sample of N audited rows, the same rows on every engine (default: every row "
                   f"with --engine pandas, {EXPLAIN_SAMPLE:,} with duckdb and dask).")
@click.option("--flip", multiple=True, metavar="COL", help="Also run a counterfactual flip test on this input (a proxy).")
@click.option("--no-flip", is_flag=True, help="Do not flip-test the inputs that are protected attributes or recode "
              "one (sex_male, one-hot columns, coded copies), which assess tests by default.")
@click.option("--constraints", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML of impossible combinations left out of flip tests.")
@click.option("--archetypes", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML of named example persons to score side by side.")
@click.option("--clusters", is_flag=True, help="Search for bias clusters without naming a group first.")
@click.option("--progress/--no-progress", default=None, help="Progress bar while scoring (default: on a terminal).")
@click.option("--compare-model", type=click.Path(dir_okay=False, path_type=Path), metavar="MODEL_B",
              help="Also score the same rows with MODEL_B (opened like MODEL), decide by the same rule, and compare the "
                   "decisions pairwise per group (McNemar) and the change in each disparity (docs/compare.md).")
@click.option("--compare-link", type=click.Choice(["logistic", "identity"]),
              help="--link of a MODEL_B given as a CSV of weights.")
@limit_options
def assess(model: Path | None, data: Path | None, **o: Any) -> None:
    """Open MODEL safely, score --data with it, and measure and explain its disparities.

    With --engine duckdb or dask the data is read and scored in batches, never whole, so that a file
    larger than memory can be assessed.
    """
    if model is not None and not o["trust_model"]:
        from .load._sandbox import prestart

        prestart(model)  # the worker's imports overlap the rest of the start
    from .assess import AssessOptions
    from .assess import assess as run_assess
    from .load._features import read_features

    ctx = click.get_current_context()
    limits = _limits(o)
    example = start_example(ctx, "assess", {"MODEL": model, "--data": data}, explain=not o["no_explain"])
    if example is not None:
        model, data, o["out_dir"] = example.model, example.data, example.out
    if o["trust_model"]:
        from .load.model import trust_warning

        click.echo(trust_warning(model), err=True)
        if o["compare_model"]:  # model B is opened under the same trust
            click.echo(trust_warning(o["compare_model"]), err=True)
    fields, template = apply_template(ctx, fields_from_options(o), for_model=True)
    explain = assess_options_with_template(
        ctx, {"flip": tuple(o["flip"]), "clusters": o["clusters"], "shap_sample": o["shap_sample"]}, template)
    # The sample size actually used is recorded, so that `verify` explains the same rows again.
    explain_sample = o["explain_sample"] or (None if o["engine"] == "pandas" else EXPLAIN_SAMPLE)
    options = AssessOptions(
        trust_model=o["trust_model"], model_decision=o["model_decision"], explain=not o["no_explain"],
        constraints=str(o["constraints"]) if o["constraints"] else None,
        archetypes=str(o["archetypes"]) if o["archetypes"] else None,
        progress=sys.stderr.isatty() if o["progress"] is None else o["progress"], explain_sample=explain_sample,
        link=o["link"], features=read_features(o["features"]), model_limits=limits, auto_flip=not o["no_flip"],
        **explain, compare_model=str(o["compare_model"]) if o["compare_model"] else None,
        compare_link=o["compare_link"])
    with bootstrap_progress(fields.get("bootstrap") or 0):
        result = run_assess(model, data, options=options, engine=o["engine"], scheduler=o["scheduler"], **fields)
    inputs = [("data", data), ("model", model)] + [(k, o[k]) for k in ("archetypes", "constraints", "compare_model")
                                                   if o[k]]
    run = {**_run_record("assess", fields, o),
           "assess_options": {k: list(v) if isinstance(v, tuple) else v
                              for k, v in dataclasses.asdict(options).items()
                              if k not in ("progress", "model_limits", "compare_model")}}
    write_outputs(result.results, o, inputs, run, template)
    if example is not None:
        _echo_next(example, o)


@main.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "json_path", type=click.Path(path_type=Path), callback=_json_target,
              help="Write the report as JSON ('-' for stdout).")
@limit_options
def inspect(model: Path, json_path: Path | None, **o: Any) -> None:
    """Show what MODEL would import, and whether auditkit will open it: the file is scanned and opened
    exactly as assess opens it, in the resource-limited model worker, never in auditkit itself."""
    from .load.model import inspect_model
    from .results import to_json

    report = inspect_model(model, limits=_limits(o))
    if json_path is not None:
        from ._output import write_text

        write_text(json_path, to_json(report))
        if str(json_path) == "-":
            return
    click.echo(_inspect_text(report))
    if report.get("verdict") == "refused":
        sys.exit(1)


def _inspect_text(report: dict[str, Any]) -> str:
    lines = [f"{report.get('file', '')}: {report.get('format')}"
             + (f", pickle protocol {report['protocol']}" if report.get("protocol") is not None else ""),
             f"sha256 {report.get('sha256')}"]
    imports = report.get("imports", [])
    if imports:
        lines.append(f"Imports ({len(imports)}):")
        lines += [f"  [{i['status']:>9}] {i['module']}.{i['name']}" + (f" — {i['reason']}" if i["status"] != "allowed"
                  else "") for i in imports]
    for key in ("inputs", "problems", "notes"):
        if report.get(key):
            lines.append(f"{key.capitalize()}: " + "; ".join(map(str, report[key])))
    lines.append(f"Verdict: {report.get('verdict')}")
    return "\n".join(lines)
