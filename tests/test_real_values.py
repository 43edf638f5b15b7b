"""Values mean what they say: totals, missing values, values matched by meaning, only investigated cases.

Issue 11: each rule has a test here that fails if the rule is removed.  Figures are checked
against hand-computed counts.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import assert_user_error, run_cli, write_text
from scipy.stats import fisher_exact

import auditkit
from auditkit.exceptions import InputDataError

COUNTS = "group,selected,n\na,ja,10\na,nee,90\nb,ja,20\nb,nee,80\n"
LONG = dict(protected=("group",), decision="selected", positive=("ja",), count_column="n", min_group_size=1)


def _groups(results: dict) -> dict[str, int]:
    return {g["group"]: g["n"] for g in results["groups"] if g["attribute"] == "group"}


# --- total rows in count tables ------------------------------------------------------------------


@pytest.mark.parametrize("label", ["Totaal", "Total", "Eindtotaal", "Alle", "All", "TOTAAL "])
def test_a_total_row_that_adds_up_is_left_out_with_a_note(tmp_path, label):
    path = write_text(tmp_path / "c.csv", COUNTS + f"{label},ja,30\n{label},nee,170\n")
    r = auditkit.audit(path, **LONG).results
    assert _groups(r) == {"a": 100, "b": 100}
    assert r["population"]["people"] == 200 and r["population"]["published_rows"] == 6
    assert r["population"]["filters"][-1]["rows_after"] == 4
    assert any("left out as totals" in n and label.strip() in n for n in r["notes"])


def test_a_total_row_that_does_not_add_up_is_an_error_naming_the_row(tmp_path):
    path = write_text(tmp_path / "c.csv", COUNTS + "Totaal,ja,31\nTotaal,nee,170\n")
    with pytest.raises(InputDataError, match=r"'Totaal' in column 'group' \(row 6, .*'n': 31 against 30.*"
                                             r"inconsistent.*--keep-row 'Totaal'"):
        auditkit.audit(path, **LONG)


def test_keep_row_counts_a_total_as_a_group(tmp_path):
    path = write_text(tmp_path / "c.csv", COUNTS + "Totaal,ja,31\nTotaal,nee,170\n")
    result = run_cli("audit", path, "--protected", "group", "--decision", "selected", "--positive", "ja",
                     "--count-column", "n", "--keep-row", "Totaal", "--min-group-size", "1", "--json", "-")
    assert result.exit_code == 0, result.output
    assert _groups(json.loads(result.stdout)) == {"Totaal": 201, "a": 100, "b": 100}


def test_a_blank_group_with_the_sum_and_a_total_decision_value_are_totals(tmp_path):
    """A blank group holding the sum, and 'Totaal' in the decision column (a pivot's total column)."""
    text = COUNTS + "a,Totaal,100\nb,Totaal,100\n,ja,30\n,nee,170\n,Totaal,200\n"
    r = auditkit.audit(write_text(tmp_path / "c.csv", text), **LONG).results
    assert _groups(r) == {"a": 100, "b": 100}
    assert r["groups"][0]["selection_rate"]["value"] == pytest.approx(0.1)


def test_a_blank_group_that_does_not_add_up_is_the_missing_group(tmp_path):
    r = auditkit.audit(write_text(tmp_path / "c.csv", COUNTS + ",ja,1\n,nee,4\n"), **LONG).results
    assert _groups(r) == {"a": 100, "b": 100, "(missing)": 5}


def test_a_total_in_a_wide_table(tmp_path):
    text = "group,sel,not\na,10,90\nb,20,80\nTotal,30,170\n"
    r = auditkit.audit(write_text(tmp_path / "w.csv", text), protected=("group",),
                       cells={"selected": "sel", "not_selected": "not"}, min_group_size=1).results
    assert _groups(r) == {"a": 100, "b": 100}


def test_a_total_with_suppressed_cells_adds_up_within_the_range(tmp_path):
    """A suppressed part (0 = fewer than 10) makes the sum a range; the total inside it is a total."""
    text = "group,selected,n\na,ja,0\na,nee,90\nb,ja,20\nb,nee,80\nTotaal,ja,25\nTotaal,nee,170\n"
    r = auditkit.audit(write_text(tmp_path / "c.csv", text), **LONG, suppressed=("0",)).results
    assert set(_groups(r)) == {"a", "b"}


# --- missing values are one group ---------------------------------------------------------------


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
def test_parquet_nan_and_null_are_one_missing_group(tmp_path, engine):
    """Float NaN and null in a Parquet group column join the single '(missing)' group, not a group 'nan'."""
    pq.write_table(pa.table({"g": [1.0, 2.0, float("nan"), None, 1.0, 2.0], "d": [1, 0, 1, 0, 0, 1]}),
                   tmp_path / "p.parquet")
    r = auditkit.audit(tmp_path / "p.parquet", protected=("g",), decision="d", min_group_size=1,
                       engine=engine).results
    assert {g["group"]: g["n"] for g in r["groups"]} == {"1": 2, "2": 2, "(missing)": 2}


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
def test_the_text_missing_next_to_blanks_is_renamed(tmp_path, engine):
    pq.write_table(pa.table({"g": ["a", "(missing)", "", None, "a", "(missing)"], "d": [1, 0, 1, 0, 0, 1]}),
                   tmp_path / "p.parquet")
    r = auditkit.audit(tmp_path / "p.parquet", protected=("g",), decision="d", min_group_size=1,
                       engine=engine).results
    assert {g["group"]: g["n"] for g in r["groups"]} == {"a": 2, "(missing)": 2, "(missing) [written in the data]": 2}
    assert any("written in the data" in n for n in r["notes"])


def test_declared_missing_markers_join_nan_and_blanks(tmp_path):
    path = write_text(tmp_path / "m.csv", "g,d\na,1\n,0\nonbekend,1\nNaN,0\na,0\n")
    r = auditkit.audit(path, protected=("g",), decision="d", min_group_size=1,
                       missing_values=("onbekend", "NaN")).results
    assert {g["group"]: g["n"] for g in r["groups"]} == {"a": 2, "(missing)": 3}


# --- values match by meaning ---------------------------------------------------------------------

FLOATS = "g,d,y,how\n" + "".join(
    f"{g},{d},{y},{h}\n" for g, d, y, h in [
        ("a", "1.0", "True", "1.0"), ("b", "0.0", "False", "0.0"), ("a", "1.0", "False", "1.0"),
        ("b", "1.0", "True", "0.0"), ("a", "0.0", "True", "0.0"), ("b", "0.0", "False", "1.0"),
        ("a", "1.0", "True", "0.0"), ("b", "1.0", "False", "1.0")])


@pytest.mark.parametrize("value", ["1", "1.0", "true", "TRUE", "ja", "yes"])
@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_values_in_numeric_and_boolean_columns_match_by_meaning(tmp_path, value, engine):
    """--positive, --truth-positive, --filter and --random: 1, 1.0, true and ja select the same rows."""
    path = write_text(tmp_path / "v.csv", FLOATS)
    r = auditkit.audit(path, protected=("g",), decision="d", positive=(value,), truth="y",
                       truth_positive=(value,), selection_method="how", random=(value,),
                       filters=(auditkit.Filter("d", ("0", value)),), min_group_size=1, engine=engine).results
    assert r["population"]["decision_rule"]["positive"] == ["1.0"]  # recorded as read
    assert r["population"]["outcome"]["positive"] == ["True"]
    assert list(r["parameters"]["random"]) == ["1.0"]
    assert r["population"]["rows_audited"] == 8
    method = r["selection_method"][0]
    # group a: random sample = rows with how 1.0 (rows 1, 3) -> both group a of 4 random rows
    assert method["share_of_random_sample"]["numerator"] == 2
    assert method["share_of_random_sample"]["denominator"] == 4


def test_a_reference_matches_by_meaning(tmp_path):
    path = write_text(tmp_path / "r.csv", "g,d\n1.0,1\n2.0,0\n1.0,0\n2.0,1\n")
    r = auditkit.audit(path, protected=("g",), decision="d", references={"g": "1"}, min_group_size=1).results
    assert r["attributes"][0]["reference"] == "1.0"


def test_text_columns_still_match_exactly_with_a_suggestion(tmp_path):
    path = write_text(tmp_path / "t.csv", "g,d\na,Ja\nb,Nee\na,Nee\n")
    with pytest.raises(InputDataError, match=r"--positive 'Jaa' does not occur.*Did you mean 'Ja'\?"):
        auditkit.audit(path, protected=("g",), decision="d", positive=("Jaa",))
    path = write_text(tmp_path / "u.csv", "g,d\na,hoog\nb,laag\n")
    with pytest.raises(InputDataError, match=r"--positive '1' does not occur in column 'd'"):
        auditkit.audit(path, protected=("g",), decision="d", positive=("1",))


def test_a_yes_word_is_not_read_into_a_column_of_other_numbers(tmp_path):
    """'ja' means 1 only where the column holds nothing but 0/1 (or yes/no) values."""
    path = write_text(tmp_path / "n.csv", "g,d\na,1\nb,2\na,0\n")
    with pytest.raises(InputDataError, match="--positive 'ja' does not occur"):
        auditkit.audit(path, protected=("g",), decision="d", positive=("ja",))


# --- only investigated cases --------------------------------------------------------------------

INVESTIGATED = "g,how,found\n" + "".join(
    f"{g},{h},{f}\n" for g, h, f in
    [("a", "random", 0)] * 6 + [("a", "random", 1)] * 2 + [("b", "random", 0)] * 3 + [("b", "random", 1)] * 1
    + [("a", "model", 1)] * 9 + [("a", "model", 0)] * 11 + [("b", "model", 1)] * 3 + [("b", "model", 0)] * 17)


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
def test_only_investigated_cases_with_a_selection_method(tmp_path, engine):
    """No decision column: every row is selected; the random part is the baseline (hand-checked Fisher)."""
    path = write_text(tmp_path / "inv.csv", INVESTIGATED)
    r = auditkit.audit(path, protected=("g",), selection_method="how", random=("random",), truth="found",
                       min_group_size=1, engine=engine).results
    assert r["parameters"]["all_selected"] is True
    assert r["population"]["decision_rule"]["kind"] == "all selected"
    assert r["design"]["kind"].endswith("with a random control sample")
    a = next(m for m in r["selection_method"] if m["group"] == "a")
    assert (a["share_of_random_sample"]["numerator"], a["share_of_random_sample"]["denominator"]) == (8, 12)
    assert (a["share_of_model_selection"]["numerator"], a["share_of_model_selection"]["denominator"]) == (20, 40)
    expected = fisher_exact([[20, 20], [8, 4]]).pvalue
    assert a["share_comparison"]["p_value"] == pytest.approx(expected)
    assert (a["hit_rate_model_selection"]["numerator"], a["hit_rate_model_selection"]["denominator"]) == (9, 20)


def test_all_selected_flag_without_a_selection_method(tmp_path):
    """--all-selected alone: the outcome test (hit rates) on data of investigated cases only."""
    path = write_text(tmp_path / "inv.csv", INVESTIGATED)
    result = run_cli("audit", path, "--protected", "g", "--all-selected", "--truth", "found", "--min-group-size",
                     "1", "--json", "-", "--quiet")
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    assert r["design"]["kind"].startswith("only selected cases")
    a = next(g for g in r["groups"] if g["group"] == "a")
    assert (a["ppv"]["numerator"], a["ppv"]["denominator"]) == (11, 28)


def test_all_selected_with_a_decision_is_a_usage_error(tmp_path):
    path = write_text(tmp_path / "inv.csv", INVESTIGATED)
    assert_user_error(run_cli("audit", path, "--protected", "g", "--all-selected", "--decision", "found"), 2,
                      "--all-selected")
