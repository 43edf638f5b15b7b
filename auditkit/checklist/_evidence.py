"""Evidence bindings: what an audit's results suggest for an item, and where a human answer disagrees.

A binding is read against the results document (docs/results.md, plus
``model_card`` from ``auditkit assess`` and ``findings`` when present).  It
*holds* when

* ``when`` (an expression over the results) is true, or
* ``over`` (an expression giving a list of records) has records and
  ``where`` (an expression over one record, whose keys are names) matches
  ``any`` of them (the default), ``all`` of them, or ``none`` of them.  With
  no records at all, ``all`` and ``none`` do not hold: an empty audit is no
  evidence of absence.

The first binding of an item that holds gives the suggestion: its
``suggests`` value, or the value of its ``value`` expression.  On an item
with ``fill_from_evidence``, the suggestion becomes the answer unless the
binding says ``fill: false`` (evidence of absence, such as "no input is
tagged protected", is only ever a suggestion).  A binding that
cannot be read (a key missing from these results) is reported as
unavailable, never as an error, because results from ``auditkit audit`` have
no model card and results from counts have no outcomes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..expr import STEPS_PER_ELEMENT, Budget, ExpressionBudgetError, ExpressionError, evaluate
from ._model import items_of

__all__ = ["check_references", "contradicts", "suggestions"]

_SHOWN_KEYS = ("attribute", "group", "reference", "metric", "ratio", "ratio_ci", "difference", "difference_ci",
               "status", "p_holm", "name", "tag", "id", "severity", "stage")


def _truth(value: Any) -> bool:
    return bool(value) and not (isinstance(value, float) and math.isnan(value))


def _summary(record: Any) -> Any:
    """The identifying and measured fields of a record, small enough to print."""
    if not isinstance(record, Mapping):
        return record
    shown = {k: record[k] for k in _SHOWN_KEYS if k in record}
    return shown or {k: v for k, v in record.items() if isinstance(v, (str, int, float, bool)) or v is None}


def _holds(binding: Mapping[str, Any], results: Mapping[str, Any]) -> tuple[bool, list[Any], int]:
    """(holds, matching records, records examined) for one binding."""
    if "when" in binding:
        return _truth(evaluate(binding["when"], results)), [], 0
    records = evaluate(binding["over"], results)
    if records is None:
        records = []
    if not isinstance(records, list):
        raise ExpressionError(f"'over' must give a list of records, got {type(records).__name__}")
    where = binding.get("where", "true")
    hits = []
    budget = Budget()  # one budget for the binding, earning steps per record like any outer loop
    budget.grant(STEPS_PER_ELEMENT * len(records))
    for record in records:
        scope = {**results, **record, "item": record} if isinstance(record, Mapping) else {**results, "item": record}
        if _truth(evaluate(where, scope, budget)):
            hits.append(record)
    match = binding.get("match", "any")
    if match == "any":
        return bool(hits), hits, len(records)
    if match == "all":
        return bool(records) and len(hits) == len(records), hits, len(records)
    return bool(records) and not hits, [], len(records)


def suggestions(instrument: Mapping[str, Any], results: Mapping[str, Any]) -> tuple[dict[str, dict], list[dict]]:
    """({item id: suggestion}, [unavailable bindings]) for every bound item, in instrument order."""
    found: dict[str, dict] = {}
    unavailable: list[dict] = []
    for _, item in items_of(instrument):
        for binding in item.get("bindings", ()):
            try:
                holds, hits, examined = _holds(binding, results)
                value = binding.get("suggests")
                if holds and "value" in binding:
                    value = evaluate(binding["value"], results)
                    holds = value is not None
            except ExpressionBudgetError as err:
                raise ExpressionBudgetError(f"Instrument item {item['id']!r}, binding {binding['id']!r}: {err}") from None
            except ExpressionError as err:
                unavailable.append({"item": item["id"], "binding": binding["id"], "reason": str(err)})
                continue
            if holds:
                found[item["id"]] = {
                    "item": item["id"], "binding": binding["id"], "suggests": value, "reason": binding["reason"],
                    "fill": bool(item.get("fill_from_evidence")) and binding.get("fill", True),
                    "records": [_summary(r) for r in hits], "records_examined": examined,
                }
                break
    return found, unavailable


def contradicts(item: Mapping[str, Any], answer: Any, suggested: Any) -> bool:
    """Whether a human answer disagrees with the suggestion.

    A list suggested for a single choice means "one of these"; for a multiple
    choice, every suggested option must be among those chosen.
    """
    if answer is None:
        return False
    if item["kind"] == "single_choice" and isinstance(suggested, list):
        return answer not in suggested
    if item["kind"] == "multiple_choice":
        wanted = suggested if isinstance(suggested, list) else [suggested]
        return not set(wanted) <= set(answer if isinstance(answer, list) else [answer])
    if isinstance(answer, (int, float)) and isinstance(suggested, (int, float)) and not isinstance(answer, bool):
        return not math.isclose(answer, suggested, rel_tol=1e-9, abs_tol=1e-12)
    return answer != suggested


def check_references(answers: Mapping[str, Any], results: Mapping[str, Any]) -> list[dict]:
    """Evidence references that point at nothing in ``results`` (findings and metrics only)."""
    dangling = []
    finding_ids = {f.get("id") for f in results.get("findings") or () if isinstance(f, Mapping)}
    comparisons = [c for c in results.get("comparisons") or () if isinstance(c, Mapping)]
    for iid, answer in answers.items():
        for n, ref in enumerate((answer or {}).get("evidence") or ()):
            if "finding" in ref and "findings" in results and ref["finding"] not in finding_ids:
                dangling.append({"item": iid, "reference": n, "finding": ref["finding"],
                                 "reason": "no finding with this id in the results"})
            if "metric" in ref and not any(
                all(c.get(k) == ref[k] for k in ("metric", "attribute", "group", "reference") if k in ref)
                for c in comparisons
            ):
                dangling.append({"item": iid, "reference": n, "metric": ref["metric"],
                                 "reason": "no comparison in the results matches this metric, attribute and group"})
    return dangling
