"""Over time: every comparison per period, a trend and a homogeneity test of each ratio, and persistence.

An audit whose count table has a dimension of role ``"period"`` (``--period COL``) gets, besides its
overall figures (summed over the periods), the ``periods`` key of the results:

* ``per_period``: for each period (chronological order), the same group records and comparisons as
  the overall audit for each single attribute (not intersections), computed from that period's slice of
  the count table, against the **same
  reference group** as the overall audit (so that a ratio means the same thing in every period);
* ``over_time``: per group, reference and rate, the series of ratios, a **trend** test (weighted
  regression of the log ratio on the period index, :func:`~auditkit.measure._trend.ratio_trend`), a
  **homogeneity** test of the odds ratio across periods (Breslow–Day with Tarone's correction, the
  test the stratified analysis uses), and the **persistence** of the difference: the periods in
  which it was detected, the runs of consecutive such periods and the Mantel–Haenszel pooled ratio
  over each run;
* ``shifts``: period boundaries at which a run of detected differences for one group ended and one
  for another group began (a disparity that moved rather than vanished).

Every per-period comparison, trend and homogeneity test joins the audit's testing family (Holm or
Benjamini–Hochberg, as the audit says), so "detected" means after the same correction as every
other figure.  A persistence statement rests on the per-period tests, never on a pooled estimate.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..spec import AuditSpec
from ._counts import MISSING, CountTable, Dimension
from ._stratified import mantel_haenszel
from ._trend import log_ratio_terms, mh_rate_ratio, ratio_trend, runs
from .groups import group_table
from .run import _comparison, _group_record, comparison_metrics, design_of

__all__ = ["finish_periods", "measure_periods", "period_dimension", "period_family", "period_unit"]

_TREND_METHOD = ("weighted least squares of the log rate ratio on the period index (0, 1, ...), weights 1/variance "
                 "(Katz; 0.5 added to each count in a period with a zero numerator); variance multiplied by the "
                 "residual dispersion when it exceeds 1 (then Student's t)")
_POOLED_METHOD = "Mantel–Haenszel rate ratio, Greenland–Robins interval"
_BOUNDED = "not computed: the table has suppressed cells, whose bounds do not carry through pooled estimates"


def period_dimension(table: CountTable) -> Dimension | None:
    """The table's dimension of role ``"period"``, or None."""
    return next((d for d in table.dims if d.role == "period"), None)


def period_unit(levels: tuple[str, ...] | list[str], freq: str | None = None) -> str:
    """What one period is: ``year``, ``quarter``, ``month``, ``week``, ``day`` or ``period``.

    From the frequency when given (``Y``/``A``, ``Q``, ``M``, ``W``, ``D``, or the word), otherwise from
    the labels' form.

    >>> period_unit(["2014", "2015"]), period_unit(["2020-01", "2020-02"]), period_unit(["2020Q1"], None)
    ('year', 'month', 'quarter')
    """
    words = {"y": "year", "a": "year", "year": "year", "q": "quarter", "quarter": "quarter", "m": "month",
             "month": "month", "w": "week", "week": "week", "d": "day", "day": "day"}
    if freq:
        key = re.sub(r"[^a-z]", "", str(freq).lower().split("-")[0])
        return words.get(key, words.get(key[:1], "period"))
    forms = (("year", r"\d{4}"), ("quarter", r"\d{4}-?Q[1-4]"), ("month", r"\d{4}-\d{2}"),
             ("day", r"\d{4}-\d{2}-\d{2}"), ("week", r"\d{4}-W\d{2}"))
    for unit, pattern in forms:
        if levels and all(re.fullmatch(pattern, str(lv)) for lv in levels):
            return unit
    return "period"


def _reference_index(gt: Any, attributes: list[dict]) -> int:
    label = next((a["reference"] for a in attributes if a["attributes"] == list(gt.attributes)), None)
    labels = [gt.label(i) for i in range(len(gt.labels))]
    return labels.index(label) if label in labels else -1


def _period_design(sl: CountTable, design: dict) -> dict:
    d = design_of(sl, design["has_outcome"])
    # A rate the whole audit cannot measure is not measurable in any period either.
    d["undefined_metrics"] = {**design["undefined_metrics"], **d["undefined_metrics"]}
    return d


def _one_period(sl: CountTable, spec: AuditSpec, design: dict, tables: dict, attributes: list[dict],
                metrics: list[str]) -> tuple[dict, list, list]:
    d = _period_design(sl, design)
    groups, comparisons = [], []
    for subset, (_, plans) in tables.items():
        if len(subset) > 1:  # see measure_periods: single attributes only
            continue
        gt = group_table(sl, subset, spec.level)
        ref = _reference_index(gt, attributes)
        reference_for = {i: [x for a, refs in plans if i in refs for x in ((a,) if a else subset)]
                         for i in range(len(gt.labels))}
        groups += [_group_record(gt, i, ref, d, spec, reference_for[i]) for i in range(len(gt.labels))]
        for metric in metrics:
            for varies, refs in plans:
                comparisons += [_comparison(gt, i, int(refs[i]), metric, spec, d, varies)
                                for i in range(len(gt.labels)) if refs[i] >= 0]
    keep = ("kind", "has_outcome", "rows", "selected", "not_selected", "undefined_metrics", "rows_bounds",
            "selected_bounds", "not_selected_bounds")
    return {k: v for k, v in d.items() if k in keep}, groups, comparisons


def measure_periods(table: CountTable, spec: AuditSpec, design: dict, tables: dict,
                    attributes: list[dict]) -> dict | None:
    """The ``periods`` record before multiple testing (see the module docstring); None without a period.

    ``tables`` and ``attributes`` are the overall audit's (from :func:`~auditkit.measure.run.measure_groups`):
    each period is compared against the same references, with the same comparison plans.  Per period only
    single attributes are measured: intersections are measured over all periods together (per period their
    cells are small, and each attribute added multiplies the tests by the number of periods: three
    attributes with their intersections over 20 periods made 11,868 tests and took 20 s, the single
    attributes alone take a tenth of that).
    Call :func:`period_family` for the tests to adjust and :func:`finish_periods` after adjusting.
    """
    dim = period_dimension(table)
    if dim is None:
        return None
    metrics = comparison_metrics(spec, design)
    # Rows without a period value (the '(missing)' level) have no place in time: they count in the overall
    # figures, in no period.
    timed = tuple(lv for lv in dim.levels if lv != MISSING)
    untimed = int(table.select(dim.name, MISSING).total) if MISSING in dim.levels else 0
    per_period = []
    for t, label in enumerate(timed):
        d, groups, comparisons = _one_period(table.select(dim.name, label), spec, design, tables, attributes, metrics)
        per_period.append({"period": label, "index": t, "design": d, "groups": groups, "comparisons": comparisons})
    over_time = [_over_time(per_period, j, spec, table.bounded) for j in range(len(per_period[0]["comparisons"]))] \
        if per_period else []
    unit = "period" if spec.period_order else period_unit(timed, spec.period_freq)
    return {"column": dim.name, "unit": unit, "levels": list(timed), "rows_without_period": untimed,
            "index": "position in chronological order, from 0; the trend test takes the periods as equally spaced",
            "metrics": metrics, "per_period": per_period, "over_time": over_time, "shifts": [],
            "multiple_testing": "every per-period comparison and every trend and homogeneity test joined the "
                                "audit's testing family"}


def _identity(c: dict) -> dict:
    return {k: c[k] for k in ("attribute", "group", "reference", "varies", "held", "metric")}


def _counts(c: dict) -> tuple[float, float, float, float] | None:
    g, r = c["group_rate"], c["reference_rate"]
    if c["status"] == "undefined":
        return None
    return float(g["numerator"]), float(g["denominator"]), float(r["numerator"]), float(r["denominator"])


def _test_record(test: str, keys: tuple[str, ...]) -> dict:
    rec: dict[str, Any] = {"test": test, **dict.fromkeys(keys), "p_value": None, "p_holm": None, "p_bh": None,
                           "status": None, "reason": None}
    return rec


def _undefined(rec: dict, why: str) -> dict:
    rec.update(status="undefined", reason=why)
    return rec


def _f(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _trend_record(cells: np.ndarray, index: np.ndarray, spec: AuditSpec, bounded: bool) -> dict:
    rec = _test_record("weighted regression of the log rate ratio on the period index",
                       ("ratio_change_per_period", "ratio_change_ci", "slope_log_ratio", "statistic",
                        "reference_distribution", "dispersion", "fitted_first", "fitted_last", "periods_used"))
    rec["method"] = _TREND_METHOD
    if bounded:
        return _undefined(rec, _BOUNDED)
    y, v, ok = log_ratio_terms(*cells.T)
    fit = ratio_trend(y[ok], v[ok], index[ok], spec.level)
    rec["periods_used"] = int(ok.sum())
    if fit.periods_used < 3:
        return _undefined(rec, "undefined: fewer than three periods in which both rates are defined and some "
                               "row is in a numerator")
    used = index[ok]
    rec.update(ratio_change_per_period=_f(np.exp(fit.slope)),
               ratio_change_ci=[_f(np.exp(fit.slope_ci[0])), _f(np.exp(fit.slope_ci[1]))],
               slope_log_ratio=_f(fit.slope), statistic=_f(fit.statistic),
               reference_distribution=fit.reference_distribution, dispersion=_f(fit.dispersion),
               fitted_first=_f(np.exp(fit.intercept + fit.slope * used[0])),
               fitted_last=_f(np.exp(fit.intercept + fit.slope * used[-1])), p_value=_f(fit.p_value))
    n_group = cells[ok, 1].sum()
    n_ref = cells[ok, 3].sum()
    if min(n_group, n_ref) < spec.min_group_size:
        rec.update(status="insufficient_evidence", reason=f"fewer than {spec.min_group_size} rows of the group "
                   f"({int(n_group)}) or the reference ({int(n_ref)}) in the periods used")
    return rec


def _homogeneity_record(cells: np.ndarray, spec: AuditSpec, bounded: bool) -> dict:
    rec = _test_record("breslow_day_tarone", ("statistic", "df", "mh_odds_ratio", "mh_odds_ratio_ci",
                                              "strata_used"))
    rec["compares"] = "odds ratios of the group against the reference across periods"
    if bounded:
        return _undefined(rec, _BOUNDED)
    k1, n1, k0, n0 = cells.T
    tables = np.stack([np.stack([k1, n1 - k1], -1), np.stack([k0, n0 - k0], -1)], axis=1)
    mh = mantel_haenszel(tables, level=spec.level)
    used = int(mh["strata_used"])
    rec.update(statistic=_f(mh["breslow_day_statistic"]), df=max(used - 1, 0), strata_used=used,
               mh_odds_ratio=_f(mh["odds_ratio"]), mh_odds_ratio_ci=[_f(mh["ci_low"]), _f(mh["ci_high"])],
               p_value=_f(mh["breslow_day_p"]))
    if rec["p_value"] is None:
        return _undefined(rec, "undefined: fewer than two periods with both groups and both outcomes of the "
                               "rate, or a pooled odds ratio of 0 or infinity")
    return rec


def _over_time(per_period: list[dict], j: int, spec: AuditSpec, bounded: bool) -> dict:
    series = [p["comparisons"][j] for p in per_period]
    rec: dict[str, Any] = _identity(series[0])
    rows = [_counts(c) for c in series]
    defined = np.array([r is not None for r in rows])
    cells = np.array([r if r is not None else (0.0, 0.0, 0.0, 0.0) for r in rows], dtype=float).reshape(-1, 4)
    index = np.arange(len(series), dtype=float)
    rec["series"] = [{"period": p["period"], "ratio": c["ratio"], "ratio_ci": c["ratio_ci"],
                      "ratio_bounds": c["ratio_bounds"], "group_rate": c["group_rate"].get("value"),
                      "reference_rate": c["reference_rate"].get("value"), "status": c["status"]}
                     for p, c in zip(per_period, series)]
    rec["trend"] = _trend_record(cells[defined], index[defined], spec, bounded)
    rec["homogeneity"] = _homogeneity_record(cells[defined], spec, bounded)
    rec["persistence"] = None  # after multiple testing: finish_periods
    rec["_cells"] = cells
    return rec


def period_family(periods: dict | None) -> list[dict]:
    """The records of ``periods`` that join the audit's testing family."""
    if not periods:
        return []
    out = [c for p in periods["per_period"] for c in p["comparisons"]]
    return out + [o[k] for o in periods["over_time"] for k in ("trend", "homogeneity")]


def _direction(c: dict) -> int:
    lo, hi = (c["ratio"], c["ratio"]) if c.get("ratio") is not None else tuple(c.get("ratio_bounds") or (None, None))
    if lo is None or hi is None:
        return 0
    return 1 if lo > 1 else -1 if hi < 1 else 0


def _persistence(rec: dict, levels: list[str], spec: AuditSpec, bounded: bool) -> dict:
    detected = [s["status"] == "difference_detected" for s in rec["series"]]
    direction = [_direction(s) for s in rec["series"]]
    found = runs(detected, direction)
    cells = rec.pop("_cells")
    out_runs = []
    for r in found:
        pooled: dict[str, Any] = {"method": _POOLED_METHOD, "ratio": None, "ratio_ci": [None, None], "reason": None}
        if bounded:
            pooled["reason"] = _BOUNDED
        else:
            ratio, lo, hi = mh_rate_ratio(*cells[r.first:r.last + 1].T, level=spec.level)
            pooled.update(ratio=_f(ratio), ratio_ci=[_f(lo), _f(hi)])
        out_runs.append({"first": levels[r.first], "last": levels[r.last], "first_index": r.first,
                         "last_index": r.last, "length": r.length, "direction": "higher" if r.direction > 0 else
                         "lower", "pooled": pooled})
    longest = max(range(len(found)), key=lambda i: (found[i].length, found[i].first), default=None)
    tested = [s["status"] in ("difference_detected", "no_difference_detected") for s in rec["series"]]
    return {"detected_in": [lv for lv, d in zip(levels, detected) if d],
            "not_detected_in": [lv for lv, d, t in zip(levels, detected, tested) if t and not d],
            "not_tested_in": [lv for lv, t in zip(levels, tested) if not t],
            "periods_detected": sum(detected), "periods_tested": sum(tested), "periods": len(levels),
            "every_period": bool(found) and found[0].length == len(levels), "runs": out_runs,
            "longest_run": longest}


def _shifts(over_time: list[dict], levels: list[str]) -> list[dict]:
    """Boundaries where a run (2+ periods) of one group ended and a run of another group of the same rate began
    (lasting 2+ periods, or starting in the last period)."""
    last = len(levels) - 1
    out = []
    for t in range(1, len(levels)):
        for metric in dict.fromkeys(o["metric"] for o in over_time):
            mine = [o for o in over_time if o["metric"] == metric]
            ended = [(o, r) for o in mine for r in o["persistence"]["runs"]
                     if r["last_index"] == t - 1 and r["length"] >= 2]
            began = [(o, r) for o in mine for r in o["persistence"]["runs"]
                     if r["first_index"] == t and (r["length"] >= 2 or t == last)]
            if ended and began:
                def who(pairs: list) -> list[dict]:
                    return [{**{k: o[k] for k in ("attribute", "group", "reference", "varies")},
                             "run": [r["first"], r["last"]], "direction": r["direction"]} for o, r in pairs]
                out.append({"metric": metric, "period": levels[t], "previous": levels[t - 1],
                            "ended": who(ended), "began": who(began)})
    return out


def finish_periods(periods: dict | None, spec: AuditSpec, bounded: bool) -> None:
    """After the testing family is adjusted: persistence of every ratio, and the shifts between groups."""
    if not periods:
        return
    for j, rec in enumerate(periods["over_time"]):  # over_time[j] follows comparisons[j] of every period
        for s, p in zip(rec["series"], periods["per_period"]):
            s["status"] = p["comparisons"][j]["status"]
        rec["persistence"] = _persistence(rec, periods["levels"], spec, bounded)
    periods["shifts"] = _shifts(periods["over_time"], periods["levels"])
