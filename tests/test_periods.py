"""Over time: per-period comparisons, trend and homogeneity tests, persistence, cross-checked with statsmodels."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from auditkit.audit import audit, measure
from auditkit.load.rows import Population
from auditkit.measure._counts import Dimension, count_codes
from auditkit.measure._stats import katz_ratio_interval
from auditkit.measure._trend import log_ratio_terms, mh_rate_ratio, ratio_trend, runs
from auditkit.measure.periods import period_unit
from auditkit.results import to_json
from auditkit.spec import AuditSpec

sm = pytest.importorskip("statsmodels.api")
from statsmodels.stats.contingency_tables import StratifiedTable  # noqa: E402


def _period_table(rates: dict[str, list[float]], n: int = 4000, seed: int = 0, truth: bool = False,
                  share: tuple[float, ...] = (0.6, 0.15, 0.25)):
    """Rows of a planted world: ``rates[group][t]`` is the selection rate of the group in period t."""
    rng = np.random.default_rng(seed)
    groups = tuple(rates)
    k = len(next(iter(rates.values())))
    gc, yc = rng.choice(len(groups), n * k, p=share), np.repeat(np.arange(k), n)
    p = np.array([rates[g] for g in groups])[gc, yc]
    decision = (rng.random(n * k) < p).astype(np.int64)
    outcome = (rng.random(n * k) < 0.3 + 0.2 * decision).astype(np.int64) if truth else np.full(n * k, 2)
    dims = [Dimension("g", "protected", groups), Dimension("year", "period", tuple(str(2014 + t) for t in range(k)))]
    return count_codes(dims, {"g": gc, "year": yc}, decision, outcome), (gc, yc, decision, outcome)


def _measure(table, **spec):
    outcome = {"column": "y", "has_outcome": True} if table.low[..., 2].sum() == 0 else {"column": None}
    pop = Population("planted", int(table.total), (), int(table.total), {"rule": "given"}, outcome)
    return measure(table, pop, AuditSpec(protected=("g",), decision="d", references={"g": "a"}, **spec))


def _cells(o: dict, results: dict) -> np.ndarray:
    """k1, n1, k0, n0 per period of an over-time record, read back from the per-period comparisons."""
    out = []
    for p in results["periods"]["per_period"]:
        c = next(c for c in p["comparisons"] if (c["group"], c["metric"]) == (o["group"], o["metric"]))
        g, r = c["group_rate"], c["reference_rate"]
        out.append((g["numerator"], g["denominator"], r["numerator"], r["denominator"]))
    return np.array(out, dtype=float)


# --- the statistics, against statsmodels -------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_trend_equals_statsmodels_weighted_regression(seed: int) -> None:
    """Slope, its interval and p equal statsmodels: GLM with known variances (scale 1) when the periods
    scatter no more than their variances allow, WLS with its estimated scale (t test) when they do."""
    rng = np.random.default_rng(seed)
    k = 5 + seed
    x = np.arange(k, dtype=float)
    v = rng.uniform(0.005, 0.05, k)
    spread = 0.3 if seed % 2 else 4.0  # odd seeds: dispersion below 1; even: well above
    y = 0.3 + 0.05 * x + rng.normal(0, np.sqrt(v) * spread)
    fit = ratio_trend(y, v, x, 0.9)
    X = sm.add_constant(x)
    wls = sm.WLS(y, X, weights=1 / v).fit()
    assert fit.slope == pytest.approx(wls.params[1], rel=1e-10)
    q = float(np.sum((y - wls.fittedvalues) ** 2 / v))
    assert fit.residual_statistic == pytest.approx(q, rel=1e-10)
    if q / (k - 2) > 1:
        assert fit.dispersion == pytest.approx(wls.scale, rel=1e-10)
        assert fit.p_value == pytest.approx(wls.pvalues[1], rel=1e-8)
        assert fit.slope_ci == pytest.approx(tuple(wls.conf_int(0.1)[1]), rel=1e-8)
        assert fit.reference_distribution.startswith("student t")
    else:
        glm = sm.GLM(y, X, family=sm.families.Gaussian(), var_weights=1 / v).fit(scale=1.0)
        assert fit.dispersion == 1.0
        assert fit.p_value == pytest.approx(glm.pvalues[1], rel=1e-8)
        assert fit.slope_ci == pytest.approx(tuple(glm.conf_int(0.1)[1]), rel=1e-8)
    assert (q / (k - 2) > 1) == (spread > 1)  # both branches are exercised


def test_trend_needs_three_periods() -> None:
    """Two periods give no trend (a line through two points has no residual to test it against)."""
    assert math.isnan(ratio_trend([0.1, 0.2], [0.01, 0.01], [0, 1]).p_value)


def test_log_ratio_terms_are_katz_with_the_zero_rule() -> None:
    """The log ratio and its variance are those of the Katz interval the comparisons use, 0.5 added on a zero."""
    k1, n1, k0, n0 = np.array([30, 0, 5]), np.array([200, 80, 90]), np.array([20, 12, 0]), np.array([300, 150, 70])
    y, v, ok = log_ratio_terms(k1, n1, k0, n0)
    lo, hi, _ = katz_ratio_interval(k1, n1, k0, n0, 0.95)
    z = 1.959963984540054
    assert np.allclose((np.log(lo) + np.log(hi)) / 2, y) and np.allclose((np.log(hi) - np.log(lo)) / (2 * z), np.sqrt(v))
    assert ok.tolist() == [True, True, True]
    assert log_ratio_terms([0], [10], [0], [10])[2].tolist() == [False]  # 0/0: no information on the ratio


def test_mh_rate_ratio_equals_statsmodels_and_greenland_robins_by_hand() -> None:
    """Pooled rate ratio = statsmodels' riskratio_pooled; its variance = the Greenland–Robins sum in a loop."""
    k1, n1, k0, n0 = [30, 12, 44, 7], [200, 90, 310, 60], [20, 9, 25, 2], [300, 120, 280, 75]
    tables = np.array([[[a, n - a], [c, m - c]] for a, n, c, m in zip(k1, n1, k0, n0)], dtype=float)
    st = StratifiedTable(tables.transpose(1, 2, 0))
    ratio, lo, hi = mh_rate_ratio(k1, n1, k0, n0, 0.95)
    assert ratio == pytest.approx(st.riskratio_pooled, rel=1e-12)
    num = r = s = 0.0
    for a, n, c, m in zip(k1, n1, k0, n0):
        big = n + m
        num += (n * m * (a + c) - a * c * big) / big**2
        r += a * m / big
        s += c * n / big
    se = math.sqrt(num / (r * s))
    assert (lo, hi) == pytest.approx((ratio * math.exp(-1.959963984540054 * se),
                                      ratio * math.exp(1.959963984540054 * se)), rel=1e-12)


def test_mh_rate_ratio_of_one_stratum_is_the_katz_interval() -> None:
    """One period: the pooled ratio is that period's ratio with its Katz interval."""
    ratio, lo, hi = mh_rate_ratio([37], [410], [52], [1200], 0.95)
    klo, khi, _ = katz_ratio_interval(37, 410, 52, 1200, 0.95)
    assert (ratio, lo, hi) == pytest.approx((37 / 410 / (52 / 1200), float(klo), float(khi)), rel=1e-12)


def test_runs_split_on_gaps_and_direction() -> None:
    """A run is broken by a period without detection, an untested period or a change of direction."""
    found = runs([True, True, False, True, True, True], [1, 1, 1, 1, -1, -1])
    assert [(r.first, r.last, r.length, r.direction) for r in found] == [(0, 1, 2, 1), (3, 3, 1, 1), (4, 5, 2, -1)]
    assert runs([False, False], [1, 1]) == []


def test_period_unit_from_freq_and_labels() -> None:
    """The unit a finding names comes from --period-freq, else from the labels' form."""
    assert period_unit(["2014Q1", "2014Q2"]) == "quarter" and period_unit(["a", "b"]) == "period"
    assert period_unit(["x"], "M") == "month" and period_unit(["x"], "year") == "year"
    assert period_unit(["2020-01-05"]) == "day" and period_unit(["x"], "Q-DEC") == "quarter"


# --- the analysis on count tables --------------------------------------------------------------------


_MOVE = {"a": [0.10] * 8, "b": [0.10, 0.20, 0.20, 0.20, 0.20, 0.10, 0.10, 0.10],
         "c": [0.10, 0.10, 0.10, 0.10, 0.10, 0.19, 0.19, 0.19]}


@pytest.fixture(scope="module")
def moved() -> tuple:
    table, rows = _period_table(_MOVE, n=5000, seed=3)
    return table, rows, _measure(table).results


def test_every_period_is_the_audit_of_its_own_rows(moved: tuple) -> None:
    """Each period's groups and comparisons are those of an audit of that period's rows alone with the same
    reference (all but the adjusted p-values, whose family is larger)."""
    table, (gc, yc, decision, _), results = moved
    for p in results["periods"]["per_period"][::3]:
        t = p["index"]
        df = pd.DataFrame({"g": np.array(["a", "b", "c"])[gc[yc == t]], "d": decision[yc == t]})
        alone = audit(df, protected=("g",), decision="d", references={"g": "a"}).results
        for mine, theirs in zip(p["comparisons"], alone["comparisons"]):
            for key in ("group", "reference", "ratio", "ratio_ci", "difference_ci", "p_value", "group_rate"):
                assert mine[key] == theirs[key], key
        assert [g["n"] for g in p["groups"]] == [g["n"] for g in alone["groups"]]
        assert p["design"]["rows"] == int((yc == t).sum())


def test_family_holds_every_period_test(moved: tuple) -> None:
    """Per-period comparisons, trend and homogeneity tests are adjusted with the overall comparisons (Holm)."""
    _, _, results = moved
    per = results["periods"]
    tests = [c for p in per["per_period"] for c in p["comparisons"]]
    tests += [o[k] for o in per["over_time"] for k in ("trend", "homogeneity")]
    every = results["comparisons"] + tests
    assert results["multiple_testing"]["family_size"] == len(every) == 2 + 16 + 4
    from statsmodels.stats.multitest import multipletests

    p = [r["p_value"] for r in every]
    holm = multipletests(p, method="holm")[1]
    assert [r["p_holm"] for r in every] == pytest.approx(list(holm), rel=1e-9)


def test_planted_move_is_found(moved: tuple) -> None:
    """b's disparity in periods 1–4 and c's from period 5 are found: runs, pooled ratios, the shift."""
    _, _, results = moved
    per = results["periods"]
    b, c = (next(o for o in per["over_time"] if o["group"] == g) for g in ("b", "c"))
    assert b["persistence"]["detected_in"] == ["2015", "2016", "2017", "2018"]
    assert c["persistence"]["detected_in"] == ["2019", "2020", "2021"]
    run_b = b["persistence"]["runs"][b["persistence"]["longest_run"]]
    assert (run_b["first"], run_b["last"], run_b["length"], run_b["direction"]) == ("2015", "2018", 4, "higher")
    lo, hi = run_b["pooled"]["ratio_ci"]
    assert lo < 2.0 < hi
    cells = _cells(b, results)[1:5]
    expect = StratifiedTable(np.array([[[a, n - a], [k, m - k]] for a, n, k, m in cells]).transpose(1, 2, 0))
    assert run_b["pooled"]["ratio"] == pytest.approx(expect.riskratio_pooled, rel=1e-12)
    assert per["shifts"] == [{"metric": "selection_rate", "period": "2019", "previous": "2018",
                              "ended": [{"attribute": "g", "group": "b", "reference": "a", "varies": "g",
                                         "run": ["2015", "2018"], "direction": "higher"}],
                              "began": [{"attribute": "g", "group": "c", "reference": "a", "varies": "g",
                                         "run": ["2019", "2021"], "direction": "higher"}]}]
    # The ratio was not the same in every period (homogeneity rejected) for both groups.
    assert b["homogeneity"]["status"] == c["homogeneity"]["status"] == "difference_detected"


def test_homogeneity_equals_statsmodels_breslow_day_tarone(moved: tuple) -> None:
    """Breslow–Day with Tarone's correction and the MH odds ratio over periods = statsmodels StratifiedTable."""
    _, _, results = moved
    for o in results["periods"]["over_time"]:
        cells = _cells(o, results)
        st = StratifiedTable(np.array([[[a, n - a], [k, m - k]] for a, n, k, m in cells]).transpose(1, 2, 0))
        bd = st.test_equal_odds(adjust=True)
        assert o["homogeneity"]["statistic"] == pytest.approx(bd.statistic, rel=1e-9)
        # statsmodels takes 1 - cdf, which cannot go below ~1e-16; scipy's survival function can
        from scipy.stats import chi2

        assert o["homogeneity"]["p_value"] == pytest.approx(chi2.sf(bd.statistic, len(cells) - 1), rel=1e-9)
        if bd.pvalue > 1e-10:
            assert o["homogeneity"]["p_value"] == pytest.approx(bd.pvalue, rel=1e-6)
        assert o["homogeneity"]["mh_odds_ratio"] == pytest.approx(st.oddsratio_pooled, rel=1e-12)
        assert o["homogeneity"]["df"] == len(cells) - 1


def test_trend_record_equals_statsmodels_on_the_period_counts(moved: tuple) -> None:
    """The trend record is statsmodels' WLS of the Katz log ratios on the period index."""
    _, _, results = moved
    for o in results["periods"]["over_time"]:
        y, v, ok = log_ratio_terms(*_cells(o, results).T)
        X = sm.add_constant(np.arange(len(y), dtype=float)[ok])
        wls = sm.WLS(y[ok], X, weights=1 / v[ok]).fit()
        assert math.log(o["trend"]["ratio_change_per_period"]) == pytest.approx(wls.params[1], rel=1e-10)
        assert o["trend"]["dispersion"] == pytest.approx(max(1.0, wls.scale), rel=1e-10)
        assert o["trend"]["fitted_first"] == pytest.approx(math.exp(wls.fittedvalues[0]), rel=1e-10)
        assert o["trend"]["fitted_last"] == pytest.approx(math.exp(wls.fittedvalues[-1]), rel=1e-10)
        fit = wls if wls.scale > 1 else sm.GLM(y[ok], X, family=sm.families.Gaussian(),
                                               var_weights=1 / v[ok]).fit(scale=1.0)
        assert o["trend"]["p_value"] == pytest.approx(fit.pvalues[1], rel=1e-8)
        assert o["trend"]["ratio_change_ci"] == pytest.approx(list(np.exp(fit.conf_int(0.05)[1])), rel=1e-8)


def test_steady_trend_is_detected_and_agrees_with_a_log_binomial_glm() -> None:
    """A ratio growing by ×1.15 a year is found to grow; the slope agrees with the group × period-index
    interaction of a log-binomial GLM (a different estimator of the same quantity) to within its error."""
    ratios = [1.0 * 1.15**t for t in range(7)]
    table, (gc, yc, decision, _) = _period_table({"a": [0.08] * 7, "b": [0.08 * r for r in ratios],
                                                  "c": [0.08] * 7}, n=6000, seed=11)
    o = next(o for o in _measure(table).results["periods"]["over_time"] if o["group"] == "b")
    assert o["trend"]["status"] == "difference_detected"
    lo, hi = o["trend"]["ratio_change_ci"]
    se = (math.log(hi) - math.log(lo)) / (2 * 1.959963984540054)
    assert lo > 1 and abs(math.log(o["trend"]["ratio_change_per_period"]) - math.log(1.15)) < 3 * se
    keep = gc < 2
    df = pd.DataFrame({"y": decision[keep], "b": (gc[keep] == 1).astype(float), "t": yc[keep].astype(float)})
    X = pd.get_dummies(pd.Series(yc[keep]).astype(str), prefix="yr", drop_first=True, dtype=float)
    X = sm.add_constant(X.assign(b=df.b, bt=df.b * df.t))
    import warnings

    from statsmodels.tools.sm_exceptions import DomainWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DomainWarning)  # a log link can leave [0, 1]; these rates stay well inside
        glm = sm.GLM(df.y, X, family=sm.families.Binomial(sm.families.links.Log())).fit()
    slope, se = math.log(o["trend"]["ratio_change_per_period"]), glm.bse["bt"]
    assert abs(slope - glm.params["bt"]) < se


def _null_rejections(seeds: range) -> tuple[float, float]:
    trend = homog = 0
    for seed in seeds:
        rng = np.random.default_rng(seed)
        k = 6
        n1, n0 = rng.integers(300, 900, k), rng.integers(1500, 3000, k)
        p0 = rng.uniform(0.05, 0.2, k)
        k1, k0 = rng.binomial(n1, 1.6 * p0), rng.binomial(n0, p0)  # the same ratio (1.6) in every period
        y, v, ok = log_ratio_terms(k1, n1, k0, n0)
        trend += ratio_trend(y[ok], v[ok], np.arange(k)[ok]).p_value < 0.05
        tables = np.stack([np.stack([k1, n1 - k1], -1), np.stack([k0, n0 - k0], -1)], axis=1)
        from auditkit.measure._stratified import mantel_haenszel

        homog += mantel_haenszel(tables)["breslow_day_p"] < 0.05
    return trend / len(seeds), homog / len(seeds)


def test_no_change_control_rejects_at_the_nominal_rate() -> None:
    """With the same rate ratio in every period, trend and homogeneity tests reject about 5% of 400 worlds
    (binomial 99.9% range 2–9%): the tests do not invent change.  (Breslow–Day tests odds ratios, which
    differ between periods when the base rate does: its rate is allowed up to 12%.)"""
    trend, homog = _null_rejections(range(400))
    assert 0.02 <= trend <= 0.09
    assert 0.01 <= homog <= 0.12


def test_no_change_control_in_the_audit() -> None:
    """A constant planted disparity: detected in every period, no trend and no shift reported.  (In this
    world c, like a, has rate 0.1, yet its 2018 comparison has p = 0.002, adjusted 0.022: the one chance
    detection a family of 18 tests allows.  A single period is not a run of two, so no shift is reported.)"""
    table, _ = _period_table({"a": [0.1] * 6, "b": [0.2] * 6, "c": [0.1] * 6}, n=5000, seed=5)
    per = _measure(table).results["periods"]
    b = next(o for o in per["over_time"] if o["group"] == "b")
    assert b["persistence"]["every_period"] and b["persistence"]["runs"][0]["length"] == 6
    assert b["trend"]["status"] == "no_difference_detected" and per["shifts"] == []
    c = next(o for o in per["over_time"] if o["group"] == "c")
    assert [r["length"] for r in c["persistence"]["runs"]] == [1] and c["persistence"]["periods_tested"] == 6


def test_every_rate_per_period_with_outcomes() -> None:
    """With an outcome every compared rate gets its own series, trend and persistence."""
    table, _ = _period_table({"a": [0.1] * 4, "b": [0.2] * 4, "c": [0.1] * 4}, n=3000, seed=2, truth=True)
    results = _measure(table).results
    metrics = {o["metric"] for o in results["periods"]["over_time"]}
    assert metrics == {"selection_rate", "base_rate", "tpr", "fpr", "fnr", "ppv"}
    assert all(len(o["series"]) == 4 for o in results["periods"]["over_time"])
    assert all(set(g) >= {"tpr", "ppv", "n"} for p in results["periods"]["per_period"] for g in p["groups"])


def test_suppressed_cells_stay_bounds_and_pooled_figures_are_not_computed() -> None:
    """With suppressed cells the per-period figures are bounds; trend, homogeneity and pooled ratios say why
    they are missing rather than pretend."""
    table, _ = _period_table({"a": [0.1] * 3, "b": [0.3] * 3, "c": [0.1] * 3}, n=2000, seed=1)
    high = table.high.copy()
    high[2, 1, 1, 2] += 9  # group c, 2015, selected: a published '<10' added on top
    from auditkit.measure._counts import CountTable

    bounded = CountTable(table.dims, table.low, high)
    results = _measure(bounded).results
    per = results["periods"]
    c15 = next(c for c in per["per_period"][1]["comparisons"] if c["group"] == "c")
    assert c15["ratio"] is None and c15["ratio_bounds"][0] < c15["ratio_bounds"][1]
    for o in per["over_time"]:
        assert o["trend"]["status"] == o["homogeneity"]["status"] == "undefined"
        assert "suppressed" in o["trend"]["reason"]
    b = next(o for o in per["over_time"] if o["group"] == "b")
    assert b["persistence"]["runs"][0]["pooled"]["ratio"] is None


def test_small_periods_are_flagged_not_tested() -> None:
    """A period in which a group is below the minimum size is 'insufficient evidence' there and breaks a run."""
    table, _ = _period_table({"a": [0.1] * 5, "b": [0.3] * 5, "c": [0.1] * 5}, n=3000, seed=4,
                             share=(0.6, 0.39, 0.01))
    per = _measure(table, min_group_size=40).results["periods"]
    c = next(o for o in per["over_time"] if o["group"] == "c")
    assert {s["status"] for s in c["series"]} == {"insufficient_evidence"}
    assert c["persistence"]["not_tested_in"] == per["levels"] and c["persistence"]["runs"] == []


def test_same_bytes_each_run(moved: tuple) -> None:
    """The periods record is deterministic: the same table gives the same JSON bytes."""
    table, _, results = moved
    assert to_json(_measure(table).results) == to_json(results)
    assert json.loads(to_json(results))["periods"]["levels"] == [str(y) for y in range(2014, 2022)]


def test_no_period_no_key() -> None:
    """An audit without a period dimension has no 'periods' key (its results are unchanged)."""
    df = pd.DataFrame({"g": ["a", "b"] * 50, "d": [1, 0, 0, 0] * 25})
    assert "periods" not in audit(df, protected=("g",), decision="d").results


def test_rows_without_a_period_are_in_no_period() -> None:
    """A '(missing)' period level counts in the overall figures and in no period, trend or run."""
    from auditkit.measure._counts import MISSING, CountTable

    table, _ = _period_table({"a": [0.1] * 4, "b": [0.25] * 4, "c": [0.1] * 4}, n=2000, seed=8)
    year = table.dims[1]
    dims = (table.dims[0], Dimension("year", "period", year.levels[:3] + (MISSING,)))
    low = table.low.copy()
    results = _measure(CountTable(dims, low, low.copy())).results
    per = results["periods"]
    assert per["levels"] == ["2014", "2015", "2016"] and len(per["per_period"]) == 3
    assert per["rows_without_period"] == int(low[:, 3].sum())
    assert results["design"]["rows"] == int(low.sum())
    assert all(len(o["series"]) == 3 for o in per["over_time"])


def test_per_period_single_attributes_only() -> None:
    """Per period each attribute on its own; intersections stay in the overall figures only."""
    rng = np.random.default_rng(2)
    n = 6000
    dims = [Dimension("g", "protected", ("a", "b")), Dimension("s", "protected", ("F", "M")),
            Dimension("year", "period", ("2020", "2021", "2022"))]
    codes = {"g": rng.integers(0, 2, n), "s": rng.integers(0, 2, n), "year": rng.integers(0, 3, n)}
    table = count_codes(dims, codes, (rng.random(n) < 0.2).astype(np.int64), np.full(n, 2))
    pop = Population("x", n, (), n, {"rule": "given"}, {"column": None})
    results = measure(table, pop, AuditSpec(protected=("g", "s"), decision="d")).results
    assert "g × s" in {c["attribute"] for c in results["comparisons"]}
    for p in results["periods"]["per_period"]:
        assert {c["attribute"] for c in p["comparisons"]} == {g["attribute"] for g in p["groups"]} == {"g", "s"}
