"""Stratified comparisons: Mantel-Haenszel and conditional demographic disparity.

Pure numpy (statsmodels is the independent implementation the tests
compare against).  Nothing raises or warns on degenerate input: undefined
statistics are NaN.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from ._stats import chi2_sf, chi2_sf_1df, z_value

__all__ = ["conditional_demographic_disparity", "mantel_haenszel"]


def _expected_cell(
    odds: float, r1: np.ndarray, c1: np.ndarray, r2: np.ndarray, c2: np.ndarray
) -> np.ndarray:
    """Expected top-left cell given the margins and a common odds ratio.

    The root of (1-R) e^2 + B e - R r1 c1 = 0, B = R (r1 + c1) + r2 - c1, in
    (max(0, c1 - r2), min(r1, c1)).  Evaluated without cancellation: the
    discriminant is written as a sum of non-negative terms for either side of
    R = 1, and the quadratic formula branch is chosen by the sign of B
    (Press et al., Numerical Recipes, sec. 5.6).  No 1/(1-R) at R = 1.
    """
    n = r1 + r2
    if odds >= 1.0:  # then B > 0
        b = (odds - 1.0) * (r1 + c1) + n
        disc = (odds - 1.0) ** 2 * (r1 - c1) ** 2 + 2.0 * (odds - 1.0) * (r1 * c2 + c1 * r2) + n * n
    else:
        b = odds * (r1 + c1) + (r2 - c1)
        disc = b * b + 4.0 * (1.0 - odds) * odds * r1 * c1
    root = np.sqrt(disc)
    # B < 0 only happens for R < 1/2, so 1 - R is well away from 0 there.
    return np.where(b >= 0, 2.0 * odds * r1 * c1 / (b + root), (root - b) / (2.0 * (1.0 - odds)))


def _breslow_day(
    a: np.ndarray,
    margins: tuple[np.ndarray, ...],
    odds: float,
    tarone: bool,
) -> tuple[float, float]:
    """Breslow & Day (1980) homogeneity statistic and p (Tarone 1985 if asked)."""
    if a.size < 2 or not 0.0 < odds < np.inf:
        return np.nan, np.nan  # no heterogeneity to test / no finite common OR
    r1, r2, c1, c2 = margins
    # Each expected cell from its own root (rows/columns swapped, OR inverted
    # for the off-diagonal cells) rather than as r1 - e etc., which would
    # cancel when e is near the edge of its range (extreme odds ratios).
    e = _expected_cell(odds, r1, c1, r2, c2)
    v = 1.0 / (
        1.0 / e
        + 1.0 / _expected_cell(1.0 / odds, r1, c2, r2, c1)
        + 1.0 / _expected_cell(1.0 / odds, r2, c1, r1, c2)
        + 1.0 / _expected_cell(odds, r2, c2, r1, c1)
    )
    stat = float(np.sum((a - e) ** 2 / v))
    if tarone:
        # Tarone (1985): the MH estimate is not the conditional MLE, so remove
        # the part of the statistic due to sum(a) != sum(e).  Non-negative by
        # Cauchy-Schwarz; clip rounding residue.
        stat = max(stat - float(np.sum(a - e)) ** 2 / float(np.sum(v)), 0.0)
    return stat, chi2_sf(stat, a.size - 1)


def _pooled_odds_ratio(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, n: np.ndarray, level: float
) -> tuple[float, float, float]:
    """Mantel & Haenszel (1959) pooled OR and its Robins-Breslow-Greenland interval."""
    ad, bc = a * d / n, b * c / n
    sr, ss = float(ad.sum()), float(bc.sum())
    if not (sr > 0 and ss > 0):  # OR 0 or infinite: no interval on the log scale
        return (np.inf if sr > 0 else 0.0 if ss > 0 else np.nan), np.nan, np.nan
    odds = sr / ss
    # Robins, Breslow & Greenland (1986) variance of log OR_MH, consistent in
    # both sparse-data and large-strata limits.
    pp, qq = (a + d) / n, (b + c) / n
    var = (
        float(np.sum(pp * ad)) / (2 * sr**2)
        + float(np.sum(pp * bc + qq * ad)) / (2 * sr * ss)
        + float(np.sum(qq * bc)) / (2 * ss**2)
    )
    half = z_value(level) * float(np.sqrt(var))
    return odds, float(np.exp(np.log(odds) - half)), float(np.exp(np.log(odds) + half))


def _cmh_test(
    a: np.ndarray, margins: tuple[np.ndarray, ...], n: np.ndarray, correction: bool
) -> tuple[float, float]:
    """Cochran (1954) / Mantel & Haenszel (1959) test, hypergeometric variance."""
    r1, r2, c1, c2 = margins
    dev = abs(float(np.sum(a - r1 * c1 / n)))
    vsum = float(np.sum(r1 * r2 * c1 * c2 / (n * n * (n - 1.0))))
    if correction:
        # Capped at |sum(a - E)| as in R's mantelhaen.test, so the correction
        # never increases the statistic (statsmodels does not cap it).
        dev -= min(0.5, dev)
    if not 0 < vsum < np.inf:  # only for non-integer strata with n <= 1
        return np.nan, np.nan
    stat = dev * dev / vsum
    return stat, chi2_sf_1df(stat)


def mantel_haenszel(
    tables: ArrayLike, level: float = 0.95, correction: bool = False, tarone: bool = True
) -> dict[str, float | int]:
    """Mantel-Haenszel analysis of K stratified 2x2 tables.

    Parameters
    ----------
    tables : array_like, shape (K, 2, 2)
        Stratum k is ``[[a, b], [c, d]]``: rows (group, reference), columns
        (selected, not selected).  Counts may be non-integer.
    level : float
        Confidence level of the interval for the pooled odds ratio.
    correction : bool
        Continuity correction in the CMH statistic.
    tarone : bool
        Tarone's adjustment of the Breslow-Day statistic.

    Returns
    -------
    dict
        ``odds_ratio``, ``ci_low``, ``ci_high``, ``cmh_statistic``, ``cmh_p``,
        ``breslow_day_statistic``, ``breslow_day_p`` (floats) and
        ``strata_used`` (int).

    Notes
    -----
    Only strata with both rows and both columns non-empty enter.  The others
    add exactly 0 to every MH sum (as in statsmodels ``StratifiedTable``),
    but they would make the Breslow-Day terms 0/0 and inflate its degrees of
    freedom, so they are dropped (as SAS PROC FREQ does).  Everything is NaN
    when no stratum is informative.  The interval is NaN when the pooled OR is
    0 or infinite; Breslow-Day is NaN then, and with fewer than two strata.
    """
    t = np.asarray(tables, dtype=np.float64).reshape(-1, 2, 2)
    a, b, c, d = t[:, 0, 0], t[:, 0, 1], t[:, 1, 0], t[:, 1, 1]
    keep = (a + b > 0) & (c + d > 0) & (a + c > 0) & (b + d > 0)
    a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    keys = ("odds_ratio", "ci_low", "ci_high", "cmh_statistic", "cmh_p",
            "breslow_day_statistic", "breslow_day_p")  # fmt: skip
    out: dict[str, float | int] = dict.fromkeys(keys, np.nan)
    out["strata_used"] = int(a.size)
    if a.size == 0:
        return out
    n, margins = a + b + c + d, (a + b, c + d, a + c, b + d)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        odds, lo, hi = _pooled_odds_ratio(a, b, c, d, n, level)
        values = (odds, lo, hi, *_cmh_test(a, margins, n, correction),
                  *_breslow_day(a, margins, odds, tarone))  # fmt: skip
    out.update(zip(keys, values))
    return out


def conditional_demographic_disparity(
    in_group_adverse: ArrayLike,
    in_group_favourable: ArrayLike,
    adverse: ArrayLike,
    favourable: ArrayLike,
) -> tuple[float, np.ndarray]:
    """Conditional demographic disparity, Wachter, Mittelstadt & Russell (2021).

    Per stratum s, ``DD_s = in_group_adverse_s / adverse_s -
    in_group_favourable_s / favourable_s`` (the group's share among adverse
    decisions minus its share among favourable ones), and
    ``CDD = sum_s n_s DD_s / sum_s n_s`` with ``n_s = adverse_s + favourable_s``.

    Strata with no adverse or no favourable decisions have no DD: they are
    NaN in the per-stratum array and left out of CDD, whose weights are
    renormalised over the remaining strata.  CDD is NaN if none remain.

    >>> cdd, dd = conditional_demographic_disparity([2, 1], [1, 3], [4, 2], [4, 6])
    >>> round(cdd, 4), dd.tolist()
    (0.125, [0.25, 0.0])
    """
    ga, gf, na, nf = (
        np.asarray(x, dtype=np.float64).ravel()
        for x in (in_group_adverse, in_group_favourable, adverse, favourable)
    )
    ok = (na > 0) & (nf > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(ok, ga / na - gf / nf, np.nan)
    w = np.where(ok, na + nf, 0.0)
    total = float(w.sum())
    if total <= 0:
        return np.nan, dd
    return float(np.sum(w[ok] * dd[ok]) / total), dd
