"""Power: minimum detectable ratios and sample sizes, cross-checked against statsmodels' NormalIndPower."""

from __future__ import annotations

import json
import math
import warnings

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

import auditkit
from auditkit.exceptions import UsageError
from auditkit.measure.power import effect_size, minimum_detectable_ratio, power_of, sample_size

from conftest import assert_user_error, run_cli

FAST = settings(max_examples=80, deadline=None, database=None)


def _solve(**kwargs):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' root finder warns on its own convergence steps
        return NormalIndPower().solve_power(**kwargs)


@FAST
@given(st.floats(0.01, 0.9), st.floats(0.01, 0.9))
def test_effect_size_is_statsmodels_proportion_effectsize(p1, p0):
    """Cohen's h, as statsmodels writes it."""
    assert effect_size(p1, p0) == pytest.approx(proportion_effectsize(p1, p0), rel=1e-12, abs=1e-15)


@FAST
@given(st.integers(5, 20000), st.integers(5, 20000), st.sampled_from([0.01, 0.05, 0.1]),
       st.sampled_from([0.5, 0.8, 0.9]))
def test_detectable_effect_matches_normal_ind_power(n1, n0, alpha, power):
    """The effect size at the wanted power equals statsmodels' solution for the same sizes (1e-6)."""
    m = minimum_detectable_ratio(n1, n0, 0.3, alpha, power)
    expected = _solve(effect_size=None, nobs1=n1, alpha=alpha, power=power, ratio=n0 / n1)
    # statsmodels root-finds to about 1e-5; its power function at our effect size is the exact check below
    assert m.effect_size == pytest.approx(expected, rel=1e-4)
    assert power_of(m.effect_size, n1, n0, alpha) == pytest.approx(power, abs=1e-9)
    assert NormalIndPower().power(m.effect_size, n1, alpha, ratio=n0 / n1) == pytest.approx(power, abs=1e-9)


@FAST
@given(st.integers(10, 5000), st.integers(10, 5000), st.floats(0.01, 0.6))
def test_minimum_detectable_ratios_have_the_wanted_power(n1, n0, p0):
    """The group rate at each detectable ratio is |h| away from p0 on Cohen's scale (statsmodels' h)."""
    m = minimum_detectable_ratio(n1, n0, p0)
    for ratio in (m.above, m.below):
        if ratio is not None:
            h = proportion_effectsize(ratio * p0, p0)
            assert abs(h) == pytest.approx(m.effect_size, rel=1e-9)
            assert NormalIndPower().power(abs(h), n1, 0.05, ratio=n0 / n1) == pytest.approx(0.8, abs=1e-6)
    assert m.above is None or m.above > 1
    assert m.below is None or 0 < m.below < 1


def test_issue_example_40_against_4000():
    """40 against 4,000 at a 10% reference rate: ratios from about 2.7 up are detected (4,000 each: 1.2)."""
    small = minimum_detectable_ratio(40, 4000, 0.1)
    large = minimum_detectable_ratio(4000, 4000, 0.1)
    assert small.above == pytest.approx(2.68, abs=0.01)
    assert large.above == pytest.approx(1.20, abs=0.01)


def test_undefined_detectable_ratios_say_why():
    """A reference rate of 0 has no ratios; a tiny group cannot reach a rate above 100%."""
    m = minimum_detectable_ratio(10, 10, 0.0)
    assert m.above is None and "reference rate is 0" in m.reason_above
    m = minimum_detectable_ratio(3, 3, 0.6)
    assert m.above is None and "100%" in m.reason_above
    assert m.below is None and "rate of 0" in m.reason_below


@FAST
@given(st.floats(0.02, 0.3), st.sampled_from([0.5, 0.7, 1.3, 1.5, 2.0, 3.0]), st.sampled_from([1.0, 2.0, 10.0]))
def test_sample_size_matches_normal_ind_power(p0, ratio, k):
    """Cases per group: statsmodels' solve_power for nobs1, rounded up."""
    if ratio * p0 >= 1:
        return
    s = sample_size(ratio, p0, reference_per_group=k)
    expected = _solve(effect_size=proportion_effectsize(ratio * p0, p0), nobs1=None, alpha=0.05, power=0.8, ratio=k)
    assert s.n_group_exact == pytest.approx(expected, rel=1e-6)
    assert s.n_group == math.ceil(expected - 1e-6)
    assert s.n_reference == math.ceil(k * s.n_group - 1e-9)


def test_sample_size_refuses_impossible_questions():
    """A ratio that makes the group rate exceed 100%, a ratio of 1, a rate outside (0, 1)."""
    with pytest.raises(UsageError, match="above 1"):
        sample_size(3.0, 0.5)
    with pytest.raises(UsageError, match="other than 1"):
        sample_size(1.0, 0.1)
    with pytest.raises(UsageError, match="reference rate"):
        sample_size(2.0, 0.0)
    with pytest.raises(UsageError, match="power"):
        sample_size(2.0, 0.1, power=0.01)


def test_power_command_answers_both_questions():
    """`auditkit power`: cases per group for a ratio, the detectable ratio for sizes; JSON too."""
    r = run_cli("power", "--reference-rate", "0.1", "--ratio", "2")
    assert r.exit_code == 0, r.output
    assert "195 cases in the group and 195 in the reference group" in r.output
    r = run_cli("power", "--reference-rate", "0.1", "--n-group", "40", "--n-reference", "4000", "--json")
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout)
    assert rec["min_detectable_ratio"] == pytest.approx(minimum_detectable_ratio(40, 4000, 0.1).above)
    r = run_cli("power", "--reference-rate", "0.1", "--ratio", "2", "--reference-per-group", "10")
    assert "in the reference group" in r.output and r.exit_code == 0


@pytest.mark.parametrize("args,fragments", [
    ((), ["--reference-rate"]),
    (("--reference-rate", "0.1"), ["--ratio", "--n-group"]),
    (("--reference-rate", "0.1", "--ratio", "2", "--n-group", "4"), ["not both"]),
    (("--reference-rate", "0.1", "--n-group", "4"), ["--n-reference"]),
    (("--reference-rate", "0.6", "--ratio", "2"), ["above 1"]),
    (("--reference-rate", "1.5", "--n-group", "4", "--n-reference", "9"), ["reference rate"]),
])
def test_power_command_errors(args, fragments):
    """Missing or impossible inputs: exit 1 or 2, a message that says what to give, no traceback."""
    r = run_cli("power", *args)
    assert_user_error(r, r.exit_code if r.exit_code in (1, 2) else -1, *fragments)


def test_comparisons_carry_their_minimum_detectable_ratio():
    """Each comparison: min_detectable_ratio from its own group sizes and reference rate, at the audit's alpha."""
    frame = pd.DataFrame({"g": ["a"] * 4000 + ["b"] * 40, "d": ([1] + [0] * 9) * 400 + [1] * 4 + [0] * 36})
    r = auditkit.audit(frame, protected=("g",), decision="d", references={"g": "a"}, alpha=0.01).results
    c = r["comparisons"][0]
    expected = minimum_detectable_ratio(40, 4000, 0.1, alpha=0.01)
    assert c["min_detectable_ratio"] == pytest.approx(expected.above)
    assert c["min_detectable_ratio_below"] == pytest.approx(expected.below)
    assert c["power"]["alpha"] == 0.01 and c["power"]["power"] == 0.8 and c["power"]["two_sided"] is True
    assert c["status"] == "no_difference_detected"
