"""`audit --area --composition`: the composition reader's traps, the join's report, hand-computed figures, engines."""

from __future__ import annotations

import json

import numpy as np
import pytest

from auditkit.area_audit import audit_areas
from auditkit.spec import AuditSpec

from conftest import assert_no_traceback, run_cli, write_text

# Two areas, hand-computed.  North: 100 people (80 x, 20 y), 10 selected; South: 100 (20 x, 80 y), 40 selected.
# Bounds: x in North [max(0, 10-20), min(10, 80)] = [0, 10], South [max(0, 40-80), 20] = [0, 20] -> [0, 30]/100;
#         y in North [0, 10], South [40-20, 40] = [20, 40] -> [20, 50]/100.
# Weighted: x = (0.8*10 + 0.2*40) / (0.8*100 + 0.2*100) = 16/100; y = (0.2*10 + 0.8*40) / 100 = 34/100.
# Ecological (exact fit with two areas, two groups): 0.8 bx + 0.2 by = 0.1, 0.2 bx + 0.8 by = 0.4 -> bx = 0, by = 0.5.
COMPOSITION = "area,group,people\nNorth,x,80\nNorth,y,20\nSouth,x,20\nSouth,y,80\n"


def _decisions(tmp_path, codes=("North", "South"), name="d.csv"):
    rows = ["area,flag"]
    for code, selected in zip(codes, (10, 40)):
        rows += [f"{code},1"] * selected + [f"{code},0"] * (100 - selected)
    return write_text(tmp_path / name, "\n".join(rows) + "\n")


def _audit(tmp_path, composition_text=COMPOSITION, *extra, codes=("North", "South"), name="c.csv", encoding="utf-8"):
    data = _decisions(tmp_path, codes)
    comp = write_text(tmp_path / name, composition_text, encoding=encoding)
    out = tmp_path / "r.json"
    result = run_cli("audit", data, "--area", "area", "--composition", comp, "--decision", "flag", "--positive", "1",
                     "--json", out, "--quiet", *extra)
    assert_no_traceback(result)
    return result, (json.loads(out.read_text()) if result.exit_code == 0 else None)


def _group(results, name):
    return next(g for g in results["linkage"]["groups"] if g["group"] == name)


def test_hand_computed_two_areas(tmp_path):
    """Bounds, weighted and ecological estimates equal the hand computation in the comment above."""
    result, r = _audit(tmp_path)
    assert result.exit_code == 0, result.output
    x, y = _group(r, "x"), _group(r, "y")
    assert x["bounds"]["rate"] == pytest.approx([0.0, 0.3]) and y["bounds"]["rate"] == pytest.approx([0.2, 0.5])
    assert x["weighted"]["rate"] == pytest.approx(0.16) and y["weighted"]["rate"] == pytest.approx(0.34)
    assert x["ecological"]["rate"] == pytest.approx(0.0, abs=1e-12) and y["ecological"]["rate"] == pytest.approx(0.5)
    # Reference: the largest group (a tie: the first); ratio bounds [low_y / high_x, high_y / low_x] = [0.2/0.3, none].
    assert r["linkage"]["reference"] == "x"
    assert y["bounds"]["ratio"][0] == pytest.approx(0.2 / 0.3) and y["bounds"]["ratio"][1] is None
    assert r["groups"] == [] and r["comparisons"] == []  # nothing is presented as an individual-level measurement
    per = {a["area"]: a for a in r["linkage"]["per_area"]}
    assert per["South"]["rate_bounds"]["y"] == pytest.approx([0.25, 0.5])
    assert r["linkage"]["composition"]["sha256"] and r["linkage"]["attribute"] == "group"


def test_bom_crlf_and_wide_percentages_with_decimal_commas(tmp_path):
    """A BOM, CRLF line ends, semicolons and '80,0%' style percentages with a population column read the same."""
    text = "\ufeffarea;x;y;population\r\nNorth;80,0%;20,0%;1000\r\nSouth;20,0;80,0;500\r\n"
    result, r = _audit(tmp_path, text, "--composition-columns", "area,origin,population")
    assert result.exit_code == 0, result.output
    assert r["linkage"]["attribute"] == "origin" and r["linkage"]["composition"]["values"] == "percentages"
    assert _group(r, "y")["bounds"]["rate"] == pytest.approx([0.2, 0.5])


def test_thousands_separators_in_counts(tmp_path):
    """'1.600' (point thousands) and '400' read as counts; shares as in the plain table."""
    text = 'area,group,people\nNorth,x,"1.600"\nNorth,y,400\nSouth,x,400\nSouth,y,"1.600"\n'
    result, r = _audit(tmp_path, text, "--thousands", ".")
    assert result.exit_code == 0, result.output
    assert _group(r, "x")["weighted"]["rate"] == pytest.approx(0.16)


def test_percentages_off_by_rounding_are_noted_and_beyond_rounding_refused(tmp_path):
    ok = "area,x,y,population\nNorth,80,21,1000\nSouth,20,79,500\n"
    result, r = _audit(tmp_path, ok, "--composition-columns", "area,origin,population")
    assert result.exit_code == 0, result.output
    assert any("rounding" in n for n in r["notes"])
    bad = "area,x,y,population\nNorth,80,10,1000\nSouth,20,80,500\n"
    result, _ = _audit(tmp_path, bad, "--composition-columns", "area,origin,population")
    assert result.exit_code == 1 and "'North' (groups 90, population 1000)" in result.output
    bad = "area,x,y,population\nNorth,80,10%,1000\nSouth,20,80,500\n"  # a '%' says percentages: 90 is not rounding
    result, _ = _audit(tmp_path, bad, "--composition-columns", "area,origin,population")
    assert result.exit_code == 1 and "'North' (90%)" in result.output and "do not add up to 100" in result.output


def test_suppressed_cells_less_than_and_declared_markers(tmp_path):
    """'<5' needs no declaring; '.' must be declared; the bounds hold over the whole range (outer bounds)."""
    text = "area,group,people\nNorth,x,80\nNorth,y,<5\nSouth,x,20\nSouth,y,80\n"
    result, r = _audit(tmp_path, text)
    assert result.exit_code == 0, result.output
    assert r["linkage"]["composition"]["suppressed_cells"] == 1
    # North's y lies in 0..4 of 80..84 people: x's share of North 80/84..1, y's 0..4/84.
    x = _group(r, "x")
    shares_low, shares_high = np.array([80 / 84, 20 / 100]), np.array([1.0, 20 / 100])
    s, n = np.array([10, 40]), np.array([100, 100])
    low = np.maximum(0, s - n * (1 - shares_low)).sum() / (n * shares_high).sum()
    high = np.minimum(s, n * shares_high).sum() / (n * shares_low).sum()
    assert x["bounds"]["rate"] == pytest.approx([low, high])
    dotted = text.replace("<5", ".")
    result, _ = _audit(tmp_path, dotted)
    assert result.exit_code == 1 and "'.'" in result.output and "--suppressed '.'" in result.output
    assert "row 3" in result.output
    result, r = _audit(tmp_path, dotted, "--suppressed", ".", "--suppressed-range", "0-4")
    assert result.exit_code == 0 and _group(r, "x")["bounds"]["rate"] == pytest.approx([low, high])


def test_leading_zeros_whitespace_and_case_are_matched_and_reported(tmp_path):
    """Codes '0123' and ' ab1 ' in the decisions match '123' and 'AB1' of the composition: matched, and said so."""
    text = "area,group,people\n123,x,80\n123,y,20\nAB1,x,20\nAB1,y,80\n"
    result, r = _audit(tmp_path, text, codes=("0123", " ab1 "))
    assert result.exit_code == 0, result.output
    join = r["linkage"]["join"]
    assert join["matched_by"] == {"exact": 0, "spacing or case": 1, "leading zeros": 1}
    assert {(m["decision_code"], m["composition_code"]) for m in join["rematched"]} == {("0123", "123"), (" ab1 ", "AB1")}
    assert any("only by ignoring leading zeros" in n for n in r["notes"])
    assert _group(r, "y")["bounds"]["rate"] == pytest.approx([0.2, 0.5])


def test_leading_zeros_are_kept_when_codes_match_exactly(tmp_path):
    """'0123' and '123' are different areas when both are in the composition: no fuzzy match is made."""
    text = "area,group,people\n0123,x,80\n0123,y,20\n123,x,20\n123,y,80\n"
    result, r = _audit(tmp_path, text, codes=("0123", "123"))
    assert result.exit_code == 0, result.output
    assert r["linkage"]["join"]["matched_by"]["exact"] == 2


def test_unmatched_areas_are_reported_never_dropped_silently(tmp_path):
    text = COMPOSITION + "East,x,10\nEast,y,10\n"
    result, r = _audit(tmp_path, text, codes=("North", "West"))
    assert result.exit_code == 0, result.output
    join = r["linkage"]["join"]
    assert join["decided_without_composition"] == {"areas": 1, "people": 100.0, "selected": 40.0,
                                                   "codes": [{"code": "West", "people": 100.0}]}
    assert join["composition_without_decisions"]["codes"] == ["East", "South"]
    assert any("'West'" in n and "no row in c.csv" in n for n in r["notes"])
    assert r["linkage"]["people"] == 100


def test_no_area_matches_is_an_error_naming_both_files(tmp_path):
    result, _ = _audit(tmp_path, COMPOSITION, codes=("A", "B"))
    assert result.exit_code == 1 and "d.csv" in result.output and "c.csv" in result.output


def test_crosswalk_split_and_errors(tmp_path):
    """Old code 'Old' split 50/50 over North and South gives the same figures as the new codes; bad weights refused."""
    walk = write_text(tmp_path / "walk.csv", "old_code,new_code,weight\nOld,North,0.5\nOld,South,0.5\n")
    data = write_text(tmp_path / "old.csv", "area,flag\n" + "Old,1\n" * 50 + "Old,0\n" * 150)
    comp = write_text(tmp_path / "c.csv", COMPOSITION)
    out = tmp_path / "r.json"
    result = run_cli("audit", data, "--area", "area", "--composition", comp, "--crosswalk", walk, "--decision", "flag",
                     "--positive", "1", "--json", out, "--quiet")
    assert result.exit_code == 0, result.output
    r = json.loads(out.read_text())
    assert r["linkage"]["join"]["crosswalk"]["mapped"][0]["new"] == [{"code": "North", "weight": 0.5},
                                                                     {"code": "South", "weight": 0.5}]
    assert r["linkage"]["people"] == 200 and r["linkage"]["crosswalk"]["sha256"]
    write_text(walk, "old_code,new_code,weight\nOld,North,0.5\nOld,South,0.6\n")
    result = run_cli("audit", data, "--area", "area", "--composition", comp, "--crosswalk", walk, "--decision", "flag")
    assert result.exit_code == 1 and "add up to 1.1" in result.output
    write_text(walk, "old,new\nOld,North\n")
    result = run_cli("audit", data, "--area", "area", "--composition", comp, "--crosswalk", walk, "--decision", "flag")
    assert result.exit_code == 1 and "old_code and new_code" in result.output


def test_spreadsheet_composition_reads_like_csv(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Composition by origin, 2024"])  # a title row above the header, as offices publish
    sheet.append(["area", "group", "people"])
    for line in COMPOSITION.splitlines()[1:]:
        area, group, people = line.split(",")
        sheet.append([area, group, int(people)])
    book.save(tmp_path / "c.xlsx")
    data = _decisions(tmp_path)
    out = tmp_path / "r.json"
    result = run_cli("audit", data, "--area", "area", "--composition", tmp_path / "c.xlsx", "--decision", "flag",
                     "--positive", "1", "--json", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert _group(json.loads(out.read_text()), "y")["weighted"]["rate"] == pytest.approx(0.34)


def test_duplicates_blank_codes_and_non_numbers_are_errors_naming_the_row(tmp_path):
    result, _ = _audit(tmp_path, COMPOSITION + "North,x,5\n")
    assert result.exit_code == 1 and "'North', group 'x' appears twice" in result.output and "row 6" in result.output
    result, _ = _audit(tmp_path, COMPOSITION + ",x,5\n")
    assert result.exit_code == 1 and "blank at row 6" in result.output
    result, _ = _audit(tmp_path, COMPOSITION.replace("North,x,80", "North,x,eighty"))
    assert result.exit_code == 1 and "'eighty'" in result.output and "row 2" in result.output
    result, _ = _audit(tmp_path, "place,group,people\nNorth,x,1\n")
    assert result.exit_code == 1 and "no area column 'area'" in result.output and "--composition-columns" in result.output


@pytest.mark.parametrize("args, message", [
    (("--area", "area"), "--area COL and --composition TABLE go together"),
    (("--area", "area", "--composition", "c.csv", "--protected", "area"), "drop --protected"),
    (("--area", "area", "--composition", "c.csv", "--reference", "origin=x"), "give --reference group=GROUP"),
    (("--area", "area", "--composition", "c.csv", "--reference", "group=z"), "has no group 'z'"),
    (("--area", "area", "--composition", "c.csv", "--composition-columns", "a,b"), "three column names"),
])
def test_usage_errors(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    _decisions(tmp_path)
    write_text(tmp_path / "c.csv", COMPOSITION)
    result = run_cli("audit", "d.csv", "--decision", "flag", "--positive", "1", *args)
    assert_no_traceback(result)
    assert result.exit_code in (1, 2) and message in result.output, result.output


def test_every_engine_gives_the_same_linkage(tmp_path):
    pytest.importorskip("duckdb")
    pytest.importorskip("dask.dataframe")
    data = _decisions(tmp_path)
    comp = write_text(tmp_path / "c.csv", COMPOSITION)
    spec = AuditSpec(protected=("area",), decision="flag", positive=("1",))
    runs = [audit_areas(data, spec, composition=comp, engine=e).results for e in ("pandas", "duckdb", "dask")]
    assert runs[0]["linkage"] == runs[1]["linkage"] == runs[2]["linkage"]
    assert [r["engine"] for r in runs] == ["pandas", "duckdb", "dask"]


def test_findings_name_their_estimate_and_never_claim_individual_measurement(tmp_path):
    """Segregated areas make the bounds narrow: a 'high' finding on the bounds; every finding says it is from areas."""
    text = "area,group,people\nNorth,x,100\nNorth,y,0\nSouth,x,0\nSouth,y,100\n"
    data = _decisions(tmp_path)
    comp = write_text(tmp_path / "c.csv", text)
    out = tmp_path / "bundle"
    result = run_cli("audit", data, "--area", "area", "--composition", comp, "--decision", "flag", "--positive", "1",
                     "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    findings = json.loads((out / "findings.json").read_text())
    kinds = {f["kind"]: f for f in findings}
    assert set(kinds) == {"area_bounds", "area_weighted", "area_ecological", "area_estimates_only"}
    assert kinds["area_bounds"]["severity"] == "high" and "4.00" in kinds["area_bounds"]["statement"]["en"]
    for f in findings:
        assert "not a measurement of individuals" in f["statement"]["en"] or f["kind"] == "area_estimates_only"
        assert f["statement"]["nl"] and f["population"]["nl"]
    assert "understates" in kinds["area_weighted"]["statement"]["en"]
    html = (out / "report.en.html").read_text()
    assert "Estimates from area statistics" in html and "Area-weighted" in html
    verify = run_cli("verify", out, "--data", data)
    assert verify.exit_code == 0 and "Input composition c.csv: sha256 matches" in verify.output, verify.output
    write_text(comp, text.replace("North,x,100", "North,x,90"))
    verify = run_cli("verify", out, "--data", data)
    assert verify.exit_code == 1 and "FAILED" in verify.output


def test_latin1_composition_needs_its_own_encoding_option(tmp_path):
    """A latin-1 composition ('Nërd') is refused with the composition's option named, and read with it."""
    text = COMPOSITION.replace("North", "Nërd")
    result, _ = _audit(tmp_path, text, codes=("Nërd", "South"), encoding="latin-1")
    assert result.exit_code == 1 and "--composition-encoding latin-1" in result.output
    result, r = _audit(tmp_path, text, "--composition-encoding", "latin-1", codes=("Nërd", "South"), encoding="latin-1")
    assert result.exit_code == 0 and _group(r, "y")["weighted"]["rate"] == pytest.approx(0.34)


def test_total_group_and_total_area_rows_are_checked_and_left_out(tmp_path):
    """Offices add a 'Totaal' group per area and a 'Totaal' area; both are totals, not a group or an area."""
    text = COMPOSITION + "North,Totaal,100\nSouth,Totaal,100\nTotaal,x,100\nTotaal,y,100\nTotaal,Totaal,200\n"
    result, r = _audit(tmp_path, text)
    assert result.exit_code == 0, result.output
    assert [g["group"] for g in r["linkage"]["groups"]] == ["x", "y"]
    assert r["linkage"]["join"]["composition_without_decisions"]["areas"] == 0
    assert any("'Totaal' are totals" in n for n in r["notes"]) and _group(r, "y")["weighted"]["rate"] == pytest.approx(0.34)
    wide = "area;x;y;Totaal\nNorth;80;20;100\nSouth;20;80;100\nTotaal;100;100;200\n"
    result, r = _audit(tmp_path, wide, "--composition-columns", "area,origin,people")
    assert result.exit_code == 0 and r["linkage"]["composition"]["areas"] == 2, result.output
    assert _group(r, "y")["weighted"]["rate"] == pytest.approx(0.34)
    result, _ = _audit(tmp_path, COMPOSITION + "North,Totaal,150\nSouth,Totaal,100\n")
    assert result.exit_code == 1 and "area 'North' it is 150" in result.output


def test_decisions_without_an_area_code_are_reported(tmp_path):
    data = write_text(tmp_path / "d.csv", "area,flag\n" + "North,1\n" * 10 + "North,0\n" * 90 + "South,1\n" * 40
                      + "South,0\n" * 60 + ",1\n" * 7)
    comp = write_text(tmp_path / "c.csv", COMPOSITION)
    out = tmp_path / "r.json"
    result = run_cli("audit", data, "--area", "area", "--composition", comp, "--decision", "flag", "--positive", "1",
                     "--json", out, "--quiet")
    assert result.exit_code == 0, result.output
    r = json.loads(out.read_text())
    assert r["linkage"]["join"]["decisions_without_area"] == 7 and r["linkage"]["people"] == 200
    assert any("7 decisions have no area code" in n for n in r["notes"])


def test_a_template_gives_rules_and_rights_but_not_its_own_columns(tmp_path):
    """--template welfare-fraud-risk names nationality, gender, strata and a selection method of its own data;
    an area audit keeps its rules and drops those columns, and a reference given on the command line stays."""
    rows = ["area,flag,fraud_found"] + [f"{a},{int(i < s)},{'Ja' if i == 0 else 'Nee'}"
                                         for a, s in (("North", 10), ("South", 40)) for i in range(100)]
    data = write_text(tmp_path / "d.csv", "\n".join(rows) + "\n")
    comp = write_text(tmp_path / "c.csv", COMPOSITION)
    out = tmp_path / "r.json"
    result = run_cli("audit", data, "--template", "welfare-fraud-risk", "--area", "area", "--composition", comp,
                     "--decision", "flag", "--positive", "1", "--reference", "group=y", "--json", out, "--quiet")
    assert result.exit_code == 0, result.output
    r = json.loads(out.read_text())
    assert r["linkage"]["reference"] == "y" and r["template"]["name"] == "welfare-fraud-risk"
    assert _group(r, "x")["weighted"]["rate"] == pytest.approx(0.16)
