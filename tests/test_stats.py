"""Differential and hand-computed tests for auditkit.measure._stats."""

from __future__ import annotations

import gc
import math
from decimal import Decimal, localcontext
import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from auditkit.measure._stats import (
    bh_adjust,
    chi2_p,
    fisher_exact_p,
    holm_adjust,
    katz_ratio_interval,
    newcombe_difference_interval,
    wilson_interval,
    z_value,
)

# No example database: the tests must not write into the repository.
FAST = settings(max_examples=150, deadline=None, database=None)
SLOW = settings(max_examples=60, deadline=None, database=None)

LEVELS = st.sampled_from([0.8, 0.9, 0.95, 0.99, 0.999])
# Sizes spanning tiny to huge, so every code path and magnitude is exercised.
SIZES = st.one_of(
    st.integers(1, 10), st.integers(1, 1000), st.integers(1, 10**7)
)


@st.composite
def binomials(draw: st.DrawFn) -> tuple[int, int]:
    """(k, n) with 0 <= k <= n, n >= 1, biased towards k at 0 or n."""
    n = draw(SIZES)
    k = draw(st.one_of(st.just(0), st.just(n), st.integers(0, n)))
    return k, n


@st.composite
def tables(draw: st.DrawFn, hi: int = 10**6) -> tuple[int, int, int, int]:
    """A 2x2 table of counts, mixing zeros, tiny and large cells."""
    cell = st.one_of(st.just(0), st.integers(0, 5), st.integers(0, 200), st.integers(0, hi))
    return tuple(draw(cell) for _ in range(4))  # type: ignore[return-value]


def _sm(fn, *args, **kwargs):
    """Call statsmodels, silencing its own warnings on edge cases."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# ---------------------------------------------------------------- z_value


def test_z_value_known_quantiles() -> None:
    """z_value gives the textbook two-sided normal quantiles."""
    assert z_value(0.95) == pytest.approx(1.959963984540054, abs=1e-15)
    assert z_value(0.90) == pytest.approx(1.6448536269514722, abs=1e-15)
    assert z_value(0.99) == pytest.approx(2.5758293035489004, abs=1e-15)
    assert isinstance(z_value(0.95), float)


# ---------------------------------------------------------------- Wilson


def test_wilson_hand_computed() -> None:
    """Wilson limits for 0/10, 10/10, 3/7 match the closed form by hand."""
    z2 = z_value(0.95) ** 2
    lo, hi = wilson_interval([0, 10, 3], [10, 10, 7])
    # 0/10: [0, z^2 / (n + z^2)];  10/10: [n / (n + z^2), 1]
    assert lo[0] == 0.0 and hi[0] == pytest.approx(z2 / (10 + z2), abs=1e-15)
    assert lo[1] == pytest.approx(10 / (10 + z2), abs=1e-15) and hi[1] == 1.0
    # 3/7: (k + z^2/2 -/+ z sqrt(k (n-k) / n + z^2/4)) / (n + z^2)
    centre = (3 + z2 / 2) / (7 + z2)
    half = math.sqrt(z2) * math.sqrt(3 * 4 / 7 + z2 / 4) / (7 + z2)
    assert lo[2] == pytest.approx(centre - half, abs=1e-15)
    assert hi[2] == pytest.approx(centre + half, abs=1e-15)
    assert (round(float(lo[2]), 4), round(float(hi[2]), 4)) == (0.1582, 0.7495)


def test_wilson_published_newcombe_1998() -> None:
    """Wilson limits reproduce Newcombe (1998a) Table I for 81/263 and 1/29."""
    lo, hi = wilson_interval([81, 1], [263, 29])
    np.testing.assert_allclose(lo, [0.2553, 0.0061], atol=5e-5)
    np.testing.assert_allclose(hi, [0.3662, 0.1718], atol=5e-5)


@FAST
@given(binomials(), LEVELS)
def test_wilson_matches_statsmodels(kn: tuple[int, int], level: float) -> None:
    """Wilson interval equals statsmodels proportion_confint(method='wilson')."""
    k, n = kn
    lo, hi = wilson_interval(k, n, level)
    ref = _sm(proportion_confint, k, n, alpha=1 - level, method="wilson")
    np.testing.assert_allclose([lo, hi], ref, rtol=0, atol=1e-12)


@FAST
@given(st.floats(0, 1), st.floats(0.5, 1e6), LEVELS)
def test_wilson_non_integer_counts(frac: float, n: float, level: float) -> None:
    """Non-integer counts (bounds) are accepted and agree with statsmodels."""
    k = frac * n
    lo, hi = wilson_interval(k, n, level)
    ref = _sm(proportion_confint, k, n, alpha=1 - level, method="wilson")
    np.testing.assert_allclose([lo, hi], ref, rtol=0, atol=1e-12)
    assert 0.0 <= lo <= k / n <= hi <= 1.0


def test_wilson_zero_n_is_nan_and_vectorised() -> None:
    """n == 0 gives NaN without warnings; broadcasting equals the element loop."""
    lo, hi = wilson_interval(0, 0)
    assert np.isnan(lo) and np.isnan(hi) and lo.dtype == np.float64
    k = np.array([[0], [2], [5]])
    n = np.array([0, 5, 9, 100])
    lo, hi = wilson_interval(k, n, 0.9)
    assert lo.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            el, eh = wilson_interval(int(k[i, 0]), int(n[j]), 0.9)
            np.testing.assert_array_equal([lo[i, j], hi[i, j]], [el, eh])


# ---------------------------------------------------------------- Newcombe


def test_newcombe_published_table() -> None:
    """Method 10 reproduces the eight examples of Newcombe (1998b) Table II."""
    k1, n1, k2, n2 = np.array(
        [[56, 70, 48, 80], [9, 10, 3, 10], [6, 7, 2, 7], [5, 56, 0, 29],
         [0, 10, 0, 20], [0, 10, 0, 10], [10, 10, 0, 20], [10, 10, 0, 10]]
    ).T  # fmt: skip
    lo, hi = newcombe_difference_interval(k1, n1, k2, n2)
    expected_lo = [0.0524, 0.1705, 0.0582, -0.0381, -0.1611, -0.2775, 0.6791, 0.6075]
    expected_hi = [0.3339, 0.8090, 0.8062, 0.1926, 0.2775, 0.2775, 1.0, 1.0]
    np.testing.assert_allclose(lo, expected_lo, atol=5e-5)
    np.testing.assert_allclose(hi, expected_hi, atol=5e-5)


@FAST
@given(binomials(), binomials(), LEVELS)
def test_newcombe_matches_statsmodels(g1, g2, level: float) -> None:
    """Newcombe interval equals statsmodels confint_proportions_2indep('newcomb')."""
    (k1, n1), (k2, n2) = g1, g2
    lo, hi = newcombe_difference_interval(k1, n1, k2, n2, level)
    ref = _sm(
        confint_proportions_2indep, k1, n1, k2, n2,
        method="newcomb", compare="diff", alpha=1 - level,
    )  # fmt: skip
    np.testing.assert_allclose([lo, hi], ref, rtol=0, atol=1e-9)
    assert lo <= k1 / n1 - k2 / n2 <= hi


def test_newcombe_degenerate_and_vectorised() -> None:
    """Either n == 0 gives NaN; array input equals the element-by-element result."""
    lo, hi = newcombe_difference_interval([0, 3, 3], [0, 5, 5], [1, 0, 2], [4, 0, 9])
    assert np.isnan(lo[:2]).all() and np.isnan(hi[:2]).all()
    el, eh = newcombe_difference_interval(3, 5, 2, 9)
    assert (lo[2], hi[2]) == (el, eh)


# ---------------------------------------------------------------- Katz


def test_katz_hand_computed() -> None:
    """10/100 vs 5/100: exp(log 2 +/- z sqrt(1/10 - 1/100 + 1/5 - 1/100))."""
    lo, hi, corrected = katz_ratio_interval(10, 100, 5, 100)
    half = z_value(0.95) * math.sqrt(0.28)
    assert lo == pytest.approx(2 * math.exp(-half), rel=1e-14)
    assert hi == pytest.approx(2 * math.exp(half), rel=1e-14)
    assert not corrected


@FAST
@given(binomials(), binomials(), LEVELS)
def test_katz_matches_statsmodels(g1, g2, level: float) -> None:
    """Katz equals statsmodels 'log' if k1, k2 > 0, else 'log-adjusted' (+0.5)."""
    (k1, n1), (k2, n2) = g1, g2
    lo, hi, corrected = katz_ratio_interval(k1, n1, k2, n2, level)
    zero = k1 == 0 or k2 == 0
    method = "log-adjusted" if zero else "log"
    ref = _sm(
        confint_proportions_2indep, k1, n1, k2, n2,
        method=method, compare="ratio", alpha=1 - level,
    )  # fmt: skip
    assert bool(corrected) == zero
    np.testing.assert_allclose([lo, hi], ref, rtol=1e-9, atol=0)
    assert 0 <= lo <= hi < np.inf


def test_katz_zero_cells_and_degenerate() -> None:
    """Zero numerators get the 0.5 correction; n == 0 is NaN and not flagged."""
    lo, hi, corrected = katz_ratio_interval([0, 0, 4, 2, 1], [10, 10, 10, 0, 3],
                                            [3, 0, 0, 1, 1], [12, 20, 8, 5, 0])  # fmt: skip
    np.testing.assert_array_equal(corrected, [True, True, True, False, False])
    assert np.isfinite(lo[:3]).all() and np.isfinite(hi[:3]).all()
    assert np.isnan(lo[3:]).all() and np.isnan(hi[3:]).all()
    # Both zero: ratio of (0.5 / 10.5) / (0.5 / 20.5) is inside the interval.
    assert lo[1] < 20.5 / 10.5 < hi[1]


def test_katz_vectorised() -> None:
    """Broadcast arrays give the same result as scalar calls."""
    k1 = np.array([[1], [0], [7]])
    lo, hi, cor = katz_ratio_interval(k1, 10, [3, 0, 9], 12)
    for i in range(3):
        for j, k2 in enumerate([3, 0, 9]):
            el, eh, ec = katz_ratio_interval(int(k1[i, 0]), 10, k2, 12)
            np.testing.assert_array_equal([lo[i, j], hi[i, j], cor[i, j]], [el, eh, ec])


# ---------------------------------------------------------------- Fisher


def _fisher_by_enumeration(a: int, b: int, c: int, d: int) -> float:
    """Reference: sum the pmf over the whole support (small tables only)."""
    r1, c1, n = a + b, a + c, a + b + c + d
    if min(r1, c + d, c1, b + d) == 0:
        return 1.0
    support = np.arange(max(0, c1 - (c + d)), min(r1, c1) + 1)
    pmf = stats.hypergeom.pmf(support, n, r1, c1)
    return min(1.0, float(pmf[pmf <= stats.hypergeom.pmf(a, n, r1, c1) * (1 + 1e-7)].sum()))


def test_fisher_hand_computed() -> None:
    """Tea tasting [[3,1],[1,3]] has p = 34/70; a symmetric tie table has p = 1."""
    assert fisher_exact_p(3, 1, 1, 3) == pytest.approx(34 / 70, rel=1e-12)
    # [[0,5],[5,0]]: only the two extreme tables, each 1/252, are as extreme.
    assert fisher_exact_p(0, 5, 5, 0) == pytest.approx(2 / 252, rel=1e-12)
    assert fisher_exact_p(2, 2, 2, 2) == 1.0


def test_fisher_large_table_fast() -> None:
    """A table with millions of units matches scipy to 1e-9 relative."""
    for t in [(12000, 988000, 30000, 1970000), (3, 4_000_000, 9, 6_000_000),
              (500_000, 500_100, 499_000, 501_000)]:  # fmt: skip
        ref = stats.fisher_exact([[t[0], t[1]], [t[2], t[3]]]).pvalue
        assert fisher_exact_p(*t) == pytest.approx(ref, rel=1e-9, abs=0)


@SLOW
@given(tables())
def test_fisher_matches_scipy(t: tuple[int, int, int, int]) -> None:
    """Fisher p equals scipy.stats.fisher_exact on tables of every size."""
    a, b, c, d = t
    ref = stats.fisher_exact([[a, b], [c, d]]).pvalue
    # scipy's own tail sums drift by up to ~4e-9 relative on tables of millions (see
    # test_fisher_exact_arithmetic_large_tables, where ours is within 1e-11 of exact).
    assert fisher_exact_p(a, b, c, d) == pytest.approx(ref, rel=1e-8, abs=1e-300)


_PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494")


def _ln_factorial(n: int) -> Decimal:
    """log(n!) to ~40 digits: exact sum for small n, Stirling's series (error < 1e-24) above."""
    if n < 200:
        return sum((Decimal(i).ln() for i in range(2, n + 1)), Decimal(0))
    m = Decimal(n)
    return ((m + Decimal("0.5")) * m.ln() - m + (2 * _PI).ln() / 2
            + 1 / (12 * m) - 1 / (360 * m**3) + 1 / (1260 * m**5) - 1 / (1680 * m**7))


def _fisher_exact_decimal(a: int, b: int, c: int, d: int) -> Decimal:
    """Two-sided Fisher p in 50-digit decimal arithmetic (an independent reference).

    The observed table's probability from log-factorials; every other table's relative
    to it by the exact pmf ratios, walking out from the observed cell.
    """
    with localcontext() as ctx:
        ctx.prec = 50
        r1, c1, total = a + b, a + c, a + b + c + d
        n2 = total - r1
        lo, hi = max(0, c1 - n2), min(r1, c1)

        def ln_choose(n: int, k: int) -> Decimal:
            return _ln_factorial(n) - _ln_factorial(k) - _ln_factorial(n - k)

        p_obs = (ln_choose(r1, a) + ln_choose(n2, c1 - a) - ln_choose(total, c1)).exp()

        def up(x: int) -> Decimal:  # pmf(x + 1) / pmf(x)
            return Decimal((r1 - x) * (c1 - x)) / Decimal((x + 1) * (n2 - c1 + x + 1))

        def down(x: int) -> Decimal:  # pmf(x - 1) / pmf(x)
            return Decimal(x * (n2 - c1 + x)) / Decimal((r1 - x + 1) * (c1 - x + 1))

        limit = 1 + Decimal("1e-7")
        mode = ((c1 + 1) * (r1 + 1)) // (total + 2)
        away, toward, end_away, end_toward = (down, up, lo, hi) if a <= mode else (up, down, hi, lo)
        step = -1 if a <= mode else 1

        def tail(x: int, rel: Decimal, ratio, end: int, step: int) -> Decimal:  # type: ignore[no-untyped-def]
            acc = Decimal(0)
            while True:
                acc += rel
                if x == end or rel < acc * Decimal("1e-45"):
                    return acc
                rel *= ratio(x)
                x += step
        total_rel = tail(a, Decimal(1), away, end_away, step)  # the observed side
        x, rel = a, Decimal(1)
        while x != end_toward:  # cross the mode to the first table no more likely than the observed one
            rel *= toward(x)
            x -= step
            if (x - mode) * step < 0 and rel <= limit:
                total_rel += tail(x, rel, toward, end_toward, -step)
                break
        return min(p_obs * total_rel, Decimal(1))


@pytest.mark.parametrize("t", [(152142, 1618491, 1210204, 11776826), (3, 4_000_000, 9, 6_000_000),
                               (4980, 5020, 5150, 4850), (0, 40, 7, 33), (120, 880, 100, 900)])
def test_fisher_exact_arithmetic_large_tables(t: tuple[int, int, int, int]) -> None:
    """Fisher p equals a 60-digit exact-binomial sum to 1e-11 relative, tables of millions included."""
    ref = float(_fisher_exact_decimal(*t))
    assert fisher_exact_p(*t) == pytest.approx(ref, rel=1e-11)


@FAST
@given(tables(hi=40))
def test_fisher_matches_enumeration(t: tuple[int, int, int, int]) -> None:
    """The binary search equals summing the pmf over the whole support."""
    assert fisher_exact_p(*t) == pytest.approx(_fisher_by_enumeration(*t), rel=1e-9)


def test_fisher_degenerate_rounding_vectorised() -> None:
    """Empty margins give 1, bad counts NaN, non-integers round half up, arrays loop."""
    np.testing.assert_array_equal(
        fisher_exact_p([0, 0, 5, 0], [0, 4, 0, 0], [3, 0, 7, 0], [2, 6, 0, 0]), 1.0
    )
    assert np.isnan(fisher_exact_p([-1, np.nan, np.inf], 2, 3, 4)).all()
    assert fisher_exact_p(2.4, 7.5, 3.0, 0.6) == fisher_exact_p(2, 8, 3, 1)
    a = np.array([[0], [3], [10]])
    out = fisher_exact_p(a, [1, 8], 6, 2)
    assert out.shape == (3, 2) and out.dtype == np.float64
    for i in range(3):
        for j, b in enumerate([1, 8]):
            assert out[i, j] == fisher_exact_p(int(a[i, 0]), b, 6, 2)


# ---------------------------------------------------------------- chi-square


@FAST
@given(tables())
def test_chi2_matches_scipy_and_ztest(t: tuple[int, int, int, int]) -> None:
    """Chi-square p equals chi2_contingency(correction=False) and proportions_ztest."""
    a, b, c, d = t
    p = chi2_p(a, b, c, d)
    if min(a + b, c + d, a + c, b + d) == 0:
        assert p == 1.0
        return
    ref = stats.chi2_contingency([[a, b], [c, d]], correction=False).pvalue
    assert p == pytest.approx(ref, rel=1e-9, abs=1e-300)
    z = _sm(proportions_ztest, [a, c], [a + b, c + d])[1]
    if z > 1e-280:  # proportions_ztest underflows earlier than the sf does
        assert p == pytest.approx(z, rel=1e-9)


def test_chi2_hand_computed_degenerate_vectorised() -> None:
    """[[10,20],[30,40]] by hand; empty margins give 1; huge counts do not overflow."""
    # X^2 = n (ad - bc)^2 / (r1 r2 c1 c2) = 100 * 200^2 / (30 * 70 * 40 * 60)
    x2 = 100 * 200**2 / (30 * 70 * 40 * 60)
    assert chi2_p(10, 20, 30, 40) == pytest.approx(stats.chi2.sf(x2, 1), rel=1e-13)
    np.testing.assert_array_equal(chi2_p([0, 3, 0], [0, 0, 0], [4, 5, 0], [2, 0, 0]), 1.0)
    big = chi2_p(4e9, 6e9, 4.1e9, 5.9e9)
    ref = stats.chi2_contingency([[4e9, 6e9], [4.1e9, 5.9e9]], correction=False).pvalue
    assert big == pytest.approx(ref, rel=1e-9, abs=1e-300)
    out = chi2_p([[1], [9]], [5, 6, 7], 4, 3)
    for i, a in enumerate([1, 9]):
        for j, b in enumerate([5, 6, 7]):
            assert out[i, j] == chi2_p(a, b, 4, 3)


# ---------------------------------------------------------------- multiplicity


def test_holm_bh_known_list() -> None:
    """Holm and BH on [0.01, 0.04, 0.03, 0.005] computed by hand."""
    p = [0.01, 0.04, 0.03, 0.005]
    # Holm: sorted p * (4, 3, 2, 1) = 0.02, 0.03, 0.06, 0.04 -> running max.
    np.testing.assert_allclose(holm_adjust(p), [0.03, 0.06, 0.06, 0.02], atol=1e-15)
    # BH: sorted p * 4 / (1, 2, 3, 4) = 0.02, 0.02, 0.04, 0.04 -> running min from top.
    np.testing.assert_allclose(bh_adjust(p), [0.02, 0.04, 0.04, 0.02], atol=1e-15)


def test_adjust_nan_empty_and_cap() -> None:
    """NaN stays NaN and is not counted; empty input works; results cap at 1."""
    p = [0.01, np.nan, 0.04, 0.03, np.nan, 0.005]
    np.testing.assert_array_equal(np.isnan(holm_adjust(p)), np.isnan(p))
    np.testing.assert_allclose(holm_adjust(p)[~np.isnan(p)], [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(bh_adjust(p)[~np.isnan(p)], [0.02, 0.04, 0.04, 0.02])
    assert holm_adjust([]).shape == (0,) and bh_adjust([]).shape == (0,)
    assert np.isnan(bh_adjust([np.nan, np.nan])).all()
    assert holm_adjust([0.6, 0.7]).tolist() == [1.0, 1.0]


P_LISTS = st.lists(
    st.one_of(st.floats(0, 1), st.sampled_from([0.0, 0.01, 0.05, 1.0, np.nan])),
    min_size=1, max_size=40,
)  # fmt: skip


@FAST
@given(P_LISTS)
def test_holm_bh_match_statsmodels(p: list[float]) -> None:
    """Holm and BH equal multipletests on the non-NaN entries, ties included."""
    arr = np.array(p)
    keep = ~np.isnan(arr)
    h, b = holm_adjust(arr), bh_adjust(arr)
    assert np.isnan(h[~keep]).all() and np.isnan(b[~keep]).all()
    if keep.any():
        # multipletests(method="holm") calls gc.collect() (~80 ms) every time.
        with mock.patch.object(gc, "collect", lambda *args: 0):
            ref_h = multipletests(arr[keep], method="holm")[1]
        ref_b = multipletests(arr[keep], method="fdr_bh")[1]
        np.testing.assert_allclose(h[keep], ref_h, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b[keep], ref_b, rtol=0, atol=1e-12)
