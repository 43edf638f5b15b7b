"""The terminal summary in the reader's language: `audit/assess --lang nl` prints Dutch words, Dutch numbers
and the template's labels (headline, tables, findings), and writes the Dutch report into the bundle."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from english_scan import codes_of, english, raw_codes, relabelled


@pytest.fixture(scope="module")
def dutch(tmp_path_factory):
    out = tmp_path_factory.mktemp("terminal") / "welfare"
    result = run_cli("audit", "--example", "welfare", "--lang", "nl", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out, result.output


def test_the_summary_headline_and_findings_are_dutch(dutch):
    """Every line before the example's next steps is Dutch, with Dutch numbers and the template's labels."""
    out, output = dutch
    summary = output.split("\nExample 'welfare'")[0]
    for line in ("Populatie: 6.000 rijen gelezen, 6.000 onderzocht.",
                 "Nationaliteit  (referentie: Nederlands, gekozen door de onderzoeker)",
                 "Kern [F-954ba422]: niet-EU (Nationaliteit) 1,88 keer zo vaak geselecteerd als Nederlands "
                 "(95%-BI 1,56 tot 2,27).",
                 "Bevindingen:", "  [F-954ba422 hoog] Mensen in groep niet-EU (Nationaliteit) werden 1,88 keer"):
        assert line in summary, line
    assert "  niet-EU                            875           14,9%     12,7%–17,4%    1,88" in summary
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    findings = findings.get("findings", findings) if isinstance(findings, dict) else findings
    codes, relabels = codes_of(results, findings), relabelled(results, "nl")
    lines = [x for x in summary.splitlines() if x.strip() and not x.startswith("auditkit ")]
    assert len(lines) > 20
    assert [(x, english(x, codes)) for x in lines if english(x, codes)] == []
    assert [(x, raw_codes(x, relabels)) for x in lines if raw_codes(x, relabels)] == []


def test_the_bundle_holds_the_dutch_report_and_verifies(dutch):
    """--lang names the report written into the bundle; verify re-renders it to the same bytes."""
    out, output = dutch
    assert (out / "report.nl.html").is_file() and not (out / "report.en.html").exists()
    assert f"{out / 'report.nl.html'}" in output
    assert run_cli("verify", str(out)).exit_code == 0


def test_english_stays_the_default_with_labels(tmp_path):
    """Without --lang: English words and number format, status codes as in the JSON, the template's labels."""
    result = run_cli("audit", "--example", "welfare", "--out", str(tmp_path / "b"))
    assert result.exit_code == 0, result.output
    assert "Population: 6,000 rows read, 6,000 audited." in result.output
    assert "  non-EU                             875           14.9%     12.7%–17.4%    1.88" in result.output
    assert "difference_detected" in result.output
    assert ("Headline [F-954ba422]: non-EU (Nationality) selected 1.88 times as often as Dutch "
            "(95% CI 1.56 to 2.27).") in result.output


def test_an_unknown_language_is_a_usage_error():
    """A code without a catalog is refused before any work, with the languages there are."""
    result = run_cli("audit", "--example", "welfare", "--lang", "xx")
    assert result.exit_code == 2 and "No report language 'xx'" in result.output
