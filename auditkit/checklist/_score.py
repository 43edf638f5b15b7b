"""Scoring an assessment: per-right seriousness, red flags, gaps, gates, coverage and a comparison total.

The rules (docs/checklist.md explains them for readers):

* **Unanswered counts as worst case.**  An unanswered question, or one
  answered with an option marked ``worst_case`` (such as "unknown"), scores
  its highest impact points (its lowest mitigation points, a seriousness of
  4) and is listed as a gap.  Items marked ``required: false`` are exempt.
* **Per-right seriousness.**  Each right's seriousness item has four parts
  scored 1-4: scale, scope, irremediability, likelihood.  Its score is
  ``max(scale, scope, irremediability) x likelihood`` (1-16) and its band
  low (1-3), medium (4-8), high (9-12) or critical (13-16).  Any of the
  first three at 4 makes the band at least high, whatever the likelihood:
  following the UN Guiding Principles (principle 24) the gravest harms are
  not discounted because they seem unlikely.  The impact band is the highest
  band of any right the assessment finds affected.
* **Red flags override.**  A red flag raised by an answer or by a rule
  stands whatever the band or total; ``headline`` is then ``red_flag``.
* **Gates.**  A gate whose condition holds keeps the assessment open until
  every item it requires is answered.
* **Comparison total.**  Impact points are added up, mitigation points too;
  when mitigation reaches a share of its maximum (Canada's AIA: 80 %) the
  impact total is multiplied by a factor (0.85), and the share of the
  maximum impact gives a level (I <= 25 % < II <= 50 % < III <= 75 % < IV).
  It is kept only to compare with Canada's Algorithmic Impact Assessment:
  added-up points let a grave single harm wash out, which is why the band
  and the red flags lead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..expr import ExpressionBudgetError, ExpressionError, parse
from ._evidence import check_references, contradicts, suggestions
from ._model import SERIOUSNESS_PARTS, flags_of, is_answered, items_of, missing_parts, questions_of, score_of

__all__ = ["BANDS", "score_assessment"]

#: Seriousness bands: (name, lowest score of the band).
BANDS = (("low", 1), ("medium", 4), ("high", 9), ("critical", 13))
_DEFAULT_LEVELS = ({"id": "I", "up_to": 0.25}, {"id": "II", "up_to": 0.5}, {"id": "III", "up_to": 0.75},
                   {"id": "IV", "up_to": 1.0})
_DEFAULT_DISCOUNT = {"at_least": 0.8, "factor": 0.85}


def band_of(score: float, worst_dimension: float) -> str:
    """The band of a seriousness score (see the module docstring).

    >>> band_of(4, 4), band_of(4, 2), band_of(16, 4)
    ('high', 'medium', 'critical')
    """
    band = [name for name, low in BANDS if score >= low][-1] if score >= 1 else "low"
    if worst_dimension >= 4 and band in ("low", "medium"):
        band = "high"
    return band


def _context(instrument: Mapping, values: Mapping[str, Any]) -> dict[str, Any]:
    """Expression names: each item's value (null when unanswered); multi-part values list every part."""
    context: dict[str, Any] = {}
    for _, item in items_of(instrument):
        value = values.get(item["id"])
        if item["kind"] == "multi_part":
            value = {pid: (value or {}).get(pid) if isinstance(value, Mapping) else None
                     for pid, _ in questions_of(item)}
        context[item["id"]] = value
    return context


def _condition(text: str, context: Mapping[str, Any], errors: list[dict], where: str) -> tuple[bool, bool]:
    """(holds, could change): could change when it reads an item that is not answered yet."""
    try:
        expression = parse(text)
        holds = bool(expression.evaluate(context))
    except ExpressionBudgetError as err:
        raise ExpressionBudgetError(f"{where}: {err}") from None
    except ExpressionError as err:
        errors.append({"where": where, "reason": str(err)})
        return False, False
    pending = any(context.get(n) is None or (isinstance(context.get(n), Mapping) and None in context[n].values())
                  for n in expression.names())
    return holds, pending


def score_assessment(instrument: Mapping[str, Any], assessment: Mapping[str, Any],
                     results: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Score ``assessment`` against ``instrument``, reading evidence from ``results`` when given.

    Both are validated dicts (see :func:`load_instrument` and :func:`load_assessment`).
    Returns a JSON-ready dict with ``headline`` (``red_flag`` when one stands, else the band),
    ``impact_level`` (the band: low, medium, high or critical), ``impact``, ``rights``, ``red_flags``,
    ``red_flags_unresolved``, ``gaps``, ``gates_open``, ``contradictions``,
    ``filled_from_evidence``, ``suggestions``, ``coverage`` and ``comparison_total``.
    The same inputs give the same output.
    """
    answers = {iid: a for iid, a in assessment.get("answers", {}).items() if a}
    suggested, unavailable = suggestions(instrument, results) if results is not None else ({}, [])
    values, sources, filled, contradictions = {}, {}, [], []
    for section, item in items_of(instrument):
        iid, answer = item["id"], answers.get(item["id"], {})
        value, source = answer.get("value"), answer.get("source", "human")
        hint = suggested.get(iid)
        if hint is not None and hint["fill"] and (value is None or source == "evidence"):
            value, source = hint["suggests"], "evidence"
            if item["kind"] == "single_choice" and isinstance(value, list):
                value = value[0]
            filled.append({"item": iid, "value": value, "binding": hint["binding"], "reason": hint["reason"]})
        elif hint is not None and source == "human" and contradicts(item, value, hint["suggests"]):
            contradictions.append({
                "item": iid, "section": section["id"], "answer": value, "answered_by": answer.get("answered_by"),
                "role": answer.get("role"), "suggested": hint["suggests"], "binding": hint["binding"],
                "reason": hint["reason"], "evidence": hint["records"]})
        values[iid], sources[iid] = value, source
    context = _context(instrument, values)
    errors: list[dict] = []
    # Red flags, gates and applicability are read twice when the evidence contradicts an answer: once
    # from the answers and once with the evidence in their place. What either reading raises stands.
    readings = [(values, sources, context)]
    if contradictions:
        alt_values, alt_sources = _with_evidence(instrument, values, sources, contradictions)
        readings.append((alt_values, alt_sources, _context(instrument, alt_values)))
    # An item applies if it applies under either reading (e.g. the evidence says equality is affected).
    applicable = _applicability(instrument, context, errors)
    for _, _, alt_context in readings[1:]:
        applicable = {iid: ok or alt for (iid, ok), alt in
                      zip(applicable.items(), _applicability(instrument, alt_context, []).values())}
    gaps = _gaps(instrument, answers, values, sources, applicable)
    flags, unresolved = _red_flags(instrument, readings, applicable, errors)
    rights = _rights(instrument, values, applicable)
    affected = [r for r in rights if r["applicable"]]
    band = max((r["band"] for r in affected), key=[b for b, _ in BANDS].index, default=None)
    gates = _gates(instrument, readings, values, errors)
    return {
        "instrument": {"id": instrument["id"], "version": instrument["version"], "title": instrument["title"]},
        "assessment": {k: assessment[k] for k in ("title", "system", "mode", "access", "results") if k in assessment},
        "results_read": results is not None,
        "status": "open" if gaps or gates else "complete",
        "headline": "red_flag" if flags else band,
        "impact_level": band,
        "impact": {"band": band, "overridden_by_red_flags": [f["id"] for f in flags],
                   "rule": "per right: max(scale, scope, irremediability) x likelihood; bands low 1-3, medium 4-8, "
                           "high 9-12, critical 13-16; any dimension at 4 gives at least high; unanswered = 4"},
        "rights": rights,
        "red_flags": flags,
        "red_flags_unresolved": unresolved,
        "gaps": gaps,
        "gates_open": gates,
        "contradictions": contradictions,
        "filled_from_evidence": filled,
        "suggestions": [s for iid, s in suggested.items() if sources.get(iid) == "human" and values.get(iid) is None],
        "evidence_unavailable": unavailable,
        "evidence_references_unmatched": check_references(answers, results) if results is not None else [],
        "coverage": _coverage(instrument, values, applicable),
        "comparison_total": _comparison_total(instrument, values, applicable),
        "rule_errors": errors,
    }


def _applicability(instrument: Mapping, context: Mapping, errors: list[dict]) -> dict[str, bool]:
    """An item applies unless its ``applies_if`` is false; while that reads unanswered items, it applies."""
    applicable = {}
    for _, item in items_of(instrument):
        if "applies_if" not in item:
            applicable[item["id"]] = True
            continue
        holds, pending = _condition(item["applies_if"], context, errors, f"{item['id']}.applies_if")
        applicable[item["id"]] = holds or pending
    return applicable


def _gaps(instrument: Mapping, answers: Mapping, values: Mapping, sources: Mapping,
          applicable: Mapping) -> list[dict]:
    gaps = []
    for section, item in items_of(instrument):
        iid = item["id"]
        if not applicable[iid] or item.get("required", True) is False:
            continue
        value = values.get(iid)
        base = {"item": iid, "section": section["id"], "text": item["text"]}
        if value is None:
            gaps.append({**base, "reason": "unanswered"})
            continue
        missing = missing_parts(item, value)
        if missing:
            gaps.append({**base, "reason": "parts_unanswered", "parts": missing})
        elif score_of(item, value).worst_case:
            gaps.append({**base, "reason": "answered_unknown", "answer": value})
        if (item.get("evidence", {}).get("required") and sources.get(iid) == "human"
                and not answers.get(iid, {}).get("evidence")):
            gaps.append({**base, "reason": "evidence_missing"})
    return gaps


def _with_evidence(instrument: Mapping, values: Mapping, sources: Mapping,
                   contradictions: list[dict]) -> tuple[dict, dict]:
    """Values and sources with each contradicted answer replaced by what the evidence suggests."""
    items = {item["id"]: item for _, item in items_of(instrument)}
    alt_values, alt_sources = dict(values), dict(sources)
    for contradiction in contradictions:
        iid, suggested = contradiction["item"], contradiction["suggested"]
        if items[iid]["kind"] == "multiple_choice":
            suggested = list(dict.fromkeys([*(values.get(iid) or []), *(suggested if isinstance(suggested, list)
                                                                         else [suggested])]))
        elif isinstance(suggested, list):
            suggested = suggested[0]
        alt_values[iid], alt_sources[iid] = suggested, "evidence_contradicting_answer"
    return alt_values, alt_sources


def _red_flags(instrument: Mapping, readings: list[tuple[Mapping, Mapping, Mapping]], applicable: Mapping,
               errors: list[dict]) -> tuple[list[dict], list[dict]]:
    raised: dict[str, list[dict]] = {}
    possible: dict[str, list[str]] = {}

    def raise_flag(flag: str, entry: dict) -> None:
        if entry not in raised.setdefault(flag, []):
            raised[flag].append(entry)

    for n, (values, sources, context) in enumerate(readings):
        for _, item in items_of(instrument):
            if not applicable[item["id"]]:
                continue
            now, later = flags_of(item, values.get(item["id"]))
            for flag in now:
                raise_flag(flag, {"item": item["id"], "answer": values.get(item["id"]),
                                  "source": sources.get(item["id"], "human")})
            for flag in later if n == 0 else ():
                possible.setdefault(flag, []).append(item["id"])
        for flag in instrument.get("red_flags", ()):
            if "when" not in flag:
                continue
            holds, pending = _condition(flag["when"], context, errors if n == 0 else [], f"red_flags.{flag['id']}.when")
            if holds:
                raise_flag(flag["id"], {"rule": flag["when"], "reading": "answers" if n == 0 else "evidence"})
            elif pending and n == 0:
                possible.setdefault(flag["id"], []).extend(
                    sorted(name for name in parse(flag["when"]).names() if context.get(name) is None))
    flags, unresolved = [], []
    for flag in instrument.get("red_flags", ()):
        base = {"id": flag["id"], "title": flag["title"], "reason": flag["reason"], "rights": flag.get("rights", [])}
        if flag["id"] in raised:
            flags.append({**base, "raised_by": raised[flag["id"]]})
        elif flag["id"] in possible:
            unresolved.append({**base, "until_answered": sorted(set(possible[flag["id"]]))})
    return flags, unresolved


def _rights(instrument: Mapping, values: Mapping, applicable: Mapping) -> list[dict]:
    rights = []
    items = [item for _, item in items_of(instrument) if "seriousness_of" in item]
    for right, meta in instrument.get("rights", {}).items():
        for item in (i for i in items if i["seriousness_of"] == right):
            if not applicable[item["id"]]:
                rights.append({"right": right, "title": meta["title"], "item": item["id"], "applicable": False})
                continue
            value = values.get(item["id"]) if isinstance(values.get(item["id"]), Mapping) else {}
            parts = {p["id"]: p for p in item["parts"]}
            dims = {}
            for pid in SERIOUSNESS_PARTS:
                option = {o["id"]: o for o in parts[pid]["options"]}.get(value.get(pid), {})
                dims[pid] = 4 if value.get(pid) is None or option.get("worst_case") else option.get("score", 4)
            worst = max(dims["scale"], dims["scope"], dims["irremediability"])
            score = worst * dims["likelihood"]
            rights.append({"right": right, "title": meta["title"], "item": item["id"], "applicable": True,
                           **dims, "score": score, "band": band_of(score, worst),
                           "worst_case_parts": [p for p in SERIOUSNESS_PARTS if value.get(p) is None]})
    return rights


def _gates(instrument: Mapping, readings: list[tuple[Mapping, Mapping, Mapping]], values: Mapping,
           errors: list[dict]) -> list[dict]:
    items = {item["id"]: item for _, item in items_of(instrument)}
    open_gates = []
    for gate in instrument.get("gates", ()):
        holds = any(_condition(gate["when"], context, errors if n == 0 else [], f"gates.{gate['id']}.when")[0]
                    for n, (_, _, context) in enumerate(readings))
        if not holds:
            continue
        missing = []
        for required in gate["requires"]:
            iid, _, part = required.partition(".")
            if not is_answered(items[iid], values.get(iid), part or None):
                missing.append(required)
        if missing:
            open_gates.append({"id": gate["id"], "reason": gate["reason"], "when": gate["when"], "missing": missing})
    return open_gates


def _coverage(instrument: Mapping, values: Mapping, applicable: Mapping) -> list[dict]:
    out = []
    for coverage in instrument.get("coverage", ()):
        elements = []
        for element in coverage["elements"]:
            citing = [i for _, i in items_of(instrument) if element["ref"] in i.get("refs", {}).get(coverage["scheme"], ())]
            relevant = [i for i in citing if applicable[i["id"]]]
            answered = [i["id"] for i in relevant if is_answered(i, values.get(i["id"]))]
            missing = [i["id"] for i in relevant if i["id"] not in answered]
            state = "covered" if relevant and not missing else "partial" if answered else "missing"
            elements.append({"ref": element["ref"], "title": element["title"], "items": [i["id"] for i in citing],
                             "answered": answered, "unanswered": missing, "state": state,
                             "covered": state == "covered"})
        out.append({"id": coverage["id"], "title": coverage["title"], "elements": elements,
                    "covered": sum(e["covered"] for e in elements), "of": len(elements),
                    "complete": all(e["covered"] for e in elements)})
    return out


def _comparison_total(instrument: Mapping, values: Mapping, applicable: Mapping) -> dict[str, Any]:
    totals: dict[str, list[float]] = {"impact": [0, 0], "mitigation": [0, 0]}
    for section, item in items_of(instrument):
        kind = item.get("scores_as", section.get("scores_as", "impact"))
        if kind == "none" or "seriousness_of" in item or not applicable[item["id"]]:
            continue
        score = score_of(item, values.get(item["id"]), worst="highest" if kind == "impact" else "lowest")
        totals[kind][0] += score.points
        totals[kind][1] += score.highest
    scoring = instrument.get("scoring", {})
    discount = scoring.get("mitigation_discount", _DEFAULT_DISCOUNT)
    (raw, raw_max), (mitigation, mitigation_max) = totals["impact"], totals["mitigation"]
    discounted = mitigation_max > 0 and mitigation >= discount["at_least"] * mitigation_max
    # Canada's tool rounds half up (JavaScript Math.round), not to even as Python's round() does.
    final = math.floor(discount["factor"] * raw + 0.5) if discounted else raw
    share = final / raw_max if raw_max else 0.0
    levels = scoring.get("levels", _DEFAULT_LEVELS)
    level = next((lv["id"] for lv in levels if share <= lv["up_to"] + 1e-12), levels[-1]["id"])
    return {"raw_impact": raw, "max_impact": raw_max, "mitigation": mitigation, "max_mitigation": mitigation_max,
            "discount_applied": bool(discounted), "final": final, "share_of_max": round(share, 4), "level": level,
            "note": "kept to compare with Canada's Algorithmic Impact Assessment; the band and red flags lead"}
