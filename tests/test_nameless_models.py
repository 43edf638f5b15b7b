"""Models that record no input names: --features, or the data's columns when their number matches (issue 11).

Scores are checked against the estimator itself (scikit-learn fed the columns in the stated order),
the independent implementation of what the model computes.
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import assert_user_error, run_cli
from sklearn.linear_model import LogisticRegression

from auditkit.load._features import read_features


@pytest.fixture()
def people(tmp_path):
    rng = np.random.default_rng(11)
    n = 240
    df = pd.DataFrame({"case_id": np.arange(n), "age": rng.integers(18, 80, n).astype(float),
                       "income": rng.normal(30, 10, n).round(1), "nationality": rng.choice(["NL", "MA", "TR"], n),
                       "fraud": rng.integers(0, 2, n)})
    df.to_csv(tmp_path / "people.csv", index=False)
    est = LogisticRegression().fit(df[["age", "income"]].to_numpy(), df["fraud"])
    with open(tmp_path / "nameless.pkl", "wb") as fh:
        pickle.dump(est, fh)
    return df, est


def _selected_by_group(df: pd.DataFrame, scores: np.ndarray, top: float) -> dict[str, int]:
    """Hand computation of the top-k selection: k = ceil(top% of rows), ties in file order."""
    k = int(np.ceil(len(df) * top / 100))
    order = np.argsort(-scores, kind="stable")[:k]
    return df.iloc[order]["nationality"].value_counts().to_dict()


def _run(tmp_path, model, *extra):
    result = run_cli("assess", model, "--data", tmp_path / "people.csv", "--protected", "nationality", "--truth",
                     "fraud", "--top", "20", "--no-explain", "--min-group-size", "1", "--json", "-", "--quiet",
                     *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _selected(results: dict) -> dict[str, int]:
    return {g["group"]: g["selected"] for g in results["groups"] if g["attribute"] == "nationality"
            and g["selected"]}


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_a_pickle_fitted_on_an_array_gets_the_remaining_columns_with_a_note(tmp_path, people, engine):
    """case_id (an id), nationality (protected) and fraud (outcome) are left out; age, income remain: 2 = 2."""
    df, est = people
    r = _run(tmp_path, tmp_path / "nameless.pkl", "--engine", engine)
    assert any("in the file's order: 'age', 'income'" in n for n in r["scoring"]["notes"])
    expected = _selected_by_group(df, est.predict_proba(df[["age", "income"]].to_numpy())[:, 1], 20)
    assert _selected(r) == expected


def test_features_give_the_order(tmp_path, people):
    """--features income,age feeds the columns in that order (a different model than age,income)."""
    df, _ = people
    swapped = LogisticRegression().fit(df[["income", "age"]].to_numpy(), df["fraud"])
    with open(tmp_path / "swapped.pkl", "wb") as fh:
        pickle.dump(swapped, fh)
    r = _run(tmp_path, tmp_path / "swapped.pkl", "--features", "income,age")
    expected = _selected_by_group(df, swapped.predict_proba(df[["income", "age"]].to_numpy())[:, 1], 20)
    assert _selected(r) == expected
    assert any("--features gave them" in n for n in r["scoring"]["notes"])


def test_a_count_that_does_not_match_is_an_error_with_the_candidates(tmp_path, people):
    """Without --truth, 'fraud' is a candidate too: 3 candidates for 2 inputs is refused, not guessed."""
    result = run_cli("assess", tmp_path / "nameless.pkl", "--data", tmp_path / "people.csv", "--protected",
                     "nationality", "--top", "20", "--no-explain", "--quiet")
    assert_user_error(result, 1, "nameless.pkl", "takes 2 inputs", "'age', 'income', 'fraud'", "--features")


def test_features_naming_a_missing_column_or_the_wrong_count(tmp_path, people):
    base = ("assess", tmp_path / "nameless.pkl", "--data", tmp_path / "people.csv", "--protected", "nationality",
            "--top", "20", "--no-explain", "--quiet")
    assert_user_error(run_cli(*base, "--features", "age,incom"), 1, "'incom'", "Did you mean 'income'?")
    assert_user_error(run_cli(*base, "--features", "age"), 1, "takes 2 inputs", "names 1")


def test_an_onnx_file_with_one_input_tensor(tmp_path, people):
    """skl2onnx's default export (one float tensor input) scores like the estimator it came from."""
    skl2onnx = pytest.importorskip("skl2onnx")
    df, est = people
    onx = skl2onnx.to_onnx(est, df[["age", "income"]].to_numpy().astype(np.float32)[:1],
                           options={id(est): {"zipmap": False}})
    (tmp_path / "m.onnx").write_bytes(onx.SerializeToString())
    r = _run(tmp_path, tmp_path / "m.onnx")
    assert any("'age', 'income'" in n for n in r["scoring"]["notes"])
    scores = est.predict_proba(df[["age", "income"]].to_numpy().astype(np.float32))[:, 1]
    assert _selected(r) == _selected_by_group(df, scores, 20)


def test_a_skops_file_fitted_on_an_array(tmp_path, people):
    skops_io = pytest.importorskip("skops.io")
    df, est = people
    skops_io.dump(est, tmp_path / "m.skops")
    r = _run(tmp_path, tmp_path / "m.skops", "--features", "age,income")
    assert _selected(r) == _selected_by_group(df, est.predict_proba(df[["age", "income"]].to_numpy())[:, 1], 20)


def test_features_files(tmp_path):
    (tmp_path / "f.yaml").write_text("features: [age, income]\n")
    (tmp_path / "g.yml").write_text("- age\n- income\n")
    (tmp_path / "f.csv").write_text("age,income\n")
    (tmp_path / "lines.txt").write_text("age\nincome\n")
    for name in ("f.yaml", "g.yml", "f.csv", "lines.txt"):
        assert read_features(str(tmp_path / name)) == ("age", "income")
    with pytest.raises(Exception, match="more than once"):
        read_features("age,age")
