"""Findings: template rules turn measurements into plain, exact, citable statements.

A rule (from the audit template) names the records it applies to
(``comparisons`` by default, ``selection_method``, or ``stages``: the comparison
at each process stage, whose ``{stage}`` placeholder names it), a condition in
auditkit's safe expression language (:mod:`auditkit.expr`), a severity, a
statement and a recommendation per language with placeholders, and the
rights and provisions concerned.  Each matching record becomes a finding
whose id is a hash of the rule and the record's identity, so the same finding
keeps its id when the audit is re-run.

Languages: findings are always written in English and Dutch (every rule must
give both), and also in every other language a rule gives text for or the
caller names (``languages=``, e.g. the template's ``report.language``).  In such
a language numbers follow the ``meta`` of that language's report catalog
(:mod:`auditkit.locale`: ``decimal``, ``group``, ``percent``) and the
population sentence is the catalog's ``doc.population_rows``.  Where a finding
has no text of its own in a requested language (the rule gives none, there is
no catalog for the language, or a placeholder cannot be written in it), that
part is left out for the language, readers show the English text, and the
finding says so: ``"lang_fallback": {"de": ["statement", "population"]}``
lists, per language, the parts that are English only.  The key is absent
when nothing fell back, so English and Dutch-only output is unchanged.

Groups and attributes are named by the template's labels in each language (:func:`auditkit.locale.label`,
read from ``results["template"]``, which a bundle records); ids and evidence paths keep the codes.

Findings never overstate: records whose status is ``insufficient_evidence``
get their own finding kind instead of a rule's verdict; a stratified analysis
that reverses the crude one is said so; a screening band is labelled as such;
and every finding states its population.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._findings_linkage import linkage_findings
from ._placeholders import fields, spec_problem
from .exceptions import TemplateError
from .expr import STEPS_PER_ELEMENT, Budget, ExpressionBudgetError, parse
from .locale._labels import label

__all__ = ["LANGUAGES", "build_findings", "comparison_path", "finding_id", "findings_languages"]

#: Languages every finding is written in; every rule must give text in each.
LANGUAGES = ("en", "nl")
#: The parts of a finding that are text per language, in the order ``lang_fallback`` lists them.
_PARTS = ("statement", "recommendation", "population")
_SEVERITIES = ("info", "low", "medium", "high", "critical")


def finding_id(*parts: str) -> str:
    """Stable id: the same rule on the same attribute, group, reference and metric gives the same id.

    >>> finding_id("selection-rate-disparity", "nationality", "non-EU", "Dutch", "selection_rate")
    'F-6825f01a'
    """
    return "F-" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:8]


# Number conventions (decimal separator, thousands separator, percent pattern).  English and Dutch are
# fixed here so their findings never change with a partner's catalog; any other language takes the
# ``meta`` of its report catalog, and has none (so no text of its own) without one.
_STYLES: dict[str, tuple[str, str, str]] = {"en": (".", ",", "{}%"), "nl": (",", ".", "{}%")}


def _catalog(lang: str) -> Any:
    """The report catalog of ``lang`` (:class:`auditkit.locale.Locale`), or None when there is none."""
    from .locale import LocaleError, load_locale

    try:
        return load_locale(lang)
    except LocaleError:
        return None


def _style(lang: str) -> tuple[str, str, str] | None:
    if lang in _STYLES:
        return _STYLES[lang]
    loc = _catalog(lang)
    return None if loc is None else (loc.meta["decimal"], loc.meta["group"], loc.meta["percent"])


def _swap(text: str, lang: str) -> str:
    decimal, group, _ = _style(lang) or _STYLES["en"]
    return text.translate({ord(","): "\0", ord("."): decimal}).replace("\0", group)


def _number(x: float | None, lang: str, digits: int = 2) -> str:
    if x is None:
        return "?"
    return _swap(f"{x:,.{digits}f}", lang)


def _count(n: int | None, lang: str) -> str:
    if n is None:
        return "?"
    return _swap(f"{n:,d}", lang)


def _pct(x: float | None, lang: str) -> str:
    if x is None:
        return "?"
    return (_style(lang) or _STYLES["en"])[2].format(_number(100 * x, lang, 1))


def _p(p: float | None, lang: str) -> str:
    """A p-value as published: four decimals, and '< 0.0001' rather than a misleading 0.0000."""
    if p is not None and p < 0.0001:
        return "< " + _number(0.0001, lang, 4)
    return _number(p, lang, 4)


def _outward(bounds: Sequence[float], lang: str, digits: int, factor: float = 1.0) -> tuple[str, str]:
    """Both ends of a range, the low end rounded down and the high end up, so the text holds every value
    the source's suppressed cells allow."""
    scale = 10 ** digits
    lo, hi = bounds[0], bounds[1]
    return (_number(None if lo is None else math.floor(lo * factor * scale + 1e-9) / scale, lang, digits),
            _number(None if hi is None else math.ceil(hi * factor * scale - 1e-9) / scale, lang, digits))


def _rate_text(rec: Mapping[str, Any], lang: str) -> str:
    """A rate as a percentage; a range ('12.7%–15.3%') when it rests on suppressed cells."""
    if rec.get("value") is None and rec.get("bounds"):
        pattern = (_style(lang) or _STYLES["en"])[2]
        return "–".join(pattern.format(x) for x in _outward(rec["bounds"], lang, 1, 100))
    return _pct(rec.get("value"), lang)


def _denominator(rec: Mapping[str, Any], lang: str) -> str:
    """A rate's denominator; with suppressed cells the range of the group's count.

    A bounded rate k/(k + c) records k at both ends (numerator, numerator_max) and the denominators of its
    least and largest value (k_low + c_high, k_high + c_low): the count ranges from k_low + c_low to
    k_high + c_high.
    """
    k_lo, k_hi, d_lo, d_hi = (rec.get(x) for x in ("numerator", "numerator_max", "denominator", "denominator_max"))
    if all(isinstance(x, (int, float)) for x in (k_lo, k_hi, d_lo, d_hi)):
        low, high = k_lo + d_hi - k_hi, k_hi + d_lo - k_lo
        if low != high:
            return f"{_count(low, lang)}–{_count(high, lang)}"
    return _count(rec.get("denominator"), lang)


#: The reference of a selection-method record: the random sample, in words per language.
_RANDOM_SAMPLE = {"en": "the random sample", "nl": "de aselecte steekproef"}


def _reference(rec: Mapping[str, Any], results: Mapping[str, Any], lang: str) -> str:
    """The reference group's label; for a selection-method record, the random sample in ``lang``."""
    if rec.get("metric") in ("share_comparison", "hit_rate_comparison") and rec.get("reference") == "random sample":
        loc = None if lang in _RANDOM_SAMPLE else _catalog(lang)
        if loc is not None and loc.has("findings.random_sample"):
            return loc.t("findings.random_sample")
        return _RANDOM_SAMPLE.get(lang, _RANDOM_SAMPLE["en"])
    return label(results, str(rec.get("attribute", "")), rec.get("reference", ""), lang=lang)


def _values(rec: Mapping[str, Any], results: Mapping[str, Any], lang: str) -> dict[str, str | None]:
    """Placeholder values for one comparison record, formatted for ``lang`` (None: not writable in it)."""
    g, r = rec.get("group_rate") or {}, rec.get("reference_rate") or {}
    ratio_ci = rec.get("ratio_ci") or [None, None]
    between = {"en": "between {} and {}", "nl": "tussen {} en {}"}.get(lang)
    ratio: str | None
    if rec.get("ratio") is None and rec.get("ratio_bounds"):
        # A bounded ratio has no wording outside English and Dutch: a text using {ratio} falls back.
        ratio = None if between is None else between.format(*_outward(rec["ratio_bounds"], lang, 2))
    else:
        ratio = _number(rec.get("ratio"), lang)
    diff = rec.get("difference")
    diff_pp = _number(None if diff is None else 100 * diff, lang, 1)
    if diff is None and rec.get("difference_bounds"):
        diff_pp = "–".join(_outward(rec["difference_bounds"], lang, 1, 100))
    level = f"{100 * results.get('parameters', {}).get('level', 0.95):g}"
    attr = str(rec.get("attribute", ""))
    values = {
        "attribute": label(results, attr, lang=lang), "group": label(results, attr, rec.get("group", ""), lang=lang),
        "reference": _reference(rec, results, lang), "metric": str(rec.get("metric", "")),
        "ratio": ratio, "ratio_ci_low": _number(ratio_ci[0], lang), "ratio_ci_high": _number(ratio_ci[1], lang),
        "difference_pp": diff_pp, "group_rate": _rate_text(g, lang), "reference_rate": _rate_text(r, lang),
        "n_group": _denominator(g, lang), "n_reference": _denominator(r, lang),
        "level": level if lang in LANGUAGES else _swap(level, lang), "p_holm": _p(rec.get("p_holm"), lang),
        "min_detectable_ratio": _number(rec.get("min_detectable_ratio"), lang),
        "stage": str(rec.get("stage", "")),
    }
    return values  # type: ignore[return-value]


def _format(template: str, values: Mapping[str, str], rule: str) -> str:
    try:
        found = fields(template)
    except ValueError as err:
        raise TemplateError(f"Finding rule {rule!r}: the text {template!r} has an unmatched brace ({err}); write "
                            "{{ and }} for a literal brace.") from None
    for field, conversion, spec in found:
        if problem := spec_problem(field, conversion, spec):
            raise TemplateError(f"Finding rule {rule!r}: {problem} Write the placeholder as {{{field}}}.")
    unknown = sorted({f for f, _, _ in found} - set(values))
    if unknown:
        from ._text import did_you_mean

        raise TemplateError(f"Finding rule {rule!r}: unknown placeholder {{{unknown[0]}}}."
                            f"{did_you_mean(unknown[0], values)} Placeholders: {', '.join(sorted(values))}.")
    # A p-value below 0.0001 reads '< 0.0001'; a statement written 'p = {p_holm}' must then say
    # 'p < 0.0001', not 'p = < 0.0001'.
    return re.sub(r"=\s*<\s", "< ", template.format(**values))


def _population(results: Mapping[str, Any], lang: str) -> str | None:
    """The population sentence in ``lang``; None when it cannot be written in it (no catalog message)."""
    pop = results.get("population", {})
    n = pop.get("people", pop.get("rows_audited"))  # with --person the rows are stages; people are counted
    people = _count(n, lang)
    if pop.get("people_bounds"):  # suppressed cells: a range of people
        people = "–".join(_count(x, lang) for x in pop["people_bounds"])
    steps = "; ".join(s["step"] for s in pop.get("filters", []))
    if lang == "en":
        text = f"{people} cases in {pop.get('source')}"
    elif lang == "nl":
        text = f"{people} gevallen in {pop.get('source')}"
    else:
        loc = _catalog(lang)
        if loc is None or "doc.population_rows" not in loc.messages:
            return None
        text = loc.t("doc.population_rows", n=people, source=str(pop.get("source")))
    return text + (f" ({steps})" if steps else "")


def findings_languages(rules: Sequence[Mapping[str, Any]], languages: Sequence[str] = ()) -> tuple[str, ...]:
    """The languages findings are written in: English and Dutch, then (sorted) every other language a
    rule's statement or recommendation gives text in or ``languages`` names.

    >>> findings_languages([{"statement": {"en": "", "nl": "", "de": ""}}], ["fr", "en"])
    ('en', 'nl', 'de', 'fr')
    """
    extra = {str(lang) for lang in languages}
    for rule in rules:
        for part in ("statement", "recommendation"):
            extra.update(str(lang) for lang in (rule.get(part) or {}))
    return (*LANGUAGES, *sorted(extra - set(LANGUAGES)))


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


def _text(rule: Mapping[str, Any], part: str, lang: str, values: Mapping[str, str | None] | None) -> str | None:
    """A statement or recommendation in ``lang``; None when that part must fall back to English."""
    texts = rule.get(part) or {}
    if lang not in texts:
        if lang in LANGUAGES:  # a statement without them was refused in _check_rule: only recommendations
            return ""
        # No recommendation at all is an empty one in every language, not a fallback.
        return "" if part == "recommendation" and not texts.get("en") else None
    if values is None:  # no number conventions (no catalog) for this language
        return None
    template = str(texts[lang])
    try:
        names = {f for f, _, _ in fields(template)}
    except ValueError:
        names = set()  # _format names the unmatched brace
    if any(f in values and values[f] is None for f in names):
        return None
    return _format(template, {k: v for k, v in values.items() if v is not None}, rule["id"])


# What a "no difference detected" finding must add: what the comparison could have detected at all.
_POWER_NOTES = {
    "en": {"range": "With these group sizes, a true ratio between {below} and {above} would be detected less than "
                    "80% of the time (two-sided test at alpha {alpha}): not finding a difference does not show "
                    "there is none.",
           "above": "With these group sizes, a true ratio below {above} would be detected less than 80% of the time "
                    "(two-sided test at alpha {alpha}): not finding a difference does not show there is none.",
           "none": "These group sizes are too small to detect any ratio 80% of the time (two-sided test at alpha "
                   "{alpha}): not finding a difference does not show there is none."},
    "nl": {"range": "Met deze groepsgroottes wordt een werkelijke verhouding tussen {below} en {above} in minder dan "
                    "80% van de gevallen ontdekt (tweezijdige toets, alfa {alpha}): dat er geen verschil is gevonden, "
                    "toont niet aan dat er geen is.",
           "above": "Met deze groepsgroottes wordt een werkelijke verhouding onder {above} in minder dan 80% van de "
                    "gevallen ontdekt (tweezijdige toets, alfa {alpha}): dat er geen verschil is gevonden, toont "
                    "niet aan dat er geen is.",
           "none": "Deze groepen zijn te klein om welke verhouding ook in 80% van de gevallen te ontdekken "
                   "(tweezijdige toets, alfa {alpha}): dat er geen verschil is gevonden, toont niet aan dat er "
                   "geen is."},
}


def _power_note(rec: Mapping[str, Any], results: Mapping[str, Any], lang: str) -> str | None:
    """The sentence on the comparison's minimum detectable ratios; None outside English and Dutch
    (the statement then falls back to English rather than drop the caution)."""
    notes = _POWER_NOTES.get(lang)
    if notes is None:
        return None
    above, below = rec.get("min_detectable_ratio"), rec.get("min_detectable_ratio_below")
    alpha = _number((rec.get("power") or {}).get("alpha", results.get("parameters", {}).get("alpha", 0.05)), lang)
    key = "range" if above is not None and below is not None else "above" if above is not None else "none"
    return notes[key].format(above=_number(above, lang), below=_number(below, lang), alpha=alpha)


def _finding(rule: Mapping[str, Any], rec: Mapping[str, Any], results: Mapping[str, Any], kind: str,
             evidence: str, languages: Sequence[str] = LANGUAGES) -> dict:
    values = {lang: _values(rec, results, lang) if _style(lang) else None for lang in languages}
    parts: dict[str, dict[str, str]] = {part: {} for part in _PARTS}
    fallback: dict[str, list[str]] = {}
    for lang in languages:
        for part in _PARTS:
            text = (_population(results, lang) if values[lang] is not None else None) if part == "population" \
                else _text(rule, part, lang, values[lang])
            if part == "statement" and text is not None and rec.get("status") == "no_difference_detected" \
                    and "min_detectable_ratio" in rec:
                note = _power_note(rec, results, lang)
                text = None if note is None else f"{text} {note}"
            if text is None:
                fallback.setdefault(lang, []).append(part)
            else:
                parts[part][lang] = text
    identity = [str(rec.get("attribute")), str(rec.get("group")), str(rec.get("reference")),
                str(rec.get("metric", rule.get("applies_to", "")))]
    out = {
        "id": finding_id(rule["id"], *identity, *([str(rec["stage"])] if "stage" in rec else [])),
        "rule": rule["id"], "kind": kind, "severity": rule.get("severity", "medium"),
        "statement": parts["statement"], "recommendation": parts["recommendation"],
        "population": parts["population"],
        "evidence": [evidence], "rights": list(rule.get("rights", [])),
        "provisions": list(rule.get("provisions", [])),
    }
    if fallback:
        out["lang_fallback"] = fallback
    band = rec.get("screening_band")
    if band and band.get("ratio_outside"):
        out["screening_band"] = band["name"]
    return out


def comparison_path(c: Mapping[str, Any]) -> str:
    """The evidence path of a comparison record, unique in its results.

    An intersection compared within the other attributes' levels has one comparison per
    attribute, so its path names the reference too.

    >>> comparison_path({"attribute": "g", "group": "b", "metric": "selection_rate"})
    'comparisons/g/b/selection_rate'
    >>> comparison_path({"attribute": "n × s", "group": "x × F", "reference": "y × F", "held": {"s": "F"},
    ...                  "metric": "ppv"})
    'comparisons/n × s/x × F/ppv/vs/y × F'
    """
    path = f"comparisons/{c.get('attribute')}/{c.get('group')}/{c.get('metric')}"
    return path + f"/vs/{c.get('reference')}" if c.get("held") else path


def _records(results: Mapping[str, Any], applies_to: str) -> list[tuple[dict, str]]:
    if applies_to == "comparisons":
        return [(c, comparison_path(c)) for c in results.get("comparisons", [])]
    if applies_to == "selection_method":
        out = []
        for m in results.get("selection_method", []):
            for key in ("share_comparison", "hit_rate_comparison"):
                rec = {**m[key], "attribute": m["attribute"], "group": m["group"], "metric": key,
                       "reference": "random sample"}
                out.append((rec, f"selection_method/{m['attribute']}/{m['group']}/{key}"))
        return out
    if applies_to == "stages":
        return [(s["comparison"], f"stages/{s['attribute']}/{s['group']}/{s['stage']}")
                for s in results.get("stages", []) if s.get("comparison")]
    raise TemplateError(f"Finding rules apply to 'comparisons', 'selection_method' or 'stages'; got {applies_to!r}.")


def build_findings(results: Mapping[str, Any], rules: Sequence[Mapping[str, Any]], *,
                   languages: Sequence[str] = ()) -> list[dict]:
    """Findings for ``results`` from template ``rules``, plus the cautions no rule may drop.

    Records with ``insufficient_evidence`` never match a rule; selection-rate
    comparisons in that state get an ``insufficient_evidence`` finding.
    Reversals between crude and stratified results get a ``stratified_reversal`` finding.
    Texts are written in :func:`findings_languages` of ``rules`` and ``languages`` (pass the
    template's ``report.language``); see the module docstring for ``lang_fallback``.
    """
    for rule in rules:
        _check_rule(rule)
    langs = findings_languages(rules, languages)
    findings: list[dict] = []
    for rule in rules:
        condition = parse(rule["when"])
        records = _records(results, rule.get("applies_to", "comparisons"))
        budget = Budget()  # one budget for the rule, earning steps per record like any outer loop
        budget.grant(STEPS_PER_ELEMENT * len(records))
        for rec, evidence in records:
            if rec.get("status") in ("insufficient_evidence", "undefined"):
                continue
            try:
                holds = condition.evaluate(rec, budget) is True
            except ExpressionBudgetError as err:
                raise ExpressionBudgetError(f"Finding rule {rule.get('id')!r}, 'when': {err}") from None
            if holds:
                findings.append(_finding(rule, rec, results, "disparity", evidence, langs))
    findings += _cautions(results, langs)
    findings += linkage_findings(results, langs)  # area estimates: each finding names its estimate
    from .findings_periods import period_findings  # imported here: it imports this module

    findings += period_findings(results, findings, langs)
    from ._compare_findings import model_comparison_findings  # assess --compare-model

    findings += model_comparison_findings(results, langs)
    from ._findings_direct import direct_use_findings  # inputs that are protected attributes or recode one

    findings += direct_use_findings(results, rules, langs)
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
_INSUFFICIENT_STAGE = {
    **_INSUFFICIENT,
    "id": "insufficient-evidence-stage",
    "statement": {
        "en": "At stage {stage}, there is not enough data to compare {group} with {reference} ({attribute}): "
              "{n_group} and {n_reference} people reached it, below the minimum group size. This is not evidence "
              "of equal treatment at this stage.",
        "nl": "Bij stap {stage} zijn er te weinig gegevens om {group} met {reference} te vergelijken ({attribute}): "
              "{n_group} en {n_reference} personen bereikten deze stap, minder dan de minimale groepsgrootte. Dit "
              "is geen bewijs van gelijke behandeling bij deze stap."},
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


def _cautions(results: Mapping[str, Any], languages: Sequence[str] = LANGUAGES) -> list[dict]:
    out = []
    for c in results.get("comparisons", []):
        if c.get("status") == "insufficient_evidence" and c.get("metric") == "selection_rate":
            out.append(_finding(_INSUFFICIENT, c, results, "insufficient_evidence", comparison_path(c), languages))
    for rec, evidence in _records(results, "stages"):
        if rec.get("status") == "insufficient_evidence":
            out.append(_finding(_INSUFFICIENT_STAGE, rec, results, "insufficient_evidence", evidence, languages))
    for s in results.get("stratified", []):
        if s.get("direction_reversed"):
            rec = {**s, "metric": "stratified"}
            out.append(_finding(_REVERSAL, rec, results, "stratified_reversal",
                                f"stratified/{s['attribute']}/{s['group']}", languages))
    return out


class _CallableModule(__import__("types").ModuleType):
    """``auditkit.findings(result, template=...)`` builds findings, although ``auditkit.findings`` is this
    module (a function of that name in ``auditkit`` would be replaced by the module when it is imported)."""

    def __call__(self, result, template="base", *, languages=()):  # noqa: ANN001, ANN204 - see notebook.findings
        from .notebook import findings

        return findings(result, template, languages=languages)


__import__("sys").modules[__name__].__class__ = _CallableModule
