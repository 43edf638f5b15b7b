"""Figures resting on cells the source suppressed are published as ranges holding every possible value.

The regression examples are those of the issue: a summary's selected count and its share, the method
section's selected and not-selected counts, a finding's group sizes, the limitations table's group size,
and share bounds that came out inverted and too narrow.  The property test draws published tables with
suppressed cells, runs the audit once, and checks every range in the results and the terminal summary
against the true figures of *every* completion of the table, computed here by plain arithmetic.
"""

from __future__ import annotations

import csv
import itertools
import math
import re

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from auditkit import audit
from auditkit.findings import _values
from auditkit.measure.rates import group_rates
from auditkit.results import summary_text
from conftest import run_cli

TABLE = "nationality,gender,selected,not_selected\n" + "\n".join([
    "Dutch,F,420,2100", "Dutch,M,380,1900", "EU,F,0,300", "EU,M,45,0", "non-EU,F,120,400", "non-EU,M,2,350"]) + "\n"
ARGS = ("--protected", "nationality", "--protected", "gender", "--cell", "selected=selected", "--cell",
        "not_selected=not_selected", "--suppressed", "0")


def _bundle(tmp_path, table: str = TABLE, args: tuple = ARGS):
    (tmp_path / "t.csv").write_text(table, encoding="utf-8")
    r = run_cli("audit", tmp_path / "t.csv", *args, "--out", tmp_path / "b")
    assert r.exit_code == 0, r.output
    return r.output


def test_the_selected_count_and_its_share_are_ranges_everywhere(tmp_path):
    """967 selected plus two suppressed cells of 0 to 9: '967–976 of them (16.0%–16.2%)', in the terminal,
    the report's summary and method section, in English and Dutch."""
    out = _bundle(tmp_path)
    assert "967–976 selected" in out
    for lang in ("en", "nl"):
        r = run_cli("report", tmp_path / "b", "--format", "md", "--lang", lang, "--out", tmp_path / "md")
        assert r.exit_code == 0, r.output
        md = (tmp_path / "md" / f"report.{lang}.md").read_text(encoding="utf-8")
        if lang == "en":
            assert "967–976 of them (16.0%–16.2%) were selected" in md
            assert "- Selected: 967–976" in md and "- Not selected: 5,050–5,059" in md
        else:
            assert "967–976" in md and "16,0%–16,2%" in md and "5.050–5.059" in md
        # the true share lies between 967/6035 and 976/6017 whatever the suppressed cells hold
        assert not re.search(r"\b967 (of them|van hen)", md)


def test_the_limitations_table_gives_a_suppressed_group_its_range(tmp_path):
    """A group whose every cell the source suppressed has 0 to 18 people, not 0."""
    _bundle(tmp_path, "nationality,selected,not_selected\nDutch,800,4000\nEU,0,0\nnon-EU,120,750\n", ARGS[:2] + ARGS[4:])
    r = run_cli("report", tmp_path / "b", "--format", "md", "--out", tmp_path / "md")
    assert r.exit_code == 0, r.output
    md = (tmp_path / "md" / "report.en.md").read_text(encoding="utf-8")
    limits = md[md.index("**Groups too small to compare**"):]
    row = next(line for line in limits.splitlines() if line.startswith("| EU |"))
    assert "0–18" in row and "| 0 |" not in row


def test_a_finding_on_a_bounded_comparison_gives_ranges():
    """'9 and 4,812 cases' was the low end of a suppressed group: the placeholders are ranges now."""
    df = pd.DataFrame({"g": ["a", "b", "c"], "selected": ["800", "*", "120"], "not_selected": ["4000", "12", "750"]})
    r = audit(df, protected=("g",), cells={"selected": "selected", "not_selected": "not_selected"},
              suppressed=("*",), references={"g": "a"})
    c = next(c for c in r.comparisons if c["group"] == "b")
    en, nl = _values(c, r.results, "en"), _values(c, r.results, "nl")
    assert en["n_group"] == "12–21" and en["n_reference"] == "4,800" and nl["n_group"] == "12–21"
    # the rate runs from 0/12 to 9/21 = 42.857...%: printed outwards
    assert en["group_rate"] == "0.0%–42.9%" and nl["group_rate"] == "0,0%–42,9%"
    assert en["ratio"].startswith("between 0.00 and ") and nl["ratio"].startswith("tussen 0,00 en ")
    lo, hi = en["difference_pp"].split("–")
    assert float(lo) <= 100 * (0 / 12 - 800 / 4800) and float(hi) >= 100 * (9 / 21 - 800 / 4800)


def test_share_bounds_are_the_true_extremes_and_ordered():
    """A share of a total that contains suppressed cells: enumerate every completion."""
    low = np.array([[[0, 0, 40], [0, 0, 4]], [[0, 0, 500], [0, 0, 80]]], dtype=float)  # (G, 2, 3)
    high = low.copy()
    high[0, 1, 2] = 13  # group 0's selected cell was suppressed: 4 to 13
    high[1, 0, 2] = 509  # group 1's not-selected cell: 500 to 509
    rates = group_rates(low, high, 0.95)
    shares = {0: [], 1: []}
    for s0, u1 in itertools.product(range(4, 14), range(500, 510)):
        n0, n1 = 40 + s0, u1 + 80
        shares[0].append(n0 / (n0 + n1))
        shares[1].append(n1 / (n0 + n1))
    for g in (0, 1):
        r = rates["share_of_population"]
        assert r.lower[g] <= r.upper[g]
        assert math.isclose(r.lower[g], min(shares[g])) and math.isclose(r.upper[g], max(shares[g]))


# --- the property: every printed range holds every completion ---------------------------------------------

_CELL = st.tuples(st.integers(0, 60), st.booleans())  # (value if published, suppressed?)


def _truths(table, k_range=range(0, 10)):
    """Every completion of the table: each suppressed cell takes each value in 0..9."""
    holes = [(i, j) for i, row in enumerate(table) for j, (_, sup) in enumerate(row) if sup]
    for fill in itertools.product(k_range, repeat=len(holes)):
        full = [[v for v, _ in row] for row in table]
        for (i, j), v in zip(holes, fill):
            full[i][j] = v
        yield full


def _inside(value: float, bounds, tol: float = 1e-9) -> bool:
    """``value`` within ``bounds``; a missing end is no bound (a ratio over a rate that may be 0)."""
    lo = -math.inf if bounds[0] is None else bounds[0]
    hi = math.inf if bounds[1] is None else bounds[1]
    assert lo <= hi, bounds
    return lo - tol <= value <= hi + tol


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_CELL, _CELL), min_size=2, max_size=3))
def test_every_printed_range_holds_every_completion(table):
    """Random published tables (groups × selected/not-selected, some cells '*'); for every completion,
    the results' bounds and the terminal summary's ranges hold the true counts, rates, shares, ratios and
    differences, and every interval is ordered."""
    holes = sum(sup for row in table for _, sup in row)
    assume(0 < holes <= 2)
    names = [f"g{i}" for i in range(len(table))]
    df = pd.DataFrame({"g": names,
                       "selected": ["*" if s[1] else str(s[0]) for s, _ in table],
                       "not_selected": ["*" if u[1] else str(u[0]) for _, u in table]})
    r = audit(df, protected=("g",), cells={"selected": "selected", "not_selected": "not_selected"},
              suppressed=("*",), references={"g": "g0"}, min_group_size=1)
    results = r.results
    groups = {g["group"]: g for g in results["groups"]}
    comps = {c["group"]: c for c in results["comparisons"]}
    text = summary_text(results)
    for full in _truths(table):
        n = [s + u for s, u in full]
        total, selected = sum(n), sum(s for s, _ in full)
        assert _inside(total, results["population"].get("people_bounds") or [results["population"]["people"]] * 2)
        assert _inside(selected, results["design"].get("selected_bounds") or [results["design"]["selected"]] * 2)
        for i, name in enumerate(names):
            g, (s, _) = groups[name], full[i]
            b = g.get("bounds") or {}
            assert _inside(n[i], b.get("n") or [g["n"]] * 2) and _inside(s, b.get("selected") or [g["selected"]] * 2)
            for metric, value in (("selection_rate", s / n[i] if n[i] else None),
                                  ("share_of_population", n[i] / total if total else None),
                                  ("share_of_selected", s / selected if selected else None)):
                rec = g[metric]
                if value is None or rec.get("reason"):
                    continue
                assert _inside(value, rec.get("bounds") or [rec["value"]] * 2), (metric, name, full, rec)
                assert rec["ci_low"] <= rec["ci_high"]
            c = comps.get(name)
            rate0 = full[0][0] / n[0] if n[0] else None
            if c is None or rate0 is None or not n[i] or c.get("reason"):
                continue
            rate = s / n[i]
            if c.get("difference") is not None or c.get("difference_bounds"):
                assert _inside(rate - rate0, c.get("difference_bounds") or [c["difference"]] * 2)
            if rate0 > 0 and (c.get("ratio") is not None or c.get("ratio_bounds")):
                assert _inside(rate / rate0, c.get("ratio_bounds") or [c["ratio"]] * 2)
            for key in ("ratio_ci", "difference_ci"):
                ci = c.get(key) or [None, None]
                if None not in ci[:2]:
                    assert ci[0] <= ci[1], (key, c)
        # the terminal summary: each group's n and selection rate, as printed, hold the truth
        for i, name in enumerate(names):
            m = re.search(rf"^  {name}\s+([\d,]+(?:–[\d,]+)?)\s+(\S+)", text, re.M)
            assert m, text
            lo, _, hi = m.group(1).replace(",", "").partition("–")
            assert int(lo) <= n[i] <= int(hi or lo)
            shown = m.group(2)
            if n[i] and shown not in ("—",):
                plo, _, phi = shown.replace("%", "").partition("–")
                assert float(plo) - 0.05 <= 100 * full[i][0] / n[i] <= float(phi or plo) + 0.05 if not phi else \
                    float(plo) <= 100 * full[i][0] / n[i] <= float(phi)


def test_every_rate_table_gives_its_counts_as_ranges(tmp_path):
    """A suppressed tp: the hit-rate table's selected-with-outcome count and fraud count are ranges, like
    the selection-rate table's, in the report and in the table file."""
    table = "g,tp,fp,tn,fn\na,80,400,3000,60\nb,0,150,900,30\nc,40,200,1200,20\n"
    (tmp_path / "t.csv").write_text(table, encoding="utf-8")
    r = run_cli("audit", tmp_path / "t.csv", "--protected", "g", "--cell", "tp=tp", "--cell", "fp=fp", "--cell",
                "tn=tn", "--cell", "fn=fn", "--suppressed", "0", "--metric", "selection_rate", "--metric", "ppv",
                "--out", tmp_path / "b")
    assert r.exit_code == 0, r.output
    r = run_cli("report", tmp_path / "b", "--format", "md", "--format", "csv", "--out", tmp_path / "md")
    assert r.exit_code == 0, r.output
    md = (tmp_path / "md" / "report.en.md").read_text(encoding="utf-8")
    hits = md[md.index("**Hit rate"):]
    row = next(line for line in hits.splitlines() if line.startswith("| b |"))
    assert row.startswith("| b | 150–159 | \\<10 |"), row  # selected with an outcome: fp 150 + tp 0 to 9
    sel = md[md.index("**Selection rate by g**"):]
    row = next(line for line in sel.splitlines() if line.startswith("| b |"))
    assert row.startswith("| b | 1,080–1,089 | 150–159 |"), row
    rows = list(csv.reader((tmp_path / "md" / "report.en.csv").read_text(encoding="utf-8").splitlines()))
    assert any(row[:7] == ["g", "b", "b", "", "ppv", "150 to 159", "<10"] for row in rows), rows
