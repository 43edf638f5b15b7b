"""Power of a comparison of two rates: the minimum detectable ratio, and the cases an audit needs.

A comparison that finds no difference says little unless it could have found one.  The
question is answered for the two-sided comparison of two independent proportions with the
normal approximation on Cohen's arcsine scale, the method of statsmodels' ``NormalIndPower``
with ``proportion_effectsize`` (Cohen 1988, ch. 6):

* the effect size of a group rate p1 against a reference rate p0 is
  ``h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p0))``;
* with n1 and n0 cases, ``|h| sqrt(n1 n0 / (n1 + n0))`` is approximately normal with unit
  variance, so a two-sided test at level alpha has power
  ``Phi(|h| s - z) + Phi(-|h| s - z)``, ``s = sqrt(n1 n0 / (n1 + n0))``, ``z = z_{1 - alpha/2}``.

The *minimum detectable ratio* is the ratio p1 / p0 whose h gives the wanted power (80% by
default): a true ratio closer to 1 than it would be detected less often than that.  auditkit's
own test is Fisher's exact test, which is slightly more conservative than this normal
approximation, and the Holm or Benjamini–Hochberg adjustment lowers the level each test is held
to; both make the true minimum detectable ratio larger, never smaller, so a statement "a ratio
below R would have been detected less than 80% of the time" stays true.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from ..exceptions import UsageError

__all__ = ["DetectableRatio", "SampleSize", "effect_size", "minimum_detectable_ratio", "power_of", "sample_size"]

_NORMAL = NormalDist()


@dataclass(frozen=True)
class DetectableRatio:
    """The ratios a comparison of these group sizes detects with the wanted power.

    ``above`` is the smallest ratio above 1 and ``below`` the largest ratio below 1 that a
    two-sided test at ``alpha`` detects with probability ``power``; None, with the reason in
    ``reason_above`` / ``reason_below``, where no rate in [0, 1] is far enough from the reference.
    """

    above: float | None
    below: float | None
    effect_size: float
    reason_above: str | None
    reason_below: str | None
    alpha: float
    power: float


@dataclass(frozen=True)
class SampleSize:
    """Cases per group that a comparison needs to detect a ratio with the wanted power."""

    n_group: int
    n_reference: int
    n_group_exact: float
    effect_size: float
    group_rate: float
    reference_rate: float
    alpha: float
    power: float


def effect_size(group_rate: float, reference_rate: float) -> float:
    """Cohen's h: ``2 asin(sqrt(p1)) - 2 asin(sqrt(p0))`` (as statsmodels' ``proportion_effectsize``).

    >>> round(effect_size(0.2, 0.1), 6)
    0.283794
    """
    return 2.0 * math.asin(math.sqrt(group_rate)) - 2.0 * math.asin(math.sqrt(reference_rate))


def power_of(h: float, n_group: float, n_reference: float, alpha: float = 0.05) -> float:
    """Power of the two-sided test at ``alpha`` for effect size ``h`` with these group sizes.

    >>> round(power_of(0.283794, 200, 200), 4)
    0.81
    """
    s = math.sqrt(n_group * n_reference / (n_group + n_reference))
    z = _NORMAL.inv_cdf(1.0 - alpha / 2.0)
    return _NORMAL.cdf(abs(h) * s - z) + _NORMAL.cdf(-abs(h) * s - z)


def _detectable_h(n_group: float, n_reference: float, alpha: float, power: float) -> float:
    """The |h| whose power is ``power`` (power rises with |h|: bisection to machine precision).

    The power is :func:`power_of`'s, with its sizes' and alpha's parts worked out once (the same
    operations on the same numbers: the same bits)."""
    s = math.sqrt(n_group * n_reference / (n_group + n_reference))
    z = _NORMAL.inv_cdf(1.0 - alpha / 2.0)
    cdf = _NORMAL.cdf

    def power_at(h: float) -> float:
        return cdf(abs(h) * s - z) + cdf(-abs(h) * s - z)

    lo, hi = 0.0, 1.0
    while power_at(hi) < power:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if mid in (lo, hi):
            break
        if power_at(mid) < power:
            lo = mid
        else:
            hi = mid
    return hi


def _check(alpha: float, power: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise UsageError(f"alpha must be in (0, 1), e.g. 0.05; got {alpha}.")
    if not alpha < power < 1.0:
        raise UsageError(f"power must be between alpha ({alpha}) and 1, e.g. 0.8; got {power}.")


def minimum_detectable_ratio(n_group: float, n_reference: float, reference_rate: float, alpha: float = 0.05,
                             power: float = 0.8) -> DetectableRatio:
    """The ratios of a group's rate to the reference rate that these group sizes detect.

    Parameters
    ----------
    n_group, n_reference : float
        Cases in the group and in the reference (the rates' denominators), both positive.
    reference_rate : float
        The reference group's rate, in [0, 1].
    alpha : float
        Two-sided significance level of the test.
    power : float
        Probability of detecting the ratio (80% by convention).

    Returns
    -------
    DetectableRatio

    >>> m = minimum_detectable_ratio(40, 4000, 0.1)
    >>> round(m.above, 2), round(m.below, 2)
    (2.68, 0.1)
    """
    _check(alpha, power)
    if not (n_group > 0 and n_reference > 0):
        raise UsageError(f"Both group sizes must be positive; got {n_group} and {n_reference}.")
    if not 0.0 <= reference_rate <= 1.0:
        raise UsageError(f"The reference rate must be in [0, 1]; got {reference_rate}.")
    h = _detectable_h(n_group, n_reference, alpha, power)
    if reference_rate == 0.0:
        why = "undefined: the reference rate is 0, so every ratio to it is infinite or undefined"
        return DetectableRatio(None, None, h, why, why, alpha, power)
    base = math.asin(math.sqrt(reference_rate))
    above = below = None
    reason_above = reason_below = None
    if base + h / 2.0 < math.pi / 2.0:
        above = math.sin(base + h / 2.0) ** 2 / reference_rate
    else:
        reason_above = (f"undefined: with these group sizes even a group rate of 100% (ratio "
                        f"{1.0 / reference_rate:.3g}) would be detected less than {power:.0%} of the time")
    if base - h / 2.0 > 0.0:
        below = math.sin(base - h / 2.0) ** 2 / reference_rate
    else:
        reason_below = (f"undefined: with these group sizes even a group rate of 0 would be detected less than "
                        f"{power:.0%} of the time")
    return DetectableRatio(above, below, h, reason_above, reason_below, alpha, power)


def sample_size(ratio: float, reference_rate: float, alpha: float = 0.05, power: float = 0.8,
                reference_per_group: float = 1.0) -> SampleSize:
    """Cases per group needed to detect ``ratio`` at ``reference_rate`` with the wanted power.

    Parameters
    ----------
    ratio : float
        The ratio of the group's rate to the reference rate to detect (not 1).
    reference_rate : float
        The reference group's rate, in (0, 1).
    alpha, power : float
        Two-sided significance level and wanted power.
    reference_per_group : float
        Reference cases per group case (1: equal groups; 10: a reference ten times as large).

    >>> s = sample_size(2.0, 0.1)
    >>> s.n_group, s.n_reference
    (195, 195)
    """
    _check(alpha, power)
    if not 0.0 < reference_rate < 1.0:
        raise UsageError(f"The reference rate must be in (0, 1), e.g. 0.1; got {reference_rate}.")
    if not (ratio >= 0.0 and ratio != 1.0 and math.isfinite(ratio)):
        raise UsageError(f"The ratio to detect must be a number >= 0 other than 1, e.g. 2 or 0.5; got {ratio}.")
    if not reference_per_group > 0.0:
        raise UsageError(f"The reference size per group case must be positive; got {reference_per_group}.")
    group_rate = ratio * reference_rate
    if group_rate > 1.0:
        raise UsageError(f"A ratio of {ratio:g} at a reference rate of {reference_rate:g} is a group rate of "
                         f"{group_rate:.3g}, above 1: choose a smaller ratio or reference rate.")
    h = abs(effect_size(group_rate, reference_rate))
    # power_of grows with n; s^2 = n1 k / (1 + k) for n0 = k n1.  Bisection on n1.
    lo, hi = 0.0, 1.0
    while power_of(h, hi, reference_per_group * hi, alpha) < power:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if mid in (lo, hi):
            break
        if power_of(h, mid, reference_per_group * mid, alpha) < power:
            lo = mid
        else:
            hi = mid
    n_group = math.ceil(hi - 1e-9)
    return SampleSize(n_group, math.ceil(reference_per_group * n_group - 1e-9), hi, h, group_rate, reference_rate,
                      alpha, power)
