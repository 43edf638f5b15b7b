"""The YAML form of a published model specification: linear/logistic, scorecard, rule list.

Every key is checked: unknown keys get "Did you mean …?", bands that overlap or leave gaps are named,
weights must be finite numbers.  YAML anchors and aliases are refused (a few hundred bytes of nested
aliases can expand to gigabytes).
"""

from __future__ import annotations

import math
from typing import Any

from .._text import did_you_mean, list_values
from ..exceptions import InputDataError
from ._spec import (INTERCEPT, KINDS, LINKS, OPERATORS, TRANSFORMS, Bands, Condition, Levels, ModelSpec, Numeric,
                    Rule, _number)

__all__ = ["parse_yaml_spec"]

_TOP = {"linear": {"kind", "title", "link", "intercept", "terms"},
        "scorecard": {"kind", "title", "base_points", "cutoff", "terms"},
        "rules": {"kind", "title", "rules", "default"}}
_TERM = {"variable", "weight", "points", "transform", "cap", "missing", "levels", "reference", "bands"}
_MAX_ITEMS = 10_000


def _load(text: str, label: str) -> Any:
    import yaml

    from .._yaml import YamlLimitError, load_yaml

    try:
        return load_yaml(text, aliases=False)
    except YamlLimitError as err:
        raise InputDataError(f"{label!r} {err} {err.fix}".rstrip()) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise InputDataError(f"{label!r}{where}: not valid YAML ({getattr(err, 'problem', None) or err}).") from None


def parse_yaml_spec(text: str, label: str, link: str | None) -> ModelSpec:
    """A :class:`ModelSpec` from the YAML text of ``label``; ``link`` (``--link``) must agree with the file."""
    data = _load(text, label)
    if not isinstance(data, dict):
        raise InputDataError(f"Model specification {label!r} must be a YAML mapping with a 'kind' key "
                             f"({list_values(KINDS)}); got {type(data).__name__}.")
    kind = data.get("kind")
    if kind not in KINDS:
        raise InputDataError(f"{label!r}: 'kind' must be one of {list_values(KINDS)}; got {kind!r}."
                             f"{did_you_mean(str(kind), KINDS)}")
    family = "linear" if kind == "logistic" else kind
    _known(data, _TOP[family] | ({"link"} if kind == "logistic" else set()), label, "")
    own_link = "logistic" if kind == "logistic" else data.get("link", "identity" if family != "linear" else None)
    if family == "linear" and own_link is None:
        own_link = link
    if own_link not in LINKS:
        raise InputDataError(f"{label!r}: 'link' must be one of {list_values(LINKS)}; got {own_link!r}. Say how "
                             "the weighted sum becomes the score (logistic: a probability; identity: the sum).")
    if link is not None and link != own_link:
        raise InputDataError(f"--link {link} contradicts {label!r}, whose link is {own_link!r}; drop --link.")
    title = data.get("title")
    if title is not None and not isinstance(title, str):
        raise InputDataError(f"{label!r}: 'title' must be text; got {title!r}.")
    if family == "rules":
        rules, default = _rules(data, label)
        return ModelSpec("rules", "identity", label, rules=rules, default_flag=default, title=title)
    weight_key = "points" if family == "scorecard" else "weight"
    terms = _terms(data.get("terms"), label, weight_key)
    if family == "scorecard":
        cutoff = data.get("cutoff")
        cutoff = None if cutoff is None else _number(cutoff, f"{label!r} 'cutoff'", "cut-off")
        base = _number(data.get("base_points", 0), f"{label!r} 'base_points'", "base points")
        return ModelSpec("scorecard", "identity", label, base, terms, cutoff=cutoff, title=title)
    intercept = _number(data.get("intercept", 0), f"{label!r} 'intercept'", "intercept")
    notes = () if "intercept" in data else (f"{label!r} gives no intercept; it was taken as 0.",)
    return ModelSpec("linear", own_link, label, intercept, terms, title=title, notes=notes)


def _known(item: dict, allowed: set[str], label: str, where: str) -> None:
    for key in item:
        if key not in allowed:
            raise InputDataError(f"{label!r}{where}: unknown key {key!r}.{did_you_mean(str(key), allowed)} "
                                 f"Allowed here: {list_values(sorted(allowed))}.")


def _terms(items: Any, label: str, weight_key: str) -> tuple[Numeric | Levels | Bands, ...]:
    if not isinstance(items, list) or not items:
        raise InputDataError(f"{label!r}: 'terms' must be a list with one entry per variable; got {items!r}.")
    if len(items) > _MAX_ITEMS:
        raise InputDataError(f"{label!r}: {len(items):,} terms; at most {_MAX_ITEMS:,}.")
    terms, seen = [], set()
    for i, item in enumerate(items, start=1):
        where = f" term {i}"
        if not isinstance(item, dict) or not isinstance(item.get("variable"), str) or not item["variable"].strip():
            raise InputDataError(f"{label!r}{where}: each term is a mapping with a 'variable' (a data column); "
                                 f"got {item!r}.")
        _known(item, _TERM, label, where)
        name = item["variable"]
        where = f" term {i} ({name!r})"
        if name == INTERCEPT:
            raise InputDataError(f"{label!r}{where}: give the intercept as the top-level 'intercept' key.")
        if name in seen:
            raise InputDataError(f"{label!r}{where}: the variable {name!r} has two terms; give it one.")
        seen.add(name)
        missing = item.get("missing")
        missing = None if missing is None else _number(missing, f"{label!r}{where} 'missing'", "weight of a blank")
        forms = [k for k in ("levels", "bands", weight_key) if k in item]
        if len(forms) != 1:
            raise InputDataError(f"{label!r}{where}: give exactly one of 'levels' (a weight per category), 'bands' "
                                 f"(a weight per range) or {weight_key!r} (per unit); got {list_values(forms) or 'none'}.")
        if "levels" in item:
            terms.append(_levels(item, label, where, weight_key, missing))
        elif "bands" in item:
            terms.append(Bands(name, _bands(item["bands"], label, where, weight_key), missing))
        else:
            terms.append(_numeric(item, label, where, weight_key, missing))
    return tuple(terms)


def _numeric(item: dict, label: str, where: str, weight_key: str, missing: float | None) -> Numeric:
    weight = _number(item[weight_key], f"{label!r}{where}", weight_key)
    transform = item.get("transform")
    if transform is not None and transform not in TRANSFORMS:
        raise InputDataError(f"{label!r}{where}: 'transform' must be one of {list_values(TRANSFORMS)}; got "
                             f"{transform!r}.{did_you_mean(str(transform), TRANSFORMS)}")
    cap = item.get("cap")
    if cap is not None:
        if not isinstance(cap, list) or len(cap) != 2:
            raise InputDataError(f"{label!r}{where}: 'cap' is [low, high] (null for no bound); got {cap!r}.")
        low, high = (None if c is None else _number(c, f"{label!r}{where} 'cap'", "bound") for c in cap)
        if low is not None and high is not None and low > high:
            raise InputDataError(f"{label!r}{where}: 'cap' [{low:g}, {high:g}] has its low bound above its high one.")
        cap = (low, high)
    return Numeric(item["variable"], weight, transform, cap, missing)


def _levels(item: dict, label: str, where: str, weight_key: str, missing: float | None) -> Levels:
    levels = item["levels"]
    if not isinstance(levels, dict) or not levels or len(levels) > _MAX_ITEMS:
        raise InputDataError(f"{label!r}{where}: 'levels' maps each category to its {weight_key}; got {levels!r}.")
    weights = tuple((str(k), _number(v, f"{label!r}{where} level {k!r}", weight_key)) for k, v in levels.items())
    reference = item.get("reference")
    if reference is not None:
        reference = str(reference)
        if reference in levels and float(levels[reference]) != 0.0:
            raise InputDataError(f"{label!r}{where}: the reference level {reference!r} has {weight_key} "
                                 f"{levels[reference]}; a reference level weighs 0 (leave it out of 'levels').")
    return Levels(item["variable"], weights, reference, missing)


def _bands(items: Any, label: str, where: str, weight_key: str) -> tuple[tuple[float, float, float], ...]:
    if not isinstance(items, list) or not items or len(items) > _MAX_ITEMS:
        raise InputDataError(f"{label!r}{where}: 'bands' is a list of {{from, to, {weight_key}}}; got {items!r}.")
    bands = []
    for j, band in enumerate(items, start=1):
        if not isinstance(band, dict) or set(band) - {"from", "to", weight_key} or weight_key not in band:
            raise InputDataError(f"{label!r}{where} band {j}: expected {{from: LOW, to: HIGH, {weight_key}: N}} "
                                 f"(from inclusive, to exclusive, null for open); got {band!r}.")
        low = -math.inf if band.get("from") is None else _number(band["from"], f"{label!r}{where} band {j}", "from")
        high = math.inf if band.get("to") is None else _number(band["to"], f"{label!r}{where} band {j}", "to")
        if not low < high:
            raise InputDataError(f"{label!r}{where} band {j}: 'from' ({_show(low)}) must be below 'to' ({_show(high)}).")
        bands.append((low, high, _number(band[weight_key], f"{label!r}{where} band {j}", weight_key)))
    bands.sort()
    for (l1, h1, _), (l2, h2, _) in zip(bands, bands[1:]):
        if h1 > l2:
            raise InputDataError(f"{label!r}{where}: bands [{_show(l1)}, {_show(h1)}) and [{_show(l2)}, {_show(h2)}) "
                                 "overlap; each value must fall in one band.")
        if h1 < l2:
            raise InputDataError(f"{label!r}{where}: bands [{_show(l1)}, {_show(h1)}) and [{_show(l2)}, {_show(h2)}) "
                                 f"leave a gap: values from {_show(h1)} up to {_show(l2)} fall in no band.")
    return tuple(bands)


def _show(x: float) -> str:
    return "-inf" if x == -math.inf else "inf" if x == math.inf else f"{x:g}"


def _rules(data: dict, label: str) -> tuple[tuple[Rule, ...], bool]:
    items = data.get("rules")
    if not isinstance(items, list) or not items or len(items) > _MAX_ITEMS:
        raise InputDataError(f"{label!r}: 'rules' is a list of {{name, if: [conditions], then: flag|no flag}}; "
                             f"got {items!r}.")
    rules = []
    for i, item in enumerate(items, start=1):
        where = f" rule {i}"
        if not isinstance(item, dict):
            raise InputDataError(f"{label!r}{where}: a rule is a mapping {{name, if, then}}; got {item!r}.")
        _known(item, {"name", "if", "then"}, label, where)
        conds = item.get("if")
        if isinstance(conds, dict):
            conds = [conds]
        if not isinstance(conds, list) or not conds:
            raise InputDataError(f"{label!r}{where}: 'if' is a list of conditions {{column, op, value}}; got {conds!r}.")
        rules.append(Rule(str(item.get("name", f"rule {i}")), tuple(_condition(c, label, where) for c in conds),
                          _flag(item.get("then"), label, where + " 'then'")))
    return tuple(rules), _flag(data.get("default", "no flag"), label, " 'default'")


def _flag(value: Any, label: str, where: str) -> bool:
    if value in (True, "flag", "flagged", "select", "selected"):
        return True
    if value in (False, "no flag", "not flagged", "not selected"):
        return False
    raise InputDataError(f"{label!r}{where}: expected 'flag' or 'no flag'; got {value!r}.")


def _condition(cond: Any, label: str, where: str) -> Condition:
    if not isinstance(cond, dict) or not isinstance(cond.get("column"), str):
        raise InputDataError(f"{label!r}{where}: a condition is {{column: NAME, op: OPERATOR, value: V}}; got {cond!r}.")
    _known(cond, {"column", "op", "value"}, label, where)
    op = cond.get("op", "==")
    if op not in OPERATORS:
        raise InputDataError(f"{label!r}{where}: 'op' must be one of {list_values(OPERATORS)}; got {op!r}."
                             f"{did_you_mean(str(op), OPERATORS)}")
    value = cond.get("value")
    if op in ("missing", "not missing"):
        if value is not None:
            raise InputDataError(f"{label!r}{where}: op {op!r} takes no value; got {value!r}.")
    elif op in ("in", "not in"):
        if not isinstance(value, list) or not value:
            raise InputDataError(f"{label!r}{where}: op {op!r} takes a list of values; got {value!r}.")
        value = tuple(value)
    elif op in ("<", "<=", ">", ">="):
        value = _number(value, f"{label!r}{where}", "value")
    elif value is None or isinstance(value, (list, dict)):
        raise InputDataError(f"{label!r}{where}: op {op!r} takes one value; got {value!r}.")
    return Condition(cond["column"], op, value)
