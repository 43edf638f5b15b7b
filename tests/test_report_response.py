"""The agency's side in a report: claims next to the evidence, the right of reply, the corrections log."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from auditkit.exceptions import InputDataError
from auditkit.report import build_document
from conftest import run_cli

RESPONSE = """\
claims:
  - id: C1
    claim: {en: "The risk model does not discriminate.", nl: "Het risicomodel discrimineert niet."}
    source: "Letter to the council, 3 March 2025"
    says: no_difference
    attribute: nationality
  - id: C2
    claim: "Dutch women and men are selected alike."
    says: no_difference
    evidence: ["comparisons/nationality × gender/Dutch × F/selection_rate"]
  - id: C3
    claim: "Nationality is not an input of the model."
    says: other
    assessment: contradicts
    findings: [F-954ba422]
reply:
  asked: "2026-11-01"
  received: "2026-11-20"
  text: {en: "We take the findings seriously.", nl: "Wij nemen de bevindingen serieus."}
  findings: {F-954ba422: "The selection follows risk factors."}
"""


@pytest.fixture(scope="module")
def welfare(tmp_path_factory):
    """The decisions example bundle (auditkit audit --example welfare)."""
    out = tmp_path_factory.mktemp("response") / "welfare"
    assert run_cli("audit", "--example", "welfare", "--out", str(out), "--quiet").exit_code == 0
    return out


@pytest.fixture()
def answered(welfare, tmp_path):
    bundle = tmp_path / "answered"
    shutil.copytree(welfare, bundle)
    (bundle / "response.yaml").write_text(RESPONSE, encoding="utf-8")
    return bundle


def _section(doc, sid):
    return next(s for s in doc.sections if s.id == sid)


def test_claims_stand_next_to_the_evidence(answered):
    """C1 (no difference by nationality) is contradicted by both detected groups and cites their findings; C2 is
    not contradicted (Dutch × F: no difference detected, ratio interval 1.10 to 1.65), and says what cannot be
    ruled out; C3 carries the auditors' assessment."""
    doc = build_document(answered, "en")
    assert [s.id for s in doc.sections][:5] == ["summary", "system", "findings", "claims", "reply"]
    rows = {r.cells[0].text: [c.text for c in r.cells] for r in _section(doc, "claims").blocks[1].rows}
    assert rows["C1"][3] == "Contradicted: a difference is detected for 2 group(s) (EU 1.79×; non-EU 1.88×)."
    assert rows["C1"][4] == "F-d14c82f4, F-954ba422"
    assert rows["C2"][3] == ("Not contradicted: no difference detected in 1 comparison(s); the data cannot rule out "
                             "a ratio of up to 1.65.")
    assert rows["C3"][3].startswith("Contradicted, in the auditors' assessment") and rows["C3"][4] == "F-954ba422"
    nl = {r.cells[0].text: r.cells[1].text for r in _section(build_document(answered, "nl"), "claims").blocks[1].rows}
    assert nl["C1"] == "Het risicomodel discrimineert niet."


def test_right_of_reply_prints_the_answer_and_the_file_hash(answered):
    """The reply with its dates, the per-finding answers and the sha256 of response.yaml."""
    texts = [getattr(b, "text", "") for b in _section(build_document(answered, "en"), "reply").blocks]
    assert "The agency was asked for comment on 2026-11-01 and replied on 2026-11-20." in texts[0]
    assert "We take the findings seriously." in texts
    digest = hashlib.sha256((answered / "response.yaml").read_bytes()).hexdigest()
    assert f"response.yaml: sha256 {digest}." in texts


def test_no_response_and_no_reply_are_said(welfare, answered):
    """Without response.yaml the section says no request for comment is recorded; asked without a reply says so."""
    none = _section(build_document(welfare, "en"), "reply").blocks[0]
    assert none.kind == "notice" and "records no request for comment" in none.text
    (answered / "response.yaml").write_text('reply: {asked: "2026-11-01"}\n', encoding="utf-8")
    waiting = _section(build_document(answered, "en"), "reply").blocks[0]
    assert "No reply had been received" in waiting.text and "claims" not in [s.id for s in
                                                                              build_document(answered).sections]


def test_corrections_are_logged_at_the_top_and_in_full(answered):
    """A corrections log puts a notice above the headline and a Corrections section with the file's sha256."""
    (answered / "corrections.yaml").write_text(
        'corrections:\n  - {date: "2026-12-02", text: "The EU hit rate was 21%; it is 12%.", findings: [F-d14c82f4]}\n',
        encoding="utf-8")
    doc = build_document(answered, "en")
    assert doc.sections[0].blocks[0].kind == "notice" and "corrected (1 correction(s))" in doc.sections[0].blocks[0].text
    section = _section(doc, "corrections")
    assert [c.text for c in section.blocks[1].rows[0].cells] == ["2026-12-02", "The EU hit rate was 21%; it is 12%.",
                                                                 "F-d14c82f4"]
    assert hashlib.sha256((answered / "corrections.yaml").read_bytes()).hexdigest() in section.blocks[2].text


@pytest.mark.parametrize("text, where", [
    ("claims: [{id: C1, says: no_difference}]", "claims[0].claim: missing"),
    ("claims: [{id: C1, claim: x, says: maybe}]", "claims[0].says: expected one of"),
    ("claims: [{id: C1, claim: x, says: other}]", "claims[0].assessment"),
    ("claims: [{id: C1, claim: x, says: difference}, {id: C1, claim: y}]", "claims[1].id: every claim needs a unique"),
    ("claim: []", "claim: unknown key. Did you mean 'claims'?"),
    ("- a list", "(the whole file): expected a mapping"),
])
def test_a_bad_response_file_is_named(answered, text, where):
    """Each mistake names the file and the key; the CLI exits 1 without a traceback."""
    (answered / "response.yaml").write_text(text + "\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="response.yaml") as err:
        build_document(answered, "en")
    assert where in str(err.value)
    result = run_cli("report", str(answered), "--out", str(answered.parent / "r"))
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_the_agency_side_is_listed_and_checked_by_verify(answered):
    """Rendering into the bundle lists response.yaml and corrections.yaml under the manifest's annexes (the
    manifest hash the reports cite does not change); verify passes, and fails once the reply is edited."""
    import json

    (answered / "corrections.yaml").write_text('corrections: [{date: "2026-12-02", text: "Fixed."}]\n',
                                               encoding="utf-8")
    from auditkit.bundle import manifest_hash

    before = manifest_hash((answered / "manifest.json").read_bytes())
    assert run_cli("verify", str(answered)).exit_code != 0  # the new files are not listed yet
    assert run_cli("report", str(answered)).exit_code == 0
    manifest = json.loads((answered / "manifest.json").read_text(encoding="utf-8"))
    assert [a["path"] for a in manifest["annexes"]] == ["response.yaml", "corrections.yaml"]
    assert manifest_hash((answered / "manifest.json").read_bytes()) == before
    result = run_cli("verify", str(answered))
    assert result.exit_code == 0, result.output
    (answered / "response.yaml").write_text(RESPONSE.replace("seriously", "lightly"), encoding="utf-8")
    result = run_cli("verify", str(answered))
    assert result.exit_code != 0 and "response.yaml" in result.output


def test_the_brief_is_not_written_into_the_bundle(answered):
    """--format brief without --out is a usage error that says to give --out."""
    result = run_cli("report", str(answered), "--format", "brief")
    assert result.exit_code == 2 and "give --out DIR" in result.output
