"""Findings in a third language: text from the template's rules, numbers from the language's catalog,
English (and said so) where a rule has no text in it; English and Dutch findings unchanged."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

import auditkit
from auditkit.findings import _power_note, build_findings, comparison_path, findings_languages
from auditkit.templates import load_template

ROOT = Path(__file__).parents[1]
WELFARE = ROOT / "datasets" / "welfare" / "decisions.csv"
DE_SEL_HIGHER = ("Personen der Gruppe {group} ({attribute}) wurden {ratio}-mal so oft ausgewählt wie Personen "
                 "der Gruppe {reference}: {group_rate} gegenüber {reference_rate} ({level}%-Intervall "
                 "{ratio_ci_low} bis {ratio_ci_high}; {n_group} und {n_reference} Personen; Holm-p = {p_holm}).")


@pytest.fixture(scope="module")
def welfare():
    template = load_template("welfare-fraud-risk")
    return template, auditkit.audit(WELFARE, **template.spec_fields()).results


@pytest.fixture
def german_catalog(tmp_path, monkeypatch):
    """A German report catalog on AUDITKIT_LOCALES_PATH: German number conventions, German population text."""
    folder = tmp_path / "locales"
    folder.mkdir()
    (folder / "de.yaml").write_text(
        'meta: {name: Deutsch, decimal: ",", group: ".", percent: "{} %", direction: ltr}\n'
        'doc: {population_rows: "{n} Fälle in {source}"}\n', encoding="utf-8")
    monkeypatch.setenv("AUDITKIT_LOCALES_PATH", str(folder))
    return folder


@pytest.fixture
def german_template(tmp_path, welfare):
    """welfare-fraud-risk extended with a German statement for SEL-HIGHER only (lists replace: copy them)."""
    rules = [dict(r) for r in welfare[0].data["findings"]]
    for rule in rules:
        if rule["id"] == "SEL-HIGHER":
            rule["statement"] = {**rule["statement"], "de": DE_SEL_HIGHER}
    path = tmp_path / "templates" / "welfare-de.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump({"auditkit_template": 1, "name": "welfare-de", "extends": "welfare-fraud-risk",
                                    "findings": rules}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_template(path)


# --- an independent reference for English and Dutch: the rules' own text, formatted here ---------------

def _fmt(x, lang, digits=2):
    if x is None:
        return "?"
    text = f"{x:,.{digits}f}"
    return text.translate(str.maketrans(",.", ".,")) if lang == "nl" else text


def _cnt(n, lang):
    return "?" if n is None else (f"{n:,d}".replace(",", ".") if lang == "nl" else f"{n:,d}")


def _record(results, evidence):
    if evidence.startswith("comparisons/"):  # the path names the reference too within intersections
        return next(c for c in results["comparisons"] if comparison_path(c) == evidence)
    kind, attribute, group, metric = evidence.split("/")
    m = next(m for m in results["selection_method"] if (m["attribute"], m["group"]) == (attribute, group))
    return {**m[metric], "attribute": attribute, "group": group, "metric": metric, "reference": "random sample"}


def _expected(text, rec, results, lang):
    g, r = rec.get("group_rate") or {}, rec.get("reference_rate") or {}
    ci = rec.get("ratio_ci") or [None, None]
    p = rec.get("p_holm")
    values = {
        "attribute": rec["attribute"], "group": rec["group"], "reference": rec["reference"], "metric": rec["metric"],
        "ratio": _fmt(rec.get("ratio"), lang), "ratio_ci_low": _fmt(ci[0], lang), "ratio_ci_high": _fmt(ci[1], lang),
        "difference_pp": _fmt(None if rec.get("difference") is None else 100 * rec["difference"], lang, 1),
        "group_rate": "?" if g.get("value") is None else _fmt(100 * g["value"], lang, 1) + "%",
        "reference_rate": "?" if r.get("value") is None else _fmt(100 * r["value"], lang, 1) + "%",
        "n_group": _cnt(g.get("denominator"), lang), "n_reference": _cnt(r.get("denominator"), lang),
        "level": f"{100 * results['parameters'].get('level', 0.95):g}",
        "p_holm": "< " + _fmt(0.0001, lang, 4) if p is not None and p < 0.0001 else _fmt(p, lang, 4),
    }
    return re.sub(r"=\s*<\s", "< ", text.format(**values))


def test_english_and_dutch_findings_are_unchanged(welfare):
    """For the welfare example, en/nl statements are the rules' own text formatted as before, and a finding
    has exactly the keys and languages it always had."""
    template, results = welfare
    findings = build_findings(results, template.rules)
    rules = {r["id"]: r for r in template.rules}
    assert findings and any(f["kind"] == "disparity" for f in findings)
    for f in findings:
        assert set(f) <= {"id", "rule", "kind", "severity", "statement", "recommendation", "population",
                          "evidence", "rights", "provisions", "screening_band"}
        assert list(f["statement"]) == list(f["recommendation"]) == list(f["population"]) == ["en", "nl"]
        assert re.fullmatch(r"F-[0-9a-f]{8}", f["id"])
        if f["kind"] != "disparity":
            continue
        rec = _record(results, f["evidence"][0])
        for lang in ("en", "nl"):
            expected = _expected(rules[f["rule"]]["statement"][lang], rec, results, lang)
            if rec.get("status") == "no_difference_detected":  # plus what the comparison could have detected
                expected += " " + _power_note(rec, results, lang)
            assert f["statement"][lang] == expected
    assert findings_languages(template.rules) == ("en", "nl")


def test_german_statement_with_german_numbers(welfare, german_template, german_catalog):
    """A rule with German text gives a German statement, with the catalog's separators and percent pattern."""
    results = welfare[1]
    findings = build_findings(results, german_template.rules)
    (f, *_) = [f for f in findings if f["rule"] == "SEL-HIGHER"]
    rec = _record(results, f["evidence"][0])
    de = f["statement"]["de"]
    n_group = f"{rec['group_rate']['denominator']:,d}".replace(",", ".")
    assert de.startswith("Personen der Gruppe") and f" {n_group} und " in de
    assert f"{rec['ratio']:.2f}".replace(".", ",") + "-mal" in de
    assert f"{100 * rec['group_rate']['value']:.1f} %".replace(".", ",") in de
    assert f["population"]["de"].startswith(f"{results['population']['rows_audited']:,d}".replace(",", "."))
    assert " Fälle in " in f["population"]["de"]
    # The rule has no German recommendation: that part is English only, and the finding says so.
    assert "de" not in f["recommendation"] and f["lang_fallback"] == {"de": ["recommendation"]}
    # English and Dutch are what they are without German.
    plain = {g["id"]: g for g in build_findings(results, welfare[0].rules)}
    assert f["statement"]["en"] == plain[f["id"]]["statement"]["en"]
    assert f["statement"]["nl"] == plain[f["id"]]["statement"]["nl"]
    assert [g["id"] for g in findings] == list(plain)


def test_rule_without_german_falls_back_to_english_and_says_so(welfare, german_template, german_catalog):
    """Rules with no German text (and auditkit's own cautions) have no German statement: marked as English."""
    findings = build_findings(welfare[1], german_template.rules)
    others = [f for f in findings if f["rule"] != "SEL-HIGHER"]
    assert others
    for f in others:
        assert "de" not in f["statement"] and "statement" in f["lang_fallback"]["de"]
        assert "de" in f["population"]  # the catalog writes the population sentence
        assert list(f["statement"]) == ["en", "nl"]


def test_report_language_asks_for_german_without_any_german_rule(welfare, german_catalog):
    """languages=['de'] (the template's report.language) builds German where it can and marks the rest."""
    template, results = welfare
    findings = build_findings(results, template.rules, languages=["de"])
    assert all(f["lang_fallback"]["de"][0] == "statement" for f in findings)
    assert all(f" Fälle in {results['population']['source']}" in f["population"]["de"] for f in findings)


def test_without_a_catalog_german_falls_back_entirely(welfare, german_template, monkeypatch, tmp_path):
    """No German catalog, no German number conventions: nothing is written in German, all of it is marked."""
    monkeypatch.setenv("AUDITKIT_LOCALES_PATH", str(tmp_path / "nothing-here"))
    findings = build_findings(welfare[1], german_template.rules)
    f = next(f for f in findings if f["rule"] == "SEL-HIGHER")
    assert "de" not in f["statement"] and f["lang_fallback"] == {"de": ["statement", "recommendation", "population"]}


def test_output_is_deterministic(welfare, german_template, german_catalog):
    """The same inputs give the same bytes, languages in a fixed order (en, nl, then sorted)."""
    one = json.dumps(build_findings(welfare[1], german_template.rules, languages=["fr", "de"]), ensure_ascii=False)
    two = json.dumps(build_findings(welfare[1], german_template.rules, languages=["de", "fr"]), ensure_ascii=False)
    assert one == two
    assert findings_languages(german_template.rules, ["fr"]) == ("en", "nl", "de", "fr")
