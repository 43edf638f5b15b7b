"""Archetypes: the YAML file is checked with helpful messages, and scores are the model's own."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from auditkit.exceptions import InputDataError
from auditkit.explain.archetypes import archetype_defaults, load_archetypes, score_archetypes

pytest.importorskip("yaml")

PEOPLE = """\
archetypes:
  - name: "Fatima, single mother, speaks Arabic at home"
    description: Two children, part-time work.
    features: {age: 34, language: other, household: single parent, children: 2}
    groups: {gender: F, nationality: non-EU}
  - name: Anna
    features: {age: 34, language: dutch, household: single parent, children: 2}
    groups: {gender: F, nationality: NL}
  - name: Jan
    features: {language: dutch}
"""


def _write(tmp_path: Path, text: str, name: str = "people.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def model():
    """A logistic model on one numeric, one text and one count feature, inside a pipeline."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    n = 300
    X = pd.DataFrame({"age": rng.integers(18, 70, n), "language": rng.choice(["dutch", "other"], n),
                      "household": rng.choice(["single parent", "couple", "single"], n),
                      "children": rng.integers(0, 4, n)})
    y = (rng.random(n) < np.where(X["language"] == "other", 0.5, 0.15)).astype(int)
    encode = make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["language", "household"]),
                                     remainder="passthrough")
    return make_pipeline(encode, LogisticRegression(max_iter=1000)).fit(X, y), X


def test_load_reads_every_field(tmp_path):
    people = load_archetypes(_write(tmp_path, PEOPLE))
    assert [p["name"] for p in people] == ["Fatima, single mother, speaks Arabic at home", "Anna", "Jan"]
    assert people[0]["description"] == "Two children, part-time work."
    assert people[0]["groups"] == {"gender": "F", "nationality": "non-EU"}
    assert people[0]["features"]["household"] == "single parent" and people[2]["groups"] == {}


def test_scores_equal_the_model_on_the_same_rows(tmp_path, model):
    pipe, X = model
    people = load_archetypes(_write(tmp_path, PEOPLE))[:2]
    predict = lambda frame: pipe.predict_proba(frame)[:, 1]  # noqa: E731
    out = score_archetypes(people, predict, list(X.columns))
    rows = pd.DataFrame([p["features"] for p in people], columns=X.columns)
    assert [o["score"] for o in out] == pytest.approx(pipe.predict_proba(rows)[:, 1], abs=1e-12)
    assert out[0]["score"] > out[1]["score"]  # identical but for language
    assert out[0]["filled_from_defaults"] == [] and out[0]["decision"] is None and out[0]["rank"] is None
    assert json.loads(json.dumps(out, allow_nan=False)) == out


def test_defaults_fill_and_are_reported(tmp_path, model):
    pipe, X = model
    people = load_archetypes(_write(tmp_path, PEOPLE))
    defaults = archetype_defaults(X)
    out = score_archetypes(people, lambda f: pipe.predict_proba(f)[:, 1], list(X.columns), defaults=defaults)
    jan = out[2]
    assert jan["filled_from_defaults"] == ["age", "household", "children"]
    assert jan["features"] == {"age": defaults["age"], "language": "dutch", "household": defaults["household"],
                               "children": defaults["children"]}
    assert isinstance(jan["features"]["age"], int)
    with pytest.raises(InputDataError, match="Jan.*no value for 'age', 'household', 'children'.*defaults="):
        score_archetypes(people, lambda f: pipe.predict_proba(f)[:, 1], list(X.columns))


def test_decision_rank_and_percentile(tmp_path, model):
    pipe, X = model
    predict = lambda f: pipe.predict_proba(f)[:, 1]  # noqa: E731
    reference = predict(X)
    threshold = np.quantile(reference, 0.9)
    out = score_archetypes(load_archetypes(_write(tmp_path, PEOPLE))[:2], predict, list(X.columns),
                           decide=lambda s: s >= threshold, reference_scores=reference)
    for o in out:
        assert o["decision"] == bool(o["score"] >= threshold) and isinstance(o["decision"], bool)
        assert o["rank"] == 1 + int((reference > o["score"]).sum())
        assert o["percentile"] == pytest.approx(100 * (reference <= o["score"]).mean())
        assert o["reference_rows"] == len(X)


def test_misspelt_feature_gets_did_you_mean(model):
    pipe, X = model
    person = [{"name": "Fatima", "features": {"age": 34, "langauge": "other"}}]
    with pytest.raises(InputDataError, match="'Fatima' has feature 'langauge'.*Did you mean 'language'"):
        score_archetypes(person, lambda f: pipe.predict_proba(f)[:, 1], list(X.columns),
                         defaults=archetype_defaults(X))


@pytest.mark.parametrize("text, fragments", [
    ("archetypes:\n  - name: A\n    featurs: {age: 3}\n", ["archetype #1 ('A')", "'featurs'", "Did you mean 'features'"]),
    ("archetype:\n  - name: A\n    features: {age: 3}\n", ["'archetype'", "Did you mean 'archetypes'"]),
    ("archetypes:\n  - name: A\n    features: {age: 3}\n  - features: {age: 4}\n", ["archetype #2", "'name'"]),
    ("archetypes:\n  - name: A\n", ["archetype #1 ('A')", "'features'"]),
    ("archetypes:\n  - name: A\n    features: {age: [1, 2]}\n", ["'age'", "list"]),
    ("archetypes:\n  - name: A\n    features: {age: 3}\n  - name: A\n    features: {age: 4}\n", ["'A' is used twice"]),
    ("archetypes: [\n  - name: A\n", ["not valid UTF-8 YAML", "line"]),
    ("archetypes: []\n", ["non-empty list"]),
])
def test_file_errors_name_file_entry_and_key(tmp_path, text, fragments):
    path = _write(tmp_path, text)
    with pytest.raises(InputDataError) as info:
        load_archetypes(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_missing_file(tmp_path):
    with pytest.raises(InputDataError, match="does not exist"):
        load_archetypes(tmp_path / "nope.yaml")


def test_defaults_of_data():
    X = pd.DataFrame({"age": [30, 41, 50, 52], "income": [1.0, 2.0, np.nan, 4.0], "lang": ["a", "b", "b", None],
                      "empty": [None] * 4})
    assert archetype_defaults(X).to_dict() == {"age": 46, "income": 2.0, "lang": "b", "empty": None}


def test_predict_must_return_one_score_per_archetype():
    with pytest.raises(InputDataError, match="one score per row"):
        score_archetypes([{"name": "A", "features": {"x": 1}}], lambda f: np.ones(3), ["x"])
