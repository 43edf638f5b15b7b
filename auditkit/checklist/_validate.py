"""Checks beyond the JSON Schema: ids, cross-references, expressions and answers that fit their items."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from .._text import did_you_mean, list_values
from ..expr import ExpressionError, parse
from ._model import CHOICE_KINDS, SERIOUSNESS_PARTS, items_of, questions_of
from ._schema import Problem, locate, path_text, schema_problems

__all__ = ["RESULT_KEYS", "assessment_problems", "instrument_problems"]

#: Top-level keys of an audit results document (docs/results.md) that evidence bindings may read.
RESULT_KEYS = frozenset({
    "schema_version", "auditkit_version", "engine", "input", "population", "design", "parameters",
    "attributes", "groups", "comparisons", "multiple_testing", "stratified", "selection_method", "stages",
    "notes", "bootstrap", "model_card", "findings", "explanations", "proxies", "flips", "clusters",
    "archetypes", "shap", "template",
})
_LANG_KEY = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")
_RESERVED = {"item"}


class _Checker:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def add(self, item: str | None, key: str | None, message: str) -> None:
        self.problems.append(Problem(self.file, item, key, message))

    def unique(self, ids: Iterable[str], what: str, item: str | None, key: str) -> None:
        for value, n in Counter(ids).items():
            if n > 1:
                self.add(item, key, f"{what} id {value!r} is used {n} times; ids must be unique")

    def known(self, value: str, choices: Iterable[str], what: str, item: str | None, key: str) -> bool:
        choices = list(choices)
        if value in choices:
            return True
        self.add(item, key, f"unknown {what} {value!r}; expected one of {list_values(choices)}.{did_you_mean(value, choices)}")
        return False

    def expression(self, text: str, names: Iterable[str] | None, what: str, item: str | None, key: str) -> None:
        try:
            expression = parse(text)
        except ExpressionError as err:
            self.add(item, key, f"invalid expression {text!r}: {err}")
            return
        if names is None:
            return
        for name in sorted(expression.names()):
            self.known(name, sorted(names), what, item, key)


def instrument_problems(data: Any, file: str) -> list[Problem]:
    """Every problem in an instrument: the schema first, then ids and cross-references."""
    problems = schema_problems(data, "instrument", file)
    if problems:
        return problems
    check = _Checker(file)
    items = [item for _, item in items_of(data)]
    item_ids = [item["id"] for item in items]
    check.unique((s["id"] for s in data["sections"]), "section", None, "sections")
    check.unique(item_ids, "item", None, "sections")
    flags = [f["id"] for f in data.get("red_flags", ())]
    check.unique(flags, "red flag", None, "red_flags")
    check.unique((g["id"] for g in data.get("gates", ())), "gate", None, "gates")
    rights = sorted(data.get("rights", {}))
    schemes = sorted(data.get("references", {}))
    for item in items:
        _check_item(check, item, item_ids, flags, rights, schemes)
    for section in data["sections"]:
        for scheme in section.get("refs", {}):
            check.known(scheme, schemes, "reference scheme", None, f"sections.{section['id']}.refs")
    _check_rules(check, data, item_ids, rights)
    _check_coverage(check, data, items, schemes)
    _check_languages(check, data)
    levels = [level["up_to"] for level in data.get("scoring", {}).get("levels", ())]
    if levels and (levels != sorted(set(levels)) or levels[-1] != 1):
        check.add(None, "scoring.levels", f"'up_to' must rise and end at 1; got {levels}")
    return check.problems


def _check_item(check: _Checker, item: Mapping, item_ids: list[str], flags: list[str], rights: list[str],
                schemes: list[str]) -> None:
    iid = item["id"]
    if iid in _RESERVED:
        check.add(iid, "id", f"{iid!r} is reserved in expressions; choose another id")
    if item["kind"] == "multi_part":
        check.unique((p["id"] for p in item["parts"]), "part", iid, "parts")
    elif "parts" in item:
        check.add(iid, "parts", f"only multi_part items have parts; this item is a {item['kind']} item")
    for pid, question in questions_of(item):
        _check_question(check, iid, pid, question, flags)
    for right in item.get("rights", ()):
        check.known(right, rights, "right", iid, "rights")
    for scheme in item.get("refs", {}):
        check.known(scheme, schemes, "reference scheme", iid, "refs")
    if "applies_if" in item:
        check.expression(item["applies_if"], [i for i in item_ids if i != iid], "item", iid, "applies_if")
    if "seriousness_of" in item:
        _check_seriousness(check, item, rights)
    _check_bindings(check, item)


def _check_question(check: _Checker, iid: str, pid: str | None, question: Mapping, flags: list[str]) -> None:
    prefix = f"parts.{pid}." if pid else ""
    kind = question["kind"]
    misplaced = {"options": CHOICE_KINDS, "thresholds": ("number",), "min": ("number",), "max": ("number",),
                 "unit": ("number",), "score_if_false": ("attestation",), "flags_if_false": ("attestation",)}
    for key, kinds in misplaced.items():
        if key in question and kind not in kinds:
            check.add(iid, prefix + key, f"{key!r} has no meaning for a {kind} question; it belongs to "
                                         f"{list_values(kinds)} questions")
    options = question.get("options", ())
    check.unique((o["id"] for o in options), "option", iid, prefix + "options")
    for n, option in enumerate(options):
        for flag in option.get("flags", ()):
            check.known(flag, flags, "red flag", iid, f"{prefix}options[{n}].flags")
    for flag in question.get("flags_if_false", ()):
        check.known(flag, flags, "red flag", iid, prefix + "flags_if_false")
    for n, threshold in enumerate(question.get("thresholds", ())):
        for flag in threshold.get("flags", ()):
            check.known(flag, flags, "red flag", iid, f"{prefix}thresholds[{n}].flags")
    check.unique((str(t["min"]) for t in question.get("thresholds", ())), "threshold 'min'", iid, prefix + "thresholds")
    if "min" in question and "max" in question and question["min"] > question["max"]:
        check.add(iid, prefix + "min", f"'min' ({question['min']}) is above 'max' ({question['max']})")


def _check_seriousness(check: _Checker, item: Mapping, rights: list[str]) -> None:
    iid = item["id"]
    check.known(item["seriousness_of"], rights, "right", iid, "seriousness_of")
    parts = {p["id"]: p for p in item.get("parts", ())}
    if item["kind"] != "multi_part" or sorted(parts) != sorted(SERIOUSNESS_PARTS):
        check.add(iid, "parts", f"a seriousness item must be multi_part with the parts {list_values(SERIOUSNESS_PARTS)}"
                                f"; got {list_values(sorted(parts))}")
        return
    for pid, part in parts.items():
        scores = [o.get("score", 0) for o in part.get("options", ())]
        if part["kind"] != "single_choice" or not all(1 <= s <= 4 for s in scores) or 4 not in scores:
            check.add(iid, f"parts.{pid}", "each seriousness part must be single_choice with scores from 1 to 4 "
                                           "(4 the most serious)")


def _check_bindings(check: _Checker, item: Mapping) -> None:
    iid, kind = item["id"], item["kind"]
    bindings = item.get("bindings", ())
    check.unique((b["id"] for b in bindings), "binding", iid, "bindings")
    if item.get("fill_from_evidence") and not bindings:
        check.add(iid, "fill_from_evidence", "an item filled from evidence needs 'bindings'")
    if bindings and kind == "multi_part":
        check.add(iid, "bindings", "bindings suggest one answer; bind the parts as separate items instead")
        return
    options = [o["id"] for o in item.get("options", ())]
    for n, binding in enumerate(bindings):
        key = f"bindings[{n}]"
        if ("when" in binding) == ("over" in binding):
            check.add(iid, key, "a binding needs either 'when' (a condition) or 'over' (records) with 'where'")
        for extra in ("where", "match"):
            if extra in binding and "over" not in binding:
                check.add(iid, f"{key}.{extra}", f"{extra!r} only works with 'over'")
        if ("suggests" in binding) == ("value" in binding):
            check.add(iid, key, "a binding needs either 'suggests' (an answer) or 'value' (an expression)")
        for field in ("when", "over", "value"):
            if field in binding:
                check.expression(binding[field], RESULT_KEYS, "results key", iid, f"{key}.{field}")
        if "where" in binding:
            check.expression(binding["where"], None, "", iid, f"{key}.where")
        if "suggests" in binding:
            _check_suggestion(check, iid, kind, options, binding["suggests"], f"{key}.suggests")


def _check_suggestion(check: _Checker, iid: str, kind: str, options: list[str], value: Any, key: str) -> None:
    if kind in CHOICE_KINDS and isinstance(value, (str, list)) and value:
        # A list for a single choice means "one of these": the evidence rules out the others.
        for option in [value] if isinstance(value, str) else value:
            check.known(str(option), options, "option", iid, key)
    elif kind == "attestation" and isinstance(value, bool):
        pass
    elif kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        pass
    elif kind == "text" and isinstance(value, str):
        pass
    else:
        check.add(iid, key, f"{value!r} cannot answer a {kind} item")


def _check_rules(check: _Checker, data: Mapping, item_ids: list[str], rights: list[str]) -> None:
    parts = {f"{item['id']}.{p['id']}" for _, item in items_of(data) for p in item.get("parts", ())}
    for n, flag in enumerate(data.get("red_flags", ())):
        if "when" in flag:
            check.expression(flag["when"], item_ids, "item", None, f"red_flags[{n}].when")
        for right in flag.get("rights", ()):
            check.known(right, rights, "right", None, f"red_flags[{n}].rights")
    for n, gate in enumerate(data.get("gates", ())):
        check.expression(gate["when"], item_ids, "item", None, f"gates[{n}].when")
        for required in gate["requires"]:
            check.known(required, sorted(set(item_ids) | parts), "item", None, f"gates[{n}].requires")


def _check_coverage(check: _Checker, data: Mapping, items: list[Mapping], schemes: list[str]) -> None:
    for n, coverage in enumerate(data.get("coverage", ())):
        if not check.known(coverage["scheme"], schemes, "reference scheme", None, f"coverage[{n}].scheme"):
            continue
        cited = {ref for item in items for ref in item.get("refs", {}).get(coverage["scheme"], ())}
        for element in coverage["elements"]:
            if element["ref"] not in cited:
                check.add(None, f"coverage[{n}].elements", f"element {element['ref']!r} is not cited by any item's "
                                                           f"refs.{coverage['scheme']}; coverage could never be met")


def _text_maps(value: Any, path: list[Any]) -> Iterable[tuple[list[Any], Mapping]]:
    if isinstance(value, Mapping):
        if value and "en" in value and all(isinstance(k, str) and _LANG_KEY.match(k) for k in value):
            yield path, value
            return
        for key, inner in value.items():
            yield from _text_maps(inner, [*path, key])
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            yield from _text_maps(inner, [*path, n])


def _check_languages(check: _Checker, data: Mapping) -> None:
    wanted = list(data.get("languages", ("en", "nl")))
    for path, text in _text_maps(data, []):
        item, inner = locate(data, path)
        for lang in wanted:
            if not str(text.get(lang, "")).strip():
                check.add(item, path_text([*inner, lang]), f"missing the {lang!r} text; the instrument declares "
                                                           f"the languages {list_values(wanted)}")


# ---------------------------------------------------------------- assessments


def assessment_problems(data: Any, instrument: Mapping, file: str) -> list[Problem]:
    """Every problem in an assessment: the schema, then its fit with ``instrument``."""
    problems = schema_problems(data, "assessment", file)
    if problems:
        return problems
    check = _Checker(file)
    meta = data["instrument"]
    if meta["id"] != instrument["id"]:
        check.add(None, "instrument.id", f"the assessment answers {meta['id']!r} but the instrument is "
                                         f"{instrument['id']!r}")
    elif meta["version"] != instrument["version"]:
        check.add(None, "instrument.version", f"the assessment was written for version {meta['version']} of "
                                              f"{instrument['id']!r} but version {instrument['version']} is loaded; "
                                              "load the matching instrument file with --instrument")
    items = {item["id"]: item for _, item in items_of(instrument)}
    for iid, answer in data["answers"].items():
        if not check.known(str(iid), list(items), "item", str(iid), None) or not answer:
            continue
        item = items[iid]
        if answer.get("value") is not None:
            _check_value(check, item, answer["value"])
        kinds = item.get("evidence", {}).get("kinds")
        for n, ref in enumerate(answer.get("evidence", ())):
            kind = next((k for k in ("finding", "metric", "document") if k in ref), None)
            if kind is None:
                check.add(iid, f"evidence[{n}]", "a reference needs 'finding', 'metric' or 'document'")
            elif sum(k in ref for k in ("finding", "metric", "document")) > 1:
                check.add(iid, f"evidence[{n}]", "give one of 'finding', 'metric' or 'document' per reference")
            elif kinds and kind not in kinds:
                check.add(iid, f"evidence[{n}].{kind}", f"this item takes {list_values(kinds)} as evidence")
    return check.problems


def _check_value(check: _Checker, item: Mapping, value: Any) -> None:
    iid = item["id"]
    if item["kind"] != "multi_part":
        _check_question_value(check, iid, item, value, "value")
        return
    if not isinstance(value, Mapping):
        check.add(iid, "value", f"expected a mapping of part ids ({list_values(p['id'] for p in item['parts'])}), "
                                f"got {value!r}")
        return
    parts = {p["id"]: p for p in item["parts"]}
    for pid, part_value in value.items():
        if check.known(str(pid), list(parts), "part", iid, f"value.{pid}") and part_value is not None:
            _check_question_value(check, iid, parts[pid], part_value, f"value.{pid}")


def _check_question_value(check: _Checker, iid: str, question: Mapping, value: Any, key: str) -> None:
    kind = question["kind"]
    options = [o["id"] for o in question.get("options", ())]
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "single_choice":
        if isinstance(value, str):
            check.known(value, options, "option", iid, key)
        else:
            check.add(iid, key, f"expected one option id of {list_values(options)}, got {value!r}")
    elif kind == "multiple_choice":
        if not isinstance(value, list):
            check.add(iid, key, f"expected a list of option ids, e.g. [{options[0]}], got {value!r}")
            return
        for option in value:
            check.known(str(option), options, "option", iid, key)
        check.unique((str(v) for v in value), "option", iid, key)
    elif kind == "number":
        if not is_number:
            check.add(iid, key, f"expected a number, got {value!r}")
        elif value < question.get("min", value) or value > question.get("max", value):
            check.add(iid, key, f"{value} is outside {question.get('min', '-inf')}..{question.get('max', 'inf')}")
    elif kind == "attestation" and not isinstance(value, bool):
        check.add(iid, key, f"expected true (attested) or false, got {value!r}")
    elif kind == "text" and not isinstance(value, str):
        check.add(iid, key, f"expected text, got {value!r}")
