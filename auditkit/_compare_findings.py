"""Findings about change: between two model versions on the same people, and between two audits.

They follow the rules of :mod:`auditkit.findings`: a stable id (a hash of the rule and the record's
identity), a severity, a statement with the number and its interval in English and Dutch (and in every
other language whose catalog has the text; otherwise ``lang_fallback`` says so), the evidence path.
They never overstate: "changed" only where the adjusted test says so, and "no change detected" always
with the interval of changes the data cannot rule out.  The texts live in the locale catalog
(``compare.*`` and ``model_compare.*``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["comparison_findings", "direction", "model_comparison_findings"]

_PARTS = ("statement", "recommendation", "population")


def direction(ratio_a: float, ratio_b: float) -> str:
    """'grew', 'shrank' or 'reversed': the disparity's distance from 1 (on the log scale), and its side.

    >>> direction(4.55, 2.10), direction(2.0, 3.0), direction(1.5, 0.5)
    ('shrank', 'grew', 'reversed')
    """
    if not (ratio_a and ratio_b and ratio_a > 0 and ratio_b > 0):  # a ratio of 0 (zero-corrected in the test)
        return "grew" if (ratio_b or 0) > (ratio_a or 0) else "shrank"
    la, lb = math.log(ratio_a), math.log(ratio_b)
    if la * lb < 0:
        return "reversed"
    return "shrank" if abs(lb) < abs(la) else "grew"


def _locale(lang: str) -> Any:
    from .locale import LocaleError, load_locale

    try:
        return load_locale(lang)
    except LocaleError:
        return None


def _texts(parts: Mapping[str, tuple[str, Callable[[Any], dict[str, str]]]], languages: Sequence[str]
           ) -> tuple[dict[str, dict[str, str]], dict[str, list[str]]]:
    """Each part's text per language; a language without its own text for a part is listed as falling back."""
    out: dict[str, dict[str, str]] = {part: {} for part in _PARTS}
    fallback: dict[str, list[str]] = {}
    for lang in languages:
        loc = _locale(lang)
        for part in _PARTS:
            key, values = parts[part]
            if loc is not None and key in loc.messages:
                out[part][lang] = loc.t(key, **values(loc))
            else:
                fallback.setdefault(lang, []).append(part)
    return out, fallback


def _finding(rule: str, identity: Sequence[str], kind: str, severity: str, evidence: str,
             parts: Mapping[str, tuple[str, Callable[[Any], dict[str, str]]]], languages: Sequence[str]) -> dict:
    from .findings import finding_id

    texts, fallback = _texts(parts, languages)
    out = {"id": finding_id(rule, *identity), "rule": rule, "kind": kind, "severity": severity,
           "statement": texts["statement"], "recommendation": texts["recommendation"],
           "population": texts["population"], "evidence": [evidence], "rights": [], "provisions": []}
    if fallback:
        out["lang_fallback"] = fallback
    return out


def _level(loc: Any, level: float) -> str:
    return loc.percent(level, 0 if round(level * 100, 6) == round(level * 100) else 1)


# -- two model versions on the same people (assess --compare-model) -------------------------------------------


def _population(results: Mapping[str, Any]) -> tuple[str, Callable[[Any], dict[str, str]]]:
    mc = results["model_comparison"]
    source = str((results.get("input") or {}).get("source") or (results.get("population") or {}).get("source", "?"))
    return "doc.population_rows", lambda loc: {"n": loc.integer(mc["rows"]), "source": source}


def _names(labels: Mapping[str, Any], rec: Mapping[str, Any], lang: str) -> dict[str, str]:
    """The record's attribute, group and reference as the template labels them in ``lang``."""
    from .locale import label

    attribute = str(rec["attribute"])
    reference = rec.get("reference")
    return {"attribute": label(labels, attribute, lang=lang), "group": label(labels, attribute, rec["group"], lang=lang),
            "reference": "" if reference in (None, "") else label(labels, attribute, reference, lang=lang)}


def _model_values(results: Mapping[str, Any], mc: Mapping[str, Any], rec: Mapping[str, Any]
                  ) -> Callable[[Any], dict[str, str]]:
    def values(loc: Any) -> dict[str, str]:
        method = mc["method"]
        ci = rec.get("ratio_of_ratios_ci") or [None, None]
        change = rec.get("change")
        return {"model_a": str(mc["model_a"]["file"]), "model_b": str(mc["model_b"]["file"]),
                "n": loc.integer(mc["rows"]), **_names(results, rec, loc.code), "ratio_a": loc.number(rec.get("ratio_a")),
                "ratio_b": loc.number(rec.get("ratio_b")), "rr": loc.number(rec.get("ratio_of_ratios")),
                "low": loc.number(ci[0]), "high": loc.number(ci[1]), "level": _level(loc, method["level"]),
                "p": loc.p_value(rec.get("p_adjusted")),
                "direction": loc.t(f"compare.direction.{direction(rec['ratio_a'], rec['ratio_b'])}")
                if change == "ratio_changed" else "",
                "rate_a": loc.percent(rec.get("rate_a")), "rate_b": loc.percent(rec.get("rate_b")),
                "a_only": loc.integer(rec.get("selected_a_only")), "b_only": loc.integer(rec.get("selected_b_only"))}
    return values


def model_comparison_findings(results: Mapping[str, Any], languages: Sequence[str] = ("en", "nl")) -> list[dict]:
    """Findings of ``results["model_comparison"]`` (none without one): a change in a disparity or in a group's
    rate where the adjusted test shows it, and "no change detected" with its interval otherwise."""
    mc = results.get("model_comparison")
    if not isinstance(mc, Mapping):
        return []
    out = []
    population = _population(results)
    for d in mc.get("disparities") or []:
        if d.get("change") not in ("ratio_changed", "no_change_detected", "no_decision_changed"):
            continue
        changed = d["change"] == "ratio_changed"
        values = _model_values(results, mc, d)
        parts = {"statement": ("model_compare.finding_ratio_changed" if changed else "model_compare.finding_no_change",
                               values),
                 "recommendation": ("model_compare.recommendation_changed" if changed
                                    else "model_compare.recommendation_unchanged", lambda loc: {}),
                 "population": population}
        out.append(_finding("model-version-disparity-change", [str(d["attribute"]), str(d["group"]),
                                                                str(d["reference"]), "selection_rate"],
                            "model_comparison", "medium" if changed else "info",
                            f"model_comparison/{d['attribute']}/{d['group']}/ratio_of_ratios", parts, languages))
    for g in mc.get("groups") or []:
        if g.get("status") != "rate_changed":
            continue
        parts = {"statement": ("model_compare.finding_rate_changed", _model_values(results, mc, g)),
                 "recommendation": ("model_compare.recommendation_changed", lambda loc: {}),
                 "population": population}
        out.append(_finding("model-version-rate-change", [str(g["attribute"]), str(g["group"]), "", "selection_rate"],
                            "model_comparison", "low", f"model_comparison/{g['attribute']}/{g['group']}/decisions",
                            parts, languages))
    return out


# -- two audits (auditkit compare A B --out) --------------------------------------------------------------------


def _record_values(doc: Mapping[str, Any], rec: Mapping[str, Any]) -> Callable[[Any], dict[str, str]]:
    def values(loc: Any) -> dict[str, str]:
        ci = rec.get("ratio_of_ratios_ci") or [None, None]
        test = "compare.test_same_data" if doc.get("same_data") else "compare.test_independent"
        return {**_names(doc.get("labels") or {}, rec, loc.code), "metric": loc.label("metric", str(rec["metric"])), "ratio_a": loc.number(rec.get("ratio_a")),
                "ratio_b": loc.number(rec.get("ratio_b")), "rr": loc.number(rec.get("ratio_of_ratios")),
                "low": loc.number(ci[0]), "high": loc.number(ci[1]), "level": _level(loc, doc["method"]["level"]),
                "p": loc.p_value(rec.get("p_holm")), "test": loc.t(test),
                "direction": loc.t(f"compare.direction.{direction(rec['ratio_a'], rec['ratio_b'])}")
                if rec.get("change") == "ratio_changed" else ""}
    return values


def comparison_findings(doc: Mapping[str, Any], languages: Sequence[str] = ("en", "nl")) -> list[dict]:
    """Findings of a comparison of two audits (:func:`auditkit.compare.compare_bundles`): the differences in how
    they were made first, then per matched comparison what changed and what did not."""
    population = ("compare.population", lambda loc: {"a": str(doc["a"]["bundle"]), "b": str(doc["b"]["bundle"])})
    out = []
    if doc.get("differences"):
        items = ", ".join(str(d["what"]) for d in doc["differences"])
        parts = {"statement": ("compare.finding_differences", lambda loc: {"items": items}),
                 "recommendation": ("compare.recommendation_differences", lambda loc: {}), "population": population}
        out.append(_finding("comparison-differences", [items], "comparison", "medium", "differences", parts, languages))
    for rec in doc.get("records") or []:
        if rec.get("change") not in ("ratio_changed", "no_change_detected"):
            continue
        changed = rec["change"] == "ratio_changed"
        parts = {"statement": ("compare.finding_changed" if changed else "compare.finding_unchanged",
                               _record_values(doc, rec)),
                 "recommendation": ("compare.recommendation_changed" if changed else
                                    "compare.recommendation_unchanged", lambda loc: {}),
                 "population": population}
        identity = [str(rec.get(k)) for k in ("attribute", "group", "reference", "metric")]
        out.append(_finding("comparison-disparity-change", identity, "comparison", "medium" if changed else "info",
                            "records/" + "/".join(identity), parts, languages))
    order = {"medium": 0, "low": 1, "info": 2}
    return sorted(out, key=lambda f: (order.get(f["severity"], 3), f["id"] if f["rule"] != "comparison-differences"
                                      else ""))
