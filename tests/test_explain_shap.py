"""shap_by_group: additivity on each explainer path, exact gap decomposition, attribution to a planted
feature, determinism, JSON-readiness and clear errors."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest

from auditkit.exceptions import InputDataError
from auditkit.explain.shap_groups import shap_by_group

pytest.importorskip("shap")
sklearn_ensemble = pytest.importorskip("sklearn.ensemble")
from sklearn.compose import make_column_transformer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402


@pytest.fixture(scope="module")
def data():
    """400 applicants: selection depends only on `language`, which is tied to nationality (not an input)."""
    rng = np.random.default_rng(7)
    n = 400
    nationality = rng.choice(["NL", "non-EU"], n, p=[0.7, 0.3])
    other = rng.random(n) < np.where(nationality == "NL", 0.1, 0.8)
    X = pd.DataFrame({"language": other.astype(int), "age": rng.normal(40, 10, n).round(),
                      "income": rng.normal(0, 1, n)})
    y = (rng.random(n) < 0.1 + 0.6 * other).astype(int)
    groups = pd.DataFrame({"nationality": nationality, "gender": rng.choice(["F", "M"], n)})
    return X, y, groups


def _score_of_language(frame: pd.DataFrame) -> np.ndarray:
    """A known scoring rule that uses only language (strings or 0/1)."""
    other = frame["language"].astype(str).isin(["other", "1"]).to_numpy()
    return 0.1 + 0.6 * other


def _gap(result: dict, attribute: str = "nationality", group: str = "non-EU") -> dict:
    found = [g for g in result["gap_decomposition"] if g["attribute"] == attribute and g["group"] == group]
    assert len(found) == 1
    return found[0]


def _mean_identity(result: dict, expected_mean_output: float, tol: float) -> None:
    """base + sum of mean SHAP = mean model output (additivity averaged over all rows)."""
    total = result["base_value"] + sum(f["mean_shap"] for f in result["overall"])
    assert total == pytest.approx(expected_mean_output, abs=tol)


def test_tree_model_adds_up_on_probability_scale(data):
    X, y, groups = data
    model = sklearn_ensemble.GradientBoostingClassifier(n_estimators=20, max_depth=2, random_state=0).fit(X, y)
    res = shap_by_group(model, X, groups, sample=None, background=50)
    assert (res["explainer"], res["output_scale"], res["feature_perturbation"]) == (
        "TreeExplainer", "probability", "interventional")
    assert res["additivity_max_error"] < 1e-6
    _mean_identity(res, model.predict_proba(X)[:, 1].mean(), 1e-6)
    assert res["background_rows"] == 50 and res["rows_explained"] == len(X)
    assert shap_by_group(model, X, groups, sample=None, background=50) == res


def test_forest_adds_up(data):
    X, y, groups = data
    model = sklearn_ensemble.RandomForestClassifier(n_estimators=10, max_depth=3, random_state=0, n_jobs=1)
    model.fit(X, y)
    res = shap_by_group(model, X, groups, sample=None, background=40)
    assert res["output_scale"] == "probability" and res["additivity_max_error"] < 1e-6
    _mean_identity(res, model.predict_proba(X)[:, 1].mean(), 1e-6)


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_boosting_libraries_add_up(data, library):
    X, y, groups = data
    lib = pytest.importorskip(library)
    cls = lib.XGBClassifier if library == "xgboost" else lib.LGBMClassifier
    extra = {"verbose": -1} if library == "lightgbm" else {}
    model = cls(n_estimators=15, max_depth=3, n_jobs=1, random_state=0, **extra).fit(X, y)
    res = shap_by_group(model, X, groups, sample=150, background=40)
    assert res["explainer"] == "TreeExplainer" and res["additivity_max_error"] < 1e-5
    assert res["predict_check"] is None


def test_hist_gradient_boosting_still_adds_up(data):
    """shap's interventional mode does not add up for this model; the check must fall back, not lie."""
    X, y, groups = data
    model = sklearn_ensemble.HistGradientBoostingClassifier(max_iter=15, random_state=0).fit(X, y)
    res = shap_by_group(model, X, groups, sample=None, background=40)
    assert res["additivity_max_error"] < 1e-6
    expected = model.predict_proba(X)[:, 1] if res["output_scale"] == "probability" else model.decision_function(X)
    _mean_identity(res, expected.mean(), 1e-6)


def test_linear_model_adds_up_on_log_odds(data):
    X, y, groups = data
    model = LogisticRegression().fit(X, y)
    res = shap_by_group(model, X, groups, sample=None, background=100)
    assert (res["explainer"], res["output_scale"]) == ("LinearExplainer", "log-odds")
    assert res["additivity_max_error"] < 1e-9
    _mean_identity(res, model.decision_function(X).mean(), 1e-9)
    assert res["predict_check"] is None


def test_pipeline_with_one_hot_maps_back_to_features(data):
    X, y, groups = data
    Xc = X.assign(language=np.where(X["language"] == 1, "other", "Dutch"))
    pre = make_column_transformer((OneHotEncoder(), ["language"]), (StandardScaler(), ["age", "income"]))
    model = make_pipeline(pre, LogisticRegression()).fit(Xc, y)
    res = shap_by_group(model, Xc, groups, sample=None, background=100,
                        predict=lambda d: model.predict_proba(d)[:, 1])
    assert res["explainer"] == "LinearExplainer"
    assert {f["feature"] for f in res["overall"]} == {"language", "age", "income"}
    assert res["additivity_max_error"] < 1e-9
    assert res["predict_check"]["matches"] is True  # sigmoid(explained log-odds) is what predict returns


def test_agnostic_path_adds_up_with_text_features(data):
    X, _, groups = data
    Xc = X.assign(language=np.where(X["language"] == 1, "other", "Dutch"))
    res = shap_by_group(None, Xc, groups, predict=_score_of_language, sample=120, background=30, seed=3)
    assert (res["explainer"], res["permutations"]) == ("PermutationSHAP", 5)
    assert res["additivity_max_error"] < 1e-9
    assert res["rows_explained"] == 120 and res["background_rows"] == 30 and res["sample_seed"] == 3


def test_agnostic_matches_brute_force_shapley_values():
    """Against the Shapley formula summed over all feature subsets (interventional value function).

    With only pairwise interactions an antithetic pair of orders splits every interaction exactly, so
    the sampled values must equal the exact ones, group by group.
    """
    rng = np.random.default_rng(1)
    n, k = 40, 8
    X = pd.DataFrame({"language": np.where(rng.random(n) < 0.4, "other", "Dutch"),
                      "age": rng.normal(40, 10, n).round(), "kids": rng.integers(0, 3, n)})
    groups = pd.DataFrame({"g": rng.choice(["a", "b"], n)})

    def score(d):
        other = (d["language"] == "other").to_numpy()
        return 0.1 + 0.4 * other + 0.005 * d["age"].to_numpy() * other + 0.05 * d["kids"].to_numpy()

    res = shap_by_group(None, X, groups, predict=score, sample=None, background=k, seed=0)
    bg = np.sort(np.random.default_rng(np.random.SeedSequence(0).spawn(3)[1]).choice(n, k, replace=False))
    background, cols = X.iloc[bg].reset_index(drop=True), list(X.columns)

    def value(subset, row):
        return score(background.assign(**{c: row[c] for c in subset})).mean()

    exact = np.zeros((n, len(cols)))
    for i in range(n):
        for j, c in enumerate(cols):
            others = [o for o in cols if o != c]
            for size in range(len(cols)):
                weight = math.factorial(size) * math.factorial(len(cols) - size - 1) / math.factorial(len(cols))
                for subset in itertools.combinations(others, size):
                    exact[i, j] += weight * (value([*subset, c], X.iloc[i]) - value(subset, X.iloc[i]))
    for g in res["by_group"]:
        mask = (groups["g"] == g["group"]).to_numpy()
        for f in g["features"]:
            assert f["mean_shap"] == pytest.approx(exact[mask, cols.index(f["feature"])].mean(), abs=1e-12)


def test_predict_that_differs_from_the_model_is_reported(data):
    X, y, groups = data
    model = LogisticRegression().fit(X, y)
    res = shap_by_group(model, X, groups, predict=lambda d: model.predict_proba(d)[:, 1] * 0.5, sample=50)
    assert res["predict_check"]["matches"] is False and "explain the estimator, not predict" in res["notes"][-1]


def test_unsupported_estimator_falls_back_to_agnostic(data):
    X, y, groups = data
    neighbors = pytest.importorskip("sklearn.neighbors")
    model = neighbors.KNeighborsClassifier(5).fit(X.iloc[:100], y[:100])
    res = shap_by_group(model, X, groups, sample=40, background=10)
    assert res["explainer"] == "PermutationSHAP" and res["output_scale"] == "probability"
    assert "KNeighborsClassifier" in res["notes"][0] and res["additivity_max_error"] < 1e-9


@pytest.mark.parametrize("how", ["tree", "linear", "agnostic"])
def test_gap_decomposition_sums_to_the_gap(data, how):
    X, y, groups = data
    model = {"tree": sklearn_ensemble.GradientBoostingClassifier(n_estimators=15, random_state=0),
             "linear": LogisticRegression(), "agnostic": None}[how]
    if model is not None:
        model.fit(X, y)
    res = shap_by_group(model, X, groups, predict=_score_of_language if model is None else None,
                        sample=200, background=40)
    means = {(g["attribute"], g["group"]): g["mean_score"] for g in res["by_group"]}
    for gap in res["gap_decomposition"]:
        contributions = sum(f["contribution"] for f in gap["features"])
        assert gap["mean_score_gap"] == pytest.approx(contributions + gap["unexplained"], abs=1e-12)
        assert abs(gap["unexplained"]) < 1e-6
        expected = means[(gap["attribute"], gap["group"])] - means[(gap["attribute"], gap["reference"])]
        assert gap["mean_score_gap"] == pytest.approx(expected, abs=1e-12)


def test_gap_attributed_to_language(data):
    """The score uses only language; the nationality gap must go (almost) wholly to language."""
    X, y, groups = data
    exact = shap_by_group(None, X, groups, predict=_score_of_language, sample=None, background=50)
    assert _gap(exact)["features"][0]["feature"] == "language"
    assert _gap(exact)["features"][0]["share_of_gap"] > 0.99
    trained = sklearn_ensemble.GradientBoostingClassifier(n_estimators=30, max_depth=2, random_state=0)
    res = shap_by_group(trained.fit(X, y), X, groups, sample=None, background=80)
    gap = _gap(res)
    assert gap["reference"] == "NL" and gap["mean_score_gap"] > 0.2
    assert gap["features"][0]["feature"] == "language" and gap["features"][0]["share_of_gap"] > 0.9


def test_same_seed_same_result_and_json_ready(data):
    X, _, groups = data
    kwargs = dict(predict=_score_of_language, sample=60, background=20, seed=11)
    first, second = shap_by_group(None, X, groups, **kwargs), shap_by_group(None, X, groups, **kwargs)
    assert first == second
    text = json.dumps(first, allow_nan=False)
    assert json.loads(text) == first
    assert shap_by_group(None, X, groups, **{**kwargs, "seed": 12})["by_group"] != first["by_group"]


def test_stratified_sample_keeps_group_shares(data):
    X, _, groups = data
    res = shap_by_group(None, X, groups, predict=_score_of_language, sample=100, background=10)
    assert "stratified by nationality × gender" in res["sampling"]
    for g in res["by_group"]:
        assert abs(g["n"] - g["n_in_data"] * 100 / len(X)) < 2
    assert sum(g["n"] for g in res["by_group"] if g["attribute"] == "gender") == 100


def test_reference_groups_and_missing_labels(data):
    X, _, groups = data
    labelled = groups.assign(gender=groups["gender"].where(np.arange(len(X)) % 10 != 0))
    res = shap_by_group(None, X, labelled, predict=_score_of_language, sample=80, background=10,
                        reference_groups={"nationality": "non-EU"})
    assert _gap(res, group="NL")["reference"] == "non-EU"
    assert "(missing)" in {g["group"] for g in res["by_group"] if g["attribute"] == "gender"}
    assert {g["reference"] for g in res["gap_decomposition"] if g["attribute"] == "gender"} <= {"F", "M"}


def test_library_code_prints_nothing(data, capfd):
    X, y, groups = data
    model = sklearn_ensemble.GradientBoostingClassifier(n_estimators=5, random_state=0).fit(X, y)
    shap_by_group(model, X, groups, sample=50, background=10)
    assert capfd.readouterr() == ("", "")


def test_categorical_tree_inputs_are_explained_path_dependently(data, capfd):
    """shap's interventional TreeSHAP cannot handle categorical splits (and writes to stderr trying)."""
    X, y, groups = data
    lightgbm = pytest.importorskip("lightgbm")
    Xc = X.assign(language=pd.Categorical(np.where(X["language"] == 1, "other", "Dutch")))
    model = lightgbm.LGBMClassifier(n_estimators=10, n_jobs=1, verbose=-1).fit(Xc, y)
    res = shap_by_group(model, Xc, groups, sample=100, background=20)
    assert (res["output_scale"], res["feature_perturbation"]) == ("log-odds", "tree_path_dependent")
    assert res["additivity_max_error"] < 1e-6 and "categorical" in res["notes"][0]
    assert capfd.readouterr() == ("", "")


def test_user_errors_are_clear(data):
    X, y, groups = data
    with pytest.raises(InputDataError, match="Did you mean 'non-EU'"):
        shap_by_group(None, X, groups, predict=_score_of_language, reference_groups={"nationality": "non-eu"})
    with pytest.raises(InputDataError, match="Did you mean 'nationality'"):
        shap_by_group(None, X, groups, predict=_score_of_language, reference_groups={"nationalty": "NL"})
    with pytest.raises(InputDataError, match="groups has 10 rows but X has 400"):
        shap_by_group(None, X, groups.iloc[:10], predict=_score_of_language)
    model = LogisticRegression().fit(X, y)
    with pytest.raises(InputDataError, match="feature 'language'.*Did you mean 'langauge'"):
        shap_by_group(model, X.rename(columns={"language": "langauge"}), groups)
    with pytest.raises(InputDataError, match="pass estimator="):
        shap_by_group(None, X, groups)
    with pytest.raises(InputDataError, match="one score per row"):
        shap_by_group(None, X, groups, predict=lambda d: np.ones((len(d), 2)), sample=10, background=5)
    with pytest.raises(InputDataError, match="sample must be"):
        shap_by_group(model, X, groups, sample=0)
