"""`assess MODEL_A --compare-model MODEL_B`: two model versions decided on the same people, compared in pairs."""

from __future__ import annotations

import json
import math
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from auditkit.measure._paired import mcnemar_exact, paired_ratio_of_ratios
from conftest import assert_user_error, run_cli

Z95 = 1.959963984540054


@pytest.mark.parametrize("b,c", [(0, 0), (0, 1), (1, 0), (2, 9), (9, 2), (12, 13), (24, 1), (30, 45), (136, 101),
                                 (58, 85), (400, 460)])
def test_mcnemar_exact_is_statsmodels_exact_test(b, c):
    """Our exact McNemar p equals statsmodels' mcnemar(exact=True) at every count, small and large."""
    expected = mcnemar(np.array([[7, b], [c, 11]]), exact=True).pvalue
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def _paired_people(seed: int, n: int = 3000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    g = rng.choice([0, 1], n, p=[0.7, 0.3])
    latent = rng.normal(size=n) + 0.8 * g
    a = (latent > 1.0).astype(int)
    b = ((latent + rng.normal(scale=0.6, size=n)) > 0.9 + 0.3 * g).astype(int)
    return g, a, b


def _table(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int, int]:
    a, b = a.astype(bool), b.astype(bool)
    return int((a & b).sum()), int((a & ~b).sum()), int((~a & b).sum()), int((~a & ~b).sum())


def _gee_interaction(g: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """log ratio of ratios, its robust (sandwich) standard error and p from a log-link GEE clustered by person."""
    import statsmodels.api as sm

    n = len(g)
    model = np.r_[np.zeros(n), np.ones(n)]
    X = sm.add_constant(np.column_stack([model, np.r_[g, g], model * np.r_[g, g]]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Poisson family on 0/1 data: a domain warning, irrelevant to the sandwich
        fit = sm.GEE(np.r_[a, b], X, groups=np.r_[np.arange(n), np.arange(n)], family=sm.families.Poisson(),
                     cov_struct=sm.cov_struct.Independence()).fit()
    return float(fit.params[3]), float(fit.bse[3]), float(fit.pvalues[3])


@pytest.mark.parametrize("seed", [3, 11])
def test_paired_ratio_of_ratios_is_the_gee_sandwich_estimate(seed):
    """Ratio of ratios, interval and p equal the interaction of a saturated log-link GEE with robust variance."""
    g, a, b = _paired_people(seed)
    rr, low, high, p = paired_ratio_of_ratios(_table(a[g == 1], b[g == 1]), _table(a[g == 0], b[g == 0]))
    beta, se, p_gee = _gee_interaction(g, a, b)
    assert rr == pytest.approx(math.exp(beta), rel=1e-10)
    assert (low, high) == pytest.approx((math.exp(beta - Z95 * se), math.exp(beta + Z95 * se)), rel=1e-9)
    assert p == pytest.approx(p_gee, rel=1e-6)


def test_paired_interval_covers_the_true_change_at_its_level():
    """Over 400 seeded simulated audits, the 95% paired interval holds the true ratio of ratios about 95% of the time."""
    rng = np.random.default_rng(2026)
    # Per group: probabilities of (both, A only, B only, neither).
    pg, pr = np.array([0.10, 0.06, 0.09, 0.75]), np.array([0.05, 0.03, 0.02, 0.90])
    true = ((pg[0] + pg[2]) / (pg[0] + pg[1])) / ((pr[0] + pr[2]) / (pr[0] + pr[1]))
    hits = 0
    for _ in range(400):
        tg, tr = rng.multinomial(800, pg), rng.multinomial(2000, pr)
        _, low, high, _ = paired_ratio_of_ratios(tuple(tg), tuple(tr))
        hits += low <= true <= high
    assert 0.92 <= hits / 400 <= 0.98, hits


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """Model A uses nationality directly; model B, a published table of weights, drops it (the agency's "fix")."""
    rng = np.random.default_rng(7)
    n = 2000
    nationality = rng.choice(["NL", "other", "EU"], n, p=[0.6, 0.25, 0.15])
    language = np.where(rng.random(n) < np.where(nationality == "NL", 0.1, 0.7), 1, 0)
    income = rng.normal(0, 1, n).round(3)
    X = pd.DataFrame({"is_dutch": (nationality == "NL").astype(int), "language_other": language, "income": income})
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.5 - 1.0 * X.is_dutch + 1.2 * language - 0.5 * income)))).astype(int)
    model = LogisticRegression().fit(X, y)
    folder = tmp_path_factory.mktemp("versions")
    X.assign(nationality=nationality).to_csv(folder / "people.csv", index=False)
    joblib.dump(model, folder / "model_a.joblib")
    weights_b = {"(Intercept)": -1.9, "language_other": 1.6, "income": -0.5}
    (folder / "model_b.csv").write_text("term,weight\n" + "".join(f"{k},{v!r}\n" for k, v in weights_b.items()))
    coef = dict(zip(X.columns, model.coef_[0]))
    same = {"(Intercept)": float(model.intercept_[0]), **{k: float(v) for k, v in coef.items()}}
    (folder / "model_same.csv").write_text("term,weight\n" + "".join(f"{k},{v!r}\n" for k, v in same.items()))
    score_a = model.predict_proba(X)[:, 1]
    score_b = 1 / (1 + np.exp(-(weights_b["(Intercept)"] + weights_b["language_other"] * language
                                + weights_b["income"] * income)))
    return folder, nationality, score_a, score_b


def _top(scores: np.ndarray, percent: float) -> np.ndarray:
    k = math.floor(len(scores) * percent / 100 + 1e-9)
    order = np.lexsort((np.arange(len(scores)), -scores))
    out = np.zeros(len(scores), dtype=int)
    out[order[:k]] = 1
    return out


def _assess(folder, *extra):
    result = run_cli("assess", folder / "model_a.joblib", "--data", folder / "people.csv", "--protected",
                     "nationality", "--no-explain", *extra)
    assert result.exit_code == 0, result.output
    return result


def test_compare_model_counts_tests_and_intervals_match_independent_code(versions, tmp_path):
    """Paired tables, McNemar (statsmodels), Holm (statsmodels) and the ratio of ratios (GEE) per group."""
    folder, nationality, score_a, score_b = versions
    _assess(folder, "--top", "10", "--compare-model", folder / "model_b.csv", "--compare-link", "logistic",
            "--json", tmp_path / "r.json", "--quiet")
    mc = json.loads((tmp_path / "r.json").read_text())["model_comparison"]
    a, b = _top(score_a, 10), _top(score_b, 10)
    assert mc["rows"] == 2000 and mc["model_b"]["file"] == "model_b.csv" and mc["model_a"]["file"] == "model_a.joblib"
    expected_p = {}
    for rec in mc["groups"]:
        m = nationality == rec["group"]
        t = _table(a[m], b[m])
        assert (rec["selected_both"], rec["selected_a_only"], rec["selected_b_only"], rec["selected_neither"]) == t
        assert rec["p_value"] == pytest.approx(mcnemar(np.array([[t[0], t[1]], [t[2], t[3]]]), exact=True).pvalue)
        assert rec["change_in_rate"] == pytest.approx(b[m].mean() - a[m].mean())
        expected_p[rec["group"]] = rec["p_value"]
    holm = multipletests(list(expected_p.values()), method="holm")[1]
    assert [r["p_adjusted"] for r in mc["groups"]] == pytest.approx(list(holm))
    assert {d["reference"] for d in mc["disparities"]} == {"NL"}
    for d in mc["disparities"]:
        keep = np.isin(nationality, [d["group"], "NL"])
        beta, se, _ = _gee_interaction((nationality[keep] == d["group"]).astype(int), a[keep], b[keep])
        assert d["ratio_of_ratios"] == pytest.approx(math.exp(beta), rel=1e-9)
        assert d["ratio_of_ratios_ci"] == pytest.approx([math.exp(beta - Z95 * se), math.exp(beta + Z95 * se)])
        ratio_a = a[nationality == d["group"]].mean() / a[nationality == "NL"].mean()
        assert d["ratio_a"] == pytest.approx(ratio_a)
        assert d["change"] == ("ratio_changed" if d["p_adjusted"] < 0.05 else "no_change_detected")
    # The "fix" that drops nationality moves the disparity of the non-Dutch groups: shown, with its interval.
    assert any(d["change"] == "ratio_changed" for d in mc["disparities"])


def test_compare_model_bundle_report_findings_and_verify(versions, tmp_path, monkeypatch):
    """The bundle holds the comparison, findings in en and nl, the report section; verify re-runs it exactly."""
    folder, _, _, _ = versions
    monkeypatch.chdir(tmp_path)
    result = _assess(folder, "--top", "10", "--compare-model", folder / "model_b.csv", "--compare-link", "logistic",
                     "--out", "b")
    assert "selected by A only" in result.output and "ratio of ratios" in result.output
    findings = json.loads((tmp_path / "b" / "findings.json").read_text())
    changes = [f for f in findings if f["kind"] == "model_comparison"]
    assert changes and all({"en", "nl"} <= set(f["statement"]) for f in changes)
    assert any("scored on the same 2,000 people" in f["statement"]["en"] for f in changes)
    html = (tmp_path / "b" / "report.en.html").read_text()
    assert 'id="model-comparison"' in html and "McNemar" in html
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert [i["role"] for i in manifest["inputs"]][:3] == ["data", "model", "compare_model"]
    ok = run_cli("verify", "b", "--data", folder / "people.csv", "--model", folder / "model_a.joblib",
                 "--compare-model", folder / "model_b.csv")
    assert ok.exit_code == 0, ok.output
    assert "Input compare_model model_b.csv: sha256 matches" in ok.output
    (tmp_path / "other.csv").write_text((folder / "model_b.csv").read_text().replace("1.6", "1.5"))
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "model_b.csv").write_text((tmp_path / "other.csv").read_text())
    bad = run_cli("verify", "b", "--data", folder / "people.csv", "--model", folder / "model_a.joblib",
                  "--compare-model", tmp_path / "x" / "model_b.csv")
    assert bad.exit_code == 1 and "Input compare_model model_b.csv: sha256 DIFFERS" in bad.output


def test_the_same_model_twice_changes_no_decision(versions, tmp_path):
    """Model A against its own weights published as a table: no decision changes, a ratio of ratios of exactly 1."""
    folder, _, _, _ = versions
    _assess(folder, "--top", "15", "--compare-model", folder / "model_same.csv", "--compare-link", "logistic",
            "--json", tmp_path / "r.json", "--quiet")
    mc = json.loads((tmp_path / "r.json").read_text())["model_comparison"]
    assert mc["overall"]["selected_a_only"] == mc["overall"]["selected_b_only"] == 0
    assert {g["status"] for g in mc["groups"]} == {"no_decision_changed"}
    assert {d["change"] for d in mc["disparities"]} == {"no_decision_changed"}
    assert all(d["ratio_of_ratios"] == pytest.approx(1.0) for d in mc["disparities"])


def test_compare_model_refuses_what_it_cannot_pair(versions, tmp_path):
    """Other engines, a link without a model, a missing file and a model B lacking an input: clear errors."""
    folder, _, _, _ = versions
    base = ["assess", folder / "model_a.joblib", "--data", folder / "people.csv", "--protected", "nationality",
            "--no-explain", "--top", "10", "--quiet"]
    assert_user_error(run_cli(*base, "--compare-model", folder / "model_b.csv", "--engine", "duckdb"), 2,
                      "--compare-model", "--engine pandas")
    assert_user_error(run_cli(*base, "--compare-link", "logistic"), 2, "--compare-link", "--compare-model")
    assert_user_error(run_cli(*base, "--compare-model", tmp_path / "nope.csv", "--compare-link", "logistic"), 1,
                      "nope.csv")
    (tmp_path / "b.csv").write_text("term,weight\n(Intercept),-1\nhousehold_size,0.3\n")
    assert_user_error(run_cli(*base, "--compare-model", tmp_path / "b.csv", "--compare-link", "logistic"), 1,
                      "household_size")


def test_terminal_lines_in_the_readers_language(versions, tmp_path):
    """--lang nl prints the paired comparison from the Dutch catalog, with Dutch numbers."""
    folder, _, _, _ = versions
    result = _assess(folder, "--top", "10", "--compare-model", folder / "model_b.csv", "--compare-link", "logistic",
                     "--lang", "nl", "--json", tmp_path / "r.json")
    mc = json.loads((tmp_path / "r.json").read_text())["model_comparison"]
    o = mc["overall"]
    assert (f"op dezelfde 2.000 mensen: {o['selected_a_only']} alleen door A geselecteerd, {o['selected_b_only']} "
            "alleen door B") in result.output
    assert "verhouding van de verhoudingen" in result.output and "selected by A only" not in result.output
