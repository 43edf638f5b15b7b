"""Tests and intervals for paired 0/1 outcomes: the same cases observed twice.

Decisions of the same person under two conditions (e.g. two values of one input in a counterfactual
flip test) are paired.  Only the discordant pairs carry evidence of a difference, and the two rates
are correlated, so they are compared with McNemar's test and a paired-difference interval, never with
an independence test (Fisher / chi-square of two groups), which assumes two independent samples and
gets the variance wrong for paired data (Agresti 2013, sec. 11.1).
"""

from __future__ import annotations

import math


from ._stats import chi2_sf_1df, wilson_interval

__all__ = ["EXACT_BELOW", "mcnemar_exact", "mcnemar_test", "paired_difference_interval", "paired_log_ratio",
           "paired_ratio_of_ratios"]

# With few discordant pairs the chi-square approximation to McNemar's statistic
# is poor, so the exact conditional (binomial) test is used below this count
# (b + c < 25, a common rule of thumb).
EXACT_BELOW = 25


def mcnemar_test(b: int, c: int) -> tuple[float, float, str]:
    """McNemar's test on the discordant pairs ``b`` (0 to 1) and ``c`` (1 to 0).

    Exact binomial version (statistic ``min(b, c)``, two-sided binomial p with
    probability 1/2) when ``b + c < 25``, else the chi-square version
    ``(b - c)^2 / (b + c)`` without continuity correction (McNemar 1947).
    No discordant pairs give p = 1.

    Returns
    -------
    statistic, p_value : float
    test : str
        ``"mcnemar_exact"`` or ``"mcnemar_chi2"``.

    >>> stat, p, test = mcnemar_test(2, 9)
    >>> stat, round(p, 6), test
    (2.0, 0.06543, 'mcnemar_exact')
    >>> stat, p, test = mcnemar_test(40, 20)
    >>> round(stat, 4), round(p, 6), test
    (6.6667, 0.009823, 'mcnemar_chi2')
    """
    b, c = int(b), int(c)
    if b + c < EXACT_BELOW:
        if b + c == 0:
            return 0.0, 1.0, "mcnemar_exact"
        from scipy import stats

        return float(min(b, c)), float(stats.binomtest(min(b, c), b + c, 0.5).pvalue), "mcnemar_exact"
    statistic = (b - c) ** 2 / (b + c)
    return float(statistic), chi2_sf_1df(float(statistic)), "mcnemar_chi2"


def paired_difference_interval(a: int, b: int, c: int, d: int, level: float = 0.95) -> tuple[float, float]:
    """Interval for ``p1 - p2`` from paired 0/1 outcomes (Newcombe 1998b, method 10).

    ``a`` both 1, ``b`` first 1 only, ``c`` second 1 only, ``d`` both 0; so
    ``p1 = (a + b) / n`` and ``p2 = (a + c) / n``.  Square-and-add of the
    Wilson limits of p1 and p2, corrected for their correlation phi (set to 0
    for 0 <= ad - bc <= n/2, reduced by n/2 above); see Fagerland, Lydersen &
    Laake (2017), ch. 8.  NaN when ``n == 0``.

    >>> low, high = paired_difference_interval(59, 6, 16, 80)
    >>> print(f"{low:.4f} {high:.4f}")
    -0.1186 -0.0046
    """
    n = a + b + c + d
    if n == 0:
        return math.nan, math.nan
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = (float(x) for x in wilson_interval(a + b, n, level))
    l2, u2 = (float(x) for x in wilson_interval(a + c, n, level))
    margins, cross = (a + b) * (c + d) * (a + c) * (b + d), a * d - b * c  # Python ints: no overflow
    phi = 0.0
    if margins and cross > n / 2:
        phi = (cross - n / 2) / math.sqrt(margins)
    elif margins and cross < 0:
        phi = cross / math.sqrt(margins)
    low = (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2
    high = (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2
    return p1 - p2 - math.sqrt(max(low, 0.0)), p1 - p2 + math.sqrt(max(high, 0.0))


def mcnemar_exact(b: int, c: int) -> float:
    """Exact McNemar p-value (two-sided binomial test of ``b`` in ``b + c`` at 1/2); 1 with no discordant pairs.

    The exact conditional test at every count, as statsmodels' ``mcnemar(table, exact=True)`` computes it:
    ``min(1, 2 * P(X <= min(b, c)))`` for ``X ~ Binomial(b + c, 1/2)``.

    >>> round(mcnemar_exact(2, 9), 6), mcnemar_exact(0, 0)
    (0.06543, 1.0)
    """
    b, c = int(b), int(c)
    if b + c == 0:
        return 1.0
    from scipy import stats

    return float(min(1.0, 2.0 * stats.binom.cdf(min(b, c), b + c, 0.5)))


def paired_log_ratio(a: int, b: int, c: int, d: int) -> tuple[float, float]:
    """``log(p2 / p1)`` of two paired rates and its delta-method variance.

    ``a`` both 1, ``b`` first 1 only, ``c`` second 1 only, ``d`` both 0 (``d`` only enters through n, which
    cancels): ``p1 = (a + b) / n``, ``p2 = (a + c) / n``; the variance of the log of their ratio, with the
    multinomial covariance of the two rates, is ``(b + c) / ((a + b)(a + c))`` (Agresti 2013, sec. 11.1;
    Nam and Blackwelder 2002).  NaN when either rate is 0.

    >>> lr, v = paired_log_ratio(40, 10, 20, 30)
    >>> round(math.exp(lr), 4), round(v, 6)
    (1.2, 0.01)
    """
    if a + b == 0 or a + c == 0:
        return math.nan, math.nan
    return math.log((a + c) / (a + b)), (b + c) / ((a + b) * (a + c))


def paired_ratio_of_ratios(group: tuple[int, int, int, int], reference: tuple[int, int, int, int],
                           level: float = 0.95) -> tuple[float, float, float, float]:
    """Change in a group's rate ratio between two decisions on the same people, and its interval and p-value.

    Each argument is a paired table ``(a, b, c, d)`` as in :func:`paired_log_ratio` (first decision, second
    decision).  The ratio of ratios is ``(p2_g / p2_r) / (p1_g / p1_r)`` (= ratio under the second decision
    over ratio under the first).  The group and its reference hold different people, so on the log scale
    it is the difference of two independent paired log ratios, whose variances add; Wald interval and
    z-test on that scale.  Returns ``(ratio_of_ratios, low, high, p_value)``; NaN where a rate is 0.

    >>> rr, low, high, p = paired_ratio_of_ratios((40, 10, 20, 30), (20, 10, 10, 60))
    >>> round(rr, 4), round(low, 4), round(high, 4), round(p, 4)
    (1.2, 0.8441, 1.706, 0.3098)
    """
    from ._stats import z_value

    lg, vg = paired_log_ratio(*group)
    lr, vr = paired_log_ratio(*reference)
    if math.isnan(lg) or math.isnan(lr):
        return math.nan, math.nan, math.nan, math.nan
    diff, var = lg - lr, vg + vr
    if var == 0:
        return math.exp(diff), math.exp(diff), math.exp(diff), (1.0 if diff == 0 else 0.0)
    se, z = math.sqrt(var), z_value(level)
    p = math.erfc(abs(diff) / se / math.sqrt(2.0))
    return math.exp(diff), math.exp(diff - z * se), math.exp(diff + z * se), p
