"""Counterfactual flip tests: hand-computed flips, McNemar vs statsmodels, constraints, errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from auditkit.exceptions import InputDataError
from auditkit.explain.flips import (
    check_constraints,
    flip_test,
    load_constraints,
    mcnemar_test,
    paired_difference_interval,
)
from auditkit.measure._stats import newcombe_difference_interval

THRESHOLD = 0.6


def people(n: int = 300, seed: int = 1) -> pd.DataFrame:
    """Nationality (NL most common), debts and young flags, a residence permit and an unused noise column."""
    rng = np.random.default_rng(seed)
    nat = rng.choice(["NL", "TR", "MA"], size=n, p=[0.5, 0.3, 0.2])
    permit = np.where(nat == "NL", "none", rng.choice(["temporary", "permanent"], size=n))
    return pd.DataFrame({"nationality": nat, "debts": rng.integers(0, 2, n), "young": rng.integers(0, 2, n),
                         "permit": permit, "noise": rng.normal(size=n)})


def score(frame: pd.DataFrame) -> np.ndarray:
    """0.5 for any nationality other than NL (the direct effect), plus 0.4 debts + 0.2 young."""
    return (0.5 * (frame["nationality"] != "NL").to_numpy() + 0.4 * frame["debts"].to_numpy()
            + 0.2 * frame["young"].to_numpy())


def decide(scores: np.ndarray) -> np.ndarray:
    return (scores >= THRESHOLD).astype(int)


def by_value(rows: list[dict], key: str = "value") -> dict:
    return {r[key]: r for r in rows}


def test_flips_and_direct_effect_match_hand_computation():
    X = people()
    r = flip_test(score, decide, X, "nationality")
    assert r["baseline"] == "NL" and r["values"] == ["MA", "NL", "TR"] and r["rows_used"] == len(X)
    debts, young = X["debts"].to_numpy() == 1, X["young"].to_numpy() == 1
    # By hand: as NL a row is selected iff debts and young (0.6); as TR/MA iff debts or young (>= 0.7).
    as_nl, as_other = debts & young, debts | young
    observed = np.where(X["nationality"] == "NL", as_nl, as_other)
    per = by_value(r["per_value"])
    for value, cf in (("NL", as_nl), ("TR", as_other), ("MA", as_other)):
        assert per[value]["n"] == len(X)
        assert per[value]["flips_to_selected"] == int(np.sum(cf & ~observed))
        assert per[value]["flips_to_not_selected"] == int(np.sum(~cf & observed))
        assert per[value]["selection_rate"]["value"] == pytest.approx(cf.mean(), abs=1e-15)
        assert per[value]["dropped_impossible"] == 0
    direct = by_value(r["direct_effect"])
    exactly_one = int(np.sum(as_other & ~as_nl))
    for value in ("TR", "MA"):
        assert direct[value]["flips_to_selected"] == exactly_one and direct[value]["flips_to_not_selected"] == 0
        assert direct[value]["difference"] == exactly_one / len(X)
        assert direct[value]["ci_low"] < direct[value]["difference"] < direct[value]["ci_high"]
        assert direct[value]["p_value"] < 1e-10
    json.dumps(r, allow_nan=False)


def test_observed_disparity_and_remaining():
    X = people()
    r = flip_test(score, decide, X, "nationality")
    sel = decide(score(X))
    obs = by_value(r["observed_disparity"], "group")
    rate = {g: sel[X["nationality"].to_numpy() == g].mean() for g in ("NL", "TR", "MA")}
    assert obs["TR"]["reference"] == "NL"
    assert obs["TR"]["difference"] == pytest.approx(rate["TR"] - rate["NL"], abs=1e-15)
    rem = by_value(r["remaining_disparity"], "group")
    direct = by_value(r["direct_effect"])
    for g in ("TR", "MA"):
        assert rem[g]["remaining"] == pytest.approx(obs[g]["difference"] - direct[g]["difference"], abs=1e-15)
        # Within the group the split is exact: direct effect for its members + what remains = observed.
        assert rem[g]["direct_effect_in_group"] + rem[g]["remaining_in_group"] == pytest.approx(
            obs[g]["difference"], abs=1e-15)


def test_model_ignoring_the_attribute_has_no_flips():
    X = people()
    r = flip_test(lambda f: 0.4 * f["debts"].to_numpy() + 0.2 * f["young"].to_numpy(), decide, X, "nationality")
    for row in r["per_value"]:
        assert row["discordant"] == 0 and row["p_value"] == 1.0 and row["p_holm"] == 1.0
    for row in r["direct_effect"]:
        assert row["difference"] == 0.0 and row["p_value"] == 1.0
        assert row["ci_low"] < 0 < row["ci_high"]


@pytest.mark.parametrize("b, c", [(0, 0), (0, 3), (2, 9), (7, 7), (12, 12), (5, 19), (13, 12), (30, 10),
                                  (100, 140), (500, 1)])
def test_mcnemar_matches_statsmodels(b, c):
    stat, p, test = mcnemar_test(b, c)
    exact = b + c < 25
    assert test == ("mcnemar_exact" if exact else "mcnemar_chi2")
    if b + c == 0:
        assert (stat, p) == (0.0, 1.0)
        return
    ref = sm_mcnemar([[10, b], [c, 10]], exact=exact, correction=False)
    assert stat == pytest.approx(ref.statistic, abs=1e-9)
    assert p == pytest.approx(ref.pvalue, abs=1e-9)


def test_flip_test_mcnemar_equals_statsmodels_on_its_own_tables():
    X = people(n=600)
    tests = set()
    for sample in (None, 40):  # both the chi-square and the exact branch
        r = flip_test(score, decide, X, "nationality", sample=sample)
        for row in r["per_value"]:
            b, c = row["flips_to_selected"], row["flips_to_not_selected"]
            ref = sm_mcnemar([[0, b], [c, 0]], exact=row["test"] == "mcnemar_exact", correction=False)
            assert row["p_value"] == pytest.approx(ref.pvalue, abs=1e-9)
            assert row["mcnemar_statistic"] == pytest.approx(ref.statistic, abs=1e-9)
            tests.add(row["test"])
        ps = np.array([row["p_value"] for row in r["per_value"]])
        order = np.argsort(ps)
        holm = np.minimum(np.maximum.accumulate(ps[order] * np.arange(len(ps), 0, -1)), 1.0)
        assert [row["p_holm"] for row in r["per_value"]] == pytest.approx(holm[np.argsort(order)].tolist())
    assert tests == {"mcnemar_exact", "mcnemar_chi2"}


def test_paired_interval_matches_published_example_and_independent_case():
    # Fagerland, Lydersen & Laake (2017), ch. 8: Cavo et al. (2012), [[59, 6], [16, 80]].
    low, high = paired_difference_interval(59, 6, 16, 80)
    assert (round(low, 4), round(high, 4)) == (-0.1186, -0.0046)
    # With 0 <= ad - bc <= n/2 the correlation term is 0: the square-and-add of independent Wilson limits.
    a, b, c, d = 5, 10, 10, 24  # ad - bc = 20 <= n/2 = 24.5
    n = a + b + c + d
    ref = newcombe_difference_interval(a + b, n, a + c, n)
    low, high = paired_difference_interval(a, b, c, d)
    assert (low, high) == pytest.approx((float(ref[0]), float(ref[1])), abs=1e-12)
    assert all(math.isnan(x) for x in paired_difference_interval(0, 0, 0, 0))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40), st.integers(0, 40))
def test_paired_interval_contains_estimate(a, b, c, d):
    if a + b + c + d == 0:
        return
    low, high = paired_difference_interval(a, b, c, d)
    est = (b - c) / (a + b + c + d)
    assert -1 - 1e-12 <= low <= est + 1e-12 and est - 1e-12 <= high <= 1 + 1e-12


def test_constraints_drop_impossible_rows(tmp_path):
    X = people()
    rule = [{"if": {"nationality": "NL"}, "then_not": {"permit": ["temporary", "permanent"]}}]
    r = flip_test(score, decide, X, "nationality", constraints=rule)
    has_permit = int((X["permit"] != "none").sum())
    per = by_value(r["per_value"])
    assert per["NL"]["dropped_impossible"] == has_permit and per["NL"]["n"] == len(X) - has_permit
    assert per["TR"]["dropped_impossible"] == 0 and r["constraints"] == 1
    # The direct effect compares only rows possible under both values.
    assert by_value(r["direct_effect"])["TR"]["n"] == len(X) - has_permit
    path = tmp_path / "rules.yaml"
    path.write_text("constraints:\n  - if: {nationality: NL}\n    then_not:\n      permit: [temporary, permanent]\n"
                    "    note: Dutch nationals need no residence permit\n", encoding="utf-8")
    loaded = load_constraints(path)
    assert loaded[0]["note"] == "Dutch nationals need no residence permit"
    assert flip_test(score, decide, X, "nationality", constraints=loaded)["per_value"] == r["per_value"]


@pytest.mark.parametrize("text, fragments", [
    ("- if: {nationality: NL}\n", ["entry 1", "'then_not'"]),
    ("- if: {nationality: NL}\n  then_not: {permit: temporary}\n- iff: {a: 1}\n", ["entry 2", "'iff'", "'if'"]),
    ("- if: {nationality: NL}\n  then_not: {permit: [[1]]}\n", ["entry 1", "'then_not'", "'permit'"]),
    ("{constraints: 3}\n", ["expected a list"]),
    ("- [unclosed\n", ["not valid YAML"]),
])
def test_constraint_file_errors_name_file_entry_and_key(tmp_path, text, fragments):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputDataError) as err:
        load_constraints(path)
    for fragment in [str(path), *fragments]:
        assert fragment in str(err.value)


def test_constraint_with_unknown_column_or_value():
    X = people(n=50)
    with pytest.raises(InputDataError, match="Did you mean 'permit'"):
        flip_test(score, decide, X, "nationality", constraints=[{"if": {"nationality": "NL"},
                                                                 "then_not": {"permits": "temporary"}}])
    with pytest.raises(InputDataError, match="never holds 'temporay'.*Did you mean 'temporary'"):
        flip_test(score, decide, X, "nationality", constraints=[{"if": {"nationality": "NL"},
                                                                 "then_not": {"permit": "temporay"}}])
    with pytest.raises(InputDataError, match="missing.txt"):
        load_constraints("missing.txt")
    assert check_constraints([]) == []


def test_deterministic_and_batch_size_free():
    X = people()
    first = flip_test(score, decide, X, "nationality", sample=120, seed=5)
    assert json.dumps(first) == json.dumps(flip_test(score, decide, X, "nationality", sample=120, seed=5))
    small = flip_test(score, decide, X, "nationality", sample=120, seed=5, batch_size=7)
    assert json.dumps(small) == json.dumps(first)


def test_sample_is_stated_and_is_the_seeded_rows():
    X = people()
    r = flip_test(score, decide, X, "nationality", sample=80, seed=3)
    assert (r["rows_used"], r["rows_total"], r["sample_seed"]) == (80, len(X), 3)
    rows = X.iloc[np.sort(np.random.default_rng(3).choice(len(X), size=80, replace=False))]
    full = flip_test(score, decide, rows, "nationality")
    assert full["per_value"] == r["per_value"] and full["sample_seed"] is None
    assert flip_test(score, decide, X, "nationality", sample=10_000)["sample_seed"] is None


def test_values_baseline_and_categorical_dtype():
    X = people(n=120)
    X["nationality"] = X["nationality"].astype("category")

    def typed_score(frame: pd.DataFrame) -> np.ndarray:
        assert isinstance(frame["nationality"].dtype, pd.CategoricalDtype)  # counterfactual keeps the dtype
        return score(frame)

    r = flip_test(typed_score, decide, X, "nationality", values=["TR", "NL"], baseline="TR")
    assert r["values"] == ["TR", "NL"] and r["baseline"] == "TR"
    assert [d["value"] for d in r["direct_effect"]] == ["NL"] and by_value(r["direct_effect"])["NL"]["difference"] < 0


def test_errors_name_the_problem():
    X = people(n=40)
    with pytest.raises(InputDataError, match="No column 'nationalty'.*Did you mean 'nationality'"):
        flip_test(score, decide, X, "nationalty")
    with pytest.raises(InputDataError, match="'Dutch' does not occur in column 'nationality'"):
        flip_test(score, decide, X, "nationality", values=["NL", "Dutch"])
    with pytest.raises(InputDataError, match="baseline 'MA' is not among values"):
        flip_test(score, decide, X, "nationality", values=["NL", "TR"], baseline="MA")
    with pytest.raises(InputDataError, match="predict_proba"):
        flip_test(lambda f: np.zeros((len(f), 2)), decide, X, "nationality")
    with pytest.raises(InputDataError, match="0/1 decision"):
        flip_test(score, lambda s: s, X, "nationality")
    with pytest.raises(InputDataError, match="sample must be a positive whole number"):
        flip_test(score, decide, X, "nationality", sample=0)


def test_batchwise_top_k_rule_is_refused():
    X = people(n=200)

    def top_quarter(scores: np.ndarray) -> np.ndarray:  # re-ranks each call: not a fixed bar
        return (scores >= np.quantile(scores, 0.75)).astype(int)

    with pytest.raises(InputDataError, match="fixed threshold"):
        flip_test(lambda f: score(f) + 0.01 * f["noise"].to_numpy(), top_quarter, X, "nationality")


def test_groups_can_be_actual_values_of_another_column():
    X = people()
    X["language"] = np.where(X["nationality"] == "NL", "nl", "other")  # a proxy the model does not read
    r = flip_test(score, decide, X, "language", groups=X["nationality"])
    assert all(row["discordant"] == 0 for row in r["per_value"])  # no direct use of language...
    obs = by_value(r["observed_disparity"], "group")
    assert obs["TR"]["reference"] == "NL" and obs["TR"]["difference"] > 0.2  # ...yet groups differ
    assert r["remaining_disparity"] == []  # group labels are not language values: nothing to subtract
    with pytest.raises(InputDataError, match="groups has 10 entries but X has 300 rows"):
        flip_test(score, decide, X, "language", groups=X["nationality"].iloc[:10])
