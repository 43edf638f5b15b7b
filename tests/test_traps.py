"""Input traps seen in real audit material: each must give the right numbers or a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import assert_user_error, audit_json, comparison, group, run_cli, write_text
from scipy.stats import fisher_exact

import auditkit

# --- 1. duplicate column names ---------------------------------------------------------------


def test_differing_duplicate_columns_are_an_error_naming_the_copies(tmp_path):
    """A header with two 'gender' columns that differ stops with the copies listed, not a silent 'gender.1'."""
    path = write_text(tmp_path / "dup.csv", "gender,decision,gender\nF,1,M\nM,0,F\n")
    message = assert_user_error(run_cli("audit", path, "--protected", "gender", "--decision", "decision"), 1,
                                "dup.csv", "'gender' appears 2 times", "columns 1, 3", "copies differ",
                                "'gender#1', 'gender#2'")
    assert "gender.1" not in message


def test_duplicate_column_names_in_a_dataframe_are_an_error():
    """A DataFrame with a repeated column name is refused the same way as a CSV."""
    df = pd.DataFrame([["F", 1, "M"], ["M", 0, "F"]], columns=["gender", "decision", "gender"])
    with pytest.raises(auditkit.InputDataError, match="duplicate column names 'gender'"):
        auditkit.audit(df, protected=("gender",), decision="decision")


def test_blank_column_names_from_an_index_and_a_trailing_comma_are_ignored(tmp_path):
    """An unnamed index column plus a trailing delimiter (two blank names) is not a duplicate-name error."""
    path = write_text(tmp_path / "trail.csv", ",group,decision,\n0,a,1,\n1,b,0,\n2,a,0,\n")
    r = audit_json(path, "--protected", "group", "--decision", "decision", "--min-group-size", "1")
    assert (group(r, "a")["n"], group(r, "b")["n"]) == (2, 1)


# --- 2. encodings, line endings, index column ---------------------------------------------------

LATIN1_ROWS = "country,decision\nNL,0\nBelgë,1\nNL,1\nBelgë,0\nBelgë,1\n"


def test_latin1_file_error_names_file_and_line_and_suggests_encoding(tmp_path):
    """A latin-1 'ë' read as UTF-8 gives an error with the file, the line and --encoding latin-1."""
    path = write_text(tmp_path / "latin.csv", LATIN1_ROWS, encoding="latin-1")
    assert_user_error(run_cli("audit", path, "--protected", "country", "--decision", "decision"), 1,
                      "latin.csv", "line 3", "--encoding latin-1")


def test_latin1_file_reads_with_encoding_option(tmp_path):
    """With --encoding latin-1 the value 'Belgë' is a group with the right counts."""
    path = write_text(tmp_path / "latin.csv", LATIN1_ROWS, encoding="latin-1")
    r = audit_json(path, "--protected", "country", "--decision", "decision", "--encoding", "latin-1",
                   "--min-group-size", "1")
    belg = group(r, "Belgë")
    assert (belg["n"], belg["selected"]) == (3, 2)


def test_crlf_line_endings_and_leading_index_column(tmp_path):
    """CRLF files read like LF files, and a leading unnamed index column is ignored."""
    text = ",country,decision\n0,NL,0\n1,BE,1\n2,NL,1\n3,BE,1\n"
    crlf = audit_json(write_text(tmp_path / "crlf.csv", text, newline="\r\n"), "--protected", "country",
                      "--decision", "decision", "--min-group-size", "1")
    lf = audit_json(write_text(tmp_path / "lf.csv", text), "--protected", "country", "--decision", "decision",
                    "--min-group-size", "1")
    assert [g["group"] for g in crlf["groups"]] == ["BE", "NL"]
    assert group(crlf, "BE")["selected"] == 2 and group(crlf, "NL")["selected"] == 1
    assert crlf["groups"] == lf["groups"] and crlf["comparisons"] == lf["comparisons"]


# --- 3. quoted newlines, sloppy header spacing ----------------------------------------------------


def test_newlines_inside_quoted_fields(tmp_path):
    """A quoted value spanning two lines is one value in one row."""
    text = 'office,decision\n"Noord\nOost",1\n"Noord\nOost",0\nZuid,0\n'
    r = audit_json(write_text(tmp_path / "nl.csv", text), "--protected", "office", "--decision", "decision",
                   "--min-group-size", "1")
    assert group(r, "Noord\nOost")["n"] == 2 and group(r, "Zuid")["n"] == 1
    assert r["population"]["rows_read"] == 3


def test_header_with_double_and_trailing_spaces_is_matched_and_noted(tmp_path):
    """'home  country' and 'flagged ' in the header match --protected 'home country' and --decision flagged."""
    text = "home  country,flagged \nNL,1\nBE,0\nNL,0\n"
    r = audit_json(write_text(tmp_path / "sp.csv", text), "--protected", "home country", "--decision", "flagged",
                   "--min-group-size", "1")
    assert group(r, "NL")["selected"] == 1
    notes = " ".join(r["notes"])
    assert "'home  country'" in notes and "'flagged '" in notes


# --- 4. missing outcome labels, missing protected values ---------------------------------------


def _rows_with_gaps() -> list[tuple[str, int, str]]:
    """(group, decision, outcome) rows: some outcomes blank, some groups blank."""
    rows = []
    for i in range(200):
        g = "a" if i % 2 == 0 else "b"
        decision = 1 if i % 3 == 0 else 0
        outcome = "" if i % 7 == 0 else str(int(i % 4 == 0))
        rows.append((g, decision, outcome))
    rows += [("", 1, "1"), ("", 0, ""), ("", 1, "0"), ("", 0, "0"), ("", 1, "")]
    return rows


def _write_rows(path: Path, rows: list[tuple[str, int, str]]) -> Path:
    return write_text(path, "group,decision,outcome\n" + "".join(f"{g},{d},{o}\n" for g, d, o in rows))


def test_missing_outcomes_count_for_selection_but_not_for_outcome_rates(tmp_path):
    """Rows with a blank outcome stay in the selection rate, leave the hit rate, and are counted."""
    rows = [r for r in _rows_with_gaps() if r[0]]
    r = audit_json(_write_rows(tmp_path / "gaps.csv", rows), "--protected", "group", "--decision", "decision",
                   "--truth", "outcome")
    a_rows = [x for x in rows if x[0] == "a"]
    a = group(r, "a")
    unknown = sum(1 for x in a_rows if x[2] == "")
    assert a["n"] == len(a_rows) and a["n_outcome_unknown"] == unknown
    assert a["selection_rate"]["denominator"] == len(a_rows)
    assert a["selection_rate"]["numerator"] == sum(x[1] for x in a_rows)
    known_selected = [x for x in a_rows if x[1] == 1 and x[2] != ""]
    assert a["ppv"]["denominator"] == len(known_selected)
    assert a["ppv"]["numerator"] == sum(1 for x in known_selected if x[2] == "1")
    assert r["population"]["outcome"]["rows_outcome_unknown"] == sum(1 for x in rows if x[2] == "")
    assert any("no outcome" in n for n in r["notes"])


def test_missing_protected_values_form_a_missing_group_and_leave_other_groups_unchanged(tmp_path):
    """Blank group values form '(missing)'; the other groups' counts, rates and comparisons equal those of a
    file without those rows (only shares of the whole and multiplicity-adjusted p-values may move)."""
    rows = _rows_with_gaps()
    args = ("--protected", "group", "--decision", "decision", "--truth", "outcome", "--min-group-size", "1")
    with_missing = audit_json(_write_rows(tmp_path / "with.csv", rows), *args)
    without = audit_json(_write_rows(tmp_path / "without.csv", [x for x in rows if x[0]]), *args)
    missing = group(with_missing, "(missing)")
    assert missing["missing_group"] is True and missing["n"] == 5 and missing["selected"] == 3
    assert not missing["is_reference"]
    assert any("(missing)" in n for n in with_missing["notes"])
    count_keys = ("n", "selected", "not_selected", "tp", "fp", "tn", "fn", "n_outcome_unknown", "is_reference")
    rate_keys = ("selection_rate", "ppv", "fdr", "npv", "for")
    for label in ("a", "b"):
        g1, g0 = group(with_missing, label), group(without, label)
        assert {k: g1[k] for k in count_keys} == {k: g0[k] for k in count_keys}
        for key in rate_keys:
            assert g1[key] == g0[key], key
    for c0 in without["comparisons"]:
        c1 = comparison(with_missing, c0["group"], c0["metric"])
        for key in ("reference", "group_rate", "reference_rate", "ratio", "ratio_ci", "difference",
                    "difference_ci", "p_value"):
            assert c1.get(key) == c0.get(key), (c0["metric"], key)


# --- 5. blank and text scores -----------------------------------------------------------------

SCORES = "group,score\na,0.9\nb, \na,0.4\nb,0.7\na,\nb,0.2\na,0.6\nb,0.8\n"


def test_blank_score_is_an_error_with_row_numbers_and_drop_missing_hint(tmp_path):
    """A score of ' ' for unscored cases is an error naming the rows and suggesting --drop-missing."""
    path = write_text(tmp_path / "scores.csv", SCORES)
    assert_user_error(run_cli("audit", path, "--protected", "group", "--score", "score", "--threshold", "0.5"), 1,
                      "scores.csv", "2 rows", "'score'", "row 3", "--drop-missing")


def test_drop_missing_leaves_out_blank_scores_and_reports_the_step(tmp_path):
    """With --drop-missing the blank-score rows are left out and the filter step with counts is reported."""
    path = write_text(tmp_path / "scores.csv", SCORES)
    r = audit_json(path, "--protected", "group", "--score", "score", "--threshold", "0.5", "--drop-missing",
                   "--min-group-size", "1")
    step = r["population"]["filters"][-1]
    assert (step["rows_before"], step["rows_after"]) == (8, 6) and "blank score" in step["step"]
    assert r["population"]["rows_audited"] == 6
    assert (group(r, "a")["n"], group(r, "a")["selected"]) == (3, 2)
    assert (group(r, "b")["n"], group(r, "b")["selected"]) == (3, 2)


def test_blank_score_row_number_is_the_file_row_after_a_filter(tmp_path):
    """The row number in the message is the file's, even when an --exclude removed earlier rows."""
    path = write_text(tmp_path / "scores.csv", "group,score\nc,0.1\nc,0.2\na,0.9\nb,\n")
    assert_user_error(run_cli("audit", path, "--protected", "group", "--score", "score", "--threshold", "0.5",
                              "--exclude", "group=c"), 1, "row 5")


def test_text_in_score_column_is_an_error_listing_the_values(tmp_path):
    """'n/a' in a score column is an error listing the value, its row and how to leave it out."""
    path = write_text(tmp_path / "scores.csv", "group,score\na,0.9\nb,n/a\na,0.4\nb,n/a\n")
    assert_user_error(run_cli("audit", path, "--protected", "group", "--score", "score", "--threshold", "0.5"), 1,
                      "scores.csv", "'score'", "'n/a'", "rows 3, 5", "--exclude score=n/a")


# --- 6. suppressed small cells --------------------------------------------------------------------

TRUE_COUNTS = {("North", "yes"): 120, ("North", "no"): 880, ("South", "yes"): 4, ("South", "no"): 200,
               ("East", "yes"): 45, ("East", "no"): 7, ("West", "yes"): 0, ("West", "no"): 150}


def _count_table(path: Path, marker: str | None) -> Path:
    """The long table; with a marker, every count below 10 is published as that marker."""
    lines = ["region,decision,count"]
    for (region, decision), n in TRUE_COUNTS.items():
        lines.append(f"{region},{decision},{marker if marker is not None and n < 10 else n}")
    return write_text(path, "\n".join(lines) + "\n")


COUNT_ARGS = ("--protected", "region", "--decision", "decision", "--positive", "yes", "--count-column", "count",
              "--reference", "region=North")


def test_suppressed_zero_cells_are_bounds_that_contain_the_true_values(tmp_path):
    """Cells published as 0 with --suppressed 0 become bounds holding the true counts, rates and ratios."""
    published = audit_json(_count_table(tmp_path / "pub.csv", "0"), *COUNT_ARGS, "--suppressed", "0")
    truth = audit_json(_count_table(tmp_path / "true.csv", None), *COUNT_ARGS)
    assert any("suppressed" in n for n in published["notes"])
    for region in ("South", "East", "West"):
        g, t = group(published, region), group(truth, region)
        lo, hi = g["bounds"]["n"]
        assert lo <= t["n"] <= hi and hi > lo
        rate = g["selection_rate"]
        assert rate["value"] is None and "bounds" in rate
        assert rate["bounds"][0] <= t["selection_rate"]["value"] <= rate["bounds"][1]
        assert rate["ci_low"] <= t["selection_rate"]["value"] <= rate["ci_high"]
        c, ct = comparison(published, region, "selection_rate"), comparison(truth, region, "selection_rate")
        assert c["ratio"] is None and c["ratio_bounds"][0] <= ct["ratio"] <= c["ratio_bounds"][1]
        assert c["ratio_ci"][0] <= ct["ratio"] <= c["ratio_ci"][1]  # a true zero too (the zero-cell rule)
        assert c["ratio_ci"][0] <= ct["ratio_ci"][0] and ct["ratio_ci"][1] <= c["ratio_ci"][1]
        assert c["difference_bounds"][0] <= ct["difference"] <= c["difference_bounds"][1]
    south = group(published, "South")
    assert south["selection_rate"]["bounds"][1] > 0, "a suppressed cell must never be read as zero"
    north, north_true = group(published, "North"), group(truth, "North")
    assert north["bounds"] is None and north["n"] == 1000
    assert north["selection_rate"] == north_true["selection_rate"]


def test_less_than_ten_marker_gives_the_same_bounds_as_zero_marker(tmp_path):
    """'<10' declared with --suppressed gives exactly the figures of the same table marked with 0."""
    zero = audit_json(_count_table(tmp_path / "zero.csv", "0"), *COUNT_ARGS, "--suppressed", "0")
    lt10 = audit_json(_count_table(tmp_path / "lt10.csv", "<10"), *COUNT_ARGS, "--suppressed", "<10")
    assert zero["groups"] == lt10["groups"] and zero["comparisons"] == lt10["comparisons"]


def test_undeclared_suppression_marker_is_an_error_suggesting_suppressed(tmp_path):
    """'<10' in a count column without --suppressed names the value and row and suggests --suppressed."""
    path = _count_table(tmp_path / "lt10.csv", "<10")
    assert_user_error(run_cli("audit", path, *COUNT_ARGS), 1, "lt10.csv", "'count'", "'<10'", "row 4",
                      "--suppressed '<10'")


def test_suppressed_cell_does_not_yield_a_verdict_the_bounds_do_not_support(tmp_path):
    """A group whose suppressed count allows a rate equal to the reference's gets no 'difference_detected'."""
    path = write_text(tmp_path / "t.csv", "g,d,n\nref,1,6500\nref,0,93500\nx,1,<10\nx,0,60\n")
    r = audit_json(path, "--protected", "g", "--decision", "d", "--count-column", "n", "--suppressed", "<10",
                   "--reference", "g=ref")
    # 4 selected of 64 is allowed by the table and has the reference's rate almost exactly (p = 1).
    assert fisher_exact([[4, 60], [6500, 93500]])[1] > 0.5
    assert comparison(r, "x", "selection_rate")["status"] != "difference_detected"


# --- 7. only positives --------------------------------------------------------------------------


def _stops(tmp_path: Path) -> Path:
    rows = [("a", 1, int(i < 10)) for i in range(40)] + [("b", 1, int(i < 20)) for i in range(40)]
    return write_text(tmp_path / "stops.csv", "group,stopped,found\n" + "".join(f"{g},{d},{y}\n" for g, d, y in rows))


def test_only_positives_data_leaves_selection_rates_undefined_and_compares_hit_rates(tmp_path):
    """When every row was selected, selection rate, FPR, NPV... are undefined with a reason; PPV is compared."""
    r = audit_json(_stops(tmp_path), "--protected", "group", "--decision", "stopped", "--truth", "found",
                   "--reference", "group=a")
    assert r["design"]["not_selected"] == 0 and "only selected" in r["design"]["kind"]
    for metric in ("selection_rate", "tpr", "fpr", "fnr", "tnr", "npv", "for"):
        assert "every row" in r["design"]["undefined_metrics"][metric]
        rec = group(r, "b")[metric]
        assert rec["value"] is None and rec["reason"]
    assert not [c for c in r["comparisons"] if c["metric"] == "selection_rate" and c["status"] != "undefined"]
    ppv = comparison(r, "b", "ppv")
    assert ppv["group_rate"]["value"] == pytest.approx(0.5) and ppv["reference_rate"]["value"] == pytest.approx(0.25)
    assert ppv["ratio"] == pytest.approx(2.0) and ppv["p_value"] == pytest.approx(fisher_exact([[20, 20], [10, 30]])[1])


def test_only_positives_data_has_no_population_base_rate(tmp_path):
    """With every row selected, base_rate is undefined: the data says nothing about the unselected."""
    r = audit_json(_stops(tmp_path), "--protected", "group", "--decision", "stopped", "--truth", "found")
    assert "base_rate" in r["design"]["undefined_metrics"]


# --- 8. random sample versus model selection ------------------------------------------------------


def test_random_versus_model_selection_figures_are_hand_computable(tmp_path):
    """share_of_random_sample, share_of_model_selection and both comparisons match hand computation."""
    rows = []
    # (group, method, selected, positives, count)
    plan = [("A", "random", 0, 2, 20), ("A", "model", 1, 6, 30), ("A", "none", 0, None, 50),
            ("B", "random", 0, 3, 10), ("B", "model", 1, 12, 40), ("B", "none", 0, None, 20)]
    for g, method, selected, positives, count in plan:
        for i in range(count):
            outcome = "" if positives is None else ("Ja" if i < positives else "Nee")
            rows.append(f"{g},{method},{selected},{outcome}")
    path = write_text(tmp_path / "method.csv", "group,method,selected,fraud\n" + "\n".join(rows) + "\n")
    r = audit_json(path, "--protected", "group", "--decision", "selected", "--truth", "fraud", "--truth-positive",
                   "Ja", "--selection-method", "method", "--random", "random")
    b = next(m for m in r["selection_method"] if m["group"] == "B")
    assert (b["share_of_random_sample"]["numerator"], b["share_of_random_sample"]["denominator"]) == (10, 30)
    assert (b["share_of_model_selection"]["numerator"], b["share_of_model_selection"]["denominator"]) == (40, 70)
    assert b["share_of_random_sample"]["value"] == pytest.approx(10 / 30)
    assert b["share_of_model_selection"]["value"] == pytest.approx(40 / 70)
    share = b["share_comparison"]
    assert share["ratio"] == pytest.approx((40 / 70) / (10 / 30))
    assert share["difference"] == pytest.approx(40 / 70 - 10 / 30)
    assert share["p_value"] == pytest.approx(fisher_exact([[40, 30], [10, 20]])[1])
    # 10 B rows in the random sample: the share rests on them, so below --min-group-size 30 it is not judged
    assert share["status"] == "insufficient_evidence"
    assert share["reason"] == "fewer than 30 rows of this group in the random sample (10)"
    r = audit_json(path, "--protected", "group", "--decision", "selected", "--truth", "fraud", "--truth-positive",
                   "Ja", "--selection-method", "method", "--random", "random", "--min-group-size", "10")
    share = next(m for m in r["selection_method"] if m["group"] == "B")["share_comparison"]
    assert share["status"] in ("difference_detected", "no_difference_detected")
    assert b["base_rate_random_sample"]["value"] == pytest.approx(3 / 10)
    assert b["hit_rate_model_selection"]["value"] == pytest.approx(12 / 40)
    hit = b["hit_rate_comparison"]
    assert hit["ratio"] == pytest.approx(1.0) and hit["difference"] == pytest.approx(0.0)
    assert hit["status"] == "insufficient_evidence"  # only 10 random B cases, below --min-group-size 30


# --- 9. paired data -----------------------------------------------------------------------------


def test_paired_data_mcnemar():
    """Counterfactual (paired) decisions are tested with McNemar's test, never an independence test."""
    import numpy as np
    import pandas as pd
    from statsmodels.stats.contingency_tables import mcnemar

    from auditkit.explain.flips import flip_test

    X = pd.DataFrame({"nationality": ["NL", "other"] * 100, "x": np.tile(np.arange(100) / 100, 2)})
    score = lambda frame: frame["x"].to_numpy() + 0.3 * (frame["nationality"] == "other").to_numpy()  # noqa: E731
    result = flip_test(score, lambda s: (np.asarray(s) >= 0.8).astype(int), X, "nationality", baseline="NL")
    (effect,) = result["direct_effect"]
    # The same 200 people as NL and as other: 30 of every 100 x-values flip to selected, none back.
    assert (effect["flips_to_selected"], effect["flips_to_not_selected"]) == (60, 0)
    expected = mcnemar([[40, 60], [0, 100]], exact=False, correction=False).pvalue
    assert effect["test"].startswith("mcnemar") and effect["p_value"] == pytest.approx(expected, rel=1e-9)


# --- 11. filters --------------------------------------------------------------------------------


def test_filter_and_exclude_are_reported_with_row_counts(decisions_csv):
    """--filter and --exclude each appear in population.filters with the rows before and after."""
    r = audit_json(decisions_csv, "--protected", "group", "--decision", "decision", "--filter", "group=a,b",
                   "--exclude", "outcome=1")
    steps = r["population"]["filters"]
    assert [(s["rows_before"], s["rows_after"]) for s in steps] == [(120, 120), (120, 90)]
    assert "kept rows where group" in steps[0]["step"] and "removed rows where outcome is '1'" in steps[1]["step"]
    assert r["population"]["rows_read"] == 120 and r["population"]["rows_audited"] == 90


def test_filter_value_that_does_not_occur_is_an_error_with_did_you_mean(decisions_csv):
    """A --filter value missing from the column names the column, its values and the near miss."""
    assert_user_error(run_cli("audit", decisions_csv, "--protected", "group", "--decision", "decision",
                              "--filter", "group=A"), 1,
                      "decisions.csv", "--filter group=A", "'A'", "'a', 'b'", "Did you mean 'a'?")


def test_two_filters_on_one_column_are_both_applied(decisions_csv):
    """--filter group=a --filter group=b applies both (no row is left: an error) and never drops one."""
    result = run_cli("audit", decisions_csv, "--protected", "group", "--decision", "decision",
                     "--filter", "group=a", "--filter", "group=b", "--json", "-")
    assert result.exit_code != 0 or len(json.loads(result.stdout)["population"]["filters"]) == 2


def test_suppressed_cells_in_a_wide_confusion_table_bound_every_outcome_rate(tmp_path):
    """'<10' cells of a wide tp/fp/tn/fn table bound ppv, tpr, fnr... and their ratios around the true values."""
    true = {"North": (50, 30, 800, 20), "South": (4, 60, 500, 7)}
    header = "region,TP,FP,TN,FN\n"
    args = ("--protected", "region", "--cell", "tp=TP", "--cell", "fp=FP", "--cell", "tn=TN", "--cell", "fn=FN",
            "--reference", "region=North", "--min-group-size", "1")
    truth = audit_json(write_text(tmp_path / "true.csv", header + "".join(
        f"{k},{','.join(map(str, v))}\n" for k, v in true.items())), *args)
    published = audit_json(write_text(tmp_path / "pub.csv", header + "".join(
        f"{k},{','.join(str(x) if x >= 10 else '<10' for x in v)}\n" for k, v in true.items())), *args,
        "--suppressed", "<10")
    south, south_true = group(published, "South"), group(truth, "South")
    assert south["bounds"]["tp"] == [0, 9] and south["bounds"]["fn"] == [0, 9] and south["tp"] == 0
    assert south["fpr"] == south_true["fpr"]  # fp and tn were published: fpr is exact
    for metric in ("ppv", "tpr", "fnr", "selection_rate", "base_rate"):
        rec, value = south[metric], south_true[metric]["value"]
        assert rec["value"] is None and rec["bounds"][0] <= value <= rec["bounds"][1], metric
        c, ct = comparison(published, "South", metric), comparison(truth, "South", metric)
        assert c["ratio_bounds"][0] <= ct["ratio"] <= c["ratio_bounds"][1], metric
        assert c["ratio_ci"][0] <= ct["ratio"] <= c["ratio_ci"][1], metric
