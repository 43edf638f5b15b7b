"""`--period` on the command line: rows, dates, count tables and engines give the same analysis over time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli

ROOT = Path(__file__).parents[1]
DATA = ROOT / "datasets" / "welfare-over-time"
COMMON = ("--protected", "nationality", "--protected", "gender", "--decision", "selected", "--positive", "Ja",
          "--reference", "nationality=Dutch", "--reference", "gender=M", "--max-depth", "1", "--quiet")


def _periods(tmp_path: Path, name: str, *args: object) -> dict:
    out = tmp_path / f"{name}.json"
    result = run_cli("audit", *args, *COMMON, "--json", out)
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def by_year(tmp_path_factory) -> dict:
    return _periods(tmp_path_factory.mktemp("y"), "year", DATA / "decisions.csv", "--period", "year")


def test_rows_dates_and_count_table_agree(by_year: dict, tmp_path: Path) -> None:
    """The decision dates bucketed into years, and the published count table, give the same periods record
    (and the same figures) as the year column of the rows."""
    by_date = _periods(tmp_path, "date", DATA / "decisions.csv", "--period", "decision_date", "--period-freq", "year")
    counts = _periods(tmp_path, "counts", DATA / "counts.csv", "--count-column", "count", "--period", "year")
    for other in (by_date, counts):
        for key in ("levels", "per_period", "over_time", "shifts"):
            assert other["periods"][key] == by_year["periods"][key], key
    assert by_date["periods"]["column"] == "decision_date" and by_year["periods"]["unit"] == "year"
    assert by_year["multiple_testing"]["family_size"] == counts["multiple_testing"]["family_size"]


@pytest.mark.parametrize("engine", ["duckdb", "dask"])
def test_engines_agree(by_year: dict, tmp_path: Path, engine: str) -> None:
    """DuckDB and Dask count the periods as pandas does: the same periods record."""
    pytest.importorskip(engine)
    other = _periods(tmp_path, engine, DATA / "decisions.csv", "--period", "year", "--engine", engine)
    assert other["periods"] == by_year["periods"]


def test_csv_tables_and_bundle(tmp_path: Path) -> None:
    """--csv writes periods.csv and over_time.csv; --out a bundle whose report has the section over time."""
    result = run_cli("audit", DATA / "decisions.csv", *COMMON, "--period", "year", "--csv", tmp_path / "csv",
                     "--out", tmp_path / "bundle")
    assert result.exit_code == 0, result.output
    periods = (tmp_path / "csv" / "periods.csv").read_text().splitlines()
    assert periods[0].startswith('"period","attribute","group"') and len(periods) == 1 + 8 * 3
    over = (tmp_path / "csv" / "over_time.csv").read_text()
    assert '"non-EU","Dutch","selection_rate","8","8","4","2015 2016 2017 2018"' in over
    html = (tmp_path / "bundle" / "report.en.html").read_text()
    assert 'id="periods"' in html and "From 2019, a difference in the selection rate was no longer detected" in html
    findings = json.loads((tmp_path / "bundle" / "findings.json").read_text())
    kinds = {f["kind"] for f in findings}
    assert {"persistence", "shift", "change_over_time"} <= kinds
    verify = run_cli("verify", tmp_path / "bundle", "--data", DATA / "decisions.csv")
    assert verify.exit_code == 0, verify.output


def test_docs_page_shows_what_the_command_prints(tmp_path: Path) -> None:
    """docs/over-time.md: the pasted table over time and the findings are what the page's command gives."""
    import re

    page = (ROOT / "docs" / "over-time.md").read_text(encoding="utf-8")
    command = next(line for line in page.splitlines() if line.startswith("auditkit audit") and "--period year --out"
                   in line)
    args = command.split()[2:]
    args[args.index("--out") + 1] = str(tmp_path / "over-time")
    result = run_cli("audit", ROOT / args[0], *args[1:])
    assert result.exit_code == 0, result.output
    printed = result.output[result.output.index("Over time, by year"):result.output.index("\nTests:")].rstrip()
    pasted = re.search(r"```text\n(Over time, by year.*?)\n```", page, re.S).group(1)
    assert pasted == printed
    findings = json.loads((tmp_path / "over-time" / "findings.json").read_text())
    for f in findings:
        if f["kind"] in ("persistence", "shift", "change_over_time", "trend"):
            assert f"- `{f['id']}` ({f['kind'].replace('_', ' ')}): {f['statement']['en']}" in page


def test_count_table_with_suppressed_cells(tmp_path: Path) -> None:
    """An agency's table whose smallest cells are published as '<20': per-period figures become bounds, the
    pooled figures over periods say why they are missing, and the bundle's report renders and verifies."""
    import csv

    with (DATA / "counts.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    hidden = 0
    for r in rows:
        if int(r["count"]) < 20:
            r["count"], hidden = "<20", hidden + 1
    assert hidden >= 3
    path = tmp_path / "published.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "bundle"
    result = run_cli("audit", path, "--count-column", "count", "--suppressed", "<20", "--suppressed-range", "0-19",
                     *COMMON, "--period", "year", "--out", out)
    assert result.exit_code == 0, result.output
    periods = json.loads((out / "results.json").read_text())["periods"]
    bounded = [c for p in periods["per_period"] for c in p["comparisons"] if c["ratio_bounds"]]
    assert bounded and all(c["ratio"] is None and c["ratio_bounds"][0] <= c["ratio_bounds"][1] for c in bounded)
    for o in periods["over_time"]:
        assert o["trend"]["status"] == "undefined" and "suppressed" in o["trend"]["reason"]
        assert all(r["pooled"]["ratio"] is None for r in o["persistence"]["runs"])
    assert 'id="periods"' in (out / "report.en.html").read_text()
    assert run_cli("verify", out, "--data", path).exit_code == 0
