"""`auditkit linkage-request`: the request's files, and the printed command run on a filled-in returned table."""

from __future__ import annotations

import csv
import json
import shlex

import pytest

from conftest import assert_no_traceback, run_cli

GROUPS = ("--groups", "migration_background=none,western,non-western", "--groups", "gender=F,M")
#: Per group, the share selected at each of the three steps (people entering the first step: 2,000 or 300).
RATES = {"none": (0.10, 0.30, 0.20), "western": (0.12, 0.30, 0.20), "non-western": (0.25, 0.50, 0.20)}


def _fill(path, first: dict[str, int]) -> list[list[str]]:
    """Synthetic counts for a stage table; counts under 10 written '<10' as the office would."""
    with path.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    entering: dict[tuple, int] = {}
    stages = ["1 risk score", "2 manual selection", "3 home visit"]
    for row in body:
        group, stage, decision = (row[0], row[1]), row[2], row[3]
        step = stages.index(stage)
        n = entering.setdefault((group, step), first[row[0]] if step == 0 else entering[(group, step - 1)])
        selected = int(n * RATES[row[0]][step])
        entering[(group, step + 1)] = selected
        count = selected if decision == "selected" else n - selected
        row[4] = "<10" if count < 10 else str(count)
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *body])
    return body


def test_request_files_and_the_printed_command_audits_the_returned_table(tmp_path, monkeypatch):
    out = tmp_path / "request"
    result = run_cli("linkage-request", "--template", "student-finance-control", "--out", out, *GROUPS)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "LEESMIJ.md", "README.md", "audit-command.txt", "disclosure.md", "return-table.csv",
        "student-finance-control-returned.yaml", "variables.csv"]
    header = (out / "return-table.csv").read_text().splitlines()[0]
    assert header == "migration_background,gender,stage,decision,count"
    assert len((out / "return-table.csv").read_text().splitlines()) == 1 + 3 * 2 * 3 * 2
    assert "Minimum cell size 10" in (out / "disclosure.md").read_text()
    command = (out / "audit-command.txt").read_text().strip()
    assert command in result.output and command in (out / "README.md").read_text()
    assert "--suppressed '<10' --suppressed-range 0-9" in command
    body = _fill(out / "return-table.csv", {"none": 2000, "western": 300, "non-western": 300})
    assert sum(r[4] == "<10" for r in body) >= 2  # suppressed cells included
    monkeypatch.chdir(out)
    audited = run_cli(*shlex.split(command)[1:])
    assert_no_traceback(audited)
    assert audited.exit_code == 0, audited.output
    results = json.loads((out / "audit-of-returned-table" / "results.json").read_text())
    assert results["input"]["kind"] == "count table"
    home = next(s for s in results["stages"] if s["attribute"] == "migration_background"
                and s["group"] == "western" and s["stage"] == "3 home visit")
    # Both of western's home-visit cells were suppressed ('<10', two genders): the rate is a range, not a guess.
    assert home["selection_rate"]["bounds"] == [0.0, 1.0] and home["comparison"]["ratio"] is None
    step1 = next(s for s in results["stages"] if s["attribute"] == "migration_background"
                 and s["group"] == "non-western" and s["stage"] == "1 risk score")
    # 2 x 300 non-western people entered; 2 x 75 were selected: 25% against none's 10% (ratio 2.5).
    assert step1["comparison"]["ratio"] == pytest.approx(2.5)


def test_request_without_stages_with_outcome(tmp_path, monkeypatch):
    """A template with an outcome: the table has an outcome column, and the command reads it."""
    out = tmp_path / "request"
    result = run_cli("linkage-request", "--template", "benefit-fraud-nationality", "--out", out, "--min-cell", "5",
                     "--marker", "x", "--groups", "nationality=Dutch,non-Dutch")
    assert result.exit_code == 0, result.output
    table = (out / "return-table.csv").read_text().splitlines()
    assert table[0] == "nationality,decision,outcome,count" and len(table) == 1 + 2 * 2 * 3
    counts = {("Dutch", "selected"): (30, 170, 0), ("Dutch", "not_selected"): (0, 0, 1800),
              ("non-Dutch", "selected"): (25, 75, 3), ("non-Dutch", "not_selected"): (0, 0, 400)}
    rows = [table[0]]
    for line in table[1:]:
        nat, decision, outcome, _ = line.split(",")
        c = counts[(nat, decision)][("positive", "negative", "unknown").index(outcome)]
        rows.append(f"{nat},{decision},{outcome},{'x' if 0 < c < 5 else c}")
    (out / "return-table.csv").write_text("\n".join(rows) + "\n")
    command = (out / "audit-command.txt").read_text().strip()
    assert "--truth outcome" in command and "--suppressed x --suppressed-range 0-4" in command
    monkeypatch.chdir(out)
    audited = run_cli(*shlex.split(command)[1:])
    assert audited.exit_code == 0, audited.output
    results = json.loads((out / "audit-of-returned-table" / "results.json").read_text())
    sel = next(c for c in results["comparisons"] if c["metric"] == "selection_rate")
    assert sel["group"] == "non-Dutch" and sel["ratio_bounds"][0] < sel["ratio_bounds"][1]


def test_request_refuses_a_non_empty_folder_and_bad_groups(tmp_path):
    (tmp_path / "x.txt").write_text("x")
    result = run_cli("linkage-request", "--template", "benefit-fraud-nationality", "--out", tmp_path)
    assert result.exit_code == 1 and "not empty" in result.output
    result = run_cli("linkage-request", "--template", "benefit-fraud-nationality", "--out", tmp_path / "n",
                     "--groups", "nationality")
    assert result.exit_code == 2 and "ATTR=A,B,C" in result.output
