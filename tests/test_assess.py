"""`auditkit assess` and `auditkit inspect`: a model scored, measured and explained end to end."""

from __future__ import annotations

import json
import os
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.linear_model import LogisticRegression

import auditkit
from auditkit.assess import SCORE_COLUMN, AssessOptions, assess
from auditkit.cli import main


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """A logistic model that uses nationality directly and language as a proxy."""
    rng = np.random.default_rng(1)
    n = 1500
    nationality = rng.choice(["NL", "other"], n, p=[0.7, 0.3])
    language = np.where(rng.random(n) < np.where(nationality == "NL", 0.1, 0.8), 1, 0)
    income = rng.normal(0, 1, n).round(3)
    gender = rng.choice(["F", "M"], n)
    X = pd.DataFrame({"is_dutch": (nationality == "NL").astype(int), "language_other": language, "income": income})
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.5 - 1.0 * X.is_dutch + 1.2 * language - 0.5 * income)))).astype(int)
    model = LogisticRegression().fit(X, y)
    folder = tmp_path_factory.mktemp("assess")
    data = X.assign(nationality=nationality, gender=gender, nationality_code=X.is_dutch)
    data.to_csv(folder / "applicants.csv", index=False)
    joblib.dump(model, folder / "model.joblib")
    return folder, model, data


def test_assess_scores_with_the_model_and_measures_like_audit(case):
    """Selection by the model's top 10% equals auditkit.audit on the model's own scores."""
    folder, model, data = case
    r = assess(folder / "model.joblib", folder / "applicants.csv", protected=("nationality", "gender"), top=10,
               options=AssessOptions(explain=False))
    scores = model.predict_proba(data[["is_dutch", "language_other", "income"]])[:, 1]
    expected = auditkit.audit(data.assign(**{SCORE_COLUMN: scores}), protected=("nationality", "gender"),
                              score=SCORE_COLUMN, top=10)
    assert r.results["groups"] == expected.results["groups"]
    assert r.results["comparisons"] == expected.results["comparisons"]
    assert r.results["input"]["source"] == "applicants.csv"
    model_rec = r.results["input"]["model"]
    assert model_rec["scoring_method"] == "predict_proba[:, 1]" and len(model_rec["sha256"]) == 64
    assert r.results["model_card"]["readable"] == "weights"


def test_assess_cli_writes_explanations(case, tmp_path):
    """The CLI runs SHAP, proxies and flip tests and writes them into the results JSON."""
    folder, _, _ = case
    out = tmp_path / "r.json"
    result = CliRunner().invoke(main, ["assess", str(folder / "model.joblib"), "--data", str(folder / "applicants.csv"),
                                       "--protected", "nationality", "--top", "10", "--flip", "is_dutch",
                                       "--shap-sample", "300", "--json", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    r = json.loads(out.read_text())
    e = r["explanations"]
    assert e["shap"]["overall"][0]["feature"] in {"is_dutch", "language_other"}
    assert any(p["feature"] == "is_dutch" and p["strong"] for p in e["proxies"])
    # is_dutch recodes nationality (NL/other): it is flip-tested as direct use of nationality, once, although
    # --flip names it too
    (flip,) = e["flips"]
    assert flip["attribute"] == "nationality" and flip["inputs"] == ["is_dutch"]
    assert flip["direct_effect"][0]["difference"] != 0


def test_model_decision_uses_the_models_prediction(case):
    """--model-decision selects exactly the rows model.predict() selects."""
    folder, model, data = case
    r = assess(folder / "model.joblib", folder / "applicants.csv", protected=("nationality",),
               options=AssessOptions(explain=False, model_decision=True))
    assert r.results["design"]["selected"] == int(model.predict(data[["is_dutch", "language_other", "income"]]).sum())


def test_assess_refuses_a_dangerous_pickle_and_runs_nothing(case, tmp_path):
    """A pickle that would run a shell command is refused with exit 1, and the command never runs."""
    folder, _, _ = case
    marker = tmp_path / "MARKER"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "model.pkl"
    evil.write_bytes(pickle.dumps(Evil()))
    result = CliRunner().invoke(main, ["assess", str(evil), "--data", str(folder / "applicants.csv"),
                                       "--protected", "nationality", "--top", "10"])
    assert result.exit_code == 1
    assert "system" in result.output and "Traceback" not in result.output
    assert not marker.exists()
    inspected = CliRunner().invoke(main, ["inspect", str(evil)])
    assert inspected.exit_code == 1 and "refused" in inspected.output and not marker.exists()


def test_assess_options_are_checked_before_the_model_is_opened(case):
    """Without a decision rule assess stops with a usage error (exit 2) naming the options."""
    folder, _, _ = case
    result = CliRunner().invoke(main, ["assess", str(folder / "model.joblib"), "--data",
                                       str(folder / "applicants.csv"), "--protected", "nationality"])
    assert result.exit_code == 2 and "--top" in result.output


def test_inspect_lists_imports_without_loading(case):
    """inspect prints the format, each import and the verdict; --json - gives the same as JSON."""
    folder, _, _ = case
    result = CliRunner().invoke(main, ["inspect", str(folder / "model.joblib")])
    assert result.exit_code == 0 and "LogisticRegression" in result.output and "allowed" in result.output
    doc = json.loads(CliRunner().invoke(main, ["inspect", str(folder / "model.joblib"), "--json", "-"]).output)
    assert doc["verdict"] == "allowed"


def test_assess_bundle_verifies_by_rerunning_the_model(case, tmp_path):
    """assess --out writes a bundle that `verify --data --model` re-runs figure for figure."""
    folder, _, _ = case
    out = tmp_path / "bundle"
    args = ["assess", str(folder / "model.joblib"), "--data", str(folder / "applicants.csv"), "--protected",
            "nationality", "--top", "10", "--shap-sample", "200", "--out", str(out), "--quiet"]
    assert CliRunner().invoke(main, args).exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert [i["role"] for i in manifest["inputs"]] == ["data", "model"]
    result = CliRunner().invoke(main, ["verify", str(out), "--data", str(folder / "applicants.csv"),
                                       "--model", str(folder / "model.joblib")])
    assert result.exit_code == 0, result.output
    assert "every figure is the same" in result.output
