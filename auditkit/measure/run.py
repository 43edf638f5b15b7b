"""From a count table to the results document: groups, comparisons, the testing family."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from ..spec import FOUR_FIFTHS, METRICS, AuditSpec
from ._counts import MISSING, CountTable
from ._stats import bh_adjust, holm_adjust
from .compare import compare
from .power import minimum_detectable_ratio
from .groups import GroupTable, choose_reference, count_record, group_table, rate_record

__all__ = ["adjust_family", "attribute_subsets", "comparison_metrics", "design_of", "measure_groups"]

#: Power at which minimum detectable ratios are reported (the convention of Cohen 1988).
POWER = 0.8


def design_of(table: CountTable, has_truth: bool) -> dict:
    """What the data can support: which rates are undefined for the whole population, and why."""
    low = table.low.reshape(-1, 2, 3).sum(axis=0)
    not_selected, selected = low[0].sum(), low[1].sum()
    undefined: dict[str, str] = {}
    kind = "decisions with outcomes" if has_truth else "decisions only"
    if not has_truth:
        for m in METRICS[1:]:
            undefined[m] = "undefined: no outcome column was given (--truth)"
    if not_selected == 0:
        kind = "only selected cases (every row was selected)"
        why = ("undefined: every row in the data was selected (stops, investigations), so there is no "
               "comparison with the non-selected; compare hit rates (ppv) between groups instead (the outcome test)")
        for m in ("selection_rate", "tpr", "fpr", "fnr", "tnr", "npv", "for", "accuracy", "balanced_accuracy"):
            undefined[m] = why
        if has_truth:
            undefined["base_rate"] = ("undefined: every row in the data was selected, so the share of positive "
                                      "outcomes among them is the hit rate (ppv), not the population's base rate")
    elif has_truth and low[1, :2].sum() > 0:
        known_sel, known_not = low[1, :2].sum() / selected, low[0, :2].sum() / not_selected
        # Rates that pool outcomes of selected and non-selected rows are biased when the
        # outcome is observed more often for one of the two (selective labels): a false
        # positive is counted in full, a true negative only where someone happened to look.
        if abs(known_sel - known_not) > 0.01:
            kind = (f"outcomes known for {known_sel:.0%} of selected and {known_not:.0%} of non-selected cases "
                    "(selective labels)")
            why = (f"undefined: outcomes are known for {known_sel:.1%} of selected but {known_not:.1%} of "
                   "non-selected cases, so rates that pool the two would be biased; the hit rate (ppv) among "
                   "the selected is measurable, and a random control sample (--selection-method) gives base rates")
            pooled = ("base_rate", "tpr", "fpr", "fnr", "tnr", "accuracy", "balanced_accuracy")
            undefined.update({m: why for m in pooled + (("npv", "for") if known_not == 0 else ())})
    if selected == 0:
        kind = "nobody was selected"
    out = {"kind": kind, "has_outcome": has_truth, "rows": int(low.sum()), "selected": int(selected),
           "not_selected": int(not_selected), "undefined_metrics": undefined}
    if table.bounded:  # suppressed cells: the counts above are the low ends; the ranges are stated too
        high = table.high.reshape(-1, 2, 3).sum(axis=0)
        out.update(rows_bounds=[int(low.sum()), int(high.sum())], selected_bounds=[int(selected), int(high[1].sum())],
                   not_selected_bounds=[int(not_selected), int(high[0].sum())])
    return out


def comparison_metrics(spec: AuditSpec, design: dict) -> list[str]:
    """Rates compared between groups: as asked, else the standard set the data can support."""
    if spec.metrics:
        return list(spec.metrics)
    wanted = ["selection_rate"] + (["base_rate", "tpr", "fpr", "fnr", "ppv"] if design["has_outcome"] else [])
    return [m for m in wanted if m not in design["undefined_metrics"]]


def attribute_subsets(protected: tuple[str, ...], max_depth: int | None) -> list[tuple[str, ...]]:
    """Every attribute and every intersection up to ``max_depth`` attributes (default: all)."""
    depth = len(protected) if max_depth is None else min(max_depth, len(protected))
    return [c for k in range(1, depth + 1) for c in combinations(protected, k)]


def _group_record(gt: GroupTable, i: int, ref: int, design: dict, spec: AuditSpec, reference_for: list) -> dict:
    n_low = gt.n(i)
    rec: dict[str, Any] = {"attribute": gt.name, "attributes": list(gt.attributes), "group": gt.label(i),
           "levels": dict(zip(gt.attributes, gt.labels[i])), "is_reference": i == ref,
           "reference_for": reference_for}
    rec.update(count_record(gt, i, design["has_outcome"]))
    rec.update({"empty": gt.n(i, high=True) == 0, "small": n_low < spec.min_group_size,
                "missing_group": MISSING in gt.labels[i], "suppressed": rec["bounds"] is not None})
    for name in ("share_of_population", "share_of_selected", *METRICS):
        if name == "balanced_accuracy":
            continue
        rec[name] = rate_record(gt.rates[name], i, design["undefined_metrics"].get(name))
    rec["balanced_accuracy"] = _balanced_record(gt, i, design)
    return rec


def _balanced_record(gt: GroupTable, i: int, design: dict) -> dict:
    lower, upper, ci_low, ci_high = (a[i] for a in gt.balanced)
    reason = design["undefined_metrics"].get("balanced_accuracy")
    if not reason and not (np.isfinite(lower) and np.isfinite(upper)):
        reason = "undefined: the group lacks positive or negative outcomes (tpr or tnr undefined)"
    if reason:
        return {"value": None, "reason": reason, "bounds": None, "ci_low": None, "ci_high": None,
                "interval": "normal (two independent binomials)"}
    return {"value": float(lower) if lower == upper else None, "reason": None,
            "bounds": [float(lower), float(upper)] if lower != upper else None,
            "ci_low": float(ci_low), "ci_high": float(ci_high), "interval": "normal (two independent binomials)"}


_RATIO_CI_METHOD = "katz log"
_ZERO_RULE = ("katz log, 0.5 added to each count (a zero count); the limit on the estimate's side is the "
              "estimate itself (0 or unbounded), so the interval contains the ratio")


def _comparison(gt: GroupTable, i: int, ref: int, metric: str, spec: AuditSpec, design: dict,
                varies: str | None = None) -> dict:
    """Every documented key of a comparison record, null with a reason in ``null_reasons`` when undefined.

    ``varies``: the attribute whose level differs from the reference's (a single attribute: itself).
    """
    if varies is None and len(gt.attributes) == 1:
        varies = gt.attributes[0]
    r = gt.rates[metric]
    held = {} if varies is None or len(gt.attributes) == 1 else \
        {a: lv for a, lv in zip(gt.attributes, gt.labels[i]) if a != varies}
    rec: dict[str, Any] = {
        "attribute": gt.name, "group": gt.label(i), "reference": gt.label(ref), "varies": varies, "held": held,
        "metric": metric, "group_rate": rate_record(r, i), "reference_rate": rate_record(r, ref)}
    rec.update(dict.fromkeys(_FIGURES))
    rec.update(ratio_ci=[None, None], difference_ci=[None, None], test=_TEST[spec.test], status=None,
               reason=None, null_reasons={})
    undefined = design["undefined_metrics"].get(metric) or r.reason(i) or r.reason(ref)
    if undefined:
        rec.update(status="undefined", reason=undefined)
        rec["null_reasons"] = {k: undefined for k in _FIGURES if k not in _ONLY_WHEN_BOUNDED}
        rec["null_reasons"].update(ratio_ci=undefined, difference_ci=undefined)
        rec["screening_band"] = _band(None, None, spec.screening_band) if metric == "selection_rate" else None
        return rec
    c = compare((r.k_low[i], r.n_low[i], r.k_high[i], r.n_high[i]),
                (r.k_low[ref], r.n_low[ref], r.k_high[ref], r.n_high[ref]), spec.level, spec.test)
    bounded = c.ratio[0] != c.ratio[1] or c.difference[0] != c.difference[1]
    rec.update(ratio=None if bounded else _f(c.ratio[0]), ratio_ci=[_f(c.ratio_ci[0]), _f(c.ratio_ci[1])],
               ratio_ci_method=_ZERO_RULE if c.zero_corrected else _RATIO_CI_METHOD,
               difference=None if bounded else _f(c.difference[0]),
               difference_ci=[_f(c.difference_ci[0]), _f(c.difference_ci[1])], p_value=_f(c.p_value[1]))
    if bounded:
        rec.update(ratio_bounds=[_f(c.ratio[0]), _f(c.ratio[1])],
                   difference_bounds=[_f(c.difference[0]), _f(c.difference[1])],
                   p_value_bounds=[_f(c.p_value[0]), _f(c.p_value[1])],
                   note="depends on suppressed cells: figures are bounds; the largest p-value is used")
    rec.update(_power_record(r, i, ref, spec))
    rec["screening_band"] = _band(*c.ratio, spec.screening_band) if metric == "selection_rate" else None
    small = min(r.n_low[i], r.n_low[ref]) < spec.min_group_size
    if small:
        rec.update(status="insufficient_evidence",
                   reason=f"fewer than {spec.min_group_size} rows in the denominator of the group or reference")
    rec["null_reasons"] = _null_reasons(rec, bounded)
    return rec


#: Figures of a comparison record, in order; the ``*_bounds`` keys are null unless cells are suppressed.
_FIGURES = ("ratio", "ratio_ci", "ratio_ci_method", "ratio_bounds", "difference", "difference_ci",
            "difference_bounds", "test", "p_value", "p_value_bounds", "p_holm", "p_bh", "min_detectable_ratio",
            "min_detectable_ratio_below", "power", "screening_band", "note")
_ONLY_WHEN_BOUNDED = ("ratio_bounds", "difference_bounds", "p_value_bounds", "note", "screening_band", "test",
                      "p_holm", "p_bh")
_TEST = {"fisher": "fisher_exact", "chi2": "chi2_pearson"}


def _band(ratio_lo: float | None, ratio_hi: float | None, band: tuple[float, float]) -> dict:
    lo, hi = band
    # With suppressed cells the ratio is a range: outside only if the whole range is, inside only
    # if the whole range is, otherwise undetermined (None), never a silent 'inside'.
    outside = None
    if ratio_lo is not None and ratio_hi is not None and not (np.isnan(ratio_lo) or np.isnan(ratio_hi)):
        outside = True if (ratio_hi < lo or ratio_lo > hi) else False if (lo <= ratio_lo and ratio_hi <= hi) else None
    name = ("four-fifths screening band (a rule of thumb, not a test)" if band == FOUR_FIFTHS else
            f"screening band {lo:g} to {hi:g}, set for this audit (a rule of thumb, not a test)")
    return {"name": name, "low": lo, "high": hi, "ratio_outside": outside}


def _power_record(r: Any, i: int, ref: int, spec: AuditSpec) -> dict:
    """Minimum detectable ratios at the audit's alpha and 80% power (normal approximation, Cohen's h).

    With suppressed cells the smallest denominators and the least favourable reference rate the
    bounds allow are used: the detectable ratio reported is then the largest of the possible ones.
    """
    n1, n0 = float(r.n_low[i]), float(r.n_low[ref])
    basis = {"alpha": spec.alpha, "power": POWER, "two_sided": True,
             "method": "normal approximation, Cohen's h (arcsine); Fisher's test and the multiple-testing "
                       "adjustment need larger ratios still"}
    if not (n1 > 0 and n0 > 0):
        why = "undefined: a denominator is 0 at the low end of the suppression bounds"
        return {"min_detectable_ratio": None, "min_detectable_ratio_below": None, "power": basis, "_mdr": (why, why)}
    rates = {float(r.lower[ref]), float(r.upper[ref])}
    found = [minimum_detectable_ratio(n1, n0, p0, spec.alpha, POWER) for p0 in sorted(rates) if np.isfinite(p0)]
    above = [m.above for m in found]
    below = [m.below for m in found]
    rec = {"min_detectable_ratio": None if None in above else max(above),
           "min_detectable_ratio_below": None if None in below else min(below), "power": basis}
    reason_above = next((m.reason_above for m in found if m.reason_above), None)
    reason_below = next((m.reason_below for m in found if m.reason_below), None)
    rec["_mdr"] = (reason_above, reason_below)
    return rec


def _null_reasons(rec: dict, bounded: bool) -> dict:
    reasons: dict[str, str] = {}
    mdr_above, mdr_below = rec.pop("_mdr", (None, None))
    if bounded:
        for k in ("ratio", "difference"):
            reasons[k] = f"a range: it depends on suppressed cells; see {k}_bounds"
    elif rec["ratio"] is None:
        reasons["ratio"] = "undefined: the reference rate is 0"
    if rec["ratio_ci"][1] is None:
        reasons["ratio_ci"] = "upper limit unbounded (infinite): the reference rate is 0 or may be 0"
    if rec["p_value"] is None:
        reasons["p_value"] = "undefined: a denominator is 0"
    if rec["min_detectable_ratio"] is None:
        reasons["min_detectable_ratio"] = mdr_above or "undefined"
    if rec["min_detectable_ratio_below"] is None:
        reasons["min_detectable_ratio_below"] = mdr_below or "undefined"
    return reasons


def _f(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _subset_references(gt: GroupTable, ref: int, mode: str, levels: dict[str, str | None]) -> list[tuple]:
    """The comparison plans of one attribute subset: ``(varies, reference index per group)``.

    A single attribute, or ``single`` mode: every group against ``ref``.  ``within`` mode, for an
    intersection: per attribute, each cell against the cell with that attribute at its reference
    level and the other attributes at the cell's own levels (-1 where the cell is that reference).
    """
    n = len(gt.labels)
    if len(gt.attributes) == 1 or mode == "single":
        varies = gt.attributes[0] if len(gt.attributes) == 1 else None
        return [(varies, np.array([ref if i != ref else -1 for i in range(n)]))] if ref >= 0 else []
    index = {lab: i for i, lab in enumerate(gt.labels)}
    plans = []
    for j, attr in enumerate(gt.attributes):
        level = levels.get(attr)
        if level is None:
            continue
        refs = np.array([-1 if lab[j] == level else index[lab[:j] + (level,) + lab[j + 1:]] for lab in gt.labels])
        plans.append((attr, refs))
    return plans


def measure_groups(table: CountTable, spec: AuditSpec, design: dict) -> tuple[list, list, list, dict]:
    """Attribute summaries, group records and comparisons for every subset of the protected attributes.

    The fourth item maps each subset to its :class:`GroupTable` and comparison plans (see
    :func:`_subset_references`), which the bootstrap follows.
    """
    attributes, groups, comparisons, tables = [], [], [], {}
    metrics = comparison_metrics(spec, design)
    levels: dict[str, str | None] = {}
    for subset in attribute_subsets(spec.protected, spec.max_depth):
        gt = group_table(table, subset, spec.level)
        ref, how = choose_reference(gt, dict(spec.references), spec.reference_rule, spec.min_group_size,
                                    spec.selection_is)
        if len(subset) == 1:
            levels[subset[0]] = gt.labels[ref][0] if ref >= 0 else None
        within = len(subset) > 1 and spec.intersection_reference == "within"
        if within:
            ref, how = _within_reference(gt, subset, levels)
        plans = _subset_references(gt, ref, spec.intersection_reference, levels)
        tables[subset] = (gt, plans)
        # The attributes for which each cell is the reference (every attribute for the one reference cell).
        reference_for = {i: [x for a, refs in plans if i in refs for x in ((a,) if a else subset)]
                         for i in range(len(gt.labels))}
        records = [_group_record(gt, i, ref, design, spec, reference_for[i]) for i in range(len(gt.labels))]
        groups += records
        attributes.append({"attribute": gt.name, "attributes": list(subset),
                           "reference": gt.label(ref) if ref >= 0 else None, "reference_rule": how,
                           "intersection_reference": (spec.intersection_reference if len(subset) > 1 else None),
                           "reference_levels": {a: levels.get(a) for a in subset} if within else None,
                           "groups": len(records), "groups_empty": sum(r["empty"] for r in records),
                           "groups_small": sum(r["small"] for r in records)})
        for metric in metrics:
            for varies, refs in plans:
                comparisons += [_comparison(gt, i, int(refs[i]), metric, spec, design, varies)
                                for i in range(len(gt.labels)) if refs[i] >= 0]
    return attributes, groups, comparisons, tables


def _within_reference(gt: GroupTable, subset: tuple[str, ...], levels: dict[str, str | None]) -> tuple[int, str]:
    """The cell with every attribute at its reference level, and the sentence that says how each is compared."""
    wanted = tuple(levels.get(a) for a in subset)
    ref = gt.labels.index(wanted) if None not in wanted and wanted in gt.labels else -1
    parts = "; ".join(f"{a}: {levels.get(a)}" for a in subset)
    how = (f"within: for each attribute, its reference level ({parts}) with the other attributes' levels held "
           "fixed (each cell has one comparison per attribute)")
    return ref, how


def adjust_family(records: list[dict], spec: AuditSpec) -> dict:
    """Holm and Benjamini–Hochberg over every reported test that can carry a verdict; set each status."""
    family = [r for r in records if r.get("status") is None and r.get("p_value") is not None]
    p = np.array([r["p_value"] for r in family], dtype=float)
    holm, bh = holm_adjust(p), bh_adjust(p)
    for r, ph, pb in zip(family, holm, bh):
        r["p_holm"], r["p_bh"] = float(ph), float(pb)
        decisive = ph if spec.adjust == "holm" else pb
        r["status"] = "difference_detected" if decisive < spec.alpha else "no_difference_detected"
    for r in records:
        if r.get("status") is None:
            r["status"] = "undefined"
            r["reason"] = r.get("reason") or "undefined: no p-value"
        r.setdefault("p_holm", None)
        r.setdefault("p_bh", None)
        if r["p_holm"] is None and isinstance(r.get("null_reasons"), dict):
            why = f"not adjusted: outside the testing family ({r['status'].replace('_', ' ')})"
            r["null_reasons"].update(p_holm=why, p_bh=why)
    return {"family_size": len(family), "adjustments": ["holm", "benjamini-hochberg"],
            "status_uses": spec.adjust, "alpha": spec.alpha,
            "excluded": "comparisons with insufficient evidence or an undefined rate"}
