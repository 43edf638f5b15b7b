"""Template labels in every human text: findings name groups and attributes by the template's labels in each
language, while ids and evidence paths keep the codes (auditkit.locale.label)."""

from __future__ import annotations

import json

import pytest

import auditkit
from auditkit.locale import label
from conftest import run_cli

RESULTS = {
    "template": {"protected": {
        "nationality": {"label": {"en": "Nationality", "nl": "Nationaliteit"},
                        "group_labels": {"non-EU": {"en": "non-EU", "nl": "niet-EU"}, "Dutch": {"nl": "Nederlands"}}},
        "gender": {"label": "Gender"}}},
    "attributes": [{"attribute": "nationality", "attributes": ["nationality"]},
                   {"attribute": "nationality × gender", "attributes": ["nationality", "gender"]}],
}


@pytest.mark.parametrize(("attribute", "group", "lang", "expected"), [
    ("nationality", None, "nl", "Nationaliteit"),
    ("nationality", None, "en", "Nationality"),
    ("nationality", None, "pt", "Nationality"),  # no Portuguese label: the English one
    ("nationality", "non-EU", "nl", "niet-EU"),
    ("nationality", "Dutch", "en", "Nederlands"),  # the only label there is
    ("nationality", "EU", "nl", "EU"),  # no label: the code
    ("gender", None, "nl", "Gender"),  # one text for every language
    ("gender", "F", "nl", "F"),
    ("nationality × gender", None, "nl", "Nationaliteit × Gender"),
    ("nationality × gender", "non-EU × F", "nl", "niet-EU × F"),
    ("nationality × gender", "odd", "nl", "odd"),  # not a group of the intersection: as it is
    ("age", None, "nl", "age"),  # not in the template
])
def test_label(attribute, group, lang, expected):
    """Labels per language, English then the code as fallbacks, intersections joined part by part."""
    assert label(RESULTS, attribute, group, lang=lang) == expected


def test_label_without_a_template_is_the_code():
    """Results without a template record (a bare audit) print the codes."""
    assert label({}, "nationality", "non-EU", lang="nl") == "non-EU"
    assert label({"template": None, "attributes": None}, "x", lang="nl") == "x"


@pytest.fixture(scope="module")
def welfare(tmp_path_factory):
    out = tmp_path_factory.mktemp("labels") / "welfare"
    assert run_cli("audit", "--example", "welfare", "--out", str(out), "--quiet").exit_code == 0
    return out


def test_findings_use_the_templates_labels_and_keep_the_codes(welfare):
    """The README's main finding reads 'niet-EU (Nationaliteit)' in Dutch, 'non-EU (Nationality)' in English;
    its id and evidence path are the ones the codes give, and verify re-derives the same findings."""
    findings = json.loads((welfare / "findings.json").read_text(encoding="utf-8"))
    findings = findings.get("findings", findings) if isinstance(findings, dict) else findings
    main = next(f for f in findings if f["id"] == "F-954ba422")
    assert main["statement"]["nl"].startswith("Mensen in groep niet-EU (Nationaliteit) werden 1,88 keer zo vaak "
                                              "geselecteerd als mensen in groep Nederlands:")
    assert main["statement"]["en"].startswith("People in group non-EU (Nationality) were selected 1.88 times")
    assert main["evidence"] == ["comparisons/nationality/non-EU/selection_rate"]
    women = [f for f in findings if f["statement"]["nl"].startswith("Mensen in groep niet-EU × vrouwen "
                                                                     "(Nationaliteit × Geslacht)")]
    assert len(women) == 1
    random = [f for f in findings if f["rule"] == "MODEL-NOT-BETTER"]
    assert random and all("(Nationaliteit)" in f["statement"]["nl"] or "(Geslacht)" in f["statement"]["nl"]
                          for f in random)
    assert run_cli("verify", str(welfare)).exit_code == 0


def test_notebook_findings_use_the_labels():
    """auditkit.findings(result, template) labels like a bundle does, although the result has no template."""
    from pathlib import Path

    from auditkit.templates import load_template

    template = load_template("welfare-fraud-risk")
    data = Path(__file__).parents[1] / "datasets" / "welfare" / "decisions.csv"
    result = auditkit.audit(data, **template.spec_fields())
    found = {f["id"]: f for f in auditkit.findings(result, template)}
    assert "niet-EU (Nationaliteit)" in found["F-954ba422"]["statement"]["nl"]


#: Each shipped template with a shipped data file, and the column of each protected attribute.
SHIPPED = [("welfare-fraud-risk", "datasets/welfare/decisions.csv"),
           ("benefit-fraud-nationality", "datasets/childcare-benefit/applications.csv"),
           ("police-stops", "datasets/police-stops/stops.csv"),
           ("recidivism-risk", "datasets/recidivism/scores.csv"),
           ("student-finance-control", "datasets/student-finance/process.csv")]


@pytest.mark.parametrize(("name", "data"), SHIPPED)
def test_shipped_templates_label_every_group_and_cite_in_english_and_dutch(name, data):
    """Every protected attribute, every value of it in the shipped data, and every provision the template cites
    has its own English and Dutch text: a Dutch report of a shipped audit prints no code and no English citation."""
    import csv
    from pathlib import Path

    from auditkit.templates import load_template

    template = load_template(name)
    record = template.record()
    path = Path(__file__).parents[1] / data
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for attr, entry in record["protected"].items():
        assert {"en", "nl"} <= set(entry["label"]), attr
        values = {r[entry["column"]] for r in rows if r.get(entry["column"])}
        assert values, (name, attr)
        for value in values:
            labels = (entry.get("group_labels") or {}).get(value) or {}
            assert labels.get("en") and labels.get("nl"), (name, attr, value)
    for pid, provision in record["provisions"].items():
        citation = provision.get("citation")
        assert isinstance(citation, dict) and citation.get("en") and citation.get("nl"), (name, pid)


@pytest.mark.parametrize("attributes", [[{"attribute": "x", "attributes": 5}], 7, "xy",
                                        [{"attribute": "x", "attributes": ["a", None]}], [None, 3]])
@pytest.mark.parametrize("protected", [{"nationality": 5}, {"nationality": {"label": [1], "group_labels": 7}},
                                       {"nationality": {"group_labels": {"MA": [1, 2]}}}, [1], None])
def test_label_of_a_crafted_results_document_never_raises(attributes, protected):
    """A bundle's results.json is input like any other: wrong types give the code (or the text), never an error."""
    results = {"template": {"protected": protected}, "attributes": attributes}
    assert isinstance(label(results, "nationality", "MA", lang="nl"), str)
    assert isinstance(label(results, "nationality", lang="nl"), str)
    assert label(results, "x", "a", lang="nl") == "a"
