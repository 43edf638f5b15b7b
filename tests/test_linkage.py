"""Estimates from area composition on a planted country where each person's group is known to the test only."""

from __future__ import annotations

import numpy as np
import pytest

from auditkit.measure.linkage import area_estimates, bounds, ecological, weighted


def _country(scenario: str, seed: int = 11, areas: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """People per area and group, selections per area, and the true selected count per group (hidden truth).

    'area': selection depends on the area only (areas with more group-1 people are targeted), never on a
    person's group within the area. 'group': selection depends on the person's group only (5% vs 12%),
    the same in every area.
    """
    rng = np.random.default_rng(seed)
    n = rng.integers(200, 2000, areas)
    share = rng.beta(1.5, 4.0, areas)
    n_g = np.column_stack([n - np.round(n * share), np.round(n * share)]).astype(int)
    if scenario == "area":
        p = np.column_stack([0.02 + 0.25 * share, 0.02 + 0.25 * share])
    elif scenario == "noisy":  # each area has its own rates, unrelated to its composition
        p = np.clip(np.array([0.05, 0.12]) * np.exp(rng.normal(0, 0.5, (areas, 2))), 0, 1)
    else:
        p = np.tile([0.05, 0.12], (areas, 1))
    true = rng.binomial(n_g, p)
    return n_g.sum(axis=1), true.sum(axis=1), n_g, true.sum(axis=0)


@pytest.mark.parametrize("scenario", ["area", "group"])
def test_bounds_always_contain_the_truth(scenario):
    n, s, n_g, true = _country(scenario)
    b = bounds(n, s, n_g)
    assert np.all(b["selected_low"] <= true) and np.all(true <= b["selected_high"])
    truth_rate = true / n_g.sum(axis=0)
    assert np.all(b["rate_low"] <= truth_rate) and np.all(truth_rate <= b["rate_high"])


def test_bounds_by_hand_for_one_area():
    b = bounds(np.array([10]), np.array([7]), np.array([[4, 6]]))
    assert b["selected_low"].tolist() == [1, 3] and b["selected_high"].tolist() == [4, 6]


def test_weighted_recovers_truth_when_selection_depends_on_area_only():
    n, s, n_g, true = _country("area")
    truth = true / n_g.sum(axis=0)
    assert weighted(n, s, n_g) == pytest.approx(truth, rel=0.05)
    est = area_estimates([str(i) for i in range(len(n))], n, s, n_g, ["A", "B"], "A", replicates=200)
    b = est["groups"][1]
    assert b["weighted"]["ci"][0] <= truth[1] <= b["weighted"]["ci"][1]


def test_weighted_is_biased_and_ecological_recovers_when_group_drives_selection():
    n, s, n_g, true = _country("group")
    truth = true / n_g.sum(axis=0)
    w = weighted(n, s, n_g)
    assert (w[1] / w[0]) < 0.75 * (truth[1] / truth[0])  # pulled towards no difference
    eco = ecological(n, s, n_g)
    assert eco["rate"] == pytest.approx(truth, abs=0.01)
    assert eco["ci_low"][1] <= truth[1] <= eco["ci_high"][1]
    assert 0.5 < eco["dispersion"] < 2.0  # homogeneity holds: binomial variation explains the areas


def test_ecological_diagnostic_flags_heterogeneity_but_not_a_linear_context_effect():
    """Rates that vary between areas show as dispersion far above 1; a contextual effect linear in the
    composition does not (the ecological fallacy): the regression is then wrong while fitting perfectly,
    which is why the bounds and the weighted estimate are reported beside it."""
    n, s, n_g, _ = _country("noisy")
    assert ecological(n, s, n_g)["dispersion"] > 5
    n, s, n_g, true = _country("area")
    truth = true / n_g.sum(axis=0)
    eco = ecological(n, s, n_g)
    assert eco["dispersion"] < 2 and eco["rate"][1] / eco["rate"][0] > 2 * truth[1] / truth[0]


def test_estimates_are_reproducible_and_state_their_assumptions():
    n, s, n_g, _ = _country("group")
    areas = [str(i) for i in range(len(n))]
    one = area_estimates(areas, n, s, n_g, ["A", "B"], "A", replicates=100, seed=3)
    two = area_estimates(areas, n, s, n_g, ["A", "B"], "A", replicates=100, seed=3)
    assert one == two
    assert set(one["assumptions"]) == {"bounds", "weighted", "ecological"} and "not measurements" in one["caveat"]
    ratio = one["groups"][1]["bounds"]["ratio"]
    assert ratio[0] <= one["groups"][1]["ecological"]["ratio"] <= ratio[1]


def test_ecological_regression_equals_statsmodels_wls_with_hc0():
    """Coefficients and sandwich standard errors are statsmodels' WLS (weights n, no intercept, HC0)."""
    sm = pytest.importorskip("statsmodels.api")
    n, s, n_g, _ = _country("noisy", areas=80)
    eco = ecological(n, s, n_g)
    fit = sm.WLS(s / n, n_g / n[:, None], weights=n).fit(cov_type="HC0")
    assert eco["rate"] == pytest.approx(fit.params, rel=1e-9)
    assert np.sqrt(np.diag(eco["cov"])) == pytest.approx(fit.bse, rel=1e-8)
    low, high = fit.conf_int(alpha=0.05).T
    assert eco["ci_low"] == pytest.approx(low, rel=1e-8) and eco["ci_high"] == pytest.approx(high, rel=1e-8)


def test_bounds_equal_a_brute_force_linear_programme():
    """On a tiny country the bounds are the minimum and maximum of a group's selected count over every split of
    each area's selections that respects the group sizes (scipy's linprog, an independent solver)."""
    linprog = pytest.importorskip("scipy.optimize").linprog
    n_g = np.array([[5, 3, 2], [1, 6, 4], [7, 0, 3]])
    s = np.array([4, 8, 2])
    n = n_g.sum(axis=1)
    b = bounds(n, s, n_g)
    areas, groups = n_g.shape
    a_eq = np.zeros((areas, areas * groups))
    for a in range(areas):
        a_eq[a, a * groups:(a + 1) * groups] = 1
    limits = [(0, n_g[a, g]) for a in range(areas) for g in range(groups)]
    for g in range(groups):
        c = np.zeros(areas * groups)
        c[g::groups] = 1
        low = linprog(c, A_eq=a_eq, b_eq=s, bounds=limits).fun
        high = -linprog(-c, A_eq=a_eq, b_eq=s, bounds=limits).fun
        assert (b["selected_low"][g], b["selected_high"][g]) == pytest.approx((low, high))


def test_weighted_by_hand_and_ratio_interval_from_the_same_replicates():
    """The weighted rate on two areas by hand; the ratio interval is the percentile of replicate ratios."""
    n, s, n_g = np.array([100, 100]), np.array([10, 40]), np.array([[80, 20], [20, 80]])
    assert weighted(n, s, n_g) == pytest.approx([0.16, 0.34])
    est = area_estimates(["N", "S"], n, s, n_g, ["x", "y"], "x", replicates=200, seed=1)
    ci = est["groups"][1]["weighted"]["ratio_ci"]
    # Resampling two areas gives three distinct country mixes: NN, SS (ratio 1) and NS (0.34/0.16).
    assert ci[0] == pytest.approx(1.0) and ci[1] == pytest.approx(0.34 / 0.16)


def test_outer_bounds_hold_every_value_the_suppressed_cells_may_take():
    """Group sizes known only within ranges: the outer bounds contain the exact bounds of every combination."""
    from itertools import product

    from auditkit.measure.linkage import outer_bounds

    n, s = np.array([30, 40]), np.array([9, 20])
    low = np.array([[20.0, 0.0], [10.0, 26.0]])  # area 0's group 1 and area 1's group 0 suppressed (0-4 / 10-14)
    high = np.array([[20.0, 4.0], [14.0, 26.0]])
    outer = outer_bounds(n, s, n[:, None] * low / (low + high[:, ::-1]), n[:, None] * high / (high + low[:, ::-1]))
    for a, b in product(range(5), range(10, 15)):
        comp = np.array([[20.0, a], [b, 26.0]])
        exact = bounds(n, s, n[:, None] * comp / comp.sum(axis=1, keepdims=True))
        assert np.all(outer["rate_low"] <= exact["rate_low"] + 1e-12)
        assert np.all(exact["rate_high"] <= outer["rate_high"] + 1e-12)
