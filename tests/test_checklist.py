"""Tests for auditkit.checklist: the shipped instruments, validation messages, evidence and scoring."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
import yaml

from auditkit import audit
from auditkit.checklist import (
    ChecklistError,
    assessment_problems,
    instrument_paths,
    instrument_problems,
    load_assessment,
    load_instrument,
    new_assessment,
    score_assessment,
    set_answer,
)
from auditkit.checklist._files import read_yaml
from auditkit.checklist._schema import schema
from auditkit.exceptions import TemplateError

SHIPPED = ["ai_act_fria", "canada_aia_compatible", "iama", "risk_profiling"]


def _t(en: str) -> dict:
    return {"en": en, "nl": f"NL {en}"}


def _options(*specs: tuple) -> list[dict]:
    out = []
    for spec in specs:
        option = {"id": spec[0], "text": _t(spec[0]), "score": spec[1]}
        if len(spec) > 2:
            option.update(spec[2])
        out.append(option)
    return out


def _dim(pid: str) -> dict:
    return {"id": pid, "kind": "single_choice", "text": _t(pid), "options": _options(*((f"s{n}", n) for n in range(1, 5)))}


def tiny_instrument() -> dict:
    """A small instrument whose scores can be worked out by hand (max impact 13, max mitigation 2)."""
    return {
        "kind": "auditkit/instrument", "schema_version": "1.0", "id": "tiny", "version": "0.1.0",
        "title": _t("Tiny"), "source": {"name": "test", "url": "https://example.org", "version": "1"},
        "references": {"law": {"name": "A law"}},
        "rights": {"equality": {"title": _t("Equality")}},
        "sections": [
            {"id": "main", "title": _t("Main"), "items": [
                {"id": "legal_basis", "kind": "single_choice", "text": _t("Legal basis?"), "refs": {"law": ["a"]},
                 "evidence": {"required": True},
                 "options": _options(("statute", 0), ("none", 4, {"flags": ["no_legal_basis"]}),
                                     ("unknown", 4, {"worst_case": True}))},
                {"id": "disparity", "kind": "single_choice", "text": _t("Disparity?"), "refs": {"law": ["b"]},
                 "bindings": [
                     {"id": "found", "over": "comparisons",
                      "where": "status == 'difference_detected' and outside(ratio_ci, 0.8, 1.25)",
                      "suggests": "found", "reason": _t("A difference outside the band.")},
                     {"id": "clear", "over": "comparisons", "where": "status == 'no_difference_detected'",
                      "match": "all", "suggests": "none_found", "reason": _t("No difference.")}],
                 "options": _options(("found", 3), ("none_found", 0))},
                {"id": "protected_input", "kind": "single_choice", "text": _t("Protected input?"),
                 "fill_from_evidence": True,
                 "bindings": [{"id": "card", "over": "model_card.inputs", "where": "tag == 'protected'",
                               "suggests": "yes", "reason": _t("The model card lists one.")}],
                 "options": _options(("yes", 4, {"flags": ["protected_input"]}), ("no", 0))},
                {"id": "people", "kind": "number", "text": _t("People?"), "min": 0,
                 "thresholds": [{"min": 0, "score": 0}, {"min": 100, "score": 2}]},
                {"id": "justification", "kind": "multi_part", "text": _t("Justified?"), "parts": [
                    {"id": "aim", "kind": "single_choice", "text": _t("Aim?"), "options": _options(("yes", 0), ("no", 0))},
                    {"id": "necessity", "kind": "single_choice", "text": _t("Necessary?"),
                     "options": _options(("yes", 0), ("no", 0))}]},
                {"id": "seriousness", "kind": "multi_part", "seriousness_of": "equality", "text": _t("How serious?"),
                 "parts": [_dim(p) for p in ("scale", "scope", "irremediability", "likelihood")]},
                {"id": "notes", "kind": "text", "text": _t("Notes"), "required": False},
            ]},
            {"id": "mitigation", "title": _t("Mitigation"), "scores_as": "mitigation", "items": [
                {"id": "recourse", "kind": "single_choice", "text": _t("Recourse?"),
                 "options": _options(("yes", 2), ("no", 0, {"flags": ["no_remedy_route"]}))}]},
        ],
        "red_flags": [
            {"id": "no_legal_basis", "title": _t("No legal basis"), "reason": _t("Unlawful.")},
            {"id": "protected_input", "title": _t("Protected input"), "reason": _t("Direct.")},
            {"id": "no_remedy_route", "title": _t("No remedy"), "reason": _t("No remedy.")},
            {"id": "unjustified_disparity", "title": _t("Unjustified"), "reason": _t("Not justified."),
             "when": "disparity == 'found' and not (justification.aim == 'yes' and justification.necessity == 'yes')"},
        ],
        "gates": [{"id": "justify", "when": "disparity == 'found'",
                   "requires": ["justification.aim", "justification.necessity"], "reason": _t("Justify it.")}],
        "coverage": [{"id": "law", "scheme": "law", "title": _t("Law"),
                      "elements": [{"ref": "a", "title": _t("A")}, {"ref": "b", "title": _t("B")}]}],
    }


def answered(instrument: dict, **values: object) -> dict:
    """An assessment of ``instrument`` with ``values`` as human answers (legal_basis with evidence)."""
    items = {i["id"]: i for s in instrument["sections"] for i in s["items"]}
    assessment = new_assessment(instrument)
    for iid, value in values.items():
        evidence = [{"document": "law.pdf", "sha256": "0" * 64}] if iid == "legal_basis" else None
        assessment = set_answer(assessment, items[iid], value, answered_by="Ann", role="lawyer", evidence=evidence)
    return assessment


BENIGN = {"legal_basis": "statute", "disparity": "none_found", "protected_input": "no", "people": 50,
          "justification": {"aim": "yes", "necessity": "yes"},
          "seriousness": {"scale": "s2", "scope": "s3", "irremediability": "s1", "likelihood": "s2"},
          "recourse": "yes"}


def make_results() -> dict:
    """A results document with a selection-rate disparity, plus a fake model card with a protected input."""
    frame = pd.DataFrame({"nationality": ["NL"] * 200 + ["other"] * 200,
                          "flag": [1] * 20 + [0] * 180 + [1] * 60 + [0] * 140})
    doc = json.loads(json.dumps(audit(frame, protected=("nationality",), decision="flag",
                                      references={"nationality": "NL"}).results))
    doc["model_card"] = {"readable": "opaque", "n_inputs": 2, "input_names_recorded": True,
                         "learning": {"model": "unknown", "evidence": []},
                         "inputs": [{"name": "age", "tag": "other"}, {"name": "nationality", "tag": "protected"}]}
    return doc


@pytest.fixture(scope="module")
def results() -> dict:
    """The results of :func:`make_results`, built once per module."""
    return make_results()


# ------------------------------------------------------------------ shipped


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_instrument_validates(name):
    """Every shipped instrument passes the JSON Schema and the cross-reference checks."""
    path = instrument_paths()[name]
    data = read_yaml(path)
    assert instrument_problems(data, str(path)) == []  # the JSON Schema first, then cross-references
    assert data["id"] == path.stem == name


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_instrument_skeleton_validates_and_scores(name):
    """An empty skeleton of each shipped instrument validates and scores as open and worst case."""
    instrument = load_instrument(name)
    assessment = new_assessment(instrument)
    jsonschema.validate(assessment, schema("assessment"))
    assert assessment_problems(assessment, instrument, "a.yaml") == []
    report = score_assessment(instrument, assessment)
    assert report["status"] == "open" and report["gaps"]
    assert report["comparison_total"]["level"] == "IV"
    json.dumps(report, allow_nan=False)


def test_shipped_set_and_schemas():
    """All four instruments ship, and both schemas are valid Draft 2020-12 schemas."""
    assert set(SHIPPED) <= set(instrument_paths())
    for name in ("instrument", "assessment"):
        jsonschema.Draft202012Validator.check_schema(schema(name))


def test_fria_covers_the_six_article_27_elements():
    """The Article 27 instrument checks coverage of 27(1)(a)-(f), each cited by at least one item."""
    instrument = load_instrument("ai_act_fria")
    (coverage,) = instrument["coverage"]
    assert [e["ref"] for e in coverage["elements"]] == [f"27(1)({c})" for c in "abcdef"]
    report = score_assessment(instrument, new_assessment(instrument))
    assert all(e["state"] == "missing" and e["items"] for e in report["coverage"][0]["elements"])


def test_iama_has_the_four_parts_and_seven_steps():
    """The IAMA instrument has its four parts and a Part 4 item per roadmap step 4.1-4.7."""
    instrument = load_instrument("iama")
    assert [s["id"] for s in instrument["sections"]] == ["why", "data", "algorithm", "how", "rights"]
    steps = {ref for item in instrument["sections"][-1]["items"] for ref in item.get("refs", {}).get("iama_2021", ())}
    assert {f"4.{n}.1" for n in range(1, 8)} <= steps


def test_instrument_paths_env_directory_first(tmp_path, monkeypatch):
    """AUDITKIT_AUDITS_PATH is searched first; a file there shadows a shipped one of the same name."""
    (tmp_path / "iama.yaml").write_text("kind: x\n", encoding="utf-8")
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(tiny_instrument()), encoding="utf-8")
    monkeypatch.setenv("AUDITKIT_AUDITS_PATH", str(tmp_path))
    paths = instrument_paths()
    assert paths["iama"] == tmp_path / "iama.yaml"
    assert load_instrument("tiny")["id"] == "tiny"
    assert paths["risk_profiling"].parent.name == "instruments"


def test_unknown_instrument_suggests():
    """An unknown instrument name lists the known ones and suggests the nearest."""
    with pytest.raises(TemplateError, match="Did you mean 'iama'"):
        load_instrument("iamaa")


# --------------------------------------------------------------- validation


def _problems(mutate, kind: str = "instrument") -> list[str]:
    instrument = tiny_instrument()
    if kind == "instrument":
        mutate(instrument)
        return [str(p) for p in instrument_problems(instrument, "tiny.yaml")]
    assessment = answered(instrument, **BENIGN)
    mutate(assessment)
    return [str(p) for p in assessment_problems(assessment, instrument, "a.yaml")]


def _item(data: dict, iid: str) -> dict:
    return next(i for s in data["sections"] for i in s["items"] if i["id"] == iid)


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda d: _item(d, "legal_basis")["options"][0].update(scroe=1),
     "tiny.yaml, item 'legal_basis', key 'options[0].scroe': unknown key 'scroe'; expected one of 'flags', "
     "'guidance', 'id', 'score', 'text', 'worst_case'. Did you mean 'score'?"),
    (lambda d: _item(d, "people")["text"].pop("nl"),
     "tiny.yaml, item 'people', key 'text.nl': missing the Dutch text ('nl')"),
    (lambda d: _item(d, "people")["text"].update(nl="  "),
     "tiny.yaml, item 'people', key 'text.nl': missing the 'nl' text"),
    (lambda d: _item(d, "people").update(kind="numbr"),
     "tiny.yaml, item 'people', key 'kind': 'numbr' is not allowed; expected one of 'single_choice', "
     "'multiple_choice', 'number', 'text', 'attestation', 'multi_part'. Did you mean 'number'?"),
    (lambda d: d["gates"][0].update(requires=["justification.aimm"]),
     "tiny.yaml, key 'gates[0].requires': unknown item 'justification.aimm'"),
    (lambda d: d["gates"][0].update(when="disparty == 'found'"),
     "tiny.yaml, key 'gates[0].when': unknown item 'disparty'; expected one of"),
    (lambda d: _item(d, "disparity")["bindings"][0].update(suggests="fund"),
     "tiny.yaml, item 'disparity', key 'bindings[0].suggests': unknown option 'fund'; expected one of 'found', "
     "'none_found'. Did you mean 'found'?"),
    (lambda d: _item(d, "disparity")["bindings"][0].update(where="status = 1"),
     "tiny.yaml, item 'disparity', key 'bindings[0].where': invalid expression 'status = 1': unexpected '=' at "
     "column 8"),
    (lambda d: _item(d, "disparity")["bindings"][0].update(over="comparisons.__class__"),
     "expected a key name after '.'"),
    (lambda d: _item(d, "disparity")["bindings"][0].update(over="comparsions"),
     "tiny.yaml, item 'disparity', key 'bindings[0].over': unknown results key 'comparsions'"),
    (lambda d: _item(d, "legal_basis")["options"][1].update(flags=["no_legal_bass"]),
     "tiny.yaml, item 'legal_basis', key 'options[1].flags': unknown red flag 'no_legal_bass'"),
    (lambda d: d["sections"][0]["items"].append(copy.deepcopy(_item(d, "people"))),
     "tiny.yaml, key 'sections': item id 'people' is used 2 times"),
    (lambda d: _item(d, "legal_basis")["options"].append(copy.deepcopy(_item(d, "legal_basis")["options"][0])),
     "tiny.yaml, item 'legal_basis', key 'options': option id 'statute' is used 2 times"),
    (lambda d: _item(d, "people").update(rights=["equalty"]),
     "tiny.yaml, item 'people', key 'rights': unknown right 'equalty'; expected one of 'equality'. "
     "Did you mean 'equality'?"),
    (lambda d: _item(d, "people").update(refs={"lwa": ["1"]}),
     "tiny.yaml, item 'people', key 'refs': unknown reference scheme 'lwa'"),
    (lambda d: _item(d, "people").update(options=_options(("a", 1), ("b", 2))),
     "tiny.yaml, item 'people', key 'options': 'options' has no meaning for a number question"),
    (lambda d: _item(d, "seriousness")["parts"].pop(),
     "tiny.yaml, item 'seriousness', key 'parts': a seriousness item must be multi_part"),
    (lambda d: _item(d, "legal_basis").update(id="Legal basis"),
     "tiny.yaml, item 'Legal basis', key 'id': 'Legal basis' is not an id of lower-case letters"),
    (lambda d: d["coverage"][0]["elements"].append({"ref": "c", "title": _t("C")}),
     "tiny.yaml, key 'coverage[0].elements': element 'c' is not cited by any item's refs.law"),
    (lambda d: _item(d, "disparity")["bindings"][0].pop("over"),
     "tiny.yaml, item 'disparity', key 'bindings[0]': a binding needs either 'when'"),
])
def test_instrument_validation_errors(mutate, expected):
    """Each kind of instrument error names the file, the item and the key, and suggests a fix."""
    problems = _problems(mutate)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda a: a["answers"]["legal_basis"].update(value="statue"),
     "a.yaml, item 'legal_basis', key 'value': unknown option 'statue'; expected one of 'statute', 'none', "
     "'unknown'. Did you mean 'statute'?"),
    (lambda a: a["answers"].update(legal_bases={"value": "statute"}),
     "a.yaml, item 'legal_bases': unknown item 'legal_bases'; expected one of"),
    (lambda a: a["answers"]["people"].update(answerd_by="Ann"),
     "a.yaml, item 'people', key 'answerd_by': unknown key 'answerd_by'; expected one of 'answered_by'"),
    (lambda a: a["answers"]["people"].update(value="many"), "a.yaml, item 'people', key 'value': expected a number"),
    (lambda a: a["answers"]["people"].update(value=-1), "a.yaml, item 'people', key 'value': -1 is outside 0..inf"),
    (lambda a: a["answers"]["seriousness"].update(value={"scael": "s1"}),
     "a.yaml, item 'seriousness', key 'value.scael': unknown part 'scael'"),
    (lambda a: a["answers"]["legal_basis"].update(evidence=[{"document": "x.pdf"}]),
     "a.yaml, item 'legal_basis', key 'evidence[0]': 'document' needs 'sha256' as well"),
    (lambda a: a["answers"]["legal_basis"].update(confidence="hgh"),
     "a.yaml, item 'legal_basis', key 'confidence': 'hgh' is not allowed; expected one of 'low', 'medium', "
     "'high'. Did you mean 'high'?"),
    (lambda a: a["instrument"].update(version="0.2.0"),
     "a.yaml, key 'instrument.version': the assessment was written for version 0.2.0"),
    (lambda a: a["answers"]["recourse"].update(date=20260301), "a.yaml, item 'recourse', key 'date': expected"),
])
def test_assessment_validation_errors(mutate, expected):
    """Each kind of assessment error names the file, the item and the key, and suggests a fix."""
    problems = _problems(mutate, "assessment")
    assert any(expected in p for p in problems), problems


def test_load_raises_one_error_listing_all_problems(tmp_path):
    """Loading an invalid file raises a ChecklistError (a TemplateError) that lists every problem."""
    instrument = tiny_instrument()
    _item(instrument, "people")["text"].pop("nl")
    _item(instrument, "legal_basis")["options"][0]["scroe"] = 1
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(instrument), encoding="utf-8")
    with pytest.raises(ChecklistError) as info:
        load_instrument(path)
    assert isinstance(info.value, TemplateError) and len(info.value.problems) == 2
    assert str(info.value).startswith(f"2 problems in {path}:")


def test_yaml_syntax_error_has_line(tmp_path):
    """A YAML syntax error names the file, line and column."""
    path = tmp_path / "bad.yaml"
    path.write_text("kind: auditkit/instrument\nsections: [\n", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"bad.yaml: line 3, column 1: not valid YAML"):
        load_instrument(path)


def test_yes_no_and_dates_stay_text(tmp_path):
    """Option ids 'yes'/'no' and dates typed in YAML stay strings instead of becoming booleans and dates."""
    instrument = tiny_instrument()
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump(answered(instrument, **BENIGN)).replace("value: 'yes'", "value: yes")
                    .replace("role: lawyer", "date: 2026-03-01"), encoding="utf-8")
    _, assessment = load_assessment(path, instrument)
    assert assessment["answers"]["recourse"] == {"value": "yes", "answered_by": "Ann", "date": "2026-03-01"}


# ------------------------------------------------------------------ scoring


def test_score_all_answered_benign():
    """A complete, benign assessment: band from the seriousness rule, no flags, discount to level I."""
    instrument = tiny_instrument()
    report = score_assessment(instrument, answered(instrument, **BENIGN))
    assert report["status"] == "complete" and report["gaps"] == [] and report["gates_open"] == []
    (right,) = report["rights"]
    assert (right["score"], right["band"]) == (6, "medium")  # max(2, 3, 1) x 2
    assert report["headline"] == report["impact_level"] == "medium" and report["red_flags"] == []
    total = report["comparison_total"]
    assert (total["raw_impact"], total["max_impact"], total["mitigation"], total["max_mitigation"]) == (0, 13, 2, 2)
    assert total["discount_applied"] and total["level"] == "I"
    assert [e["state"] for e in report["coverage"][0]["elements"]] == ["covered", "covered"]


def test_score_empty_is_worst_case_with_gaps():
    """Unanswered items count as worst case, are listed as gaps, and possible red flags stay unresolved."""
    instrument = tiny_instrument()
    report = score_assessment(instrument, new_assessment(instrument))
    assert [g["item"] for g in report["gaps"]] == ["legal_basis", "disparity", "protected_input", "people",
                                                   "justification", "seriousness", "recourse"]
    assert report["rights"][0]["score"] == 16 and report["headline"] == "critical"
    assert report["comparison_total"]["final"] == 13 and report["comparison_total"]["level"] == "IV"
    assert {f["id"] for f in report["red_flags_unresolved"]} == {"no_legal_basis", "protected_input",
                                                                 "no_remedy_route", "unjustified_disparity"}
    assert report["red_flags"] == [] and report["status"] == "open"


def test_red_flag_overrides_a_low_band():
    """A red flag makes the headline 'red_flag' whatever the seriousness band."""
    instrument = tiny_instrument()
    values = dict(BENIGN, legal_basis="none", seriousness=dict.fromkeys(
        ("scale", "scope", "irremediability", "likelihood"), "s1"))
    report = score_assessment(instrument, answered(instrument, **values))
    assert report["impact"]["band"] == "low" and report["headline"] == "red_flag"
    assert report["impact"]["overridden_by_red_flags"] == ["no_legal_basis"]
    assert report["red_flags"][0]["raised_by"] == [{"item": "legal_basis", "answer": "none", "source": "human"}]


@pytest.mark.parametrize(("dims", "score", "band"), [
    (("s4", "s1", "s1", "s1"), 4, "high"),     # a grave harm is not discounted for being unlikely
    (("s3", "s1", "s1", "s1"), 3, "low"),
    (("s2", "s2", "s2", "s2"), 4, "medium"),
    (("s3", "s3", "s3", "s3"), 9, "high"),
    (("s1", "s1", "s4", "s4"), 16, "critical"),
])
def test_seriousness_bands(dims, score, band):
    """Seriousness = max(scale, scope, irremediability) x likelihood, banded, with a floor for grave harms."""
    instrument = tiny_instrument()
    values = dict(BENIGN, seriousness=dict(zip(("scale", "scope", "irremediability", "likelihood"), dims)))
    (right,) = score_assessment(instrument, answered(instrument, **values))["rights"]
    assert (right["score"], right["band"]) == (score, band)


def test_partly_answered_seriousness_counts_missing_parts_as_four():
    """Unanswered seriousness parts count as 4 and the item is a gap naming the parts."""
    instrument = tiny_instrument()
    values = dict(BENIGN, seriousness={"scale": "s1", "likelihood": "s1"})
    report = score_assessment(instrument, answered(instrument, **values))
    assert report["rights"][0]["score"] == 4 and report["rights"][0]["worst_case_parts"] == ["scope", "irremediability"]
    assert {"item": "seriousness", "reason": "parts_unanswered", "parts": ["scope", "irremediability"]}.items() <= \
        next(g for g in report["gaps"] if g["item"] == "seriousness").items()


def test_comparison_total_rounds_half_up_like_canada():
    """0.85 x 10 = 8.5 rounds to 9 (JavaScript Math.round), giving level III of 13."""
    instrument = tiny_instrument()
    values = dict(BENIGN, legal_basis="unknown", protected_input="yes", people=150)
    total = score_assessment(instrument, answered(instrument, **values))["comparison_total"]
    assert (total["raw_impact"], total["final"], total["level"]) == (10, 9, "III")


def test_unknown_answer_is_worst_case_gap():
    """An option marked worst_case scores its highest and is listed as a gap."""
    instrument = tiny_instrument()
    report = score_assessment(instrument, answered(instrument, **dict(BENIGN, legal_basis="unknown")))
    assert {"item": "legal_basis", "reason": "answered_unknown"}.items() <= report["gaps"][0].items()
    assert report["comparison_total"]["raw_impact"] == 4


def test_gate_keeps_assessment_open_until_justified():
    """A disparity found opens the gate and raises the unjustified-disparity flag until both parts are answered."""
    instrument = tiny_instrument()
    values = dict(BENIGN, disparity="found", justification={"aim": "yes"})
    report = score_assessment(instrument, answered(instrument, **values))
    assert report["gates_open"][0]["missing"] == ["justification.necessity"] and report["status"] == "open"
    assert [f["id"] for f in report["red_flags"]] == ["unjustified_disparity"]
    values["justification"] = {"aim": "yes", "necessity": "yes"}
    report = score_assessment(instrument, answered(instrument, **values))
    assert report["gates_open"] == [] and report["red_flags"] == [] and report["status"] == "complete"


def test_evidence_missing_is_a_gap():
    """An item that requires evidence, answered without any, is listed as a gap."""
    instrument = tiny_instrument()
    assessment = answered(instrument, **BENIGN)
    del assessment["answers"]["legal_basis"]["evidence"]
    report = score_assessment(instrument, assessment)
    assert [(g["item"], g["reason"]) for g in report["gaps"]] == [("legal_basis", "evidence_missing")]


def test_coverage_partial():
    """Coverage reports an element missing when no citing item is answered."""
    instrument = tiny_instrument()
    report = score_assessment(instrument, answered(instrument, legal_basis="statute"))
    assert [(e["ref"], e["state"]) for e in report["coverage"][0]["elements"]] == [("a", "covered"), ("b", "missing")]


def test_score_is_deterministic_and_json_ready(results):
    """The same inputs give the same, JSON-serialisable report (no NaN, no clocks)."""
    instrument = tiny_instrument()
    assessment = answered(instrument, **BENIGN)
    first = json.dumps(score_assessment(instrument, assessment, results), allow_nan=False, sort_keys=True)
    assert first == json.dumps(score_assessment(instrument, copy.deepcopy(assessment), results), sort_keys=True)


# ----------------------------------------------------------------- evidence


def test_contradiction_with_audit_results(results):
    """A human 'no disparity' against a measured disparity is a contradiction that carries the evidence."""
    instrument = tiny_instrument()
    report = score_assessment(instrument, answered(instrument, **BENIGN), results)
    assert [c["item"] for c in report["contradictions"]] == ["disparity", "protected_input"]
    contradiction = report["contradictions"][0]
    assert contradiction["answer"] == "none_found"
    assert contradiction["suggested"] == "found" and contradiction["answered_by"] == "Ann"
    (record,) = contradiction["evidence"]
    assert (record["attribute"], record["group"], record["metric"], record["status"]) == (
        "nationality", "other", "selection_rate", "difference_detected")
    assert record["ratio_ci"][0] > 1.25


def test_contradicted_answer_cannot_hide_a_red_flag(results):
    """Red flags and gates are also read with the evidence in place of a contradicted answer."""
    instrument = tiny_instrument()
    report = score_assessment(instrument, answered(instrument, **dict(BENIGN, justification={})), results)
    flag = next(f for f in report["red_flags"] if f["id"] == "unjustified_disparity")
    assert flag["raised_by"] == [{"rule": instrument["red_flags"][3]["when"], "reading": "evidence"}]
    assert report["gates_open"][0]["id"] == "justify"


def test_fill_from_evidence(results):
    """An unanswered item the data can answer is filled from the results and marked source: evidence."""
    instrument = tiny_instrument()
    values = {k: v for k, v in BENIGN.items() if k != "protected_input"}
    report = score_assessment(instrument, answered(instrument, **values), results)
    assert report["filled_from_evidence"][0]["item"] == "protected_input"
    flag = next(f for f in report["red_flags"] if f["id"] == "protected_input")
    assert flag["raised_by"] == [{"item": "protected_input", "answer": "yes", "source": "evidence"}]
    assert "protected_input" not in [g["item"] for g in report["gaps"]]


def test_human_answer_is_not_overwritten_by_evidence(results):
    """A human answer to a fillable item stays, and disagreement is reported as a contradiction."""
    instrument = tiny_instrument()
    report = score_assessment(instrument, answered(instrument, **BENIGN), results)
    assert report["filled_from_evidence"] == []
    assert "protected_input" in [c["item"] for c in report["contradictions"]]


def test_missing_results_key_is_unavailable_not_an_error(results):
    """Results without a model card make that binding unavailable; nothing is filled or raised."""
    instrument = tiny_instrument()
    plain = {k: v for k, v in results.items() if k != "model_card"}
    report = score_assessment(instrument, new_assessment(instrument), plain)
    (missing,) = report["evidence_unavailable"]
    assert missing["item"] == "protected_input" and "model_card" in missing["reason"]
    assert report["filled_from_evidence"] == []
    assert [s["item"] for s in report["suggestions"]] == ["disparity"]


def test_match_all_needs_records():
    """A 'match: all' binding does not hold over no records: an empty audit is no evidence of absence."""
    instrument = tiny_instrument()
    report = score_assessment(instrument, new_assessment(instrument), {"comparisons": []})
    assert report["suggestions"] == []
    report = score_assessment(instrument, new_assessment(instrument),
                              {"comparisons": [{"status": "no_difference_detected", "ratio_ci": [0.9, 1.1]}]})
    assert [(s["item"], s["suggests"]) for s in report["suggestions"]] == [("disparity", "none_found")]


def test_unmatched_evidence_references(results):
    """References to findings or metrics absent from the results are reported."""
    instrument = tiny_instrument()
    assessment = answered(instrument, **BENIGN)
    assessment["answers"]["disparity"]["evidence"] = [{"finding": "F-00000000"},
                                                      {"metric": "selection_rate", "group": "other"},
                                                      {"metric": "fpr", "group": "other"}]
    report = score_assessment(instrument, assessment, dict(results, findings=[{"id": "F-12345678"}]))
    assert [(u["item"], u["reference"]) for u in report["evidence_references_unmatched"]] == [
        ("disparity", 0), ("disparity", 2)]


def test_shipped_bindings_read_real_results(results):
    """The shipped risk-profiling instrument fills and suggests from a real audit and a model card."""
    instrument = load_instrument("risk_profiling")
    report = score_assessment(instrument, new_assessment(instrument), results)
    filled = {f["item"]: f["value"] for f in report["filled_from_evidence"]}
    assert filled == {"n_inputs": 2, "protected_input": "direct", "readability": "opaque"}
    suggested = {s["item"]: s["suggests"] for s in report["suggestions"]}
    assert suggested["selection_disparity"] == "difference_found"
    assert report["rule_errors"] == []
    # These results come without a template, so only the bindings that read the template's declarations
    # (system.retraining) cannot be read.
    assert {(u["item"], u["binding"]) for u in report["evidence_unavailable"]} == {
        ("self_learning", "declared_online"), ("self_learning", "declared_scheduled"), ("self_learning", "declared_none")}


def test_self_learning_is_a_red_flag(results):
    """An online learner in the model card, or a declared online system, raises the self-learning red flag."""
    instrument = load_instrument("risk_profiling")
    card = dict(results["model_card"], learning={"model": "online", "evidence": ["partial_fit"]})
    report = score_assessment(instrument, new_assessment(instrument), dict(results, model_card=card))
    assert ("self_learning", "online") in [(f["item"], f["value"]) for f in report["filled_from_evidence"]]
    assert "self_learning" in [f["id"] for f in report["red_flags"]] and report["headline"] == "red_flag"
    declared = dict(results, template={"system": {"retraining": "online"}})
    report = score_assessment(instrument, new_assessment(instrument), declared)
    assert "self_learning" in [f["id"] for f in report["red_flags"]]
    fixed = dict(results, template={"system": {"retraining": "none"}})
    report = score_assessment(instrument, new_assessment(instrument), fixed)
    assert "self_learning" not in [f["item"] for f in report["filled_from_evidence"]]
    assert ("self_learning", "none") in [(s["item"], s["suggests"]) for s in report["suggestions"]]


def test_contradicted_rights_list_still_requires_seriousness(results):
    """If the evidence says equality is affected but the answer omits it, its seriousness item still applies."""
    instrument = load_instrument("iama")
    item = next(i for i in instrument["sections"][-1]["items"] if i["id"] == "rights_affected")
    report = score_assessment(instrument, set_answer(new_assessment(instrument), item, ["privacy"]), results)
    assert [c["item"] for c in report["contradictions"]] == ["rights_affected"]
    applicable = {r["right"] for r in report["rights"] if r["applicable"]}
    assert applicable == {"non_discrimination", "privacy"}
    assert "seriousness_non_discrimination" in [g["item"] for g in report["gaps"]]


def test_absence_is_only_suggested(results):
    """A binding marked fill: false (no input tagged protected) suggests but never fills the answer."""
    instrument = load_instrument("risk_profiling")
    card = dict(results["model_card"], inputs=[{"name": "age", "tag": "other"}])
    report = score_assessment(instrument, new_assessment(instrument), dict(results, model_card=card))
    assert "protected_input" not in [f["item"] for f in report["filled_from_evidence"]]
    assert ("protected_input", "none") in [(s["item"], s["suggests"]) for s in report["suggestions"]]


def test_library_never_prints():
    """No module of auditkit.checklist prints or uses click."""
    root = Path(__file__).resolve().parents[1] / "auditkit" / "checklist"
    for path in root.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "print(" not in source and "import click" not in source, path.name
