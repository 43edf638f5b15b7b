"""Command-line parts of the area audits: ``audit --area --composition`` and ``auditkit linkage-request``.

``audit`` takes the options here (:func:`area_options`) and hands an audit with ``--composition`` to
:func:`run_area_audit`; ``linkage-request`` writes what a lab sends to a statistics office's
microdata service (:mod:`auditkit.linkage_request`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

__all__ = ["area_options", "linkage_request", "linkage_summary", "run_area_audit"]

_AREA_OPTIONS = [
    click.option("--area", metavar="COL", help="Area column of DATA (neighbourhood, postcode, municipality): with "
                 "--composition, estimate each group's selection rate from area statistics."),
    click.option("--composition", type=click.Path(dir_okay=False, readable=False, path_type=Path), metavar="TABLE",
                 help="People per area and group (CSV or spreadsheet; long or wide; counts or percentages), e.g. "
                      "from the statistics office. See docs/missing-attributes.md."),
    click.option("--composition-columns", metavar="AREA,GROUP,PEOPLE", default="area,group,people",
                 show_default=True, help="Column names of the composition table (wide table: GROUP names the "
                 "attribute, PEOPLE the population column)."),
    click.option("--composition-encoding", metavar="ENCODING", help="Text encoding of a CSV composition table "
                 "(default UTF-8), e.g. latin-1."),
    click.option("--crosswalk", type=click.Path(dir_okay=False, readable=False, path_type=Path), metavar="FILE",
                 help="Area codes that changed between years: CSV old_code,new_code[,weight]."),
]


def area_options(command: Any) -> Any:
    """Attach --area, --composition, --composition-columns and --crosswalk."""
    for option in reversed(_AREA_OPTIONS):
        command = option(command)
    return command


def _columns(text: str) -> tuple[str, ...]:
    cols = tuple(c.strip() for c in text.split(","))
    if len(cols) != 3 or not all(cols):
        raise click.UsageError(f"--composition-columns takes three column names AREA,GROUP,PEOPLE; got {text!r}.")
    return cols


def run_area_audit(data: Path | None, fields: dict[str, Any], o: dict[str, Any]) -> tuple[Any, list]:
    """The area audit the options describe, and its inputs for the bundle's manifest."""
    from .area_audit import audit_areas
    from .spec import AuditSpec

    area, composition = o.get("area"), o.get("composition")
    if not area or composition is None:
        raise click.UsageError("--area COL and --composition TABLE go together: the area column of DATA and the "
                               "table of people per area and group.")
    if o.get("protected"):
        raise click.UsageError("With --area and --composition the protected attribute is the composition table's "
                               "group column: drop --protected.")
    if data is None:
        raise click.UsageError("Give the decision file: auditkit audit DATA --area COL --composition TABLE ...")
    _without_template_dimensions(fields)
    # The reference as given on the command line (a template's references name its own attributes).
    references = dict(fields.pop("references", {}) or {})
    if o.get("template"):
        references = {k.strip(): v.strip() for k, _, v in (r.partition("=") for r in o.get("reference") or ())}
    if len(references) > 1:
        raise click.UsageError("With --composition give one --reference GROUPCOLUMN=VALUE (the composition's group).")
    fields.update(protected=(area,), references={})
    result = audit_areas(data, AuditSpec(**fields), composition=composition,
                         composition_columns=_columns(o["composition_columns"]), crosswalk=o.get("crosswalk"),
                         references=references, engine=o["engine"], scheduler=o["scheduler"],
                         composition_encoding=o.get("composition_encoding"))
    inputs = [("data", data), ("composition", composition)]
    if o.get("crosswalk") is not None:
        inputs.append(("crosswalk", o["crosswalk"]))
    return result, inputs


#: Fields a template may set that describe its own data's columns, not an area audit's (with their defaults).
_TEMPLATE_ONLY = {"references": {}, "strata": (), "stage": None, "stage_order": None, "person": None,
                  "selection_method": None, "random": None}


def _without_template_dimensions(fields: dict[str, Any]) -> None:
    """Drop what a --template set about its protected attributes and other columns: the area audit's
    attribute is the composition's group column (options given on the command line stay, and are checked)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or not ctx.params.get("template"):
        return
    from .cli_templates import given_fields

    given = given_fields(ctx)
    for name, default in _TEMPLATE_ONLY.items():
        if name not in given:
            fields[name] = default


def _pct(x: Any) -> str:
    return "?" if x is None else f"{100 * x:.1f}%"


def _r(x: Any) -> str:
    return "no bound" if x is None else f"{x:.2f}"


def linkage_summary(results: dict) -> str:
    """The three estimates per group, for the terminal."""
    link = results.get("linkage")
    if not link:
        return ""
    lines = [f"Area estimates for {link['attribute']} from {link['composition']['source']} ({link['areas']:,} areas; "
             f"reference {link['reference']}). No person's group is known: these are estimates from areas, not "
             "measurements of individuals."]
    for g in link["groups"]:
        b, w, e = g["bounds"], g["weighted"], g["ecological"]
        lines.append(f"  {g['group']}: bounds {_pct(b['rate'][0])}-{_pct(b['rate'][1])}"
                     + ("" if g["is_reference"] else f" (ratio {_r(b['ratio'][0])}-{_r(b['ratio'][1])})")
                     + f"; area-weighted {_pct(w['rate'])} ({_pct(w['ci'][0])}-{_pct(w['ci'][1])})"
                     + f"; ecological regression {_pct(e['rate'])} ({_pct(e['ci'][0])}-{_pct(e['ci'][1])})")
    lines.append(f"  Ecological dispersion {link['diagnostics']['ecological_dispersion']:.2f} (about 1 when each "
                 "group's rate is the same in every area).")
    return "\n".join(lines)


@click.command("linkage-request")
@click.option("--template", "template_ref", required=True, metavar="T",
              help="Audit template (name or file): its protected attributes, decision, outcome and stages.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the request into (created; must be empty if it exists).")
@click.option("--min-cell", type=click.IntRange(min=1), default=10, show_default=True, metavar="N",
              help="The office's minimum cell size: counts below N are suppressed.")
@click.option("--rounding", type=click.IntRange(min=1), default=1, show_default=True, metavar="B",
              help="The office rounds published counts to a multiple of B (1: no rounding).")
@click.option("--marker", default="<10", show_default=True, metavar="TEXT",
              help="What the office writes in a suppressed cell.")
@click.option("--groups", multiple=True, metavar="ATTR=A,B,C",
              help="The office's categories of a protected attribute (pre-fills the return table's rows).")
def linkage_request(template_ref: str, out_dir: Path, min_cell: int, rounding: int, marker: str,
                    groups: tuple[str, ...]) -> None:
    """Write the request to a statistics office's microdata service: the decision variables to link, the
    blank count table to return (group x decision x outcome x stage) with the disclosure rules, a letter,
    and the exact command that audits the returned table."""
    from ._output import write_text
    from .linkage_request import build_request
    from .templates import load_template

    levels: dict[str, list[str]] = {}
    for value in groups:
        attr, sep, rest = value.partition("=")
        if not sep or not attr.strip() or not rest.strip():
            raise click.UsageError(f"--groups takes ATTR=A,B,C; got {value!r}.")
        levels[attr.strip()] = [v.strip() for v in rest.split(",") if v.strip()]
    files = build_request(load_template(template_ref), template_ref, min_cell=min_cell, rounding=rounding,
                          marker=marker, levels=levels)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise click.ClickException(f"--out {out_dir}: the folder is not empty; give a new folder.")
    for name, text in files.items():
        write_text(out_dir / name, text)
    click.echo(f"Wrote {', '.join(files)} into {out_dir}.\nWhen the office returns the table, audit it with:\n  "
               + files["audit-command.txt"].strip().replace("\n", "\n  "))
