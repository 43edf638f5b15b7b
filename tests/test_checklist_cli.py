"""Tests for ``auditkit checklist``: list, show, init, fill (interrupted and resumed), validate and score."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from auditkit.checklist import load_assessment, score_assessment
from auditkit.checklist._files import read_yaml
from auditkit.cli_checklist import checklist
from test_checklist import BENIGN, answered, make_results, tiny_instrument


def run(*args: object, input: str | None = None) -> Result:
    """Invoke ``checklist`` with ``args`` (paths as text)."""
    return CliRunner().invoke(checklist, [str(a) for a in args], input=input)


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    """The hand-scored instrument of test_checklist, as a file."""
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_instrument(), allow_unicode=True), encoding="utf-8")
    return path


def write_assessment(path: Path, assessment: dict) -> Path:
    """Write an assessment dict as YAML."""
    path.write_text(yaml.safe_dump(assessment, allow_unicode=True), encoding="utf-8")
    return path


def test_list_names_every_instrument():
    """`list` shows each shipped instrument with its version and file."""
    result = run("list")
    assert result.exit_code == 0
    for name in ("ai_act_fria", "canada_aia_compatible", "iama", "risk_profiling"):
        assert f"{name}  1.0.0" in result.output


def test_show_in_dutch():
    """`show --lang nl` prints the questions in Dutch, with option scores and red flags."""
    result = run("show", "iama", "--lang", "nl")
    assert result.exit_code == 0
    assert "Welke wettelijke grondslag" in result.output and "- none [4]" in result.output
    assert "red flag: no_legal_basis" in result.output


def test_show_unknown_instrument_suggests():
    """An unknown instrument exits 1 with a did-you-mean."""
    result = run("show", "risk_profilng")
    assert result.exit_code == 1 and "Did you mean 'risk_profiling'?" in result.output


def test_init_to_stdout_is_a_valid_skeleton(tmp_path):
    """`init` without --out prints a commented skeleton that validates."""
    result = run("init", "ai_act_fria")
    assert result.exit_code == 0 and "# Who deploys the system?" in result.output
    path = tmp_path / "a.yaml"
    path.write_text(result.output, encoding="utf-8")
    assert run("validate", path).exit_code == 0


def test_init_never_overwrites_answers(tmp_path):
    """`init --out` refuses an existing file unless --force (exit 2)."""
    path = tmp_path / "a.yaml"
    assert run("init", "iama", "--out", path).exit_code == 0
    result = run("init", "iama", "--out", path)
    assert result.exit_code == 2 and "exists" in result.output
    assert run("init", "iama", "--out", path, "--force").exit_code == 0


@pytest.mark.parametrize("name", ["ai_act_fria", "canada_aia_compatible", "iama", "risk_profiling"])
def test_validate_shipped_instrument_files(name):
    """`validate` accepts each shipped instrument file."""
    path = Path(__file__).resolve().parents[1] / "audits" / "instruments" / f"{name}.yaml"
    result = run("validate", path)
    assert result.exit_code == 0, result.output
    assert f"valid instrument {name} 1.0.0" in result.output


def test_validate_invalid_instrument_exits_1(tiny):
    """An invalid instrument exits 1 and the message names the file, item, key and a suggestion."""
    data = read_yaml(tiny)
    data["sections"][0]["items"][0]["options"][0]["scroe"] = 1
    tiny.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = run("validate", tiny)
    assert result.exit_code == 1
    assert f"{tiny}, item 'legal_basis', key 'options[0].scroe': unknown key 'scroe'" in result.output
    assert "Did you mean 'score'?" in result.output


def test_validate_unknown_kind(tmp_path):
    """A YAML file that is neither kind is refused with the expected kinds."""
    path = tmp_path / "x.yaml"
    path.write_text("kind: audit\n", encoding="utf-8")
    result = run("validate", path)
    assert result.exit_code == 1 and "expected 'auditkit/instrument' or 'auditkit/assessment'" in result.output


def test_validate_detects_changed_document(tiny, tmp_path):
    """A cited document next to the assessment whose bytes changed fails validation."""
    doc = tmp_path / "law.pdf"
    doc.write_bytes(b"version 1")
    assessment = answered(tiny_instrument(), **BENIGN)
    assessment["answers"]["legal_basis"]["evidence"] = [
        {"document": "law.pdf", "sha256": hashlib.sha256(b"version 1").hexdigest()}]
    path = write_assessment(tmp_path / "a.yaml", assessment)
    assert run("validate", path, "--instrument", tiny).exit_code == 0
    doc.write_bytes(b"version 2")
    result = run("validate", path, "--instrument", tiny)
    assert result.exit_code == 1
    assert "item 'legal_basis', key 'evidence[0].sha256': law.pdf has changed" in result.output


def test_score_exit_codes(tiny, tmp_path):
    """`score` exits 0 without red flags, 3 with one, 1 on an invalid file."""
    instrument = tiny_instrument()
    good = write_assessment(tmp_path / "good.yaml", answered(instrument, **BENIGN))
    result = run("score", good, "--instrument", tiny)
    assert result.exit_code == 0, result.output
    assert "Headline: medium" in result.output and "level I" in result.output
    bad = write_assessment(tmp_path / "bad.yaml", answered(instrument, **dict(BENIGN, recourse="no")))
    result = run("score", bad, "--instrument", tiny)
    assert result.exit_code == 3 and "Headline: RED FLAG" in result.output and "[no_remedy_route]" in result.output
    broken = answered(instrument, **BENIGN)
    broken["answers"]["recourse"]["value"] = "yse"
    result = run("score", write_assessment(tmp_path / "broken.yaml", broken), "--instrument", tiny)
    assert result.exit_code == 1 and "Did you mean 'yes'?" in result.output


def test_score_in_dutch(tiny, tmp_path):
    """`score --lang nl` prints the summary in Dutch."""
    path = write_assessment(tmp_path / "a.yaml", answered(tiny_instrument(), **dict(BENIGN, legal_basis="none")))
    result = run("score", path, "--instrument", tiny, "--lang", "nl")
    assert result.exit_code == 3
    assert "Kern: RODE VLAG" in result.output and "NL No legal basis" in result.output


def test_score_json_matches_library(tiny, tmp_path):
    """`--json FILE` writes the library's report; `--json -` prints only the JSON."""
    path = write_assessment(tmp_path / "a.yaml", answered(tiny_instrument(), **BENIGN))
    out = tmp_path / "score.json"
    assert run("score", path, "--instrument", tiny, "--json", out).exit_code == 0
    instrument, assessment = load_assessment(path, tiny)
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(json.dumps(score_assessment(instrument, assessment)))
    result = run("score", path, "--instrument", tiny, "--json", "-")
    assert json.loads(result.output)["headline"] == "medium"


def test_score_with_results_prints_contradictions(tiny, tmp_path, results):
    """With --results, contradictions are printed with the evidence behind them."""
    path = write_assessment(tmp_path / "a.yaml", answered(tiny_instrument(), **BENIGN))
    res = tmp_path / "results.json"
    res.write_text(json.dumps(results), encoding="utf-8")
    result = run("score", path, "--instrument", tiny, "--results", res)
    assert result.exit_code == 3  # the evidence raises the unjustified-disparity and protected-input flags
    assert "Contradictions with the evidence:" in result.output
    assert "x disparity: answered none_found by Ann (lawyer); evidence suggests found" in result.output
    assert "attribute=nationality, group=other" in result.output


def test_score_refuses_a_non_results_json(tiny, tmp_path):
    """A JSON file that is not a results document is refused with exit 1."""
    path = write_assessment(tmp_path / "a.yaml", answered(tiny_instrument(), **BENIGN))
    res = tmp_path / "r.json"
    res.write_text("{}", encoding="utf-8")
    result = run("score", path, "--instrument", tiny, "--results", res)
    assert result.exit_code == 1 and "not an auditkit results document" in result.output


def _answers(path: Path) -> dict:
    return {k: v for k, v in read_yaml(path)["answers"].items() if v and v.get("value") is not None}


def test_interrupted_fill_loses_nothing_and_resumes(tiny, tmp_path):
    """Input that stops midway keeps every answer given; the next run starts at the first open item."""
    path = tmp_path / "a.yaml"
    assert run("init", tiny, "--out", path).exit_code == 0
    # legal_basis: option 1 and no evidence; disparity: option 'found'; then the input ends.
    result = run("fill", path, "--instrument", tiny, "--by", "Ann", "--role", "researcher", "--date", "1 March",
                 input="1\n\nfound\n")
    assert result.exit_code == 1 and "Answers given so far are saved" in result.output
    saved = _answers(path)
    assert saved == {
        "legal_basis": {"value": "statute", "answered_by": "Ann", "role": "researcher", "date": "1 March",
                        "source": "human"},
        "disparity": {"value": "found", "answered_by": "Ann", "role": "researcher", "date": "1 March",
                      "source": "human"}}
    # Resume: protected_input, people, then one part of justification before stopping again.
    result = run("fill", path, "--instrument", tiny, input="no\n120\nyes\n")
    assert result.output.index("[protected_input]") < result.output.index("[people]")
    assert "[legal_basis]" not in result.output and "[disparity]" not in result.output
    saved = _answers(path)
    assert saved["people"]["value"] == 120 and saved["justification"]["value"] == {"aim": "yes"}
    assert saved["legal_basis"]["value"] == "statute"
    # Resume inside the multi-part item: only its missing part is asked.
    result = run("fill", path, "--instrument", tiny, input="q\n")
    assert "necessity [" in result.output and "aim [" not in result.output
    assert result.exit_code == 0 and "to continue" in result.output


def test_fill_reprompts_on_invalid_answers(tiny, tmp_path):
    """An invalid answer is explained and asked again, never written."""
    path = tmp_path / "a.yaml"
    run("init", tiny, "--out", path)
    result = run("fill", path, "--instrument", tiny, input="9\nstatue\n2\n\nq\n")
    assert "'9' is not an option; type a number 1-3" in result.output
    assert "'statue' is not an option" in result.output
    assert _answers(path)["legal_basis"]["value"] == "none"


def test_fill_skip_and_evidence_file(tiny, tmp_path):
    """`s` skips an item; a file given as evidence is recorded with its SHA-256."""
    path = tmp_path / "a.yaml"
    run("init", tiny, "--out", path)
    (tmp_path / "law.pdf").write_bytes(b"statute text")
    result = run("fill", path, "--instrument", tiny, input="statute\nmissing.pdf\nlaw.pdf; F-1234abcd\ns\nq\n")
    assert "missing.pdf: no such file" in result.output
    evidence = _answers(path)["legal_basis"]["evidence"]
    assert evidence == [{"document": "law.pdf", "sha256": hashlib.sha256(b"statute text").hexdigest()},
                        {"finding": "F-1234abcd"}]
    assert "disparity" not in _answers(path)


def test_fill_with_results_fills_evidence_items(tiny, tmp_path, results):
    """With --results, items the data answers are written as source: evidence and suggestions become defaults."""
    path = tmp_path / "a.yaml"
    run("init", tiny, "--out", path)
    res = tmp_path / "results.json"
    res.write_text(json.dumps(results), encoding="utf-8")
    result = run("fill", path, "--instrument", tiny, "--results", res, input="statute\n\n\nq\n")
    assert "protected_input: yes (from the evidence)" in result.output
    saved = _answers(path)
    assert saved["protected_input"] == {"value": "yes", "source": "evidence"}
    assert saved["disparity"]["value"] == "found"  # accepted the suggested default with Enter


def test_fill_requires_an_existing_file(tmp_path):
    """`fill` on a missing file is a usage error."""
    result = run("fill", tmp_path / "nope.yaml")
    assert result.exit_code == 2


@pytest.fixture(scope="module")
def results() -> dict:
    """Audit results with a disparity and a model card (shared with test_checklist)."""
    return make_results()
