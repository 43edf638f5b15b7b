"""The screening band: the four-fifths band by default, or the band an audit sets (AuditSpec.screening_band, or
a template's measures.screening_bands.selection_rate), applied to every selection-rate comparison, recorded in
the results only when it is not the default, and named with its numbers in every report language."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from auditkit import AuditSpec, UsageError
from auditkit.audit import audit
from conftest import run_cli

sys.path.insert(0, str(Path(__file__).parent))
from english_scan import codes_of, html_english, markdown_english  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "datasets" / "welfare" / "decisions.csv"


def _rows(tmp_path: Path) -> Path:
    """Group B's selection rate is 1.15 times A's (23% against 20%, 1,000 people each)."""
    path = tmp_path / "d.csv"
    rows = [("A", int(i < 200)) for i in range(1000)] + [("B", int(i < 230)) for i in range(1000)]
    path.write_text("g,d\n" + "".join(f"{g},{d}\n" for g, d in rows), encoding="utf-8")
    return path


def _band_of(results: dict) -> dict:
    (c,) = [c for c in results["comparisons"] if c["metric"] == "selection_rate"]
    assert c["ratio"] == pytest.approx(1.15)
    return c["screening_band"]


def test_the_band_set_is_the_band_applied(tmp_path):
    path = _rows(tmp_path)
    default = audit(path, AuditSpec(protected=("g",), decision="d", references={"g": "A"})).results
    band = _band_of(default)
    assert (band["low"], band["high"], band["ratio_outside"]) == (0.8, 1.25, False)
    assert band["name"].startswith("four-fifths") and "screening_band" not in default["parameters"]
    narrow = audit(path, AuditSpec(protected=("g",), decision="d", references={"g": "A"},
                                   screening_band=(0.9, 1.1))).results
    band = _band_of(narrow)
    assert (band["low"], band["high"], band["ratio_outside"]) == (0.9, 1.1, True)
    assert band["name"].startswith("screening band 0.9 to 1.1")
    assert list(narrow["parameters"]["screening_band"]) == [0.9, 1.1]
    # nothing else changes
    strip = [{k: v for k, v in c.items() if k != "screening_band"} for c in default["comparisons"]]
    assert strip == [{k: v for k, v in c.items() if k != "screening_band"} for c in narrow["comparisons"]]


@pytest.mark.parametrize("band", [(1.0, 1.25), (0.8, 1.0), (1.2, 1.5), (0.0, 1.25), (-1, 2), (0.8, float("inf")),
                                  (0.8,), (0.8, 1.1, 1.2), ("low", "high"), None])
def test_a_band_that_cannot_screen_is_a_usage_error(band):
    with pytest.raises(UsageError, match="screening band"):
        AuditSpec(protected=("g",), decision="d", screening_band=band)


def test_reports_name_the_band_set_in_both_languages_and_verify_holds(tmp_path):
    template = tmp_path / "my-band.yaml"
    template.write_text("auditkit_template: 1\nname: my-band\nextends: welfare-fraud-risk\nmeasures:\n"
                        "  screening_bands:\n    selection_rate:\n      low: 0.9\n      high: 1.1\n", encoding="utf-8")
    bundle = tmp_path / "bundle"
    result = run_cli("audit", str(DATA), "--template", str(template), "--out", str(bundle))
    assert result.exit_code == 0, result.output
    assert "The screening band set for this audit (0.9 to 1.1) is a rule of thumb, not a test." in result.output
    results = json.loads((bundle / "results.json").read_text(encoding="utf-8"))
    assert results["parameters"]["screening_band"] == [0.9, 1.1]
    outside = [c for c in results["comparisons"] if (c.get("screening_band") or {}).get("ratio_outside")]
    assert outside and all(c["ratio"] is None or not 0.9 <= c["ratio"] <= 1.1 for c in outside)
    nl = tmp_path / "nl"
    assert run_cli("report", str(bundle), "--lang", "nl", "--format", "html", "--format", "md",
                   "--out", str(nl)).exit_code == 0
    english_html = (bundle / "report.en.html").read_text(encoding="utf-8")
    dutch_html = (nl / "report.nl.html").read_text(encoding="utf-8")
    assert "0.9 to 1.1" in english_html and "four-fifths" not in english_html.lower()
    assert "0,9 tot 1,1" in dutch_html and "vier-vijfde" not in dutch_html.lower()
    findings = json.loads((bundle / "findings.json").read_text(encoding="utf-8"))
    findings = findings.get("findings", findings) if isinstance(findings, dict) else findings
    codes = codes_of(results, findings)
    assert html_english(dutch_html, codes) == []
    assert markdown_english((nl / "report.nl.md").read_text(encoding="utf-8"), codes) == []
    verified = run_cli("verify", str(bundle), "--data", str(DATA))
    assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize("value", [[0.9], "0.9-1.1", [2, 3], {"low": 0.9}, [None, None]])
def test_a_crafted_band_in_a_bundle_reads_as_the_four_fifths_band(value):
    from auditkit.spec import screening_band

    assert screening_band({"parameters": {"screening_band": value}}) == (0.8, 1.25)
    assert screening_band({"parameters": [1, 2]}) == (0.8, 1.25) and screening_band([]) == (0.8, 1.25)


def test_the_command_line_band_wins_over_the_templates(tmp_path):
    out = tmp_path / "r.json"
    args = ["audit", str(DATA), "--template", "welfare-fraud-risk", "--json", str(out), "--quiet"]
    assert run_cli(*args).exit_code == 0
    assert "screening_band" not in json.loads(out.read_text(encoding="utf-8"))["parameters"]
    assert run_cli(*args, "--screening-band", "0.9,1.1").exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8"))["parameters"]["screening_band"] == [0.9, 1.1]
    for bad, says in (("abc", "takes LOW,HIGH"), ("1.2,1.5", "must hold a ratio of 1")):
        result = run_cli(*args, "--screening-band", bad)
        assert result.exit_code == 2 and says in result.output
