"""Bias clusters: a planted cluster is found, confirmed and described; noise is not; tests match scipy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

from auditkit.exceptions import InputDataError
from auditkit.explain import clusters as mod
from auditkit.explain.clusters import bias_clusters


def planted(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Rows with language=other and neighbourhood=Z (about 10%, younger) have bias 0.6, the rest 0.1."""
    rng = np.random.default_rng(seed)
    lang = rng.choice(["nl", "en", "other"], size=n, p=[0.5, 0.2, 0.3])
    hood = rng.choice(["X", "Y", "Z"], size=n)
    group = (lang == "other") & (hood == "Z")
    age = np.where(group, rng.normal(31, 5, n), rng.normal(44, 10, n))
    income = rng.normal(30_000, 8_000, n)
    income[rng.random(n) < 0.1] = np.nan
    X = pd.DataFrame({"language": lang, "neighbourhood": hood, "age": age, "income": income})
    return X, (rng.random(n) < np.where(group, 0.6, 0.1)).astype(int), group


def noise(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"language": rng.choice(["nl", "en", "other"], n), "neighbourhood": rng.choice(list("XYZ"), n),
                      "age": rng.normal(40, 10, n), "income": rng.normal(30_000, 8_000, n)})
    return X, (rng.random(n) < 0.2).astype(int)


def test_planted_cluster_is_found_confirmed_and_described():
    X, bias, group = planted()
    r = bias_clusters(X, bias, seed=0)
    assert r["test"] == "two_proportion_z" and r["train_rows"] + r["holdout_rows"] == len(X)
    confirmed = [c for c in r["clusters"] if c["confirmed"]]
    assert len(confirmed) == 1
    top = confirmed[0]
    assert top["id"] == 1 and top["p_holm"] < 1e-10
    assert top["bias_holdout"] > 0.45 and top["bias_rest_holdout"] < 0.15
    assert top["ci"]["low"] <= top["difference"] <= top["ci"]["high"] and top["ci"]["low"] > 0.25
    assert "language = other" in top["description"] and "neighbourhood = Z" in top["description"]
    named = {(f["feature"], f["category"]) for f in top["features"]}
    assert {("language", "other"), ("neighbourhood", "Z")} <= named
    # The cluster is (most of) the planted group and almost nothing else.
    share = {(f["feature"], f["category"]): f["cluster"] for f in top["features"]}
    assert share[("language", "other")] > 0.95 and share[("neighbourhood", "Z")] > 0.95
    assert top["size_train"] > 0.6 * group.mean() * r["train_rows"]
    json.dumps(r, allow_nan=False)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pure_noise_gives_no_confirmed_cluster(seed):
    X, bias = noise(seed=10 + seed)
    r = bias_clusters(X, bias, seed=seed)
    assert len(r["clusters"]) > 1  # it did split, on noise
    assert not any(c["confirmed"] for c in r["clusters"])


def test_deterministic_for_a_seed():
    X, bias, _ = planted(n=1500, seed=3)
    first = json.dumps(bias_clusters(X, bias, seed=4))
    assert json.dumps(bias_clusters(X, bias, seed=4)) == first
    assert json.loads(first)["seed"] == 4


def mixed(n: int = 2000, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    """Three blobs of people; the young one (15%) mostly lacks income and region and has a larger bias."""
    rng = np.random.default_rng(seed)
    blob = rng.choice(3, size=n, p=[0.6, 0.25, 0.15])
    age = np.choose(blob, [rng.normal(50, 8, n), rng.normal(35, 6, n), rng.normal(22, 3, n)])
    income = np.choose(blob, [rng.normal(40e3, 6e3, n), rng.normal(25e3, 5e3, n), rng.normal(15e3, 4e3, n)])
    income[rng.random(n) < np.choose(blob, [0.05, 0.1, 0.6])] = np.nan
    region = np.where(blob == 0, rng.choice(["north", "south"], n),
                      np.where(rng.random(n) < np.choose(blob, [0, 0.3, 0.7]), None, "south"))
    X = pd.DataFrame({"age": age, "income": income, "region": pd.Series(region, dtype=object).astype("category"),
                      "flag": rng.random(n) < 0.5})
    return X, rng.normal(0, 1, n) + 1.0 * (blob == 2)  # e.g. an error size


def test_mixed_features_with_missing_values_and_numeric_bias():
    X, bias = mixed()
    assert X["income"].isna().any() and X["region"].isna().any()
    r = bias_clusters(X, bias, min_cluster_size=100, max_depth=3, seed=0)
    assert r["test"] == "welch_t" and "median" in r["imputation"] and "(missing)" in r["imputation"]
    top = r["clusters"][0]
    assert top["confirmed"] and top["bias_holdout"] - top["bias_rest_holdout"] > 0.5
    assert top["description"].startswith("income missing (") and "age mean 25 vs 45" in top["description"]
    assert all(c["size_train"] >= 100 for c in r["clusters"]) and r["min_cluster_size_rows"] == 100
    json.dumps(r, allow_nan=False)


def test_holdout_rows_follow_the_training_bisections():
    X, bias, _ = planted(n=1200, seed=2)
    spec = mod._fit_encoding(X)
    Z = mod._encode(X, spec)
    nodes = mod._grow(Z, bias.astype(float), 60, 3, seed=0)
    leaf = mod._assign(nodes, Z)  # the training rows themselves land in their own leaves
    for i, node in enumerate(nodes):
        if node["model"] is None:
            assert set(np.flatnonzero(leaf == i)) == set(node["rows"].tolist())


def test_welch_and_z_tests_match_scipy_and_statsmodels():
    rng = np.random.default_rng(7)
    a, b = rng.normal(1.0, 2.0, 40), rng.normal(0.2, 1.0, 90)
    low, high, p = mod._compare(a, b, binary=False, level=0.9)
    ref = stats.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval(0.9)
    assert (low, high, p) == pytest.approx((ci.low, ci.high, ref.pvalue), abs=1e-9)
    x, y = (rng.random(150) < 0.3).astype(float), (rng.random(400) < 0.2).astype(float)
    _, _, p = mod._compare(x, y, binary=True, level=0.95)
    _, p_ref = proportions_ztest([x.sum(), y.sum()], [len(x), len(y)])
    assert p == pytest.approx(p_ref, abs=1e-9)


def test_description_wording():
    X = pd.DataFrame({"language": ["other"] * 8 + ["nl"] * 2 + ["nl"] * 10, "age": [30] * 10 + [45] * 10})
    inside = np.r_[np.ones(10, bool), np.zeros(10, bool)]
    words, feats = mod._describe(X, inside)
    assert words == "age mean 30 vs 45; language = other (80% vs 0%)"
    assert feats[0]["standardised_difference"] == pytest.approx(-2.0) and feats[1]["kind"] == "category"


@pytest.mark.parametrize("kwargs, fragment", [
    ({"bias": np.zeros(5)}, "one number per row"),
    ({"bias": np.r_[np.zeros(99), np.nan]}, "missing or infinite in 1 rows"),
    ({"holdout": 1.0}, "holdout must be between 0 and 1"),
    ({"min_cluster_size": 0.9}, "min_cluster_size"),
    ({"min_cluster_size": True}, "min_cluster_size"),
    ({"max_depth": 0}, "max_depth"),
    ({"alpha": 0}, "alpha"),
    ({"holdout": 0.001}, "at least 2"),
])
def test_errors_name_the_problem(kwargs, fragment):
    X, bias = noise(n=100)
    args = {"bias": bias, **kwargs}
    with pytest.raises(InputDataError, match=fragment):
        bias_clusters(X, args.pop("bias"), **args)
