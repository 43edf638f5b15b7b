"""The evidence bundle: same bytes on a re-run, one manifest over every file, written whole."""

from __future__ import annotations

import hashlib
import json
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from auditkit.bundle import manifest_hash, verify_bundle
from auditkit.cli import main


def _data(tmp_path, flip: bool = False):
    rows = [("a", int(i < 30)) for i in range(100)] + [("b", int(i < (45 if flip else 50))) for i in range(100)]
    path = tmp_path / ("changed.csv" if flip else "d.csv")
    pd.DataFrame(rows, columns=["g", "d"]).to_csv(path, index=False)
    return path


def _run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_bundle_is_byte_identical_when_rerun(tmp_path):
    """Running the same command twice into the same folder gives the same bytes in every file, report included."""
    data = _data(tmp_path)
    args = ("audit", data, "--protected", "g", "--decision", "d", "--bootstrap", "50", "--out", tmp_path / "b",
            "--quiet")
    _run(*args)
    first = _files(tmp_path / "b")
    _run(*args)
    assert _files(tmp_path / "b") == first
    assert set(first) == {"manifest.json", "results.json", "findings.json", "template.json", "report.en.html"}


def test_manifest_lists_every_file_and_reports_cite_its_hash(tmp_path):
    """The manifest holds inputs, versions, parameters, the command, every file's sha256 and size, and the
    report with the manifest hash it was rendered from, which the report prints."""
    data = _data(tmp_path)
    _run("audit", data, "--protected", "g", "--decision", "d", "--seed", "7", "--out", tmp_path / "b", "--quiet")
    raw = (tmp_path / "b" / "manifest.json").read_bytes()
    m = json.loads(raw)
    assert m["inputs"][0] == {"role": "data", "name": "d.csv", "sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
                              "bytes": data.stat().st_size}
    assert m["parameters"]["seed"] == 7 and "numpy" in m["dependencies"] and m["command"].startswith("auditkit audit")
    listed = {f["path"]: f for f in m["files"] + m["reports"]}
    for path in (tmp_path / "b").iterdir():
        if path.name != "manifest.json":
            assert listed[path.name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
            assert listed[path.name]["bytes"] == path.stat().st_size
    cited = manifest_hash(raw)
    body = {k: v for k, v in m.items() if k != "reports"}
    assert cited == hashlib.sha256((json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode()).hexdigest()
    assert m["reports"][0]["manifest_sha256"] == cited and m["audit_reports"] == ["report.en.html"]
    assert cited in (tmp_path / "b" / "report.en.html").read_text(encoding="utf-8")


def test_verify_detects_edits_missing_and_unlisted_files(tmp_path):
    """An edited, a deleted and an added file each fail verification, with the file named."""
    data = _data(tmp_path)
    _run("audit", data, "--protected", "g", "--decision", "d", "--out", tmp_path / "b", "--quiet")
    assert verify_bundle(tmp_path / "b").ok
    results = tmp_path / "b" / "results.json"
    results.write_text(results.read_text().replace('"n": 100', '"n": 101', 1))
    (tmp_path / "b" / "findings.json").unlink()
    (tmp_path / "b" / "extra.txt").write_text("x")
    report = verify_bundle(tmp_path / "b")
    assert report.edited == ["results.json"] and report.missing == ["findings.json"]
    assert report.unlisted == ["extra.txt"] and not report.ok
    cli = _run("verify", tmp_path / "b")
    assert cli.exit_code == 1 and "EDITED: results.json" in cli.output and "UNLISTED: extra.txt" in cli.output
    assert "MISSING: findings.json" in cli.output


def test_verify_reruns_and_reports_changed_figures(tmp_path):
    """--data re-runs the audit: the same data passes, changed data fails naming the input and the figures."""
    data = _data(tmp_path)
    _run("audit", data, "--protected", "g", "--decision", "d", "--out", tmp_path / "b", "--quiet")
    same = _run("verify", tmp_path / "b", "--data", data)
    assert same.exit_code == 0 and "every figure is the same" in same.output
    report = verify_bundle(tmp_path / "b", data=_data(tmp_path, flip=True))
    assert not report.ok and not report.inputs[0]["matches"]
    paths = [d["path"] for d in report.differences]
    assert any(p.endswith("/selected") for p in paths) and any("ratio" in p for p in paths)


def test_verify_on_a_folder_that_is_not_a_bundle(tmp_path):
    """A folder without manifest.json is an error that says what a bundle is."""
    result = _run("verify", tmp_path)
    assert result.exit_code == 1 and "no manifest.json" in result.output and "Traceback" not in result.output


def test_checklist_assessment_is_scored_into_the_bundle(tmp_path):
    """--checklist scores the assessment against the results and records it, and its hash, in the bundle."""
    data = _data(tmp_path)
    answers = tmp_path / "assessment.yaml"
    assert _run("checklist", "init", "risk_profiling", "--out", answers).exit_code == 0
    _run("audit", data, "--protected", "g", "--decision", "d", "--checklist", answers, "--out", tmp_path / "b",
         "--quiet")
    checklist = json.loads((tmp_path / "b" / "checklist.json").read_text())
    assert checklist["gaps"] and checklist["impact_level"]
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert [i["role"] for i in manifest["inputs"]] == ["data", "answers"]
    assert "checklist.json" in {f["path"] for f in manifest["files"]}
    assert verify_bundle(tmp_path / "b").ok


def test_verify_reruns_with_the_engine_the_bundle_was_made_with(tmp_path, monkeypatch):
    """A bundle made with --engine duckdb is re-run by `verify --data` with DuckDB, and passes."""
    import sys

    audit_module = sys.modules["auditkit.audit"]  # the module (auditkit.audit is also the function's name)
    data = _data(tmp_path)
    _run("audit", data, "--protected", "g", "--decision", "d", "--engine", "duckdb", "--out", tmp_path / "b",
         "--quiet")
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["run"]["engine"] == "duckdb"
    engines: list[str] = []
    real = audit_module.audit

    def spy(*args, **kwargs):
        engines.append(kwargs.get("engine", "pandas"))
        return real(*args, **kwargs)

    monkeypatch.setattr(audit_module, "audit", spy)
    report = verify_bundle(tmp_path / "b", data=data)
    assert report.ok and report.rerun and engines == ["duckdb"]


def test_rerun_into_an_existing_bundle_replaces_it_whole(tmp_path):
    """A second run into a bundle that gained a Dutch report leaves no file of the first run behind."""
    out = tmp_path / "b"
    _run("audit", _data(tmp_path), "--protected", "g", "--decision", "d", "--out", out, "--quiet")
    assert _run("report", out, "--lang", "nl").exit_code == 0
    assert (out / "report.nl.html").is_file() and verify_bundle(out).ok
    _run("audit", _data(tmp_path, flip=True), "--protected", "g", "--decision", "d", "--out", out, "--quiet")
    assert not (out / "report.nl.html").exists()
    assert verify_bundle(out).ok
    assert "changed.csv" in (out / "report.en.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("extra", ["notes.txt", None])
def test_out_refuses_a_folder_that_is_not_only_a_bundle(tmp_path, extra):
    """--out on a non-empty folder that is not a bundle, or a bundle holding unlisted files, is refused and
    nothing in it changes."""
    out = tmp_path / "b"
    if extra is None:
        out.mkdir()
        (out / "thesis.docx").write_text("years of work")
    else:
        _run("audit", _data(tmp_path), "--protected", "g", "--decision", "d", "--out", out, "--quiet")
        (out / extra).write_text("mine")
    before = _files(out)
    result = _run("audit", _data(tmp_path, flip=True), "--protected", "g", "--decision", "d", "--out", out, "--quiet")
    assert result.exit_code == 1 and "Error:" in result.output
    assert ("not an auditkit evidence bundle" if extra is None else "does not list") in result.output
    assert _files(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".b.")]  # no temporary folder left


def test_an_empty_out_folder_is_used(tmp_path):
    """An existing empty folder is a fine --out."""
    (tmp_path / "b").mkdir()
    _run("audit", _data(tmp_path), "--protected", "g", "--decision", "d", "--out", tmp_path / "b", "--quiet")
    assert verify_bundle(tmp_path / "b").ok


def test_report_default_out_is_the_bundle_and_is_listed(tmp_path):
    """`auditkit report BUNDLE --lang nl --format md` (no --out) renders into the bundle and lists the report."""
    out = tmp_path / "b"
    _run("audit", _data(tmp_path), "--protected", "g", "--decision", "d", "--out", out, "--quiet", "--no-report")
    before = manifest_hash((out / "manifest.json").read_bytes())
    result = _run("report", out, "--lang", "nl", "--format", "md")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [r["path"] for r in manifest["reports"]] == ["report.nl.md"]
    assert manifest_hash((out / "manifest.json").read_bytes()) == before  # listing a report keeps the hash
    assert verify_bundle(out).ok
    shutil.copy(out / "report.nl.md", tmp_path / "keep.md")
    (out / "report.nl.md").write_text("edited", encoding="utf-8")
    assert "report.nl.md" in verify_bundle(out).edited


def test_documented_python_one_liner_gives_the_manifest_hash(tmp_path):
    """The command docs/reports.md and docs/campaigner.md give for checking the manifest hash without auditkit
    prints the hash the report cites."""
    import re
    import shlex
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).parents[1]
    commands = {re.search(r"^python3 -c .*$", (root / "docs" / page).read_text(encoding="utf-8"), re.M).group(0)
                for page in ("reports.md", "campaigner.md")}
    assert len(commands) == 1
    _run("audit", _data(tmp_path), "--protected", "g", "--decision", "d", "--out", tmp_path / "welfare-audit",
         "--quiet")
    args = shlex.split(commands.pop())
    done = subprocess.run([sys.executable, *args[1:]], cwd=tmp_path, capture_output=True, text=True, check=True)
    cited = json.loads((tmp_path / "welfare-audit" / "manifest.json").read_text())["reports"][0]["manifest_sha256"]
    assert done.stdout.strip() == cited
