"""Findings over time say only what the per-period tests show."""

from __future__ import annotations

import copy
import re

import pytest

import auditkit
from auditkit.audit import AuditResult
from auditkit.findings_periods import _ranges, period_findings

from test_periods import _measure, _period_table


def _kinds(findings: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in findings:
        out.setdefault(f["kind"], []).append(f)
    return out


@pytest.fixture(scope="module")
def constant() -> dict:
    table, _ = _period_table({"a": [0.1] * 6, "b": [0.2] * 6, "c": [0.1] * 6}, n=5000, seed=5)
    return _measure(table).results


@pytest.fixture(scope="module")
def moved() -> dict:
    table, _ = _period_table({"a": [0.10] * 8, "b": [0.10, 0.20, 0.20, 0.20, 0.20, 0.10, 0.10, 0.10],
                              "c": [0.10, 0.10, 0.10, 0.10, 0.10, 0.19, 0.19, 0.19]}, n=5000, seed=3)
    return _measure(table).results


def test_in_each_of_the_years_only_when_every_year_shows_it(constant: dict) -> None:
    """'In each of the 6 years 2014–2019' is said of b (detected every year), and of no other group."""
    found = _kinds(period_findings(constant, []))
    b = next(f for f in found["persistence"] if f["evidence"] == ["periods/g/b/selection_rate"])
    assert b["statement"]["en"].startswith("In each of the 6 years 2014–2019, the selection rate of b (g) was "
                                           "higher than that of a")
    assert b["statement"]["nl"].startswith("In elk van de 6 jaren 2014–2019 was het cijfer voor selectiepercentage")
    o = next(o for o in constant["periods"]["over_time"] if o["group"] == "b")
    lo, hi = min(s["ratio"] for s in o["series"]), max(s["ratio"] for s in o["series"])
    assert f"ranged from {lo:.2f} to {hi:.2f}" in b["statement"]["en"]
    # c: one chance detection (2018) is reported as exactly that, never as 'in each of'.
    c = next(f for f in found["persistence"] if f["evidence"] == ["periods/g/c/selection_rate"])
    assert "in 1 of the 6 years 2014–2019: 2018" in c["statement"]["en"]
    assert "In each" not in c["statement"]["en"]
    assert "No difference was detected in 2014–2017 and 2019" in c["statement"]["en"]
    assert "trend" not in found and "shift" not in found


def test_every_wording_needs_every_period() -> None:
    """Turning one year's status to 'no difference' turns 'in each of' into the list of years."""
    table, _ = _period_table({"a": [0.1] * 6, "b": [0.2] * 6, "c": [0.1] * 6}, n=5000, seed=5)
    results = copy.deepcopy(_measure(table).results)
    o = next(o for o in results["periods"]["over_time"] if o["group"] == "b")
    o["series"][2]["status"] = "no_difference_detected"
    per = o["persistence"]
    per.update(detected_in=[lv for i, lv in enumerate(results["periods"]["levels"]) if i != 2],
               not_detected_in=["2016"], periods_detected=5, every_period=False)
    per["runs"] = [dict(per["runs"][0], last="2015", last_index=1, length=2),
                   dict(per["runs"][0], first="2017", first_index=3, length=3)]
    per["longest_run"] = 1
    f = next(f for f in period_findings(results, []) if f["evidence"] == ["periods/g/b/selection_rate"]
             and f["kind"] == "persistence")
    text = f["statement"]["en"]
    assert "In each" not in text
    assert "in 5 of the 6 years 2014–2019: 2014–2015 and 2017–2019" in text
    assert "longest run of consecutive years was 2017–2019 (3 years; higher than a)" in text
    assert "No difference was detected in 2016" in text


def test_trend_finding_only_when_the_trend_test_is_significant() -> None:
    """A ratio growing ×1.15 a year gets a 'grew' finding; the same results with the trend's status set to
    'no difference detected' get none."""
    table, _ = _period_table({"a": [0.08] * 7, "b": [0.08 * 1.15**t for t in range(7)], "c": [0.08] * 7},
                             n=6000, seed=11)
    results = _measure(table).results
    trend = [f for f in period_findings(results, []) if f["kind"] == "trend"]
    assert len(trend) == 1 and trend[0]["evidence"] == ["periods/g/b/selection_rate"]
    o = next(o for o in results["periods"]["over_time"] if o["group"] == "b")
    factor = f"{o['trend']['ratio_change_per_period']:.2f}"
    assert f"grew by a factor of {factor} per year" in trend[0]["statement"]["en"]
    assert "groeide" in trend[0]["statement"]["nl"]
    quiet = copy.deepcopy(results)
    for o in quiet["periods"]["over_time"]:
        o["trend"]["status"] = "no_difference_detected"
        o["homogeneity"]["status"] = "no_difference_detected"
    assert not [f for f in period_findings(quiet, []) if f["kind"] in ("trend", "change_over_time")]


def test_shrank_and_the_move(moved: dict) -> None:
    """The planted move: b's run, c's run, the shift between them, and change without a steady trend."""
    found = _kinds(period_findings(moved, []))
    shift = found["shift"][0]["statement"]["en"]
    assert shift.startswith("From 2019, a difference in the selection rate was no longer detected for b (g) "
                            "against a (detected in 2015–2018), while one was detected for c (g) against a "
                            "(2019–2021).")
    assert {f["evidence"][0] for f in found["change_over_time"]} == {"periods/g/b/selection_rate",
                                                                     "periods/g/c/selection_rate"}
    assert "trend" not in found


def test_through_build_findings_with_a_template(moved: dict) -> None:
    """auditkit.findings (build_findings) adds the period findings; they take rights and severity of the overall finding."""
    result = AuditResult(None, moved)  # type: ignore[arg-type]
    findings = auditkit.findings(result, "base")
    kinds = _kinds(findings)
    assert {"persistence", "shift", "change_over_time"} <= set(kinds)
    overall = {f["evidence"][0]: f for f in findings if f["kind"] == "disparity"}
    for f in kinds["persistence"]:
        match = overall.get(f["evidence"][0].replace("periods/", "comparisons/", 1))
        if match:
            assert f["rights"] == match["rights"] and f["severity"] == match["severity"]
    assert all(set(f["statement"]) >= {"en", "nl"} for f in findings)
    # stable ids: the same results give the same ids
    assert [f["id"] for f in auditkit.findings(result, "base")] == [f["id"] for f in findings]


def test_no_numbers_unformatted_in_dutch(moved: dict) -> None:
    """Dutch statements use a decimal comma and never the English 'p = <'."""
    for f in period_findings(moved, []):
        assert not re.search(r"\d\.\d", f["statement"]["nl"]), f["statement"]["nl"]
        assert "= <" not in f["statement"]["en"] and "= <" not in f["statement"]["nl"]


def test_other_language_without_messages_falls_back() -> None:
    """A language with no catalog gets no text of its own, and says so."""
    table, _ = _period_table({"a": [0.1] * 3, "b": [0.25] * 3, "c": [0.1] * 3}, n=3000, seed=1)
    results = _measure(table).results
    found = period_findings(results, [], ("en", "nl", "xx"))
    assert found and all(f["lang_fallback"]["xx"] == ["statement", "recommendation", "population"] for f in found)


def test_ranges() -> None:
    """Consecutive periods are written as ranges, in chronological order."""
    levels = ["2014", "2015", "2016", "2017", "2018"]
    assert _ranges(["2018", "2014", "2015", "2017"], levels) == ["2014–2015", "2017–2018"]
    assert _ranges(["2016"], levels) == ["2016"]


def test_one_period_no_findings() -> None:
    """A single period says nothing over time (the overall findings cover it)."""
    table, _ = _period_table({"a": [0.1], "b": [0.3], "c": [0.1]}, n=3000, seed=1)
    assert period_findings(_measure(table).results, []) == []


def test_runs_of_one_period_are_named_once() -> None:
    """Detected in two years that are not consecutive: the longest run is one year, written '2015', not
    '2015–2015'."""
    table, _ = _period_table({"a": [0.1] * 5, "b": [0.1, 0.25, 0.1, 0.25, 0.1], "c": [0.1] * 5}, n=5000, seed=9)
    results = _measure(table).results
    f = next(f for f in period_findings(results, []) if f["kind"] == "persistence"
             and f["evidence"] == ["periods/g/b/selection_rate"])
    assert "in 2 of the 5 years 2014–2018: 2015 and 2017." in f["statement"]["en"]
    assert "The longest run of consecutive years was 2017 (1 year; higher than a)" in f["statement"]["en"]
    assert "2015–2015" not in f["statement"]["en"] and "2017–2017" not in f["statement"]["en"]
