"""The one-page brief: `auditkit report BUNDLE --format brief` writes one A4 page as PDF and PNG."""

from __future__ import annotations

import pytest

from conftest import run_cli


@pytest.fixture(scope="module")
def welfare(tmp_path_factory):
    """The decisions example bundle (auditkit audit --example welfare)."""
    out = tmp_path_factory.mktemp("brief") / "welfare"
    assert run_cli("audit", "--example", "welfare", "--out", str(out), "--quiet").exit_code == 0
    return out


@pytest.mark.parametrize("lang, texts", [
    ("en", ("EVIDENCE BRIEF", "People in group non-EU (Nationality) were selected 1.88 times as often as people in "
            "group Dutch", "1.88×", "95% interval 1.56 to 2.27", "14.9% vs 7.9%", "875 and 4,551 people", "570",
            "What the agency must answer", "Why are people in group non-EU selected 1.88 times as often",
            "European Convention on Human Rights, art. 14 (CoE)")),
    ("nl", ("BEWIJSNOTITIE", "Mensen in groep niet-EU (Nationaliteit) werden 1,88 keer zo vaak geselecteerd",
            "95%-interval 1,56 tot 2,27", "14,9% vs 7,9%", "Wat de overheid moet beantwoorden",
            "Europees Verdrag voor de Rechten van de Mens, art. 14 (CoE)")),
])
def test_brief_is_one_a4_page_with_headline_figures_asks_and_citation(welfare, tmp_path, lang, texts):
    """One A4 page (PDF) and its PNG: the headline, the three key figures, what the agency must answer and the
    citation line with the manifest's sha256."""
    from PIL import Image
    from pypdf import PdfReader

    result = run_cli("report", str(welfare), "--format", "brief", "--lang", lang, "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    pdf, png = tmp_path / f"brief.{lang}.pdf", tmp_path / f"brief.{lang}.png"
    reader = PdfReader(str(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (210, 297)
    text = " ".join(reader.pages[0].extract_text().split())
    for wanted in texts:
        assert wanted in text, wanted
    from auditkit.bundle import manifest_hash

    manifest = manifest_hash((welfare / "manifest.json").read_bytes())
    assert manifest in text.replace(" ", "")
    with Image.open(png) as image:
        assert image.size == (1240, 1754) or abs(image.size[1] / image.size[0] - 297 / 210) < 0.01
        grey = image.convert("L")
        assert sum(grey.histogram()[:128]) > 0.01 * image.size[0] * image.size[1]  # ink on the page


def test_brief_bytes_are_the_same_every_time(welfare, tmp_path):
    """Same bundle, same brief: identical PDF and PNG bytes."""
    files = []
    for n in (1, 2):
        assert run_cli("report", str(welfare), "--format", "brief", "--out", str(tmp_path / str(n))).exit_code == 0
        files.append([(tmp_path / str(n) / name).read_bytes() for name in ("brief.en.pdf", "brief.en.png")])
    assert files[0] == files[1]
