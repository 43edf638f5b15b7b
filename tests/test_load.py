"""Reading data through the Python API: bad files and values give clear errors, good ones the same numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import comparison, group, write_text

import auditkit
from auditkit import InputDataError, UsageError
from auditkit.load.data import read_columns
from auditkit.results import to_json


def _stripped(results: dict) -> dict:
    """The results JSON without the fields that name the input (its file name and kind)."""
    doc = json.loads(to_json(results))
    doc.pop("input")
    doc["population"].pop("source")
    return doc


def _frame(n: int = 90) -> pd.DataFrame:
    """Rows with a missing group value, a blank outcome, a score and a decision column."""
    rng = np.random.default_rng(7)
    df = pd.DataFrame({
        "nationality": rng.choice(["NL", "EU", "non-EU"], n),
        "gender": rng.choice(["F", "M"], n),
        "score": np.round(rng.random(n), 3),
        "flag": rng.choice(["Ja", "Nee"], n),
        "fraud": rng.choice(["yes", "no", ""], n),
    })
    df.loc[3, "nationality"] = ""
    return df


# --- files that cannot be read ----------------------------------------------------------------


def test_missing_file_suggests_a_near_file_name(tmp_path):
    """A misspelt file name is an error naming it and the near file that exists."""
    write_text(tmp_path / "decisions.csv", "g,d\na,1\n")
    with pytest.raises(InputDataError, match=r"decisons\.csv' does not exist\. Did you mean 'decisions\.csv'\?"):
        auditkit.audit(tmp_path / "decisons.csv", protected=("g",), decision="d")


def test_misspelt_column_suggests_the_near_column(decisions_csv):
    """A misspelt column name is an error with 'Did you mean' and the list of columns."""
    with pytest.raises(InputDataError, match=r"no column named 'grop'\. Did you mean 'group'\?.*'decision'"):
        auditkit.audit(decisions_csv, protected=("grop",), decision="decision")


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.csv", b"", "is empty"),
    ("blank.csv", b"\n\n  \n", "is empty"),
    ("header.csv", b"g,d\n", "has a header but no rows"),
    ("sheet.xlsx", b"PK\x03\x04", "could not be opened as a .xlsx spreadsheet.*save the sheet as CSV"),
    ("sheet.ods", b"PK\x03\x04", "could not be opened as a .ods spreadsheet"),
    ("data.json", b"[]", r"Cannot tell the format.*'\.json'.*expected \.csv"),
    ("data.parquet", b"g,d\na,1\n", "could not be opened as Parquet"),
])
def test_unreadable_files_are_clear_errors(tmp_path, name, content, message):
    """Empty, header-only, spreadsheet, unknown-extension and fake Parquet files each name the problem."""
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InputDataError, match=message):
        auditkit.audit(tmp_path / name, protected=("g",), decision="d")


def test_empty_parquet_file_is_an_error(tmp_path):
    """A Parquet file with columns but no rows says so."""
    pd.DataFrame({"g": pd.Series([], dtype=str), "d": pd.Series([], dtype=int)}).to_parquet(tmp_path / "e.parquet")
    with pytest.raises(InputDataError, match="has no rows"):
        auditkit.audit(tmp_path / "e.parquet", protected=("g",), decision="d")


def test_unknown_encoding_is_a_usage_error(decisions_csv):
    """--encoding with a name Python does not know is a usage error, not a LookupError."""
    with pytest.raises(UsageError, match="'utf-9' is not a text encoding"):
        auditkit.audit(decisions_csv, protected=("group",), decision="decision", encoding="utf-9")


@pytest.mark.parametrize("given", ["\\t", "tab", "\t"])
def test_tab_delimiter_can_be_given_by_name(tmp_path, given):
    """--delimiter '\\t' (as typed in a shell), 'tab' or a real tab all read a tab-separated file."""
    path = write_text(tmp_path / "d.txt", "g\td\na\t1\nb\t0\n")
    r = auditkit.audit(path, protected=("g",), decision="d", delimiter=given, min_group_size=1)
    assert [g["n"] for g in r.groups] == [1, 1]


def test_bad_delimiter_is_a_usage_error(decisions_csv):
    """A delimiter of more than one character is a usage error naming what was given."""
    with pytest.raises(UsageError, match="--delimiter must be one character.*';;'"):
        auditkit.audit(decisions_csv, protected=("group",), decision="decision", delimiter=";;")


def test_wrong_delimiter_hints_at_delimiter_option(tmp_path):
    """A header read as one column says the delimiter is probably wrong."""
    path = write_text(tmp_path / "d.csv", "g;d\na;1\n")
    with pytest.raises(InputDataError, match="single column.*--delimiter"):
        auditkit.audit(path, protected=("g",), decision="d", delimiter=",")


def test_semicolon_file_with_decimal_commas_is_read(tmp_path):
    """A Dutch export (';' delimiter, '0,73' scores) is detected and its scores read as numbers."""
    path = write_text(tmp_path / "nl.csv", "groep;score\na;0,73\nb;0,2\na;0,5\nb;0,9\n")
    r = auditkit.audit(path, protected=("groep",), score="score", threshold=0.6, min_group_size=1)
    assert [(g["group"], g["selected"]) for g in r.groups] == [("a", 1), ("b", 1)]


def test_row_with_too_many_fields_names_the_row(tmp_path):
    """A row with an unquoted delimiter in a value is an error naming the row and the field counts."""
    path = write_text(tmp_path / "ragged.csv", "g,d\na,1\nb,0\nDe Vries, J.,1\n")
    with pytest.raises(InputDataError, match=r"ragged\.csv: row 4 .*3 fields but the header has 2"):
        auditkit.audit(path, protected=("g",), decision="d")


def test_utf8_character_split_by_the_header_probe_is_not_an_encoding_error(tmp_path):
    """A valid UTF-8 file whose 'ë' straddles the 64 KiB header probe reads without error."""
    head = "g,d\n" + "a,1\n" * 16382
    pad = (1 << 16) - len(head.encode()) - 1
    path = write_text(tmp_path / "big.csv", head + "x" * pad + "ë,0\n")
    assert path.read_bytes().index("ë".encode()) == (1 << 16) - 1
    r = auditkit.audit(path, protected=("g",), decision="d", min_group_size=1)
    assert r.results["population"]["rows_read"] == 16383


def test_non_utf8_byte_after_the_header_probe_names_its_line(tmp_path):
    """A latin-1 byte far into the file is still reported with its line and the --encoding hint."""
    path = write_text(tmp_path / "late.csv", "g,d\n" + "a,1\n" * 20000 + "Belgë,0\n", encoding="latin-1")
    with pytest.raises(InputDataError, match=r"late\.csv.*line 20002.*--encoding latin-1"):
        auditkit.audit(path, protected=("g",), decision="d")


def test_utf16_file_suggests_utf16(tmp_path):
    """A UTF-16 file (Excel 'Unicode text') gets the hint --encoding utf-16, and reads with it."""
    path = write_text(tmp_path / "u16.csv", "g,d\na,1\nb,0\n", encoding="utf-16")
    with pytest.raises(InputDataError, match="--encoding utf-16"):
        auditkit.audit(path, protected=("g",), decision="d")
    r = auditkit.audit(path, protected=("g",), decision="d", encoding="utf-16", min_group_size=1)
    assert [g["group"] for g in r.groups] == ["a", "b"]


def test_utf8_byte_order_mark_is_not_part_of_the_first_column_name(tmp_path):
    """A UTF-8 file saved with a BOM matches its first column by name."""
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfg,d\na,1\nb,0\n")
    assert read_columns(path, ["g", "d"]).table.column_names == ["g", "d"]


def test_two_columns_matching_only_after_normalising_are_ambiguous(tmp_path):
    """'Gender' and 'gender ' both match --protected GENDER loosely: an error asks for the exact name."""
    path = write_text(tmp_path / "amb.csv", "Gender,gender ,d\nF,F,1\n")
    with pytest.raises(InputDataError, match="'Gender', 'gender ' all match"):
        auditkit.audit(path, protected=("GENDER",), decision="d")


# --- decision and outcome values --------------------------------------------------------------


def test_outcome_with_three_values_and_no_truth_negative_lists_them(tmp_path):
    """An outcome column with 'yes', 'no', 'pending' and no --truth-negative names all three and the fix."""
    path = write_text(tmp_path / "o.csv", "g,d,y\na,1,yes\na,0,no\nb,1,pending\nb,0,no\n")
    with pytest.raises(InputDataError, match=r"'y'.*'yes'.*'no', 'pending'.*--truth-negative"):
        auditkit.audit(path, protected=("g",), decision="d", truth="y", truth_positive=("yes",))


def test_truth_negative_makes_the_third_value_unknown_and_notes_it(tmp_path):
    """With --truth-negative no, 'pending' rows count as unknown outcomes, and a note says so."""
    path = write_text(tmp_path / "o.csv", "g,d,y\na,1,yes\na,0,no\nb,1,pending\nb,0,no\nb,1,no\n")
    r = auditkit.audit(path, protected=("g",), decision="d", truth="y", truth_positive=("yes",),
                       truth_negative=("no",), min_group_size=1)
    b = group(r.results, "b")
    assert b["n_outcome_unknown"] == 1 and (b["tp"], b["fp"], b["tn"], b["fn"]) == (0, 1, 1, 0)
    assert b["selection_rate"]["denominator"] == 3
    assert any("'pending'" in n and "unknown" in n for n in r.results["notes"])
    assert r.results["population"]["outcome"]["rows_outcome_unknown"] == 1


def test_declared_positive_that_does_not_occur_lists_the_values(decisions_csv):
    """--positive 'maybe' on a 0/1 column names the column and the values found ('yes' would mean 1)."""
    with pytest.raises(InputDataError, match=r"--positive 'maybe' does not occur in column 'decision'.*'0', '1'"):
        auditkit.audit(decisions_csv, protected=("group",), decision="decision", positive=("maybe",))


def test_decision_values_other_than_0_1_need_positive(tmp_path):
    """A decision column of 'Ja'/'Nee' without --positive asks which value means selected."""
    path = write_text(tmp_path / "d.csv", "g,flag\na,Ja\nb,Nee\n")
    with pytest.raises(InputDataError, match=r"'flag' holds 'Ja', 'Nee'.*--positive"):
        auditkit.audit(path, protected=("g",), decision="flag")


def test_stray_spaces_in_decision_values_do_not_change_the_decision(tmp_path):
    """'Ja ' and ' Ja' are 'Ja': an export's stray space never turns a selected row into a non-selected one."""
    path = write_text(tmp_path / "d.csv", "g,flag\na,Ja\na,Ja \nb, Ja\nb,Nee\n")
    r = auditkit.audit(path, protected=("g",), decision="flag", positive=("Ja",), min_group_size=1)
    assert [(g["group"], g["selected"]) for g in r.groups] == [("a", 2), ("b", 1)]


def test_case_variant_of_the_positive_value_is_an_error(tmp_path):
    """'Hoog' and 'hoog' in a text column with only --positive Hoog is an error, not a silent 'not selected'."""
    path = write_text(tmp_path / "d.csv", "g,flag\na,Hoog\na,hoog\nb,Laag\n")
    with pytest.raises(InputDataError, match=r"both 'Hoog' and 'hoog'.*--positive Hoog,hoog"):
        auditkit.audit(path, protected=("g",), decision="flag", positive=("Hoog",))


def test_case_variants_in_a_yes_no_column_mean_the_same(tmp_path):
    """'Ja' and 'ja' in a yes/no column both mean yes: both are selected, and the record says so."""
    path = write_text(tmp_path / "d.csv", "g,flag\na,Ja\na,ja\nb,Nee\n")
    r = auditkit.audit(path, protected=("g",), decision="flag", positive=("Ja",), min_group_size=1)
    assert r.results["population"]["decision_rule"]["positive"] == ["Ja", "ja"]
    assert [g["selected"] for g in r.groups] == [2, 0]


def test_float_coded_decisions_from_a_csv_export_are_read_as_0_1(tmp_path):
    """A decision column written as 1.0/0.0 (a pandas float export) needs no --positive."""
    path = write_text(tmp_path / "d.csv", "g,d\na,1.0\na,0.0\nb,1.0\n")
    r = auditkit.audit(path, protected=("g",), decision="d", min_group_size=1)
    assert [g["selected"] for g in r.groups] == [1, 1]


def test_other_non_positive_decision_values_are_noted(tmp_path):
    """With --positive Ja, the values 'Nee' and 'pending' count as not selected, and a note lists them."""
    path = write_text(tmp_path / "d.csv", "g,flag\na,Ja\na,pending\nb,Nee\n")
    r = auditkit.audit(path, protected=("g",), decision="flag", positive=("Ja",), min_group_size=1)
    assert any("'Nee', 'pending'" in n and "not selected" in n for n in r.results["notes"])


def test_zero_denominator_gives_null_with_reason_never_zero(tmp_path):
    """A group without positive outcomes has tpr null with a reason; its comparison is undefined, not 0."""
    rows = ["g,d,y"] + ["a,1,1", "a,0,1", "a,1,0", "a,0,0"] * 10 + ["b,1,0", "b,0,0"] * 20
    r = auditkit.audit(write_text(tmp_path / "z.csv", "\n".join(rows) + "\n"), protected=("g",), decision="d",
                       truth="y", references={"g": "a"}).results
    tpr = group(r, "b")["tpr"]
    assert tpr["value"] is None and tpr["denominator"] == 0 and "denominator 0" in tpr["reason"]
    c = comparison(r, "b", "tpr")
    assert c["status"] == "undefined" and c.get("ratio") is None and "denominator" in c["reason"]
    assert group(r, "b")["fpr"]["value"] == pytest.approx(0.5)


def test_empty_intersection_has_null_rates_not_zero():
    """An intersection with no rows is reported as empty, with null rates and reasons, and no crash."""
    df = pd.DataFrame({"a": ["x", "x", "y"] * 20, "b": ["p", "q", "p"] * 20, "d": [1, 0, 0] * 20})
    r = auditkit.audit(df, protected=("a", "b"), decision="d").results
    empty = group(r, "y × q")
    assert empty["empty"] and empty["n"] == 0
    assert empty["selection_rate"]["value"] is None and empty["selection_rate"]["reason"]
    # within the other attribute's level: y × q against x × q (a varies) and against y × p (b varies)
    found = [c for c in r["comparisons"] if c["group"] == "y × q" and c["metric"] == "selection_rate"]
    assert sorted(c["reference"] for c in found) == ["x × q", "y × p"]
    assert all(c["status"] == "undefined" and c["ratio"] is None and c["null_reasons"]["ratio"] for c in found)


# --- the same data in every form gives the same results ---------------------------------------


OPTIONS = dict(protected=("nationality", "gender"), score="score", top=20.0, truth="fraud",
               truth_positive=("yes",), truth_negative=("no",), min_group_size=5)


def test_parquet_gives_the_same_results_as_csv(tmp_path):
    """The same rows as Parquet and as CSV give identical results JSON apart from the input's name and kind."""
    df = _frame()
    df.to_csv(tmp_path / "data.csv", index=False)
    df.to_parquet(tmp_path / "data.parquet", index=False)
    from_csv = auditkit.audit(tmp_path / "data.csv", **OPTIONS).results
    from_parquet = auditkit.audit(tmp_path / "data.parquet", **OPTIONS).results
    assert (from_csv["input"]["kind"], from_parquet["input"]["kind"]) == ("csv", "parquet")
    assert _stripped(from_csv) == _stripped(from_parquet)
    assert group(from_csv, "(missing)", "nationality")["n"] == 1


def test_parquet_with_numeric_and_null_columns_gives_the_same_results_as_csv(tmp_path):
    """Integer decisions and a nullable integer outcome in Parquet read like their CSV text."""
    df = pd.DataFrame({"g": ["a", "b", None] * 20, "d": [1, 0, 0, 1, 0] * 12,
                       "y": pd.array([1, 0, None, 0] * 15, dtype="Int64")})
    df.to_csv(tmp_path / "n.csv", index=False)
    df.to_parquet(tmp_path / "n.parquet", index=False)
    kw = dict(protected=("g",), decision="d", truth="y", min_group_size=1)
    assert _stripped(auditkit.audit(tmp_path / "n.csv", **kw).results) == \
        _stripped(auditkit.audit(tmp_path / "n.parquet", **kw).results)


def test_folder_of_parquet_files_reads_as_one_table(tmp_path):
    """A folder of Parquet parts gives the results of the whole table."""
    df = _frame()
    (tmp_path / "parts").mkdir()
    df.iloc[:40].to_parquet(tmp_path / "parts" / "part-0.parquet", index=False)
    df.iloc[40:].to_parquet(tmp_path / "parts" / "part-1.parquet", index=False)
    df.to_parquet(tmp_path / "whole.parquet", index=False)
    assert _stripped(auditkit.audit(tmp_path / "parts", **OPTIONS).results) == \
        _stripped(auditkit.audit(tmp_path / "whole.parquet", **OPTIONS).results)


def test_dataframe_gives_the_same_results_as_csv(tmp_path):
    """A DataFrame through the Python API gives the results of the same data read from CSV."""
    df = _frame()
    df.to_csv(tmp_path / "data.csv", index=False)
    from_frame = auditkit.audit(df, **OPTIONS).results
    assert from_frame["input"]["kind"] == "dataframe"
    assert _stripped(from_frame) == _stripped(auditkit.audit(tmp_path / "data.csv", **OPTIONS).results)


def test_dataframe_errors_name_positions_not_file_rows():
    """A blank score in a DataFrame is reported by its position, not as a file row."""
    df = pd.DataFrame({"g": ["a", "b", "a"], "s": [0.5, None, 0.2]})
    with pytest.raises(InputDataError, match="position 1 of the DataFrame"):
        auditkit.audit(df, protected=("g",), score="s", threshold=0.3)


def test_non_dataframe_data_is_an_error():
    """Passing a list instead of a path or DataFrame is a clear error."""
    with pytest.raises(InputDataError, match="file path or a pandas DataFrame; got list"):
        auditkit.audit([1, 2], protected=("g",), decision="d")


# --- scores to decisions -------------------------------------------------------------------


def test_top_n_ties_are_reported_and_broken_by_file_order(tmp_path):
    """--top-n 4 with three rows tied at the cut-off selects the earliest tied row and reports the tie."""
    text = "id,g,s\n1,a,0.9\n2,b,0.5\n3,a,0.8\n4,a,0.5\n5,b,0.6\n6,b,0.5\n7,a,0.1\n"
    r = auditkit.audit(write_text(tmp_path / "t.csv", text), protected=("id",), score="s", top_n=4,
                       min_group_size=1).results
    rule = r["population"]["decision_rule"]
    assert (rule["cutoff_score"], rule["tied_at_cutoff"], rule["tied_selected"]) == (0.5, 3, 1)
    assert "file order" in rule["tie_break"]
    assert {g["group"]: g["selected"] for g in r["groups"]} == {"1": 1, "2": 1, "3": 1, "4": 0, "5": 1, "6": 0,
                                                                 "7": 0}


@pytest.mark.parametrize(("n", "percent"), [(100, 10.0), (95, 10.0), (7, 30.0), (1000, 33.3), (50, 100.0)])
def test_top_percent_selects_floor_of_n_times_percent(n, percent):
    """--top P selects floor(N*P/100) rows."""
    scores = np.linspace(0, 1, n)
    frame = pd.DataFrame({"row": [f"{i:04d}" for i in range(n)], "s": scores})
    r = auditkit.audit(frame, protected=("row",), score="s", top=percent, min_group_size=1).results
    rule = r["population"]["decision_rule"]
    selected = {g["group"] for g in r["groups"] if g["selected"]}
    assert len(selected) == rule["selected"] == math.floor(n * percent / 100)
    assert selected == {f"{i:04d}" for i in np.argsort(-scores, kind="stable")[: rule["selected"]]}


def test_top_percent_through_the_api_selects_floor(decisions_csv):
    """--top 10 on 120 rows selects 12 rows, the highest scores."""
    r = auditkit.audit(decisions_csv, protected=("group",), score="score", top=10.0).results
    assert r["design"]["selected"] == 12 and r["population"]["decision_rule"]["selected"] == 12


def test_top_percent_that_selects_no_row_is_an_error(decisions_csv):
    """--top 0.5 of 120 rows would select floor(0.6) = 0 rows: an error, not an audit of nothing."""
    with pytest.raises(InputDataError, match="selects floor.*= 0 rows"):
        auditkit.audit(decisions_csv, protected=("group",), score="score", top=0.5)


def test_top_n_larger_than_the_data_is_an_error(decisions_csv):
    """--top-n beyond the number of rows names both numbers."""
    with pytest.raises(InputDataError, match=r"--top-n 500 .*\(120 rows"):
        auditkit.audit(decisions_csv, protected=("group",), score="score", top_n=500)


def test_threshold_selects_scores_at_or_above(tmp_path):
    """--threshold T selects rows with score >= T, the boundary included."""
    path = write_text(tmp_path / "t.csv", "g,s\na,0.5\na,0.49\nb,0.51\nb,0.2\n")
    r = auditkit.audit(path, protected=("g",), score="s", threshold=0.5, min_group_size=1).results
    assert [(g["group"], g["selected"]) for g in r["groups"]] == [("a", 1), ("b", 1)]
    assert r["population"]["decision_rule"]["rule"] == "score >= 0.5"


# --- count tables -----------------------------------------------------------------------------

CONFUSION = {"North": (50, 30, 800, 20), "South": (40, 60, 500, 10)}


def _confusion_rows() -> pd.DataFrame:
    rows = []
    for region, (tp, fp, tn, fn) in CONFUSION.items():
        rows += [(region, 1, 1)] * tp + [(region, 1, 0)] * fp + [(region, 0, 0)] * tn + [(region, 0, 1)] * fn
    return pd.DataFrame(rows, columns=["region", "d", "y"])


def test_wide_confusion_table_equals_the_rows(tmp_path):
    """--cell tp=TP --cell fp=FP --cell tn=TN --cell fn=FN gives the same groups and comparisons as the rows."""
    text = "region,TP,FP,TN,FN\n" + "".join(f"{k},{','.join(map(str, v))}\n" for k, v in CONFUSION.items())
    wide = auditkit.audit(write_text(tmp_path / "w.csv", text), protected=("region",),
                          cells={"tp": "TP", "fp": "FP", "tn": "TN", "fn": "FN"}).results
    rows = auditkit.audit(_confusion_rows(), protected=("region",), decision="d", truth="y").results
    assert wide["groups"] == rows["groups"] and wide["comparisons"] == rows["comparisons"]
    assert (group(wide, "South")["tp"], group(wide, "South")["fn"]) == (40, 10)


def test_wide_selection_table_equals_the_rows(tmp_path):
    """--cell selected=... --cell not_selected=... gives the selection rates of the rows."""
    text = "region,sel,notsel\nNorth,80,820\nSouth,100,510\n"
    wide = auditkit.audit(write_text(tmp_path / "w.csv", text), protected=("region",),
                          cells={"selected": "sel", "not_selected": "notsel"}).results
    rows = auditkit.audit(_confusion_rows(), protected=("region",), decision="d").results
    assert wide["groups"] == rows["groups"] and wide["comparisons"] == rows["comparisons"]
    assert wide["design"]["kind"] == "decisions only"


def test_cell_column_long_table_equals_the_rows(tmp_path):
    """A long table whose --cell-column names tp/fp/tn/fn (any case) gives the figures of the rows."""
    lines = ["region,cell,n"]
    for region, counts in CONFUSION.items():
        lines += [f"{region},{cell},{k}" for cell, k in zip(("TP", "fp", "Tn", "fn"), counts)]
    long = auditkit.audit(write_text(tmp_path / "l.csv", "\n".join(lines) + "\n"), protected=("region",),
                          count_column="n", cell_column="cell").results
    rows = auditkit.audit(_confusion_rows(), protected=("region",), decision="d", truth="y").results
    assert long["groups"] == rows["groups"] and long["comparisons"] == rows["comparisons"]


def test_cell_column_with_an_unknown_cell_name_is_an_error(tmp_path):
    """An unknown cell is an error naming the value and suggesting the fix (a 'total' that adds up is
    left out as a total: tests/test_real_values.py)."""
    path = write_text(tmp_path / "l.csv", "region,cell,n\nNorth,tp,5\nNorth,fp,3\nNorth,overig,8\n")
    with pytest.raises(InputDataError, match=r"cell column 'cell'.*'overig'.*totals"):
        auditkit.audit(path, protected=("region",), count_column="n", cell_column="cell")


@pytest.mark.parametrize(("cells", "message"), [
    ({"tp": "TP", "fp": "FP", "tn": "TN"}, "--cell tn=... is given without --cell fn"),
    ({"tp": "TP", "fp": "FP", "selected": "TN"}, "overlap"),
    ({"tpp": "TP"}, "Unknown cell 'tpp'.*Did you mean 'tp'"),
])
def test_wide_table_cells_that_would_miscount_are_usage_errors(tmp_path, cells, message):
    """Half a pair of cells (fn read as 0) or overlapping cells (counted twice) are refused."""
    path = write_text(tmp_path / "w.csv", "region,TP,FP,TN,FN\nNorth,1,2,3,4\n")
    with pytest.raises(UsageError, match=message):
        auditkit.audit(path, protected=("region",), cells=cells)


def test_count_column_with_cells_is_a_usage_error(tmp_path):
    """--count-column together with --cell is refused rather than ignoring one of them."""
    path = write_text(tmp_path / "w.csv", "region,TP,FP,n\nNorth,1,2,3\n")
    with pytest.raises(UsageError, match="not both"):
        auditkit.audit(path, protected=("region",), cells={"tp": "TP", "fp": "FP"}, count_column="n",
                       decision="TP")


def test_filter_applies_to_a_count_table(tmp_path):
    """--filter on a count table keeps only those rows and is reported; it is not silently ignored."""
    text = "year,region,d,n\n2022,North,1,10\n2022,North,0,90\n2023,North,1,50\n2023,North,0,50\n"
    r = auditkit.audit(write_text(tmp_path / "c.csv", text), protected=("region",), decision="d", count_column="n",
                       filters=(auditkit.Filter("year", ("2023",)),), min_group_size=1).results
    assert group(r, "North")["n"] == 100 and group(r, "North")["selected"] == 50
    assert r["population"]["filters"][0]["rows_after"] == 2


def test_long_count_table_outcome_with_three_values_needs_truth_negative(tmp_path):
    """A count table's outcome column with a third value is refused as for rows, not read as negative."""
    path = write_text(tmp_path / "c.csv", "g,d,y,n\na,1,yes,5\na,1,no,5\na,1,pending,5\n")
    with pytest.raises(InputDataError, match="--truth-negative"):
        auditkit.audit(path, protected=("g",), decision="d", truth="y", truth_positive=("yes",), count_column="n")


def test_count_column_text_names_the_file_row_and_the_value(tmp_path):
    """A count of '1,234' (a thousands separator) is an error naming the value and its row."""
    path = write_text(tmp_path / "c.csv", 'g,d,n\na,1,5\na,0,"1,234"\n')
    with pytest.raises(InputDataError, match=r"'1,234' \(row 3\)"):
        auditkit.audit(path, protected=("g",), decision="d", count_column="n")


def test_non_ascii_digits_in_a_count_column_are_an_error_not_a_crash(tmp_path):
    """A superscript digit ('²', which str.isdigit accepts) is a clear error."""
    path = write_text(tmp_path / "c.csv", "g,d,n\na,1,5\na,0,²\n")
    with pytest.raises(InputDataError, match="'²'"):
        auditkit.audit(path, protected=("g",), decision="d", count_column="n")


def test_cell_column_total_on_top_of_its_parts_is_an_error(tmp_path):
    """A long table giving a group's 'selected' total and its tp/fp parts is refused, not double counted."""
    text = "region,cell,n\nNorth,tp,5\nNorth,fp,3\nNorth,selected,8\nNorth,not_selected,40\n"
    with pytest.raises(InputDataError, match=r"group 'North' has both a 'selected' row and tp, fp rows"):
        auditkit.audit(write_text(tmp_path / "l.csv", text), protected=("region",), count_column="n",
                       cell_column="cell")


def test_parquet_rows_are_numbered_from_one(tmp_path):
    """A blank score in a Parquet file is reported as row N counting from 1 (a Parquet file has no header row)."""
    pd.DataFrame({"g": ["a", "b", "a"], "s": [0.5, None, 0.2]}).to_parquet(tmp_path / "p.parquet")
    with pytest.raises(InputDataError, match="first at row 2, counting from 1"):
        auditkit.audit(tmp_path / "p.parquet", protected=("g",), score="s", threshold=0.3)


def test_missing_value_option_makes_a_code_the_missing_group(tmp_path):
    """--missing-value onbekend puts those rows into '(missing)' with a note."""
    path = write_text(tmp_path / "m.csv", "g,d\nNL,1\nonbekend,0\nBE,1\nonbekend,1\n")
    r = auditkit.audit(path, protected=("g",), decision="d", missing_values=("onbekend",), min_group_size=1).results
    assert group(r, "(missing)")["n"] == 2 and not [g for g in r["groups"] if g["group"] == "onbekend"]
    assert any("(missing)" in n for n in r["notes"])


def test_group_values_differing_only_in_spaces_are_kept_apart_and_noted(tmp_path):
    """'Dutch' and 'Dutch ' stay two groups (they may differ), and a note says they differ only in spaces."""
    path = write_text(tmp_path / "s.csv", "g,d\nDutch,1\nDutch ,0\nEU,1\n")
    r = auditkit.audit(path, protected=("g",), decision="d", min_group_size=1).results
    assert {g["group"] for g in r["groups"]} == {"Dutch", "Dutch ", "EU"}
    assert any("differ only in spaces or case" in n for n in r["notes"])


def test_random_value_missing_from_a_count_table_is_an_error(tmp_path):
    """--random naming a value the count table's method column lacks is an error, as for rows."""
    path = write_text(tmp_path / "c.csv", "g,method,d,n\na,model,1,5\na,steekproef,0,5\n")
    with pytest.raises(InputDataError, match=r"--random 'random' does not occur in column 'method'"):
        auditkit.audit(path, protected=("g",), decision="d", count_column="n", selection_method="method",
                       random=("random",))


def test_single_string_option_values_from_python_are_one_value(tmp_path):
    """positive='Ja', missing_values='MISSING' and suppressed='<10' from Python mean one value, not letters."""
    path = write_text(tmp_path / "d.csv", "g,flag\nM,Ja\nF,Nee\nMISSING,Ja\nM,Nee\n")
    r = auditkit.audit(path, protected=("g",), decision="flag", positive="Ja", missing_values="MISSING",
                       min_group_size=1).results
    assert {g["group"]: g["n"] for g in r["groups"]} == {"F": 1, "M": 2, "(missing)": 1}
    counts = write_text(tmp_path / "c.csv", "g,d,n\na,1,<10\na,0,10\nb,1,5\nb,0,20\n")
    r = auditkit.audit(counts, protected=("g",), decision="d", count_column="n", suppressed="<10").results
    assert group(r, "a")["bounds"]["n"] == [10, 19] and group(r, "b")["bounds"] is None


def test_protected_as_a_single_string_names_one_column(decisions_csv):
    """protected='group' from Python audits the column 'group'."""
    r = auditkit.audit(decisions_csv, protected="group", decision="decision")
    assert r.results["attributes"][0]["attribute"] == "group"
