"""Findings: template rules turn measurements into plain, exact, citable statements.

A rule (from the audit template) names the records it applies to
(``comparisons`` by default, or ``selection_method``), a condition in
auditkit's safe expression language (:mod:`auditkit.expr`), a severity, a
statement and a recommendation in English and Dutch with placeholders, and
the rights and provisions concerned.  Each matching record becomes a finding
whose id is a hash of the rule and the record's identity, so the same finding
keeps its id when the audit is re-run.

Findings never overstate: records whose status is ``insufficient_evidence``
get their own finding kind instead of a rule's verdict; a stratified analysis
that reverses the crude one is said so; a screening band is labelled as such;
and every finding states its population.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from .exceptions import TemplateError
from .expr import parse

__all__ = ["LANGUAGES", "build_findings", "finding_id"]

LANGUAGES = ("en", "nl")
_SEVERITIES = ("info", "low", "medium", "high", "critical")


def finding_id(*parts: str) -> str:
    """Stable id: the same rule on the same attribute, group, reference and metric gives the same id.

    >>> finding_id("selection-rate-disparity", "nationality", "non-EU", "Dutch", "selection_rate")
    'F-6825f01a'
    """
    return "F-" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:8]


def _number(x: float | None, lang: str, digits: int = 2) -> str:
    if x is None:
        return "?"
    text = f"{x:,.{digits}f}"
    return text.translate(str.maketrans(",.", ".,")) if lang == "nl" else text


def _count(n: int | None, lang: str) -> str:
    if n is None:
        return "?"
    text = f"{n:,d}"
    return text.replace(",", ".") if lang == "nl" else text


def _pct(x: float | None, lang: str) -> str:
    return "?" if x is None else _number(100 * x, lang, 1) + "%"


def _p(p: float | None, lang: str) -> str:
    """A p-value as published: four decimals, and '< 0.0001' rather than a misleading 0.0000."""
    if p is not None and p < 0.0001:
        return "< " + _number(0.0001, lang, 4)
    return _number(p, lang, 4)


def _values(rec: Mapping[str, Any], results: Mapping[str, Any], lang: str) -> dict[str, str]:
    """Placeholder values for one comparison record, formatted for ``lang``."""
    g, r = rec.get("group_rate") or {}, rec.get("reference_rate") or {}
    ratio_ci = rec.get("ratio_ci") or [None, None]
    between = {"en": "between {} and {}", "nl": "tussen {} en {}"}[lang]
    if rec.get("ratio") is None and rec.get("ratio_bounds"):
        ratio = between.format(*(_number(b, lang) for b in rec["ratio_bounds"]))
    else:
        ratio = _number(rec.get("ratio"), lang)
    diff = rec.get("difference")
    level = results.get("parameters", {}).get("level", 0.95)
    return {
        "attribute": str(rec.get("attribute", "")), "group": str(rec.get("group", "")),
        "reference": str(rec.get("reference", "")), "metric": str(rec.get("metric", "")),
        "ratio": ratio, "ratio_ci_low": _number(ratio_ci[0], lang), "ratio_ci_high": _number(ratio_ci[1], lang),
        "difference_pp": _number(None if diff is None else 100 * diff, lang, 1),
        "group_rate": _pct(g.get("value"), lang), "reference_rate": _pct(r.get("value"), lang),
        "n_group": _count(g.get("denominator"), lang), "n_reference": _count(r.get("denominator"), lang),
        "level": f"{100 * level:g}", "p_holm": _p(rec.get("p_holm"), lang),
    }


def _format(template: str, values: Mapping[str, str], rule: str) -> str:
    fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    unknown = sorted(fields - set(values))
    if unknown:
        from ._text import did_you_mean

        raise TemplateError(f"Finding rule {rule!r}: unknown placeholder {{{unknown[0]}}}."
                            f"{did_you_mean(unknown[0], values)} Placeholders: {', '.join(sorted(values))}.")
    # A p-value below 0.0001 reads '< 0.0001'; a statement written 'p = {p_holm}' must then say
    # 'p < 0.0001', not 'p = < 0.0001'.
    return re.sub(r"=\s*<\s", "< ", template.format(**values))


def _population(results: Mapping[str, Any], lang: str) -> str:
    pop = results.get("population", {})
    n = pop.get("rows_audited", pop.get("people"))
    steps = "; ".join(s["step"] for s in pop.get("filters", []))
    text = {"en": f"{_count(n, lang)} cases in {pop.get('source')}", "nl": f"{_count(n, lang)} gevallen in "
            f"{pop.get('source')}"}[lang]
    return text + (f" ({steps})" if steps else "")


def _check_rule(rule: Mapping[str, Any]) -> None:
    for key in ("id", "when", "statement"):
        if key not in rule:
            raise TemplateError(f"Finding rule {rule.get('id', '?')!r} has no {key!r}.")
    if rule.get("severity", "medium") not in _SEVERITIES:
        raise TemplateError(f"Finding rule {rule['id']!r}: severity must be one of {', '.join(_SEVERITIES)}; "
                            f"got {rule.get('severity')!r}.")
    missing = [lang for lang in LANGUAGES if lang not in rule["statement"]]
    if missing:
        raise TemplateError(f"Finding rule {rule['id']!r}: the statement has no {missing[0]!r} text.")


def _finding(rule: Mapping[str, Any], rec: Mapping[str, Any], results: Mapping[str, Any], kind: str,
             evidence: str) -> dict:
    texts = {lang: _values(rec, results, lang) for lang in LANGUAGES}
    out = {
        "id": finding_id(rule["id"], str(rec.get("attribute")), str(rec.get("group")), str(rec.get("reference")),
                         str(rec.get("metric", rule.get("applies_to", "")))),
        "rule": rule["id"], "kind": kind, "severity": rule.get("severity", "medium"),
        "statement": {lang: _format(rule["statement"][lang], texts[lang], rule["id"]) for lang in LANGUAGES},
        "recommendation": {lang: _format(rule.get("recommendation", {}).get(lang, ""), texts[lang], rule["id"])
                           for lang in LANGUAGES},
        "population": {lang: _population(results, lang) for lang in LANGUAGES},
        "evidence": [evidence], "rights": list(rule.get("rights", [])),
        "provisions": list(rule.get("provisions", [])),
    }
    band = rec.get("screening_band")
    if band and band.get("ratio_outside"):
        out["screening_band"] = band["name"]
    return out


def _records(results: Mapping[str, Any], applies_to: str) -> list[tuple[dict, str]]:
    if applies_to == "comparisons":
        return [(c, f"comparisons/{c['attribute']}/{c['group']}/{c['metric']}") for c in results.get("comparisons", [])]
    if applies_to == "selection_method":
        out = []
        for m in results.get("selection_method", []):
            for key in ("share_comparison", "hit_rate_comparison"):
                rec = {**m[key], "attribute": m["attribute"], "group": m["group"], "metric": key,
                       "reference": "random sample"}
                out.append((rec, f"selection_method/{m['attribute']}/{m['group']}/{key}"))
        return out
    raise TemplateError(f"Finding rules apply to 'comparisons' or 'selection_method'; got {applies_to!r}.")


def build_findings(results: Mapping[str, Any], rules: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Findings for ``results`` from template ``rules``, plus the cautions no rule may drop.

    Records with ``insufficient_evidence`` never match a rule; selection-rate
    comparisons in that state get an ``insufficient_evidence`` finding.
    Reversals between crude and stratified results get a ``stratified_reversal`` finding.
    """
    findings: list[dict] = []
    for rule in rules:
        _check_rule(rule)
        condition = parse(rule["when"])
        for rec, evidence in _records(results, rule.get("applies_to", "comparisons")):
            if rec.get("status") in ("insufficient_evidence", "undefined"):
                continue
            if condition.evaluate(rec) is True:
                findings.append(_finding(rule, rec, results, "disparity", evidence))
    findings += _cautions(results)
    order = {s: i for i, s in enumerate(reversed(_SEVERITIES))}
    return sorted(findings, key=lambda f: (order[f["severity"]], f["kind"], f["id"]))


# Cautions that hold whatever the template says: written as rules so they format like any other.
_INSUFFICIENT = {
    "id": "insufficient-evidence", "severity": "info", "when": "true",
    "statement": {
        "en": "There is not enough data to compare {group} with {reference} ({attribute}): {n_group} and "
              "{n_reference} cases, below the minimum group size. This is not evidence of equal treatment.",
        "nl": "Er zijn te weinig gegevens om {group} met {reference} te vergelijken ({attribute}): {n_group} en "
              "{n_reference} gevallen, minder dan de minimale groepsgrootte. Dit is geen bewijs van gelijke "
              "behandeling."},
    "recommendation": {"en": "Obtain data on more cases, or published counts for this group, before drawing "
                             "conclusions.",
                       "nl": "Vraag gegevens over meer gevallen op, of gepubliceerde aantallen voor deze groep, "
                             "voordat u conclusies trekt."},
}
_REVERSAL = {
    "id": "stratified-reversal", "severity": "medium", "when": "true",
    "statement": {
        "en": "For {group} against {reference} ({attribute}), the comparison within strata points the other way "
              "from the overall comparison (Simpson's paradox): both must be reported, with the choice of strata.",
        "nl": "Voor {group} ten opzichte van {reference} ({attribute}) wijst de vergelijking binnen strata de "
              "andere kant op dan de totale vergelijking (Simpsons paradox): rapporteer beide, met de keuze van "
              "de strata."},
    "recommendation": {"en": "Ask whether the strata are legitimate factors; conditioning is a normative choice.",
                       "nl": "Ga na of de strata legitieme factoren zijn; conditioneren is een normatieve keuze."},
}


def _cautions(results: Mapping[str, Any]) -> list[dict]:
    out = []
    for c in results.get("comparisons", []):
        if c.get("status") == "insufficient_evidence" and c.get("metric") == "selection_rate":
            out.append(_finding(_INSUFFICIENT, c, results, "insufficient_evidence",
                                f"comparisons/{c['attribute']}/{c['group']}/{c['metric']}"))
    for s in results.get("stratified", []):
        if s.get("direction_reversed"):
            rec = {**s, "metric": "stratified"}
            out.append(_finding(_REVERSAL, rec, results, "stratified_reversal",
                                f"stratified/{s['attribute']}/{s['group']}"))
    return out
