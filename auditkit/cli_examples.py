"""``--example NAME`` on ``auditkit audit`` and ``auditkit assess``: the main job on a bundled example.

``auditkit assess --example welfare`` opens the shipped welfare-fraud model,
scores the shipped decisions with it under the shipped template, and writes
the evidence bundle and its HTML report into a folder it names; then it says
where the report is and how to check the bundle.  The example files travel
inside the package (``auditkit/_datasets/``, mapped from the repository's
``datasets/`` in ``setup.cfg``), so this works after ``pip install`` from any
directory.
"""

from __future__ import annotations

import importlib.util
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ._text import did_you_mean
from .exceptions import AuditkitError

__all__ = ["EXAMPLES", "Example", "ExampleRun", "MissingExtraError", "example_option", "next_steps", "start_example"]


@dataclass(frozen=True)
class Example:
    """A runnable example: shipped files (names in :data:`auditkit.datasets.registry.EXAMPLES`) and a template."""

    name: str
    data: str
    model: str
    template: str


#: Examples ``--example`` runs.  Their files must be package data (tests/test_packaging.py checks it).
EXAMPLES: dict[str, Example] = {e.name: e for e in (
    Example("welfare", data="welfare", model="welfare-model", template="welfare-fraud-risk"),
)}

#: What ``assess --example`` imports, with the package that provides it.
_ASSESS_NEEDS = (("sklearn", "scikit-learn"), ("skops", "skops"))
_EXPLAIN_NEEDS = (("shap", "shap"),)


class MissingExtraError(AuditkitError, ImportError):
    """A package the command needs is not installed (exit 1); the message says what to install."""


@dataclass(frozen=True)
class ExampleRun:
    """The files and output folder of one ``--example`` run."""

    example: Example
    command: str
    data: Path
    model: Path | None
    out: Path


def example_option(command: Any) -> Any:
    """The ``--example NAME`` option of ``audit`` and ``assess``."""
    names = ", ".join(EXAMPLES)
    return click.option(
        "--example", "example", metavar="NAME",
        help=f"Run on a bundled example ({names}) instead of your own files: its data (and model), its "
             "template, and a bundle with the HTML report in ./NAME-audit or ./NAME-assess (or --out).")(command)


def start_example(ctx: click.Context, command: str, given: dict[str, Any], explain: bool = True) -> ExampleRun | None:
    """The example run ``--example`` asks for (None without it), after checking what it may not be combined with.

    ``given`` maps each input argument or option ('DATA', '--data', 'MODEL') to its value.  Without
    --example every one of them is required; with it, none may be given.
    """
    name = ctx.params.get("example")
    if name is None:
        for label, value in given.items():
            if value is None:
                what = "argument" if label.isupper() else "option"
                raise click.UsageError(f"Missing {what} '{label}'. Give your own files, or run on the bundled "
                                       f"example: auditkit {ctx.info_name} --example {next(iter(EXAMPLES))}")
        return None
    if name not in EXAMPLES:
        raise click.UsageError(f"Unknown example {name!r}.{did_you_mean(name, EXAMPLES)} "
                               f"Examples: {', '.join(sorted(EXAMPLES))}.")
    clash = [label for label, value in given.items() if value is not None]
    if clash:
        raise click.UsageError(f"--example {name} runs on the example's own files; drop {' and '.join(clash)}, "
                               "or drop --example to audit your own files.")
    example = EXAMPLES[name]
    if command == "assess":
        _check_installed(example, explain)
    from .datasets.registry import example_path

    out = ctx.params.get("out_dir") or Path(f"{name}-{command}")
    if ctx.params.get("out_dir") is None:
        _check_default_folder(out)
    if not ctx.params.get("template"):
        ctx.params["template"] = example.template
    return ExampleRun(example, command, example_path(example.data),
                      example_path(example.model) if command == "assess" else None, out)


def _check_installed(example: Example, explain: bool) -> None:
    needs = _ASSESS_NEEDS + (_EXPLAIN_NEEDS if explain else ())
    missing = [package for module, package in needs if importlib.util.find_spec(module) is None]
    if missing:
        raise MissingExtraError(
            f"auditkit assess --example {example.name} opens a scikit-learn model saved with skops and explains "
            f"it with SHAP, but {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed. Install "
            "them with: pip install 'auditkit[example]' (from a clone of the repository: pip install '.[example]'). "
            f"Without them, auditkit audit --example {example.name} audits the example's decisions.")


def _check_default_folder(out: Path) -> None:
    """Refuse to write into a folder of the current directory that holds something other than a bundle."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "manifest.json").is_file())):
        raise click.UsageError(f"{out}/ exists and is not an auditkit evidence bundle; the example would write "
                               "into it. Give another folder with --out DIR.")


def next_steps(run: ExampleRun, lang: str = "en") -> str:
    """Where the bundle is (its report in ``lang``) and what to try next, as shell commands that work from here."""
    out = shlex.quote(str(run.out))
    verify = f"auditkit verify {out} --data {shlex.quote(str(run.data))}"
    if run.model is not None:
        verify += f" --model {shlex.quote(str(run.model))}"
    own = ("auditkit assess MODEL --data DATA" if run.command == "assess" else "auditkit audit DATA")
    lines = [
        f"Example {run.example.name!r}: the evidence bundle and its HTML report are in {run.out}/",
        f"  open the report:     {run.out / f'report.{lang}.html'}",
        f"  check the bundle:    {verify}",
        f"  report in Dutch:     auditkit report {out} --lang nl --out {shlex.quote(str(run.out) + '-nl')}" if lang != "nl"
        else f"  report in English:   auditkit report {out} --lang en --out {shlex.quote(str(run.out) + '-en')}",
    ]
    if run.command == "assess":
        lines.append(f"  the decisions only:  auditkit audit --example {run.example.name}")
    lines.append(f"  your own files:      {own} --template {run.example.template} --out DIR")
    return "\n".join(lines)
