"""Interval estimates and tests for proportions and 2x2 tables.

Pure numpy and the standard library (scipy is not imported: it costs a
second and a half of start-up, more than counting ten million rows),
vectorised over broadcastable array-like counts; every function returns
float64 arrays (0-d for scalar input).  Counts may be
non-integer (they can be bounds on suppressed cells).  Nothing here raises or
warns on degenerate input: a statistic that is undefined is NaN, and a test on
a table with an empty row or column has p = 1 (the table carries no evidence).
statsmodels is deliberately not imported: the tests use it as the independent
implementation to compare against.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "beta_regularized",
    "bh_adjust",
    "chi2_p",
    "chi2_sf",
    "chi2_sf_1df",
    "fisher_exact_p",
    "holm_adjust",
    "katz_ratio_interval",
    "newcombe_difference_interval",
    "ratio_interval",
    "t_quantile_two_sided",
    "t_sf_two_sided",
    "wilson_interval",
    "z_value",
]

# R's fisher.test tolerance: outcomes whose probability is within this relative
# error of the observed table's count as "as or more extreme" (ties in exact
# arithmetic must not be lost to rounding of the pmf).
_FISHER_REL_ERR = 1e-7


def _f(x: ArrayLike) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def z_value(level: float) -> float:
    """Two-sided standard normal quantile for a confidence ``level`` in (0, 1).

    >>> round(z_value(0.95), 6)
    1.959964
    """
    return _z_value(float(level))


@functools.lru_cache(maxsize=64)
def _z_value(level: float) -> float:
    # Cached: every Wilson, Newcombe and Katz interval asks for the same one or two levels.
    # statistics.NormalDist uses Wichura's AS 241 (relative error about 1e-16).
    return float(NormalDist().inv_cdf(1.0 - (1.0 - level) / 2.0))


def _wilson_upper(k: np.ndarray, n: np.ndarray, z2: float) -> np.ndarray:
    """Larger root of the Wilson score equation (centre + half-width)."""
    return (k + z2 / 2 + np.sqrt(z2 * (k * (n - k) / n + z2 / 4))) / (n + z2)


def wilson_interval(
    k: ArrayLike, n: ArrayLike, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for the proportion ``k / n``.

    Wilson (1927); the form in Newcombe (1998) method 3 / Agresti & Coull
    (1998).  NaN where ``n == 0``.

    >>> lo, hi = wilson_interval(3, 7)
    >>> print(f"{lo:.4f} {hi:.4f}")
    0.1582 0.7495
    """
    k, n = np.broadcast_arrays(_f(k), _f(n))
    z2 = z_value(level) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        # The limits are the roots of (n + z^2) p^2 - (2k + z^2) p + k^2/n = 0.
        # Take the larger root (no cancellation) and get the smaller one from
        # the product of the roots, k^2 / (n (n + z^2)); centre - half would
        # lose all relative precision when k/n is tiny.  The upper limit is
        # 1 - (lower limit for n - k), by symmetry.
        low = k * k / (n * (n + z2) * _wilson_upper(k, n, z2))
        high = 1.0 - (n - k) ** 2 / (n * (n + z2) * _wilson_upper(n - k, n, z2))
        low, high = np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)
    bad = ~(n > 0)
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)


def newcombe_difference_interval(
    k1: ArrayLike, n1: ArrayLike, k2: ArrayLike, n2: ArrayLike, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Interval for ``p1 - p2``: Newcombe (1998) hybrid score, method 10.

    Square-and-add of the distances from each estimate to its own Wilson
    limits.  NaN where ``n1 == 0`` or ``n2 == 0``.
    """
    k1, n1, k2, n2 = np.broadcast_arrays(_f(k1), _f(n1), _f(k2), _f(n2))
    l1, u1 = wilson_interval(k1, n1, level)
    l2, u2 = wilson_interval(k2, n2, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = k1 / n1, k2 / n2
    d = p1 - p2
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return low, high  # NaN propagates from the Wilson limits where n == 0


def katz_ratio_interval(
    k1: ArrayLike, n1: ArrayLike, k2: ArrayLike, n2: ArrayLike, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Katz et al. (1978) log interval for the ratio ``p1 / p2``.

    ``exp(log r +/- z sqrt(1/k1 - 1/n1 + 1/k2 - 1/n2))``.  Where ``k1 == 0`` or
    ``k2 == 0`` the plain interval does not exist, so 0.5 is added to both
    numerators and both denominators (k + 1/2, n + 1/2) for the interval only:
    the "adjusted log" interval of Fagerland, Lydersen & Laake (2015), after
    Walter (1975) and Pettigrew, Gart & Thomas (1986).

    Returns
    -------
    low, high : ndarray
        Limits; NaN where ``n1 == 0`` or ``n2 == 0``.
    corrected : ndarray of bool
        True where the 0.5 correction was applied.
    """
    k1, n1, k2, n2 = np.broadcast_arrays(_f(k1), _f(n1), _f(k2), _f(n2))
    valid = (n1 > 0) & (n2 > 0)
    corrected = valid & ((k1 == 0) | (k2 == 0))
    h = np.where(corrected, 0.5, 0.0)
    a1, m1, a2, m2 = k1 + h, n1 + h, k2 + h, n2 + h
    z = z_value(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_r = np.log(a1 / m1) - np.log(a2 / m2)
        half = z * np.sqrt(1.0 / a1 - 1.0 / m1 + 1.0 / a2 - 1.0 / m2)
        low = np.exp(log_r - half)
        high = np.exp(log_r + half)
    return np.where(valid, low, np.nan), np.where(valid, high, np.nan), corrected


def ratio_interval(
    k1: ArrayLike, n1: ArrayLike, k2: ArrayLike, n2: ArrayLike, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interval for the ratio ``p1 / p2`` that always contains the estimate.

    Without a zero numerator this is :func:`katz_ratio_interval`, whose log-symmetric
    limits always enclose ``p1 / p2``.  With a zero numerator the ratio is 0 (``k1 == 0``),
    infinite (``k2 == 0``) or undefined (both), and the adjusted-log interval (0.5 added)
    is centred on a ratio that is not the estimate: its limit on the estimate's side is
    then moved to the estimate itself, 0 or infinity (the zero-cell rule).  Widening an
    interval only raises its coverage, and the interval now says what the data say: a
    group with no selections is compatible with a ratio of 0.

    Returns
    -------
    low, high : ndarray
        Limits; ``high`` is ``inf`` when ``k2 == 0``; NaN where a denominator is 0.
    corrected : ndarray of bool
        True where the zero-cell rule was applied.

    >>> lo, hi, corrected = ratio_interval(0, 40, 20, 400)
    >>> float(lo), round(float(hi), 2), bool(corrected)
    (0.0, 3.91, True)
    """
    low, high, corrected = katz_ratio_interval(k1, n1, k2, n2, level)
    k1, k2 = np.broadcast_arrays(_f(k1), _f(k2))
    low = np.where(corrected & (k1 == 0), 0.0, low)
    high = np.where(corrected & (k2 == 0), np.inf, high)
    return low, high, corrected


def _first_true(pred: Callable[[int], bool], lo: int, hi: int) -> int:
    """Smallest x in [lo, hi] with pred(x), hi + 1 if none; pred monotone F..T."""
    while lo <= hi:
        mid = (lo + hi) // 2
        if pred(mid):
            hi = mid - 1
        else:
            lo = mid + 1
    return lo


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


# Loader (2000), "Fast and accurate computation of binomial probabilities", as in
# R's dbinom/dhyper: the saddle-point form keeps about 1e-15 relative accuracy for
# tables of millions, where differences of lgamma values lose eight digits.
_LN_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _stirlerr(n: float) -> float:
    """log(n!) - log(sqrt(2 pi n) (n/e)^n)."""
    if n <= 15.0:
        return math.lgamma(n + 1.0) - (n + 0.5) * math.log(n) + n - _LN_SQRT_2PI if n > 0 else 0.0
    nn = n * n
    s0, s1, s2, s3, s4 = 1 / 12, 1 / 360, 1 / 1260, 1 / 1680, 1 / 1188
    if n > 500:
        return (s0 - s1 / nn) / n
    if n > 80:
        return (s0 - (s1 - s2 / nn) / nn) / n
    if n > 35:
        return (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / n
    return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n


def _bd0(x: float, m: float) -> float:
    """x log(x/m) + m - x, without cancellation when x is close to m."""
    if abs(x - m) < 0.1 * (x + m):
        v = (x - m) / (x + m)
        s = (x - m) * v
        ej = 2.0 * x * v
        v2 = v * v
        for j in range(1, 1000):
            ej *= v2
            s1 = s + ej / (2 * j + 1)
            if s1 == s:
                return s1
            s = s1
        return s
    return x * math.log(x / m) + m - x


def _log_dbinom(x: int, n: int, p: float, q: float) -> float:
    """log P(X = x) for X ~ Binomial(n, p), q = 1 - p, 0 <= x <= n, 0 < p < 1."""
    if x == 0:
        return -_bd0(n, n * q) - n * p if p < 0.1 else n * math.log(q)
    if x == n:
        return -_bd0(n, n * p) - n * q if q < 0.1 else n * math.log(p)
    lc = _stirlerr(n) - _stirlerr(x) - _stirlerr(n - x) - _bd0(x, n * p) - _bd0(n - x, n * q)
    return lc - 0.5 * (math.log(2.0 * math.pi) + math.log(x) + math.log1p(-x / n))


def _log_dhyper(x: int, r1: int, total: int, c1: int) -> float:
    """log P(A = x) when c1 of total units are drawn and r1 are marked (R's dhyper)."""
    if c1 == 0 or c1 == total:
        return 0.0
    p = c1 / total
    q = (total - c1) / total
    return (_log_dbinom(x, r1, p, q) + _log_dbinom(c1 - x, total - r1, p, q)
            - _log_dbinom(c1, total, p, q))


def _hyper_tail(start: int, end: int, r1: int, total: int, c1: int) -> float:
    """Sum of the hypergeometric pmf from ``start`` to ``end`` (either order), moving away from the mode.

    The first term is exact (Loader); each next term is the previous one times the
    exact pmf ratio, in growing blocks of numpy products, until a block no longer
    changes the sum (the terms fall geometrically away from the mode).
    """
    first = _log_dhyper(start, r1, total, c1)
    if first < -745.0:  # exp underflows: the whole tail is below the smallest double
        return 0.0
    step = -1 if end < start else 1
    n2 = total - r1
    x, term = start, math.exp(first)
    acc, block = term, 256
    while x != end:
        count = min(block, abs(end - x))
        xs = x + step * np.arange(count, dtype=np.float64)
        if step < 0:  # pmf(x - 1) / pmf(x)
            ratio = xs * (n2 - c1 + xs) / ((r1 - xs + 1.0) * (c1 - xs + 1.0))
        else:  # pmf(x + 1) / pmf(x)
            ratio = (r1 - xs) * (c1 - xs) / ((xs + 1.0) * (n2 - c1 + xs + 1.0))
        terms = term * np.cumprod(ratio)
        new = acc + float(terms.sum())
        x += step * count
        term = float(terms[-1])
        if new == acc or term <= new * 1e-18:
            return new
        acc, block = new, min(block * 4, 1 << 16)
    return acc


def _fisher_one(a: int, b: int, c: int, d: int) -> float:
    """Two-sided Fisher exact p for one integer table (minimum-likelihood rule)."""
    r1, c1, total = a + b, a + c, a + b + c + d
    if min(r1, c + d, c1, b + d) == 0:
        return 1.0
    lo, hi = max(0, c1 - (c + d)), min(r1, c1)  # support of the a cell
    mode = ((c1 + 1) * (r1 + 1)) // (total + 2)
    # The binary searches compare log-probabilities from lgamma (about a microsecond each);
    # their absolute error, ~1e-8 even for tables of millions, is far inside the 1e-7
    # relative tie tolerance.  The tails are summed from Loader's exact first term.
    log_norm = _log_choose(total, c1)

    def log_pmf(x: int) -> float:
        return _log_choose(r1, x) + _log_choose(total - r1, c1 - x) - log_norm

    cutoff = log_pmf(a) + math.log1p(_FISHER_REL_ERR)
    if log_pmf(mode) <= cutoff:
        return 1.0  # observed table is (tied with) the most likely one
    # The pmf is unimodal, so the tables at most as likely as the observed one
    # form two tails, [lo, x_lo] and [x_hi, hi].  Find both boundaries by
    # binary search (as scipy.stats.fisher_exact does for the far one) rather
    # than summing the whole support; the observed a bounds its own side.
    above = lambda x: log_pmf(x) > cutoff  # noqa: E731
    x_lo = _first_true(above, a + 1 if a < mode else lo, mode) - 1
    x_hi = _first_true(lambda x: not above(x), mode + 1, a if a > mode else hi)
    p = _hyper_tail(x_lo, lo, r1, total, c1) if x_lo >= lo else 0.0
    if x_hi <= hi:
        p += _hyper_tail(x_hi, hi, r1, total, c1)
    return min(p, 1.0)


def fisher_exact_p(a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike) -> np.ndarray:
    """Two-sided Fisher exact p-value for each 2x2 table ``[[a, b], [c, d]]``.

    Two-sided by the minimum-likelihood rule (sum of the probabilities of all
    tables no more likely than the observed one, relative tolerance 1e-7 as in
    R's ``fisher.test``).  Non-integer counts are rounded half up to integers.
    p = 1 where a row or column margin is zero (no evidence either way); NaN
    for negative or non-finite counts.

    >>> print(f"{fisher_exact_p(1, 9, 11, 3):.6f}")
    0.002759
    """
    arrs = np.broadcast_arrays(_f(a), _f(b), _f(c), _f(d))
    out = np.full(arrs[0].shape, np.nan)
    flat = [x.ravel() for x in arrs]
    res = out.reshape(-1)
    for i in range(res.size):
        cell = [x[i] for x in flat]
        if all(math.isfinite(v) and v >= 0 for v in cell):
            res[i] = _fisher_one(*(math.floor(v + 0.5) for v in cell))
    return res.reshape(out.shape)


def chi2_p(a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike) -> np.ndarray:
    """Pearson chi-square p-value for independence in ``[[a, b], [c, d]]``.

    No continuity correction, 1 df; identical to the pooled two-proportion
    z-test.  The large-sample alternative to :func:`fisher_exact_p`.  p = 1
    where a row or column margin is zero, as for Fisher.
    """
    a, b, c, d = np.broadcast_arrays(_f(a), _f(b), _f(c), _f(d))
    r1, r2, c1, c2 = a + b, c + d, a + c, b + d
    empty = (r1 == 0) | (r2 == 0) | (c1 == 0) | (c2 == 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # z = (ad - bc) sqrt(n) / sqrt(r1 r2 c1 c2); X^2 = z^2.  The square
        # roots are taken separately so huge tables do not overflow.
        z = (a * d - b * c) * np.sqrt(a + b + c + d)
        z = z / (np.sqrt(r1) * np.sqrt(r2) * np.sqrt(c1) * np.sqrt(c2))
        x = np.abs(z) / math.sqrt(2.0)
    p = _erfc(x)  # two-sided normal tail, 2 * sf(|z|)
    return np.where(empty, 1.0, p)


def _erfc(x: np.ndarray) -> np.ndarray:
    """Elementwise complementary error function (math.erfc; NaN stays NaN)."""
    out = np.empty(x.shape)
    flat, res = x.ravel(), out.reshape(-1)
    for i in range(flat.size):
        v = float(flat[i])
        res[i] = math.erfc(v) if not math.isnan(v) else math.nan
    return out


def chi2_sf_1df(stat: float) -> float:
    """Upper tail of the chi-square distribution with one degree of freedom.

    >>> round(chi2_sf_1df(3.841458820694124), 6)
    0.05
    """
    if math.isnan(stat):
        return math.nan
    return math.erfc(math.sqrt(max(stat, 0.0) / 2.0))


def chi2_sf(stat: float, df: int) -> float:
    """Upper tail of the chi-square distribution with a whole number of degrees of freedom.

    The closed forms of the regularized upper incomplete gamma function Q(df/2, stat/2) for whole and half
    whole arguments (Abramowitz & Stegun 26.4.4-5), each term in logs so that nothing overflows: the
    same as scipy's ``chdtrc`` to about 1e-13 (the tests compare them), without importing scipy.

    >>> round(chi2_sf(5.991464547107979, 2), 6), round(chi2_sf(7.814727903251178, 3), 6)
    (0.05, 0.05)
    """
    if math.isnan(stat) or df < 1 or df != int(df):
        return math.nan
    if stat <= 0.0:
        return 1.0
    if math.isinf(stat):
        return 0.0
    half, m = stat / 2.0, int(df) // 2
    log_half = math.log(half)
    if int(df) % 2 == 0:  # Q(m, y) = e^-y * sum_{k<m} y^k / k!
        total = sum(math.exp(k * log_half - half - math.lgamma(k + 1)) for k in range(m))
    else:  # Q(m + 1/2, y) = erfc(sqrt y) + e^-y * sum_{k=1..m} y^(k-1/2) / Gamma(k+1/2)
        total = math.erfc(math.sqrt(half)) + sum(math.exp((k - 0.5) * log_half - half - math.lgamma(k + 0.5))
                                                 for k in range(1, m + 1))
    return min(total, 1.0)


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz; Numerical Recipes 6.4)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        for aa in (m * (b - m) * x / ((a - 1.0 + 2 * m) * (a + 2 * m)),
                   -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 1.0 + 2 * m))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            step = d * c
            h *= step
        if abs(step - 1.0) < 1e-16:
            break
    return h


def beta_regularized(a: float, b: float, x: float, y: float) -> float:
    """The regularized incomplete beta function I_x(a, b), with ``y`` = 1 - x given exactly by the caller
    (so that neither loses digits to a subtraction).

    >>> round(beta_regularized(2.0, 3.0, 0.4, 0.6), 12)  # 1 - (0.6^4 + 4 * 0.4 * 0.6^3)
    0.5248
    """
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(y))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, y) / b


def t_sf_two_sided(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with ``df`` degrees of freedom: I_{df/(df+t^2)}(df/2, 1/2).

    >>> round(t_sf_two_sided(2.0, 10), 10), t_sf_two_sided(0.0, 3)
    (0.0733880348, 1.0)
    """
    if math.isnan(t) or math.isnan(df) or df <= 0:
        return math.nan
    if math.isinf(t):
        return 0.0
    t2 = t * t
    return min(beta_regularized(df / 2.0, 0.5, df / (df + t2), t2 / (df + t2)), 1.0)


def t_quantile_two_sided(level: float, df: float) -> float:
    """The t with P(|T| <= t) = ``level`` (Student's t, ``df`` degrees of freedom), by bisection on
    :func:`t_sf_two_sided` to the last bit.

    >>> round(t_quantile_two_sided(0.95, 10), 9)
    2.228138852
    """
    if not 0.0 < level < 1.0 or math.isnan(df) or df <= 0:
        return math.nan
    alpha = 1.0 - level
    low, high = 0.0, 1.0
    while t_sf_two_sided(high, df) > alpha:
        low, high = high, high * 2.0
        if high > 1e300:
            return math.inf
    for _ in range(200):
        mid = (low + high) / 2.0
        if mid in (low, high):
            break
        if t_sf_two_sided(mid, df) > alpha:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


def _family(p: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flattened p, mask of entries in the family, and their sort order."""
    flat = _f(p).ravel()
    keep = ~np.isnan(flat)
    return flat, keep, np.argsort(flat[keep], kind="mergesort")


def holm_adjust(p: ArrayLike) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values; NaN entries stay NaN.

    All non-NaN entries form one family.

    >>> holm_adjust([0.01, 0.04, 0.03, np.nan]).round(4).tolist()
    [0.03, 0.06, 0.06, nan]
    """
    flat, keep, order = _family(p)
    s = flat[keep][order]
    m = s.size
    adj = np.minimum(np.maximum.accumulate(s * np.arange(m, 0, -1)), 1.0)
    vals = np.empty(m)
    vals[order] = adj
    out = np.full(flat.shape, np.nan)
    out[keep] = vals
    return out.reshape(np.shape(p))


def bh_adjust(p: ArrayLike) -> np.ndarray:
    """Benjamini & Hochberg (1995) step-up adjusted p-values (FDR).

    NaN entries are excluded from the family and stay NaN.

    >>> bh_adjust([0.01, 0.04, 0.03, np.nan]).round(4).tolist()
    [0.03, 0.04, 0.04, nan]
    """
    flat, keep, order = _family(p)
    s = flat[keep][order]
    m = s.size
    raw = s * m / np.arange(1, m + 1)
    adj = np.minimum(np.minimum.accumulate(raw[::-1])[::-1], 1.0)
    vals = np.empty(m)
    vals[order] = adj
    out = np.full(flat.shape, np.nan)
    out[keep] = vals
    return out.reshape(np.shape(p))
