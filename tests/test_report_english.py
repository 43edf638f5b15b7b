"""The Dutch report holds no English outside quotations of user-provided text: every word comes from the Dutch
catalog, the template's Dutch texts or the data's own names.  Checked on the model example, the decisions
example and a count-table audit, in HTML and Markdown, with the detector of tests/english_scan.py; and the
detector itself is shown to catch planted English."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from english_scan import codes_of, english, html_english, html_raw_codes, markdown_english, relabelled

BERKELEY = ("datasets/berkeley/admissions.csv", "--protected", "gender", "--count-column", "count", "--decision",
            "decision", "--positive", "Admitted", "--strata", "department", "--selection-is", "beneficial",
            "--reference", "gender=Male")


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """The README's model example, the decisions example, the Berkeley count table and the audit over time of
    docs/over-time.md, rendered in Dutch."""
    from pathlib import Path

    root = Path(__file__).parents[1]
    tmp = tmp_path_factory.mktemp("english")
    runs = {"model": ("assess", "--example", "welfare"), "decisions": ("audit", "--example", "welfare"),
            "count table": ("audit", *(str(root / a) if a.startswith("datasets/") else a for a in BERKELEY)),
            "periods": ("audit", str(root / "datasets" / "welfare-over-time" / "decisions.csv"), "--protected",
                        "nationality", "--protected", "gender", "--decision", "selected", "--positive", "Ja",
                        "--reference", "nationality=Dutch", "--reference", "gender=M", "--max-depth", "1",
                        "--period", "year")}
    out = {}
    for name, args in runs.items():
        bundle = tmp / name.replace(" ", "-")
        result = run_cli(*args, "--out", str(bundle), "--quiet")
        assert result.exit_code == 0, result.output
        rendered = tmp / f"{bundle.name}-nl"
        result = run_cli("report", str(bundle), "--lang", "nl", "--format", "html", "--format", "md",
                         "--out", str(rendered))
        assert result.exit_code == 0, result.output
        findings = json.loads((bundle / "findings.json").read_text(encoding="utf-8"))
        findings = findings.get("findings", findings) if isinstance(findings, dict) else findings
        results = json.loads((bundle / "results.json").read_text(encoding="utf-8"))
        out[name] = (bundle, rendered, codes_of(results, findings), relabelled(results, "nl"))
    return out


@pytest.mark.parametrize("name", ["model", "decisions", "count table", "periods"])
def test_dutch_report_has_no_english(bundles, name):
    """Not one text node of the HTML, not one line of the Markdown reads as English; and no text is marked
    lang="en" (an English island), since nothing but quoted user text may stay in another language."""
    _, rendered, codes, _ = bundles[name]
    html = (rendered / "report.nl.html").read_text(encoding="utf-8")
    md = (rendered / "report.nl.md").read_text(encoding="utf-8")
    assert html_english(html, codes) == []
    assert markdown_english(md, codes) == []
    assert 'lang="en"' not in html
    assert len(html) > 30_000 and "Samenvatting" in html and "Bijlage" in html  # a whole report was scanned


@pytest.mark.parametrize("planted", [
    "<p>The model selects these people more often.</p>",  # a plain English sentence
    '<td lang="en">outcomes known for most cases</td>',  # marked English: an island, caught all the same
    "<li>Rates are not shown for groups below the threshold</li>",
    "<p>Aandeel van de steekproef: share of the random sample</p>",  # a catalog phrase inside Dutch
])
def test_the_detector_catches_planted_english(bundles, planted):
    """A sentence planted in the Dutch report (HTML and Markdown) is found, whatever element holds it."""
    _, rendered, codes, _ = bundles["model"]
    html = (rendered / "report.nl.html").read_text(encoding="utf-8")
    spiked = html.replace("</main>", planted + "</main>", 1) if "</main>" in html else html.replace(
        "</body>", planted + "</body>", 1)
    assert spiked != html
    assert len(html_english(spiked, codes)) == 1
    md = (rendered / "report.nl.md").read_text(encoding="utf-8")
    text = planted.split(">", 1)[1].rsplit("<", 1)[0]
    assert len(markdown_english(md + "\n" + text + "\n", codes)) == 1


def test_the_detector_leaves_quotations_code_and_names_alone():
    """Quoted user text, code and the data's names are not English prose; Dutch is not English."""
    assert english("Mensen in groep niet-EU werden 1,88 keer zo vaak geselecteerd.") is None
    assert english("selection_rate, F-954ba422, welfare-fraud-risk.yaml, 'fraud_found'") is None
    assert english("De kolom dutch_language_requirement_met") is None
    assert english("kolom age", frozenset({"age"})) is None and english("kolom age") == "age"
    assert html_english('<p class="reply quoted">We do not discriminate.</p><pre><code>auditkit audit the data'
                        '</code></pre>') == []
    assert markdown_english("> We do not discriminate.\n| “the claim is ours” |\n```\nauditkit the\n```\n") == []


def test_the_english_report_is_english(bundles):
    """The same detector sees the English report's English (the check has teeth)."""
    bundle, rendered, codes, _ = bundles["decisions"]
    assert run_cli("report", str(bundle), "--lang", "en", "--format", "html", "--out", str(rendered)).exit_code == 0
    assert len(html_english((rendered / "report.en.html").read_text(encoding="utf-8"), codes)) > 100


@pytest.mark.parametrize("name", ["model", "decisions"])
def test_dutch_report_prints_labels_not_codes(bundles, name):
    """Where the template gives a Dutch label (nationality -> Nationaliteit, non-EU -> niet-EU, F -> vrouwen),
    no text node prints the code: headings, captions, tables, chart labels, findings, the summary."""
    _, rendered, _, relabelled_codes = bundles[name]
    assert {"nationality", "gender", "non-EU", "Dutch", "F", "M"} <= relabelled_codes
    html = (rendered / "report.nl.html").read_text(encoding="utf-8")
    assert html_raw_codes(html, relabelled_codes) == []
    for label in ("Nationaliteit", "niet-EU × vrouwen", "Nederlands × mannen"):
        assert label in html
    planted = html.replace("</body>", "<p>Mensen in groep non-EU (nationality)</p></body>", 1)
    assert html_raw_codes(planted, relabelled_codes) == [("Mensen in groep non-EU (nationality)",
                                                          ["nationality", "non-EU"])]
