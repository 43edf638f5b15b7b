"""The designs real investigations use: strata and a random-sample baseline (process stages: :mod:`.stages`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..spec import AuditSpec
from ._counts import CountTable
from ._stats import fisher_exact_p, chi2_p, katz_ratio_interval, newcombe_difference_interval, wilson_interval
from ._stratified import conditional_demographic_disparity, mantel_haenszel
from .groups import GroupTable

__all__ = ["measure_selection_method", "measure_strata", "proportion_record"]


def _f(x: Any) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def proportion_record(k: float, n: float, level: float) -> dict:
    """A proportion with its Wilson interval, numerator and denominator."""
    lo, hi = wilson_interval(k, n, level)
    return {"value": _f(k / n) if n else None, "ci_low": _f(lo), "ci_high": _f(hi),
            "numerator": int(k), "denominator": int(n),
            **({} if n else {"reason": "undefined: denominator 0"})}


def two_proportions(k1: float, n1: float, k2: float, n2: float, spec: AuditSpec) -> dict:
    """Ratio (Katz), difference (Newcombe) and test of two independent proportions."""
    if not (n1 and n2):
        return {"ratio": None, "ratio_ci": [None, None], "difference": None, "difference_ci": [None, None],
                "p_value": None, "status": "undefined", "reason": "undefined: a denominator is 0"}
    p1, p2 = k1 / n1, k2 / n2
    r_lo, r_hi, _ = katz_ratio_interval(k1, n1, k2, n2, spec.level)
    d_lo, d_hi = newcombe_difference_interval(k1, n1, k2, n2, spec.level)
    test = fisher_exact_p if spec.test == "fisher" else chi2_p
    return {"ratio": _f(p1 / p2) if p2 else None, "ratio_ci": [_f(r_lo), _f(r_hi)],
            "difference": _f(p1 - p2), "difference_ci": [_f(d_lo), _f(d_hi)],
            "test": "fisher_exact" if spec.test == "fisher" else "chi2_pearson",
            "p_value": _f(test(k1, n1 - k1, k2, n2 - k2))}


def measure_strata(table: CountTable, gt: GroupTable, ref: int, spec: AuditSpec) -> list[dict]:
    """Per group vs reference: crude and Mantel–Haenszel odds ratios of selection, CMH and
    Breslow–Day tests, demographic disparity and its conditional version (Wachter et al.)."""
    if table.bounded:
        return [{"attribute": gt.name, "status": "undefined",
                 "reason": "not computed: the table has suppressed cells, whose bounds do not carry through "
                           "stratified odds ratios"}]
    attr = gt.attributes
    m = table.marginal(attr + spec.strata)
    n_strata = int(np.prod([len(d.levels) for d in m.dims[len(attr):]]))
    cells = m.low.reshape(len(gt.labels), n_strata, 2, 3).sum(axis=-1)  # group, stratum, decision
    adverse_axis = 1 if spec.selection_is == "adverse" else 0
    adverse_tot, favour_tot = cells[..., adverse_axis].sum(axis=0), cells[..., 1 - adverse_axis].sum(axis=0)
    out = []
    for i in range(len(gt.labels)):
        if i == ref:
            continue
        tables = np.stack([np.stack([cells[i, :, 1], cells[i, :, 0]], -1),
                           np.stack([cells[ref, :, 1], cells[ref, :, 0]], -1)], axis=1)
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
        rec = {"attribute": gt.name, "group": gt.label(i), "reference": gt.label(ref),
               "strata": list(spec.strata), "strata_used": int(mh["strata_used"]),
               "crude_odds_ratio": _f(crude_or), "crude_p_value": _f(crude_p),
               "mh_odds_ratio": _f(mh["odds_ratio"]), "mh_odds_ratio_ci": [_f(mh["ci_low"]), _f(mh["ci_high"])],
               "cmh_statistic": _f(mh["cmh_statistic"]), "p_value": _f(mh["cmh_p"]), "test": "cochran_mantel_haenszel",
               "breslow_day_statistic": _f(mh["breslow_day_statistic"]),
               "breslow_day_p": _f(mh["breslow_day_p"]),
               "demographic_disparity": _f(dd), "conditional_demographic_disparity": _f(cdd)}
        rec["direction_reversed"] = _reversed(crude_or, mh["odds_ratio"], crude_p, mh["cmh_p"], dd, cdd, spec.alpha)
        if rec["direction_reversed"]:
            rec["warning"] = ("Simpson's paradox: the crude and the stratified comparisons point in different "
                              f"directions for {gt.label(i)!r} against {gt.label(ref)!r}; report the stratified one "
                              "together with the crude one and the choice of strata.")
        out.append(rec)
    return out


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
        for cmp, n_small in ((share, min(n_rnd.sum(), sel_mod.sum())), (hit, min(hit_n, base_n))):
            if "status" not in cmp and n_small < spec.min_group_size:
                cmp.update(status="insufficient_evidence",
                           reason=f"fewer than {spec.min_group_size} rows in a denominator")
        out.append({"attribute": gt.name, "group": gt.label(i),
                    "share_of_random_sample": proportion_record(n_rnd[i], n_rnd.sum(), spec.level),
                    "share_of_model_selection": proportion_record(sel_mod[i], sel_mod.sum(), spec.level),
                    "share_comparison": {"compares": "share of model selection / share of random sample", **share},
                    "base_rate_random_sample": proportion_record(base_k, base_n, spec.level),
                    "hit_rate_model_selection": proportion_record(hit_k, hit_n, spec.level),
                    "hit_rate_comparison": {"compares": "hit rate of model selection / base rate of random sample",
                                            **hit}})
    return out

