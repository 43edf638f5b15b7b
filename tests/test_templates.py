"""Audit templates: shipped ones validate and run, extends merges as documented, errors point at the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import auditkit
from auditkit import METRICS, AuditSpec, TemplateError
from auditkit.datasets import generate
from auditkit.findings import build_findings
from auditkit.templates import (
    PLACEHOLDERS,
    RULE_NAMES,
    TemplateFileError,
    available_templates,
    check_template,
    load_template,
    merge_fields,
    schema,
    template_paths,
)

SHIPPED = {
    "welfare-fraud-risk": "welfare",
    "benefit-fraud-nationality": "childcare-benefit",
    "student-finance-control": "student-finance",
    "police-stops": "police-stops",
    "recidivism-risk": "recidivism",
}
ROOT = Path(__file__).parents[1]


@pytest.fixture
def partner(tmp_path, monkeypatch):
    """A partner's template folder on AUDITKIT_AUDITS_PATH; returns a function that writes a template into it."""
    folder = tmp_path / "audits" / "templates"
    folder.mkdir(parents=True)
    monkeypatch.setenv("AUDITKIT_AUDITS_PATH", str(tmp_path / "audits"))

    def write(name: str, text: str, where: Path = folder) -> Path:
        path = where / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write


# --------------------------------------------------------------------------------------------------
# The shipped templates


def test_shipped_templates_are_all_present_and_valid():
    """base and the five system templates are on the search path and have no problems."""
    names = available_templates()
    assert {"base", *SHIPPED} <= set(names)
    for name in names:
        assert check_template(name) == [], name


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_template_extends_base_and_has_docs(name):
    """Each system template extends base, cites provisions that exist, and has its docs page."""
    template = load_template(name)
    assert [p.name for p, _ in template.files] == [f"{name}.yaml", "base.yaml"]
    assert not template.abstract and template.findings and template.checklist_instrument
    for attribute in template.protected:
        assert attribute.reference and attribute.grounds, attribute.name
    assert (ROOT / "docs" / "templates" / f"{name}.md").is_file()


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_spec_fields_audit_the_generated_data_and_the_rules_make_findings(name):
    """spec_fields() is a valid AuditSpec that audits its generator's data; its rules make findings in en and nl."""
    template = load_template(name)
    data = generate(SHIPPED[name], seed=3)
    results = auditkit.audit(data.frame, AuditSpec(**template.spec_fields())).results
    first = template.protected[0]
    assert {c["attribute"] for c in results["comparisons"]} >= {a.column for a in template.protected}
    assert {c["reference"] for c in results["comparisons"] if c["attribute"] == first.column} == {first.reference}
    findings = [f for f in build_findings(results, template.rules) if f["kind"] == "disparity"]
    assert findings and {f["rule"] for f in findings} <= {r.id for r in template.findings}
    for finding in findings:
        assert "?" not in finding["statement"]["en"] + finding["statement"]["nl"], finding  # every placeholder filled
        assert finding["rights"] and finding["severity"] in ("info", "low", "medium", "high", "critical")


def test_welfare_template_finds_the_planted_disparities():
    """On welfare data: SEL-HIGHER for non-EU with its ratio in both languages, RANDOM-SHARE and MODEL-NOT-BETTER."""
    template = load_template("welfare-fraud-risk")
    results = auditkit.audit(generate("welfare", rows=20000, seed=5).frame, **template.spec_fields()).results
    findings = build_findings(results, template.rules)
    hit = next(c for c in results["comparisons"] if c["group"] == "non-EU" and c["metric"] == "selection_rate")
    (sel,) = [f for f in findings if f["rule"] == "SEL-HIGHER" and f["evidence"][0].endswith("/non-EU/selection_rate")]
    assert f"{hit['ratio']:.2f} times" in sel["statement"]["en"]
    assert f"{hit['ratio']:.2f}".replace(".", ",") + " keer" in sel["statement"]["nl"]
    rules = {f["rule"] for f in findings}
    assert {"RANDOM-SHARE", "MODEL-NOT-BETTER"} <= rules  # fraud is planted equal: the model is no better than chance
    assert "HIT-LOWER" not in rules


def test_rule_names_and_placeholders_match_the_results_and_the_findings_engine():
    """Every name a 'when' may use is a key of each record it applies to; placeholders are the engine's."""
    from auditkit.findings import _values

    results = auditkit.audit(generate("welfare", rows=3000, seed=1).frame,
                             **load_template("welfare-fraud-risk").spec_fields()).results
    for record in results["comparisons"]:
        if record["status"] not in ("undefined", "insufficient_evidence"):
            assert not set(RULE_NAMES["comparisons"]) - set(record) - {"screening_band"}
            assert (record["screening_band"] is not None) == (record["metric"] == "selection_rate")
    for row in results["selection_method"]:
        for key in ("share_comparison", "hit_rate_comparison"):
            record = {**row[key], "attribute": 0, "group": 0, "metric": 0, "reference": 0}  # the engine adds these
            assert set(RULE_NAMES["selection_method"]) <= set(record)
    assert set(PLACEHOLDERS) == set(_values(results["comparisons"][0], results, "en"))


def test_spec_fields_for_a_model_keep_only_the_rule():
    """For assess, the template's decision and score columns drop out and its top-k rule stays."""
    fields = load_template("welfare-fraud-risk").spec_fields(for_model=True)
    assert fields["top"] == 10.0
    assert not {"decision", "positive", "score"} & set(fields)
    assert load_template("welfare-fraud-risk").assess_fields() == {
        "flip": ("dutch_language_requirement_met", "lives_in_zuid_oost")}


def test_base_is_abstract_and_cannot_run():
    """spec_fields() of the abstract base says to extend it."""
    with pytest.raises(TemplateError, match="abstract.*templates new"):
        load_template("base").spec_fields()


def test_schema_metrics_match_the_audit_metrics():
    """The schema's metric names are auditkit.METRICS (compared metrics: without balanced_accuracy)."""
    defs = schema()["$defs"]
    assert tuple(defs["metric"]["enum"]) == METRICS
    assert tuple(defs["compared_metric"]["enum"]) == METRICS[:-1]


def test_template_record_hashes_every_file():
    """record() names each file of the chain with its sha256, and the digest changes with the content."""
    import hashlib

    template = load_template("police-stops")
    record = template.record()
    assert [f["file"] for f in record["files"]] == ["police-stops.yaml", "base.yaml"]
    for (path, digest), entry in zip(template.files, record["files"]):
        assert entry["sha256"] == digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record["digest"] != load_template("recidivism-risk").digest
    json.dumps(record)


def test_template_paths_order(monkeypatch, tmp_path):
    """AUDITKIT_AUDITS_PATH comes first, then the source checkout, then the package copy."""
    monkeypatch.setenv("AUDITKIT_AUDITS_PATH", str(tmp_path))
    paths = template_paths()
    assert paths[0] == tmp_path / "templates"
    assert paths[1] == ROOT / "audits" / "templates"
    assert paths[2] == ROOT / "auditkit" / "_audits" / "templates"


# --------------------------------------------------------------------------------------------------
# extends: merging, null, shadowing, cycles, escapes

HEAD = "auditkit_template: 1\n"


def test_child_overrides_merge_replace_and_delete(partner):
    """Mappings merge key by key, lists replace, null deletes; name/abstract are not inherited."""
    path = partner("nl-partner.yaml", HEAD + """extends: welfare-fraud-risk
protected:
  gender: null
  nationality: {reference: EU}
data:
  strata: [age_band]
measures: {metrics: [selection_rate], level: 0.9}
report: {language: nl}
""")
    template = load_template(path)
    fields = template.spec_fields()
    assert template.name == "nl-partner" and not template.abstract
    assert fields["protected"] == ("nationality",)
    assert fields["references"] == {"nationality": "EU"}
    assert fields["strata"] == ("age_band",) and fields["metrics"] == ("selection_rate",)
    assert fields["level"] == 0.9 and fields["adjust"] == "holm"  # merged over base's measures
    assert fields["decision"] == "selected"  # inherited
    assert template.protected[0].grounds["NL"] == ("awgb-1", "grondwet-1")  # the rest of the mapping is kept
    assert template.language == "nl"


def test_child_can_replace_the_findings_list(partner):
    """A derived template's findings list replaces its parent's entirely."""
    path = partner("mine.yaml", HEAD + """extends: police-stops
findings:
  - id: ONLY
    when: status == "difference_detected"
    severity: low
    statement: {en: "{group} differs", nl: "{group} verschilt"}
""")
    assert [r.id for r in load_template(path).findings] == ["ONLY"]


def test_extends_by_relative_path_inside_the_folder(partner, tmp_path):
    """extends: common/shared.yaml resolves next to the extending file."""
    partner("common/shared.yaml", HEAD + "extends: recidivism-risk\nmeasures: {level: 0.99}\n")
    path = partner("county.yaml", HEAD + "extends: common/shared.yaml\nreport: {language: nl}\n")
    template = load_template(path)
    assert [p.name for p, _ in template.files] == ["county.yaml", "shared.yaml", "recidivism-risk.yaml", "base.yaml"]
    assert template.spec_fields()["level"] == 0.99


def test_a_partner_template_may_shadow_and_extend_the_shipped_one(partner):
    """A template named like a shipped one is found first, and 'extends' of its own name reaches the shipped one."""
    partner("police-stops.yaml", HEAD + "extends: police-stops\nmeasures: {min_group_size: 50}\n")
    template = load_template("police-stops")
    assert [p.parent.name for p, _ in template.files][:2] == ["templates", "templates"]
    assert template.files[0][0] != template.files[1][0]
    assert template.spec_fields()["min_group_size"] == 50


def test_extends_cycle_is_refused(partner):
    """a -> b -> a is an error that shows the loop."""
    partner("a.yaml", HEAD + "extends: b\n")
    partner("b.yaml", HEAD + "extends: a\n")
    with pytest.raises(TemplateFileError) as err:
        load_template("a")
    assert "cycle" in str(err.value) and "a.yaml -> " in str(err.value) and err.value.key == "extends"


def test_extends_self_by_path_is_a_cycle(partner):
    """A file extending itself by path is a cycle, not a recursion error."""
    path = partner("self.yaml", HEAD + "extends: ./self.yaml\n")
    with pytest.raises(TemplateFileError, match="cycle"):
        load_template(path)


@pytest.mark.parametrize("ref", ["../outside.yaml", "common/../../outside.yaml", "/etc/passwd", "~/t.yaml",
                                 "C:\\templates\\t.yaml"])
def test_extends_outside_the_folder_is_refused(partner, tmp_path, ref):
    """'..', absolute and home paths in extends are refused with a clear reason, whether or not they exist."""
    (tmp_path / "audits" / "outside.yaml").write_text(HEAD + "abstract: true\n", encoding="utf-8")
    path = partner("escape.yaml", HEAD + f"extends: '{ref}'\n")
    with pytest.raises(TemplateFileError) as err:
        load_template(path)
    message = str(err.value)
    assert err.value.key == "extends" and "escape.yaml:2" in message
    assert ("absolute" in message) or ("outside" in message)


def test_extends_through_a_link_outside_is_refused(partner, tmp_path):
    """A symbolic link inside the folder that points outside it is refused."""
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(HEAD + "abstract: true\n", encoding="utf-8")
    link = tmp_path / "audits" / "templates" / "link.yaml"
    try:
        link.symlink_to(outside)
    except OSError:
        pytest.skip("symbolic links are not available here")
    path = partner("linked.yaml", HEAD + "extends: ./link.yaml\n")
    with pytest.raises(TemplateFileError, match="outside"):
        load_template(path)


# --------------------------------------------------------------------------------------------------
# Error messages: file, key path, line, suggestion


def _problems(path: Path) -> list:
    with pytest.raises(TemplateFileError) as err:
        load_template(path)
    return list(err.value.problems)


def _one(path: Path, key: str) -> object:
    problems = [p for p in _problems(path) if p.key == key]
    assert problems, [str(p) for p in _problems(path)]
    return problems[0]


def test_unknown_key_names_file_key_line_and_nearest_key(partner):
    """A misspelt key: file and line, key path, and 'Did you mean'."""
    path = partner("typo.yaml", HEAD + "extends: welfare-fraud-risk\nmeasures:\n  min_groupsize: 50\n")
    problem = _one(path, "measures.min_groupsize")
    assert problem.file.endswith("typo.yaml") and problem.line == 4
    assert "Did you mean 'min_group_size'?" in problem.hint
    assert "typo.yaml:4: measures.min_groupsize: unknown key" in str(problem)


def test_bad_enum_value_suggests_the_nearest_value(partner):
    """severity: hgh -> Did you mean 'high'?, at findings[0].severity."""
    path = partner("sev.yaml", HEAD + """extends: police-stops
findings:
  - id: X
    when: status == "difference_detected"
    severity: hgh
    statement: {en: "{group}", nl: "{group}"}
""")
    problem = _one(path, "findings[0].severity")
    assert "'hgh' is not one of" in problem.message and "Did you mean 'high'?" in problem.hint and problem.line == 6


def test_wrong_type_says_what_was_expected(partner):
    """min_group_size: thirty -> must be a whole number; got 'thirty'."""
    path = partner("type.yaml", HEAD + "extends: police-stops\nmeasures: {min_group_size: thirty}\n")
    problem = _one(path, "measures.min_group_size")
    assert "must be a whole number; got 'thirty'" in problem.message


def test_text_that_is_not_per_language_says_how_to_write_it(partner):
    """statement: a plain string -> must be a mapping, with the {en: ..., nl: ...} form as the hint."""
    path = partner("text.yaml", HEAD + """extends: police-stops
findings:
  - {id: X, when: "ratio > 1", severity: low, statement: "plain text"}
""")
    problem = _one(path, "findings[0].statement")
    assert "must be a mapping" in problem.message and "{en: ..., nl: ...}" in problem.hint


def test_missing_required_key_is_reported_in_the_template_being_loaded(partner):
    """A finding without 'severity': the missing key, in the file to fix."""
    path = partner("req.yaml", HEAD + """extends: police-stops
findings:
  - {id: X, when: "ratio > 1", statement: {en: "{group}", nl: "{group}"}}
""")
    problem = _one(path, "findings[0].severity")
    assert "required key 'severity' is missing" in problem.message and problem.file.endswith("req.yaml")


def test_unknown_provision_and_right_ids_suggest_defined_ones(partner):
    """grounds citing 'awgb1' -> Did you mean 'awgb-1'?; a finding's right 'non_discrimnation' likewise."""
    path = partner("ids.yaml", HEAD + """extends: welfare-fraud-risk
protected:
  nationality: {grounds: {NL: [awgb1]}}
findings:
  - id: X
    when: status == "difference_detected"
    severity: low
    statement: {en: "{group}", nl: "{group}"}
    rights: [non_discrimnation]
""")
    grounds = _one(path, "protected.nationality.grounds.NL[0]")
    assert "'awgb1' is not defined under provisions" in grounds.message and "Did you mean 'awgb-1'?" in grounds.hint
    right = _one(path, "findings[0].rights[0]")
    assert "Did you mean 'non_discrimination'?" in right.hint


def test_unknown_placeholder_suggests_the_nearest(partner):
    """{ratio_ci_lo} in a statement -> Did you mean 'ratio_ci_low'?, naming the language."""
    path = partner("ph.yaml", HEAD + """extends: police-stops
findings:
  - id: X
    when: status == "difference_detected"
    severity: low
    statement: {en: "{group} {ratio_ci_lo}", nl: "{group}"}
""")
    problem = _one(path, "findings[0].statement.en")
    assert "{ratio_ci_lo}" in problem.message and "Did you mean 'ratio_ci_low'?" in problem.hint
    assert set(PLACEHOLDERS) >= {"group", "reference", "ratio", "ratio_ci_low", "ratio_ci_high", "n_group",
                                 "n_reference"}


def test_missing_language_of_a_statement_is_reported(partner):
    """A statement without the 'nl' text that report.languages promises."""
    path = partner("lang.yaml", HEAD + """extends: police-stops
findings:
  - {id: X, when: "ratio > 1", severity: low, statement: {en: "{group}"}}
""")
    problem = _one(path, "findings[0].statement")
    assert "no 'nl' text" in problem.message and "Add nl:" in problem.hint


def test_invalid_when_expression_names_the_position(partner):
    """'ratio = 1' is not an expression: the message gives the column and the fix."""
    path = partner("when.yaml", HEAD + """extends: police-stops
findings:
  - {id: X, when: "ratio = 1", severity: low, statement: {en: "{group}", nl: "{group}"}}
""")
    problem = _one(path, "findings[0].when")
    assert "column 7" in problem.message and "'=='" in problem.message


def test_unknown_name_in_when_suggests_the_nearest(partner):
    """'p_holms < 0.05' -> Did you mean 'p_holm'?; a comparison-only name in a selection_method rule is unknown."""
    path = partner("name.yaml", HEAD + """extends: police-stops
findings:
  - {id: X, when: "p_holms < 0.05", severity: low, statement: {en: "{group}", nl: "{group}"}}
  - {id: Y, applies_to: selection_method, when: "group_rate > 0", severity: low,
     statement: {en: "{group}", nl: "{group}"}}
""")
    assert "Did you mean 'p_holm'?" in _one(path, "findings[0].when").hint
    assert "unknown name 'group_rate'" in _one(path, "findings[1].when").message


def test_unknown_checklist_instrument_suggests_one(partner):
    """checklist.instrument: iamma -> Did you mean 'iama'?"""
    path = partner("instr.yaml", HEAD + "extends: police-stops\nchecklist: {instrument: iamma}\n")
    assert "Did you mean 'iama'?" in _one(path, "checklist.instrument").hint


def test_duplicate_finding_ids_are_refused(partner):
    """Two rules with one id: ids are cited, so they must be unique."""
    rule = '  - {id: X, when: "ratio > 1", severity: low, statement: {en: "{group}", nl: "{group}"}}\n'
    path = partner("dup.yaml", HEAD + "extends: police-stops\nfindings:\n" + rule + rule)
    assert "also the id of findings[0]" in _one(path, "findings[1].id").message


def test_duplicate_yaml_keys_name_both_lines(partner):
    """A key written twice is refused (YAML would keep the last silently)."""
    path = partner("twice.yaml", HEAD + "extends: base\nreport: {language: en}\nreport: {language: nl}\n")
    problem = _one(path, "report")
    assert "appears twice (lines 3 and 4)" in problem.message


def test_yaml_syntax_error_names_the_line(partner):
    """Broken indentation: file, line and what to check."""
    path = partner("syntax.yaml", HEAD + "extends: base\nreport:\n  language: en\n suppress_below: 5\n")
    problem = _problems(path)[0]
    assert problem.file.endswith("syntax.yaml") and problem.line == 5 and "not valid YAML" in problem.message


def test_norway_stays_a_country_code(partner):
    """'NO' is text, not false, and a date stays text (YAML 1.1's traps): the template validates."""
    path = partner("no.yaml", HEAD + """extends: welfare-fraud-risk
system: {register_id: 2024-05-01}
provisions:
  grl-98: {jurisdiction: NO, citation: "Grunnloven (Constitution of Norway), art. 98"}
protected:
  nationality: {grounds: {NO: [grl-98]}}
""")
    template = load_template(path)
    assert template.protected[0].grounds["NO"] == ("grl-98",) and template.system["register_id"] == "2024-05-01"


def test_name_must_match_the_file_name(partner):
    """name: other in mine.yaml: templates are found by file name, so the two must agree."""
    path = partner("mine.yaml", HEAD + "name: other\nextends: police-stops\n")
    problem = _one(path, "name")
    assert "differs from the file name 'mine.yaml'" in problem.message and "other.yaml" in problem.hint


def test_unknown_extends_name_suggests_a_template(partner):
    """extends: welfare-fraud -> Did you mean 'welfare-fraud-risk'?"""
    path = partner("ext.yaml", HEAD + "extends: welfare-fraud\n")
    problem = _one(path, "extends")
    assert "no template named 'welfare-fraud'" in problem.message
    assert "Did you mean 'welfare-fraud-risk'?" in problem.hint and problem.line == 2


def test_unknown_template_name_on_load_suggests_one():
    """load_template('polce-stops') -> Did you mean 'police-stops'?"""
    with pytest.raises(TemplateError, match="Did you mean 'police-stops'"):
        load_template("polce-stops")


def test_a_column_in_two_roles_is_refused(partner):
    """A protected column also used as a stratum is named with both key paths."""
    path = partner("roles.yaml", HEAD + "extends: welfare-fraud-risk\ndata: {strata: [gender]}\n")
    problem = _one(path, "data.strata[0]")
    assert "already plays another role at protected.gender" in problem.message


def test_decision_by_score_needs_a_rule(partner):
    """decide_by: score without threshold/top/top_n says which keys to add."""
    path = partner("rule.yaml", HEAD + """extends: recidivism-risk
decision_rule: {threshold: null}
""")
    problem = _one(path, "decision_rule")
    assert "no rule says how" in problem.message and "top" in problem.hint


def test_two_decision_rules_are_refused(partner):
    """An inherited threshold plus a new top: delete one with null."""
    path = partner("two.yaml", HEAD + "extends: recidivism-risk\ndecision_rule: {top: 10}\n")
    problem = _problems(path)[0]
    assert "threshold and top" in problem.message and "null" in problem.hint


def test_concrete_template_without_system_is_refused(partner):
    """A non-abstract template that extends base needs agency, purpose, decision and protected."""
    path = partner("bare.yaml", HEAD + "extends: base\n")
    keys = {p.key for p in _problems(path)}
    assert {"system.agency", "system.purpose", "system.decision", "protected"} <= keys


def test_a_template_file_that_is_not_a_mapping_is_refused(partner):
    """A YAML list is not a template."""
    path = partner("list.yaml", "- a\n- b\n")
    assert "must be a mapping" in _problems(path)[0].message


def test_missing_format_marker_is_required(partner):
    """Each file says auditkit_template: 1."""
    path = partner("nomark.yaml", "extends: base\nabstract: true\n")
    assert "'auditkit_template' is missing" in _one(path, "auditkit_template").message


# --------------------------------------------------------------------------------------------------
# Command line over template: precedence


def test_command_line_options_override_the_template():
    """Given options win; a decision option replaces the template's whole decision group."""
    template = load_template("welfare-fraud-risk").spec_fields()
    defaults = {"protected": (), "decision": None, "positive": None, "score": None, "top": None,
                "references": {}, "level": 0.95, "strata": ()}
    merged = merge_fields(template, {**defaults, "score": "risk_score", "top": 5.0, "level": 0.99},
                          given={"score", "top", "level"})
    assert merged["score"] == "risk_score" and merged["top"] == 5.0 and merged["decision"] is None
    assert merged["positive"] is None and merged["level"] == 0.99
    assert merged["protected"] == ("nationality", "gender") and merged["strata"] == ("household",)
    AuditSpec(**merged)


def test_command_line_protected_and_references_merge_key_by_key():
    """--protected gender keeps only gender's reference; --reference adds to the template's."""
    template = load_template("welfare-fraud-risk").spec_fields()
    merged = merge_fields(template, {"protected": ("gender",), "references": {}}, given={"protected"})
    assert merged["references"] == {"gender": "M"}
    merged = merge_fields(template, {"protected": (), "references": {"gender": "F"}}, given={"references"})
    assert merged["references"] == {"nationality": "Dutch", "gender": "F"}


@pytest.mark.parametrize("band,refused", [
    ({"selection_rate": {"low": 0.9, "high": 1.1}}, None),
    ({"selection_rate": {"low": 0.8, "high": 1.25}}, None),
    ({}, None),
    ({"fpr": {"low": 0.8, "high": 1.25}}, "selection-rate ratios only"),
    ({"selection_rate": {"low": "4/5", "high": 1.25}}, "must be a number"),
    ({"selection_rate": {"low": 1.1, "high": 1.5}}, "must hold a ratio of 1"),
])
def test_a_templates_screening_band_reaches_the_audit_or_is_refused(tmp_path, band, refused):
    """A selection-rate band in the template becomes the audit's screening band; a band auditkit would not
    apply (another metric) or that cannot be one is refused, naming the key and its line."""
    import yaml

    path = tmp_path / "my-band.yaml"
    path.write_text(yaml.safe_dump({"auditkit_template": 1, "name": "my-band", "extends": "welfare-fraud-risk",
                                    "measures": {"screening_bands": band}}), encoding="utf-8")
    if refused:
        with pytest.raises(TemplateFileError, match=rf"my-band\.yaml:\d+: measures\.screening_bands\.\w+.*{refused}"):
            load_template(path)
        return
    want = tuple(band["selection_rate"].values()) if band else (0.8, 1.25)
    spec = AuditSpec(**load_template(path).spec_fields())
    assert spec.screening_band == want
