"""The headline: which result a report opens with (the documented rule), and where it appears."""

from __future__ import annotations

import json

import pytest

from auditkit.report import build_document
from auditkit.report._headline import choose_headline
from conftest import run_cli


def _c(attr: str, group: str, ratio: float, low: float, high: float, status: str = "difference_detected",
       metric: str = "selection_rate") -> dict:
    return {"attribute": attr, "group": group, "metric": metric, "ratio": ratio, "ratio_ci": [low, high],
            "status": status}


#: The README's model example (auditkit assess --example welfare): ratios and 95% intervals as printed.
README_MODEL = {
    "attributes": [{"attribute": "nationality", "attributes": ["nationality"]},
                   {"attribute": "gender", "attributes": ["gender"]},
                   {"attribute": "nationality × gender", "attributes": ["nationality", "gender"]}],
    "template": {"protected": {"nationality": {}, "gender": {}}},
    "comparisons": [_c("nationality", "EU", 3.15, 2.56, 3.89), _c("nationality", "non-EU", 4.55, 3.87, 5.35),
                    _c("gender", "F", 0.91, 0.78, 1.06, "no_difference_detected"),
                    _c("nationality × gender", "EU × F", 3.09, 2.33, 4.09),
                    _c("nationality × gender", "non-EU × M", 4.86, 3.87, 6.09),
                    _c("nationality × gender", "non-EU × F", 3.87, 3.07, 4.87)],
}


def test_readme_model_example_headline_is_non_eu_against_dutch():
    """Non-EU selected 4.55× as often as Dutch leads, although the intersection non-EU × M has a larger ratio."""
    finding = {"id": "F-954ba422", "evidence": ["comparisons/nationality/non-EU/selection_rate"]}
    h = choose_headline(README_MODEL, [finding])
    assert (h.comparison["attribute"], h.comparison["group"], h.tier) == ("nationality", "non-EU", 0)
    assert h.finding is finding


def test_the_supported_size_ranks_not_the_point_estimate():
    """A ratio of 6 with an interval down to 1.1 ranks below 4.5 measured as 3.9 to 5.4; lower ratios count by
    their distance from 1 on a log scale (0.2 with interval to 0.25 beats 3 with interval to 2)."""
    res = {"attributes": [{"attribute": "a", "attributes": ["a"]}],
           "comparisons": [_c("a", "wide", 6.0, 1.1, 30.0), _c("a", "precise", 4.5, 3.9, 5.4)]}
    assert choose_headline(res, []).comparison["group"] == "precise"
    res["comparisons"] = [_c("a", "low", 0.2, 0.15, 0.25), _c("a", "high", 3.0, 2.0, 4.5)]
    assert choose_headline(res, []).comparison["group"] == "low"


def test_only_detected_publishable_single_attributes_first():
    """Undetected and unpublishable comparisons never lead; an intersection leads only when no single attribute
    has a detected difference; no candidate gives None."""
    res = {"attributes": [{"attribute": "a", "attributes": ["a"]}, {"attribute": "a × b", "attributes": ["a", "b"]}],
           "comparisons": [_c("a", "x", 9.0, 5.0, 15.0, "no_difference_detected"), _c("a × b", "x × y", 2.0, 1.5, 2.7),
                           _c("a", "tiny", 8.0, 4.0, 16.0)]}
    h = choose_headline(res, [], publishable=lambda c: c["group"] != "tiny")
    assert (h.comparison["group"], h.tier) == ("x × y", 1)
    assert choose_headline({"comparisons": [_c("a", "x", 2.0, 0.9, 4.0, "no_difference_detected")]}, []) is None


def test_ties_are_broken_the_same_way_every_time():
    """Equal strength: the order of the records does not change the choice."""
    one, two = _c("a", "p", 2.0, 1.5, 2.5), _c("a", "q", 2.0, 1.5, 2.5)
    res = {"attributes": [{"attribute": "a", "attributes": ["a"]}]}
    assert choose_headline({**res, "comparisons": [one, two]}, []).comparison["group"] == "p"
    assert choose_headline({**res, "comparisons": [two, one]}, []).comparison["group"] == "p"


@pytest.fixture(scope="module")
def welfare(tmp_path_factory):
    """The decisions example: auditkit audit --example welfare."""
    out = tmp_path_factory.mktemp("headline") / "welfare"
    result = run_cli("audit", "--example", "welfare", "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("lang, label, sentence", [
    ("en", "non-EU", "People in group non-EU (Nationality) were selected 1.88 times as often as people in group Dutch: "
           "14.9% against 7.9% (95% interval of the ratio: 1.56 to 2.27)."),
    ("nl", "niet-EU", "Mensen in groep niet-EU (Nationaliteit) werden 1,88 keer zo vaak geselecteerd als mensen in "
                      "groep Nederlands: 14,9% tegenover 7,9% (95%-interval van de verhouding: 1,56 tot 2,27)."),
])
def test_summary_opens_with_the_headline_and_its_chart(welfare, lang, label, sentence):
    """The summary's first block is the headline sentence (attribute and group labels from the template), then
    its source line citing the finding, then the chart of the headline's attribute with the headline group
    marked; the gender finding (p = 0.042) does not lead."""
    summary = build_document(welfare, lang).sections[0]
    first, source, chart = summary.blocks[:3]
    assert first.style == "headline" and first.text == sentence
    finding = next(f for f in json.loads((welfare / "findings.json").read_text())
                   if f["evidence"] == ["comparisons/nationality/non-EU/selection_rate"])
    assert finding["id"] in source.text
    assert chart.kind == "chart" and [r.label for r in chart.body.rows if r.highlight] == [label]


def test_pdf_page_one_carries_the_headline(welfare, tmp_path):
    """Page 1 of the PDF holds the headline sentence and the chart's title."""
    from pypdf import PdfReader

    from auditkit.report import render_report

    pdf = render_report(welfare, formats=("pdf",), out_dir=tmp_path)[0]
    page = " ".join(PdfReader(str(pdf)).pages[0].extract_text().split())
    assert "were selected 1.88 times as often as people in group Dutch" in page
    assert "Selection rate of each Nationality group relative to Dutch" in page
