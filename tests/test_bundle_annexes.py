"""The agency's response.yaml and corrections.yaml join the chain of custody as annexes; no report stays stale."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from auditkit.bundle import manifest_hash, verify_bundle
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
    assert _run("report", tmp_path / "b", "--lang", "nl", "--format", "md").exit_code == 0
    return tmp_path / "b"


def test_a_reply_added_later_renders_every_report_again(bundle):
    """response.yaml dropped in, then `report BUNDLE`: listed as an annex, the older Dutch Markdown report is
    rendered again (it shows the reply too), the manifest hash is kept, verify and verify --data pass."""
    before = manifest_hash((bundle / "manifest.json").read_bytes())
    (bundle / "response.yaml").write_text(RESPONSE, encoding="utf-8")
    assert verify_bundle(bundle).unlisted == ["response.yaml"]
    result = _run("report", bundle)
    assert result.exit_code == 0, result.output
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    assert [a["path"] for a in manifest["annexes"]] == ["response.yaml"]
    assert manifest_hash((bundle / "manifest.json").read_bytes()) == before
    assert "We take the findings seriously." in (bundle / "report.nl.md").read_text(encoding="utf-8")
    assert verify_bundle(bundle).ok
    assert verify_bundle(bundle, data=bundle.parent / "d.csv").ok
    (bundle / "response.yaml").write_text(RESPONSE.replace("seriously", "lightly"), encoding="utf-8")
    assert verify_bundle(bundle).edited == ["response.yaml"]
