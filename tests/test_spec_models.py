"""Published specifications (weights tables, scorecards, rule lists) score exactly as the model they describe."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from auditkit.cli import main
from auditkit.exceptions import InputDataError
from auditkit.explain.shap_groups import shap_by_group
from auditkit.load._model_card import model_card
from auditkit.load.model import inspect_model, load_model, model_predict

WELFARE = Path(__file__).resolve().parents[1] / "datasets" / "welfare"


def _frame(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"age": rng.integers(18, 70, n).astype(float), "income": rng.normal(1200, 300, n),
                         "nationality": rng.choice(["Dutch", "EU", "non-EU"], n, p=[0.7, 0.15, 0.15]),
                         "household": rng.choice(["single", "couple", "single parent"], n)})


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _weights_csv(tmp_path: Path, intercept: float, names: list[str], weights: np.ndarray) -> Path:
    rows = ["term,weight", f"(Intercept),{intercept!r}"]
    rows += [f"{name},{float(w)!r}" for name, w in zip(names, weights)]
    return _write(tmp_path, "weights.csv", "\n".join(rows) + "\n")


def test_logistic_spec_equals_fitted_sklearn_model(tmp_path: Path) -> None:
    """A CSV of a fitted LogisticRegression's weights (one-hot levels, reference omitted) gives its probabilities."""
    from sklearn.linear_model import LogisticRegression

    df = _frame()
    X = pd.get_dummies(df[["age", "income", "nationality"]], columns=["nationality"], dtype=float)
    X = X.drop(columns=["nationality_Dutch"])
    y = (np.random.default_rng(0).random(len(df)) < 0.3).astype(int)
    fitted = LogisticRegression(max_iter=2000).fit(X, y)
    names = [c.replace("nationality_", "nationality=") for c in X.columns]
    path = _weights_csv(tmp_path, float(fitted.intercept_[0]), names, fitted.coef_[0])
    model = load_model(path, link="logistic")
    scores, method = model_predict(model, df)
    assert method == "predict_proba[:, 1]"
    np.testing.assert_allclose(scores, fitted.predict_proba(X)[:, 1], rtol=0, atol=1e-14)


def test_identity_spec_equals_linear_regression(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    df = _frame()
    X = df[["age", "income"]]
    fitted = LinearRegression().fit(X, 0.01 * df["age"] - 0.002 * df["income"])
    path = _weights_csv(tmp_path, float(fitted.intercept_), ["age", "income"], fitted.coef_)
    scores, method = model_predict(load_model(path, link="identity"), df)
    assert method == "predict"
    np.testing.assert_allclose(scores, fitted.predict(X), rtol=0, atol=1e-12)


def test_shipped_weights_table_rebuilds_the_shipped_model() -> None:
    """datasets/welfare/published-weights.csv is model.skops as an agency would publish it: same scores."""
    data = pd.read_csv(WELFARE / "decisions.csv")
    spec_scores, _ = model_predict(load_model(WELFARE / "published-weights.csv", link="logistic"), data)
    file_scores, _ = model_predict(load_model(WELFARE / "model.skops"), data)
    np.testing.assert_allclose(spec_scores, file_scores, rtol=0, atol=1e-14)


def test_yaml_linear_caps_logs_bands_and_blanks(tmp_path: Path) -> None:
    """Every transformation is computed as written: checked against a hand computation row by row."""
    path = _write(tmp_path, "spec.yaml", """
kind: linear
link: identity
intercept: 1.5
terms:
  - {variable: income, weight: 0.5, transform: log1p, cap: [0, 5000]}
  - {variable: age, weight: 2.0, cap: [null, 60], missing: -1.0}
  - variable: months
    bands:
      - {from: null, to: 12, weight: 0}
      - {from: 12, to: 24, weight: 0.25}
      - {from: 24, to: null, weight: 1}
  - variable: household
    levels: {single: 0.75, single parent: 1.25}
    reference: couple
""")
    df = pd.DataFrame({"income": [100.0, 9000.0, 0.0, 2500.0], "age": [30.0, 75.0, np.nan, 60.0],
                       "months": [0.0, 12.0, 23.9, 200.0], "household": ["single", "couple", "single parent", "couple"]})
    scores, _ = model_predict(load_model(path), df)
    expected = []
    for income, age, months, household in df.itertuples(index=False):
        s = 1.5 + 0.5 * math.log1p(min(max(income, 0), 5000))
        s += -1.0 if math.isnan(age) else 2.0 * min(age, 60)
        s += 0 if months < 12 else 0.25 if months < 24 else 1
        s += {"single": 0.75, "single parent": 1.25, "couple": 0.0}[household]
        expected.append(s)
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-12)


def test_scorecard_points_and_cutoff(tmp_path: Path) -> None:
    """Points add up per band and level; --model-decision flags cases at or above the cut-off."""
    data = pd.read_csv(WELFARE / "decisions.csv")
    model = load_model(WELFARE / "scorecard.yaml")
    points, _ = model_predict(model, data)
    age = np.select([data.age < 27, data.age < 46], [3, 1], 0)
    months = np.select([data.months_on_benefit < 24, data.months_on_benefit < 72], [0, 2], 4)
    language = np.where(data.language == "other", 3, 0)
    household = data.household.map({"single": 1, "single parent": 2, "couple with children": 0, "couple": 0})
    np.testing.assert_array_equal(points, age + months + language + household)
    from auditkit.assess import AssessOptions, assess

    result = assess(WELFARE / "scorecard.yaml", data, options=AssessOptions(model_decision=True, explain=False),
                    protected=("nationality",))
    assert result.results["design"]["selected"] == int((points >= 8).sum())


def test_rule_list_first_match_decides(tmp_path: Path) -> None:
    path = _write(tmp_path, "rules.yaml", """
kind: rules
default: flag
rules:
  - name: old
    if: [{column: age, op: ">=", value: 60}]
    then: no flag
  - name: single parent
    if: {column: household, op: in, value: [single parent]}
    then: flag
  - name: no income
    if: [{column: income, op: missing}]
    then: no flag
""")
    df = pd.DataFrame({"age": [65.0, 30.0, 30.0, 30.0], "household": ["single parent", "single parent", "single", "couple"],
                       "income": [1.0, np.nan, np.nan, 5.0]})
    model = load_model(path)
    scores, _ = model_predict(model, df)
    np.testing.assert_array_equal(scores, [0.0, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(model.estimator.rule_of(df), [0, 1, 2, -1])


def test_linear_spec_explanations_are_exact(tmp_path: Path) -> None:
    """For a weighted sum, each variable's part of a group's score gap is its weight × the gap in its mean."""
    df = _frame(600)
    path = _write(tmp_path, "spec.yaml", """
kind: linear
link: identity
intercept: 0
terms:
  - {variable: age, weight: 0.03}
  - {variable: income, weight: -0.001}
  - variable: household
    levels: {single: 0.4, single parent: 0.9}
    reference: couple
""")
    model = load_model(path)
    X = df[["age", "income", "household"]]
    res = shap_by_group(model.estimator, X, df[["nationality"]], sample=None, background=100,
                        reference_groups={"nationality": "Dutch"})
    assert res["explainer"] == "LinearExplainer"
    dutch = df.nationality == "Dutch"
    for gap in res["gap_decomposition"]:
        group = df.nationality == gap["group"]
        want = {"age": 0.03 * (df.age[group].mean() - df.age[dutch].mean()),
                "income": -0.001 * (df.income[group].mean() - df.income[dutch].mean()),
                "household": sum(w * ((df.household[group] == lv).mean() - (df.household[dutch] == lv).mean())
                                 for lv, w in (("single", 0.4), ("single parent", 0.9)))}
        got = {f["feature"]: f["contribution"] for f in gap["features"]}
        assert got == pytest.approx(want, abs=1e-12)


def test_model_card_reads_the_specification() -> None:
    card = model_card(load_model(WELFARE / "scorecard.yaml"), protected=["language"])
    assert card["family"] == "published specification: points scorecard"
    assert card["readable"] == "weights"
    assert card["coefficients"]["cutoff"] == 8
    assert [i["tag"] for i in card["inputs"] if i["name"] == "language"] == ["protected"]
    rules = model_card(load_model(WELFARE / "risk-rules.yaml"))
    assert rules["readable"] == "rules" and len(rules["coefficients"]["rules"]) == 3


@pytest.mark.parametrize(("name", "text", "message"), [
    ("w.csv", "term,weight\n(Intercept),1\nage,x\n", "line 3 (term 'age'): the weight must be a number"),
    ("w.csv", "term,weight\nage,1\nage,2\n", "'age' is listed twice"),
    ("w.csv", "variable,coef\nage,1\n", "must have the columns 'term' and 'weight'"),
    ("w.csv", "term,weight\nage,inf\n", "finite number"),
    ("w.csv", "term,weight\n\"a\rge\",1\n", None),  # a quoted carriage return: read, the term is 'a\rge'
    ("w.csv", "term,weight\nage,1\rx\n", "the weight must be a number|not a readable CSV"),
    ("s.yaml", "kind: scorecard\nterms:\n  - variable: age\n    bands:\n      - {from: 0, to: 30, points: 1}\n"
               "      - {from: 25, to: null, points: 2}\n", "overlap"),
    ("s.yaml", "kind: scorecard\nterms:\n  - variable: age\n    bands:\n      - {from: 0, to: 30, points: 1}\n"
               "      - {from: 40, to: null, points: 2}\n", "leave a gap: values from 30 up to 40"),
    ("s.yaml", "kind: scorcard\n", "Did you mean 'scorecard'"),
    ("s.yaml", "kind: linear\nlink: identity\nterms:\n  - {variable: age, weigth: 1}\n", "unknown key 'weigth'"),
    ("s.yaml", "kind: linear\nlink: identity\nterms:\n  - &a {variable: age, weight: 1}\n  - *a\n", "anchors and aliases"),
    ("s.yaml", "kind: rules\nrules:\n  - if: [{column: age, op: '=>', value: 3}]\n    then: flag\n", "'op' must be one of"),
    ("s.yaml", "kind: linear\nterms:\n  - {variable: age, weight: 1}\n", "'link' must be one of"),
    ("s.yaml", "[1, 2]\n", "must be a YAML mapping"),
])
def test_bad_specifications_are_named(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = _write(tmp_path, name, text)
    if message is None:
        load_model(path, link="identity")
        return
    with pytest.raises(InputDataError, match=message if "|" in message else message.replace("(", r"\(").replace(")", r"\)")):
        load_model(path, link="identity" if name.endswith(".csv") else None)


def test_csv_needs_a_link(tmp_path: Path) -> None:
    path = _write(tmp_path, "w.csv", "term,weight\nage,1\n")
    with pytest.raises(InputDataError, match="--link logistic"):
        load_model(path)
    with pytest.raises(InputDataError, match="contradicts"):
        load_model(_write(tmp_path, "l.yaml", "kind: logistic\nterms:\n  - {variable: age, weight: 1}\n"),
                   link="identity")


@pytest.mark.parametrize(("frame", "message"), [
    (pd.DataFrame({"age": [1.0], "nationality": ["Dutch"]}), "holds level"),  # two unlisted levels over batches
    (pd.DataFrame({"age": ["12", "x"], "nationality": ["EU", "EU"]}), "not numbers, e.g. 'x'"),
    (pd.DataFrame({"age": [np.nan], "nationality": ["EU"]}), "gives no weight for a blank age"),
])
def test_data_the_specification_does_not_cover(tmp_path: Path, frame: pd.DataFrame, message: str) -> None:
    path = _write(tmp_path, "w.csv", "term,weight\nage,1\nnationality=EU,2\n")
    model = load_model(path, link="identity")
    if message == "holds level":
        model_predict(model, pd.DataFrame({"age": [1.0, 2.0], "nationality": ["EU", "non-EU"]}))
        with pytest.raises(InputDataError, match="'Dutch', 'non-EU'"):
            model_predict(model, frame)
        return
    with pytest.raises(InputDataError, match=message):
        model_predict(model, frame)


def test_misspelt_level_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.yaml", "kind: linear\nlink: identity\nterms:\n  - variable: nationality\n"
                                      "    levels: {non-EU: 1}\n    reference: Dutch\n")
    with pytest.raises(InputDataError, match="Did you mean 'non-EU'"):
        model_predict(load_model(path), pd.DataFrame({"nationality": ["Dutch", "non_EU"]}))


def test_value_outside_every_band(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.yaml", "kind: scorecard\nterms:\n  - variable: age\n    bands:\n"
                                      "      - {from: 18, to: 67, points: 1}\n")
    with pytest.raises(InputDataError, match=r"fall in no band .* e\.g\. 70"):
        model_predict(load_model(path), pd.DataFrame({"age": [20.0, 70.0]}))


def test_link_on_a_model_file_is_refused() -> None:
    with pytest.raises(InputDataError, match="Drop --link"):
        load_model(WELFARE / "model.skops", link="logistic")


def test_cli_assess_and_inspect_a_specification(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "bundle"
    res = runner.invoke(main, ["assess", str(WELFARE / "published-weights.csv"), "--link", "logistic",
                               "--data", str(WELFARE / "decisions.csv"), "--protected", "nationality", "--top", "10",
                               "--shap-sample", "300", "--json", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    results = json.loads((tmp_path / "r.json").read_text())
    assert results["model_card"]["family"] == "published specification: logistic regression"
    ratio = next(c for c in results["comparisons"] if c["group"] == "non-EU")["ratio"]
    assert round(ratio, 2) == 4.55  # the model file's figure (README)
    res = runner.invoke(main, ["assess", str(WELFARE / "published-weights.csv"), "--data",
                               str(WELFARE / "decisions.csv"), "--protected", "nationality", "--top", "10"])
    assert res.exit_code == 1 and "--link logistic" in res.output and "Traceback" not in res.output
    info = inspect_model(WELFARE / "risk-rules.yaml")
    assert info["verdict"] == "allowed" and "household" in info["inputs"]
    assert not out.exists()


def test_mutated_specifications_end_in_a_clear_error_or_a_score(tmp_path: Path) -> None:
    """Seeded byte and line mutations of the shipped specifications: every one is read and scored, or
    refused with an auditkit error; never another exception."""
    from auditkit.exceptions import AuditkitError

    data = pd.read_csv(WELFARE / "decisions.csv", nrows=300)
    rng = np.random.default_rng(20261207)
    sources = [(WELFARE / name).read_bytes() for name in ("published-weights.csv", "scorecard.yaml", "risk-rules.yaml")]
    suffixes = [".csv", ".yaml", ".yaml"]
    outcomes = {"scored": 0, "refused": 0}
    for i in range(150):
        k = int(rng.integers(len(sources)))
        raw = bytearray(sources[k])
        for _ in range(int(rng.integers(1, 4))):
            how = rng.integers(4)
            at = int(rng.integers(len(raw)))
            if how == 0:
                raw[at] = int(rng.integers(256))
            elif how == 1:
                del raw[at:at + int(rng.integers(1, 20))]
            elif how == 2:
                raw[at:at] = bytes(rng.choice(list(b"-:{}[]&*!|>0.9e\n ,=#'\""), int(rng.integers(1, 6))))
            else:
                lines = raw.split(b"\n")
                j = int(rng.integers(len(lines)))
                lines.insert(j, lines[int(rng.integers(len(lines)))])
                raw = bytearray(b"\n".join(lines))
        path = tmp_path / f"m{i}{suffixes[k]}"
        path.write_bytes(bytes(raw))
        try:
            model = load_model(path, link="logistic" if suffixes[k] == ".csv" else None)
            scores, _ = model_predict(model, data)
            assert scores.shape == (len(data),)
            outcomes["scored"] += 1
        except AuditkitError:
            outcomes["refused"] += 1
    assert outcomes["scored"] > 0 and outcomes["refused"] > 0
