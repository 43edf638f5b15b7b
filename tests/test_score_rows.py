"""Score behaviour (calibration, ROC, threshold sweep) is measured on every audited row with an outcome value,
not on the explained sample, with every engine; above SCORE_ROWS on a stated seeded sample; intersections too."""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from auditkit import _assess_outcomes
from auditkit.assess import AssessOptions, assess, sample_keys, smallest

N = 2400


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    rng = np.random.default_rng(11)
    data = pd.DataFrame({"x": rng.normal(0, 1, N).round(3), "sex": rng.choice(["F", "M"], N),
                         "region": rng.choice(["north", "south", "east"], N, p=[0.5, 0.45, 0.05])})
    y = (rng.random(N) < 1 / (1 + np.exp(-(data.x - 1)))).astype(int)
    data["outcome"] = np.where(rng.random(N) < 0.2, "", np.where(y == 1, "yes", "no"))  # a fifth unknown
    data["how"] = np.where(rng.random(N) < 0.5, "random", "model")  # outcomes usable in the random half only
    model = LogisticRegression().fit(data[["x"]], y)
    folder = tmp_path_factory.mktemp("rows")
    data.to_parquet(folder / "d.parquet", index=False, row_group_size=500)
    joblib.dump(model, folder / "m.joblib")
    return folder, data, model


def _run(case, engine, **options):
    folder, _, _ = case
    opts = AssessOptions(batch_size=400, explain_sample=300, shap_sample=50, **options)
    return assess(folder / "m.joblib", folder / "d.parquet", options=opts, engine=engine,
                  protected=("sex", "region"), top=10, truth="outcome", truth_positive=("yes",),
                  truth_negative=("no",), selection_method="how", random=("random",),
                  min_group_size=75).results["score_behaviour"]


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_every_row_with_an_outcome_is_used_not_the_explained_sample(case, engine):
    """2,400 rows, explanations on 300: score behaviour rests on all ~950 random-sample rows with an outcome, and
    each group's AUC equals scikit-learn's on exactly those rows; the intersection sex × region is measured too."""
    _, data, model = case
    sb = _run(case, engine)
    known = (data.outcome != "") & (data.how == "random")
    assert sb["status"] == "measured", sb.get("reason")
    assert sb["rows"] == int(known.sum()) > 900 and sb["sampled"] is False and "sample" not in sb
    scores = model.predict_proba(data[["x"]])[:, 1]
    for g in sb["by_group"]:
        if g["attribute"] == "sex × region":
            sex, region = g["group"].split(" × ")
            mine = known & (data.sex == sex) & (data.region == region)
        else:
            mine = known & (data[g["attribute"]] == g["group"])
        assert g["n"] == int(mine.sum())
        assert g["small_group"] == (g["n"] < 75)
        assert g["auc"]["value"] == pytest.approx(roc_auc_score(data.outcome[mine] == "yes", scores[mine]), abs=1e-12)
    inter = [g for g in sb["by_group"] if g["attribute"] == "sex × region"]
    assert len(inter) == 6 and any(g["small_group"] for g in inter)
    sweep = {s["attribute"]: s["reference"] for s in sb["threshold_sweep"]}
    assert sweep["sex × region"] == f"{sweep['sex']} × {sweep['region']}"


def test_above_the_cap_a_stated_seeded_sample_the_same_on_every_engine(case, monkeypatch):
    """With SCORE_ROWS at 500 the rows are a seeded sample of 500, recorded, and DuckDB keeps the pandas rows."""
    _, data, model = case
    monkeypatch.setattr(_assess_outcomes, "SCORE_ROWS", 500)
    pandas, duck = _run(case, "pandas"), _run(case, "duckdb")
    assert pandas == duck
    known = np.flatnonzero((data.outcome != "").to_numpy())
    assert pandas["sample"] == {"rows": 500, "of": len(known), "seed": 0, "method": _assess_outcomes.METHOD}
    chosen = known[smallest(sample_keys(0, np.arange(len(known))), 500)]
    chosen = chosen[data.how.to_numpy()[chosen] == "random"]  # of the sample, the random control rows count
    scores = model.predict_proba(data[["x"]])[:, 1][chosen]
    assert pandas["rows"] == len(chosen) < 500 and pandas["sampled"] is True
    assert pandas["overall"]["auc"]["value"] == pytest.approx(
        roc_auc_score(data.outcome.to_numpy()[chosen] == "yes", scores), abs=1e-12)
