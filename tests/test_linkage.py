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
