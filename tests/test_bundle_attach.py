"""`auditkit attach`: the agency's response.yaml (or a corrections log) joins the bundle's chain of custody."""

from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from auditkit.bundle import verify_bundle
from auditkit.cli import main

RESPONSE = 'reply:\n  asked: "2026-11-01"\n  received: "2026-11-20"\n  text: "We take the findings seriously."\n'


def _run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


@pytest.fixture
def bundle(tmp_path):
    rows = [("a", int(i < 30)) for i in range(100)] + [("b", int(i < 50)) for i in range(100)]
    pd.DataFrame(rows, columns=["g", "d"]).to_csv(tmp_path / "d.csv", index=False)
    assert _run("audit", tmp_path / "d.csv", "--protected", "g", "--decision", "d", "--out", tmp_path / "b",
                "--quiet").exit_code == 0
    (tmp_path / "response.yaml").write_text(RESPONSE, encoding="utf-8")
    return tmp_path / "b"


def test_a_file_dropped_into_the_bundle_is_unlisted(bundle):
    """response.yaml copied in by hand is not part of the evidence: verify names it."""
    shutil.copy(bundle.parent / "response.yaml", bundle)
    report = verify_bundle(bundle)
    assert report.unlisted == ["response.yaml"] and not report.ok


def test_attach_lists_the_file_and_renders_the_reports_again(bundle):
    """attach copies, hashes and names the file; the report now shows the reply and cites the new manifest hash;
    verify (and verify --data) pass; an edit of the attached file is then caught."""
    before = (bundle / "report.en.html").read_text(encoding="utf-8")
    result = _run("attach", bundle, bundle.parent / "response.yaml")
    assert result.exit_code == 0, result.output
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["attachments"] == ["response.yaml"]
    assert "response.yaml" in {f["path"] for f in manifest["files"]}
    after = (bundle / "report.en.html").read_text(encoding="utf-8")
    assert after != before and "We take the findings seriously." in after
    assert verify_bundle(bundle).ok
    assert verify_bundle(bundle, data=bundle.parent / "d.csv").ok
    (bundle / "response.yaml").write_text(RESPONSE.replace("seriously", "lightly"), encoding="utf-8")
    assert verify_bundle(bundle).edited == ["response.yaml"]


def test_attach_refuses_the_runs_own_files_and_links(bundle, tmp_path):
    """A file named like one the run wrote, a report name, or a link: refused, the bundle unchanged."""
    before = {p.name: p.read_bytes() for p in bundle.iterdir()}
    (tmp_path / "x").mkdir()
    for name in ("results.json", "report.en.html", "findings.json"):
        (tmp_path / "x" / name).write_text("{}")
        result = _run("attach", bundle, tmp_path / "x" / name)
        assert result.exit_code == 1 and "cannot be attached" in result.output
    os.symlink(tmp_path / "response.yaml", tmp_path / "x" / "corrections.yaml")
    result = _run("attach", bundle, tmp_path / "x" / "corrections.yaml")
    assert result.exit_code == 1 and "not a regular file" in result.output
    assert {p.name: p.read_bytes() for p in bundle.iterdir()} == before
