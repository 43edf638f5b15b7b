"""Differential and hand-computed tests for auditkit.measure._stratified."""

from __future__ import annotations

import math
import warnings
from decimal import Decimal, localcontext

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.contingency_tables import StratifiedTable

from auditkit.measure._stratified import conditional_demographic_disparity, mantel_haenszel

FAST = settings(max_examples=120, deadline=None, database=None)

CELL = st.one_of(st.just(0), st.integers(0, 6), st.integers(0, 300), st.integers(0, 10**5))


@st.composite
def strata(draw: st.DrawFn, min_k: int = 1, max_k: int = 6) -> np.ndarray:
    """A (K, 2, 2) array of integer counts, zeros and uninformative strata included."""
    k = draw(st.integers(min_k, max_k))
    return np.array([[[draw(CELL), draw(CELL)], [draw(CELL), draw(CELL)]] for _ in range(k)])


def _informative(t: np.ndarray) -> np.ndarray:
    """Mask of strata with both rows and both columns non-empty."""
    return (t.sum(axis=2) > 0).all(axis=1) & (t.sum(axis=1) > 0).all(axis=1)


def _reference(t: np.ndarray, level: float, correction: bool, tarone: bool) -> dict:
    """statsmodels StratifiedTable results under mantel_haenszel's key names."""
    st_ = StratifiedTable(np.moveaxis(np.asarray(t, dtype=float), 0, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lo, hi = st_.oddsratio_pooled_confint(alpha=1 - level)
        cmh = st_.test_null_odds(correction=correction)
        bd = st_.test_equal_odds(adjust=tarone)
        return {
            "odds_ratio": st_.oddsratio_pooled, "ci_low": lo, "ci_high": hi,
            "cmh_statistic": cmh.statistic, "cmh_p": cmh.pvalue,
            "breslow_day_statistic": bd.statistic, "breslow_day_p": bd.pvalue,
        }  # fmt: skip


def _close(x: float, y: float, rtol: float = 1e-9, atol: float = 0.0) -> bool:
    """NaN-aware, inf-aware closeness."""
    if np.isnan(x) or np.isnan(y):
        return bool(np.isnan(x) and np.isnan(y))
    if np.isinf(x) or np.isinf(y):
        return x == y
    return abs(x - y) <= atol + rtol * abs(y)


def _breslow_day_exact(t: np.ndarray, tarone: bool) -> float:
    """Breslow-Day statistic in 60-digit decimal arithmetic (textbook formulas)."""
    with localcontext() as ctx:
        ctx.prec = 60
        cells = [[Decimal(float(x)) for x in s.ravel()] for s in t]
        ns = [sum(s) for s in cells]
        odds = sum(a * d / n for (a, _, _, d), n in zip(cells, ns)) / sum(
            b * c / n for (_, b, c, _), n in zip(cells, ns)
        )
        stat = dev = var = Decimal(0)
        for (a, b, c, d), n in zip(cells, ns):
            r1, c1 = a + b, a + c
            # Root of (1-R) e^2 + [R (r1 + c1) + n - r1 - c1] e - R r1 c1 = 0
            # that statsmodels and Breslow & Day use; exact enough here.
            qa, qb, qc = 1 - odds, odds * (r1 + c1) + n - r1 - c1, -odds * r1 * c1
            e = -2 * qc / (qb + (qb * qb - 4 * qa * qc).sqrt())
            v = 1 / (1 / e + 1 / (r1 - e) + 1 / (c1 - e) + 1 / (n - r1 - c1 + e))
            stat += (a - e) ** 2 / v
            dev += a - e
            var += v
        return float(stat - dev**2 / var) if tarone else float(stat)


# ---------------------------------------------------------------- Mantel-Haenszel


def test_mh_hand_computed() -> None:
    """Strata [[4,2],[2,4]] and [[3,1],[1,3]]: OR, CMH by hand."""
    res = mantel_haenszel([[[4, 2], [2, 4]], [[3, 1], [1, 3]]])
    # OR = (16/12 + 9/8) / (4/12 + 1/8) = (59/24) / (11/24)
    assert res["odds_ratio"] == pytest.approx(59 / 11, rel=1e-14)
    # sum(a - E) = (4 - 3) + (3 - 2) = 2;  V = 6^4/(12^2 * 11) + 4^4/(8^2 * 7) = 107/77
    assert res["cmh_statistic"] == pytest.approx(4 * 77 / 107, rel=1e-14)
    assert res["cmh_p"] == pytest.approx(stats.chi2.sf(4 * 77 / 107, 1), rel=1e-14)
    corrected = mantel_haenszel([[[4, 2], [2, 4]], [[3, 1], [1, 3]]], correction=True)
    assert corrected["cmh_statistic"] == pytest.approx(1.5**2 * 77 / 107, rel=1e-14)
    assert res["strata_used"] == 2 and isinstance(res["strata_used"], int)
    assert res["ci_low"] < res["odds_ratio"] < res["ci_high"]


def test_mh_common_or_exactly_one() -> None:
    """Pooled OR exactly 1: Breslow-Day by hand (statsmodels divides by 1 - OR = 0)."""
    res = mantel_haenszel([[[2, 1], [1, 2]], [[1, 2], [2, 1]]], tarone=True)
    assert res["odds_ratio"] == 1.0
    assert res["cmh_statistic"] == 0.0 and res["cmh_p"] == 1.0
    # e = r1 c1 / n = 1.5;  v = 1 / (4 / 1.5) = 0.375;  X^2 = 2 * 0.5^2 / 0.375 = 4/3,
    # and sum(a - e) = 0, so Tarone's term vanishes.
    assert res["breslow_day_statistic"] == pytest.approx(4 / 3, rel=1e-14)
    assert res["breslow_day_p"] == pytest.approx(stats.chi2.sf(4 / 3, 1), rel=1e-14)


@FAST
@given(strata(), st.sampled_from([0.9, 0.95, 0.99]), st.booleans(), st.booleans())
def test_mh_matches_statsmodels(
    t: np.ndarray, level: float, correction: bool, tarone: bool
) -> None:
    """All outputs equal statsmodels StratifiedTable on the informative strata."""
    keep = _informative(t)
    assume(keep.any())
    res = mantel_haenszel(t, level=level, correction=correction, tarone=tarone)
    ref = _reference(t[keep], level, correction, tarone)
    assert res["strata_used"] == keep.sum()
    for key in ("odds_ratio", "ci_low", "ci_high"):
        assert _close(res[key], ref[key]), key
    # statsmodels does not cap the continuity correction at |sum(a - E)|.
    dev = abs(np.sum(t[keep, 0, 0] - t[keep].sum(2)[:, 0] * t[keep].sum(1)[:, 0]
                     / t[keep].sum((1, 2))))  # fmt: skip
    if not correction or dev >= 0.5:
        assert _close(res["cmh_statistic"], ref["cmh_statistic"], atol=1e-12)
        # statsmodels' 1 - cdf loses absolute precision ~1e-16 for small p.
        assert _close(res["cmh_p"], ref["cmh_p"], atol=1e-14)
    odds = res["odds_ratio"]
    if keep.sum() < 2 or not 0 < odds < np.inf:
        assert np.isnan(res["breslow_day_statistic"]) and np.isnan(res["breslow_day_p"])
        return
    # statsmodels' root formula (-B + sqrt(disc)) / (2 (1 - R)) cancels for R
    # near 1 and for extreme tables; compare only where it is itself accurate
    # (the exact comparison is test_breslow_day_matches_exact_arithmetic).
    if _close(ref["breslow_day_statistic"], _breslow_day_exact(t[keep], tarone), 1e-11):
        assert _close(res["breslow_day_statistic"], ref["breslow_day_statistic"], atol=1e-12)
        assert _close(res["breslow_day_p"], ref["breslow_day_p"], atol=1e-14)


@FAST
@given(strata(min_k=2), st.booleans())
def test_breslow_day_matches_exact_arithmetic(t: np.ndarray, tarone: bool) -> None:
    """Closed-form Breslow-Day equals a 60-digit decimal computation, any OR."""
    t = t[_informative(t)]
    res = mantel_haenszel(t, tarone=tarone)
    assume(len(t) >= 2 and 0 < res["odds_ratio"] < np.inf)
    ref = _breslow_day_exact(t, tarone)
    assert res["breslow_day_statistic"] == pytest.approx(max(ref, 0.0), rel=1e-9, abs=1e-9)


@FAST
@given(strata(), st.booleans())
def test_mh_uninformative_strata_add_nothing(t: np.ndarray, correction: bool) -> None:
    """Empty, row-empty and column-empty strata leave every output unchanged."""
    junk = np.array([[[0, 0], [0, 0]], [[0, 0], [3, 4]], [[5, 0], [2, 0]], [[0, 1], [0, 0]]])
    a = mantel_haenszel(t, correction=correction)
    b = mantel_haenszel(np.concatenate([junk[:2], t, junk[2:]]), correction=correction)
    assert a.keys() == b.keys()
    for key in a:
        assert _close(a[key], b[key], rtol=0), key


def test_mh_uninformative_strata_match_statsmodels_unfiltered() -> None:
    """statsmodels adds exactly 0 for empty-margin strata with n >= 2 (OR, CI, CMH)."""
    t = np.array([[[10, 5], [3, 12]], [[0, 0], [4, 6]], [[7, 0], [9, 0]], [[8, 8], [2, 14]]])
    res = mantel_haenszel(t)
    ref = _reference(t, 0.95, False, True)
    for key in ("odds_ratio", "ci_low", "ci_high", "cmh_statistic", "cmh_p"):
        assert res[key] == pytest.approx(ref[key], rel=1e-12), key
    assert np.isnan(ref["breslow_day_statistic"])  # statsmodels gets 0/0 there
    assert np.isfinite(res["breslow_day_statistic"]) and res["strata_used"] == 2


def test_mh_no_informative_stratum_is_nan() -> None:
    """With no informative stratum every statistic is NaN and strata_used is 0."""
    for t in (np.zeros((3, 2, 2)), [[[0, 0], [1, 2]]], np.zeros((0, 2, 2))):
        res = mantel_haenszel(t)
        assert res.pop("strata_used") == 0
        assert all(np.isnan(v) for v in res.values())


def test_mh_single_stratum() -> None:
    """One stratum: OR = ad/bc, CMH = (n-1)/n Pearson X^2, Breslow-Day undefined."""
    t = np.array([[[12, 30], [20, 25]]])
    res = mantel_haenszel(t)
    assert res["odds_ratio"] == pytest.approx(12 * 25 / (30 * 20), rel=1e-14)
    x2 = stats.chi2_contingency(t[0], correction=False).statistic
    assert res["cmh_statistic"] == pytest.approx(x2 * 86 / 87, rel=1e-12)
    assert np.isnan(res["breslow_day_statistic"]) and np.isnan(res["breslow_day_p"])


def test_mh_zero_and_infinite_or() -> None:
    """OR 0 or infinite: no log interval or Breslow-Day, CMH still defined."""
    res = mantel_haenszel([[[5, 0], [3, 4]], [[2, 0], [1, 6]]])
    assert res["odds_ratio"] == np.inf
    assert np.isnan(res["ci_low"]) and np.isnan(res["breslow_day_statistic"])
    assert np.isfinite(res["cmh_statistic"]) and 0 < res["cmh_p"] < 1
    assert mantel_haenszel([[[0, 5], [3, 4]], [[0, 2], [1, 6]]])["odds_ratio"] == 0.0


def test_mh_continuity_correction_capped() -> None:
    """|sum(a - E)| < 0.5: corrected statistic is 0 (statsmodels gives (0.5 - |dev|)^2 / V)."""
    t = [[[2, 1], [1, 2]], [[1, 2], [2, 1]], [[1, 1], [1, 2]]]  # sum(a - E) = 0.2
    res = mantel_haenszel(t, correction=True)
    assert res["cmh_statistic"] == 0.0 and res["cmh_p"] == 1.0
    assert _reference(np.array(t), 0.95, True, True)["cmh_statistic"] > 0


@FAST
@given(strata(min_k=2, max_k=4), st.floats(0.01, 1.0))
def test_mh_non_integer_counts(t: np.ndarray, scale: float) -> None:
    """Non-integer (bound) counts are accepted and agree with statsmodels."""
    t = t * scale + 0.25 * (t > 0)
    keep = _informative(t)
    assume(keep.sum() >= 2 and (t[keep].sum((1, 2)) > 2).all())
    res = mantel_haenszel(t)
    ref = _reference(t[keep], 0.95, False, True)
    for key in ("odds_ratio", "ci_low", "ci_high", "cmh_statistic"):
        assert _close(res[key], ref[key], atol=1e-12), key


# ---------------------------------------------------------------- CDD


def test_cdd_hand_computed() -> None:
    """Three strata plus one without adverse decisions, arithmetic written out."""
    # s1: 6/10 - 9/30 = 0.3 (n 40); s2: 5/20 - 5/20 = 0 (n 40); s3: 4/5 - 3/15 = 0.6
    # (n 20); s4 has no adverse decision, so no DD: CDD = (40*.3 + 40*0 + 20*.6)/100.
    cdd, dd = conditional_demographic_disparity(
        [6, 5, 4, 0], [9, 5, 3, 2], [10, 20, 5, 0], [30, 20, 15, 7]
    )
    np.testing.assert_allclose(dd[:3], [0.3, 0.0, 0.6], atol=1e-15)
    assert np.isnan(dd[3]) and dd.dtype == np.float64
    assert cdd == pytest.approx(0.24, abs=1e-15) and isinstance(cdd, float)


def test_cdd_single_stratum_is_crude_dd() -> None:
    """With one stratum CDD equals the crude demographic disparity."""
    cdd, dd = conditional_demographic_disparity([7], [11], [20], [50])
    assert cdd == dd[0] == pytest.approx(7 / 20 - 11 / 50, abs=1e-15)


def test_cdd_all_undefined_is_nan() -> None:
    """Every stratum lacking a decision type gives NaN CDD and NaN DDs."""
    cdd, dd = conditional_demographic_disparity([0, 1], [0, 0], [0, 3], [5, 0])
    assert math.isnan(cdd) and np.isnan(dd).all()
    cdd, dd = conditional_demographic_disparity([], [], [], [])
    assert math.isnan(cdd) and dd.shape == (0,)


@settings(max_examples=50, deadline=None, database=None)
@given(st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_cdd_matches_pandas(n_strata: int, seed: int) -> None:
    """CDD from counts equals a row-level pandas computation."""
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 400))
    rows = pd.DataFrame({
        "stratum": rng.integers(0, n_strata, size),
        "group": rng.random(size) < rng.random(),
        "adverse": rng.random(size) < rng.random(),
    })  # fmt: skip
    s, g, adv = (rows[c].to_numpy() for c in ("stratum", "group", "adverse"))
    cdd, dd = conditional_demographic_disparity(
        np.bincount(s[g & adv], minlength=n_strata),
        np.bincount(s[g & ~adv], minlength=n_strata),
        np.bincount(s[adv], minlength=n_strata),
        np.bincount(s[~adv], minlength=n_strata),
    )
    # Independent route: group share per (stratum, decision) by mean, then weight.
    share = rows.groupby(["stratum", "adverse"])["group"].mean().unstack()
    share = share.reindex(index=range(n_strata), columns=[False, True])
    ref_dd = share[True] - share[False]
    sizes = rows.groupby("stratum").size().reindex(range(n_strata), fill_value=0)
    ok = ref_dd.notna()
    np.testing.assert_allclose(dd, ref_dd.to_numpy(dtype=float), rtol=0, atol=1e-12)
    if ok.any():
        ref = float((ref_dd[ok] * sizes[ok]).sum() / sizes[ok].sum())
        assert cdd == pytest.approx(ref, abs=1e-12)
    else:
        assert math.isnan(cdd)
