"""proxy_scan: planted proxies are flagged, noise is not, protected inputs are marked, MI is right."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import entropy

from auditkit.exceptions import InputDataError
from auditkit.explain.proxies import proxy_scan

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def population():
    """600 people: postcode planted as a proxy of nationality; age, income and 'pet' are noise."""
    rng = np.random.default_rng(3)
    n = 600
    nationality = rng.choice(["NL", "EU", "non-EU"], n, p=[0.6, 0.25, 0.15])
    gender = rng.choice(["F", "M"], n)
    home = {"NL": ["1011", "1012", "1013"], "EU": ["2011", "2012"], "non-EU": ["3011", "3012"]}
    postcode = [rng.choice(home[g]) if rng.random() < 0.85 else rng.choice(["9001", "9002"]) for g in nationality]
    X = pd.DataFrame({"postcode": postcode, "age": rng.normal(40, 12, n), "income": rng.lognormal(10, 1, n),
                      "pet": rng.choice(["cat", "dog", "none"], n), "Gender": gender,
                      "sex_code": np.where(gender == "F", 1, 0), "constant": 7})
    return X, pd.DataFrame({"nationality": nationality, "gender": gender})


def _record(records: list[dict], feature: str, attribute: str) -> dict:
    found = [r for r in records if r["feature"] == feature and r["attribute"] == attribute]
    assert len(found) == 1
    return found[0]


@pytest.fixture(scope="module")
def scan(population):
    X, groups = population
    return proxy_scan(X, groups, seed=1)


def test_planted_proxy_is_strong(scan):
    rec = _record(scan, "postcode", "nationality")
    assert rec["strong"] and rec["auc"] > 0.8 and rec["mi_share"] > 0.3
    assert rec["feature_type"] == "categorical" and rec["cv_folds"] == 5 and not rec["is_protected_attribute"]
    assert any("AUC" in reason for reason in rec["reasons"])


@pytest.mark.parametrize("feature", ["age", "income", "pet"])
@pytest.mark.parametrize("attribute", ["nationality", "gender"])
def test_noise_is_not_flagged(scan, feature, attribute):
    rec = _record(scan, feature, attribute)
    assert not rec["strong"] and rec["reasons"] == []
    assert abs(rec["auc"] - 0.5) < 0.08 and rec["mi_share"] < 0.05


def test_protected_attribute_as_input_is_marked(scan):
    by_name, recoded = _record(scan, "Gender", "gender"), _record(scan, "sex_code", "gender")
    assert by_name["is_protected_attribute"] and recoded["is_protected_attribute"]
    assert "named like the attribute" in by_name["reasons"][0]
    assert "one-to-one recoding" in recoded["reasons"][0] and recoded["auc"] == pytest.approx(1.0)
    assert recoded["feature_type"] == "discrete numeric"
    assert not _record(scan, "postcode", "gender")["is_protected_attribute"]


def test_identical_values_are_marked():
    groups = pd.DataFrame({"nationality": ["NL", "EU", "NL", "non-EU"] * 10})
    X = pd.DataFrame({"herkomst": groups["nationality"], "x": range(40)})
    rec = _record(proxy_scan(X, groups, cv=3), "herkomst", "nationality")
    assert rec["is_protected_attribute"] and "identical" in rec["reasons"][0]


def test_mutual_information_matches_entropies():
    """I(X;Y) = H(X) + H(Y) - H(X,Y), in bits, from the contingency table (scipy)."""
    x = ["a"] * 6 + ["b"] * 6 + ["c"] * 8
    y = ["p", "p", "p", "p", "q", "q", "p", "q", "q", "q", "q", "q", "p", "p", "q", "q", "q", "q", "q", "p"]
    table = pd.crosstab(pd.Series(x), pd.Series(y)).to_numpy()
    expected = (entropy(table.sum(axis=1), base=2) + entropy(table.sum(axis=0), base=2)
                - entropy(table.ravel(), base=2))
    rec = proxy_scan(pd.DataFrame({"x": x}), pd.DataFrame({"y": y}), cv=2)[0]
    assert rec["mi_bits"] == pytest.approx(expected, abs=1e-12)
    assert rec["attribute_entropy_bits"] == pytest.approx(entropy(table.sum(axis=0), base=2), abs=1e-12)
    assert rec["mi_share"] == pytest.approx(max(0.0, expected - rec["mi_chance_bits"]) / rec["attribute_entropy_bits"])


def test_an_id_column_is_not_a_proxy_by_chance():
    """Unique values 'explain' every label in-sample; the chance correction and CV must see through it."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"client_id": [f"c{i}" for i in range(300)]})
    rec = proxy_scan(X, pd.DataFrame({"gender": rng.choice(["F", "M"], 300)}))[0]
    assert rec["mi_bits"] > 0.9 and rec["mi_share"] < 0.05 and not rec["strong"]


def test_constant_single_level_missing_and_small_groups():
    rng = np.random.default_rng(5)
    n = 300
    nationality = rng.choice(["NL", "non-EU"], n).astype(object)
    nationality[:3] = "stateless"  # fewer rows than cv: left out of the AUC
    income = np.where((nationality == "non-EU") & (rng.random(n) < 0.7), np.nan, rng.normal(size=n))
    X = pd.DataFrame({"income": income, "constant": "x", "noise": rng.normal(size=n)})
    groups = pd.DataFrame({"nationality": nationality, "country": "NL"})
    out = proxy_scan(X, groups)
    missing = _record(out, "income", "nationality")
    assert missing["missing_values"] == int(np.isnan(income).sum()) and missing["strong"]
    assert missing["auc_levels_left_out"] == ["stateless (3 rows)"]
    constant = _record(out, "constant", "nationality")
    assert (constant["auc"], constant["mi_bits"], constant["strong"]) == (0.5, 0.0, False)
    assert "constant" in constant["note"]
    single = _record(out, "noise", "country")
    assert single["auc"] is None and "one group ('NL')" in single["note"]
    assert [r["auc"] is None for r in out] == sorted(r["auc"] is None for r in out)
    aucs = [r["auc"] for r in out if r["auc"] is not None]
    assert aucs == sorted(aucs, reverse=True)


def test_missing_attribute_labels_are_left_out(population):
    X, groups = population
    labelled = groups.assign(nationality=groups["nationality"].where(np.arange(len(X)) % 4 != 0))
    rec = _record(proxy_scan(X[["postcode"]], labelled), "postcode", "nationality")
    assert rec["rows_used"] == int(labelled["nationality"].notna().sum()) and rec["strong"]


def test_sampling_determinism_and_json(population):
    X, groups = population
    first = proxy_scan(X[["postcode", "age"]], groups, max_rows=200, seed=4)
    assert first == proxy_scan(X[["postcode", "age"]], groups, max_rows=200, seed=4)
    assert {(r["rows_used"], r["rows_in_data"], r["seed"]) for r in first} == {(200, len(X), 4)}
    assert json.loads(json.dumps(first, allow_nan=False)) == first
    assert proxy_scan(X[["postcode", "age"]], groups, max_rows=200, seed=5) != first


def test_user_errors(population):
    X, groups = population
    with pytest.raises(InputDataError, match="groups has 5 rows but X has 600"):
        proxy_scan(X, groups.iloc[:5])
    with pytest.raises(InputDataError, match="cv must be"):
        proxy_scan(X, groups, cv=1)
    with pytest.raises(InputDataError, match="X must be a pandas DataFrame"):
        proxy_scan(X.to_numpy(), groups)
