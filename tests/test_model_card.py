"""Model cards: family, size and readability of each model family, and protected/proxy tagging of inputs."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from auditkit.load._model_card import model_card
from auditkit.load.model import load_model


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"age": rng.normal(40, 10, 200).astype(np.float32),
                      "postcode_area": rng.integers(1000, 9999, 200).astype(np.float32),
                      "Nationality": rng.choice(["NL", "MA", "TR"], 200)})
    y = ((X["age"] > 40) ^ (X["Nationality"] == "MA")).astype(int).to_numpy()
    return X, y


def card_of(tmp_path, estimator, **tags) -> dict:
    """Save, load through auditkit, and describe: the card is built from what the file holds."""
    path = tmp_path / "model.pkl"
    with open(path, "wb") as fh:
        pickle.dump(estimator, fh, protocol=5)
    return model_card(load_model(path), **tags)


NUM = ["age", "postcode_area"]


def test_logistic_regression_weights_by_name(tmp_path, data):
    """A logistic regression is readable as weights, with one coefficient per named input."""
    X, y = data
    est = LogisticRegression().fit(X[NUM], y)
    card = card_of(tmp_path, est)
    assert (card["family"], card["readable"], card["n_inputs"]) == ("logistic regression", "weights", 2)
    assert card["coefficients"]["weights"] == pytest.approx(dict(zip(NUM, est.coef_[0])))
    assert card["coefficients"]["intercept"] == pytest.approx(est.intercept_[0])
    assert card["complexity"] == {"coefficients": 2, "intercepts": 1}
    assert card["class"] == "sklearn.linear_model._logistic.LogisticRegression" and len(card["sha256"]) == 64


def test_multiclass_coefficients_per_class(tmp_path, data):
    """A multiclass linear model gives a weight table per class."""
    X, _ = data
    card = card_of(tmp_path, LogisticRegression().fit(X[NUM], X["Nationality"]))
    assert sorted(card["coefficients"]["weights"]) == ["MA", "NL", "TR"]


def test_gradient_boosting_is_opaque(tmp_path, data):
    """Five boosted trees: counted, depth and leaves given, and called opaque with the reason."""
    X, y = data
    est = GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0).fit(X[NUM], y)
    card = card_of(tmp_path, est)
    assert card["family"] == "gradient boosting (trees)" and card["readable"] == "opaque"
    assert card["complexity"]["trees"] == 5 and card["complexity"]["max_depth"] == 2
    assert card["complexity"]["leaves"] == sum(t.get_n_leaves() for t in est.estimators_.ravel())
    assert "5 trees" in card["readable_reason"]


def test_random_forest_and_hist_gradient_boosting(tmp_path, data):
    """Forests and histogram boosting are counted as tree ensembles."""
    X, y = data
    forest = card_of(tmp_path, RandomForestClassifier(n_estimators=3, max_depth=3, n_jobs=1, random_state=0)
                     .fit(X[NUM], y))
    assert (forest["family"], forest["complexity"]["trees"]) == ("random forest", 3)
    hist = card_of(tmp_path, HistGradientBoostingClassifier(max_iter=4, max_depth=3).fit(X[NUM], y))
    assert (hist["family"], hist["complexity"]["trees"], hist["readable"]) == ("gradient boosting (trees)", 4, "opaque")
    assert hist["complexity"]["max_depth"] <= 3


def test_single_tree_rules_or_opaque(tmp_path, data):
    """A shallow single tree is readable as rules; a deep one is not."""
    X, y = data
    shallow = card_of(tmp_path, DecisionTreeClassifier(max_depth=3, random_state=0).fit(X[NUM], y))
    assert (shallow["family"], shallow["readable"]) == ("decision tree", "rules")
    deep = card_of(tmp_path, DecisionTreeClassifier(random_state=0).fit(X[NUM], y))
    assert deep["readable"] == "opaque" and deep["complexity"]["max_depth"] > 4


def test_pipeline_family_and_tags(tmp_path, data):
    """A pipeline is named by its steps; inputs are tagged protected/proxy case-insensitively, and protected
    attributes the model does not take are listed."""
    X, y = data
    pipe = Pipeline([("prep", ColumnTransformer([("cat", OneHotEncoder(), ["Nationality"]),
                                                 ("num", StandardScaler(), NUM)])),
                     ("clf", LogisticRegression())]).fit(X, y)
    card = card_of(tmp_path, pipe, protected=["nationality", "gender"], proxies=["POSTCODE_AREA"])
    assert card["family"] == "pipeline: ColumnTransformer(OneHotEncoder, StandardScaler) → LogisticRegression"
    assert {i["name"]: i["tag"] for i in card["inputs"]} == {"age": "other", "postcode_area": "proxy",
                                                              "Nationality": "protected"}
    assert card["protected_not_inputs"] == ["gender"] and card["proxies_not_inputs"] == []
    assert card["readable"] == "weights" and "cat__Nationality_MA" in card["coefficients"]["weights"]


def test_boosting_libraries(tmp_path, data):
    """XGBoost and LightGBM models, wrapped or native, report their trees."""
    import lightgbm
    import xgboost

    X, y = data
    xgb = xgboost.XGBClassifier(n_estimators=3, max_depth=2, n_jobs=1).fit(X[NUM], y)
    wrapped = card_of(tmp_path, xgb)["complexity"]
    assert (wrapped["trees"], wrapped["max_depth"]) == (3, 2) and 2 <= wrapped["leaves"] <= 12
    xgb.save_model(tmp_path / "m.json")
    native = model_card(load_model(tmp_path / "m.json"))
    assert (native["family"], native["complexity"]["trees"], native["format"]) == ("gradient boosting (trees)", 3,
                                                                                   "xgboost")
    lgb = lightgbm.LGBMClassifier(n_estimators=3, num_leaves=4, n_jobs=1, verbose=-1).fit(X[NUM], y)
    lgb.booster_.save_model(tmp_path / "m.txt")
    for card in (card_of(tmp_path, lgb), model_card(load_model(tmp_path / "m.txt"))):
        assert card["complexity"]["trees"] == 3 and card["complexity"]["leaves"] <= 12


def test_neural_network_and_onnx(tmp_path, data):
    """An MLP counts its weights; its ONNX export is a neural network graph with a node count."""
    from skl2onnx import to_onnx

    X, y = data
    mlp = MLPClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=0)
    with pytest.warns(Warning):  # too few iterations to converge: fine for a fixture
        mlp.fit(X[NUM].to_numpy() / 1000, y)
    card = card_of(tmp_path, mlp)
    assert card["family"].startswith("neural network") and card["complexity"]["parameters"] == 2 * 4 + 4 + 4 + 1
    assert card["input_names_recorded"] is False and [i["name"] for i in card["inputs"]] == ["x0", "x1"]
    (tmp_path / "m.onnx").write_bytes(to_onnx(mlp, X[NUM].to_numpy()[:1] / 1000,
                                              options={"zipmap": False}).SerializeToString())
    onnx_card = model_card(load_model(tmp_path / "m.onnx"))
    assert onnx_card["family"] == "neural network (ONNX graph)" and onnx_card["complexity"]["nodes"] > 2
    assert onnx_card["readable"] == "opaque" and onnx_card["class"] == "ONNX graph"


def test_card_does_no_io(tmp_path, data):
    """The card is a pure function of the loaded model: it works after the file is gone."""
    X, y = data
    path = tmp_path / "model.pkl"
    with open(path, "wb") as fh:
        pickle.dump(LogisticRegression().fit(X[NUM], y), fh)
    model = load_model(path)
    path.unlink()
    assert model_card(model)["file"] == "model.pkl"


def test_learning_reads_online_batch_and_unknown():
    """The model card says online only with evidence in the file; a search that refits itself is batch."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.model_selection import GridSearchCV

    from auditkit.load._learning import learning_of

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(120, 2)), np.arange(120) % 2
    online = SGDClassifier(random_state=0)
    online.partial_fit(X, y, classes=[0, 1])
    assert learning_of(online)["model"] == "online"
    assert learning_of(SGDClassifier(random_state=0, warm_start=True).fit(X, y))["model"] == "online"
    assert learning_of(SGDClassifier(random_state=0).fit(X, y))["model"] == "unknown"
    assert learning_of(GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=3).fit(X, y))["model"] == "batch"
    plain = learning_of(LogisticRegression().fit(X, y))
    assert plain["model"] == "unknown" and "system.retraining" in plain["evidence"][-1]
