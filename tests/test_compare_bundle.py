"""`auditkit compare A B --out DIR`: the comparison's own evidence bundle, its report (en/nl) and `verify`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from auditkit._compare_findings import comparison_findings
from conftest import assert_user_error, run_cli

BEFORE = {"NL": (60, 1000), "MA": (90, 250), "TR": (20, 200)}
AFTER = {"NL": (70, 1000), "MA": (40, 250), "TR": (22, 200)}


def _bundle(folder: Path, name: str, counts: dict[str, tuple[int, int]], *extra: str) -> Path:
    rows = [{"nationality": g, "selected": int(i < k)} for g, (k, n) in counts.items() for i in range(n)]
    pd.DataFrame(rows).to_csv(folder / f"{name}.csv", index=False)
    res = run_cli("audit", folder / f"{name}.csv", "--protected", "nationality", "--decision", "selected", "--positive",
                  "1", "--reference", "nationality=NL", "--out", folder / name, "--quiet", *extra)
    assert res.exit_code == 0, res.output
    return folder / name


@pytest.fixture
def pair(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return _bundle(tmp_path, "before", BEFORE), _bundle(tmp_path, "after", AFTER)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_comparison_bundle_verifies_and_is_the_same_bytes_every_time(pair, tmp_path):
    """Every file is listed and hashed, the two bundles are its inputs, and a second run gives the same bytes."""
    res = run_cli("compare", "before", "after", "--out", "cmp", "--lang", "en", "--lang", "nl", "--format", "html",
                  "--format", "md")
    assert res.exit_code == 0, res.output
    assert "ratio_changed" in res.output  # the terminal table as before
    manifest = json.loads((tmp_path / "cmp" / "manifest.json").read_text())
    assert manifest["kind"] == "comparison" and [i["role"] for i in manifest["inputs"]] == ["bundle_a", "bundle_b"]
    a_sha = json.loads((tmp_path / "cmp" / "results.json").read_text())["a"]["manifest_sha256"]
    assert manifest["compared"]["a"] == {"path": "before", "manifest_sha256": a_sha}
    assert sorted(f["path"] for f in manifest["files"]) == ["findings.json", "results.json"]
    assert sorted(r["path"] for r in manifest["reports"]) == ["report.en.html", "report.en.md", "report.nl.html",
                                                              "report.nl.md"]
    first = _files(tmp_path / "cmp")
    ok = run_cli("verify", "cmp")
    assert ok.exit_code == 0, ok.output
    assert "results.json (the comparison made again from both bundles: the same bytes)" in ok.output
    assert run_cli("compare", "before", "after", "--out", "cmp", "--lang", "en", "--lang", "nl", "--format", "html",
                   "--format", "md").exit_code == 0
    assert _files(tmp_path / "cmp") == first


def test_findings_say_what_changed_and_what_did_not(pair, tmp_path):
    """MA's disparity shrank (the test shows it); TR's did not change detectably, said with its interval."""
    assert run_cli("compare", "before", "after", "--out", "cmp").exit_code == 0
    doc = json.loads((tmp_path / "cmp" / "results.json").read_text())
    findings = json.loads((tmp_path / "cmp" / "findings.json").read_text())
    assert findings == json.loads(json.dumps(comparison_findings(doc)))
    assert findings[0]["rule"] == "comparison-differences"  # the differences come first
    ma = next(r for r in doc["records"] if r["group"] == "MA")
    tr = next(r for r in doc["records"] if r["group"] == "TR")
    assert ma["change"] == "ratio_changed" and tr["change"] == "no_change_detected"
    text = {f["evidence"][0]: f["statement"] for f in findings}
    lo, hi = ma["ratio_of_ratios_ci"]
    assert text["records/nationality/MA/NL/selection_rate"]["en"].startswith(
        f"The disparity for MA (nationality) against NL (Selection rate) shrank from {ma['ratio_a']:.2f}× in audit A "
        f"to {ma['ratio_b']:.2f}× in audit B (ratio of ratios {ma['ratio_of_ratios']:.2f}, 95% interval {lo:.2f} to "
        f"{hi:.2f};")
    assert "nam af" in text["records/nationality/MA/NL/selection_rate"]["nl"]
    assert text["records/nationality/TR/NL/selection_rate"]["en"].startswith("No change was detected")
    assert "not evidence that nothing changed" in text["records/nationality/TR/NL/selection_rate"]["en"]
    html = (tmp_path / "cmp" / "report.en.html").read_text()
    assert html.index('id="differences"') < html.index('id="findings"') < html.index('id="changes"')


def test_dutch_report_and_report_command(pair, tmp_path):
    """`auditkit report` renders the comparison in Dutch into the bundle, which still verifies."""
    assert run_cli("compare", "before", "after", "--out", "cmp", "--no-report").exit_code == 0
    assert not list((tmp_path / "cmp").glob("report.*"))
    res = run_cli("report", "cmp", "--lang", "nl", "--format", "md")
    assert res.exit_code == 0, res.output
    md = (tmp_path / "cmp" / "report.nl.md").read_text()
    assert "# Vergelijking van twee audits: before en after" in md and "Waarin de twee audits verschillen" in md
    assert run_cli("verify", "cmp").exit_code == 0
    assert_user_error(run_cli("report", "cmp", "--format", "csv"), 2, "comparison bundle", "html, pdf and md")


def test_verify_finds_a_replaced_or_missing_input_bundle(pair, tmp_path):
    """Another bundle at A's path fails; moved bundles leave a note (the comparison could not be made again)."""
    assert run_cli("compare", "before", "after", "--out", "cmp").exit_code == 0
    shutil.rmtree(tmp_path / "before")
    _bundle(tmp_path, "before", {"NL": (61, 1000), "MA": (90, 250), "TR": (20, 200)})
    bad = run_cli("verify", "cmp")
    assert bad.exit_code == 1
    assert "is not the bundle this comparison was made from" in bad.output and "results.json" in bad.output
    shutil.rmtree(tmp_path / "before")
    moved = run_cli("verify", "cmp")
    assert moved.exit_code == 0, moved.output
    assert "Bundle A was not found at 'before'" in moved.output


def test_edited_comparison_fails_verify(pair, tmp_path):
    """A figure changed in results.json (and the manifest re-hashed by hand) is caught by re-deriving."""
    import hashlib

    from auditkit.bundle import manifest_text

    assert run_cli("compare", "before", "after", "--out", "cmp", "--no-report").exit_code == 0
    path = tmp_path / "cmp" / "results.json"
    doc = json.loads(path.read_text())
    doc["records"][0]["ratio_b"] = 1.0
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    manifest = json.loads((tmp_path / "cmp" / "manifest.json").read_text())
    for f in manifest["files"]:
        if f["path"] == "results.json":
            f.update(sha256=hashlib.sha256(path.read_bytes()).hexdigest(), bytes=path.stat().st_size)
    (tmp_path / "cmp" / "manifest.json").write_text(manifest_text(manifest))
    bad = run_cli("verify", "cmp")
    assert bad.exit_code == 1 and "ratio_b" in bad.output


def test_small_groups_are_withheld_in_the_comparison_report(tmp_path, monkeypatch):
    """A group with fewer than 10 selected in either audit: its figures and findings are withheld from the report."""
    monkeypatch.chdir(tmp_path)
    _bundle(tmp_path, "before", {"NL": (60, 1000), "MA": (6, 40), "TR": (20, 200)})
    _bundle(tmp_path, "after", {"NL": (70, 1000), "MA": (25, 40), "TR": (22, 200)})
    assert run_cli("compare", "before", "after", "--out", "cmp", "--format", "md").exit_code == 0
    md = (tmp_path / "cmp" / "report.en.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| MA (nationality)"))
    assert "withheld" in row and "%" not in row
    assert "15.0%" not in md and "rest on groups or cells of fewer than 10 people" in md


def test_compare_out_refuses_to_touch_the_evidence_and_other_errors(pair, tmp_path):
    """--out on or inside a compared bundle, an unknown language, --data on verify: clear errors, nothing written."""
    assert_user_error(run_cli("compare", "before", "after", "--out", "before"), 2, "bundle A", "replace")
    assert_user_error(run_cli("compare", "before", "after", "--out", "after/cmp"), 2, "bundle B")
    assert not (tmp_path / "after" / "cmp").exists()
    assert run_cli("verify", "before").exit_code == 0
    assert_user_error(run_cli("compare", "before", "after", "--out", "cmp", "--lang", "xx"), 1, "xx")
    assert not (tmp_path / "cmp").exists()
    assert run_cli("compare", "before", "after", "--out", "cmp").exit_code == 0
    assert_user_error(run_cli("verify", "cmp", "--data", "before.csv"), 2, "comparison of two bundles")


def test_comparison_findings_and_report_name_groups_by_the_templates_labels(pair, tmp_path):
    """The comparison carries both audits' template labels; its findings and report print them, ids keep codes."""
    from auditkit.compare import _labels
    from auditkit.report._build_compare import _Ctx

    labels = {"nationality": {"label": {"en": "Nationality", "nl": "Nationaliteit"},
                              "group_labels": {"MA": {"en": "Moroccan", "nl": "Marokkaans"}, "NL": {"nl": "Nederlands"}}}}
    a = {"template": {"protected": labels}, "attributes": [{"attribute": "nationality × gender",
                                                            "attributes": ["nationality", "gender"]}]}
    assert _labels(a, {"template": None}) == {"template": {"protected": labels}, "attributes": [
        {"attribute": "nationality × gender", "attributes": ["nationality", "gender"]}]}
    assert run_cli("compare", "before", "after", "--out", "cmp", "--no-report").exit_code == 0
    doc = json.loads((tmp_path / "cmp" / "results.json").read_text())
    assert doc["labels"] == {"template": {"protected": {}}, "attributes": []}  # audits without a template: codes
    doc["labels"] = _labels(a, {})
    plain = {f["id"]: f for f in comparison_findings({**doc, "labels": {}})}
    found = comparison_findings(doc)
    assert any(f["evidence"] == ["records/nationality/MA/NL/selection_rate"] for f in found)
    for f in found:
        if f["evidence"] == ["records/nationality/MA/NL/selection_rate"]:
            assert "Marokkaans" in f["statement"]["nl"] and "Moroccan" in f["statement"]["en"]
            assert "(MA" not in f["statement"]["nl"] and "MA " not in f["statement"]["nl"]
            assert "Nederlands" in f["statement"]["nl"] and "Nationaliteit" in f["statement"]["nl"]
        assert f["id"] in plain  # the id keeps the codes: labels never change it

    class _B:
        results, min_count = doc, 0
    ctx = _Ctx(_B(), "nl")
    ma = next(r for r in doc["records"] if r["group"] == "MA")
    assert (ctx.name(ma), ctx.attribute(ma), ctx.name(ma, "reference")) == ("Marokkaans", "Nationaliteit",
                                                                             "Nederlands")
