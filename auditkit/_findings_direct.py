"""The finding on direct use of a protected attribute: the model takes it (or a recoding of it) as input.

One finding per attribute whose inputs `assess` found (:mod:`auditkit._assess_direct`):

* flip-tested and some change of level changed decisions (Holm-adjusted p below the audit's alpha):
  severity high, with the largest such change, its interval and the people whose decision changed;
* flip-tested without a detected change at this decision rule: severity medium, with the largest change
  the interval leaves open (taking a protected attribute as input is direct use whatever the threshold);
* not flip-tested (``--no-flip``): severity medium, saying it was not measured.

The texts are the locale catalogs' ``direct_use.*`` messages, so a partner language with a catalog gets
them too; a language whose catalog lacks them falls back to English (``lang_fallback``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["direct_use_findings"]

RULE = "direct-use-of-protected-attribute"
_RIGHT = "non_discrimination"


def _largest(flip: Mapping[str, Any], alpha: float) -> tuple[dict | None, bool]:
    """The direct effect to state (detected ones first, then the largest change) and whether it is detected."""
    rows = [d for d in flip.get("direct_effect") or [] if d.get("difference") is not None]
    detected = [d for d in rows if d.get("p_holm") is not None and d["p_holm"] < alpha]
    pool = detected or rows
    if not pool:
        return None, False
    return max(pool, key=lambda d: (abs(d["difference"]), str(d.get("value")))), bool(detected)


def _texts(loc: Any, key: str, values: dict[str, str]) -> tuple[str, str] | None:
    if f"direct_use.{key}" not in loc.messages:
        return None
    return loc.t(f"direct_use.{key}", **values), loc.t("direct_use.recommendation", attribute=values["attribute"])


def _values(loc: Any, results: Mapping[str, Any], attribute: str, inputs: Sequence[str], d: Mapping[str, Any] | None,
            level: float) -> dict:
    from .locale import label

    values = {"attribute": label(results, attribute, lang=loc.code), "inputs": ", ".join(inputs),
              "level": f"{100 * level:g}"}
    if d is not None:
        values.update(value=label(results, attribute, d.get("value"), lang=loc.code),
                      baseline=label(results, attribute, d.get("baseline"), lang=loc.code), n=loc.integer(d.get("n")),
                      difference=loc.number(100 * d["difference"], 1, sign=True),
                      low=loc.number(None if d.get("ci_low") is None else 100 * d["ci_low"], 1, sign=True),
                      high=loc.number(None if d.get("ci_high") is None else 100 * d["ci_high"], 1, sign=True),
                      to_selected=loc.integer(d.get("flips_to_selected")),
                      to_not_selected=loc.integer(d.get("flips_to_not_selected")), p=loc.p_value(d.get("p_holm")))
    return values


def _one(attribute: str, inputs: Sequence[str], flip: Mapping[str, Any] | None, results: Mapping[str, Any],
         languages: Sequence[str], rights: list[str]) -> dict:
    from .findings import _population, finding_id
    from .locale import LocaleError, load_locale

    params = results.get("parameters") or {}
    alpha, level = float(params.get("alpha", 0.05)), float((flip or {}).get("level", params.get("level", 0.95)))
    d, detected = _largest(flip, alpha) if flip is not None else (None, False)
    key = "turned_off" if flip is None else "changed" if detected else "unchanged" if d is not None else "untestable"
    parts: dict[str, dict[str, str]] = {"statement": {}, "recommendation": {}, "population": {}}
    fallback: dict[str, list[str]] = {}
    for lang in languages:
        try:
            loc = load_locale(lang)
        except LocaleError:
            loc = None
        texts = None if loc is None else _texts(loc, key, _values(loc, results, attribute, inputs, d, level))
        population = _population(results, lang)
        if texts is None:
            fallback[lang] = ["statement", "recommendation"]
        else:
            parts["statement"][lang], parts["recommendation"][lang] = texts
        if population is None:
            fallback.setdefault(lang, []).append("population")
        else:
            parts["population"][lang] = population
    out = {"id": finding_id(RULE, attribute, ",".join(inputs)), "rule": RULE, "kind": "direct_use",
           "severity": "high" if detected else "medium", **parts,
           "evidence": [f"flips/{attribute}/direct_use"], "rights": rights, "provisions": []}
    if fallback:
        out["lang_fallback"] = fallback
    return out


def direct_use_findings(results: Mapping[str, Any], rules: Sequence[Mapping[str, Any]],
                        languages: Sequence[str]) -> list[dict]:
    """Findings on inputs that are protected attributes or recode one (none without a model's results)."""
    explanations = results.get("explanations") or {}
    direct = explanations.get("direct_use") or {}
    if not direct.get("found"):
        return []
    # The right every shipped template's disparity rules cite, when the template keeps it.
    rights = [_RIGHT] if any(_RIGHT in (r.get("rights") or []) for r in rules) else []
    flips = [f for f in explanations.get("flips") or [] if f.get("direct_use")]
    out = []
    for rec in direct["found"]:
        inputs = [str(c) for c in rec["inputs"]]
        flip = next((f for f in flips if [str(c) for c in f.get("inputs") or []] == inputs), None)
        out.append(_one(str(rec["attribute"]), inputs, flip, results, languages, rights))
    return out
