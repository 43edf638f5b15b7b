"""Reports from an evidence bundle: content, languages, suppression of small cells, escaping, Markdown."""

from __future__ import annotations

import json
import re
import string
from html import unescape
from pathlib import Path

import pandas as pd
import pytest

import auditkit
from auditkit.exceptions import InputDataError
from auditkit.report import (
    LOCALES_ENV, LocaleError, available_languages, build_document, load_bundle, load_locale, render_report,
)
from auditkit.locale import locale_dirs
from auditkit.report._markdown import escape_markdown
from auditkit.report._palette import CONTRAST_PAIRS, contrast_ratio
from auditkit.report._suppress import Suppressor
from auditkit.results import to_json

SCRIPT = "<script>alert(1)</script>"

FINDINGS = [
    {"id": "F-0000aaaa", "rule": "selection-rate-disparity", "kind": "disparity", "severity": "high",
     "statement": {"en": "b were selected 3.00 times as often as a (95% CI 2.1–4.2; 300 and 400 applicants).",
                   "nl": "b werden 3,00 keer zo vaak geselecteerd als a (95%-BI 2,1–4,2; 300 en 400 aanvragers)."},
     "recommendation": {"en": "Ask the agency why.", "nl": "Vraag de instantie waarom."},
     "population": {"en": "731 cases in data.csv", "nl": "731 gevallen in data.csv"},
     "evidence": ["comparisons/g/b/selection_rate"], "rights": ["non-discrimination"],
     "provisions": ["ECHR art. 14"], "screening_band": "four-fifths screening band (a rule of thumb, not a test)"},
    {"id": "F-0000bbbb", "rule": "insufficient-evidence", "kind": "insufficient_evidence", "severity": "info",
     "statement": {"en": "Not enough data to compare d with a: 6 and 400 cases.",
                   "nl": "Te weinig gegevens om d met a te vergelijken: 6 en 400 gevallen."},
     "recommendation": {"en": "Obtain more data.", "nl": "Vraag meer gegevens op."},
     "evidence": ["comparisons/g/d/selection_rate"], "rights": [], "provisions": []},
    {"id": "F-0000cccc", "rule": "selection-rate-disparity", "kind": "disparity", "severity": "medium",
     "statement": {"en": f"{SCRIPT} were selected more often.", "nl": f"{SCRIPT} werden vaker geselecteerd."},
     "recommendation": {"en": "*Check* [this](http://example.org).", "nl": "Controleer dit."},
     "evidence": [f"comparisons/region/{SCRIPT}/selection_rate"], "rights": ["non-discrimination"],
     "provisions": []},
]

CHECKLIST = {
    "instrument": {"id": "iama", "version": "1.0.0", "title": {"en": "Fundamental rights impact assessment",
                                                              "nl": "Impact assessment mensenrechten"}},
    "status": "open", "headline": "red_flag", "impact_level": "high",
    "red_flags": [{"id": "no_legal_basis", "title": {"en": "No legal basis", "nl": "Geen wettelijke grondslag"},
                   "reason": {"en": "Profiling without a basis in law is unlawful.",
                              "nl": "Profileren zonder wettelijke grondslag is onrechtmatig."},
                   "raised_by": [{"item": "legal_basis", "answer": "none", "source": "human"}]},
                  {"item": "p1.legal_basis", "reason": {"en": "No legal basis was given.",
                                                        "nl": "Er is geen wettelijke grondslag gegeven."}}],
    "gaps": [{"item": "p4.justification", "section": "justification",
              "text": {"en": "Is the aim legitimate?", "nl": "Is het doel legitiem?"}, "reason": "unanswered"},
             "p5.remedy"],
    "contradictions": [],
    "unexpected_key": {"shape": ["anything"]},
}


def small_data() -> pd.DataFrame:
    """731 decisions in four groups: a (400, 10%), b (300, 30%), c (25, 20%) and d (6, 2 selected)."""
    sizes, selected = {"a": 400, "b": 300, "c": 25, "d": 6}, {"a": 40, "b": 90, "c": 5, "d": 2}
    g, d = [], []
    for name, n in sizes.items():
        g += [name] * n
        d += [1] * selected[name] + [0] * (n - selected[name])
    region = ["north" if i % 2 else SCRIPT for i in range(len(g))]
    return pd.DataFrame({"g": g, "region": region, "d": d})


def make_bundle(folder: Path, results: dict | None = None, findings: list | None = None,
                checklist: dict | None = CHECKLIST, parameters: dict | None = None) -> Path:
    """Write a small evidence bundle: results from auditkit.audit, hand-written findings, checklist, manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    if results is None:
        results = auditkit.audit(small_data(), protected=("g", "region"), decision="d", references={"g": "a"},
                                 max_depth=1).results
    files = {"results.json": to_json(results), "findings.json": json.dumps(FINDINGS if findings is None else findings,
                                                                           indent=2, ensure_ascii=False) + "\n"}
    if checklist is not None:
        files["checklist.json"] = json.dumps(checklist, indent=2, ensure_ascii=False) + "\n"
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    manifest = {
        "bundle_version": "1", "auditkit_version": "0.0.0-test",
        "command": "auditkit audit data.csv --protected g --protected region --decision d --out bundle",
        "inputs": [{"role": "data", "name": "data.csv", "sha256": "ab" * 32, "bytes": 4321}],
        "dependencies": {"numpy": "2.0.0", "pandas": "2.2.0"},
        "parameters": {**json.loads(files["results.json"])["parameters"], **(parameters or {})},
        "files": [{"path": name, "sha256": "cd" * 32} for name in sorted(files)],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """The small bundle in a temporary folder."""
    return make_bundle(tmp_path / "bundle")


def html_of(bundle: Path, lang: str = "en") -> str:
    """Render the HTML report of ``bundle`` and return its text."""
    (path,) = render_report(bundle, lang=lang, formats=("html",), out_dir=bundle.parent / f"out-{lang}")
    return path.read_text(encoding="utf-8")


def _row(html: str, group: str) -> str:
    """The first row headed ``group`` in the results by group (the findings blocks come before it)."""
    html = html[html.index('<section id="results"'):] if '<section id="results"' in html else html
    match = re.search(rf"<tr[^>]*><th scope=\"row\">{re.escape(group)}</th>(.*?)</tr>", html)
    assert match, group
    return match.group(1)


# --- languages ------------------------------------------------------------------------------------

def _placeholders(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_catalogs_have_the_same_keys_and_placeholders():
    """en and nl hold exactly the same messages, each with the same placeholders."""
    en, nl = load_locale("en"), load_locale("nl")
    assert set(en.messages) == set(nl.messages)
    for key, text in en.messages.items():
        assert _placeholders(text) == _placeholders(nl.messages[key]), key


def test_both_languages_render_and_differ(bundle):
    """The English and Dutch reports differ, carry their lang attribute and their own words."""
    en, nl = html_of(bundle, "en"), html_of(bundle, "nl")
    assert '<html lang="en"' in en and '<html lang="nl"' in nl
    assert "Findings" in en and "Bevindingen" in nl and "Bevindingen" not in en
    assert "b werden 3,00 keer zo vaak" in nl and "b were selected 3.00 times" in en


def test_dutch_numbers_use_a_decimal_comma():
    """Dutch formats 1234.5 as 1.234,5 and 12.3% as 12,3%; English as 1,234.5 and 12.3%."""
    en, nl = load_locale("en"), load_locale("nl")
    assert (en.number(1234.5, 1), nl.number(1234.5, 1)) == ("1,234.5", "1.234,5")
    assert (en.percent(0.123), nl.percent(0.123)) == ("12.3%", "12,3%")
    assert nl.integer(6000) == "6.000" and en.number(-0.0001, 3) == "0.000"


def test_a_partner_adds_a_language_with_one_file(bundle, tmp_path, monkeypatch):
    """A catalog file on AUDITKIT_LOCALES_PATH is a new report language; missing messages fall back to English."""
    folder = tmp_path / "locales"
    folder.mkdir()
    text = (locale_dirs()[-1] / "en.yaml").read_text(encoding="utf-8")
    text = text.replace("  title: Findings\n", "  title: Befunde\n").replace('decimal: "."', 'decimal: ","')
    text = text.replace('group: ","', 'group: "."').replace("  title: Limitations\n", "")
    (folder / "xx.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv(LOCALES_ENV, str(folder))
    assert "xx" in available_languages()
    html = html_of(bundle, "xx")
    assert '<html lang="xx"' in html and ">Befunde</h2>" in html and ">Limitations</h2>" in html
    assert (bundle.parent / "out-xx" / "report.xx.html").exists()


def test_unknown_language_lists_the_available_ones(bundle, tmp_path):
    """An unknown language is a LocaleError naming the available languages, with 'Did you mean'.

    Other catalogs (shipped later, or on AUDITKIT_LOCALES_PATH) may be listed too: only en and nl must be."""
    with pytest.raises(LocaleError, match=r"No report language 'nll'\. Did you mean 'nl'\? Available: ") as err:
        render_report(bundle, lang="nll", out_dir=tmp_path / "out")
    listed = re.search(r"Available: (.*?)\. Add one", str(err.value))
    assert listed and {"'en'", "'nl'"} <= {code.strip() for code in re.split(r",| and | or ", listed.group(1))}


# --- content --------------------------------------------------------------------------------------

def test_checklist_shows_what_it_holds_whatever_its_shape(bundle):
    """Red flags, gaps and unknown keys of checklist.json all appear; empty lists of the main kinds say 'none'."""
    html = unescape(html_of(bundle))
    section = html[html.index('id="checklist"'):html.index('id="limitations"')]
    for text in ("Headline", "red flag", "Impact level", "high", "No legal basis — Profiling without a basis",
                 "Raised by: item=legal_basis answer=none source=human", "Is the aim legitimate? — unanswered",
                 "p5.remedy", "Answers that contradict the evidence: none.", '{"shape": ["anything"]}'):
        assert text in section, text
    nl = unescape(html_of(bundle, "nl"))
    assert "Geen wettelijke grondslag — Profileren zonder" in nl and "Is het doel legitiem? — niet beantwoord" in nl


def test_report_has_every_part_in_order(bundle):
    """Summary, findings, right of reply, method, results, checklist, limitations, finding cards and appendix."""
    doc = build_document(bundle, "en")
    assert [s.id for s in doc.sections] == ["summary", "findings", "reply", "method", "results", "checklist",
                                            "limitations", "finding-cards", "appendix"]
    html = html_of(bundle)
    for text in ("This report examines 731 cases in", "People counted as selected are those whose value in the "
                 "column d is 1.", "No rows were left out", "Fisher's exact test", "Holm's method",
                 "95% confidence intervals", "auditkit audit data.csv --protected g", "auditkit verify BUNDLE",
                 "ab" * 32, "No legal basis was given.", "p4.justification"):
        assert text in unescape(html), text


def test_findings_show_id_severity_statement_evidence_and_rights(bundle):
    """Each finding has its id, severity, statement, linked evidence, rights and the screening-band caveat."""
    html = html_of(bundle)
    first = html[html.index('<article class="finding sev-high" id="F-0000aaaa"'):]
    first = first[:first.index("</article>")]
    assert ">high</span>" in first and "b were selected 3.00 times as often as a" in first
    assert "non-discrimination" in first and "ECHR art. 14" in first and "not a legal test" in first
    anchor = re.search(r'<a href="#(m-[0-9a-f]{10})">comparisons/g/b/selection_rate</a>', first).group(1)
    assert f'<tr id="{anchor}">' in html


def test_group_tables_have_n_rates_and_intervals(bundle):
    """The table row of group b holds its n, selected count, rate with interval, ratio with interval and status."""
    html = html_of(bundle)
    row = _row(html, "b")
    assert ">300<" in row and ">90<" in row and "30.0%" in row and "3.00" in row and "difference detected" in row
    assert re.search(r'<span class="ci">\(25\.\d–35\.\d\)</span>', row)


def test_ratio_chart_shows_the_screening_band_as_a_rule_of_thumb(bundle):
    """The log-scale ratio chart draws a reference line at 1 and labels the band as a screening rule."""
    doc = build_document(bundle, "en")
    charts = [b for s in doc.sections for sub in s.subsections for b in sub.blocks if b.kind == "chart"]
    ratio = next(c for c in charts if c.body.log)
    assert ratio.body.reference[0] == 1.0 and ratio.body.band[:2] == (0.8, 1.25)
    assert "rule of thumb, not a legal test" in ratio.body.band[2] and "log scale" in ratio.title


def test_model_sections_appear_only_with_a_model_and_keep_small_cells_out(bundle, tmp_path):
    """No model section without a model; with one, SHAP, flips, clusters and score charts, small cells withheld."""
    html = html_of(bundle)
    assert 'id="model"' not in html and "Distribution of scores" not in html
    results = json.loads((bundle / "results.json").read_text(encoding="utf-8"))
    features = [{"feature": "language", "mean_abs_shap": 0.5, "mean_shap": 0.4},
                {"feature": "age", "mean_abs_shap": 0.1, "mean_shap": -0.05}]
    results["input"]["model"] = {"file": "model.joblib", "format": "joblib", "sha256": "ef" * 32}
    results["model_card"] = {"family": "pipeline: OneHotEncoder → LogisticRegression",
                             "inputs": [{"name": "language", "tag": "proxy"}, {"name": "age", "tag": "other"}]}
    results["explanations"] = {"shap": {
        "explainer": "LinearExplainer", "output_scale": "log-odds", "rows_explained": 500, "rows_in_data": 731,
        "overall": features,
        "by_group": [{"attribute": "g", "group": name, "n": n, "features": features} for name, n in
                     (("a", 300), ("b", 190), ("d", 4))],
        "gap_decomposition": [{"attribute": "g", "group": "b", "reference": "a", "n": 190, "n_reference": 300,
                               "mean_score_gap": 0.5, "features": [{"feature": "language", "contribution": 0.45,
                                                                    "share_of_gap": 0.9}]}]}}
    results["explanations"]["flips"] = [{"attribute": "gender", "direct_effect": [
        {"value": "M", "baseline": "F", "difference": -0.01, "ci_low": -0.02, "ci_high": -0.005,
         "flips_to_selected": 0, "flips_to_not_selected": 7, "p_holm": 0.01}]}]
    results["explanations"]["clusters"] = {"test": "two_proportion_z", "clusters": [
        {"id": 1, "description": "language = other", "size_holdout": 163, "bias_holdout": 4 / 163,
         "bias_rest_holdout": 0.1, "difference": 4 / 163 - 0.1, "ci": {"low": -0.1, "high": -0.05},
         "p_holm": 0.001, "confirmed": True},
        {"id": 2, "description": "neighbourhood = Z", "size_holdout": 90, "bias_holdout": 1.0,
         "bias_rest_holdout": 0.05, "difference": 0.95, "ci": {"low": 0.9, "high": 0.96}, "p_holm": 0.0001,
         "confirmed": True}]}
    results["score_histograms"] = {"edges": [0, 0.25, 0.5, 0.75, 1.0], "groups": [
        {"attribute": "g", "group": "a", "counts": [200, 100, 60, 40]},
        {"attribute": "g", "group": "b", "counts": [100, 100, 3, 97]}]}
    html = html_of(make_bundle(tmp_path / "model", results=results))
    assert "Mean SHAP value per input, by g group" in html and "language +0.450 (90% of the gap)" in html
    assert "Distribution of scores by g group" in html and "possible proxy" in html
    shap_row = _row(html[html.index("Mean SHAP value per input by g"):], "d")
    assert "&lt;10" in shap_row and "0.400" not in shap_row
    flip = _row(html, "gender: F → M")
    assert "&lt;10" in flip and "−1.0" not in flip and "withheld" in flip
    clusters = html[html.index("Bias clusters"):]
    assert "0.025" not in _row(clusters, "1") and "1.000 / 0.050" in _row(clusters, "2")


# --- accessibility and safety ---------------------------------------------------------------------

def test_html_is_self_contained(bundle):
    """No script, no stylesheet link, no external src/href, no CSS url() or @import."""
    html = html_of(bundle)
    assert "<script" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    for attr, value in re.findall(r'\s(src|href|xlink:href)="([^"]*)"', html):
        assert value.startswith("#"), (attr, value)


def test_every_chart_has_a_title_a_description_and_role_img(bundle):
    """Each inline SVG has role="img", and aria-labelledby pointing at a non-empty <title> and <desc>."""
    html = html_of(bundle)
    svgs = re.findall(r"<svg\b[^>]*>.*?</svg>", html, re.S)
    assert len(svgs) >= 4
    for svg in svgs:
        assert 'role="img"' in svg
        title_id, desc_id = re.search(r'aria-labelledby="([^" ]+) ([^" ]+)"', svg).groups()
        assert re.search(rf'<title id="{title_id}">[^<]+</title>', svg)
        assert re.search(rf'<desc id="{desc_id}">[^<]+</desc>', svg)


def test_tables_have_captions_and_scoped_headers(bundle):
    """Every table has a caption and <th scope> headers; every body row starts with a row header."""
    html = html_of(bundle)
    tables = re.findall(r"<table\b.*?</table>", html, re.S)
    assert len(tables) > 8
    for table in tables:
        assert "<caption>" in table and '<th scope="row"' in table
        if "<thead>" in table:
            assert '<th scope="col">' in table
        for row in re.findall(r"<tbody>(.*?)</tbody>", table, re.S)[0].split("</tr>")[:-1]:
            assert '<th scope="row"' in row


def test_headings_go_down_one_level_at_a_time(bundle):
    """One h1; no heading skips a level on the way down."""
    levels = [int(h) for h in re.findall(r"<h([1-6])\b", html_of(bundle))]
    assert levels.count(1) == 1 and levels[0] == 1
    for before, after in zip(levels, levels[1:]):
        assert after <= before + 1, levels


def test_ids_are_unique_and_every_internal_link_resolves(bundle):
    """No id is used twice, and every href="#..." (contents, evidence) points at an element that exists."""
    html = html_of(bundle)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    assert set(re.findall(r'href="#([^"]+)"', html)) <= set(ids)


def test_palette_contrast_is_at_least_4_5(bundle):
    """Every colour pair that carries text or data has a WCAG contrast ratio of 4.5:1 or more."""
    for fg, bg, where in CONTRAST_PAIRS:
        assert contrast_ratio(fg, bg) >= 4.5, (where, fg, bg, contrast_ratio(fg, bg))
    used = {c.lower() for c in re.findall(r"#[0-9a-fA-F]{6}\b", html_of(bundle))}
    tested = {c for pair in CONTRAST_PAIRS for c in pair[:2]}
    decoration = {"#dddddd", "#8c8c8c", "#e4e4e4"}  # gridlines, rules and the band fill carry no text
    assert used <= tested | decoration, used - tested - decoration


def test_text_from_the_bundle_is_escaped(bundle):
    """A group named <script> and a finding that quotes it render as text in HTML and Markdown."""
    html = html_of(bundle)
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    (md,) = render_report(bundle, formats=("md",), out_dir=bundle.parent / "md")
    text = md.read_text(encoding="utf-8")
    assert SCRIPT not in text and r"\<script\>alert(1)\</script\>" in text
    assert r"\*Check\* \[this\](http\://example.org)." in text  # no link, not even an autolink
    assert escape_markdown("a_b _c_ # x | 6.1%") == r"a_b \_c\_ # x \| 6.1%"
    assert escape_markdown("# h", block_start=True) == r"\# h"
    assert escape_markdown("12. May", block_start=True) == r"12\. May"


# --- privacy --------------------------------------------------------------------------------------

def test_small_cells_are_withheld_everywhere(bundle):
    """Group d (6 people) shows '<10' and no figure; its finding is withheld; its rate appears nowhere."""
    html = html_of(bundle)
    row = _row(html, "d")
    assert "&lt;10" in row and "withheld" in row and "33.3" not in row and ">6<" not in row and ">2<" not in row
    finding = html[html.index('id="F-0000bbbb"'):]
    finding = finding[:finding.index("</article>")]
    assert "6 and 400" not in finding and "fewer than 10 people" in finding
    (md,) = render_report(bundle, formats=("md",), out_dir=bundle.parent / "md")
    assert "33.3" not in md.read_text(encoding="utf-8") and "6 and 400" not in md.read_text(encoding="utf-8")
    assert "fewer than 10 people" in html and "marked as such" in html


def test_a_lone_withheld_cell_takes_a_second_one_with_it(bundle):
    """With only d withheld, n = total − others would give it back: the next smallest group (c) is withheld too."""
    results = json.loads((bundle / "results.json").read_text(encoding="utf-8"))
    sup = Suppressor(results, 10)
    assert sup.group_hidden("g", "d") and not sup.group_hidden("g", "c")
    assert sup.count_hidden("g", "c", "selection_rate", "den")
    assert not sup.group_rate_ok("g", "c", "selection_rate") and sup.group_rate_ok("g", "b", "selection_rate")
    row = _row(html_of(bundle), "c")
    assert "withheld" in row and ">25<" not in row and "20.0%" not in row


def test_a_rate_is_withheld_when_its_complement_is_small():
    """k/n with n − k below the minimum is withheld (the rate and n would give n − k back)."""
    sup = Suppressor({}, 10)
    assert sup.rate_ok({"numerator": 10, "denominator": 20}) and sup.rate_ok({"numerator": 0, "denominator": 50})
    assert not sup.rate_ok({"numerator": 45, "denominator": 50})
    assert not sup.rate_ok({"numerator": 3, "denominator": 500})


def test_minimum_count_comes_from_the_manifest(tmp_path):
    """suppression_threshold in the manifest's parameters raises the minimum: group c (25) becomes '<30'."""
    folder = make_bundle(tmp_path / "b30", parameters={"suppression_threshold": 30})
    assert load_bundle(folder).min_count == 30
    html = html_of(folder)
    assert "&lt;30" in _row(html, "c") and "fewer than 30 people" in html


def test_small_counts_in_notes_are_redacted(tmp_path):
    """A note such as '3 rows have a blank decision' is published as '<10 rows ...'."""
    results = auditkit.audit(small_data(), protected=("g",), decision="d", references={"g": "a"}).results
    results["notes"] = ["d: 3 rows have a blank decision; 1,200 rows were read."]
    html = html_of(make_bundle(tmp_path / "notes", results=results))
    assert "&lt;10 rows have a blank decision" in html and "1,200 rows" in html and "3 rows" not in html


def test_counts_the_source_suppressed_are_shown_as_ranges(tmp_path):
    """A count table with cells published as '<10' gives ranges, never a point read as zero."""
    path = tmp_path / "counts.csv"
    path.write_text("g,d,n\na,1,300\na,0,2700\nb,1,900\nb,0,<10\n", encoding="utf-8")
    results = auditkit.audit(path, protected=("g",), decision="d", count_column="n", suppressed=("<10",),
                             references={"g": "a"}).results
    html = html_of(make_bundle(tmp_path / "bounded", results=results, findings=[]))
    row = _row(html, "b")
    assert "900–909" in row and "suppressed in the source" in row and "between 9.90 and 10.00" in row


# --- Markdown and bundle errors --------------------------------------------------------------------

def test_markdown_has_every_finding_and_the_tables(bundle):
    """The Markdown report holds each finding's id and statement, and the group tables as pipe tables."""
    (md,) = render_report(bundle, lang="nl", formats=("md",), out_dir=bundle.parent / "md")
    text = md.read_text(encoding="utf-8")
    for f in FINDINGS:
        assert f["id"] in text
    assert "b werden 3,00 keer zo vaak geselecteerd als a" in text and "| Groep |" in text
    assert "<svg" not in text and "`comparisons/g/b/selection_rate`" in text


def test_a_folder_that_is_not_a_bundle_names_the_missing_file(tmp_path):
    """A folder without findings.json is refused with a message naming findings.json."""
    folder = make_bundle(tmp_path / "b")
    (folder / "findings.json").unlink()
    with pytest.raises(InputDataError, match="has no findings.json"):
        load_bundle(folder)
    with pytest.raises(InputDataError, match="not a folder"):
        load_bundle(tmp_path / "missing")


# --- what the audit template says ------------------------------------------------------------------

WELFARE = Path(__file__).resolve().parent.parent / "datasets" / "welfare" / "decisions.csv"

PARTNER_TEMPLATE = """\
auditkit_template: 1
name: be-cpas
extends: welfare-fraud-risk
title:
  en: Audit of the CPAS control selection
  nl: Audit van de controleselectie van het OCMW
system:
  name: {en: CPAS control model, nl: OCMW-controlemodel}
  agency: CPAS of an example municipality
  country: BE
  legal_basis: [be-riis-19]
  register_id: BE-REG-42
provisions:
  be-riis-19: {jurisdiction: BE, citation: "Loi concernant le droit à l'intégration sociale, art. 19"}
  be-antidiscrimination-4: {jurisdiction: BE, citation: "Loi tendant à lutter contre certaines formes de discrimination, art. 4"}
  echr-14: {citation: "Convention européenne des droits de l'homme, art. 14"}
protected:
  gender: null
  nationality:
    reference: Dutch
    grounds:
      NL: null
      BE: [be-antidiscrimination-4]
report:
  jurisdictions: [UN, CoE, EU, BE]
"""


def _template_bundle(folder: Path, template: str) -> Path:
    """A bundle of the welfare example data audited with ``template`` (a name or a file)."""
    from click.testing import CliRunner

    from auditkit.cli import main

    out = folder / "bundle"
    result = CliRunner().invoke(main, ["audit", str(WELFARE), "--template", template, "--out", str(out),
                                       "--no-report", "--quiet"])
    assert result.exit_code == 0, (result.output, result.exception)
    return out


@pytest.fixture(scope="module")
def welfare_bundle(tmp_path_factory) -> Path:
    """The welfare example audited with the shipped welfare-fraud-risk template."""
    return _template_bundle(tmp_path_factory.mktemp("welfare"), "welfare-fraud-risk")


@pytest.fixture(scope="module")
def partner_bundle(tmp_path_factory) -> Path:
    """The same data audited with a partner's copy: other title, agency, legal basis, grounds, jurisdictions."""
    folder = tmp_path_factory.mktemp("partner")
    path = folder / "be-cpas.yaml"
    path.write_text(PARTNER_TEMPLATE, encoding="utf-8")
    return _template_bundle(folder, str(path))


def test_the_bundle_records_what_the_report_shows_of_the_template(welfare_bundle):
    """results.json keeps name, digest and files, and adds title, system, population, grounds, provisions."""
    record = json.loads((welfare_bundle / "results.json").read_text(encoding="utf-8"))["template"]
    assert {"name", "digest", "files", "title", "system", "population", "protected", "provisions", "rights",
            "jurisdictions"} <= set(record)
    assert record["provisions"]["participatiewet-53a"] == {
        "jurisdiction": "NL", "citation": {"en": "Participatiewet, art. 53a", "nl": "Participatiewet, art. 53a"}}
    assert record["protected"]["nationality"]["group_labels"]["non-EU"] == {"en": "non-EU", "nl": "niet-EU"}
    assert record["protected"]["nationality"]["grounds"]["NL"] == ["awgb-1", "grondwet-1"]


def test_a_template_run_shows_its_title_system_citations_and_grounds(welfare_bundle):
    """The template's title, agency, legal basis, population and grounds appear, and findings cite texts, not ids."""
    doc = build_document(welfare_bundle, "en")
    assert doc.title == "Welfare-fraud risk scoring"
    assert doc.subtitle.startswith("Welfare fraud risk model: evidence report on 6,000 cases")
    assert [s.id for s in doc.sections][:3] == ["summary", "system", "findings"]
    html = unescape(html_of(welfare_bundle))
    assert "<title>Welfare-fraud risk scoring</title>" in html
    for text in ("Social services of a fictional municipality", "Participatiewet, art. 53a (NL)",
                 "Every recipient of social assistance in the period",
                 "Grondwet (Constitution of the Netherlands), art. 1",  # a ground of nationality in NL
                 "Convention on the Elimination of All Forms of Discrimination against Women, art. 2",  # gender, UN
                 "European Convention on Human Rights, art. 14 (CoE)",  # a finding's provision
                 "Equal treatment and non-discrimination"):  # a finding's right, by its title
        assert text in html, text
    assert "awgb-1" not in html and "non_discrimination" not in html
    nl = unescape(html_of(welfare_bundle, "nl"))
    for text in ("<title>Risicoscoring bijstandsfraude</title>", "Het systeem", "Risicomodel bijstandsfraude",
                 "Alle bijstandsgerechtigden in de periode", "Gelijke behandeling en non-discriminatie",
                 "Participatiewet, art. 53a (NL)", "Grondwet, art. 1",  # citations per language
                 "Europees Verdrag voor de Rechten van de Mens, art. 14 (CoE)", "Nationaliteit", "niet-EU"):
        assert text in nl, text
    assert "Grondwet (Constitution of the Netherlands)" not in nl and "European Convention" not in nl


def test_a_partner_template_changes_the_report(partner_bundle):
    """Another title, agency, legal basis, citation and jurisdiction in a copied template change the report."""
    doc = build_document(partner_bundle, "en")
    assert doc.title == "Audit of the CPAS control selection"
    html = unescape(html_of(partner_bundle))
    for text in ("CPAS of an example municipality", "BE-REG-42",
                 "Loi concernant le droit à l'intégration sociale, art. 19 (BE)",
                 "Loi tendant à lutter contre certaines formes de discrimination, art. 4",
                 "Convention européenne des droits de l'homme, art. 14 (CoE)",
                 "Provisions of NL are named in the template but not shown"):
        assert text in html, text
    for text in ("Welfare-fraud risk scoring", "Social services of a fictional municipality", "Participatiewet",
                 "Grondwet", "European Convention on Human Rights, art. 14",
                 "Algemene wet gelijke behandeling"):  # NL is not among the partner's jurisdictions
        assert text not in html, text
    assert "<td>BE</td>" in html and "<td>NL</td>" not in html
    assert "Audit van de controleselectie van het OCMW" in unescape(html_of(partner_bundle, "nl"))


def test_an_id_the_template_does_not_define_is_shown_as_the_id(welfare_bundle, tmp_path):
    """A provision or right with no entry in the template's record is named by its id; nothing breaks."""
    import shutil

    copy = tmp_path / "bundle"
    shutil.copytree(welfare_bundle, copy)
    findings = json.loads((copy / "findings.json").read_text(encoding="utf-8"))
    findings[0]["provisions"] = ["no-such-provision", "echr-14"]
    findings[0]["rights"] = ["no_such_right"]
    (copy / "findings.json").write_text(json.dumps(findings), encoding="utf-8")
    results = json.loads((copy / "results.json").read_text(encoding="utf-8"))
    results["template"]["system"]["legal_basis"] = ["unknown-law"]
    results["template"]["provisions"]["echr-14"] = "not a mapping"
    (copy / "results.json").write_text(json.dumps(results), encoding="utf-8")
    html = unescape(html_of(copy))
    assert "no-such-provision" in html and "no_such_right" in html and "unknown-law" in html
    assert "echr-14" in html


def test_a_report_without_a_template_has_no_system_section(bundle):
    """Without a template: no 'The system' section, and findings keep the ids they name."""
    doc = build_document(bundle, "en")
    assert "system" not in [s.id for s in doc.sections]
    assert doc.title.startswith("Audit of decisions in")
    assert "ECHR art. 14" in html_of(bundle)


def test_locale_catalog_is_its_own_room():
    """Findings read the language catalog without loading the report package (DESIGN: the catalog
    belongs to neither), and the report package re-exports the same objects."""
    import subprocess
    import sys

    code = ("import sys, auditkit.findings as f; f._catalog('nl'); "
            "print(sorted(m for m in sys.modules if m.startswith('auditkit.report')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    import auditkit.locale as room
    import auditkit.report as report

    assert report.load_locale is room.load_locale and report.LocaleError is room.LocaleError
