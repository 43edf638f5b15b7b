"""How a model's scores behave by group beyond one threshold: calibration, ROC/AUC and a threshold sweep.

A disparity at the agency's operating point is one number; whether the score *means* the same for
every group, and whether the disparity is an artefact of where the line is drawn, needs the whole
score distribution (the threshold test of Simoiu, Corbett-Davies & Goel 2017 explains why an outcome
test at one threshold can mislead: infra-marginality).  Per group:

* **calibration**: the observed outcome rate per score bin (bins are the deciles of the pooled scores,
  the same edges for every group), with Wilson intervals; for probability scores also
  *calibration-in-the-large*: the observed rate minus the mean predicted probability, with a z-test
  whose variance ``sum p(1 - p) / n²`` is that of the outcome count if the scores were calibrated
  (the test in Spiegelhalter 1986's family; Van Calster et al. 2019, "Calibration: the Achilles heel");
* **discrimination**: the AUC (the probability that a random positive case scores above a random
  negative one, ties counting half) with DeLong et al.'s (1988) variance, its interval on the logit
  scale so that it stays inside [0, 1]; and ROC points;
* **thresholds**: selection rate, false positive and false negative rates at a grid of top-k% cut-offs
  and at the agency's operating point, each with n, Wilson interval and its ratio to the reference group
  (Katz interval).

All of it needs outcomes that are not selected on: computed over rows whose outcome is known only when
the design allows it (see :func:`calibration_rows`).  Pure functions of arrays: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._stats import katz_ratio_interval, wilson_interval, z_value

__all__ = ["SWEEP_TOPS", "auc_delong", "calibration_bins", "calibration_in_the_large", "roc_points",
           "score_behaviour", "threshold_sweep"]

#: Top-k% cut-offs of the threshold sweep (percent of the rows, highest scores first).
SWEEP_TOPS = (1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0)
_ROC_POINTS = 101


def _rate(k: int, n: int, level: float) -> dict:
    low, high = wilson_interval(k, n, level)
    return {"value": float(k / n) if n else None, "ci_low": float(low) if n else None,
            "ci_high": float(high) if n else None, "numerator": int(k), "denominator": int(n)}


def _midranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank."""
    order = np.argsort(x, kind="mergesort")
    sx = x[order]
    starts = np.flatnonzero(np.r_[True, sx[1:] != sx[:-1]])
    ends = np.r_[starts[1:], len(sx)]
    avg = (starts + ends + 1) / 2.0
    ranks = np.empty(len(x))
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def auc_delong(scores: np.ndarray, y: np.ndarray, level: float = 0.95) -> dict:
    """AUC with DeLong's variance (fast form of Sun & Xu 2014) and a logit-scale interval.

    >>> r = auc_delong(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
    >>> r["value"]
    0.75
    """
    scores, y = np.asarray(scores, dtype=float), np.asarray(y).astype(bool)
    m, n = int(y.sum()), int((~y).sum())
    out: dict[str, Any] = {"value": None, "ci_low": None, "ci_high": None, "n_positive": m, "n_negative": n,
                           "method": "DeLong variance, logit-scale interval"}
    if m == 0 or n == 0:
        out["reason"] = "undefined: the group has no " + ("positive" if m == 0 else "negative") + " outcomes"
        return out
    pos, neg = scores[y], scores[~y]
    all_ranks = _midranks(np.r_[pos, neg])
    v10 = (all_ranks[:m] - _midranks(pos)) / n  # per positive: share of negatives below it (ties half)
    v01 = 1.0 - (all_ranks[m:] - _midranks(neg)) / m  # per negative: share of positives above it
    auc = float(v10.mean())
    var = (v10.var(ddof=1) / m if m > 1 else 0.0) + (v01.var(ddof=1) / n if n > 1 else 0.0)
    out.update(value=auc, variance=float(var))
    if 0.0 < auc < 1.0 and var > 0:
        logit = np.log(auc / (1 - auc))
        half = z_value(level) * np.sqrt(var) / (auc * (1 - auc))  # delta method
        out.update(ci_low=float(1 / (1 + np.exp(-(logit - half)))), ci_high=float(1 / (1 + np.exp(-(logit + half)))))
    else:
        out["reason"] = "no interval: the AUC is 0 or 1 (complete separation) or its variance is 0"
    return out


def roc_points(scores: np.ndarray, y: np.ndarray, points: int = _ROC_POINTS) -> list[dict]:
    """False and true positive rates at the pooled score quantiles (a curve small enough to publish)."""
    scores, y = np.asarray(scores, dtype=float), np.asarray(y).astype(bool)
    if not y.any() or y.all():
        return []
    cuts = np.unique(np.quantile(scores, np.linspace(0, 1, points)))[::-1]
    return [{"threshold": float(t), "fpr": float((scores[~y] >= t).mean()), "tpr": float((scores[y] >= t).mean())}
            for t in cuts]


def calibration_bins(scores: np.ndarray, y: np.ndarray, edges: np.ndarray, level: float = 0.95) -> list[dict]:
    """Observed outcome rate per bin ``[edges[i], edges[i+1])`` (the last bin closed), with the mean score."""
    scores, y = np.asarray(scores, dtype=float), np.asarray(y).astype(bool)
    which = np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, len(edges) - 2)
    out = []
    for b in range(len(edges) - 1):
        inside = which == b
        n = int(inside.sum())
        out.append({"low": float(edges[b]), "high": float(edges[b + 1]), "n": n,
                    "mean_score": float(scores[inside].mean()) if n else None,
                    "observed_rate": _rate(int(y[inside].sum()), n, level)})
    return out


def calibration_in_the_large(scores: np.ndarray, y: np.ndarray, level: float = 0.95) -> dict:
    """Observed rate minus mean predicted probability, with a z-test under calibration."""
    from statistics import NormalDist

    scores, y = np.asarray(scores, dtype=float), np.asarray(y).astype(bool)
    n = len(scores)
    if n == 0:
        return {"n": 0, "observed_rate": None, "mean_score": None, "difference": None, "ci_low": None,
                "ci_high": None, "p_value": None, "reason": "undefined: no rows"}
    observed, expected = float(y.mean()), float(scores.mean())
    sd = float(np.sqrt(np.sum(scores * (1 - scores)))) / n
    diff = observed - expected
    half = z_value(level) * sd
    p = float(2 * NormalDist().cdf(-abs(diff) / sd)) if sd > 0 else None
    return {"n": n, "observed_rate": observed, "mean_score": expected, "difference": diff,
            "ci_low": diff - half, "ci_high": diff + half, "p_value": p,
            "method": "z-test, variance sum p(1-p)/n^2 under calibration"}


def _cut(scores: np.ndarray, top: float) -> float:
    """The score of the k-th highest row, k = ceil(n × top/100) (ties at it are all selected)."""
    k = max(1, int(np.ceil(len(scores) * top / 100.0)))
    return float(np.sort(scores)[::-1][k - 1])


def threshold_sweep(scores: np.ndarray, y: np.ndarray, labels: np.ndarray, reference: str, *,
                    tops: Sequence[float] = SWEEP_TOPS, operating: float | None = None,
                    level: float = 0.95) -> list[dict]:
    """Per cut-off (score >= t): each group's selection rate, FPR and FNR, and their ratios to ``reference``."""
    scores, y, labels = np.asarray(scores, dtype=float), np.asarray(y).astype(bool), np.asarray(labels, dtype=object)
    cuts = [("top", top, _cut(scores, top)) for top in tops]
    if operating is not None:
        cuts.append(("operating point", None, float(operating)))
    ref = labels == reference
    rows = []
    for kind, top, t in cuts:
        selected = scores >= t
        row: dict[str, Any] = {"kind": kind, "top_percent": top, "threshold": t,
                               "selected": int(selected.sum()), "groups": []}
        for group in sorted(set(labels.tolist())):
            mine = labels == group
            rates = {}
            for name, within, hit in (("selection_rate", mine, selected), ("fpr", mine & ~y, selected),
                                      ("fnr", mine & y, ~selected)):
                rate = _rate(int((within & hit).sum()), int(within.sum()), level)
                base = {"selection_rate": ref, "fpr": ref & ~y, "fnr": ref & y}[name]
                k2, n2 = int((base & hit).sum()), int(base.sum())
                low, high, _ = katz_ratio_interval(rate["numerator"], rate["denominator"], k2, n2, level)
                ratio = (rate["value"] / (k2 / n2)) if rate["value"] is not None and n2 and k2 else None
                rate.update(ratio=None if group == reference else ratio,
                            ratio_ci=None if group == reference or np.isnan(low) else [float(low), float(high)])
                rates[name] = rate
            row["groups"].append({"group": group, **rates})
        rows.append(row)
    return rows


def score_behaviour(scores: np.ndarray, y: np.ndarray, groups: Mapping[str, np.ndarray],
                    references: Mapping[str, str], *, probability: bool, operating: float | None = None,
                    level: float = 0.95, bins: int = 10, min_group_size: int = 0) -> dict:
    """Calibration, AUC, ROC points and the threshold sweep for every protected attribute's groups.

    ``scores`` and ``y`` (True for a positive outcome) are the rows whose outcome is known; ``groups``
    maps each attribute to the rows' group labels; ``operating`` is the agency's threshold, if any.
    A group with fewer rows than ``min_group_size`` is marked ``small_group`` (its figures are printed
    with that warning, never as a verdict).
    """
    scores, y = np.asarray(scores, dtype=float), np.asarray(y).astype(bool)
    edges = np.unique(np.quantile(scores, np.linspace(0, 1, bins + 1))) if len(scores) else np.array([0.0, 1.0])
    if len(edges) < 2:
        edges = np.array([edges[0], edges[0]])
    out: dict[str, Any] = {"rows": int(len(scores)), "positives": int(y.sum()), "score_scale":
                           "probability" if probability else "score", "bin_edges": [float(e) for e in edges],
                           "overall": {"auc": auc_delong(scores, y, level)}, "by_group": [], "threshold_sweep": []}
    for attribute, labels in groups.items():
        labels = np.asarray(labels, dtype=object)
        for group in sorted(set(labels.tolist())):
            mine = labels == group
            record: dict[str, Any] = {"attribute": attribute, "group": group, "n": int(mine.sum()),
                                      "small_group": bool(mine.sum() < min_group_size),
                                      "positives": int(y[mine].sum()), "auc": auc_delong(scores[mine], y[mine], level),
                                      "calibration": calibration_bins(scores[mine], y[mine], edges, level),
                                      "roc": roc_points(scores[mine], y[mine])}
            if probability:
                record["calibration_in_the_large"] = calibration_in_the_large(scores[mine], y[mine], level)
            out["by_group"].append(record)
        out["threshold_sweep"].append({"attribute": attribute, "reference": references[attribute],
                                       "cutoffs": threshold_sweep(scores, y, labels, references[attribute],
                                                                  operating=operating, level=level)})
    return out
