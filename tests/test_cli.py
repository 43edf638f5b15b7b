"""The `auditkit audit` command: exit codes, messages without tracebacks, and its output files."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import assert_no_traceback, assert_user_error, audit_json, group, run_cli, write_text

BASE = ("--protected", "group", "--decision", "decision")


# --- bad files: exit 1, a message naming the file, no traceback ----------------------------------


def test_missing_file_names_it_and_suggests_the_near_name(decisions_csv):
    """A misspelt data file exits 1 with its name and 'Did you mean' the existing file."""
    result = run_cli("audit", decisions_csv.parent / "decision.csv", *BASE)
    assert_user_error(result, 1, "decision.csv' does not exist", "Did you mean 'decisions.csv'?")


def test_misspelt_column_says_did_you_mean(decisions_csv):
    """A misspelt --protected column exits 1 with the file, the name and 'Did you mean'."""
    result = run_cli("audit", decisions_csv, "--protected", "gruop", "--decision", "decision")
    assert_user_error(result, 1, "decisions.csv", "no column named 'gruop'", "Did you mean 'group'?",
                      "The columns are")


@pytest.mark.parametrize(("name", "content", "fragments"), [
    ("empty.csv", b"", ("'empty.csv' is empty",)),
    ("header.csv", b"group,decision\n", ("'header.csv' has a header but no rows",)),
    ("table.xlsx", b"PK\x03\x04", ("'table.xlsx' could not be opened as a .xlsx spreadsheet", "save the sheet as CSV")),
    ("table.sav", b"$FL2", ("'table.sav'", "'.sav'", "expected .csv")),
    ("dup.csv", b"group,decision,group\na,1,b\n", ("dup.csv", "'group' appears 2 times", "'group#1', 'group#2'")),
    ("latin.csv", "group,decision\nBelgë,1\n".encode("latin-1"), ("latin.csv", "line 2", "--encoding latin-1")),
    ("ragged.csv", b"group,decision\na,1\nb,0,extra\n", ("ragged.csv", "row 3", "3 fields")),
])
def test_unreadable_files_exit_1_with_a_message(tmp_path, name, content, fragments):
    """Empty, header-only, spreadsheet, unknown-format, duplicate-header, latin-1 and ragged files exit 1."""
    (tmp_path / name).write_bytes(content)
    assert_user_error(run_cli("audit", tmp_path / name, *BASE), 1, *fragments)


# --- bad values --------------------------------------------------------------------------------


def test_outcome_with_three_values_lists_them(tmp_path):
    """A three-valued outcome without --truth-negative exits 1 listing the values and the option."""
    path = write_text(tmp_path / "o.csv", "group,decision,y\na,1,fraud\na,0,none\nb,1,unknown\n")
    assert_user_error(run_cli("audit", path, *BASE, "--truth", "y", "--truth-positive", "fraud"), 1,
                      "o.csv", "'y'", "'none', 'unknown'", "--truth-negative")


def test_truth_negative_notes_the_unknown_value(tmp_path):
    """With --truth-negative the third value counts as unknown and the summary notes it."""
    path = write_text(tmp_path / "o.csv", "group,decision,y\na,1,fraud\na,0,none\nb,1,unknown\nb,0,none\n")
    result = run_cli("audit", path, *BASE, "--truth", "y", "--truth-positive", "fraud", "--truth-negative", "none",
                     "--min-group-size", "1")
    assert result.exit_code == 0, result.output
    assert "Note: y: 1 row holds 'unknown'" in result.stdout


def test_positive_value_not_in_column_lists_values(decisions_csv):
    """--positive 2 on a 0/1 column exits 1 naming the column and its values ('Ja' would mean 1 there)."""
    assert_user_error(run_cli("audit", decisions_csv, *BASE, "--positive", "2"), 1,
                      "--positive '2' does not occur in column 'decision'", "'0', '1'")


def test_decision_without_positive_on_text_values(tmp_path):
    """A Ja/Nee decision column without --positive exits 1 and asks for --positive."""
    path = write_text(tmp_path / "d.csv", "group,decision\na,Ja\nb,Nee\n")
    assert_user_error(run_cli("audit", path, *BASE), 1, "'decision' holds 'Ja', 'Nee'", "--positive")


def test_undeclared_suppression_marker(tmp_path):
    """A '*' in a count column exits 1 and suggests --suppressed '*'."""
    path = write_text(tmp_path / "c.csv", "group,decision,n\na,1,*\na,0,40\n")
    assert_user_error(run_cli("audit", path, *BASE, "--count-column", "n"), 1, "'*' (row 2)", "--suppressed '*'")


# --- usage errors: exit 2 -----------------------------------------------------------------------


@pytest.mark.parametrize(("args", "fragment"), [
    (("--protected", "group", "--decision", "decision", "--score", "score", "--threshold", "0.5"),
     "exactly one of --decision"),
    (("--protected", "group", "--score", "score"), "give exactly one decision rule"),
    (("--protected", "group", "--score", "score", "--threshold", "0.5", "--top", "10"), "Got 2"),
    (("--protected", "group", "--decision", "decision", "--top-n", "5"), "apply to --score"),
    (("--protected", "group", "--score", "score", "--top", "0"), "--top must be a percentage"),
    (("--protected", "group"), "exactly one of --decision"),
    (("--decision", "decision",), "at least one protected attribute with --protected"),
    (("--protected", "group", "--decision", "decision", "--filter", "group"), "--filter takes"),
    (("--protected", "group", "--decision", "decision", "--reference", "other=a"), "not a --protected column"),
    (("--protected", "group", "--decision", "decision", "--selection-method", "group"), "needs --random"),
    (("--protected", "group", "--decision", "decision", "--encoding", "utf-9"), "not a text encoding"),
    (("--protected", "group", "--decision", "decision", "--delimiter", ";;"), "one character"),
    (("--protected", "group", "--protected", "group", "--decision", "decision"), "named twice"),
    (("--protected", "group", "--decision", "decision", "--strata", "group"), "--protected and --strata"),
    (("--protected", "group", "--decision", "decision", "--count-column", "n", "--cell", "tp=TP"), "not both"),
    (("--protected", "group", "--cell", "tp=TP", "--cell", "fp=FP", "--cell", "selected=S"), "overlap"),
    (("--protected", "group", "--decision", "decision", "--level", "1.5"), "level must be in"),
])
def test_conflicting_or_missing_options_exit_2(decisions_csv, args, fragment):
    """Contradictory or incomplete options exit 2 with a message saying what to give."""
    assert_user_error(run_cli("audit", decisions_csv, *args), 2, fragment)


def test_cell_column_without_count_column_says_so(decisions_csv):
    """--cell-column alone says that --count-column is needed."""
    assert_user_error(run_cli("audit", decisions_csv, "--protected", "group", "--cell-column", "decision"), 2,
                      "--count-column")


def test_malformed_cell_option_shows_its_own_form(decisions_csv):
    """'--cell tp' says the option takes CELL=COLUMN."""
    assert_user_error(run_cli("audit", decisions_csv, "--protected", "group", "--cell", "tp"), 2, "CELL=COLUMN")


def test_json_into_a_missing_folder_is_a_message_not_a_traceback(decisions_csv, tmp_path):
    """--json into a folder that does not exist is created or refused with a message, never a traceback."""
    result = run_cli("audit", decisions_csv, *BASE, "--json", tmp_path / "no" / "such" / "r.json", "--quiet")
    assert_no_traceback(result)


# --- output ------------------------------------------------------------------------------------


def test_json_to_stdout_parses_and_prints_nothing_else(decisions_csv):
    """--json - writes only the results JSON to stdout, and it parses."""
    result = run_cli("audit", decisions_csv, *BASE, "--json", "-")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["population"]["rows_read"] == 120 and doc["input"]["kind"] == "csv"
    assert result.stdout.startswith("{") and result.stdout.endswith("}\n")


def test_summary_is_printed_unless_quiet(decisions_csv):
    """Without --quiet the summary names the file and the groups; with --quiet nothing is printed."""
    loud = run_cli("audit", decisions_csv, *BASE)
    assert loud.exit_code == 0 and "decisions.csv" in loud.stdout and "reference" in loud.stdout
    quiet = run_cli("audit", decisions_csv, *BASE, "--quiet")
    assert quiet.exit_code == 0 and quiet.output == ""


def test_csv_tables_are_written_and_formula_labels_neutralised(tmp_path):
    """--csv DIR writes groups.csv and comparisons.csv; a label starting with '=' gets a leading quote."""
    evil = '=HYPERLINK("http://evil.example","click")'
    rows = ["group,decision"] + [f'"{evil.replace(chr(34), chr(34) * 2)}",{i % 2}' for i in range(40)]
    rows += [f"plain,{int(i % 3 == 0)}" for i in range(60)] + [f"+cmd,{i % 2}" for i in range(40)]
    path = write_text(tmp_path / "evil.csv", "\n".join(rows) + "\n")
    out = tmp_path / "tables"
    result = run_cli("audit", path, *BASE, "--csv", out, "--quiet")
    assert result.exit_code == 0, result.output
    with open(out / "groups.csv", encoding="utf-8", newline="") as fh:
        groups = {r["group"]: r for r in csv.DictReader(fh)}
    with open(out / "comparisons.csv", encoding="utf-8", newline="") as fh:
        comparisons = list(csv.DictReader(fh))
    assert "'" + evil in groups and "'+cmd" in groups and "plain" in groups
    assert not [label for label in groups if label.startswith(("=", "+", "-", "@"))]
    assert {c["group"] for c in comparisons} == {"'" + evil, "'+cmd"}
    assert groups["plain"]["n"] == "60" and groups["plain"]["is_reference"] == "True"


def test_results_json_is_byte_identical_across_runs(decisions_csv, tmp_path):
    """Two runs (with a seeded bootstrap) write byte-identical results files."""
    args = ("audit", decisions_csv, *BASE, "--truth", "outcome", "--bootstrap", "40", "--seed", "3", "--quiet")
    assert run_cli(*args, "--json", tmp_path / "a.json").exit_code == 0
    assert run_cli(*args, "--json", tmp_path / "b.json").exit_code == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))["bootstrap"]["replicates"] == 40


def test_top_n_tie_is_reported_in_json_and_summary(tmp_path):
    """--top-n with a tie at the cut-off reports tied_at_cutoff and tied_selected, and the summary says so."""
    path = write_text(tmp_path / "t.csv", "group,score\na,0.9\nb,0.7\na,0.7\nb,0.7\na,0.1\n")
    r = audit_json(path, "--protected", "group", "--score", "score", "--top-n", "2", "--min-group-size", "1")
    rule = r["population"]["decision_rule"]
    assert (rule["tied_at_cutoff"], rule["tied_selected"], rule["cutoff_score"]) == (3, 1, 0.7)
    assert (group(r, "a")["selected"], group(r, "b")["selected"]) == (1, 1)
    summary = run_cli("audit", path, "--protected", "group", "--score", "score", "--top-n", "2",
                      "--min-group-size", "1")
    assert "3 rows share the cut-off score 0.7; 1 of them were selected" in summary.stdout


def test_top_percent_and_threshold_on_the_command_line(decisions_csv):
    """--top 10 selects floor(120*10/100) = 12 rows; --threshold 0.5 selects the scores >= 0.5."""
    top = audit_json(decisions_csv, "--protected", "group", "--score", "score", "--top", "10")
    assert top["design"]["selected"] == 12
    threshold = audit_json(decisions_csv, "--protected", "group", "--score", "score", "--threshold", "0.5")
    expected = sum(1 for line in decisions_csv.read_text().splitlines()[1:] if float(line.split(",")[2]) >= 0.5)
    assert threshold["design"]["selected"] == expected


def test_wide_count_tables_on_the_command_line(tmp_path):
    """Wide tables with --cell tp/fp/tn/fn and with --cell selected/not_selected read their counts."""
    confusion = write_text(tmp_path / "conf.csv", "region,TP,FP,TN,FN\nNorth,50,30,800,20\nSouth,40,60,500,10\n")
    r = audit_json(confusion, "--protected", "region", "--cell", "tp=TP", "--cell", "fp=FP", "--cell", "tn=TN",
                   "--cell", "fn=FN")
    south = group(r, "South")
    assert (south["n"], south["selected"], south["ppv"]["value"]) == (610, 100, pytest.approx(0.4))
    assert r["population"]["people"] == 1510 and r["population"]["published_rows"] == 2
    selections = write_text(tmp_path / "sel.csv", "region,flagged,not_flagged\nNorth,80,820\nSouth,100,510\n")
    r = audit_json(selections, "--protected", "region", "--cell", "selected=flagged", "--cell",
                   "not_selected=not_flagged")
    assert group(r, "South")["selection_rate"]["value"] == pytest.approx(100 / 610)
    assert group(r, "South")["tp"] is None  # no outcome column: every outcome cell is null


def test_cell_column_on_the_command_line(tmp_path):
    """A long table with --cell-column and --count-column reads each row's cell."""
    path = write_text(tmp_path / "l.csv", "region,cell,n\nNorth,selected,80\nNorth,not selected,820\n"
                                          "South,Selected,100\nSouth,not_selected,510\n")
    r = audit_json(path, "--protected", "region", "--cell-column", "cell", "--count-column", "n")
    assert (group(r, "North")["selected"], group(r, "South")["n"]) == (80, 610)


def test_berkeley_count_table_example_runs(tmp_path):
    """The shipped Berkeley table runs as documented and warns about Simpson's paradox."""
    from pathlib import Path

    data = Path(__file__).parents[1] / "datasets" / "berkeley" / "admissions.csv"
    result = run_cli("audit", data, "--protected", "gender", "--count-column", "count", "--decision", "decision",
                     "--positive", "Admitted", "--strata", "department", "--selection-is", "beneficial",
                     "--reference", "gender=Male")
    assert result.exit_code == 0, result.output
    assert "Simpson" in result.stdout


def test_publishing_more_groups_than_measured_is_refused_with_a_coarser_grouping(tmp_path, monkeypatch):
    """Above MAX_PUBLISHED_GROUPS the publishing step refuses at once, naming the widest attribute; --json works."""
    from click.testing import CliRunner

    import auditkit.cli as cli

    monkeypatch.setattr(cli, "MAX_PUBLISHED_GROUPS", 5)
    rows = [{"neighbourhood": f"N{i % 4}", "nationality": ["NL", "MA"][i % 2], "selected": i % 3 == 0}
            for i in range(200)]
    data = tmp_path / "d.csv"
    data.write_text("neighbourhood,nationality,selected\n" + "".join(
        f"{r['neighbourhood']},{r['nationality']},{int(r['selected'])}\n" for r in rows))
    args = ["audit", str(data), "--protected", "neighbourhood", "--protected", "nationality",
            "--decision", "selected", "--positive", "1"]
    res = CliRunner().invoke(cli.main, [*args, "--out", str(tmp_path / "b")])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "at most 5" in res.output and "'neighbourhood' (4 values)" in res.output
    assert not (tmp_path / "b").exists()
    res = CliRunner().invoke(cli.main, [*args, "--json", str(tmp_path / "r.json"), "--quiet"])
    assert res.exit_code == 0 and (tmp_path / "r.json").exists()
