"""``auditkit templates``: list, show, create and validate audit templates; ``--template`` for audit/assess.

A thin shell over :mod:`auditkit.templates`.  The helpers at the end let
``auditkit audit`` and ``auditkit assess`` take ``--template NAME|FILE``, with
options given on the command line overriding the template's values.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import click

from .exceptions import AuditkitError, UsageError

__all__ = ["ErrorExitGroup", "apply_template", "assess_options_with_template", "given_fields", "template_option",
           "templates"]


class ErrorExitGroup(click.Group):
    """A click group that prints auditkit errors as messages and exits with their code (1 error, 2 usage)."""

    def invoke(self, ctx: click.Context) -> Any:  # noqa: D102 - same contract as click.Group.invoke
        try:
            return super().invoke(ctx)
        except AuditkitError as err:
            click.echo(f"Error: {err}", err=True)
            ctx.exit(err.exit_code)


@click.group(cls=ErrorExitGroup)
def templates() -> None:
    """Audit templates: what an audit measures, as YAML a partner can adapt without code."""


@templates.command("list")
def list_templates() -> None:
    """List the templates on the search path (AUDITKIT_AUDITS_PATH, then the shipped ones)."""
    from .templates import available_templates, check_template, template_paths
    from .templates._resolve import resolve_chain

    found = available_templates()
    for name, path in found.items():
        try:
            chain = resolve_chain(path)
            problems = check_template(path)
        except AuditkitError as err:
            click.echo(f"{name:<28} INVALID  {str(err).splitlines()[0]}")
            continue
        data = chain[0].data
        kind = "abstract" if data.get("abstract") else ("INVALID " if problems else "        ")
        title = (data.get("title") or {}).get("en", "")
        extends = f" (extends {data['extends']})" if data.get("extends") else ""
        click.echo(f"{name:<28} {kind} {title}{extends}")
    click.echo("\nSearch path (first match wins):")
    for folder in template_paths():
        click.echo(f"  {folder}{'' if folder.is_dir() else '  (not present)'}")
    if not found:
        click.echo("No templates found.")


@templates.command()
@click.argument("name", metavar="NAME|FILE")
@click.option("--raw", is_flag=True, help="Print the file as written, not the template merged with what it extends.")
def show(name: str, raw: bool) -> None:
    """Print template NAME with everything it inherits merged in (or, with --raw, its file)."""
    from .templates import load_template, template_file

    if raw:
        click.echo(template_file(name).read_text(encoding="utf-8"), nl=False)
        return
    template = load_template(name)
    chain = " <- ".join(str(path) for path, _ in template.files)
    click.echo(f"# {template.name}: merged from {chain}\n# digest {template.digest}")
    click.echo(template.to_yaml(), nl=False)


@templates.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--from", "base", required=True, metavar="BASE", help="The template to extend (a name or a file).")
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
def new(path: Path, base: str, force: bool) -> None:
    """Write a new template file PATH that extends BASE and changes nothing yet."""
    from .templates import load_template, new_template_text, template_file

    if path.suffix not in (".yaml", ".yml"):
        raise UsageError(f"The new template's file name must end in .yaml; got {path.name!r}.")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", path.stem):
        raise UsageError(f"The template's name comes from its file name, {path.stem!r}: use letters, digits, '.', '_' "
                         "and '-' only (e.g. my-audit.yaml).")
    if path.exists() and not force:
        raise UsageError(f"{path} exists already; choose another name or pass --force to overwrite it.")
    base_template = load_template(base)
    extends = base
    if any(sep in base for sep in "/\\") or base.endswith((".yaml", ".yml")):
        relative = os.path.relpath(template_file(base).resolve(), path.parent.resolve())
        if relative.startswith("..") or os.path.isabs(relative):
            raise UsageError(f"A template extends a file only inside its own folder; {base!r} is outside the folder of "
                             f"{path}. Put the new file next to it, or extend a template by name.")
        extends = Path(relative).as_posix()
    from ._output import write_text

    write_text(path, new_template_text(path.stem, base_template, extends))
    load_template(path)  # what was written must load
    click.echo(f"Wrote {path} (extends {extends}). Edit it, then check it: auditkit templates validate {path}")


@templates.command()
@click.argument("refs", nargs=-1, metavar="[NAME|FILE]...")
def validate(refs: tuple[str, ...]) -> None:
    """Check templates (by default every one on the search path); exit 1 if any has a problem."""
    from .templates import available_templates, check_template, expressions_checked, load_template

    names = list(refs) or list(available_templates())
    if not names:
        raise UsageError("No templates to validate: give NAME or FILE, or set AUDITKIT_AUDITS_PATH.")
    failed = 0
    for ref in names:
        try:
            problems = check_template(ref)
        except AuditkitError as err:
            problems = getattr(err, "problems", None) or [err]
        if problems:
            failed += 1
            click.echo(f"{ref}: {len(problems)} problem(s)", err=True)
            for problem in problems:
                click.echo(f"  - {problem}", err=True)
        else:
            template = load_template(ref)
            chain = " <- ".join(p.name for p, _ in template.files)
            click.echo(f"{ref}: ok ({chain}; {len(template.findings)} finding rules)")
    if not expressions_checked():
        click.echo("Note: auditkit.expr is not installed, so the 'when' expressions were not checked.", err=True)
    if failed:
        sys.exit(1)


# --------------------------------------------------------------------------------------------------
# --template on audit and assess


def template_option(command: Any) -> Any:
    """The ``--template NAME|FILE`` option of ``audit`` and ``assess``."""
    return click.option("--template", "template", metavar="NAME|FILE",
                        help="Audit template to start from (auditkit templates list); options given on the command "
                             "line override its values.")(command)


#: Command-line option names whose AuditSpec field has another name.  ``--model-decision`` (assess)
#: counts as a decision option, so that it replaces the template's decision rule.
_OPTION_FIELDS = {"reference": "references", "keep": "filters", "drop": "filters", "missing_value": "missing_values",
                  "model_decision": "decision", "keep_row": "keep_rows"}


def given_fields(ctx: click.Context) -> set[str]:
    """The AuditSpec fields set explicitly on the command line (or through the environment), not by default."""
    from click.core import ParameterSource

    explicit = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    return {_OPTION_FIELDS.get(name, name) for name in ctx.params if ctx.get_parameter_source(name) in explicit}


def apply_template(ctx: click.Context, fields: dict[str, Any], *, for_model: bool = False) -> tuple[dict[str, Any], Any]:
    """The AuditSpec fields with ``--template`` applied under the command line's, and the template (or None).

    Precedence: an option given on the command line, then the template (and what it extends), then
    the option's default.  An option replaces the template's whole group: ``--score``/``--top``
    replace a template's decision column, ``--truth`` its outcome values, ``--protected`` its
    protected attributes (references to attributes no longer audited are dropped).
    """
    from .templates import load_template, merge_fields

    ref = ctx.params.get("template")
    if not ref:
        return fields, None
    template = load_template(ref)
    return merge_fields(template.spec_fields(for_model=for_model), fields, given_fields(ctx)), template


def assess_options_with_template(ctx: click.Context, options: dict[str, Any], template: Any) -> dict[str, Any]:
    """AssessOptions keywords with the template's explain settings where the command line gave none."""
    if template is None:
        return options
    given = given_fields(ctx)
    return {**options, **{k: v for k, v in template.assess_fields().items() if k not in given}}
