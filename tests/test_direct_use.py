"""Direct use of a protected attribute: found in a model's inputs (by name and by the data) and flip-tested by
default, with the flip rates cross-checked by scoring both versions of every person with the model itself."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import binomtest
from sklearn.linear_model import LogisticRegression

from auditkit.assess import AssessOptions, assess
from auditkit.cli import main
from auditkit.explain.direct_use import find_direct_use
from auditkit.findings import build_findings
from auditkit.templates import load_template

THRESHOLD = 0.3
LEVELS = ["EU", "NL", "non-EU"]


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """People with sex and nationality, and four models: sex_male, one-hot nationality, a relabelled copy of
    nationality, and one that uses neither."""
    rng = np.random.default_rng(7)
    n = 1200
    sex = rng.choice(["F", "M"], n)
    nationality = rng.choice(LEVELS, n, p=[0.2, 0.6, 0.2])
    frame = pd.DataFrame({"sex": sex, "nationality": nationality, "income": rng.normal(0, 1, n).round(3),
                          "debts": rng.integers(0, 4, n)})
    frame["sex_male"] = (sex == "M").astype(int)
    frame["nationality_EU"] = (nationality == "EU").astype(int)
    frame["nationality_non-EU"] = (nationality == "non-EU").astype(int)
    frame["origin_code"] = pd.Series(nationality).map({"NL": 4, "EU": 7, "non-EU": 9}).to_numpy()
    y = rng.random(n) < 0.3
    folder = tmp_path_factory.mktemp("direct")
    frame.to_csv(folder / "people.csv", index=False)
    inputs = {"sex": ["sex_male", "income", "debts"],
              "onehot": ["nationality_EU", "nationality_non-EU", "income"],
              "copy": ["origin_code", "income", "debts"],
              "none": ["income", "debts"]}
    models = {}
    for name, cols in inputs.items():
        X = frame[cols].astype(float)
        model = LogisticRegression().fit(X, y)
        weights = {"sex_male": 1.5, "nationality_EU": 0.8, "nationality_non-EU": 1.6, "origin_code": 0.3,
                   "income": -0.4, "debts": 0.3}
        model.coef_ = np.array([[weights[c] for c in cols]])
        model.intercept_ = np.array([-2.0 if name != "copy" else -3.5])
        joblib.dump(model, folder / f"{name}.joblib")
        models[name] = (model, cols)
    return folder, frame, models


def _run(case, name, protected=("sex", "nationality"), **options):
    folder, _, _ = case
    opts = AssessOptions(shap_sample=50, **options)
    return assess(folder / f"{name}.joblib", folder / "people.csv", protected=protected, threshold=THRESHOLD,
                  options=opts).results


def _by_hand(model, cols, frame, setting: dict) -> np.ndarray:
    """Decisions of every person with the inputs in ``setting`` overwritten, scored by the sklearn model."""
    X = frame[cols].astype(float).copy()
    for col, value in setting.items():
        X[col] = float(value)
    return (model.predict_proba(X)[:, 1] >= THRESHOLD).astype(int)


def _check_against_hand(flip, model, cols, frame, settings):
    observed = _by_hand(model, cols, frame, {})
    decided = {level: _by_hand(model, cols, frame, s) for level, s in settings.items()}
    for per in flip["per_value"]:
        d = decided[per["value"]]
        assert per["selection_rate"]["value"] == pytest.approx(d.mean(), abs=1e-12)
        assert per["flips_to_selected"] == int(((d == 1) & (observed == 0)).sum())
        assert per["flips_to_not_selected"] == int(((d == 0) & (observed == 1)).sum())
    base = decided[flip["baseline"]]
    for eff in flip["direct_effect"]:
        d = decided[eff["value"]]
        assert eff["difference"] == pytest.approx(d.mean() - base.mean(), abs=1e-12)
        b, c = int(((d == 1) & (base == 0)).sum()), int(((d == 0) & (base == 1)).sum())
        assert (eff["flips_to_selected"], eff["flips_to_not_selected"]) == (b, c)
        if b + c < 25:  # exact McNemar: a binomial test on the discordant pairs
            assert eff["p_value"] == pytest.approx(binomtest(b, b + c, 0.5).pvalue, rel=1e-9)


def test_sex_male_is_found_and_flipped_like_scoring_both_versions_by_hand(case):
    """`sex_male` recodes `sex`: assess moves every person to F and to M, and the rates equal the model's own."""
    _, frame, models = case
    r = _run(case, "sex")
    direct = r["explanations"]["direct_use"]
    assert direct["status"] == "tested"
    assert [(f["attribute"], f["inputs"], f["how"]) for f in direct["found"]] == [("sex", ["sex_male"], ["recoding"])]
    assert direct["found"][0]["found_by"] == ["name", "values"]
    (flip,) = r["explanations"]["flips"]
    assert flip["attribute"] == "sex" and flip["inputs"] == ["sex_male"] and flip["values"] == ["F", "M"]
    model, cols = models["sex"]
    _check_against_hand(flip, model, cols, frame, {"F": {"sex_male": 0}, "M": {"sex_male": 1}})
    assert abs(flip["direct_effect"][0]["difference"]) > 0.1
    card = r["model_card"]
    assert {"name": "sex_male", "tag": "protected", "recodes": "sex"} in card["inputs"]
    assert "sex" not in card["protected_not_inputs"] and "nationality" in card["protected_not_inputs"]
    findings = build_findings(r, load_template("base").rules)
    (f,) = [f for f in findings if f["kind"] == "direct_use"]
    assert f["severity"] == "high" and f["evidence"] == ["flips/sex/direct_use"]
    assert "sex_male" in f["statement"]["en"] and "sex_male" in f["statement"]["nl"]
    assert f["rights"] == ["non_discrimination"] and f["recommendation"]["nl"]


def test_one_hot_nationality_columns_are_set_together(case):
    """Two dummy columns of a three-level attribute: a person moved to EU gets (1, 0), to NL (0, 0)."""
    _, frame, models = case
    r = _run(case, "onehot", protected=("nationality",))
    (found,) = r["explanations"]["direct_use"]["found"]
    assert found["how"] == ["indicator", "indicator"] and found["one_to_one"] is True
    (flip,) = r["explanations"]["flips"]
    assert flip["values"] == LEVELS and flip["baseline"] == "NL"
    model, cols = models["onehot"]
    settings = {lvl: {"nationality_EU": int(lvl == "EU"), "nationality_non-EU": int(lvl == "non-EU")} for lvl in LEVELS}
    _check_against_hand(flip, model, cols, frame, settings)
    assert flip["direct_effect"][1]["value"] == "non-EU" and flip["direct_effect"][1]["p_holm"] < 0.05


def test_a_relabelled_copy_is_found_by_its_values_alone(case):
    """`origin_code` (4/7/9) carries nationality under another name: found from the data, flipped by level."""
    _, frame, models = case
    r = _run(case, "copy", protected=("nationality",))
    (found,) = r["explanations"]["direct_use"]["found"]
    assert found["inputs"] == ["origin_code"] and found["found_by"] == ["values"]
    assert found["values"] == {"EU": {"origin_code": 7}, "NL": {"origin_code": 4}, "non-EU": {"origin_code": 9}}
    (flip,) = r["explanations"]["flips"]
    model, cols = models["copy"]
    _check_against_hand(flip, model, cols, frame, {lvl: {"origin_code": code}
                                                   for lvl, code in (("EU", 7), ("NL", 4), ("non-EU", 9))})


def test_a_model_without_protected_inputs_gets_no_flip_and_no_finding(case):
    r = _run(case, "none")
    assert r["explanations"]["direct_use"]["status"] == "none_found"
    assert r["explanations"]["flips"] == []
    assert not [f for f in build_findings(r, load_template("base").rules) if f["kind"] == "direct_use"]


def test_no_flip_turns_the_test_off_and_says_so(case, tmp_path):
    """--no-flip: no flip test, the results and the finding say it was off, the terminal too."""
    folder, _, _ = case
    out = tmp_path / "r.json"
    args = ["assess", str(folder / "sex.joblib"), "--data", str(folder / "people.csv"), "--protected", "sex",
            "--threshold", str(THRESHOLD), "--shap-sample", "50", "--json", str(out)]
    result = CliRunner().invoke(main, [*args, "--no-flip"])
    assert result.exit_code == 0, result.output
    r = json.loads(out.read_text())
    assert r["explanations"]["flips"] == [] and r["explanations"]["direct_use"]["status"] == "turned_off"
    assert "--no-flip" in r["explanations"]["direct_use"]["notes"][0]
    assert "Flip test of direct use turned off (--no-flip): the model takes sex (sex_male)" in result.output
    (f,) = [f for f in build_findings(r, load_template("base").rules) if f["kind"] == "direct_use"]
    assert f["severity"] == "medium" and "--no-flip" in f["statement"]["en"]
    on = CliRunner().invoke(main, args)
    assert on.exit_code == 0, on.output
    assert "Flip test sex (model inputs sex_male): M -> F:" in on.output
    assert "direct-use" not in on.output and "The model takes sex as input (sex_male)" in on.output


def test_detection_needs_the_values_to_agree_not_only_the_name():
    """A column named like a dummy whose values disagree with the attribute is reported, not flipped; an
    attribute with as many levels as rows (an identifier) matches nothing."""
    frame = pd.DataFrame({"sex": ["F", "M"] * 10, "id": [str(i) for i in range(20)]})
    X = pd.DataFrame({"sex_male": [0, 1] * 9 + [1, 1], "score": np.arange(20.0)})
    found, notes = find_direct_use(X, frame, ["sex", "id"])
    assert found == [] and "'sex_male' is named like 'sex'" in notes[0]
    frame.loc[3, "sex"] = "  "  # blank: missing, never a level; the other rows still agree
    found, _ = find_direct_use(X.assign(sex_male=[0, 1] * 10), frame, ["sex"])
    assert found[0].values == {"F": (0,), "M": (1,)}


def test_a_published_weight_on_a_protected_attribute_is_flip_tested(tmp_path):
    """A published table with a weight on nationality=non-EU: the model takes nationality itself; moving every
    person to each level changes the score by exactly the published weight (checked by hand on the logit)."""
    weights = ("term,weight\n(Intercept),-2.0\nage,0.01\nnationality=EU,0.5\nnationality=non-EU,1.25\n")
    (tmp_path / "w.csv").write_text(weights, encoding="utf-8")
    rng = np.random.default_rng(5)
    n = 800
    data = pd.DataFrame({"age": rng.integers(18, 80, n), "nationality": rng.choice(LEVELS, n, p=[0.2, 0.6, 0.2])})
    data.to_csv(tmp_path / "d.csv", index=False)
    r = assess(tmp_path / "w.csv", tmp_path / "d.csv", protected=("nationality",), threshold=0.2,
               options=AssessOptions(link="logistic", shap_sample=50)).results
    (found,) = r["explanations"]["direct_use"]["found"]
    assert found["inputs"] == ["nationality"] and found["how"] == ["same"]
    (flip,) = r["explanations"]["flips"]
    extra = {"EU": 0.5, "NL": 0.0, "non-EU": 1.25}
    for per in flip["per_value"]:
        p = 1 / (1 + np.exp(-(-2.0 + 0.01 * data.age + extra[per["value"]])))
        assert per["selection_rate"]["value"] == pytest.approx(float((p >= 0.2).mean()), abs=1e-12)
    findings = [f for f in build_findings(r, load_template("base").rules) if f["kind"] == "direct_use"]
    assert len(findings) == 1 and findings[0]["severity"] == "high"


def _fuzz_case(rng):
    n = int(rng.integers(4, 60))
    levels = list(rng.choice(["a", "b", " c", "D", "1", "2"], size=int(rng.integers(1, 5)), replace=False))
    attr = pd.Series(rng.choice(levels + ["", None], n), dtype=object)
    codes = {lv: v for lv, v in zip(levels, rng.permutation(10)[:len(levels)])}
    clean = attr.map(lambda v: None if v is None or not str(v).strip() else str(v).strip())
    cols = {"copy": clean.map(codes).astype(float), "noise": rng.integers(0, 3, n),
            "f": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)), "b": rng.random(n) < 0.5,
            "cat": pd.Categorical(rng.choice(["x", "y"], n))}
    for lv in levels[:2]:
        cols[f"a_{lv.strip()}"] = (clean == lv.strip()).astype(int)
    return pd.DataFrame({"a": attr}), pd.DataFrame(cols)


def test_fuzzed_frames_never_crash_and_every_claim_holds_on_the_data():
    """60 random frames (blanks, missing values, floats with NaN, bools, categoricals, copies, dummies): what
    is reported as a recoding reproduces every input of every row with a known level, and the recoder gives
    the inputs back from the attribute alone."""
    from auditkit.explain.direct_use import attribute_values, recoder

    rng = np.random.default_rng(2024)
    claims = 0
    for _ in range(60):
        frame, X = _fuzz_case(rng)
        found, _ = find_direct_use(X, frame, ["a"])
        level = attribute_values(frame, "a")
        for rec in found:
            assert rec.values, rec
            for lv, vals in rec.values.items():
                rows = (level == lv).to_numpy()
                for col, v in zip(rec.inputs, vals):
                    assert X[col][rows].isna().all() if pd.isna(v) else (X[col][rows] == v).all()
            if rec.one_to_one:
                assert len(set(map(tuple, ((str(x) for x in vals) for vals in rec.values.values())))) == len(rec.values)
            rebuilt = recoder(rec, "a")(X.assign(a=level.to_numpy()))
            known = level.notna().to_numpy()
            pd.testing.assert_frame_equal(rebuilt[list(rec.inputs)][known], X[list(rec.inputs)][known])
            claims += 1
    assert claims > 20
