"""`assess` with outcomes: how the model's scores behave by group (calibration, AUC, threshold sweep).

Which rows may be used is the design's question, answered before any figure: calibration and ROC pool
selected and non-selected cases, so with selective labels (outcomes known mostly for investigated cases)
they are computed on the random control sample only, and without one they are undefined, with the
design's reason.  The outcome and the random sample are read with the audit's own rules
(:mod:`auditkit.load.rows`), so that a value means here what it means in the counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .spec import AuditSpec

__all__ = ["score_behaviour_record"]

_JOIN = " × "  # how the count tables join the levels of an intersection's group


def _undefined(reason: str) -> dict:
    return {"status": "undefined", "reason": reason}


def score_behaviour_record(frame: Any, groups: Any, scores: np.ndarray, results: dict, spec: AuditSpec, method: str,
                           sample: dict | None = None) -> dict | None:
    """``results["score_behaviour"]``: None without an outcome column; else the figures or why they are undefined.

    ``frame`` holds the audited rows (or the explained sample) in file order, ``groups`` their protected
    groups as the explanations label them, ``scores`` the model's scores of the same rows; ``sample`` says
    how they were sampled from the audited rows with an outcome value (None: they are all of them).
    """
    if not spec.truth:
        return None
    from .load.data import read_columns
    from .load.rows import _outcome_codes, _positive_mask
    from .measure.calibration import score_behaviour

    src = read_columns(frame, [spec.truth] + ([spec.selection_method] if spec.selection_method else []))
    codes, _ = _outcome_codes(src, spec, [])
    rows = codes != 2
    used = "every audited row whose outcome is known"
    if "tpr" in (results.get("design") or {}).get("undefined_metrics", {}):
        if not (spec.selection_method and spec.random):
            return _undefined("calibration and ROC pool selected and non-selected cases; "
                              + results["design"]["undefined_metrics"]["tpr"])
        random, _, _, _ = _positive_mask(src, spec.selection_method, spec.random, "--random")
        rows &= random
        used = "the random control sample's rows whose outcome is known (outcomes of the model's selections are " \
               "selective labels)"
    if rows.sum() == 0:
        return _undefined(f"no rows to use: {used} are none")
    labels = {a: groups[a].to_numpy(dtype=object) for a in spec.protected}
    references = {a["attribute"]: a["reference"] for a in results.get("attributes", []) if len(a["attributes"]) == 1}
    for a in results.get("attributes", []):  # intersections, named and referenced as the count tables name them
        parts = list(a.get("attributes") or [])
        if len(parts) > 1 and all(p in labels for p in parts) and a.get("reference") is not None:
            labels[a["attribute"]] = np.array([_JOIN.join(v) for v in zip(*(labels[p] for p in parts))], dtype=object)
            references[a["attribute"]] = a["reference"]
    rule = results["population"].get("decision_rule") or {}
    operating = rule.get("cutoff_score", rule.get("threshold"))
    probability = (method.startswith(("predict_proba", "onnx")) and bool(np.all((scores >= 0) & (scores <= 1))))
    out = score_behaviour(scores[rows], codes[rows] == 1, {a: g[rows] for a, g in labels.items()}, references,
                          probability=probability, operating=operating, level=spec.level,
                          min_group_size=spec.min_group_size)
    out.update(status="measured", rows_used=used, sampled=sample is not None)
    if sample is not None:
        out["sample"] = sample
    return out
