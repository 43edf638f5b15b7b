"""`assess`: the flip test on every model input that is a protected attribute or a recoding of one.

Direct use is tested by default: the inputs are found by :func:`auditkit.explain.direct_use.find_direct_use`
(names and the data), and each attribute's inputs are flip-tested together: every explained person is
moved to each level of the attribute with the recoded inputs set consistently, scored by the model (in the
model worker, as all scoring is) and decided by the audit's fixed rule.  ``--no-flip`` turns the tests off;
the inputs are still found and reported, and the results say the tests were turned off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from .explain.direct_use import Recoding, attribute_values, find_direct_use, recoder
from .spec import AuditSpec

__all__ = ["direct_use_flips", "mark_card"]

TURNED_OFF = ("The flip test of inputs that are protected attributes or recode one was turned off (--no-flip); "
              "the inputs found are listed, untested.")


def _virtual(attribute: str, columns: Sequence[str]) -> str:
    """A column name for the attribute that is not a model input."""
    name = attribute
    while name in columns:
        name += " (protected attribute)"
    return name


def _flip(rec: Recoding, X: pd.DataFrame, frame: pd.DataFrame, spec: AuditSpec, predict: Callable,
          decide: Callable, constraints: Any) -> dict:
    from .explain.flips import flip_test

    kw = {"constraints": constraints, "level": spec.level, "seed": spec.seed}
    if not rec.values:  # an input named like the attribute whose values are not its levels: its own values
        out = flip_test(predict, decide, X, rec.inputs[0], **kw)
    else:
        cols = list(X.columns)
        name = _virtual(rec.attribute, cols)
        Xa = X.assign(**{name: attribute_values(frame, rec.attribute).to_numpy()})
        out = flip_test(lambda b: predict(b[cols]), decide, Xa, name, recode=recoder(rec, name), **kw)
        out["attribute"] = rec.attribute
    return {**out, "inputs": list(rec.inputs), "requested": "direct use", "direct_use": rec.record()}


def direct_use_flips(X: pd.DataFrame, frame: pd.DataFrame, spec: AuditSpec, predict: Callable, decide: Callable,
                     constraints: Any, *, enabled: bool = True) -> tuple[list[dict], dict]:
    """(flip records, the ``explanations.direct_use`` record) for the explained rows ``X`` / ``frame``.

    The record's ``status`` is "tested", "none_found" or "turned_off"; ``found`` lists each attribute's
    inputs with how they recode it (:meth:`Recoding.record`); ``rows_checked`` is the number of rows whose
    values were compared.
    """
    found, notes = find_direct_use(X, frame, spec.protected)
    record: dict[str, Any] = {"status": "tested" if found else "none_found", "attributes": list(spec.protected),
                              "rows_checked": int(len(X)), "found": [r.record() for r in found], "notes": notes}
    if not enabled:
        record.update(status="turned_off", notes=[TURNED_OFF, *notes])
        return [], record
    return [_flip(rec, X, frame, spec, predict, decide, constraints) for rec in found], record


def mark_card(card: dict, direct: Mapping[str, Any] | None) -> dict:
    """Tag the model card's inputs that recode a protected attribute, and stop calling that attribute
    'not an input'."""
    found = (direct or {}).get("found") or []
    recodes = {c: r["attribute"] for r in found for c in r["inputs"]}
    for entry in card.get("inputs", []):
        if entry.get("name") in recodes:
            entry["tag"] = "protected"
            entry["recodes"] = recodes[entry["name"]]
    used = {r["attribute"] for r in found}
    card["protected_not_inputs"] = [p for p in card.get("protected_not_inputs", []) if p not in used]
    card["protected_recoded"] = [{k: r[k] for k in ("attribute", "inputs", "how")} for r in found]
    return card


def flip_label(flip: Mapping[str, Any], words: Any) -> str:
    """How the terminal names a flip test: the attribute's label, and the inputs when they are not the attribute
    (``words``: :class:`auditkit._summary_words.Words` of the terminal's language)."""
    inputs = [str(c) for c in flip.get("inputs") or []]
    attribute = str(flip.get("attribute"))
    if not inputs or inputs == [attribute]:
        return words.attr(attribute) if flip.get("direct_use") else attribute
    return words.t("flip_inputs", attribute=words.attr(attribute), inputs=", ".join(inputs))


def turned_off_line(results: Mapping[str, Any], words: Any) -> list[str]:
    """The terminal's line when --no-flip left inputs that recode a protected attribute untested."""
    direct = (results.get("explanations") or {}).get("direct_use") or {}
    if direct.get("status") != "turned_off" or not direct.get("found"):
        return []
    found = "; ".join(f"{words.attr(r['attribute'])} ({', '.join(map(str, r['inputs']))})" for r in direct["found"])
    return [words.t("flip_off", found=found)]
