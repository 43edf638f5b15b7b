"""The evidence bundle: same bytes on a re-run, every edit detected, figures re-checked by `verify`."""

from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner

from auditkit.bundle import verify_bundle
from auditkit.cli import main


def _data(tmp_path, flip: bool = False):
    rows = [("a", int(i < 30)) for i in range(100)] + [("b", int(i < (45 if flip else 50))) for i in range(100)]
    path = tmp_path / ("changed.csv" if flip else "d.csv")
    pd.DataFrame(rows, columns=["g", "d"]).to_csv(path, index=False)
    return path


def _run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code in (0, 1), result.output
    return result


def test_bundle_is_byte_identical_when_rerun(tmp_path):
    """Running the same command twice gives the same bytes in every bundle file."""
    data = _data(tmp_path)
    for out in ("one", "two"):
        _run("audit", data, "--protected", "g", "--decision", "d", "--bootstrap", "50", "--out", tmp_path / out,
             "--quiet")
    for name in ("manifest.json", "results.json", "findings.json"):
        one, two = (tmp_path / "one" / name).read_bytes(), (tmp_path / "two" / name).read_bytes()
        if name == "manifest.json":  # the command line names the output folder
            one = one.replace(str(tmp_path / "one").encode(), str(tmp_path / "two").encode())
        assert one == two


def test_manifest_holds_inputs_versions_parameters_and_command(tmp_path):
    """The manifest records the data's sha256, versions, parameters, seed and the reproducing command."""
    import hashlib

    data = _data(tmp_path)
    _run("audit", data, "--protected", "g", "--decision", "d", "--seed", "7", "--out", tmp_path / "b", "--quiet")
    m = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert m["inputs"] == [{"role": "data", "name": "d.csv", "sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
                            "bytes": data.stat().st_size}]
    assert m["parameters"]["seed"] == 7 and "numpy" in m["dependencies"] and m["command"].startswith("auditkit audit")
    assert {f["path"] for f in m["files"]} == {"results.json", "findings.json"}


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
    assert cli.exit_code == 1 and "EDITED: results.json" in cli.output


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
