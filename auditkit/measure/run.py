"""From a count table to the results document: groups, comparisons, the testing family."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from ..spec import METRICS, AuditSpec
from ._counts import MISSING, CountTable
from ._stats import bh_adjust, holm_adjust
from .compare import compare
from .groups import GroupTable, choose_reference, count_record, group_table, rate_record

__all__ = ["adjust_family", "attribute_subsets", "comparison_metrics", "design_of", "measure_groups"]

SCREENING_BAND = (0.8, 1.25)


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


def _group_record(gt: GroupTable, i: int, ref: int, design: dict, spec: AuditSpec) -> dict:
    n_low = gt.n(i)
    rec: dict[str, Any] = {"attribute": gt.name, "attributes": list(gt.attributes), "group": gt.label(i),
           "levels": dict(zip(gt.attributes, gt.labels[i])), "is_reference": i == ref}
    rec.update(count_record(gt, i, design["has_outcome"]))
    rec.update({"empty": gt.n(i, high=True) == 0, "small": n_low < spec.min_group_size,
                "missing_group": MISSING in gt.labels[i], "suppressed": "bounds" in rec})
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
        return {"value": None, "reason": reason, "ci_low": None, "ci_high": None, "interval": "normal"}
    rec: dict[str, Any] = {"value": float(lower) if lower == upper else None}
    if lower != upper:
        rec["bounds"] = [float(lower), float(upper)]
    rec.update(ci_low=float(ci_low), ci_high=float(ci_high), interval="normal (two independent binomials)")
    return rec


def _comparison(gt: GroupTable, i: int, ref: int, metric: str, spec: AuditSpec, design: dict) -> dict:
    r = gt.rates[metric]
    rec: dict[str, Any] = {"attribute": gt.name, "group": gt.label(i), "reference": gt.label(ref), "metric": metric,
           "group_rate": rate_record(r, i), "reference_rate": rate_record(r, ref)}
    undefined = design["undefined_metrics"].get(metric) or r.reason(i) or r.reason(ref)
    if undefined:
        return {**rec, "status": "undefined", "reason": undefined}
    c = compare((r.k_low[i], r.n_low[i], r.k_high[i], r.n_high[i]),
                (r.k_low[ref], r.n_low[ref], r.k_high[ref], r.n_high[ref]), spec.level, spec.test)
    bounded = c.ratio[0] != c.ratio[1] or c.difference[0] != c.difference[1]
    rec.update(
        ratio=_f(c.ratio[0]) if not bounded else None, ratio_ci=[_f(c.ratio_ci[0]), _f(c.ratio_ci[1])],
        difference=_f(c.difference[0]) if not bounded else None,
        difference_ci=[_f(c.difference_ci[0]), _f(c.difference_ci[1])],
        test="fisher_exact" if spec.test == "fisher" else "chi2_pearson",
        p_value=_f(c.p_value[1]))
    if bounded:
        rec.update(ratio_bounds=[_f(c.ratio[0]), _f(c.ratio[1])],
                   difference_bounds=[_f(c.difference[0]), _f(c.difference[1])],
                   p_value_bounds=[_f(c.p_value[0]), _f(c.p_value[1])],
                   note="depends on suppressed cells: figures are bounds; the largest p-value is used")
    if c.zero_corrected:
        rec["ratio_ci_method"] = "katz log with 0.5 added (a zero count)"
    if metric == "selection_rate":
        lo, hi = SCREENING_BAND
        ratio_lo, ratio_hi = c.ratio
        # With suppressed cells the ratio is a range: outside only if the whole range is, inside only
        # if the whole range is, otherwise undetermined (None), never a silent 'inside'.
        outside = True if (ratio_hi < lo or ratio_lo > hi) else False if (lo <= ratio_lo and ratio_hi <= hi) else None
        rec["screening_band"] = {"name": "four-fifths screening band (a rule of thumb, not a test)",
                                 "low": lo, "high": hi, "ratio_outside": outside}
    small = min(r.n_low[i], r.n_low[ref]) < spec.min_group_size
    if small:
        rec.update(status="insufficient_evidence",
                   reason=f"fewer than {spec.min_group_size} rows in the denominator of the group or reference")
    return rec


def _f(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def measure_groups(table: CountTable, spec: AuditSpec, design: dict) -> tuple[list, list, list, dict]:
    """Attribute summaries, group records and comparisons for every subset of the protected attributes."""
    attributes, groups, comparisons, tables = [], [], [], {}
    metrics = comparison_metrics(spec, design)
    for subset in attribute_subsets(spec.protected, spec.max_depth):
        gt = group_table(table, subset, spec.level)
        tables[subset] = gt
        ref, how = choose_reference(gt, dict(spec.references), spec.reference_rule, spec.min_group_size,
                                    spec.selection_is)
        records = [_group_record(gt, i, ref, design, spec) for i in range(len(gt.labels))]
        groups += records
        attributes.append({"attribute": gt.name, "attributes": list(subset),
                           "reference": gt.label(ref) if ref >= 0 else None, "reference_rule": how,
                           "groups": len(records), "groups_empty": sum(r["empty"] for r in records),
                           "groups_small": sum(r["small"] for r in records)})
        if ref < 0:
            continue
        for metric in metrics:
            comparisons += [_comparison(gt, i, ref, metric, spec, design) for i in range(len(gt.labels)) if i != ref]
    return attributes, groups, comparisons, tables


def adjust_family(records: list[dict], spec: AuditSpec) -> dict:
    """Holm and Benjamini–Hochberg over every reported test that can carry a verdict; set each status."""
    family = [r for r in records if "status" not in r and r.get("p_value") is not None]
    p = np.array([r["p_value"] for r in family], dtype=float)
    holm, bh = holm_adjust(p), bh_adjust(p)
    for r, ph, pb in zip(family, holm, bh):
        r["p_holm"], r["p_bh"] = float(ph), float(pb)
        decisive = ph if spec.adjust == "holm" else pb
        r["status"] = "difference_detected" if decisive < spec.alpha else "no_difference_detected"
    for r in records:
        r.setdefault("status", "undefined")
        r.setdefault("p_holm", None)
        r.setdefault("p_bh", None)
    return {"family_size": len(family), "adjustments": ["holm", "benjamini-hochberg"],
            "status_uses": spec.adjust, "alpha": spec.alpha,
            "excluded": "comparisons with insufficient evidence or an undefined rate"}
