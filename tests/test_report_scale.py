"""Reports of attributes with many groups: statuses, largest disparities, the spread of ratios, the table file.

And the sparse exact solver the suppression's attacker uses, against numpy's rank on random systems.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from html import unescape

import numpy as np
import pytest

from auditkit.report._attacker import determined
from auditkit.report._build_many import LARGEST, MANY, supported
from conftest import run_cli


def _table(path, areas: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["area", "nationality", "selected", "not_selected"])
        for a in range(areas):
            for j, nat in enumerate(("Dutch", "other")):
                n = int(rng.integers(400, 900))  # no cell below 10: nothing withheld
                s = int(rng.binomial(n, 0.06 + 0.05 * j + 0.04 * (a % 7 == 0)))
                w.writerow([f"area{a:03d}", nat, s, n - s])


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    root = tmp_path_factory.mktemp("many")
    _table(root / "t.csv", 70)
    out = root / "b"
    # One comparison per group (the condensed section's figures are checked on it); the default, within
    # the other attribute's level, is checked in test_within_intersections_of_many_groups_list_each_comparison.
    r = run_cli("audit", root / "t.csv", "--protected", "area", "--protected", "nationality", "--cell",
                "selected=selected", "--cell", "not_selected=not_selected", "--intersection-reference", "single",
                "--out", out, "--quiet")
    assert r.exit_code == 0, r.output
    return out


def test_within_intersections_of_many_groups_list_each_comparison(tmp_path):
    """Default references: a condensed section per attribute compared, and one table-file row per comparison."""
    _table(tmp_path / "t.csv", 45)
    out = tmp_path / "b"
    r = run_cli("audit", tmp_path / "t.csv", "--protected", "area", "--protected", "nationality", "--cell",
                "selected=selected", "--cell", "not_selected=not_selected", "--out", out, "--quiet")
    assert r.exit_code == 0, r.output
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    rows = list(csv.DictReader((out / "report.en.csv").read_text(encoding="utf-8").splitlines()))
    inter = [c for c in results["comparisons"] if c["attribute"] == "area × nationality"]
    assert {c["varies"] for c in inter} == {"area", "nationality"}
    listed = {(r["group"], r["compared_with"]) for r in rows if r["attribute"] == "area × nationality"}
    assert {(c["group"], c["reference"]) for c in inter} <= listed
    text = _text(out / "report.en.html")
    assert "Compared by area:" in text and "Compared by nationality:" in text


def _text(path) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))


def test_the_table_file_holds_every_group_and_is_listed_and_verified(many):
    """report.en.csv: one row per group and rate compared, in the manifest, and re-rendered by verify."""
    results = json.loads((many / "results.json").read_text(encoding="utf-8"))
    rows = list(csv.DictReader((many / "report.en.csv").read_text(encoding="utf-8").splitlines()))
    assert len(rows) == len(results["groups"]) > MANY
    by_key = {(r["attribute"], r["group"], r["compared_with"]): r for r in rows}
    for c in results["comparisons"]:
        row = by_key[(c["attribute"], c["group"], c["reference"])]
        assert row["status"] == c["status"]
        if row["ratio"] not in ("withheld", ""):
            assert float(row["ratio"]) == pytest.approx(c["ratio"], rel=1e-5)
    manifest = json.loads((many / "manifest.json").read_text(encoding="utf-8"))
    assert "report.en.csv" in {r["path"] for r in manifest["reports"]}
    r = run_cli("verify", many)
    assert r.exit_code == 0 and "report.en.csv (rendered again: the same bytes)" in r.output, r.output


def test_a_many_group_attribute_shows_statuses_largest_disparities_and_spread(many):
    """The counts per status, the 20 largest supported disparities, and bins adding up to the ratios."""
    results = json.loads((many / "results.json").read_text(encoding="utf-8"))
    text = _text(many / "report.en.html")
    comps = [c for c in results["comparisons"] if c["attribute"] == "area × nationality"]
    assert len(comps) > MANY
    assert "area × nationality has 140 groups: too many for one table" in text and "withheld  " not in text
    statuses = Counter(c["status"] for c in comps)  # no small cells here: nothing withheld
    for status, n in statuses.items():
        assert re.search(rf"{status.replace('_', ' ')}\s+{n}\b", text), status
    ranked = sorted((c for c in comps if supported(c) > 0), key=lambda c: (-supported(c), c["group"]))
    top = [c["group"] for c in ranked[:LARGEST]]
    caption = text.index("the reference group and the 20 largest disparities")
    section = text[caption:caption + 20000]
    positions = [section.index(g + " ") for g in top]
    assert positions == sorted(positions)  # in order of the disparity the interval supports
    # the histogram's table: its bins count every published ratio once
    bins = text.index("area × nationality: number of groups per range of the ratio")
    rows = re.findall(r"(\d+\.\d\d)\s+(\d+\.\d\d)\s+(\d+)", text[bins:bins + 4000])
    assert sum(int(n) for _, _, n in rows) == len(comps)
    lows = [math.log2(float(a)) for a, _, _ in rows]
    assert all(b - a == pytest.approx(0.25, abs=0.02) for a, b in zip(lows, lows[1:]))
    assert '<svg' in (many / "report.en.html").read_text(encoding="utf-8")


def test_the_report_of_many_groups_stays_short(many):
    """No table of every group in the report: the Markdown stays far below one line per group and rate."""
    r = run_cli("report", many, "--format", "md", "--lang", "nl", "--out", many.parent / "md")
    assert r.exit_code == 0, r.output
    md = (many.parent / "md" / "report.nl.md").read_text(encoding="utf-8")
    assert "heeft 140 groepen" in md and "report.nl.csv" in md
    table_rows = [line for line in md.splitlines() if line.startswith("| area")]
    assert len(table_rows) < 140


@pytest.mark.parametrize("seed", range(25))
def test_the_sparse_solver_agrees_with_numpy_rank(seed):
    """A column is fixed by a system exactly when adding its unit row leaves the rank unchanged."""
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(1, 9)), int(rng.integers(1, 10))
    a = rng.integers(-1, 2, size=(m, n)) * (rng.random((m, n)) < 0.5)
    rows = [{j: int(v) for j, v in enumerate(r) if v} for r in a]
    rank = np.linalg.matrix_rank(a) if a.any() else 0
    expected = set()
    for j in range(n):
        unit = np.zeros((1, n))
        unit[0, j] = 1
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            expected.add(j)
    assert determined(rows, n) == expected
