"""Reports in the reader's language: no stray English in a Dutch report, template labels and citations per
language, placeholder text refused, and a partner's catalog enough for reports and the checklist."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from auditkit.locale import LOCALES_ENV
from auditkit.report import build_document, render_report
from conftest import run_cli

#: English words that are not also Dutch words: any of them in unmarked text of a Dutch report is English.
ENGLISH = frozenset("the and with were which than are has have been their its from this that for not by when who "
                    "what into only these those there where whose should would could must does did".split())
_VOID = {"br", "meta", "link", "hr", "img", "input", "col", "wbr", "rect", "line", "circle", "path", "polyline"}
#: Identifiers a report prints as they are (rule ids such as MODEL-NOT-BETTER, finding ids, hashes).
_IDS = re.compile(r"\b[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+\b")


class _Text(HTMLParser):
    """Text nodes of a page outside <style>, with the language the nearest lang attribute gives them."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, str | None]] = []
        self.nodes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        if tag not in _VOID:
            self.stack.append((tag, dict(attrs).get("lang")))

    def handle_endtag(self, tag):
        if tag in _VOID:
            return
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if data.strip() and not any(tag in ("style", "script") for tag, _ in self.stack):
            langs = [lang for _, lang in self.stack if lang]
            self.nodes.append((data.strip(), langs[-1] if langs else None))


def english_in(html: str, lang: str) -> list[str]:
    """Text nodes of ``html`` not marked as another language that contain English words."""
    parser = _Text()
    parser.feed(html)
    return [text for text, marked in parser.nodes if marked == lang
            and set(re.findall(r"[a-z]+", _IDS.sub("", text).lower())) & ENGLISH]


@pytest.fixture(scope="module")
def welfare(tmp_path_factory):
    """The decisions example under the welfare-fraud-risk template: auditkit audit --example welfare."""
    out = tmp_path_factory.mktemp("language") / "welfare"
    assert run_cli("audit", "--example", "welfare", "--out", str(out), "--quiet").exit_code == 0
    return out


def test_the_scan_finds_english():
    """The scan itself: an English sentence in a Dutch page is found; one marked lang="en" is not."""
    html = '<html lang="nl"><p>Dit is Nederlands.</p><p>Selected with the model.</p><p lang="en">Known to be English</p>'
    assert english_in(html, "nl") == ["Selected with the model."]


def test_dutch_report_has_no_english_outside_marked_text(welfare, tmp_path):
    """Every unmarked string of the Dutch report comes from the Dutch catalog or the template's Dutch texts:
    headings, headline, findings blocks, method, limitations, citations, the agency, attribute and group labels."""
    html = render_report(welfare, lang="nl", formats=("html",), out_dir=tmp_path)[0].read_text(encoding="utf-8")
    assert english_in(html, "nl") == []
    for text in ("Nationaliteit", "niet-EU", "Nederlands", "Europees Verdrag voor de Rechten van de Mens, art. 14",
                 "Sociale dienst van een fictieve gemeente"):
        assert text in html, text
    english = render_report(welfare, lang="en", formats=("html",), out_dir=tmp_path / "en")[0].read_text("utf-8")
    assert len(english_in(english, "en")) > 50  # the scan sees the English report's English


def _placeholder_template(tmp_path: Path) -> Path:
    path = tmp_path / "copy.yaml"
    path.write_text("auditkit_template: 1\nname: copy\nextends: welfare-fraud-risk\nsystem:\n"
                    "  agency: Municipality (write the agency here)\n", encoding="utf-8")
    return path


def test_templates_validate_rejects_placeholder_text(tmp_path):
    """A copied template that keeps 'write the agency here' fails validation, naming the key and the text."""
    result = run_cli("templates", "validate", str(_placeholder_template(tmp_path)))
    assert result.exit_code == 1
    assert "system.agency: still holds the placeholder 'write the agency here'" in result.output


def test_a_report_never_prints_a_placeholder_as_the_agency(welfare, tmp_path):
    """A bundle written before the check (its template record still holds the placeholder) shows 'not given'."""
    import shutil

    bundle = tmp_path / "old"
    shutil.copytree(welfare, bundle)
    results = json.loads((bundle / "results.json").read_text(encoding="utf-8"))
    results["template"]["system"]["agency"] = "Municipal social services (write the agency here)"
    (bundle / "results.json").write_text(json.dumps(results), encoding="utf-8")
    doc = build_document(bundle, "en")
    system = next(s for s in doc.sections if s.id == "system")
    agency = dict(system.blocks[0].rows)["Agency"]
    assert agency.suppressed and agency.text.startswith("not given") and "write the agency" not in agency.text


@pytest.fixture()
def portuguese(tmp_path, monkeypatch):
    """A partner's catalog: English copied to pt.yaml with a few messages and the number format translated."""
    from auditkit.locale._catalog import _BUILTIN

    data = yaml.safe_load((_BUILTIN / "en.yaml").read_text(encoding="utf-8"))
    data["meta"].update(name="Português", decimal=",", group=".")
    data["summary"]["title"] = "Resumo"
    data["checklist_cli"]["status"] = "Estado"
    folder = tmp_path / "locales"
    folder.mkdir()
    (folder / "pt.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv(LOCALES_ENV, str(folder))
    return folder


def test_checklist_and_report_accept_a_partners_language(portuguese, welfare, tmp_path):
    """`checklist score --lang pt` and `report --lang pt` work with nothing but the catalog; an unknown code
    is refused with the list of languages."""
    assessment = tmp_path / "a.yaml"
    assert run_cli("checklist", "init", "iama", "--out", str(assessment)).exit_code == 0
    result = run_cli("checklist", "score", str(assessment), "--lang", "pt")
    assert result.exit_code in (0, 3), result.output
    assert "Estado: " in result.output
    out = run_cli("report", str(welfare), "--lang", "pt", "--format", "md", "--out", str(tmp_path / "pt"))
    assert out.exit_code == 0, out.output
    assert "## Resumo" in (tmp_path / "pt" / "report.pt.md").read_text(encoding="utf-8")
    refused = run_cli("checklist", "score", str(assessment), "--lang", "xx")
    assert refused.exit_code == 2 and "No report language 'xx'" in refused.output
