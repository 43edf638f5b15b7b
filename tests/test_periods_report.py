"""The report's section over time: line chart, tables, shift notice, small cells withheld in every period."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import auditkit
from auditkit.audit import AuditResult
from auditkit.measure._counts import CountTable
from auditkit.report import build_document
from auditkit.report._document import Chart, LineChart, Table

from test_periods import _measure, _period_table
from test_periods_dataset import FOLDER, _periods


def _sections(doc):
    for s in doc.sections:
        yield s
        yield from _sections_of(s)


def _sections_of(s):
    for sub in s.subsections:
        yield sub
        yield from _sections_of(sub)


def _periods_section(doc):
    return next(s for s in _sections(doc) if s.id == "periods")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> object:
    results = _periods(pd.read_csv(FOLDER / "decisions.csv"))
    out = tmp_path_factory.mktemp("over-time") / "bundle"
    AuditResult(None, results).write_bundle(out, report=False)  # type: ignore[arg-type]
    auditkit.report(out, "en", ["html", "md"])
    auditkit.report(out, "nl", ["html"])
    return out


def test_line_chart_per_attribute(bundle) -> None:
    """One line chart per attribute: a series per group, a point per year with its interval, reference dashed."""
    doc = build_document(bundle, "en")
    charts = [b for s in _sections_of(_periods_section(doc)) for b in s.blocks if isinstance(b, Chart)]
    assert [c.title for c in charts] == [
        "Selection rate of each nationality group per year, 2014–2021, with 95% intervals",
        "Selection rate of each gender group per year, 2014–2021, with 95% intervals"]
    body = charts[0].body
    assert isinstance(body, LineChart) and body.categories == tuple(str(y) for y in range(2014, 2022))
    dutch = next(s for s in body.series if s.label.startswith("Dutch"))
    assert dutch.dashed and all(lo < v < hi for v, lo, hi in dutch.points)
    html = (bundle / "report.en.html").read_text()
    svg = re.findall(r'<svg class="chart"[^>]*id="(m-[0-9a-f]+)-svg".*?</svg>', html, re.S)
    assert charts[0].id in svg
    assert html.count("<polyline") >= 5  # Dutch, EU, non-EU, F, M


def test_tables_match_the_results(bundle) -> None:
    """The per-period table prints each period's rate and ratio as in results.json; the summary table the runs."""
    import json

    results = json.loads((bundle / "results.json").read_text())
    doc = build_document(bundle, "en")
    nat = next(s for s in _sections_of(_periods_section(doc)) if s.title == "nationality")
    summary, per_period = (b for b in nat.blocks if isinstance(b, Table))
    non_eu = next(r for r in summary.rows if r.cells[0].text.startswith("non-EU"))
    assert non_eu.cells[2].text == "2015–2018 (4/8)"
    run = results["periods"]["over_time"][1]["persistence"]["runs"][0]["pooled"]
    assert non_eu.cells[3].text == f"2015–2018: {run['ratio']:.2f} ({run['ratio_ci'][0]:.2f}–{run['ratio_ci'][1]:.2f})"
    assert len(per_period.rows) == 8 * 3
    row = next(r for r in per_period.rows if r.cells[0].text == "2016" and r.cells[1].text == "non-EU")
    c = next(c for c in results["periods"]["per_period"][2]["comparisons"]
             if c["group"] == "non-EU" and c["metric"] == "selection_rate")
    assert row.cells[4].text.startswith(f"{c['ratio']:.2f}") and row.cells[6].text == "difference detected"


def test_shift_notice_markdown_and_dutch(bundle) -> None:
    """The shift is stated in the section; Markdown keeps the tables; the Dutch report has its own words."""
    md = (bundle / "report.en.md").read_text()
    assert "### Over time" in md and "From 2019, a difference in the selection rate was no longer detected" in md
    assert "| 2016 | non-EU |" in md
    nl = (bundle / "report.nl.html").read_text()
    assert "Door de tijd" in nl and "Vanaf 2019 werd voor non-EU" in nl
    findings = (bundle / "findings.json").read_text()
    assert '"kind": "shift"' in findings and '"kind": "persistence"' in findings


def test_small_cells_are_withheld_in_every_period(tmp_path) -> None:
    """A group with 3 selected in one year: its rate, ratio and over-time figures are withheld in every year
    (the years add up to the printed total), and its period findings are withheld too."""
    table, _ = _period_table({"a": [0.1] * 4, "b": [0.3] * 4, "c": [0.1] * 4}, n=3000, seed=6)
    low = table.low.copy()
    low[2, 1, 1, :] = 0
    low[2, 1, 1, 2] = 3  # group c, 2015: 3 selected
    results = _measure(CountTable(table.dims, low, low.copy())).results
    out = tmp_path / "bundle"
    AuditResult(None, results).write_bundle(out, report=False)  # type: ignore[arg-type]
    doc = build_document(out, "en", min_count=10)
    sub = next(s for s in _sections_of(_periods_section(doc)) if s.title == "g")
    chart = next(b for b in sub.blocks if isinstance(b, Chart))
    c_series = next(s for s in chart.body.series if s.label == "c")
    assert all(v is None for v, _, _ in c_series.points)
    assert "c 2014" not in chart.description
    summary, per_period = (b for b in sub.blocks if isinstance(b, Table))
    c_row = next(r for r in summary.rows if r.cells[0].text.startswith("c vs"))
    assert all(cell.suppressed for cell in c_row.cells[2:])
    for r in per_period.rows:
        if r.cells[1].text == "c":
            assert r.cells[3].suppressed and r.cells[2].suppressed
    b_rows = [r for r in per_period.rows if r.cells[1].text == "b"]
    assert not any(cell.suppressed for r in b_rows for cell in r.cells)


def test_line_chart_escapes_group_names() -> None:
    """Group names from the data reach the SVG escaped."""
    from auditkit.report._document import LineSeries
    from auditkit.report._svg import chart_svg

    body = LineChart(categories=("2020", "2021"), series=(LineSeries("<script>x</script>", ((0.1, 0.05, 0.2),
                                                                                          (None, None, None))),),
                     axis_label="year & <b>", value_label="rate", y_ticks=((0.0, "0%"), (0.2, "20%")), y_max=0.2)
    svg = str(chart_svg(Chart(id="x", title="t", description="d", body=body)))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "year &amp; &lt;b&gt;" in svg
    assert "<polyline" not in svg  # one shown point: no line to draw


def test_pdf_has_the_section(bundle, tmp_path) -> None:
    """The PDF (WeasyPrint) carries the section and its chart."""
    pytest.importorskip("weasyprint")
    pypdf = pytest.importorskip("pypdf")
    files = auditkit.report(bundle, "en", "pdf", out=tmp_path)
    text = "".join(page.extract_text() for page in pypdf.PdfReader(files[0]).pages)
    assert "Over time" in text and "Selection rate of each nationality group per year" in text


def test_terminal_summary_over_time() -> None:
    """The terminal summary lists, per group, the years detected, the longest run and the tests; and the shift."""
    from auditkit.results import summary_text

    text = summary_text(_periods(pd.read_csv(FOLDER / "decisions.csv")))
    assert "Over time, by year (8 years, 2014–2021; selection_rate" in text
    line = next(x for x in text.splitlines() if x.strip().startswith("non-EU vs Dutch"))
    assert "2015–2018 (4/8)" in line and "2015–2018 1.95 (1.72–2.21)" in line
    assert "SHIFT: from 2019, a difference in selection_rate was no longer detected for non-EU (nationality), and " \
           "was detected for F (gender)." in text


def test_frames_per_period_and_over_time() -> None:
    """AuditResult.to_frame('periods') has one row per period and comparison; 'over_time' one per group and rate."""
    results = _periods(pd.read_csv(FOLDER / "decisions.csv"))
    result = AuditResult(None, results)  # type: ignore[arg-type]
    per = result.to_frame("periods")
    assert len(per) == 8 * 3 and list(per.columns[:3]) == ["period", "attribute", "group"]
    row = per[(per.period == "2016") & (per.group == "non-EU")].iloc[0]
    c = next(c for c in results["periods"]["per_period"][2]["comparisons"] if c["group"] == "non-EU")
    assert row.ratio == c["ratio"] and row.p_holm == c["p_holm"] and row.status == "difference_detected"
    over = result.to_frame("over_time").set_index("group")
    assert over.loc["non-EU", "detected_in"] == "2015 2016 2017 2018"
    assert over.loc["F", "longest_run_first"] == "2019" and over.loc["EU", "periods_detected"] == 0
    with pytest.raises(ValueError, match="'periods' or 'over_time'"):
        result.to_frame("years")


def test_terminal_summary_over_time_in_dutch() -> None:
    """`--lang nl`: the lines over time in Dutch words and numbers."""
    from auditkit.results import summary_text

    text = summary_text(_periods(pd.read_csv(FOLDER / "decisions.csv")), lang="nl")
    assert "Door de tijd, per year (8 jaren, 2014–2021" in text
    line = next(x for x in text.splitlines() if x.strip().startswith("non-EU t.o.v. Dutch"))
    assert "2015–2018 1,95 (1,72–2,21)" in line and "<0,0001" in line
    assert "VERSCHUIVING: vanaf 2019 werd voor non-EU (nationality) geen verschil in selectiepercentage meer" in text


def test_shift_is_withheld_with_either_group(tmp_path) -> None:
    """A shift names two groups: when either is withheld in the report, so is the shift's statement."""
    table, _ = _period_table({"a": [0.10] * 4, "b": [0.10, 0.25, 0.25, 0.10], "c": [0.10, 0.10, 0.10, 0.30]},
                             n=4000, seed=12, share=(0.6, 0.3, 0.1))
    low = table.low.copy()
    low[2, 0, 1, :] = 0
    low[2, 0, 1, 2] = 4  # group c, 2014: 4 selected, below the report's minimum of 10
    results = _measure(CountTable(table.dims, low, low.copy())).results
    assert results["periods"]["shifts"], "the planted world must show a shift from b to c"
    shift = next(f for f in auditkit.findings(AuditResult(None, results), "base")  # type: ignore[arg-type]
                 if f["kind"] == "shift")
    assert shift["evidence"] == ["periods/g/b/selection_rate", "periods/g/c/selection_rate"]
    out = tmp_path / "bundle"
    AuditResult(None, results).write_bundle(out, report=False)  # type: ignore[arg-type]
    doc = build_document(out, "en", min_count=10)
    texts = [b.text for s in _sections(doc) for b in s.blocks if hasattr(b, "text")]
    assert not any("no longer detected for b" in t for t in texts)
    from auditkit.report._build_findings import statement
    from auditkit.report._context import Context
    from auditkit.report._suppress import Suppressor
    from auditkit.report._bundle import load_bundle
    from auditkit.locale import load_locale

    bundle = load_bundle(out)
    ctx = Context(bundle=bundle, loc=load_locale("en"), sup=Suppressor(bundle.results, 10))
    from auditkit.report._build_periods import periods_section

    periods_section(ctx)
    assert statement(ctx, shift)[2] is True  # withheld
