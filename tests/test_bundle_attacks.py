"""Bundles altered the way an agency's lawyer (or a careless colleague) would: each attack fails `verify`,
with the altered thing named in words, and `verify` never ends in a traceback.

The attacker here knows the format: after each edit the manifest's hashes are recomputed, so only
re-derivation, binding, re-running or a signature can catch it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from auditkit.bundle import manifest_hash, manifest_text, verify_bundle
from auditkit.cli import main

ROOT = Path(__file__).parents[1]


def _run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """One audit (decisions with a clear disparity) with its HTML report, and one without a report."""
    root = tmp_path_factory.mktemp("made")
    pd.read_csv(ROOT / "datasets" / "welfare" / "decisions.csv", dtype=str, keep_default_na=False).head(4000) \
        .to_csv(root / "d.csv", index=False)
    for name, extra in (("with-report", ()), ("no-report", ("--no-report",))):
        result = _run("audit", root / "d.csv", "--template", "welfare-fraud-risk", "--out", root / name, "--quiet",
                      *extra)
        assert result.exit_code == 0, result.output
    return root


def _copy(made, tmp_path, name="with-report"):
    shutil.copytree(made / name, tmp_path / name)
    shutil.copy(made / "d.csv", tmp_path / "d.csv")
    return tmp_path / name


def _rehash(bundle, cite_new=False):
    """Recompute every hash in the manifest, as an attacker who knows the format would."""
    m = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    for key in ("files", "reports"):
        for entry in m.get(key, []):
            data = (bundle / entry["path"]).read_bytes()
            entry["sha256"], entry["bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    if cite_new:
        cited = manifest_hash(manifest_text({k: v for k, v in m.items() if k != "reports"}).encode())
        for entry in m.get("reports", []):
            entry["manifest_sha256"] = cited
    (bundle / "manifest.json").write_text(manifest_text(m), encoding="utf-8")


def _edit_json(path, change):
    value = json.loads(path.read_text(encoding="utf-8"))
    value = change(value) or value
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _verify(bundle, *args):
    result = _run("verify", bundle, *args)
    assert result.exit_code == 1, result.output
    assert "FAILED: the bundle does not match." in result.output
    return result.output


def test_a_fresh_bundle_verifies(made, tmp_path):
    """The bundles the attacks start from pass, with the findings and the report re-derived."""
    for name in ("with-report", "no-report"):
        result = _run("verify", made / name)
        assert result.exit_code == 0, result.output
        assert "Re-derived: findings.json" in result.output
    assert "report.en.html (rendered again: the same bytes)" in _run("verify", made / "with-report").output


def test_edited_report_with_its_hash_updated_fails(made, tmp_path):
    """A <script> added to the report, its hash updated in the manifest: the report rendered again differs."""
    b = _copy(made, tmp_path)
    html = b / "report.en.html"
    html.write_text(html.read_text(encoding="utf-8").replace("</body>", "<script>alert(1)</script></body>"),
                    encoding="utf-8")
    _rehash(b)
    out = _verify(b)
    assert "report.en.html is not the report the bundle renders" in out and "<script>" in out


def test_deleted_report_and_its_entry_fail(made, tmp_path):
    """Removing the report the audit rendered, and its manifest entry, is detected."""
    b = _copy(made, tmp_path)
    (b / "report.en.html").unlink()
    m = json.loads((b / "manifest.json").read_text(encoding="utf-8"))
    m["reports"] = []
    (b / "manifest.json").write_text(manifest_text(m), encoding="utf-8")
    assert "the manifest does not list it among its reports: a report was removed" in _verify(b)


def _reverse(findings):
    for f in findings:
        for lang, text in f["statement"].items():
            f["statement"][lang] = text.replace("more often", "less often").replace("vaker", "minder vaak")
        if f["severity"] in ("high", "medium"):
            f["severity"] = "low"


def test_reversed_findings_with_hashes_recomputed_fail(made, tmp_path):
    """findings.json saying 'less often' with a lowered severity: re-derivation names the finding and the change."""
    b = _copy(made, tmp_path, "no-report")
    before = json.loads((b / "findings.json").read_text(encoding="utf-8"))
    assert any("more often" in f["statement"]["en"] for f in before)
    _edit_json(b / "findings.json", _reverse)
    _rehash(b)
    out = _verify(b)
    assert "FAILED: finding F-" in out and ("has severity 'low'" in out or "less often" in out)
    # With a report, the report cites a manifest that no longer exists as well.
    b2 = _copy(made, tmp_path)
    _edit_json(b2 / "findings.json", _reverse)
    _rehash(b2)
    out = _verify(b2)
    assert "report.en.html was rendered from another manifest" in out or "FAILED: finding F-" in out


def test_statement_text_alone_changed_is_named(made, tmp_path):
    """Only the wording changed (severity kept): the finding's sentence and the re-derived one are both quoted."""
    b = _copy(made, tmp_path, "no-report")

    def soften(findings):
        f = next(f for f in findings if "more often" in f["statement"]["en"])
        f["statement"]["en"] = f["statement"]["en"].replace("more often", "less often")

    _edit_json(b / "findings.json", soften)
    _rehash(b)
    out = _verify(b)
    assert "less often" in out and "more often" in out and "(en); the results give" in out


def test_template_title_and_agency_changed_fail(made, tmp_path):
    """The template record in the results changed (title, agency): it no longer matches template.json."""
    b = _copy(made, tmp_path, "no-report")

    def retitle(results):
        results["template"]["title"]["en"] = "An audit nobody asked for"
        results["template"]["system"]["agency"] = "Somebody else"

    _edit_json(b / "results.json", retitle)
    _rehash(b)
    out = _verify(b)
    assert "results.json: template/" in out and ("An audit nobody asked for" in out or "Somebody else" in out)


def test_template_changed_everywhere_fails_only_a_rerun(made, tmp_path):
    """Title changed consistently in results.json and template.json: only `verify --data` (which loads the
    template the command names) can tell, and it does."""
    b = _copy(made, tmp_path, "no-report")

    def retitle(doc, key):
        (doc["data"] if key == "data" else doc["template"])["title"]["en"] = "An audit nobody asked for"

    _edit_json(b / "template.json", lambda d: retitle(d, "data"))
    _edit_json(b / "results.json", lambda d: retitle(d, "template"))
    _rehash(b)
    digest = __import__("auditkit._derive", fromlist=["x"]).template_from_document(
        json.loads((b / "template.json").read_text(encoding="utf-8"))).digest
    _edit_json(b / "results.json", lambda r: r["template"].__setitem__("digest", digest))
    _rehash(b)
    assert _run("verify", b).exit_code == 0  # internally consistent: see docs/reports.md, what verify cannot prove
    out = _verify(b, "--data", tmp_path / "d.csv")
    assert "template" in out and "An audit nobody asked for" in out


def test_input_name_changed_fails_a_rerun(made, tmp_path):
    """The input's recorded name changed (manifest and results): the re-run on the real file names the change."""
    b = _copy(made, tmp_path, "no-report")
    _edit_json(b / "manifest.json", lambda m: m["inputs"][0].__setitem__("name", "official-2024.csv"))
    _edit_json(b / "results.json", lambda r: [r["input"].__setitem__("source", "official-2024.csv"),
                                              r["population"].__setitem__("source", "official-2024.csv")])
    _rehash(b)
    out = _verify(b, "--data", tmp_path / "d.csv")
    assert "manifest.json/inputs/0/name: bundle 'official-2024.csv', re-run 'd.csv'" in out


def test_recorded_command_with_a_fake_exclude_fails_a_rerun(made, tmp_path):
    """A fake `--exclude` written into the recorded command: the command is re-parsed and run, and differs."""
    b = _copy(made, tmp_path, "no-report")
    _edit_json(b / "manifest.json", lambda m: m.__setitem__("command", m["command"] + " --exclude gender=F"))
    _rehash(b)
    assert _run("verify", b).exit_code == 0  # the command is a claim only a re-run can test
    out = _verify(b, "--data", tmp_path / "d.csv")
    assert "Re-run:" in out and "filters" in out


def test_suppression_threshold_lowered_fails(made, tmp_path):
    """`suppression_threshold: 1` in the manifest: the parameters re-derived from results and template differ."""
    b = _copy(made, tmp_path, "no-report")
    _edit_json(b / "manifest.json", lambda m: m["parameters"].__setitem__("suppression_threshold", 1))
    _rehash(b)
    out = _verify(b)
    assert "parameters/suppression_threshold: the manifest says 1;" in out


def test_report_from_another_manifest_fails(made, tmp_path):
    """A report taken from another bundle (another manifest) is named as rendered from another manifest."""
    b = _copy(made, tmp_path)
    other = tmp_path / "other"
    _run("audit", tmp_path / "d.csv", "--template", "welfare-fraud-risk", "--min-group-size", "40", "--out", other,
         "--quiet")
    shutil.copy(other / "report.en.html", b / "report.en.html")
    theirs = json.loads((other / "manifest.json").read_text(encoding="utf-8"))["reports"][0]
    _edit_json(b / "manifest.json", lambda m: m["reports"][0].update(theirs))
    (b / "manifest.json").write_text(manifest_text(json.loads((b / "manifest.json").read_text())), encoding="utf-8")
    out = _verify(b)
    assert "report.en.html was rendered from another manifest" in out


def test_a_manifest_not_written_by_auditkit_fails(made, tmp_path):
    """Whitespace or key order changed in manifest.json: the manifest is not in auditkit's form."""
    b = _copy(made, tmp_path, "no-report")
    m = json.loads((b / "manifest.json").read_text(encoding="utf-8"))
    (b / "manifest.json").write_text(json.dumps(m, indent=4), encoding="utf-8")
    assert "not in the form auditkit writes" in _verify(b)


def test_links_inside_a_bundle_are_errors(made, tmp_path):
    """A symlink to /etc, and a listed file replaced by a link to a copy of itself, are both reported, unfollowed."""
    b = _copy(made, tmp_path)
    os.symlink("/etc", b / "etc")
    shutil.copy(b / "results.json", tmp_path / "results-copy.json")
    (b / "results.json").unlink()
    os.symlink(tmp_path / "results-copy.json", b / "results.json")
    out = _verify(b)
    assert "LINK: etc is a symbolic link (to /etc)" in out and "LINK: results.json is a symbolic link" in out


def test_a_fifo_in_a_bundle_is_reported_not_opened(made, tmp_path):
    """A FIFO named like a listed file is reported and never opened (opening it would hang verify)."""
    b = _copy(made, tmp_path, "no-report")
    (b / "findings.json").unlink()
    os.mkfifo(b / "findings.json")
    out = _verify(b)
    assert "findings.json is not a regular file" in out


def test_audit_out_does_not_write_through_a_planted_link(made, tmp_path):
    """OUT/results.json is a link to another file: a new run replaces the folder and leaves the target alone."""
    b = _copy(made, tmp_path, "no-report")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    (b / "results.json").unlink()
    os.symlink(victim, b / "results.json")
    _run("audit", tmp_path / "d.csv", "--template", "welfare-fraud-risk", "--out", b, "--quiet")
    assert victim.read_text(encoding="utf-8") == "precious"
    assert not (b / "results.json").is_symlink() and verify_bundle(b).ok


def test_report_out_does_not_overwrite_a_link_target(made, tmp_path):
    """report --out DIR where DIR/report.en.html is a link: refused, the target unchanged."""
    victim = tmp_path / "victim.html"
    victim.write_text("precious", encoding="utf-8")
    (tmp_path / "r").mkdir()
    os.symlink(victim, tmp_path / "r" / "report.en.html")
    result = _run("report", made / "with-report", "--out", tmp_path / "r")
    assert result.exit_code == 1 and "symbolic link" in result.output
    assert victim.read_text(encoding="utf-8") == "precious"


@pytest.mark.parametrize("manifest", [[], {"files": "x"}, {"bundle_version": "2", "files": [{"path": "../x"}]},
                                      {"bundle_version": "2", "files": [1, None, {"path": "results.json"}]}, "x", 3])
def test_verify_of_a_broken_manifest_names_the_problem(made, tmp_path, manifest):
    """A manifest that is [], has "files": "x", or odd entries: exit 1 with the problem named, no traceback."""
    b = _copy(made, tmp_path)
    (b / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = _run("verify", b)
    assert result.exit_code == 1 and ("manifest.json" in result.output)


def test_verify_with_a_missing_data_file_is_an_error(made, tmp_path):
    """`verify --data` on a file that does not exist: exit 1, the file named."""
    result = _run("verify", made / "no-report", "--data", tmp_path / "nope.csv")
    assert result.exit_code == 1 and "nope.csv" in result.output


def test_verify_data_with_a_corrupt_results_file_fails_cleanly(made, tmp_path):
    """A truncated results.json with --data: reported, the re-run still compared, no traceback."""
    b = _copy(made, tmp_path, "no-report")
    raw = (b / "results.json").read_bytes()
    (b / "results.json").write_bytes(raw[: len(raw) // 2])
    out = _verify(b, "--data", tmp_path / "d.csv")
    assert "EDITED: results.json" in out and "Re-run:" in out


def test_unknown_key_in_the_recorded_spec_fails_cleanly(made, tmp_path):
    """An unknown key in the run record: a difference after the re-run, never a traceback."""
    b = _copy(made, tmp_path, "no-report")
    _edit_json(b / "manifest.json", lambda m: m["run"]["spec"].__setitem__("secret_weights", 3))
    _rehash(b)
    out = _verify(b, "--data", tmp_path / "d.csv")
    assert "manifest.json/run/spec/secret_weights" in out


def test_unparsable_recorded_command_fails_cleanly(made, tmp_path):
    """A recorded command that is not an auditkit audit: the re-run says so."""
    b = _copy(made, tmp_path, "no-report")
    for command in ("rm -rf /", "auditkit audit --no-such-option", 'auditkit audit "unclosed'):
        _edit_json(b / "manifest.json", lambda m, c=command: m.__setitem__("command", c))
        _rehash(b)
        out = _verify(b, "--data", tmp_path / "d.csv")
        assert "could not be run again" in out or "cannot be parsed" in out or "is not an `auditkit audit`" in out
