"""The measuring core against independent implementations: fairlearn, scipy, statsmodels, hand counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_negative_rate,
    true_positive_rate,
)
from scipy import stats
from sklearn.metrics import accuracy_score, balanced_accuracy_score, precision_score
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

import auditkit


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 4000
    g = rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])
    h = rng.choice(["x", "y"], n)
    y = (rng.random(n) < np.where(g == "c", 0.3, 0.15)).astype(int)
    p = (rng.random(n) < np.where(g == "a", 0.1, 0.25) + 0.2 * y).astype(int)
    return pd.DataFrame({"g": g, "h": h, "y": y, "p": p})


@pytest.fixture(scope="module")
def result(rows: pd.DataFrame) -> auditkit.AuditResult:
    return auditkit.audit(rows, protected=("g", "h"), decision="p", truth="y", references={"g": "a", "h": "x"},
                          min_group_size=0)


def _groups(result: auditkit.AuditResult, attribute: str) -> dict[str, dict]:
    return {g["group"]: g for g in result.groups if g["attribute"] == attribute}


def _ppv(y, p):
    return precision_score(y, p, zero_division=np.nan)


def test_group_rates_match_fairlearn_metricframe(rows, result):
    """Every per-group rate equals fairlearn's MetricFrame on the same rows, to 1e-9."""
    metrics = {"selection_rate": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate,
               "fnr": false_negative_rate, "tnr": true_negative_rate, "ppv": _ppv,
               "accuracy": accuracy_score, "balanced_accuracy": balanced_accuracy_score}
    for attrs, name in ((["g"], "g"), (["g", "h"], "g × h")):
        mf = MetricFrame(metrics=metrics, y_true=rows["y"], y_pred=rows["p"], sensitive_features=rows[attrs])
        ours = _groups(result, name)
        for key, expected in mf.by_group.iterrows():
            label = key if isinstance(key, str) else " × ".join(key)
            for metric, value in expected.items():
                assert ours[label][metric]["value"] == pytest.approx(value, abs=1e-9), (label, metric)


def test_remaining_rates_match_hand_counts(rows, result):
    """NPV, FDR, FOR, base rate and shares equal direct pandas counts."""
    for label, sub in rows.groupby("g"):
        rec = _groups(result, "g")[label]
        tn = ((sub.y == 0) & (sub.p == 0)).sum()
        fn = ((sub.y == 1) & (sub.p == 0)).sum()
        fp = ((sub.y == 0) & (sub.p == 1)).sum()
        tp = ((sub.y == 1) & (sub.p == 1)).sum()
        assert (rec["tp"], rec["fp"], rec["tn"], rec["fn"]) == (tp, fp, tn, fn)
        assert rec["npv"]["value"] == pytest.approx(tn / (tn + fn), abs=1e-12)
        assert rec["fdr"]["value"] == pytest.approx(fp / (tp + fp), abs=1e-12)
        assert rec["for"]["value"] == pytest.approx(fn / (tn + fn), abs=1e-12)
        assert rec["base_rate"]["value"] == pytest.approx(sub.y.mean(), abs=1e-12)
        assert rec["share_of_population"]["value"] == pytest.approx(len(sub) / len(rows), abs=1e-12)
        assert rec["share_of_selected"]["value"] == pytest.approx(sub.p.sum() / rows.p.sum(), abs=1e-12)


def test_rate_intervals_are_wilson(result):
    """Each rate's interval is statsmodels' Wilson interval for its numerator and denominator."""
    for g in result.groups:
        for metric in ("selection_rate", "tpr", "ppv", "share_of_population"):
            rec = g[metric]
            if rec["denominator"] == 0:
                assert rec["value"] is None and "reason" in rec
                continue
            lo, hi = proportion_confint(rec["numerator"], rec["denominator"], alpha=0.05, method="wilson")
            assert (rec["ci_low"], rec["ci_high"]) == pytest.approx((lo, hi), abs=1e-12)


def test_comparisons_match_statsmodels_and_scipy(result):
    """Ratio (Katz log), difference (Newcombe) and Fisher p match statsmodels and scipy."""
    assert result.comparisons
    for c in result.comparisons:
        if c["status"] == "undefined":
            continue
        k1, n1 = c["group_rate"]["numerator"], c["group_rate"]["denominator"]
        k2, n2 = c["reference_rate"]["numerator"], c["reference_rate"]["denominator"]
        assert c["ratio"] == pytest.approx((k1 / n1) / (k2 / n2), rel=1e-12)
        assert c["difference"] == pytest.approx(k1 / n1 - k2 / n2, abs=1e-12)
        if k1 and k2:
            ratio_ci = confint_proportions_2indep(k1, n1, k2, n2, method="log", compare="ratio", alpha=0.05)
            assert c["ratio_ci"] == pytest.approx(list(ratio_ci), rel=1e-9)
        diff_ci = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff", alpha=0.05)
        assert c["difference_ci"] == pytest.approx(list(diff_ci), abs=1e-9)
        p = stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue
        assert c["p_value"] == pytest.approx(p, rel=1e-9, abs=1e-300)


def test_multiple_testing_family_matches_statsmodels(result):
    """Holm and BH adjusted p-values are statsmodels' multipletests over every comparison with a verdict."""
    from statsmodels.stats.multitest import multipletests

    family = [c for c in result.comparisons if c["p_holm"] is not None]
    assert len(family) == result.results["multiple_testing"]["family_size"] > 0
    raw = [c["p_value"] for c in family]
    assert [c["p_holm"] for c in family] == pytest.approx(list(multipletests(raw, method="holm")[1]), abs=1e-12)
    assert [c["p_bh"] for c in family] == pytest.approx(list(multipletests(raw, method="fdr_bh")[1]), abs=1e-12)
    for c in family:
        assert c["status"] == ("difference_detected" if c["p_holm"] < 0.05 else "no_difference_detected")


def test_chi2_alternative_matches_scipy(rows):
    """The large-sample test is Pearson's chi-square without continuity correction."""
    r = auditkit.audit(rows, protected=("g",), decision="p", references={"g": "a"}, test="chi2")
    for c in r.comparisons:
        k1, n1 = c["group_rate"]["numerator"], c["group_rate"]["denominator"]
        k2, n2 = c["reference_rate"]["numerator"], c["reference_rate"]["denominator"]
        p = stats.chi2_contingency([[k1, n1 - k1], [k2, n2 - k2]], correction=False).pvalue
        assert c["test"] == "chi2_pearson" and c["p_value"] == pytest.approx(p, rel=1e-9)


def test_interval_level_is_configurable(rows):
    """--level 0.9 gives statsmodels' 90% Wilson interval."""
    r = auditkit.audit(rows, protected=("g",), decision="p", level=0.9)
    rec = r.groups[0]["selection_rate"]
    lo, hi = proportion_confint(rec["numerator"], rec["denominator"], alpha=0.1, method="wilson")
    assert (rec["ci_low"], rec["ci_high"]) == pytest.approx((lo, hi), abs=1e-12)


def test_every_intersection_kept_and_empty_flagged():
    """Empty intersections stay as groups with n 0, flagged, rates undefined with a reason, no verdict."""
    df = pd.DataFrame({"g": ["a"] * 40 + ["b"] * 40, "h": ["x"] * 40 + ["y"] * 40, "d": [1, 0] * 40})
    r = auditkit.audit(df, protected=("g", "h"), decision="d")
    inter = _groups(r, "g × h")
    assert set(inter) == {"a × x", "a × y", "b × x", "b × y"}
    empty = inter["a × y"]
    assert empty["n"] == 0 and empty["empty"] and empty["selection_rate"]["value"] is None
    assert "denominator 0" in empty["selection_rate"]["reason"]
    cmp = [c for c in r.comparisons if c["group"] == "a × y"]
    assert cmp and all(c["status"] == "undefined" for c in cmp)


def test_small_groups_get_insufficient_evidence_not_a_verdict():
    """A group under --min-group-size is compared but gets no verdict and stays out of the family."""
    df = pd.DataFrame({"g": ["a"] * 200 + ["b"] * 10, "d": [1] * 20 + [0] * 180 + [1] * 9 + [0]})
    r = auditkit.audit(df, protected=("g",), decision="d", min_group_size=30)
    (c,) = r.comparisons
    assert c["status"] == "insufficient_evidence" and c["p_holm"] is None and c["p_value"] is not None
    assert r.results["multiple_testing"]["family_size"] == 0
    assert _groups(r, "g")["b"]["small"]


def test_reference_rules():
    """Largest group by default; most-favourable picks the lowest selection rate among big-enough groups."""
    df = pd.DataFrame({"g": ["a"] * 100 + ["b"] * 60 + ["c"] * 20,
                       "d": [1] * 30 + [0] * 70 + [1] * 6 + [0] * 54 + [0] * 20})
    largest = auditkit.audit(df, protected=("g",), decision="d")
    assert largest.results["attributes"][0]["reference"] == "a"
    fav = auditkit.audit(df, protected=("g",), decision="d", reference_rule="most-favourable", min_group_size=30)
    assert fav.results["attributes"][0]["reference"] == "b"  # c has rate 0 but only 20 rows
    benef = auditkit.audit(df, protected=("g",), decision="d", reference_rule="most-favourable",
                           selection_is="beneficial", min_group_size=30)
    assert benef.results["attributes"][0]["reference"] == "a"


def test_screening_band_is_labelled_not_a_test():
    """The four-fifths band appears only as a labelled screening band on selection-rate ratios."""
    df = pd.DataFrame({"g": ["a"] * 100 + ["b"] * 100, "d": [1] * 50 + [0] * 50 + [1] * 35 + [0] * 65})
    (c,) = auditkit.audit(df, protected=("g",), decision="d").comparisons
    band = c["screening_band"]
    assert "not a test" in band["name"] and band["ratio_outside"] is True
    assert c["ratio"] == pytest.approx(0.7)


def test_missing_protected_value_is_its_own_group():
    """Rows without a protected value form '(missing)'; other groups' counts are untouched."""
    df = pd.DataFrame({"g": ["a", "b", None, " "] * 25, "d": [1, 0, 1, 1] * 25})
    r = auditkit.audit(df, protected=("g",), decision="d")
    groups = _groups(r, "g")
    assert groups["(missing)"]["n"] == 50 and groups["a"]["n"] == 25 and groups["b"]["n"] == 25
    assert groups["(missing)"]["missing_group"] and not groups["a"]["missing_group"]
    assert r.results["attributes"][0]["reference"] != "(missing)"
    assert any("(missing)" in n for n in r.results["notes"])


def test_berkeley_stratified_matches_statsmodels_and_flags_simpson():
    """Berkeley 1973: MH odds ratio, CMH and Breslow–Day equal statsmodels; the reversal is flagged."""
    from statsmodels.stats.contingency_tables import StratifiedTable

    from pathlib import Path

    path = Path(__file__).parents[1] / "datasets" / "berkeley" / "admissions.csv"
    r = auditkit.audit(path, protected=("gender",), count_column="count", decision="decision",
                       positive=("Admitted",), strata=("department",), references={"gender": "Male"},
                       selection_is="beneficial")
    (s,) = r.results["stratified"]
    df = pd.read_csv(path)
    tables = []
    for _, d in df.groupby("department"):
        cnt = d.set_index(["gender", "decision"])["count"]
        tables.append([[cnt["Female", "Admitted"], cnt["Female", "Rejected"]],
                       [cnt["Male", "Admitted"], cnt["Male", "Rejected"]]])
    st = StratifiedTable(np.array(tables, dtype=float).transpose(1, 2, 0))
    assert s["mh_odds_ratio"] == pytest.approx(st.oddsratio_pooled, rel=1e-9)
    assert s["p_value"] == pytest.approx(st.test_null_odds().pvalue, rel=1e-9)
    assert s["breslow_day_p"] == pytest.approx(st.test_equal_odds(adjust=True).pvalue, rel=1e-9)
    assert s["crude_odds_ratio"] < 1 < s["mh_odds_ratio"]
    assert s["direction_reversed"] and "Simpson" in s["warning"]
    (c,) = r.comparisons
    assert c["group_rate"]["numerator"] == 557 and c["group_rate"]["denominator"] == 1835


def test_compare_scalar_path_equals_vectorised_path() -> None:
    """compare()'s scalar path for exact counts gives the vectorised path's figures (1e-12)."""
    from auditkit.measure.compare import _compare_bounds, _compare_exact

    rng = np.random.default_rng(7)
    cases = [(0, 10, 5, 10), (10, 10, 0, 10), (0, 5, 0, 7), (5, 5, 5, 5), (3, 7, 2, 9), (1, 1, 0, 1)]
    for _ in range(400):
        n1, n2 = (int(rng.integers(1, 10 ** int(rng.integers(1, 8)))) for _ in range(2))
        cases.append((int(rng.integers(0, n1 + 1)), n1, int(rng.integers(0, n2 + 1)), n2))
    for k1, n1, k2, n2 in cases:
        for level, test in ((0.95, "fisher"), (0.9, "chi2")):
            fast = _compare_exact(k1, n1, k2, n2, level, test)
            slow = _compare_bounds((k1, n1, k1, n1), (k2, n2, k2, n2), level, test)
            assert fast.zero_corrected == slow.zero_corrected
            for name in ("ratio", "ratio_ci", "difference", "difference_ci", "p_value"):
                np.testing.assert_allclose(getattr(fast, name), getattr(slow, name), rtol=1e-12, atol=1e-15,
                                           err_msg=f"{name} for {(k1, n1, k2, n2)}")


def test_screening_band_is_undetermined_when_suppressed_bounds_straddle_it():
    """A ratio known only as a range reaching both inside and outside the band is neither (None)."""
    table = pd.DataFrame({"g": ["a", "a", "b", "b"], "d": ["1", "0", "1", "0"], "n": ["0", "300", "40", "260"]})
    # a's selected count 0 stands for 0-9 (suppressed): a's rate 0-3%, b's 13.3%: ratio 0-0.23, outside.
    res = auditkit.audit(table, protected=("g",), decision="d", positive="1", count_column="n",
                         suppressed="0", suppressed_range=(0, 9), references={"g": "b"})
    (c,) = [c for c in res.comparisons if c["metric"] == "selection_rate"]
    assert c["ratio_bounds"][1] < 0.8 and c["screening_band"]["ratio_outside"] is True
    table2 = pd.DataFrame({"g": ["a", "a", "b", "b"], "d": ["1", "0", "1", "0"], "n": ["0", "60", "8", "52"]})
    res2 = auditkit.audit(table2, protected=("g",), decision="d", positive="1", count_column="n",
                          suppressed="0", suppressed_range=(0, 9), references={"g": "b"})
    (c2,) = [c for c in res2.comparisons if c["metric"] == "selection_rate"]
    low, high = c2["ratio_bounds"]
    assert low < 0.8 <= high and c2["screening_band"]["ratio_outside"] is None
