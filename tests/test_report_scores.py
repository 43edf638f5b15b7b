"""The report's model parts added for published and self-learning models: scores by group (calibration, ROC,
threshold sweep), the published specification's table, and what the file shows about learning."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import roc_auc_score

from auditkit.report import build_document
from auditkit.report._context import anchor_for
from auditkit.report._document import Chart, KeyValues, Table
from auditkit.report._lines import Lines
from conftest import run_cli

WELFARE = Path(__file__).resolve().parents[1] / "datasets" / "welfare"


def _sub(doc, sid):
    model = next(s for s in doc.sections if s.id == "model")
    return next(s for s in model.subsections if s.id == sid)


def _blocks(section):
    yield from section.blocks
    for sub in section.subsections:
        yield from _blocks(sub)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """Outcomes known for everyone; groups A, B and a small C (30 people, under the minimum of 50)."""
    rng = np.random.default_rng(3)
    n = 3000
    grp = np.where(np.arange(n) < 30, "C", rng.choice(["A", "B"], n, p=[0.6, 0.4]))
    x1, x2 = rng.normal(0, 1, n).round(3), rng.normal(0, 1, n).round(3)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.0 + 1.2 * x1 - 0.6 * x2 + 0.5 * (grp == "B"))))).astype(int)
    folder = tmp_path_factory.mktemp("scores")
    pd.DataFrame({"grp": grp, "x1": x1, "x2": x2, "outcome": y}).to_csv(folder / "d.csv", index=False)
    model = LogisticRegression().fit(pd.DataFrame({"x1": x1, "x2": x2}), y)
    with open(folder / "m.pkl", "wb") as fh:
        pickle.dump(model, fh)
    out = folder / "bundle"
    result = run_cli("assess", folder / "m.pkl", "--data", folder / "d.csv", "--protected", "grp", "--top", "20",
                     "--truth", "outcome", "--min-group-size", "50", "--no-explain", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    return out, model, pd.read_csv(folder / "d.csv")


def test_scores_by_group_has_charts_and_tables_with_the_results_figures(scored):
    """Calibration, ROC and sweep charts per attribute; the AUC table equals scikit-learn's AUC per group."""
    bundle, model, data = scored
    doc = build_document(bundle, "en")
    section = _sub(doc, "model-score-behaviour")
    blocks = list(_blocks(section))
    charts = {b.id: b for b in blocks if isinstance(b, Chart)}
    for kind in ("calibration", "roc", "sweep"):
        assert anchor_for(f"chart/{kind}/grp") in charts and isinstance(charts[anchor_for(f"chart/{kind}/grp")].body,
                                                                        Lines)
    scores = model.predict_proba(data[["x1", "x2"]])[:, 1]
    auc_table = next(b for b in blocks if isinstance(b, Table) and b.caption.startswith("AUC"))
    rows = {r.cells[0].text: r for r in auc_table.rows}
    for g in ("A", "B"):
        mine = (data.grp == g).to_numpy()
        assert rows[g].cells[3].text == f"{roc_auc_score(data.outcome[mine], scores[mine]):.2f}"
    assert "C (small group)" in rows
    sweep = charts[anchor_for("chart/sweep/grp")].body
    results = json.loads((bundle / "results.json").read_text())
    sb = results["score_behaviour"]
    operating = next(c for c in sb["threshold_sweep"][0]["cutoffs"] if c["kind"] == "operating point")
    assert sweep.marker[0] == pytest.approx(100 * operating["selected"] / sb["rows"]) == pytest.approx(20, abs=0.1)
    assert sweep.level[0] == 1.0 and [s.label for s in sweep.series] == ["B", "C (small group)"]


def test_calibration_points_resting_on_fewer_than_k_people_are_left_out(scored):
    """A bin whose outcome count is between 1 and k-1 has no point in the chart and 'withheld' in the table."""
    bundle, _, _ = scored
    results = json.loads((bundle / "results.json").read_text())
    k = 10
    doc = build_document(bundle, "en", min_count=k)
    chart = next(b for b in _blocks(_sub(doc, "model-score-behaviour"))
                 if isinstance(b, Chart) and b.id == anchor_for("chart/calibration/grp"))
    seen = {True: 0, False: 0}
    for series in chart.body.series:
        name = series.label.split(" ")[0]
        group = next(g for g in results["score_behaviour"]["by_group"] if g["group"] == name)
        for point, b in zip(series.points, group["calibration"]):
            rate = b["observed_rate"]
            small = any(0 < c < k for c in (rate["numerator"], rate["denominator"],
                                            rate["denominator"] - rate["numerator"]))
            small = small or group["n"] < k
            assert (point[1] is None) == (small or rate["value"] is None)
            seen[point[1] is None] += 1
            if not small and rate["value"] is not None:
                assert (point[1], point[2], point[3]) == (rate["value"], rate["ci_low"], rate["ci_high"])
    assert seen[True] >= 10 and seen[False] >= 10  # small group C withheld whole; A and B shown


def test_dutch_report_and_markdown(scored, tmp_path):
    """The Dutch words come from the catalog; the Markdown report has the tables but no charts."""
    bundle, _, _ = scored
    doc = build_document(bundle, "nl")
    section = _sub(doc, "model-score-behaviour")
    assert section.title == "Scores per groep"
    assert any(isinstance(b, Table) and "C (kleine groep)" in [r.cells[0].text for r in b.rows]
               for b in _blocks(section))
    result = run_cli("report", bundle, "--format", "md", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    md = (tmp_path / "report.en.md").read_text()
    assert "### Scores by group" in md and "Observed outcome rate per score range" in md and "<svg" not in md
    result = run_cli("report", bundle, "--format", "html", "--lang", "nl", "--out", tmp_path)
    html = (tmp_path / "report.nl.html").read_text()
    assert "Werkpunt van de instantie" in html and "ROC-curves per grp" in html


@pytest.mark.parametrize("spec, extra, caption, expected", [
    ("scorecard.yaml", ["--model-decision"], "The published scorecard", "Base points"),
    ("risk-rules.yaml", ["--model-decision"], "The published rule list", "Otherwise (no rule holds)"),
    ("published-weights.csv", ["--link", "logistic", "--top", "10"], "The published specification", "Intercept"),
])
def test_the_published_specification_is_a_table(tmp_path, spec, extra, caption, expected):
    out = tmp_path / "b"
    result = run_cli("assess", WELFARE / spec, "--data", WELFARE / "decisions.csv", "--protected", "nationality",
                     "--no-explain", "--out", out, "--quiet", *extra)
    assert result.exit_code == 0, result.output
    card = json.loads((out / "results.json").read_text())["model_card"]
    doc = build_document(out, "en")
    table = next(b for b in _sub(doc, "model-card").blocks if isinstance(b, Table) and b.caption.startswith(caption))
    assert expected in [c.text for r in table.rows for c in r.cells]
    if "rules" in card["coefficients"]:
        assert len(table.rows) == len(card["coefficients"]["rules"]) + 1
    else:
        levels = sum(len(t.get("levels") or {}) + len(t.get("bands") or []) + ("weight" in t)
                     + (t.get("reference") is not None) + (t.get("missing") is not None)
                     for t in card["coefficients"]["terms"])
        assert len(table.rows) == 1 + levels
    nl = build_document(out, "nl")
    assert any(isinstance(b, KeyValues) and b.caption == "Leren en opnieuw trainen" for b in _sub(nl, "model-card").blocks)


def test_an_online_learner_says_so_in_the_model_card(tmp_path):
    """An SGDClassifier trained with partial_fit: the card's learning reading and its evidence are printed."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    y = (X.a + rng.normal(size=400) > 0).astype(int)
    model = SGDClassifier(loss="log_loss", random_state=0)
    for start in range(0, 400, 100):
        model.partial_fit(X.iloc[start:start + 100], y.iloc[start:start + 100], classes=[0, 1])
    with open(tmp_path / "m.pkl", "wb") as fh:
        pickle.dump(model, fh)
    X.assign(g=rng.choice(["x", "y"], 400)).to_csv(tmp_path / "d.csv", index=False)
    result = run_cli("assess", tmp_path / "m.pkl", "--data", tmp_path / "d.csv", "--protected", "g", "--top", "10",
                     "--no-explain", "--out", tmp_path / "b", "--quiet")
    assert result.exit_code == 0, result.output
    card = json.loads((tmp_path / "b" / "results.json").read_text())["model_card"]
    assert card["learning"]["model"] == "online"
    blocks = _sub(build_document(tmp_path / "b", "en"), "model-card").blocks
    learning = next(b for b in blocks if isinstance(b, KeyValues) and b.caption == "Learning and retraining")
    assert learning.rows[0][1].text.startswith("learns online")
    assert any(getattr(b, "items", None) == tuple(card["learning"]["evidence"]) for b in blocks)
