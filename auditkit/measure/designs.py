"""The designs real investigations use: strata and a random-sample baseline (process stages: :mod:`.stages`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..spec import AuditSpec
from ._counts import CountTable
from itertools import product

from ._stats import chi2_p, fisher_exact_p, newcombe_difference_interval, ratio_interval, wilson_interval
from ._stratified import conditional_demographic_disparity, mantel_haenszel
from .groups import GroupTable
from .power import minimum_detectable_ratio

__all__ = ["measure_selection_method", "measure_strata", "proportion_record"]


def _f(x: Any) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def proportion_record(k: float, n: float, level: float) -> dict:
    """A proportion with its Wilson interval, numerator and denominator (``reason`` null when defined)."""
    lo, hi = wilson_interval(k, n, level)
    return {"value": _f(k / n) if n else None, "reason": None if n else "undefined: denominator 0",
            "ci_low": _f(lo), "ci_high": _f(hi), "numerator": int(k), "denominator": int(n)}


_POWER = 0.8
_ZERO_RULE = ("katz log, 0.5 added to each count (a zero count); the limit on the estimate's side is the "
              "estimate itself (0 or unbounded), so the interval contains the ratio")


def two_proportions(k1: float, n1: float, k2: float, n2: float, spec: AuditSpec) -> dict:
    """Ratio (Katz, zero-cell rule), difference (Newcombe), test and power of two independent proportions.

    Every key is always there; figures that are undefined are null with the reason in ``null_reasons``.
    """
    rec: dict[str, Any] = {"ratio": None, "ratio_ci": [None, None], "ratio_ci_method": None, "difference": None,
                           "difference_ci": [None, None], "test": "fisher_exact" if spec.test == "fisher" else
                           "chi2_pearson", "p_value": None, "p_holm": None, "p_bh": None,
                           "min_detectable_ratio": None, "min_detectable_ratio_below": None, "status": None,
                           "reason": None, "null_reasons": {}}
    if not (n1 and n2):
        why = "undefined: a denominator is 0"
        rec.update(status="undefined", reason=why)
        rec["null_reasons"] = {k: why for k in ("ratio", "ratio_ci", "ratio_ci_method", "difference",
                                                "difference_ci", "p_value", "min_detectable_ratio",
                                                "min_detectable_ratio_below")}
        return rec
    p1, p2 = k1 / n1, k2 / n2
    r_lo, r_hi, corrected = ratio_interval(k1, n1, k2, n2, spec.level)
    d_lo, d_hi = newcombe_difference_interval(k1, n1, k2, n2, spec.level)
    test = fisher_exact_p if spec.test == "fisher" else chi2_p
    mdr = minimum_detectable_ratio(n1, n2, p2, spec.alpha, _POWER)
    rec.update(ratio=_f(p1 / p2) if p2 else None, ratio_ci=[_f(r_lo), _f(r_hi)],
               ratio_ci_method=_ZERO_RULE if corrected else "katz log", difference=_f(p1 - p2),
               difference_ci=[_f(d_lo), _f(d_hi)], p_value=_f(test(k1, n1 - k1, k2, n2 - k2)),
               min_detectable_ratio=mdr.above, min_detectable_ratio_below=mdr.below)
    reasons = rec["null_reasons"]
    if rec["ratio"] is None:
        reasons["ratio"] = "undefined: the second rate is 0"
    if rec["ratio_ci"][1] is None:
        reasons["ratio_ci"] = "upper limit unbounded (infinite): the second rate is 0"
    if mdr.above is None:
        reasons["min_detectable_ratio"] = mdr.reason_above
    if mdr.below is None:
        reasons["min_detectable_ratio_below"] = mdr.reason_below
    return rec


_STRATIFIED_KEYS = ("strata_used", "n_group_informative", "n_reference_informative", "per_stratum",
                    "crude_odds_ratio", "crude_p_value", "mh_odds_ratio", "mh_odds_ratio_ci", "cmh_statistic",
                    "p_value", "test", "breslow_day_statistic", "breslow_day_p", "demographic_disparity",
                    "conditional_demographic_disparity", "direction_reversed", "warning", "p_holm", "p_bh",
                    "status", "reason", "null_reasons")


def measure_strata(table: CountTable, gt: GroupTable, ref: int, spec: AuditSpec) -> list[dict]:
    """Per group vs reference: crude and Mantel–Haenszel odds ratios of selection, CMH and
    Breslow–Day tests, demographic disparity and its conditional version (Wachter et al.).

    The minimum group size holds here too: a group (or reference) with fewer than
    ``spec.min_group_size`` rows in the strata that carry its information (those with both
    groups and both decisions present, the only ones entering the Mantel–Haenszel sums) gets
    ``insufficient_evidence``, stays out of the testing family, and is not flagged as a reversal.
    """
    out = []
    for i in range(len(gt.labels)):
        if i == ref:
            continue
        rec: dict[str, Any] = {"attribute": gt.name, "group": gt.label(i), "reference": gt.label(ref),
                               "strata": list(spec.strata), **dict.fromkeys(_STRATIFIED_KEYS)}
        rec.update(mh_odds_ratio_ci=[None, None], per_stratum=[], test="cochran_mantel_haenszel")
        if table.bounded:
            why = ("not computed: the table has suppressed cells, whose bounds do not carry through stratified "
                   "odds ratios")
            rec.update(status="undefined", reason=why)
            rec["null_reasons"] = {k: why for k in _STRATIFIED_KEYS if k not in ("per_stratum", "test", "status",
                                                                              "reason", "null_reasons", "warning")}
            rec["null_reasons"]["mh_odds_ratio_ci"] = why
        else:
            rec.update(_stratified_figures(table, gt, i, ref, spec))
        out.append(rec)
    return out


def _stratified_figures(table: CountTable, gt: GroupTable, i: int, ref: int, spec: AuditSpec) -> dict:
    attr = gt.attributes
    m = table.marginal(attr + spec.strata)
    strata_dims = m.dims[len(attr):]
    labels = [" × ".join(lab) for lab in product(*(d.levels for d in strata_dims))]
    cells = m.low.reshape(len(gt.labels), len(labels), 2, 3).sum(axis=-1)  # group, stratum, decision
    adverse_axis = 1 if spec.selection_is == "adverse" else 0
    adverse_tot, favour_tot = cells[..., adverse_axis].sum(axis=0), cells[..., 1 - adverse_axis].sum(axis=0)
    tables = np.stack([np.stack([cells[i, :, 1], cells[i, :, 0]], -1),
                       np.stack([cells[ref, :, 1], cells[ref, :, 0]], -1)], axis=1)
    informative = (tables.sum(axis=2) > 0).all(axis=1) & (tables.sum(axis=1) > 0).all(axis=1)
    n_g, n_r = tables[:, 0].sum(axis=1), tables[:, 1].sum(axis=1)
    mh = mantel_haenszel(tables, level=spec.level)
    a, b, c, d = tables.sum(axis=0).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        crude_or = (a * d) / (b * c) if b * c else np.nan
    cdd, _ = conditional_demographic_disparity(cells[i, :, adverse_axis], cells[i, :, 1 - adverse_axis],
                                               adverse_tot, favour_tot)
    dd, _ = conditional_demographic_disparity(cells[i, :, adverse_axis].sum(keepdims=True),
                                              cells[i, :, 1 - adverse_axis].sum(keepdims=True),
                                              adverse_tot.sum(keepdims=True), favour_tot.sum(keepdims=True))
    crude_p = float(fisher_exact_p(a, b, c, d))
    size = spec.min_group_size
    info_g, info_r = int(n_g[informative].sum()), int(n_r[informative].sum())
    rec: dict[str, Any] = {
        "strata_used": int(mh["strata_used"]), "n_group_informative": info_g, "n_reference_informative": info_r,
        "per_stratum": [{"stratum": lab, "n_group": int(n_g[s]), "n_reference": int(n_r[s]),
                         "informative": bool(informative[s]), "small": bool(min(n_g[s], n_r[s]) < size)}
                        for s, lab in enumerate(labels)],
        "crude_odds_ratio": _f(crude_or), "crude_p_value": _f(crude_p),
        "mh_odds_ratio": _f(mh["odds_ratio"]), "mh_odds_ratio_ci": [_f(mh["ci_low"]), _f(mh["ci_high"])],
        "cmh_statistic": _f(mh["cmh_statistic"]), "p_value": _f(mh["cmh_p"]),
        "breslow_day_statistic": _f(mh["breslow_day_statistic"]), "breslow_day_p": _f(mh["breslow_day_p"]),
        "demographic_disparity": _f(dd), "conditional_demographic_disparity": _f(cdd), "null_reasons": {}}
    if min(info_g, info_r) < size:
        rec.update(status="insufficient_evidence", direction_reversed=None,
                   reason=(f"fewer than {size} rows of the group ({info_g}) or the reference ({info_r}) in the "
                           "strata that carry information (both groups and both decisions present)"))
    else:
        rec["direction_reversed"] = _reversed(crude_or, mh["odds_ratio"], crude_p, mh["cmh_p"], dd, cdd, spec.alpha)
        if rec["direction_reversed"]:
            rec["warning"] = ("Simpson's paradox: the crude and the stratified comparisons point in different "
                              f"directions for {gt.label(i)!r} against {gt.label(ref)!r}; report the stratified one "
                              "together with the crude one and the choice of strata.")
    rec["null_reasons"] = _stratified_null_reasons(rec)
    return rec


def _stratified_null_reasons(rec: dict) -> dict:
    reasons = {}
    if rec.get("status") == "insufficient_evidence":
        reasons["direction_reversed"] = "not assessed: " + rec["reason"]
    if rec["strata_used"] == 0:
        for k in ("mh_odds_ratio", "mh_odds_ratio_ci", "cmh_statistic", "p_value", "breslow_day_statistic",
                  "breslow_day_p"):
            reasons[k] = "undefined: no stratum has both groups and both decisions"
        return reasons
    if rec["mh_odds_ratio_ci"][0] is None:
        reasons["mh_odds_ratio_ci"] = "undefined: the pooled odds ratio is 0 or infinite (no log-scale interval)"
    if rec["breslow_day_p"] is None:
        reasons["breslow_day_statistic"] = reasons["breslow_day_p"] = (
            "undefined: fewer than two informative strata, or a pooled odds ratio of 0 or infinity")
    if rec["crude_odds_ratio"] is None:
        reasons["crude_odds_ratio"] = "undefined: a zero cell in the crude table"
    for k in ("demographic_disparity", "conditional_demographic_disparity"):
        if rec[k] is None:
            reasons[k] = "undefined: no stratum has both adverse and favourable decisions"
    return reasons


def _reversed(crude_or: float, mh_or: float, crude_p: float, cmh_p: float, dd: float, cdd: float,
              alpha: float) -> bool:
    """True when crude and stratified results point opposite ways and one of them is significant."""
    def sign(x: float) -> int:
        return 0 if not np.isfinite(x) or x == 0 else int(np.sign(x))

    flip_or = sign(np.log(crude_or) if crude_or > 0 else np.nan) * sign(np.log(mh_or) if mh_or > 0 else np.nan) < 0
    flip_dd = sign(dd) * sign(cdd) < 0
    significant = min(x for x in (crude_p, cmh_p, 1.0) if np.isfinite(x)) < alpha
    return bool((flip_or or flip_dd) and significant)


def measure_selection_method(table: CountTable, gt: GroupTable, spec: AuditSpec) -> list[dict]:
    """Each group's share of the random sample vs of the model's selection, and the base
    rate in the random sample vs the hit rate among the model's picks."""
    method = table.dim(str(spec.selection_method))
    m = table.marginal(gt.attributes + (method.name,))
    cells = m.low.reshape(len(gt.labels), len(method.levels), 2, 3)
    is_random = np.array([lv in (spec.random or ()) for lv in method.levels])
    rnd, mod = cells[:, is_random].sum(axis=1), cells[:, ~is_random].sum(axis=1)
    n_rnd, sel_mod = rnd.sum(axis=(1, 2)), mod[:, 1].sum(axis=1)
    out = []
    for i in range(len(gt.labels)):
        base_k, base_n = rnd[i, :, 1].sum(), rnd[i, :, :2].sum()
        hit_k, hit_n = mod[i, 1, 1], mod[i, 1, :2].sum()
        share = two_proportions(sel_mod[i], sel_mod.sum(), n_rnd[i], n_rnd.sum(), spec)
        hit = two_proportions(hit_k, hit_n, base_k, base_n, spec)
        # A share rests on the group's own rows in the random sample (its estimate of the group's
        # place in the population), not only on the two totals.
        share_small = _too_small(spec.min_group_size, ("rows of this group in the random sample", n_rnd[i]),
                                 ("rows in the random sample", n_rnd.sum()), ("selected rows", sel_mod.sum()))
        hit_small = _too_small(spec.min_group_size, ("rows with an outcome among this group's model selections",
                                                     hit_n), ("rows with an outcome in this group's random sample",
                                                              base_n))
        for cmp, why in ((share, share_small), (hit, hit_small)):
            if cmp["status"] is None and why:
                cmp.update(status="insufficient_evidence", reason=why)
        out.append({"attribute": gt.name, "group": gt.label(i),
                    "share_of_random_sample": proportion_record(n_rnd[i], n_rnd.sum(), spec.level),
                    "share_of_model_selection": proportion_record(sel_mod[i], sel_mod.sum(), spec.level),
                    "share_comparison": {"compares": "share of model selection / share of random sample", **share},
                    "base_rate_random_sample": proportion_record(base_k, base_n, spec.level),
                    "hit_rate_model_selection": proportion_record(hit_k, hit_n, spec.level),
                    "hit_rate_comparison": {"compares": "hit rate of model selection / base rate of random sample",
                                            **hit}})
    return out



def _too_small(minimum: int, *counts: tuple[str, int]) -> str | None:
    """The reason a comparison rests on too few rows (the first count below ``minimum``), or None."""
    for what, n in counts:
        if n < minimum:
            return f"fewer than {minimum} {what} ({int(n)})"
    return None
