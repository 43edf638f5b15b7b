"""Count algebra: the count table is exactly the rows, and every figure is a function of it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import auditkit
from auditkit.measure._counts import CountTable, Dimension, count_codes
from auditkit.measure.compare import compare
from auditkit.measure.rates import group_rates

_rows = st.integers(1, 300).flatmap(
    lambda n: st.tuples(
        arrays(np.int64, n, elements=st.integers(0, 2)),
        arrays(np.int64, n, elements=st.integers(0, 3)),
        arrays(np.int8, n, elements=st.integers(0, 1)),
        arrays(np.int8, n, elements=st.integers(0, 2)),
    )
)
_DIMS = [Dimension("g", "protected", ("a", "b", "c")), Dimension("h", "protected", ("w", "x", "y", "z"))]


@settings(max_examples=60, deadline=None)
@given(_rows)
def test_count_table_equals_direct_counting(data):
    """count_codes gives, for every cell, the number of rows pandas counts there."""
    g, h, d, o = data
    table = count_codes(_DIMS, {"g": g, "h": h}, d, o)
    direct = pd.Series(1, index=pd.MultiIndex.from_arrays([g, h, d, o])).groupby(level=[0, 1, 2, 3]).sum()
    assert table.total == len(g)
    for (gi, hi, di, oi), k in direct.items():
        assert table.low[gi, hi, di, oi] == k


@settings(max_examples=60, deadline=None)
@given(_rows)
def test_marginals_compose_and_preserve_totals(data):
    """Marginalising in steps equals marginalising at once; group sums equal the total."""
    g, h, d, o = data
    table = count_codes(_DIMS, {"g": g, "h": h}, d, o)
    by_g = table.marginal(("g",))
    assert np.array_equal(table.marginal(("g", "h")).marginal(("g",)).low, by_g.low)
    assert np.array_equal(table.marginal(("h", "g")).low, table.low.transpose(1, 0, 2, 3))
    assert np.array_equal(by_g.low.sum(axis=0), table.low.sum(axis=(0, 1)))
    direct = count_codes(_DIMS[:1], {"g": g}, d, o)
    assert np.array_equal(by_g.low, direct.low)


@settings(max_examples=60, deadline=None)
@given(_rows)
def test_rates_are_consistent(data):
    """Complementary rates add to one, shares add to one, every defined rate lies in [0, 1]."""
    g, h, d, o = data
    t = count_codes(_DIMS, {"g": g, "h": h}, d, o).marginal(("g",))
    r = group_rates(t.low, t.high, 0.95)
    for a, b in (("tpr", "fnr"), ("fpr", "tnr"), ("ppv", "fdr"), ("npv", "for")):
        both = ~np.isnan(r[a].lower)
        assert np.allclose(r[a].lower[both] + r[b].lower[both], 1)
        assert np.array_equal(both, ~np.isnan(r[b].lower))
    assert r["share_of_population"].lower.sum() == pytest.approx(1)
    for rate in r.values():
        v = rate.lower[~np.isnan(rate.lower)]
        assert np.all((v >= 0) & (v <= 1))
        ok = ~np.isnan(rate.ci_low)
        assert np.all(rate.ci_low[ok] <= rate.lower[ok] + 1e-12) and np.all(rate.ci_high[ok] >= rate.upper[ok] - 1e-12)


@settings(max_examples=80, deadline=None)
@given(arrays(np.int64, (2, 2, 3), elements=st.integers(0, 40)), arrays(np.bool_, (2, 2, 3)))
def test_suppressed_bounds_contain_the_truth(true, mask):
    """When cells are suppressed (known only to lie in 0..9), bounds contain the true rates and ratio."""
    true = np.where(mask, np.minimum(true, 9), true).astype(float)
    low, high = np.where(mask, 0.0, true), np.where(mask, 9.0, true)
    dims = (Dimension("g", "protected", ("a", "b")),)
    t = CountTable(dims, low, high)
    r = group_rates(t.low, t.high, 0.95)["selection_rate"]
    exact = group_rates(true, true, 0.95)["selection_rate"]
    for i in range(2):
        if np.isnan(exact.lower[i]) or np.isnan(r.lower[i]) or np.isnan(r.upper[i]):
            continue
        assert r.lower[i] - 1e-12 <= exact.lower[i] <= r.upper[i] + 1e-12
        assert r.ci_low[i] <= exact.ci_low[i] + 1e-12 and exact.ci_high[i] <= r.ci_high[i] + 1e-12
    args = [(r.k_low[i], r.n_low[i], r.k_high[i], r.n_high[i]) for i in range(2)]
    if min(r.n_low) > 0 and min(exact.n_low) > 0 and exact.k_low[1] > 0 and r.k_low[1] > 0:
        c = compare(args[0], args[1], 0.95)
        truth = exact.lower[0] / exact.lower[1]
        assert c.ratio[0] - 1e-9 <= truth <= c.ratio[1] + 1e-9


def test_bootstrap_equals_row_bootstrap_in_distribution():
    """The multinomial count-table bootstrap has the distribution of a row-level bootstrap (KS test)."""
    from scipy import stats

    rng = np.random.default_rng(3)
    n = 300
    g = rng.choice(["a", "b"], n, p=[0.7, 0.3])
    d = (rng.random(n) < np.where(g == "a", 0.2, 0.35)).astype(int)
    df = pd.DataFrame({"g": g, "d": d})
    reps = 3000
    idx = np.random.default_rng(11).integers(0, n, (reps, n))
    is_b, chosen = (g == "b")[idx], d[idx]
    row_ratios = (chosen * is_b).sum(1) / is_b.sum(1) / ((chosen * ~is_b).sum(1) / (~is_b).sum(1))
    r = auditkit.audit(df, protected=("g",), decision="d", references={"g": "a"}, bootstrap=reps, seed=5)
    from auditkit.measure.bootstrap import bootstrap_replicates

    counts = np.concatenate(list(bootstrap_replicates(r.counts, reps, 5)))
    sel = counts[:, :, 1, :].sum(axis=-1) / counts.sum(axis=(2, 3))
    count_ratios = sel[:, 1] / sel[:, 0]
    assert stats.ks_2samp(row_ratios, count_ratios).pvalue > 0.01
    lo, hi = np.quantile(count_ratios, [0.025, 0.975])
    (c,) = r.comparisons
    assert c["ratio_bootstrap_ci"] == pytest.approx([lo, hi], rel=1e-12)
    assert np.quantile(row_ratios, [0.025, 0.975]) == pytest.approx([lo, hi], rel=0.05)


def test_bootstrap_is_reproducible_and_seeded():
    """Same seed, same bootstrap intervals; another seed, other intervals."""
    df = pd.DataFrame({"g": ["a", "b"] * 100, "d": [1, 0, 0, 1, 0] * 40})
    a = auditkit.audit(df, protected=("g",), decision="d", bootstrap=200, seed=1).results
    b = auditkit.audit(df, protected=("g",), decision="d", bootstrap=200, seed=1).results
    c = auditkit.audit(df, protected=("g",), decision="d", bootstrap=200, seed=2).results
    assert a == b
    assert a["groups"][0]["selection_rate"]["bootstrap_ci"] != c["groups"][0]["selection_rate"]["bootstrap_ci"]


def test_summary_shows_a_suppressed_group_size_as_its_range():
    """The terminal summary prints n of a group with a suppressed cell as 'low–high', not the low end alone."""
    table = pd.DataFrame({"g": ["a", "a", "b", "b"], "d": ["1", "0", "1", "0"], "n": ["0", "60", "8", "52"]})
    res = auditkit.audit(table, protected=("g",), decision="d", positive="1", count_column="n", suppressed="0",
                         suppressed_range=(0, 9))
    from auditkit.results import summary_text

    line = next(x for x in summary_text(res.results).splitlines() if x.strip().startswith("a "))
    assert "60–69" in line


def test_population_of_a_suppressed_count_table_is_a_range_everywhere(tmp_path):
    """With suppressed cells the number of people is stated as a range: results, summary and report."""
    from click.testing import CliRunner

    from auditkit.cli import main
    from auditkit.results import summary_text

    table = pd.DataFrame({"g": ["a", "a", "b", "b"], "d": ["1", "0", "1", "0"], "n": ["0", "60", "8", "52"]})
    res = auditkit.audit(table, protected=("g",), decision="d", positive="1", count_column="n", suppressed="0",
                         suppressed_range=(0, 9))
    pop = res.results["population"]
    assert pop["people"] == 120 and pop["people_bounds"] == [120, 129]
    assert "Population: 120–129 people" in summary_text(res.results)
    exact = auditkit.audit(table.assign(n=["3", "60", "8", "52"]), protected=("g",), decision="d", positive="1",
                           count_column="n", suppressed="0", suppressed_range=(0, 9))
    assert "people_bounds" not in exact.results["population"]
    table.to_csv(tmp_path / "t.csv", index=False)
    run = CliRunner().invoke(main, ["audit", str(tmp_path / "t.csv"), "--protected", "g", "--decision", "d",
                                    "--positive", "1", "--count-column", "n", "--suppressed", "0",
                                    "--suppressed-range", "0-9", "--out", str(tmp_path / "b"), "--quiet"])
    assert run.exit_code == 0, run.output
    assert "120–129" in (tmp_path / "b" / "report.en.html").read_text(encoding="utf-8")
