"""Archetypes and flip tests where a reader meets them: the report (summary and model section) and the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditkit.report import build_document
from conftest import run_cli

ARCHETYPES = Path(__file__).parent / "test_report_data" / "archetypes.yaml"


@pytest.fixture(scope="module")
def assessed(tmp_path_factory):
    """auditkit assess --example welfare --archetypes FILE: the bundle and what the terminal printed."""
    pytest.importorskip("shap")
    out = tmp_path_factory.mktemp("model") / "welfare"
    result = run_cli("assess", "--example", "welfare", "--archetypes", str(ARCHETYPES), "--out", str(out))
    assert result.exit_code == 0, result.output
    return out, result.output


def test_terminal_prints_the_headline_and_every_flip_test(assessed):
    """The README's main result leads the terminal summary; each flip test prints its changed decisions,
    the direct effect with its interval and the Holm-adjusted p."""
    _, output = assessed
    assert ("Headline [F-954ba422]: non-EU (Nationality) selected 4.55 times as often as Dutch "
            "(95% CI 3.87 to 5.35).") in output
    assert ("Flip test dutch_language_requirement_met: 1 -> 0: 980 decisions change to selected, 0 to not "
            "selected; selection rate +20.9 points (95% CI +19.9 to +21.9), Holm p < 0.0001.") in output
    assert "Flip test lives_in_zuid_oost: 0 -> 1: 517 decisions change to selected" in output


def test_archetypes_appear_in_the_summary_and_the_model_section(assessed):
    """Each person with score, decision and rank among the 6,000 (rank 224: 96.3% score lower or equal), their
    groups by the template's labels, and the inputs filled from the data."""
    bundle, _ = assessed
    doc = build_document(bundle, "nl")
    summary = " ".join(getattr(b, "text", "") for b in doc.sections[0].blocks)
    assert "Voorbeeldpersonen gescoord door het model: Fatima" in summary and "score 0,343, geselecteerd" in summary
    model = next(s for s in doc.sections if s.id == "model")
    table = next(s for s in model.subsections if s.id == "model-archetypes").blocks[1]
    fatima = [c.text for c in table.rows[0].cells]
    assert fatima[2:] == ["Geslacht: vrouwen; Nationaliteit: niet-EU", "0,343", "geselecteerd",
                          "224 van 6.000 (96,3% scoort lager of gelijk)", "months_on_benefit"]
    assert [c.text for c in table.rows[1].cells][4] == "niet geselecteerd"


def test_a_small_population_hides_the_rank(assessed, tmp_path):
    """With a minimum count above the population size, no rank is published."""
    bundle, _ = assessed
    doc = build_document(bundle, "en", min_count=10_000)
    model = next(s for s in doc.sections if s.id == "model")
    table = next(s for s in model.subsections if s.id == "model-archetypes").blocks[1]
    assert all(r.cells[5].text == "—" for r in table.rows)
