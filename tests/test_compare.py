"""`auditkit compare`: ratio of ratios between two bundles, checked against a log-binomial GLM."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from auditkit.cli import main
from auditkit.compare import compare_bundles
from auditkit.exceptions import InputDataError


def _frame(counts: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Rows with ``selected`` per group: counts[group] = (selected, n)."""
    rows = []
    for group, (k, n) in counts.items():
        rows += [{"nationality": group, "selected": int(i < k)} for i in range(n)]
    return pd.DataFrame(rows)


def _bundle(tmp_path: Path, name: str, counts: dict[str, tuple[int, int]], *extra: str) -> Path:
    data = tmp_path / f"{name}.csv"
    _frame(counts).to_csv(data, index=False)
    out = tmp_path / name
    res = CliRunner().invoke(main, ["audit", str(data), "--protected", "nationality", "--decision", "selected",
                                    "--positive", "1", "--reference", "nationality=NL", "--out", str(out), "--quiet",
                                    *extra])
    assert res.exit_code == 0, res.output
    return out


def test_ratio_of_ratios_equals_log_binomial_interaction(tmp_path: Path):
    """The ratio of ratios and its interval are the interaction of a saturated log-binomial GLM."""
    import statsmodels.api as sm

    before = {"NL": (60, 1000), "MA": (45, 250), "TR": (20, 200)}
    after = {"NL": (70, 1100), "MA": (30, 260), "TR": (25, 210)}
    doc = compare_bundles(_bundle(tmp_path, "a", before), _bundle(tmp_path, "b", after))
    assert [d["what"] for d in doc["differences"]] == ["population.rows_audited", "data file (sha256)"]
    record = next(r for r in doc["records"] if r["group"] == "MA" and r["metric"] == "selection_rate")
    cells = []
    for version, counts in ((0, before), (1, after)):
        for group in ("NL", "MA"):
            k, n = counts[group]
            cells += [(version, int(group == "MA"), 1, k), (version, int(group == "MA"), 0, n - k)]
    frame = pd.DataFrame(cells, columns=["b", "ma", "y", "w"])
    X = sm.add_constant(np.column_stack([frame.b, frame.ma, frame.b * frame.ma]))
    with warnings.catch_warnings():
        # statsmodels warns that a log link can leave the binomial's domain; this saturated model's fitted
        # values are the observed proportions, all inside (0, 1).
        warnings.simplefilter("ignore", sm.tools.sm_exceptions.DomainWarning)
        fit = sm.GLM(frame.y, X, family=sm.families.Binomial(link=sm.families.links.Log()),
                     freq_weights=frame.w).fit()
    coef, se = fit.params.iloc[3], fit.bse.iloc[3]
    assert record["ratio_of_ratios"] == pytest.approx(math.exp(coef), rel=1e-6)
    z = 1.959963984540054
    assert record["ratio_of_ratios_ci"] == pytest.approx([math.exp(coef - z * se), math.exp(coef + z * se)], rel=1e-5)
    assert record["p_value"] == pytest.approx(fit.pvalues.iloc[3], rel=1e-4)
    assert record["ratio_of_ratios"] == pytest.approx(record["ratio_b"] / record["ratio_a"])
    assert record["value_a"] == pytest.approx(45 / 250) and record["value_b"] == pytest.approx(30 / 260)


def test_holm_over_the_family_and_change_labels(tmp_path: Path):
    before = {"NL": (50, 1000), "MA": (150, 1000), "TR": (52, 1000)}
    after = {"NL": (50, 1000), "MA": (52, 1000), "TR": (55, 1000)}
    doc = compare_bundles(_bundle(tmp_path, "a", before), _bundle(tmp_path, "b", after))
    recs = {r["group"]: r for r in doc["records"] if r["metric"] == "selection_rate"}
    ps = sorted(r["p_value"] for r in doc["records"] if r["p_value"] is not None)
    assert recs["MA"]["p_holm"] == pytest.approx(min(1.0, ps[0] * len(ps)))
    assert recs["MA"]["change"] == "ratio_changed" and recs["TR"]["change"] == "no_change_detected"


def test_zero_cells_and_unmatched_groups(tmp_path: Path):
    before = {"NL": (50, 1000), "MA": (0, 40)}
    after = {"NL": (50, 1000), "MA": (5, 40), "SY": (3, 30)}
    doc = compare_bundles(_bundle(tmp_path, "a", before), _bundle(tmp_path, "b", after))
    ma = next(r for r in doc["records"] if r["group"] == "MA" and r["metric"] == "selection_rate")
    assert ma["ratio_of_ratios"] is not None and ma["ratio_of_ratios_ci"][0] < ma["ratio_of_ratios_ci"][1]
    assert any("SY" in k for k in doc["unmatched"]["only_b"])


def test_definitions_that_differ_are_listed_first(tmp_path: Path):
    counts = {"NL": (50, 1000), "MA": (30, 200)}
    a = _bundle(tmp_path, "a", counts)
    b = _bundle(tmp_path, "b", counts, "--min-group-size", "10")
    doc = compare_bundles(a, b)
    assert {"what": "parameters.min_group_size", "a": 30, "b": 10} in doc["differences"]
    res = CliRunner().invoke(main, ["compare", str(a), str(b)])
    assert res.exit_code == 0
    assert res.output.index("parameters.min_group_size") < res.output.index("selection_rate")


def test_same_data_is_noted_and_json_written(tmp_path: Path):
    counts = {"NL": (50, 1000), "MA": (30, 200)}
    a = _bundle(tmp_path, "a", counts)
    b = tmp_path / "b"
    res = CliRunner().invoke(main, ["audit", str(tmp_path / "a.csv"), "--protected", "nationality", "--decision",
                                    "selected", "--positive", "1", "--out", str(b), "--quiet"])
    assert res.exit_code == 0
    out = tmp_path / "cmp.json"
    res = CliRunner().invoke(main, ["compare", str(a), str(b), "--json", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["same_data"] is True and "conservative" in doc["method"]["caveat"]
    record = doc["records"][0]
    for key in ("attribute", "group", "reference", "metric", "value_a", "value_b", "ratio_a", "ratio_b",
                "ratio_of_ratios", "ratio_of_ratios_ci", "p_value"):
        assert key in record


def test_altered_or_foreign_bundles_are_refused(tmp_path: Path):
    counts = {"NL": (50, 1000), "MA": (30, 200)}
    a = _bundle(tmp_path, "a", counts)
    b = _bundle(tmp_path, "b", counts)
    results = json.loads((b / "results.json").read_text())
    results["comparisons"][0]["ratio"] = 1.0
    (b / "results.json").write_text(json.dumps(results))
    with pytest.raises(InputDataError, match="does not verify"):
        compare_bundles(a, b)
    res = CliRunner().invoke(main, ["compare", str(a), str(tmp_path)])
    assert res.exit_code == 1 and "Traceback" not in res.output


def test_level_sets_every_interval(tmp_path: Path):
    """--level narrows both the ratio-of-ratios interval and the change-in-rate interval."""
    a = _bundle(tmp_path, "a", {"NL": (60, 1000), "MA": (45, 250)})
    b = _bundle(tmp_path, "b", {"NL": (70, 1100), "MA": (30, 260)})
    wide, narrow = (next(r for r in compare_bundles(a, b, level=lv)["records"] if r["group"] == "MA")
                    for lv in (0.95, 0.80))
    for key in ("ratio_of_ratios_ci", "change_in_rate_ci"):
        assert wide[key][0] < narrow[key][0] and narrow[key][1] < wide[key][1]
