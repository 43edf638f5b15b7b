"""`assess MODEL_A --compare-model MODEL_B`: two model versions scored on the same people.

"That was the old model": when the agency hands over (or publishes) the new version, both are scored on
the same rows and turned into decisions by the same rule (``--threshold``, ``--top``, ``--top-n``, or
each model's own prediction with ``--model-decision``).  Model B is opened exactly like model A: the same
scan, the same worker process and limits, the same ``--trust-model``.

Because every person is decided twice, the two decisions are *paired*.  Per group the record gives the
paired table (selected by both, by A only, by B only, by neither), McNemar's exact test of whether the
group's selection rate changed (only the people whose decision changed carry evidence), and the change in
the rate with Newcombe's paired interval.  Per group and reference it gives the two selection-rate ratios
and the ratio of ratios ``ratio_b / ratio_a`` with a delta-method interval that accounts for the pairing
(:func:`auditkit.measure._paired.paired_ratio_of_ratios`).  Both families of tests are adjusted across
groups with the audit's own method (``--adjust``).  Model A's decisions are recomputed here and checked,
group by group, against the audit's own counts, so the paired tables describe exactly the audited rows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .exceptions import InputDataError, UsageError

__all__ = ["add_model_comparison", "check_compare", "decide", "summary_lines"]

METHOD = {
    "pairing": "both models scored on the same audited rows, decided by the same rule",
    "changed_decisions": "McNemar's exact test (two-sided binomial test of the people selected by A only among "
                         "those whose decision changed, at 1/2)",
    "change_in_rate": "rate_b − rate_a with Newcombe's paired hybrid score interval (method 10)",
    "ratio_of_ratios": "ratio_b / ratio_a; Wald interval and z-test on the log scale, with the delta-method "
                       "variance of each paired log ratio, (b + c) / ((a + b)(a + c)), added over the group "
                       "and its reference (different people)",
}


def check_compare(options: Any, engine: str) -> None:
    """Refuse what a paired comparison cannot do, before any model is opened."""
    if engine != "pandas":
        raise UsageError(f"--compare-model pairs both models' decisions row by row in memory; it runs with "
                         f"--engine pandas, not {engine!r}. Drop --engine, or compare two separate assessments "
                         "with `auditkit compare A B` (independent samples).")
    if options.compare_link is not None and options.compare_model is None:
        raise UsageError("--compare-link is the link of the --compare-model file; give --compare-model too.")


def _score_b(options: Any, frame: Any, fields: dict[str, Any]) -> tuple[Any, np.ndarray, str, list[str], list[str]]:
    """Model B's scores of every row of ``frame``: opened, named and scored as model A is."""
    from .load._features import name_inputs
    from .load.model import align_features, load_model, model_predict

    loaded = load_model(options.compare_model, trust=options.trust_model, link=options.compare_link,
                        limits=options.model_limits)
    try:
        features = options.features if loaded.feature_names is None else None
        loaded, notes = name_inputs(loaded, list(frame.columns), fields, features)
        X, align_notes = align_features(loaded, frame)
        scores, method = model_predict(loaded, X, batch_size=options.batch_size)
    finally:
        if hasattr(loaded.estimator, "close") and getattr(type(loaded.estimator), "remote", False):
            loaded.estimator.close()
    return loaded, np.asarray(scores, dtype=float), method, list(X.columns), list(notes) + list(align_notes)


def decide(scores: np.ndarray, spec: Any) -> tuple[np.ndarray, dict]:
    """Each audited row's decision under the audit's rule, and its record (as the counting plan states it).

    ``score >= threshold``; or the top k by score, ties at the cut-off taken in file order (earlier rows
    first), as the counting plan selects them (:mod:`auditkit.engines._plan`).

    >>> from types import SimpleNamespace
    >>> d, rule = decide(np.array([0.9, 0.5, 0.5, 0.1]), SimpleNamespace(threshold=None, top=None, top_n=2))
    >>> d.tolist(), rule["tied_at_cutoff"], rule["tied_selected"]
    ([1, 1, 0, 0], 2, 1)
    """
    from .engines._plan import _top_k

    if spec.threshold is not None:
        chosen = scores >= spec.threshold
        return chosen.astype(np.int8), {"kind": "threshold", "threshold": spec.threshold,
                                        "rule": f"score >= {spec.threshold}", "selected": int(chosen.sum())}
    n = len(scores)
    k = _top_k(n, spec)
    order = np.lexsort((np.arange(n), -scores))
    decision = np.zeros(n, dtype=np.int8)
    decision[order[:k]] = 1
    cutoff = float(scores[order[k - 1]])
    tied = scores == cutoff
    rule: dict = {"kind": "top", "selected": int(k), "tie_break": "file order (earlier rows first)"}
    rule["rule"] = (f"top {spec.top}% of scores (floor({n:,} x {spec.top}/100) = {k:,} rows)" if spec.top is not None
                    else f"top {k:,} scores")
    rule.update(cutoff_score=cutoff, tied_at_cutoff=int(tied.sum()), tied_selected=int((tied & (decision == 1)).sum()))
    return decision, rule


def _decisions(scores: np.ndarray, spec: Any, which: str, label: str) -> tuple[np.ndarray, dict]:
    blank = np.isnan(scores)
    if blank.any():
        raise InputDataError(f"Model {which} ({label}) gave no score for {int(blank.sum()):,} audited rows (first at "
                             f"audited row {int(np.flatnonzero(blank)[0]) + 1:,}); the two models cannot be compared "
                             "on the same people. Check the model's inputs for blanks.")
    return decide(scores, spec)


def _table(a_sel: np.ndarray, b_sel: np.ndarray) -> tuple[int, int, int, int]:
    """(both, A only, B only, neither)."""
    return (int(np.sum(a_sel & b_sel)), int(np.sum(a_sel & ~b_sel)), int(np.sum(~a_sel & b_sel)),
            int(np.sum(~a_sel & ~b_sel)))


def _num(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)


def _group_record(attribute: str, group: str, t: tuple[int, int, int, int], level: float, min_size: int) -> dict:
    from .measure._paired import mcnemar_exact, paired_difference_interval

    both, a_only, b_only, neither = t
    n = sum(t)
    rec: dict[str, Any] = {"attribute": attribute, "group": group, "n": n, "selected_both": both,
                           "selected_a_only": a_only, "selected_b_only": b_only, "selected_neither": neither,
                           "rate_a": None, "rate_b": None, "change_in_rate": None, "change_in_rate_ci": None,
                           "test": "mcnemar_exact", "p_value": None, "p_adjusted": None, "small": n < min_size}
    if n == 0:
        rec["status"] = "undefined"
        return rec
    low, high = paired_difference_interval(both, a_only, b_only, neither, level)  # rate_a − rate_b
    rec.update(rate_a=(both + a_only) / n, rate_b=(both + b_only) / n, change_in_rate=(b_only - a_only) / n,
               change_in_rate_ci=[_num(-high), _num(-low)], p_value=mcnemar_exact(a_only, b_only))
    return rec


def _disparity_record(g: dict, r: dict, tg: tuple, tr: tuple, level: float) -> dict:
    from .measure._paired import paired_ratio_of_ratios

    def ratio(rate_g: float | None, rate_r: float | None) -> float | None:
        return None if rate_g is None or not rate_r else rate_g / rate_r

    rec: dict[str, Any] = {"attribute": g["attribute"], "group": g["group"], "reference": r["group"],
                           "decisions_changed": tg[1] + tg[2] + tr[1] + tr[2],
                           "ratio_a": ratio(g["rate_a"], r["rate_a"]), "ratio_b": ratio(g["rate_b"], r["rate_b"]),
                           "ratio_of_ratios": None, "ratio_of_ratios_ci": None, "p_value": None, "p_adjusted": None,
                           "reason": None}
    if g["n"] == 0 or r["n"] == 0:
        rec["reason"] = "undefined: the group or its reference is empty"
        return rec
    rr, low, high, p = paired_ratio_of_ratios(tg, tr, level)
    if math.isnan(rr):
        rec["reason"] = "undefined: a selection rate is 0 under one of the models, so a ratio is 0 or infinite"
        return rec
    rec.update(ratio_of_ratios=rr, ratio_of_ratios_ci=[low, high], p_value=p)
    return rec


def _adjust(records: list[dict], method: str, alpha: float, changed: str, unchanged: str) -> None:
    from .measure._stats import bh_adjust, holm_adjust

    tested = [r for r in records if r["p_value"] is not None]
    if tested:
        fn = bh_adjust if method == "bh" else holm_adjust
        for r, p in zip(tested, fn(np.array([r["p_value"] for r in tested], dtype=float))):
            r["p_adjusted"] = float(p)
    for r in records:
        if r["p_adjusted"] is None:
            r.setdefault("status", "undefined")
            r["status"] = "undefined"
        elif r.get("decisions_changed", r.get("selected_a_only", 0) + r.get("selected_b_only", 0)) == 0:
            r["status"] = "no_decision_changed"
        else:
            r["status"] = changed if r["p_adjusted"] < alpha else unchanged


def _attribute_groups(results: dict, attribute: str) -> tuple[str | None, list[dict]]:
    record = next((a for a in results.get("attributes", []) if a.get("attribute") == attribute
                   and len(a.get("attributes") or []) == 1), None)
    groups = [g for g in results.get("groups", []) if g.get("attribute") == attribute]
    return (record or {}).get("reference"), groups


def _paired_tables(results: dict, spec: Any, frame: Any, a_sel: np.ndarray, b_sel: np.ndarray
                   ) -> list[tuple[str, str | None, list[tuple[dict, tuple]]]]:
    """Per attribute: its reference and (audit group record, paired table) per group, checked against the audit."""
    from .assess import _groups

    labels = _groups(frame, spec)
    out = []
    for attribute in spec.protected:
        reference, groups = _attribute_groups(results, attribute)
        column = labels[attribute].to_numpy(dtype=object)
        rows = []
        for g in groups:
            mask = column == g["group"]
            t = _table(a_sel[mask], b_sel[mask])
            if sum(t) != g.get("n") or t[0] + t[1] != g.get("selected"):
                raise InputDataError(
                    f"Group {g['group']!r} ({attribute}): recounting model A's decisions gives {sum(t):,} people and "
                    f"{t[0] + t[1]:,} selected, the audit {g.get('n')} and {g.get('selected')}; the paired comparison "
                    "would not describe the audited rows. This happens when rows are dropped (--drop-missing) or a "
                    "group's values read differently; audit the two models separately and use `auditkit compare`.")
            rows.append((g, t))
        out.append((attribute, reference, rows))
    return out


def model_comparison(results: dict, spec: Any, frame: Any, scores_a: np.ndarray, scores_b: np.ndarray,
                     rule_b_spec: Any) -> dict[str, Any]:
    """The ``model_comparison`` record from both models' scores of the audited rows (see the module docstring)."""
    a_dec, rule_a = _decisions(scores_a, spec, "A", "the audited model")
    b_dec, rule_b = _decisions(scores_b, rule_b_spec, "B", "--compare-model")
    if rule_a["selected"] != (results["population"].get("decision_rule") or {}).get("selected"):
        raise InputDataError("Recomputing model A's decisions does not give the audit's selections; the paired "
                             "comparison cannot be made on these rows.")
    a_sel, b_sel = a_dec.astype(bool), b_dec.astype(bool)
    groups, disparities = [], []
    for attribute, reference, rows in _paired_tables(results, spec, frame, a_sel, b_sel):
        recs = [(_group_record(attribute, g["group"], t, spec.level, spec.min_group_size), t) for g, t in rows]
        groups += [r for r, _ in recs]
        ref = next(((r, t) for r, t in recs if r["group"] == reference), None)
        if ref is not None:
            disparities += [_disparity_record(r, ref[0], t, ref[1], spec.level) for r, t in recs
                            if r["group"] != reference]
    _adjust(groups, spec.adjust, spec.alpha, "rate_changed", "no_rate_change_detected")
    _adjust(disparities, spec.adjust, spec.alpha, "ratio_changed", "no_change_detected")
    for d in disparities:
        d["change"] = d.pop("status")
    from .measure._paired import mcnemar_exact

    total = _table(a_sel, b_sel)
    return {"rows": int(len(a_sel)), "decision_rule_a": rule_a, "decision_rule_b": rule_b,
            "overall": {"selected_both": total[0], "selected_a_only": total[1], "selected_b_only": total[2],
                        "selected_neither": total[3], "test": "mcnemar_exact", "p_value": mcnemar_exact(total[1],
                                                                                                      total[2])},
            "groups": groups, "disparities": disparities,
            "method": {**METHOD, "adjust": spec.adjust, "alpha": spec.alpha, "level": spec.level,
                       "scope": "selection rate of each single protected attribute (intersections are not paired)"}}


def add_model_comparison(results: dict, scored: Any, fields: dict[str, Any], options: Any) -> None:
    """Score model B on the rows model A scored and add ``results["model_comparison"]``."""
    from .assess import _decision_spec, _model_record, spec_cutoff, spec_notes

    frame, scores_a, audited = scored.whole
    loaded, scores_b, method, features, notes = _score_b(options, frame, fields)
    spec_b = _decision_spec(fields, method, options, spec_cutoff(loaded))
    record = model_comparison(results, scored.spec, frame.iloc[audited].reset_index(drop=True),
                              np.asarray(scores_a, dtype=float)[audited], scores_b[audited], spec_b)
    model_b = _model_record(loaded, method, features)
    model_b["notes"] = list(model_b["notes"]) + notes + spec_notes(loaded)
    model_a = results["input"]["model"]
    results["model_comparison"] = {
        "model_a": {k: model_a.get(k) for k in ("file", "format", "sha256", "scoring_method")},
        "model_b": model_b, **record}


def summary_lines(results: dict, lang: str = "en") -> list[str]:
    """The terminal lines of a model comparison in ``lang`` (empty without one)."""
    from ._summary_words import Words

    mc = results.get("model_comparison")
    if not mc:
        return []
    w = Words(results, lang)
    loc = w.loc

    def num(x: float | None, spec: str = ".2f", scale: float = 1.0) -> str:
        return "?" if x is None else w.n(format(x if spec == ",d" else scale * x, spec))

    def status(code: str) -> str:
        return code if w.english else loc.label("model_compare.status", code)

    o = mc["overall"]
    lines = [loc.t("model_compare.terminal_overall", model_a=mc["model_a"]["file"], model_b=mc["model_b"]["file"],
                   n=num(mc["rows"], ",d"), a_only=num(o["selected_a_only"], ",d"),
                   b_only=num(o["selected_b_only"], ",d"), both=num(o["selected_both"], ",d"),
                   p=num(o["p_value"], ".4f"))]
    for g in mc["groups"]:
        if g["p_value"] is not None:
            lines.append(loc.t("model_compare.terminal_group", attribute=w.attr(g["attribute"]),
                               group=w.group(g["attribute"], g["group"]), rate_a=num(g["rate_a"], ".1f", 100),
                               rate_b=num(g["rate_b"], ".1f", 100), a_only=num(g["selected_a_only"], ",d"),
                               b_only=num(g["selected_b_only"], ",d"), p=num(g["p_adjusted"], ".4f"),
                               status=status(g["status"])))
    for d in mc["disparities"]:
        ci = d["ratio_of_ratios_ci"] or [None, None]
        values = dict(attribute=w.attr(d["attribute"]), group=w.group(d["attribute"], d["group"]),
                      reference=w.group(d["attribute"], d["reference"]), ratio_a=num(d["ratio_a"]),
                      ratio_b=num(d["ratio_b"]))
        if d["ratio_of_ratios"] is None:
            lines.append(loc.t("model_compare.terminal_undefined", **values))
        else:
            lines.append(loc.t("model_compare.terminal_disparity", **values, rr=num(d["ratio_of_ratios"]),
                               low=num(ci[0]), high=num(ci[1]), p=num(d["p_adjusted"], ".4f"),
                               status=status(d["change"])))
    return lines
