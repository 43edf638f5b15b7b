"""Verdicts that never overstate: small groups in strata, intervals that hold their estimates, every key."""

from __future__ import annotations

import json
import math
import re
from html import unescape

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import auditkit
from auditkit.findings import build_findings
from auditkit.measure._stats import katz_ratio_interval, ratio_interval
from auditkit.measure.compare import compare
from auditkit.templates import load_template

from conftest import check_results, run_cli, write_text

FAST = settings(max_examples=150, deadline=None, database=None)
SLOW = settings(max_examples=40, deadline=None, database=None)


# ------------------------------------------------------------------ small groups in strata


def _rows(cells: list[tuple[str, str, int, int]]) -> pd.DataFrame:
    """Rows from (group, stratum, n, selected)."""
    rows = []
    for g, s, n, k in cells:
        rows += [(g, s, 1)] * k + [(g, s, 0)] * (n - k)
    return pd.DataFrame(rows, columns=["g", "s", "d"])


#: The issue's case: a 12-person group, insufficient in the crude comparison, whose Mantel–Haenszel odds
#: ratio is about 4.4 with a CMH p of about 0.004 (and it used to be 'difference_detected').
TWELVE = [("small", "A", 6, 2), ("small", "B", 6, 3), ("big", "A", 300, 60), ("big", "B", 900, 60),
          ("other", "A", 200, 44), ("other", "B", 400, 22)]


def test_a_twelve_person_group_gets_no_stratified_verdict():
    """Crude insufficient_evidence stays so in the strata: no verdict, out of the family, the reason given."""
    r = auditkit.audit(_rows(TWELVE), protected=("g",), decision="d", strata=("s",), references={"g": "big"}).results
    s = next(x for x in r["stratified"] if x["group"] == "small")
    assert s["mh_odds_ratio"] == pytest.approx(4.43, abs=0.01) and s["p_value"] < 0.005  # a 'significant' CMH
    assert s["status"] == "insufficient_evidence" and "fewer than 30 rows of the group (12)" in s["reason"]
    assert s["p_holm"] is None and s["p_bh"] is None and "outside the testing family" in s["null_reasons"]["p_holm"]
    assert s["n_group_informative"] == 12 and [p["small"] for p in s["per_stratum"]] == [True, True]
    assert s["direction_reversed"] is None
    crude = next(c for c in r["comparisons"] if c["group"] == "small")
    assert crude["status"] == "insufficient_evidence"
    family = [x for x in r["comparisons"] + r["stratified"] if x["p_holm"] is not None]
    assert r["multiple_testing"]["family_size"] == len(family) and all(x["group"] != "small" for x in family)
    findings = build_findings(r, load_template("base").rules)
    about_small = [f for f in findings if "small" in f["statement"]["en"]]
    assert about_small and all(f["kind"] == "insufficient_evidence" for f in about_small)


def test_the_twelve_person_group_is_nowhere_difference_detected_in_the_report(tmp_path):
    """Results, findings and the rendered report: no row or sentence about the small group says 'detected'."""
    frame = _rows(TWELVE)
    data = write_text(tmp_path / "d.csv", frame.to_csv(index=False))
    out = tmp_path / "bundle"
    result = run_cli("audit", data, "--protected", "g", "--decision", "d", "--positive", "1", "--strata", "s",
                     "--reference", "g=big", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    for rec in results["comparisons"] + results["stratified"]:
        if rec["group"] == "small":
            assert rec["status"] != "difference_detected"
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert not [f for f in findings if "small" in f["statement"]["en"] and f["kind"] != "insufficient_evidence"]
    html = (out / "report.en.html").read_text(encoding="utf-8")
    rows = [unescape(re.sub(r"<[^>]+>", " ", row)) for row in re.findall(r"<tr.*?</tr>", html, flags=re.S)]
    small_rows = [row for row in rows if re.search(r"\bsmall\b", row)]
    assert small_rows
    for row in small_rows:
        assert not re.search(r"(?<!no )difference detected", row), row


# ------------------------------------------------------------------ intervals contain their estimates


def test_the_issue_zero_cell_ratio_has_lower_limit_zero():
    """0 selected of 40 against 20 of 400: ratio 0, interval from 0 (the zero-cell rule), never above it."""
    c = compare((0, 40, 0, 40), (20, 400, 20, 400), 0.95)
    assert c.ratio == (0.0, 0.0) and c.ratio_ci[0] == 0.0 and c.ratio_ci[1] > 0
    lo, hi, corrected = katz_ratio_interval(0, 40, 20, 400)
    assert lo > 0 and bool(corrected)  # the adjusted-log interval alone would exclude the estimate
    assert ratio_interval(0, 40, 20, 400)[1] == hi  # the other limit is the adjusted-log one


COUNT = st.one_of(st.just(0), st.integers(0, 5), st.integers(0, 400))


@st.composite
def bounded_rate(draw: st.DrawFn) -> tuple[float, float, float, float]:
    """(k_low, n_low, k_high, n_high) of a rate whose numerator and complement may each be suppressed."""
    k, c = draw(COUNT), draw(COUNT)
    k_lo, k_hi = (0, 9) if draw(st.booleans()) and k < 10 else (k, k)
    c_lo, c_hi = (0, 9) if draw(st.booleans()) and c < 10 else (c, c)
    # numpy scalars, as the audit passes them (a corner may have denominator 0: NaN, never an exception)
    return tuple(np.float64(x) for x in (k_lo, k_lo + c_hi, k_hi, k_hi + c_lo))


def _inside(x: float, lo: float, hi: float) -> bool:
    return lo - 1e-12 * max(1.0, abs(x)) <= x <= hi + 1e-12 * max(1.0, abs(x)) if math.isfinite(x) else x == hi


@FAST
@given(bounded_rate(), bounded_rate())
def test_ratio_and_difference_lie_in_their_intervals(group, reference):
    """Every table, zeros and suppressed cells included: estimate (or bounds) inside the interval hull."""
    if group[1] == 0 or reference[1] == 0:
        return
    c = compare(group, reference, 0.95)
    for (lo, hi), (clo, chi) in ((c.ratio, c.ratio_ci), (c.difference, c.difference_ci)):
        if math.isnan(lo) or math.isnan(hi):
            continue
        assert _inside(lo, clo, chi) and _inside(hi, clo, chi), (group, reference, c)


@FAST
@given(st.integers(0, 60), st.integers(1, 60), st.integers(0, 60), st.integers(1, 60))
def test_ratio_interval_is_katz_except_on_the_estimates_side(k1, n1, k2, n2):
    """ratio_interval equals the (statsmodels-checked) Katz interval except for the zero-cell rule."""
    k1, k2 = min(k1, n1), min(k2, n2)
    lo, hi, corrected = ratio_interval(k1, n1, k2, n2)
    klo, khi, kcorr = katz_ratio_interval(k1, n1, k2, n2)
    assert bool(corrected) == bool(kcorr)
    assert lo == (0.0 if k1 == 0 else klo) and hi == (math.inf if k2 == 0 else khi)
    if k1 and k2:
        assert lo <= (k1 / n1) / (k2 / n2) <= hi


@st.composite
def count_tables(draw: st.DrawFn) -> pd.DataFrame:
    """A long count table of 2-4 regions, cells possibly 0 or published as '<10'."""
    regions = ["North", "South", "East", "West"][: draw(st.integers(2, 4))]
    rows = []
    for region in regions:
        for decision in ("yes", "no"):
            n = draw(COUNT) + (200 if region == "North" else 0)
            rows.append((region, decision, "<10" if n < 10 and draw(st.booleans()) else str(n)))
    return pd.DataFrame(rows, columns=["region", "decision", "count"])


@SLOW
@given(count_tables())
def test_every_published_figure_lies_in_its_interval(frame):
    """Through the whole audit: rates, ratios and differences (or their bounds) inside their intervals."""
    r = auditkit.audit(frame, protected=("region",), decision="decision", positive=("yes",), count_column="count",
                       suppressed=("<10",), references={"region": "North"}).results
    check_results(r)
    for g in r["groups"]:
        rec = g["selection_rate"]
        if rec["reason"] is None:
            for x in ([rec["value"]] if rec["bounds"] is None else rec["bounds"]):
                assert rec["ci_low"] - 1e-12 <= x <= rec["ci_high"] + 1e-12
    for c in r["comparisons"]:
        if c["status"] == "undefined":
            assert c["ratio"] is None and c["null_reasons"]["ratio"]
            continue
        for key in ("ratio", "difference"):
            lo, hi = c[key + "_ci"]
            hi = math.inf if hi is None else hi
            values = [c[key]] if c[f"{key}_bounds"] is None else c[f"{key}_bounds"]
            for x in values:
                if x is None:  # an infinite ratio (reference rate 0) is JSON null, with its reason
                    assert hi == math.inf and c["null_reasons"][key]
                else:
                    assert _inside(x, lo, hi), (key, c)


# ------------------------------------------------------------------ every key, always


def test_undefined_comparisons_keep_every_key():
    """A comparison whose rate is undefined has ratio, ratio_ci, p_value ... as null, each with its reason."""
    # group b has no positive outcome, so its true positive rate has denominator 0
    frame = pd.DataFrame({"g": ["a"] * 40 + ["b"] * 40, "d": [1, 0] * 40, "y": ["1", "0"] * 20 + ["0"] * 40})
    r = auditkit.audit(frame, protected=("g",), decision="d", truth="y", truth_positive=("1",),
                       truth_negative=("0",), metrics=("tpr",), references={"g": "a"}).results
    c = r["comparisons"][0]
    assert c["status"] == "undefined"
    for key in ("ratio", "ratio_ci", "difference", "difference_ci", "p_value", "p_holm", "p_bh",
                "min_detectable_ratio"):
        assert key in c and c["null_reasons"][key], key
    assert c["ratio"] is None and c["ratio_ci"] == [None, None] and c["p_value"] is None


def test_every_design_validates_against_the_shipped_schema(tmp_path):
    """Decisions, scores/top-k, outcomes, strata, stages, random sample, suppressed counts, bootstrap."""
    n = 600
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({
        "g": rng.choice(["a", "b", "c"], n, p=[0.6, 0.35, 0.05]), "sex": rng.choice(["F", "M"], n),
        "s": rng.choice(["x", "y"], n), "score": rng.random(n), "y": rng.choice(["1", "0", ""], n),
        "stage": rng.choice(["1 start", "2 review"], n), "how": rng.choice(["random", "model"], n, p=[0.3, 0.7])})
    frame["d"] = (frame["score"] > 0.7).astype(int)
    runs = [
        dict(protected=("g", "sex"), decision="d"),
        dict(protected=("g", "sex"), decision="d", intersection_reference="single", bootstrap=50),
        dict(protected=("g",), score="score", top=10.0, truth="y", truth_positive=("1",), truth_negative=("0",)),
        dict(protected=("g",), decision="d", strata=("s",)),
        dict(protected=("g",), decision="d", stage="stage"),
        dict(protected=("g",), decision="d", truth="y", truth_positive=("1",), selection_method="how",
             random=("random",)),
    ]
    for fields in runs:
        check_results(auditkit.audit(frame, **fields).results)
    table = pd.DataFrame({"region": ["N", "N", "S", "S"], "decision": ["yes", "no", "yes", "no"],
                          "count": ["40", "200", "<10", "0"]})
    counted = auditkit.audit(table, protected=("region",), decision="decision", positive=("yes",),
                             count_column="count", suppressed=("<10",), strata=())
    check_results(counted.results)
