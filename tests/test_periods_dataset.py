"""The over-time welfare example: shipped files are what its script writes; the analysis finds what was planted."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from auditkit.audit import measure
from auditkit.load.rows import Population
from auditkit.measure._counts import Dimension, count_codes
from auditkit.spec import AuditSpec

ROOT = Path(__file__).parents[1]
FOLDER = ROOT / "datasets" / "welfare-over-time"


def _script():
    spec = importlib.util.spec_from_file_location("welfare_over_time", FOLDER / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _periods(df: pd.DataFrame) -> dict:
    """The audit of the rows with nationality and gender, one period per year (Holm, alpha 0.05)."""
    dims, codes = [], {}
    for col, role in (("nationality", "protected"), ("gender", "protected"), ("year", "period")):
        levels = tuple(sorted(df[col].astype(str).unique()))
        dims.append(Dimension(col, role, levels))
        codes[col] = np.searchsorted(levels, df[col].astype(str).to_numpy())
    table = count_codes(dims, codes, (df["selected"] == "Ja").to_numpy().astype(np.int64), np.full(len(df), 2))
    pop = Population("welfare-over-time", len(df), (), len(df), {"rule": "given"}, {"column": None})
    spec = AuditSpec(protected=("nationality", "gender"), decision="selected", max_depth=1,
                     references={"nationality": "Dutch", "gender": "M"})
    return measure(table, pop, spec).results


def _record(results: dict, group: str) -> dict:
    return next(o for o in results["periods"]["over_time"] if o["group"] == group)


@pytest.fixture(scope="module")
def script():
    return _script()


@pytest.fixture(scope="module")
def planted(script) -> dict:
    return _periods(pd.read_csv(FOLDER / "decisions.csv"))


def test_shipped_files_are_what_the_script_writes(script) -> None:
    """generate.py reproduces decisions.csv, counts.csv and planted.json byte for byte (seeded)."""
    for name, text in script.render().items():
        assert (FOLDER / name).read_text(encoding="utf-8") == text, name
    assert sum((FOLDER / n).stat().st_size for n in ("decisions.csv", "counts.csv", "planted.json")) < 2_000_000


def test_counts_are_the_rows_aggregated(script) -> None:
    """counts.csv holds every year x nationality x gender x selected cell of decisions.csv."""
    rows, counts = pd.read_csv(FOLDER / "decisions.csv"), pd.read_csv(FOLDER / "counts.csv")
    assert len(counts) == 8 * 3 * 2 * 2 and counts["count"].sum() == len(rows)
    again = rows.groupby(["year", "nationality", "gender", "selected"]).size()
    assert again.to_dict() == {k: v for k, v in counts.set_index(["year", "nationality", "gender", "selected"])
                               ["count"].to_dict().items() if v}


def test_planted_truth_in_the_json(script) -> None:
    """planted.json: non-EU 2.0 in 2015–2018, women 1.8 from 2019, every other ratio 1."""
    truth = json.loads((FOLDER / "planted.json").read_text())
    planted = {(t["year"], t["group"]): t["ratio"] for t in truth["planted"] if t["planted"]}
    assert planted == {**{(y, "non-EU"): 2.0 for y in range(2015, 2019)}, **{(y, "F"): 1.8 for y in range(2019, 2022)}}
    assert truth["versions"]["2019"] == "model-v2-reweighted"


def test_the_analysis_finds_the_appearance_the_run_and_the_move(planted: dict) -> None:
    """Appears in 2015, persists to 2018 (pooled interval holds the planted 2.0), moves to women from 2019
    (pooled interval holds 1.8); EU, planted equal, is detected in no year."""
    non_eu, women, eu = (_record(planted, g) for g in ("non-EU", "F", "EU"))
    assert non_eu["persistence"]["detected_in"] == ["2015", "2016", "2017", "2018"]
    run = non_eu["persistence"]["runs"][non_eu["persistence"]["longest_run"]]
    assert (run["first"], run["last"], run["direction"]) == ("2015", "2018", "higher")
    assert run["pooled"]["ratio_ci"][0] < 2.0 < run["pooled"]["ratio_ci"][1]
    assert women["persistence"]["detected_in"] == ["2019", "2020", "2021"]
    run = women["persistence"]["runs"][0]
    assert run["pooled"]["ratio_ci"][0] < 1.8 < run["pooled"]["ratio_ci"][1]
    assert eu["persistence"]["detected_in"] == []
    shift = planted["periods"]["shifts"]
    assert [(s["period"], [x["group"] for x in s["ended"]], [x["group"] for x in s["began"]]) for s in shift] == \
        [("2019", ["non-EU"], ["F"])]
    # step changes, not steady trends: homogeneity rejected, no trend claimed
    for o in (non_eu, women):
        assert o["homogeneity"]["status"] == "difference_detected"
        assert o["trend"]["status"] == "no_difference_detected"
    # and the pooled overall comparison alone would hide all of it: non-EU about 1.37 over the eight years
    overall = next(c for c in planted["comparisons"] if c["group"] == "non-EU")
    assert 1.2 < overall["ratio"] < 1.5


def test_no_change_control(script) -> None:
    """The control world (non-EU 2.0 every year): detected in each of the 8 years, no trend, homogeneity not
    rejected, no shift."""
    df = pd.read_csv(io.StringIO(script.render(control=True)["decisions.csv"]))
    results = _periods(df)
    non_eu = _record(results, "non-EU")
    assert non_eu["persistence"]["every_period"] and non_eu["persistence"]["periods_detected"] == 8
    assert non_eu["trend"]["status"] == non_eu["homogeneity"]["status"] == "no_difference_detected"
    assert results["periods"]["shifts"] == []
    assert all(_record(results, g)["persistence"]["runs"] == [] for g in ("EU", "F"))
