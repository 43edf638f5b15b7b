"""The chi-square upper tail auditkit computes itself (so that a period audit does not import scipy)
agrees with scipy's ``chdtrc`` on a grid of degrees of freedom and statistics, including the far tail."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from auditkit.measure._stats import chi2_sf


@pytest.mark.parametrize("df", [*range(1, 41), 59, 100, 101, 499, 500])
def test_chi2_sf_agrees_with_scipy(df):
    rng = np.random.default_rng(df)
    grid = [1e-12, 1e-6, 0.01, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 100.0, 300.0, 700.0, 1400.0]
    grid += list(rng.gamma(df / 2, 2, 50) * rng.uniform(0.2, 3, 50))
    for x in grid:
        want = float(special.chdtrc(df, x))
        got = chi2_sf(float(x), df)
        assert got == pytest.approx(want, rel=1e-11, abs=1e-300), (df, x)
        assert got == pytest.approx(float(stats.chi2.sf(x, df)), rel=1e-10, abs=1e-300)


def test_chi2_sf_edges():
    assert chi2_sf(0.0, 3) == 1.0 and chi2_sf(-1.0, 4) == 1.0
    assert chi2_sf(math.inf, 5) == 0.0
    assert math.isnan(chi2_sf(math.nan, 2)) and math.isnan(chi2_sf(1.0, 0)) and math.isnan(chi2_sf(1.0, 2.5))
    assert 0.0 <= chi2_sf(1e-300, 1000) <= 1.0


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 7, 10, 18, 19, 30, 100, 1000, 2.5])
def test_student_t_agrees_with_scipy(df):
    from auditkit.measure._stats import t_quantile_two_sided, t_sf_two_sided

    for t in [0.0, 1e-8, 0.01, 0.5, 1.0, 1.96, 2.5, 4.0, 10.0, 50.0, 1e3, -3.0]:
        want = float(2.0 * special.stdtr(df, -abs(t)))
        if df == 1:  # the Cauchy distribution, in closed form (scipy loses digits near t = 0)
            want = 1.0 - 2.0 / math.pi * math.atan(abs(t))
        assert t_sf_two_sided(t, df) == pytest.approx(want, rel=1e-11, abs=1e-300), (df, t)
    for level in [0.5, 0.8, 0.9, 0.95, 0.99, 0.999]:
        want = float(special.stdtrit(df, 1.0 - (1.0 - level) / 2.0))
        assert t_quantile_two_sided(level, df) == pytest.approx(want, rel=1e-10), (df, level)


def test_incomplete_beta_agrees_with_scipy():
    from auditkit.measure._stats import beta_regularized

    rng = np.random.default_rng(3)
    for _ in range(2000):
        a, b = rng.uniform(0.05, 60, 2)
        x = float(rng.uniform(0, 1))
        assert beta_regularized(a, b, x, 1.0 - x) == pytest.approx(float(special.betainc(a, b, x)), rel=1e-10,
                                                                   abs=1e-300), (a, b, x)
