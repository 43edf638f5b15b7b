"""Check a merged template: the shipped JSON Schema first, then what a schema cannot say.

Every problem names the file that set the offending value (or, for a missing
key, the template being loaded), the key path, the line, and the nearest valid
key or value ("Did you mean ...?").
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from .._text import did_you_mean, placeholder_in
from ._problems import Problem, key_path
from ._resolve import origin
from .._placeholders import fields, spec_problem
from ._yaml import TemplateFile

__all__ = ["PLACEHOLDERS", "RULE_NAMES", "check", "expressions_checked", "schema"]

#: Names a finding rule's ``when`` can use, per kind of record it applies to (``applies_to``): the keys
#: every such record of the results has (see docs/results.md).  ``screening_band`` exists for
#: selection-rate comparisons only: guard it with ``metric == "selection_rate" and ...``.
RULE_NAMES = {
    "comparisons": ("attribute", "group", "reference", "metric", "status", "ratio", "ratio_ci", "difference",
                    "difference_ci", "p_value", "p_holm", "p_bh", "test", "group_rate", "reference_rate",
                    "screening_band", "min_detectable_ratio", "min_detectable_ratio_below", "varies", "held"),
    "selection_method": ("attribute", "group", "reference", "metric", "status", "ratio", "ratio_ci", "difference",
                         "difference_ci", "p_value", "p_holm", "p_bh", "test", "compares", "min_detectable_ratio",
                         "min_detectable_ratio_below"),
    "stages": ("attribute", "group", "reference", "metric", "status", "ratio", "ratio_ci", "difference",
               "difference_ci", "p_value", "p_holm", "p_bh", "test", "group_rate", "reference_rate",
               "screening_band", "stage", "stage_index"),
}
#: Placeholders a statement or recommendation can use, as :mod:`auditkit.findings` fills them.
PLACEHOLDERS = ("attribute", "difference_pp", "group", "group_rate", "level", "metric", "min_detectable_ratio",
                "n_group", "n_reference", "p_holm", "ratio", "ratio_ci_high", "ratio_ci_low", "reference",
                "reference_rate", "stage")

_TYPES = {"object": "a mapping (key: value)", "array": "a list", "string": "text", "integer": "a whole number",
          "number": "a number", "boolean": "true or false", "null": "empty"}


@lru_cache(maxsize=1)
def schema() -> dict:
    """The shipped JSON Schema of a template (``auditkit/schemas/template.schema.json``)."""
    path = Path(__file__).resolve().parents[1] / "schemas" / "template.schema.json"
    return json.loads(path.read_text(encoding="utf-8"))


def expressions_checked() -> bool:
    """True when ``auditkit.expr`` is installed, so ``when`` expressions are parsed on loading."""
    import importlib.util

    return importlib.util.find_spec("auditkit.expr") is not None


class _Collector:
    def __init__(self, chain: list[TemplateFile]) -> None:
        self.chain: list[TemplateFile] = chain
        self.problems: list[Problem] = []

    def add(self, path: tuple, message: str, hint: str = "", *, missing: bool = False) -> None:
        file, line = (self.chain[0], None) if missing else origin(self.chain, path)
        if missing:
            line = self.chain[0].lines.get(path[:1]) if path else None
        self.problems.append(Problem(file.label, key_path(path), message, hint, line))


def _schema_problem(err: Any, out: _Collector) -> None:
    path, kind, value = tuple(err.absolute_path), err.validator, err.instance
    known = list(err.schema.get("properties", {})) if isinstance(err.schema, dict) else []
    if kind == "additionalProperties" and isinstance(value, dict):
        for extra in sorted(k for k in value if k not in known):
            out.add(path + (extra,), f"unknown key {extra!r}.",
                    did_you_mean(extra, known) + f" Valid keys here: {', '.join(known)}.")
    elif kind == "required":
        for key in (k for k in err.validator_value if k not in value):
            out.add(path + (key,), f"the required key {key!r} is missing.", f"Add {key}: ...", missing=True)
    elif kind in ("enum", "const"):
        allowed = err.validator_value if kind == "enum" else [err.validator_value]
        out.add(path, f"{value!r} is not one of {', '.join(map(repr, allowed))}.", did_you_mean(str(value), allowed))
    elif kind == "type":
        wanted = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        out.add(path, f"must be {' or '.join(_TYPES.get(t, str(t)) for t in wanted)}; got {value!r}.",
                err.schema.get("description", ""))
    elif kind == "pattern":
        out.add(path, f"{value!r} is not in the expected form.", err.schema.get("description", ""))
    elif kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
                 "exclusiveMaximum": "less than"}[kind]
        out.add(path, f"must be {words} {err.validator_value}; got {value!r}.")
    elif kind in ("minItems", "minProperties", "minLength"):
        out.add(path, "must not be empty.")
    elif kind == "uniqueItems":
        out.add(path, "lists an item twice.", "Remove the repeated item.")
    else:
        out.add(path, err.message + ".")


def _validate_schema(data: dict, out: _Collector) -> None:
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(schema()).iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    for err in errors:
        if "propertyNames" in err.absolute_schema_path:  # the error is about a key: err.instance is the key
            allowed = err.validator_value if err.validator == "enum" else []
            out.add(tuple(err.absolute_path) + (err.instance,), f"{err.instance!r} is not a valid key here.",
                    did_you_mean(str(err.instance), allowed) or err.schema.get("description", ""))
        else:
            _schema_problem(err, out)


def check(chain: list[TemplateFile], data: dict) -> list[Problem]:
    """Every problem of the merged template ``data`` whose files are ``chain`` (most specific first)."""
    out = _Collector(chain)
    for file in chain:  # the format marker is per file: it says "this file is an auditkit template"
        if "auditkit_template" not in file.data:
            out.problems.append(Problem(file.label, "auditkit_template", "the required key 'auditkit_template' is "
                                        "missing.", "Add 'auditkit_template: 1' at the top of the file.", 1))
    name = chain[0].data.get("name")
    if isinstance(name, str) and name != chain[0].path.stem:
        out.add(("name",), f"{name!r} differs from the file name {chain[0].path.name!r}; templates are found by "
                "file name.", f"Rename the file to {name}.yaml, or write name: {chain[0].path.stem}.")
    _validate_schema(data, out)
    if out.problems:  # semantic checks assume the shapes the schema guarantees
        return list({(p.file, p.key, p.message): p for p in reversed(out.problems)}.values())[::-1]
    _check_ids(data, out)
    _check_findings(data, out)
    _check_instrument(data, out)
    _check_screening(data, out)
    if not data.get("abstract"):
        _check_concrete(data, out)
    return out.problems


def _check_ids(data: dict, out: _Collector) -> None:
    provisions, rights = data.get("provisions", {}), data.get("rights", {})
    refs: list[tuple[tuple, str, dict, str]] = []
    refs += [(("system", "legal_basis", i), p, provisions, "provisions") for i, p in
             enumerate(data.get("system", {}).get("legal_basis", []))]
    for name, attr in data.get("protected", {}).items():
        for juris, ids in attr.get("grounds", {}).items():
            refs += [(("protected", name, "grounds", juris, i), p, provisions, "provisions") for i, p in enumerate(ids)]
    for rid, right in rights.items():
        refs += [(("rights", rid, "provisions", i), p, provisions, "provisions")
                 for i, p in enumerate(right.get("provisions", []))]
    for n, rule in enumerate(data.get("findings", [])):
        refs += [(("findings", n, "provisions", i), p, provisions, "provisions")
                 for i, p in enumerate(rule.get("provisions", []))]
        refs += [(("findings", n, "rights", i), r, rights, "rights") for i, r in enumerate(rule.get("rights", []))]
    for path, ref, table, section in refs:
        if ref not in table:
            out.add(path, f"{ref!r} is not defined under {section}.",
                    did_you_mean(ref, table) or f"Define it under {section}: {ref}: ...")


def _check_screening(data: dict, out: _Collector) -> None:
    """Screening bands: selection-rate ratios only (the only rate the band screens, in the results, the charts
    and the report's words), and a band that holds a ratio of 1."""
    bands = data.get("measures", {}).get("screening_bands") or {}
    for metric, band in bands.items():
        path = ("measures", "screening_bands", metric)
        if metric != "selection_rate":
            out.add(path, f"sets a screening band for {metric!r}; auditkit screens selection-rate ratios only, so "
                    "this band would be ignored.", "Remove the entry, or set the band under selection_rate.")
            continue
        low, high = band.get("low"), band.get("high")
        if not (isinstance(low, (int, float)) and isinstance(high, (int, float)) and 0 < low < 1 < high):
            out.add(path, f"sets a screening band of {low!r} to {high!r}; a band must hold a ratio of 1 (low below 1, "
                    "high above 1).", "E.g. low: 0.8, high: 1.25 (the four-fifths band).")


def _check_instrument(data: dict, out: _Collector) -> None:
    instrument = data.get("checklist", {}).get("instrument")
    if instrument is None:
        return
    try:
        from ..checklist import instrument_paths
    except ImportError:
        return  # the checklist package is not part of this installation
    known = instrument_paths()
    if instrument not in known:
        out.add(("checklist", "instrument"), f"{instrument!r} is not a known checklist instrument.",
                did_you_mean(instrument, known) + f" Instruments: {', '.join(sorted(known)) or 'none'}.")


def _placeholders(text: str) -> list[str]:
    return [field for field, _, _ in fields(text)]


def _check_findings(data: dict, out: _Collector) -> None:
    report = data.get("report", {})
    language = report.get("language", "en")
    languages = report.get("languages", [language])
    if language not in languages:
        out.add(("report", "language"), f"{language!r} is not in report.languages ({', '.join(languages)}).",
                did_you_mean(language, languages))
    seen: dict[str, int] = {}
    for n, rule in enumerate(data.get("findings", [])):
        if rule["id"] in seen:
            out.add(("findings", n, "id"), f"{rule['id']!r} is also the id of findings[{seen[rule['id']]}].",
                    "Finding ids must be unique: they are cited.")
        seen.setdefault(rule["id"], n)
        for key in ("statement", "recommendation"):
            text = rule.get(key)
            if text is None:
                continue
            for lang in dict.fromkeys(["en", *languages]):
                if lang not in text:
                    out.add(("findings", n, key), f"has no {lang!r} text (report.languages lists {lang!r}).",
                            f"Add {lang}: ... under {key}.")
            for lang, body in text.items():
                _check_text(body, ("findings", n, key, lang), out)
        _check_when(rule["when"], RULE_NAMES[rule.get("applies_to", "comparisons")], ("findings", n, "when"), out)


def _check_text(body: str, path: tuple, out: _Collector) -> None:
    try:
        found = fields(body)
    except ValueError as err:
        out.add(path, f"has an unmatched brace ({err}).", "Write {{ and }} for a literal brace.")
        return
    for field, conversion, spec in found:
        if field not in PLACEHOLDERS:
            out.add(path, f"uses the unknown placeholder {{{field}}}.",
                    did_you_mean(field, PLACEHOLDERS) + f" Placeholders: {', '.join(PLACEHOLDERS)}.")
        elif problem := spec_problem(field, conversion, spec):
            out.add(path, f"uses a placeholder auditkit refuses: {problem}", f"Write {{{field}}}, or pad it as {{{field}:>12}}.")


def _check_when(text: str, names: tuple[str, ...], path: tuple, out: _Collector) -> None:
    try:
        from .. import expr
    except ImportError:
        return  # stored unvalidated; 'auditkit templates validate' says so
    try:
        parsed = expr.parse(text)
    except expr.ExpressionError as err:
        out.add(path, f"is not a valid expression: {err}", f"Names: {', '.join(names)}.")
        return
    for name in sorted(parsed.names()):
        if name not in names:
            out.add(path, f"uses the unknown name {name!r}.", did_you_mean(name, names) + f" Names: {', '.join(names)}.")


def _check_placeholders(system: dict, out: _Collector) -> None:
    """Required system fields must not keep the text a template author was meant to replace."""
    for key in ("name", "agency", "purpose", "decision"):
        value = system.get(key)
        texts = value.items() if isinstance(value, dict) else [(None, value)]
        for lang, text in texts:
            found = placeholder_in(text)
            if found:
                path = ("system", key) if lang is None else ("system", key, lang)
                out.add(path, f"still holds the placeholder {found!r} ({text!r}).",
                        f"Write the real {key} of the audited system; a report prints it as the {key}.")


def _check_concrete(data: dict, out: _Collector) -> None:
    system = data.get("system", {})
    for key in ("agency", "purpose", "decision"):
        if key not in system:
            out.add(("system", key), f"a template that is not abstract must say the system's {key}.",
                    f"Add system.{key}, or 'abstract: true' if the template only exists to be extended.", missing=True)
    if isinstance(system, dict):
        _check_placeholders(system, out)
    if not data.get("protected"):
        out.add(("protected",), "names no protected attribute.", "Add protected: {COLUMN: {reference: VALUE}}.",
                missing=True)
    columns = data.get("data", {})
    rule = data.get("decision_rule", {})
    rules = [k for k in ("threshold", "top", "top_n") if k in rule]
    if len(rules) > 1:
        out.add(("decision_rule", rules[1]), f"gives {' and '.join(rules)}; a decision rule has one of them.",
                "Keep one, or delete the inherited one with null.")
    by = rule.get("decide_by", "decision" if "decision" in columns else "score")
    if "count_table" in columns:
        return
    if by == "decision" and "decision" not in columns:
        out.add(("data", "decision"), "the decision comes from the data's decision column, but none is mapped.",
                "Add data.decision: {column: ..., positive: [...]}, or decision_rule.decide_by: score.", missing=True)
    if by == "score":
        if "score" not in columns:
            out.add(("data", "score"), "the decision is made from a score, but no score column is mapped.",
                    "Add data.score: {column: ...}.", missing=True)
        if not rules:
            out.add(("decision_rule",), "the decision is made from a score, but no rule says how.",
                    "Add decision_rule.threshold, .top (percent) or .top_n.", missing=True)
    roles: dict[str, tuple] = {}
    for name, attr in data.get("protected", {}).items():
        _claim(roles, attr.get("column", name), ("protected", name), out)
    for i, col in enumerate(columns.get("strata", [])):
        _claim(roles, col, ("data", "strata", i), out)
    for key in ("stage", "period", "selection_method"):
        if key in columns:
            _claim(roles, columns[key]["column"], ("data", key, "column"), out)
    if "person" in columns.get("stage", {}):
        _claim(roles, columns["stage"]["person"], ("data", "stage", "person"), out)


def _claim(roles: dict[str, tuple], column: str, path: tuple, out: _Collector) -> None:
    if column in roles:
        out.add(path, f"column {column!r} already plays another role at {key_path(roles[column])}.",
                "A column can play one role in an audit.")
    roles.setdefault(column, path)
