"""Calibration, AUC and the threshold sweep by group, against scikit-learn, statsmodels and brute force."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from auditkit.cli import main
from auditkit.measure.calibration import (auc_delong, calibration_bins, calibration_in_the_large, roc_points,
                                          score_behaviour, threshold_sweep)

WELFARE = Path(__file__).resolve().parents[1] / "datasets" / "welfare"


def _brute_delong(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """DeLong et al. (1988) by explicit pairwise comparisons: AUC and its variance."""
    pos, neg = scores[y == 1], scores[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return float(psi.mean()), float(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))


def test_auc_equals_sklearn_and_delong_variance_equals_brute_force():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(7)
    y = (rng.random(400) < 0.3).astype(int)
    scores = np.round(rng.random(400) * 0.5 + 0.4 * y, 2)  # rounded: many ties
    got = auc_delong(scores, y)
    auc, var = _brute_delong(scores, y)
    assert got["value"] == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    assert got["value"] == pytest.approx(auc, abs=1e-12) and got["variance"] == pytest.approx(var, rel=1e-10)
    assert got["ci_low"] < got["value"] < got["ci_high"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=2, max_size=40))
def test_auc_interval_contains_estimate(rows):
    scores = np.array([s for s, _ in rows], dtype=float)
    y = np.array([b for _, b in rows])
    out = auc_delong(scores, y)
    if out["value"] is None:
        assert "reason" in out and (y.all() or not y.any())
    elif out["ci_low"] is not None:
        assert 0 <= out["ci_low"] <= out["value"] <= out["ci_high"] <= 1
    else:
        assert "reason" in out


def test_perfect_separation_has_no_interval_and_says_why():
    out = auc_delong(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1]))
    assert out["value"] == 1.0 and out["ci_low"] is None and "complete separation" in out["reason"]


def test_roc_points_match_sklearn():
    from sklearn.metrics import roc_curve

    rng = np.random.default_rng(1)
    y = (rng.random(300) < 0.4).astype(int)
    scores = rng.random(300) + 0.3 * y
    fpr, tpr, thresholds = roc_curve(y, scores, drop_intermediate=False)
    by_threshold = dict(zip(thresholds, zip(fpr, tpr)))
    for point in roc_points(scores, y):
        if point["threshold"] in by_threshold:  # sklearn's thresholds are the distinct scores
            assert (point["fpr"], point["tpr"]) == pytest.approx(by_threshold[point["threshold"]])


def test_calibration_bins_and_wilson_against_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    rng = np.random.default_rng(2)
    scores = rng.random(500)
    y = rng.random(500) < scores
    edges = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    bins = calibration_bins(scores, y, edges)
    frame = pd.DataFrame({"s": scores, "y": y, "b": np.clip(np.searchsorted(edges, scores, "right") - 1, 0, 3)})
    for b, row in zip(range(4), bins):
        part = frame[frame.b == b]
        assert row["n"] == len(part) and row["observed_rate"]["numerator"] == int(part.y.sum())
        assert row["mean_score"] == pytest.approx(part.s.mean())
        low, high = proportion_confint(int(part.y.sum()), len(part), method="wilson")
        assert (row["observed_rate"]["ci_low"], row["observed_rate"]["ci_high"]) == pytest.approx((low, high))


def test_calibration_in_the_large_by_hand():
    from scipy.stats import norm

    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.9])
    y = np.array([0, 1, 1, 0, 1])
    out = calibration_in_the_large(scores, y)
    sd = np.sqrt(np.sum(scores * (1 - scores))) / 5
    diff = 0.6 - scores.mean()
    assert out["difference"] == pytest.approx(diff)
    assert out["p_value"] == pytest.approx(2 * norm.sf(abs(diff) / sd))
    assert out["ci_low"] < diff < out["ci_high"]


def test_threshold_sweep_rates_and_ratios_by_hand():
    rng = np.random.default_rng(3)
    n = 1000
    labels = rng.choice(["A", "B"], n, p=[0.7, 0.3])
    y = rng.random(n) < 0.2
    scores = rng.random(n) + 0.2 * (labels == "B")
    sweep = threshold_sweep(scores, y, labels, "A", tops=(10.0,), operating=0.9)
    top = sweep[0]
    t = np.sort(scores)[::-1][99]
    assert top["threshold"] == t and top["selected"] == int((scores >= t).sum())
    rates = {g["group"]: g for g in top["groups"]}
    for group in ("A", "B"):
        mine = labels == group
        assert rates[group]["selection_rate"]["value"] == pytest.approx((scores[mine] >= t).mean())
        assert rates[group]["fpr"]["value"] == pytest.approx((scores[mine & ~y] >= t).mean())
        assert rates[group]["fnr"]["value"] == pytest.approx((scores[mine & y] < t).mean())
    ratio = (scores[labels == "B"] >= t).mean() / (scores[labels == "A"] >= t).mean()
    assert rates["B"]["selection_rate"]["ratio"] == pytest.approx(ratio)
    assert rates["A"]["selection_rate"]["ratio"] is None
    assert sweep[1]["kind"] == "operating point" and sweep[1]["threshold"] == 0.9


def test_score_behaviour_marks_small_groups():
    rng = np.random.default_rng(4)
    labels = np.array(["big"] * 200 + ["tiny"] * 5, dtype=object)
    y = rng.random(205) < 0.3
    out = score_behaviour(rng.random(205), y, {"g": labels}, {"g": "big"}, probability=True, min_group_size=30)
    small = {r["group"]: r["small_group"] for r in out["by_group"]}
    assert small == {"big": False, "tiny": True}
    assert len(out["bin_edges"]) == 11


def _assess(tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / "r.json"
    res = CliRunner().invoke(main, ["assess", str(WELFARE / "model.skops"), "--data", str(WELFARE / "decisions.csv"),
                                    "--protected", "nationality", "--top", "10", "--truth", "fraud_found",
                                    "--truth-positive", "Ja", "--truth-negative", "Nee", "--no-explain",
                                    "--json", str(out), *extra])
    assert res.exit_code == 0, res.output
    return json.loads(out.read_text())


def test_selective_labels_use_the_random_sample_only(tmp_path: Path):
    """Outcomes known mostly for investigated cases: calibration runs on the random control sample only."""
    results = _assess(tmp_path, "--selection-method", "selection_method", "--random", "random")
    behaviour = results["score_behaviour"]
    data = pd.read_csv(WELFARE / "decisions.csv")
    random_known = (data.selection_method == "random") & data.fraud_found.isin(["Ja", "Nee"])
    assert behaviour["status"] == "measured" and "random control sample" in behaviour["rows_used"]
    assert behaviour["rows"] == int(random_known.sum())
    assert behaviour["positives"] == int((random_known & (data.fraud_found == "Ja")).sum())


def test_selective_labels_without_random_sample_are_undefined(tmp_path: Path):
    behaviour = _assess(tmp_path)["score_behaviour"]
    assert behaviour["status"] == "undefined" and "selected" in behaviour["reason"]
