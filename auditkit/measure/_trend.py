"""Statistics of one ratio over ordered periods: trend, pooled rate ratio, runs.

Pure functions of per-period counts ``k1, n1`` (the group) and ``k0, n0`` (the
reference).  Nothing raises on degenerate input: undefined figures are NaN.
statsmodels is the independent implementation the tests compare against.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._stats import chi2_sf_1df, t_quantile_two_sided, t_sf_two_sided, z_value

__all__ = ["Run", "TrendFit", "log_ratio_terms", "mh_rate_ratio", "ratio_trend", "runs"]


def _f(x: ArrayLike) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def log_ratio_terms(k1: ArrayLike, n1: ArrayLike, k0: ArrayLike, n0: ArrayLike) -> tuple[np.ndarray, ...]:
    """Per period: log rate ratio, its Katz variance, and whether the period carries information.

    A period enters when both denominators are positive, some row is in a numerator (with both
    numerators 0 the ratio is 0/0 and says nothing about it) and the variance is positive.  Where a
    numerator is 0, 0.5 is added to both numerators and both denominators, as in the adjusted-log
    interval every comparison uses (:func:`~auditkit.measure._stats.katz_ratio_interval`).

    >>> y, v, ok = log_ratio_terms([20, 0], [100, 50], [10, 0], [100, 50])
    >>> round(float(y[0]), 4), round(float(v[0]), 4), ok.tolist()
    (0.6931, 0.13, [True, False])
    """
    k1, n1, k0, n0 = np.broadcast_arrays(_f(k1), _f(n1), _f(k0), _f(n0))
    h = np.where((k1 == 0) | (k0 == 0), 0.5, 0.0)
    a1, m1, a0, m0 = k1 + h, n1 + h, k0 + h, n0 + h
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(a1 / m1) - np.log(a0 / m0)
        v = 1.0 / a1 - 1.0 / m1 + 1.0 / a0 - 1.0 / m0
    ok = (n1 > 0) & (n0 > 0) & (k1 + k0 > 0) & np.isfinite(y) & (v > 0)
    return y, v, ok


@dataclass(frozen=True)
class TrendFit:
    """Weighted least squares of the log ratio on the period index (see :func:`ratio_trend`)."""

    slope: float
    slope_ci: tuple[float, float]
    statistic: float
    p_value: float
    reference_distribution: str
    dispersion: float
    residual_statistic: float
    df_residual: int
    intercept: float
    periods_used: int


def ratio_trend(y: ArrayLike, v: ArrayLike, x: ArrayLike, level: float = 0.95) -> TrendFit:
    """Test of a linear trend in the log rate ratio over periods (inverse-variance weighted regression).

    Each period contributes its log ratio ``y`` with its sampling variance ``v`` at index ``x``.  The
    slope of ``y = a + b x`` by weighted least squares with weights ``1/v`` estimates the change in the
    log ratio per period; ``exp(b)`` is the factor by which the ratio changes from one period to the next.

    The variances are known, so the slope's variance is ``1 / sum w (x - x_w)^2``, tested against the
    normal distribution; when the periods scatter around the line more than their variances allow
    (residual ``Q / (K - 2) > 1``), the variance is multiplied by that dispersion and the test uses
    Student's t with ``K - 2`` degrees of freedom (multiplicative dispersion: Thompson & Sharp 1999).  A
    step change (a model replaced in one period) then does not pass for a steady trend.  Needs at least
    three periods; with fewer everything is NaN.

    >>> fit = ratio_trend([0.0, 0.1, 0.2], [0.01, 0.01, 0.01], [0, 1, 2])
    >>> round(fit.slope, 3), fit.dispersion, fit.reference_distribution
    (0.1, 1.0, 'normal')
    """
    y, v, x = _f(y), _f(v), _f(x)
    k = y.size
    nan = math.nan
    if k < 3:
        return TrendFit(nan, (nan, nan), nan, nan, "normal", nan, nan, max(k - 2, 0), nan, k)
    w = 1.0 / v
    xw, yw = float(np.sum(w * x) / w.sum()), float(np.sum(w * y) / w.sum())
    sxx = float(np.sum(w * (x - xw) ** 2))
    slope = float(np.sum(w * (x - xw) * (y - yw)) / sxx)
    intercept = yw - slope * xw
    q = float(np.sum(w * (y - intercept - slope * x) ** 2))
    df = k - 2
    dispersion = max(1.0, q / df)
    se = math.sqrt(dispersion / sxx)
    stat = slope / se
    if dispersion > 1.0:
        p, crit, dist = t_sf_two_sided(stat, df), t_quantile_two_sided(level, df), f"student t ({df} df)"
    else:
        p, crit, dist = chi2_sf_1df(stat * stat), z_value(level), "normal"
    return TrendFit(slope, (slope - crit * se, slope + crit * se), stat, p, dist, dispersion, q, df,
                    intercept, k)


def mh_rate_ratio(k1: ArrayLike, n1: ArrayLike, k0: ArrayLike, n0: ArrayLike,
                  level: float = 0.95) -> tuple[float, float, float]:
    """Mantel–Haenszel pooled rate ratio over strata with the Greenland & Robins (1985) interval.

    ``RR = sum(k1 n0 / N) / sum(k0 n1 / N)`` with ``N = n1 + n0``; the variance of ``log RR`` is
    ``sum((n1 n0 (k1 + k0) - k1 k0 N) / N^2) / (sum(k1 n0 / N) sum(k0 n1 / N))``, valid both for many
    sparse strata and for a few large ones.  With one stratum this is the crude ratio with Katz's
    variance.  Strata with an empty group or reference add nothing and are ignored.

    Returns
    -------
    ratio, ci_low, ci_high : float
        NaN limits when the pooled ratio is 0 or infinite; all NaN with no informative stratum.

    >>> [round(x, 4) for x in mh_rate_ratio([20], [100], [10], [100])]
    [2.0, 0.9866, 4.0545]
    """
    k1, n1, k0, n0 = (x.ravel() for x in np.broadcast_arrays(_f(k1), _f(n1), _f(k0), _f(n0)))
    keep = (n1 > 0) & (n0 > 0)
    k1, n1, k0, n0 = k1[keep], n1[keep], k0[keep], n0[keep]
    n = n1 + n0
    r, s = float(np.sum(k1 * n0 / n)), float(np.sum(k0 * n1 / n))
    if not (r > 0 and s > 0):
        return (math.inf if r > 0 else 0.0 if s > 0 else math.nan), math.nan, math.nan
    var = float(np.sum((n1 * n0 * (k1 + k0) - k1 * k0 * n) / (n * n))) / (r * s)
    half = z_value(level) * math.sqrt(var)
    log_rr = math.log(r / s)
    return r / s, math.exp(log_rr - half), math.exp(log_rr + half)


@dataclass(frozen=True)
class Run:
    """Consecutive periods ``first..last`` (indices, inclusive) in which a difference was detected one way."""

    first: int
    last: int
    direction: int

    @property
    def length(self) -> int:
        """Number of periods in the run."""
        return self.last - self.first + 1


def runs(detected: Sequence[bool], direction: Sequence[int]) -> list[Run]:
    """Maximal runs of consecutive periods with a detected difference in the same direction.

    ``direction`` is +1 where the group's rate is above the reference's, -1 below (0: neither).
    A period without a detected difference, or with the other direction, ends a run.

    >>> [(r.first, r.last, r.direction) for r in runs([0, 1, 1, 1, 0, 1, 1], [1, 1, 1, -1, 1, 1, 1])]
    [(1, 2, 1), (3, 3, -1), (5, 6, 1)]
    """
    out: list[Run] = []
    for i, (hit, sign) in enumerate(zip(detected, direction)):
        if not hit or sign == 0:
            continue
        if out and out[-1].last == i - 1 and out[-1].direction == sign:
            out[-1] = Run(out[-1].first, i, sign)
        else:
            out.append(Run(i, i, int(sign)))
    return out
