"""Real audit material opens at the first try: spreadsheets, repeated columns, broken files (issue 11).

Every fixture is built here: spreadsheets with openpyxl (and odfpy through pandas for .ods),
CSV files as text.  Each rule of docs/opening-real-files.md has a test that fails without it.
"""

from __future__ import annotations

import csv
import json
import random

import openpyxl
import pytest
from conftest import assert_user_error, run_cli, write_text

import auditkit
from auditkit.load.data import read_columns

HEADER = ["group", "selected", "found", "how"]


def _rows(n: int = 240, seed: int = 3) -> list[list]:
    rnd = random.Random(seed)
    return [[rnd.choice(["a", "b", "c"]), rnd.choice([0, 1]), rnd.choice([0, 1]), rnd.choice(["random", "model"])]
            for _ in range(n)]


def _csv(path, rows, header=HEADER):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _agency_xlsx(path, rows, *, title=True, notes=True, extra_sheet=True):
    """An agency-style workbook: a merged title row, a blank row, the table, a source line below."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Selecties"
    if title:
        ws.append(["Selecties 2023 naar groep"])
        ws.merge_cells("A1:D1")
        ws.append([])
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    if notes:
        ws.append([])
        ws.append(["Bron: eigen bewerking"])
        ws.append(["* cijfers voorlopig"])
    if extra_sheet:
        wb.create_sheet("Toelichting")["A1"] = "Deze tabel toont ..."
    wb.save(path)
    return path


def _strip_input(results: dict) -> dict:
    """The results without the input description (file name, kind, notes on how the file was read)."""
    out = json.loads(json.dumps(results))
    out["input"].pop("source")
    out["input"].pop("kind")
    out["population"].pop("source")
    out["notes"] = [n for n in out["notes"] if not n.startswith(("d.xlsx", "d.ods", "d.csv"))]
    return out


AUDIT = ("--protected", "group", "--decision", "selected", "--truth", "found", "--min-group-size", "1")


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
def test_spreadsheet_and_csv_give_the_same_results_on_every_engine(tmp_path, engine):
    """Title rows, a notes block and a second sheet: the figures equal those of the same table as CSV."""
    rows = _rows()
    _agency_xlsx(tmp_path / "d.xlsx", rows)
    _csv(tmp_path / "d.csv", rows)
    spec = auditkit.AuditSpec(protected=("group",), decision="selected", truth="found", min_group_size=1)
    from_sheet = auditkit.audit(tmp_path / "d.xlsx", spec, engine=engine).results
    from_csv = auditkit.audit(tmp_path / "d.csv", spec).results
    assert from_sheet["input"]["kind"] == "spreadsheet"
    assert from_sheet["population"]["rows_read"] == len(rows)
    sheet_notes = [n for n in from_sheet["notes"] if n.startswith("d.xlsx")]
    assert any("header is row 3" in n and "'Selecties 2023 naar groep'" in n for n in sheet_notes)
    assert any("'Bron: eigen bewerking'" in n and "notes and left out" in n for n in sheet_notes)
    assert any("'Toelichting'" in n and "--sheet" in n for n in sheet_notes)
    from_sheet.pop("engine")
    from_csv.pop("engine")
    assert json.dumps(_strip_input(from_sheet), sort_keys=True) == json.dumps(_strip_input(from_csv), sort_keys=True)


def test_spreadsheet_cli_json_is_byte_identical_to_csv_apart_from_the_input(tmp_path):
    """`auditkit audit d.xlsx` and `auditkit audit d.csv` write the same JSON but for the input description."""
    rows = _rows(120, seed=5)
    _agency_xlsx(tmp_path / "d.xlsx", rows, title=False, notes=False, extra_sheet=False)
    _csv(tmp_path / "d.csv", rows)
    for name in ("d.xlsx", "d.csv"):
        result = run_cli("audit", tmp_path / name, *AUDIT, "--json", tmp_path / f"{name}.json", "--quiet")
        assert result.exit_code == 0, result.output
    sheet = (tmp_path / "d.xlsx.json").read_text().replace('"d.xlsx"', '"d.csv"').replace('"spreadsheet"', '"csv"')
    assert sheet == (tmp_path / "d.csv.json").read_text()


def test_ods_reads_like_xlsx(tmp_path):
    """An OpenDocument sheet (written by pandas with odfpy) gives the figures of the CSV."""
    import pandas as pd

    rows = _rows(90, seed=8)
    pd.DataFrame(rows, columns=HEADER).to_excel(tmp_path / "d.ods", engine="odf", index=False)
    _csv(tmp_path / "d.csv", rows)
    spec = auditkit.AuditSpec(protected=("group",), decision="selected", truth="found", min_group_size=1)
    a = auditkit.audit(tmp_path / "d.ods", spec).results
    b = auditkit.audit(tmp_path / "d.csv", spec).results
    assert json.dumps(_strip_input(a), sort_keys=True) == json.dumps(_strip_input(b), sort_keys=True)


def test_sheet_by_name_and_number_and_header_row(tmp_path):
    """--sheet picks a sheet by name or 1-based number; --header-row names the header's own row number."""
    wb = openpyxl.Workbook()
    wb.active.title = "Uitleg"
    wb.active["A1"] = "uitleg"
    ws = wb.create_sheet("Data")
    ws.append(["Tabel 1", "voorlopig"])  # a two-cell title row fools the detection; --header-row fixes it
    ws.append(["g", "d"])
    for g, d in [("a", 1), ("a", 0), ("b", 1)]:
        ws.append([g, d])
    wb.save(tmp_path / "w.xlsx")
    by_name = read_columns(tmp_path / "w.xlsx", ["g", "d"], sheet="Data", header_row=2)
    by_number = read_columns(tmp_path / "w.xlsx", ["g", "d"], sheet="2", header_row=2)
    assert by_name.table.to_pydict() == by_number.table.to_pydict() == {"g": ["a", "a", "b"], "d": ["1", "0", "1"]}
    assert by_name.row_numbers.tolist() == [3, 4, 5]
    assert_user_error(run_cli("audit", tmp_path / "w.xlsx", "--sheet", "Dat", "--protected", "g", "--decision", "d"),
                      2, "--sheet 'Dat'", "Did you mean 'Data'?", "'Uitleg', 'Data'")
    assert_user_error(run_cli("audit", tmp_path / "w.xlsx", "--sheet", "3", "--protected", "g", "--decision", "d"),
                      2, "--sheet 3", "2 sheet(s)")


def test_merged_header_cells_name_each_column(tmp_path):
    """A header cell merged over two columns with sub-labels below gives 'selected yes', 'selected no'."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["group", "selected", None, "total"])
    ws.merge_cells("B1:C1")
    ws.merge_cells("A1:A2")
    ws.append([None, "yes", "no", None])
    ws.append(["a", 3, 7, 10])
    ws.append(["b", 4, 6, 10])
    wb.save(tmp_path / "m.xlsx")
    src = read_columns(tmp_path / "m.xlsx", None)
    assert list(src.table.column_names) == ["group", "selected yes", "selected no", "total"]
    assert src.table.column("selected no").to_pylist() == ["7", "6"]
    assert any("header spans rows 1 and 2" in n for n in src.notes)


def test_group_label_merged_down_rows_labels_every_row(tmp_path):
    """A group cell merged over its rows (a layout for reading) gives every row its group."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["region", "group", "n"])
    ws.append(["North", "a", 1])
    ws.append([None, "b", 2])
    ws.merge_cells("A2:A3")
    wb.save(tmp_path / "g.xlsx")
    assert read_columns(tmp_path / "g.xlsx", ["region"]).table.column("region").to_pylist() == ["North", "North"]


def test_spreadsheet_options_on_a_csv_are_a_usage_error(tmp_path):
    path = write_text(tmp_path / "d.csv", "g,d\na,1\n")
    assert_user_error(run_cli("audit", path, "--sheet", "1", "--protected", "g", "--decision", "d"), 2,
                      "--sheet applies to spreadsheets")


def test_verify_reruns_a_spreadsheet_audit(tmp_path):
    """`verify --data` re-reads the spreadsheet with the recorded sheet and header row."""
    _agency_xlsx(tmp_path / "d.xlsx", _rows(60))
    result = run_cli("audit", tmp_path / "d.xlsx", *AUDIT, "--sheet", "Selecties", "--header-row", "3",
                     "--out", tmp_path / "b", "--quiet", "--no-report")
    assert result.exit_code == 0, result.output
    check = run_cli("verify", tmp_path / "b", "--data", tmp_path / "d.xlsx")
    assert check.exit_code == 0 and "every figure is the same" in check.output, check.output


# --- repeated column names ---------------------------------------------------------------------


def test_identical_duplicate_columns_are_accepted_with_a_note(tmp_path):
    """Two 'group' columns with the same value in every row are one column; a note says so."""
    path = write_text(tmp_path / "dup.csv", "group,decision,group\na,1,a\nb,0,b\na,0,a\n")
    r = auditkit.audit(path, protected=("group",), decision="decision", min_group_size=1).results
    assert [g["n"] for g in r["groups"]] == [2, 1]
    assert any("'group' appears 2 times" in n and "first copy is used" in n for n in r["notes"])


@pytest.mark.parametrize("engine", ["duckdb", "dask"])
def test_duplicate_columns_on_the_engines(tmp_path, engine):
    """The engines accept identical copies and refuse differing ones with the same messages."""
    same = write_text(tmp_path / "same.csv", "group,decision,group\na,1,a\nb,0,b\na,0,a\n")
    r = auditkit.audit(same, protected=("group",), decision="decision", min_group_size=1, engine=engine).results
    assert [g["n"] for g in r["groups"]] == [2, 1]
    differ = write_text(tmp_path / "differ.csv", "group,decision,group\na,1,a\nb,0,c\n")
    with pytest.raises(auditkit.InputDataError, match="data row 2: 'group#1' holds 'b', 'group#2' holds 'c'"):
        auditkit.audit(differ, protected=("group",), decision="decision", engine=engine)


def test_differing_copies_are_addressed_by_number(tmp_path):
    """'group#2' names the second copy, 'group#1' the first."""
    path = write_text(tmp_path / "dup.csv", "group,decision,group\na,1,x\nb,0,y\na,0,x\n")
    second = auditkit.audit(path, protected=("group#2",), decision="decision", min_group_size=1).results
    first = auditkit.audit(path, protected=("group#1",), decision="decision", min_group_size=1).results
    assert [g["group"] for g in second["groups"]] == ["x", "y"]
    assert [g["group"] for g in first["groups"]] == ["a", "b"]


# --- the documentation page ----------------------------------------------------------------------


def _page_commands() -> list[str]:
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "opening-real-files.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(auditkit .+?)\n```", page)


@pytest.mark.parametrize("command", _page_commands())
def test_every_command_of_the_page_runs_as_written(command, monkeypatch):
    """docs/opening-real-files.md: each fenced command runs from the repository root on examples/real-files."""
    import shlex
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    result = run_cli(*shlex.split(command)[1:])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output


def test_the_page_shows_the_notes_the_example_gives(monkeypatch):
    """The notes quoted on the page are the ones the workbook example prints (word for word)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    page = (root / "docs" / "opening-real-files.md").read_text(encoding="utf-8")
    result = run_cli(*_page_commands()[0].split()[1:])
    printed = [line for line in result.output.splitlines() if line.startswith("Note: selections.xlsx")]
    assert len(printed) == 4
    for line in printed:
        assert line in page
