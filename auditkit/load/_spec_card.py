"""The model card of a published specification: its weights, points or rules as the agency wrote them."""

from __future__ import annotations

import math
from typing import Any

from ._spec import Bands, Levels, Numeric

__all__ = ["published_card"]

_FAMILY = {("linear", "logistic"): "published specification: logistic regression",
           ("linear", "identity"): "published specification: linear score",
           ("scorecard", "identity"): "published specification: points scorecard",
           ("rules", "identity"): "published specification: ordered rule list"}


def _edge(x: float) -> float | None:
    return None if math.isinf(x) else x


def _term(term: Numeric | Levels | Bands) -> dict[str, Any]:
    out: dict[str, Any] = {"variable": term.variable}
    if isinstance(term, Numeric):
        out.update(weight=term.weight, transform=term.transform, cap=list(term.cap) if term.cap else None)
    elif isinstance(term, Levels):
        out.update(levels=dict(term.weights), reference=term.reference)
    else:
        out.update(bands=[{"from": _edge(lo), "to": _edge(hi), "weight": w} for lo, hi, w in term.bands])
    if term.missing is not None:
        out["missing"] = term.missing
    return out


def published_card(est: Any) -> dict:
    """family, complexity, readable, reason and the specification itself (as ``coefficients``)."""
    spec = est.auditkit_spec_
    family = _FAMILY[(spec.kind, spec.link)]
    if spec.kind == "rules":
        rules = [{"name": r.name, "if": [{"column": c.column, "op": c.op,
                                          "value": list(c.value) if isinstance(c.value, tuple) else c.value}
                                         for c in r.conditions], "then": "flag" if r.flag else "no flag"}
                 for r in spec.rules]
        return {"family": family, "complexity": {"rules": len(rules)}, "readable": "rules",
                "coefficients": {"rules": rules, "default": "flag" if spec.default_flag else "no flag"},
                "reason": "the agency's published rules, applied in order: the first rule that holds decides"}
    terms = [_term(t) for t in spec.terms]
    coefficients: dict[str, Any] = {"intercept": spec.intercept, "terms": terms, "link": spec.link}
    if spec.kind == "scorecard":
        coefficients = {"base_points": spec.intercept, "terms": terms, "cutoff": spec.cutoff}
    unit = "points" if spec.kind == "scorecard" else "weights"
    return {"family": family, "complexity": {"terms": len(terms), "coefficients": int(len(est[0].weights()))},
            "readable": "weights", "coefficients": coefficients,
            "reason": f"the agency's published {unit}: each shows how far a value moves the score"}
