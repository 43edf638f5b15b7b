"""Disparities between two rates: ratio and difference with intervals, and a test.

Ratio: Katz log interval, with the zero-cell rule of
:func:`~auditkit.measure._stats.ratio_interval` (a ratio of 0 has lower limit 0,
an infinite one upper limit infinity); difference: Newcombe's hybrid score interval; test:
Fisher's exact test (or, documented as the large-sample alternative, Pearson's
chi-square without continuity correction).  With suppressed cells each figure
is computed at the four corners the bounds allow (each group at its low and its
high corner) and reported as bounds; the p-value carried into the multiple-
testing family is the largest, the conservative choice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._stats import chi2_p, fisher_exact_p, newcombe_difference_interval, ratio_interval, z_value

__all__ = ["Comparison", "compare"]


@dataclass(frozen=True)
class Comparison:
    """Group-vs-reference figures for one rate (scalars; bounds equal when nothing is suppressed)."""

    ratio: tuple[float, float]
    ratio_ci: tuple[float, float]
    difference: tuple[float, float]
    difference_ci: tuple[float, float]
    p_value: tuple[float, float]
    zero_corrected: bool


def _corners(k_lo: float, n_lo: float, k_hi: float, n_hi: float) -> list[tuple[float, float]]:
    return [(k_lo, n_lo)] if (k_lo, n_lo) == (k_hi, n_hi) else [(k_lo, n_lo), (k_hi, n_hi)]


def _rectangle(k_lo: float, n_lo: float, k_hi: float, n_hi: float) -> list[tuple[float, float]]:
    """Every corner of the numerator x complement box a suppressed rate may come from."""
    c_lo, c_hi = n_hi - k_hi, n_lo - k_lo
    return sorted({(k, k + c) for k in (k_lo, k_hi) for c in (c_lo, c_hi)})


def _p_bounds(group: tuple[float, ...], reference: tuple[float, ...], test: str) -> tuple[float, float]:
    """Smallest and largest p-value the published bounds allow (conservative upper end).

    A p-value is not monotone in the cells, so the extremes of the rate are not
    enough: when the two rates' ranges overlap, a table with equal rates is
    possible and the largest p-value is taken as 1; otherwise the largest over
    every corner of both boxes of (numerator, complement) bounds.
    """
    fn = fisher_exact_p if test == "fisher" else chi2_p
    ps = [float(fn(k1, n1 - k1, k2, n2 - k2)) for k1, n1 in _rectangle(*group) for k2, n2 in _rectangle(*reference)
          if n1 and n2]
    if not ps:
        return np.nan, np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (group[0] / group[1], group[2] / group[3])
        r = (reference[0] / reference[1], reference[2] / reference[3])
    overlap = max(g[0], r[0]) <= min(g[1], r[1])
    return min(ps), 1.0 if overlap else max(ps)


def compare(group: tuple[float, float, float, float], reference: tuple[float, float, float, float],
            level: float, test: str = "fisher") -> Comparison:
    """Compare a group's rate with the reference's.

    Each argument is ``(k_low, n_low, k_high, n_high)``: the rate's numerator and
    denominator at its low and high corner (equal pairs when nothing is suppressed).

    >>> c = compare((20, 100, 20, 100), (10, 100, 10, 100), 0.95)
    >>> c.ratio, round(c.difference[0], 2)
    ((2.0, 2.0), 0.1)
    """
    if group[:2] == group[2:] and reference[:2] == reference[2:] and group[1] > 0 and reference[1] > 0:
        return _compare_exact(group[0], group[1], reference[0], reference[1], level, test)
    return _compare_bounds(group, reference, level, test)


def _compare_bounds(group: tuple[float, float, float, float], reference: tuple[float, float, float, float],
                    level: float, test: str) -> Comparison:
    """:func:`compare` at every corner the bounds allow (the general path, vectorised functions)."""
    ratios, diffs, r_ci, d_ci, corrected = [], [], [], [], False
    for k1, n1 in _corners(*group):
        for k2, n2 in _corners(*reference):
            with np.errstate(divide="ignore", invalid="ignore"):
                p1 = k1 / n1 if n1 else np.nan
                p2 = k2 / n2 if n2 else np.nan
                ratios.append(p1 / p2 if p2 else (np.inf if p1 else np.nan))
            diffs.append(p1 - p2)
            lo, hi, corr = ratio_interval(k1, n1, k2, n2, level)
            r_ci.append((float(lo), float(hi)))
            corrected |= bool(corr)
            lo, hi = newcombe_difference_interval(k1, n1, k2, n2, level)
            d_ci.append((float(lo), float(hi)))
    return Comparison(
        ratio=(_nanmin(ratios), _nanmax(ratios)),
        ratio_ci=(_nanmin([c[0] for c in r_ci]), _nanmax([c[1] for c in r_ci])),
        difference=(_nanmin(diffs), _nanmax(diffs)),
        difference_ci=(_nanmin([c[0] for c in d_ci]), _nanmax([c[1] for c in d_ci])),
        p_value=_p_bounds(group, reference, test),
        zero_corrected=corrected,
    )


def _wilson(k: float, n: float, z2: float) -> tuple[float, float]:
    """Scalar twin of :func:`auditkit.measure._stats.wilson_interval` (same formula, n > 0)."""
    def upper(j: float) -> float:
        return (j + z2 / 2 + math.sqrt(z2 * (j * (n - j) / n + z2 / 4))) / (n + z2)
    low = k * k / (n * (n + z2) * upper(k))
    high = 1.0 - (n - k) ** 2 / (n * (n + z2) * upper(n - k))
    return min(max(low, 0.0), 1.0), min(max(high, 0.0), 1.0)


def _compare_exact(k1: float, n1: float, k2: float, n2: float, level: float, test: str) -> Comparison:
    """:func:`compare` when no cell is suppressed and both denominators are positive.

    The same formulas as the vectorised functions in :mod:`auditkit.measure._stats`, on
    Python floats: an audit makes hundreds of comparisons and numpy's per-call overhead on
    0-d arrays was most of their cost.  tests/test_measure.py holds both paths to each other.
    """
    z = z_value(level)
    p1, p2 = k1 / n1, k2 / n2
    ratio = p1 / p2 if p2 else (math.inf if p1 else math.nan)
    corrected = k1 == 0 or k2 == 0
    h = 0.5 if corrected else 0.0
    a1, m1, a2, m2 = k1 + h, n1 + h, k2 + h, n2 + h
    log_r = math.log(a1 / m1) - math.log(a2 / m2)
    half = z * math.sqrt(1.0 / a1 - 1.0 / m1 + 1.0 / a2 - 1.0 / m2)
    l1, u1 = _wilson(k1, n1, z * z)
    l2, u2 = _wilson(k2, n2, z * z)
    d = p1 - p2
    d_lo = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    d_hi = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    fn = fisher_exact_p if test == "fisher" else chi2_p
    p = float(fn(k1, n1 - k1, k2, n2 - k2))
    # The zero-cell rule (ratio_interval): the limit on the estimate's side moves to 0 or infinity.
    r_lo = 0.0 if k1 == 0 else math.exp(log_r - half)
    r_hi = math.inf if k2 == 0 else math.exp(log_r + half)
    return Comparison(ratio=(ratio, ratio), ratio_ci=(r_lo, r_hi),
                      difference=(d, d), difference_ci=(d_lo, d_hi), p_value=(p, p), zero_corrected=corrected)


def _nanmin(values: list[float]) -> float:
    arr = np.asarray(values, dtype=float)
    return float(np.nan) if np.all(np.isnan(arr)) else float(np.nanmin(arr))


def _nanmax(values: list[float]) -> float:
    arr = np.asarray(values, dtype=float)
    return float(np.nan) if np.all(np.isnan(arr)) else float(np.nanmax(arr))
