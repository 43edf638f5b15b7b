"""``auditkit checklist``: answer, validate and score human-rights impact assessments.

A thin shell over :mod:`auditkit.checklist`: it reads files, prompts, prints
and maps errors to exit codes (0 ok, 1 invalid file, 2 usage, 3 a red flag
stands).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from .checklist import (
    ChecklistError,
    Problem,
    dump_assessment,
    instrument_paths,
    instrument_problems,
    load_assessment,
    load_instrument,
    load_results,
    localise,
    new_assessment,
    score_assessment,
    set_answer,
)
from ._json import json_text
from .checklist._files import read_yaml, sha256_of, write_text_atomic
from .checklist._model import items_of, questions_of
from .checklist._render import render_score
from .checklist._schema import raise_problems
from .exceptions import AuditkitError

__all__ = ["checklist"]

def _language(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Any language with a message catalog (shipped, or on AUDITKIT_LOCALES_PATH)."""
    from .locale import LocaleError, load_locale

    try:
        load_locale(value)
    except LocaleError as err:
        raise click.BadParameter(str(err), ctx=ctx, param=param) from None
    return value


_LANG = click.option("--lang", default="en", show_default=True, metavar="CODE", callback=_language,
                     help="Language of questions and output: en, nl, or any language with a catalog on "
                          "AUDITKIT_LOCALES_PATH (instrument texts it lacks are shown in English).")
_INSTRUMENT = click.option("--instrument", "instrument_file", metavar="NAME|FILE",
                           help="Use this instrument instead of the one the assessment names (e.g. a partner's copy).")


class _Group(click.Group):
    def invoke(self, ctx: click.Context):  # noqa: D102 - library errors become messages and exit codes
        try:
            return super().invoke(ctx)
        except AuditkitError as err:
            click.echo(f"Error: {err}", err=True)
            ctx.exit(err.exit_code)


@click.group("checklist", cls=_Group)
def checklist() -> None:
    """Human-rights impact assessment: instruments, answers and scores (docs/checklist.md)."""


@checklist.command("list")
def list_command() -> None:
    """List the instruments auditkit can find."""
    for name, path in instrument_paths().items():
        try:
            instrument = load_instrument(path)
        except AuditkitError as err:
            click.echo(f"{name}  (invalid: {str(err).splitlines()[0]})")
            continue
        click.echo(f"{name}  {instrument['version']}  {localise(instrument['title'])}")
        click.echo(f"    {path}")


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(text, 100, initial_indent=indent, subsequent_indent=indent)


@checklist.command("show")
@click.argument("instrument")
@_LANG
def show_command(instrument: str, lang: str) -> None:
    """Print an instrument's questions, options, scores and references."""
    data = load_instrument(instrument)
    click.echo(f"{localise(data['title'], lang)}  ({data['id']} {data['version']})")
    click.echo(f"Source: {data['source']['name']}, {data['source']['version']}\n        {data['source']['url']}")
    for section in data["sections"]:
        click.echo(f"\n== {localise(section['title'], lang)}")
        for item in section["items"]:
            refs = "; ".join(f"{k} {', '.join(v)}" for k, v in item.get("refs", {}).items())
            click.echo(f"\n[{item['id']}] ({item['kind']}){'  refs: ' + refs if refs else ''}")
            click.echo(_wrap(localise(item["text"], lang), "  "))
            if "guidance" in item:
                click.echo(_wrap(localise(item["guidance"], lang), "  | "))
            for pid, question in questions_of(item):
                if pid:
                    click.echo(_wrap(f"{pid}: {localise(question['text'], lang)}", "    "))
                for option in question.get("options", ()):
                    flags = f"  red flag: {', '.join(option['flags'])}" if option.get("flags") else ""
                    score = f" [{option['score']}]" if "score" in option else ""
                    click.echo(_wrap(f"- {option['id']}{score}: {localise(option['text'], lang)}{flags}", "      "))
            if item.get("bindings"):
                click.echo(f"  evidence: {', '.join(b['id'] for b in item['bindings'])}"
                           f"{' (filled from evidence)' if item.get('fill_from_evidence') else ''}")
    for flag in data.get("red_flags", ()):
        click.echo(f"\nRed flag {flag['id']}: {localise(flag['title'], lang)}")


@checklist.command("init")
@click.argument("instrument")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: stdout).")
@click.option("--title", help="A title for the assessment.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@_LANG
def init_command(instrument: str, out: Path | None, title: str | None, force: bool, lang: str) -> None:
    """Write an empty assessment (every item unanswered) for INSTRUMENT."""
    data = load_instrument(instrument)
    text = dump_assessment(new_assessment(data, title), data, lang)
    if out is None:
        click.echo(text, nl=False)
        return
    if out.exists() and not force:
        raise click.UsageError(f"{out} exists; it may hold answers. Use 'auditkit checklist fill {out}' to "
                               "continue it, or --force to overwrite.")
    write_text_atomic(out, text)
    click.echo(f"Wrote {out}: {sum(1 for _ in items_of(data))} items of {data['id']} {data['version']}. "
               f"Answer with 'auditkit checklist fill {out}'.", err=True)


@checklist.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_INSTRUMENT
def validate_command(file: Path, instrument_file: str | None) -> None:
    """Check an instrument or assessment file; every problem names the file, item and key."""
    data = read_yaml(file)
    kind = data.get("kind") if isinstance(data, Mapping) else None
    if kind == "auditkit/instrument":
        problems = instrument_problems(data, str(file))
        if problems:
            raise_problems(problems)
        click.echo(f"{file}: valid instrument {data['id']} {data['version']} "
                   f"({sum(1 for _ in items_of(data))} items).")
        return
    if kind != "auditkit/assessment":
        raise ChecklistError(f"{file}, key 'kind': expected 'auditkit/instrument' or 'auditkit/assessment', "
                             f"got {kind!r}.")
    instrument, assessment = load_assessment(file, instrument_file)
    raise_problems(_document_problems(assessment, file))
    answered = sum(1 for a in assessment["answers"].values() if a and a.get("value") is not None)
    click.echo(f"{file}: valid assessment of {instrument['id']} {instrument['version']} "
               f"({answered} of {sum(1 for _ in items_of(instrument))} items answered).")


def _document_problems(assessment: Mapping[str, Any], file: Path) -> list[Problem]:
    """Documents cited with a hash that exist next to the assessment must match that hash."""
    problems = []
    for iid, answer in assessment["answers"].items():
        for n, ref in enumerate((answer or {}).get("evidence") or ()):
            path = file.parent / ref["document"] if "document" in ref else None
            if path is not None and path.is_file() and sha256_of(path) != ref["sha256"]:
                problems.append(Problem(str(file), iid, f"evidence[{n}].sha256",
                                        f"{ref['document']} has changed since it was cited: its SHA-256 is now "
                                        f"{sha256_of(path)}"))
    return problems


@checklist.command("score")
@click.argument("assessment", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--results", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An audit results JSON (auditkit audit/assess --json) to read evidence from.")
@click.option("--json", "json_out", metavar="FILE", help="Write the scores as JSON ('-' for stdout).")
@_INSTRUMENT
@_LANG
def score_command(assessment: Path, results: Path | None, json_out: str | None, instrument_file: str | None,
                  lang: str) -> None:
    """Score ASSESSMENT: impact band, red flags, gaps, contradictions. Exit 3 when a red flag stands."""
    instrument, answers = load_assessment(assessment, instrument_file)
    report = score_assessment(instrument, answers, load_results(results) if results else None)
    if json_out:
        text = json_text(report)
        if json_out == "-":
            click.echo(text, nl=False)
        else:
            write_text_atomic(json_out, text)
    if json_out != "-":
        click.echo(render_score(report, lang))
    if report["red_flags"]:
        click.get_current_context().exit(3)


# ----------------------------------------------------------------------- fill

_SKIP, _QUIT = "s", "q"


def _choose(question: Mapping[str, Any], text: str) -> Any:
    """Parse one typed answer for ``question``; raise click.BadParameter with what is expected."""
    kind = question["kind"]
    options = [o["id"] for o in question.get("options", ())]

    def option(token: str) -> str:
        token = token.strip()
        if token.isdigit() and 1 <= int(token) <= len(options):
            return options[int(token) - 1]
        if token in options:
            return token
        raise click.BadParameter(f"{token!r} is not an option; type a number 1-{len(options)} or one of "
                                 f"{', '.join(options)}.")

    if kind == "single_choice":
        return option(text)
    if kind == "multiple_choice":
        return [] if text.strip() == "-" else list(dict.fromkeys(option(t) for t in text.split(",") if t.strip()))
    if kind == "number":
        try:
            value = float(text)
        except ValueError:
            raise click.BadParameter(f"{text!r} is not a number.") from None
        value = int(value) if value.is_integer() else value
        if value < question.get("min", value) or value > question.get("max", value):
            raise click.BadParameter(f"{value} is outside {question.get('min', '-inf')}..{question.get('max', 'inf')}.")
        return value
    if kind == "attestation":
        if text.strip().lower() in ("y", "yes", "j", "ja", "true"):
            return True
        if text.strip().lower() in ("n", "no", "nee", "false"):
            return False
        raise click.BadParameter("type y (attested) or n.")
    if not text.strip():
        raise click.BadParameter("type some text, or s to skip.")
    return text.strip()


def _ask(question: Mapping[str, Any], label: str, lang: str, default: Any) -> Any:
    """Prompt until the answer is valid; returns the value, or _SKIP / _QUIT."""
    click.echo(_wrap(localise(question["text"], lang), "  "))
    for n, option in enumerate(question.get("options", ()), 1):
        click.echo(_wrap(f"{n}. {option['id']}: {localise(option['text'], lang)}", "     "))
    hint = {"multiple_choice": "numbers or ids, comma-separated; '-' for none", "attestation": "y/n",
            "number": "a number", "text": "text"}.get(question["kind"], "a number or an id")
    shown = ",".join(default) if isinstance(default, list) else default
    while True:
        text = click.prompt(f"{label} [{hint}; s skip, q quit]", default=shown, show_default=shown is not None)
        text = str(text)
        if text.strip() in (_SKIP, _QUIT):
            return text.strip()
        try:
            return _choose(question, text)
        except click.BadParameter as err:
            click.echo(f"  {err.message}", err=True)


def _evidence_refs(text: str, base: Path) -> list[dict]:
    refs = []
    for token in (t.strip() for t in text.split(";") if t.strip()):
        if token.startswith("F-"):
            refs.append({"finding": token})
        elif token.startswith("metric:"):
            metric, *rest = token[len("metric:"):].split("/")
            refs.append({"metric": metric, **dict(zip(("attribute", "group"), rest))})
        else:
            path = Path(token)
            found = path if path.is_absolute() else base / path
            if not found.is_file():
                raise click.BadParameter(f"{token}: no such file (relative to {base}).")
            refs.append({"document": token, "sha256": sha256_of(found)})
    return refs


def _ask_evidence(base: Path) -> list[dict]:
    while True:
        text = click.prompt("  evidence: F-id, metric:NAME/ATTRIBUTE/GROUP or a file; ';' between",
                            default="", show_default=False)
        try:
            return _evidence_refs(text, base)
        except click.BadParameter as err:
            click.echo(f"  {err.message}", err=True)


@checklist.command("fill")
@click.argument("assessment", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "answered_by", help="Your name, recorded with each answer.")
@click.option("--role", help="Your role (e.g. researcher, lawyer, data scientist), recorded with each answer.")
@click.option("--date", help="A date to record with each answer, as you want it written (auditkit reads no clock).")
@click.option("--results", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Audit results to fill evidence items from and to suggest answers.")
@click.option("--notes", is_flag=True, help="Also ask for a note with each answer.")
@_INSTRUMENT
@_LANG
def fill_command(assessment: Path, answered_by: str | None, role: str | None, date: str | None,
                 results: Path | None, notes: bool, instrument_file: str | None, lang: str) -> None:
    """Answer ASSESSMENT's open items one by one; the file is saved after every answer.

    Interrupt at any time (q, Ctrl-C or end of input): answers given are kept,
    and the next run continues with the first unanswered item.
    """
    instrument, data = load_assessment(assessment, instrument_file)
    evidence = load_results(results) if results else None

    def save(new: dict) -> dict:
        write_text_atomic(assessment, dump_assessment(new, instrument, lang))
        return new

    report = score_assessment(instrument, data, evidence)
    items = {item["id"]: item for _, item in items_of(instrument)}
    for filled in report["filled_from_evidence"]:
        data = save(set_answer(data, items[filled["item"]], filled["value"], source="evidence"))
        click.echo(f"{filled['item']}: {_value_text(filled['value'])} (from the evidence)")
    hints = {s["item"]: s for s in score_assessment(instrument, data, evidence)["suggestions"]}
    skipped: set[str] = set()
    meta = {"answered_by": answered_by, "role": role, "date": date, "source": "human"}
    try:
        while True:
            todo = [g for g in score_assessment(instrument, data, None)["gaps"]
                    if g["reason"] in ("unanswered", "parts_unanswered") and g["item"] not in skipped]
            if not todo:
                break
            item = items[todo[0]["item"]]
            title = f" {localise(item['text'], lang)}" if item["kind"] == "multi_part" else ""
            click.echo(f"\n[{item['id']}]{title}")
            value = (data["answers"].get(item["id"]) or {}).get("value")
            for pid, question in questions_of(item):
                if pid and isinstance(value, Mapping) and value.get(pid) is not None:
                    continue
                hint = hints.get(item["id"]) if pid is None else None
                default = None
                if hint is not None:
                    click.echo(_wrap(f"evidence suggests {_value_text(hint['suggests'])}: "
                                     f"{localise(hint['reason'], lang)}", "  ~ "))
                    # "One of these" is shown, not offered as a default: the person must choose.
                    single = not (isinstance(hint["suggests"], list) and item["kind"] == "single_choice")
                    default = hint["suggests"] if single else None
                answer = _ask(question, pid or item["id"], lang, default)
                if answer == _QUIT:
                    click.echo(f"Saved. Run 'auditkit checklist fill {assessment}' to continue.", err=True)
                    return
                if answer == _SKIP:
                    skipped.add(item["id"])
                    break
                extra = dict(meta)
                if pid is None and item.get("evidence", {}).get("required"):
                    extra["evidence"] = _ask_evidence(assessment.parent) or None
                if notes and pid is None:
                    extra["text"] = click.prompt("  note", default="", show_default=False) or None
                data = save(set_answer(data, item, answer, pid, **extra))
    except click.Abort:
        click.echo(f"\nInterrupted. Answers given so far are saved in {assessment}.", err=True)
        raise
    left = len(score_assessment(instrument, data, None)["gaps"])
    click.echo(f"\nSaved {assessment}. {left} gaps left. Score it with 'auditkit checklist score {assessment}'.")


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
