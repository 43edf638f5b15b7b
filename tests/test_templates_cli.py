"""The templates command group, and --template on audit-like commands: CLI over the templates API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from auditkit.cli import audit_options, fields_from_options
from auditkit.cli_templates import apply_template, assess_options_with_template, template_option, templates
from auditkit.datasets import generate
from auditkit.templates import load_template

ROOT = Path(__file__).parents[1]


def _run(*args: object):
    return CliRunner().invoke(templates, [str(a) for a in args], prog_name="auditkit templates")


def test_list_shows_every_template_and_the_search_path():
    """templates list names each template, marks base abstract, and prints the search path."""
    result = _run("list")
    assert result.exit_code == 0, result.output
    assert re.search(r"^base\s+abstract", result.output, re.M)
    assert "welfare-fraud-risk" in result.output and "(extends base)" in result.output
    assert str(ROOT / "audits" / "templates") in result.output


def test_show_prints_the_merged_template_and_raw_prints_the_file():
    """show merges base in (its provisions appear); --raw prints the file as written."""
    merged = _run("show", "police-stops")
    assert merged.exit_code == 0 and "awgb-1:" in merged.output and "digest" in merged.output
    raw = _run("show", "police-stops", "--raw")
    assert raw.output == (ROOT / "audits" / "templates" / "police-stops.yaml").read_text(encoding="utf-8")


def test_show_unknown_template_suggests_one():
    """show welfare exits 1 with Did you mean."""
    result = _run("show", "welfare")
    assert result.exit_code == 1 and "Did you mean 'welfare-fraud-risk'?" in result.output


def test_new_writes_a_template_that_extends_the_base(tmp_path):
    """templates new writes a valid file extending BASE, with the adaptable parts as comments."""
    path = tmp_path / "be-cpas.yaml"
    result = _run("new", path, "--from", "welfare-fraud-risk")
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8")
    assert "extends: welfare-fraud-risk" in text and "# protected:" in text and "null deletes" in text
    template = load_template(path)
    assert template.name == "be-cpas" and template.spec_fields() == load_template("welfare-fraud-risk").spec_fields()
    again = _run("new", path, "--from", "welfare-fraud-risk")
    assert again.exit_code == 2 and "--force" in again.output
    assert _run("new", path, "--from", "police-stops", "--force").exit_code == 0


def test_new_from_a_file_uses_a_relative_path(tmp_path):
    """--from FILE next to the new file gives 'extends: FILE'; a file elsewhere is refused."""
    first = tmp_path / "national.yaml"
    assert _run("new", first, "--from", "recidivism-risk").exit_code == 0
    second = tmp_path / "county.yaml"
    result = _run("new", second, "--from", str(first))
    assert result.exit_code == 0, result.output
    assert "extends: national.yaml" in second.read_text(encoding="utf-8")
    assert [p.name for p, _ in load_template(second).files][:2] == ["county.yaml", "national.yaml"]
    elsewhere = tmp_path / "sub" / "x.yaml"
    refused = _run("new", tmp_path / "other" / "y.yaml", "--from", str(first))
    assert refused.exit_code == 2 and "inside its own folder" in refused.output
    assert not elsewhere.exists()


@pytest.mark.parametrize("name", ["my audit.yaml", "audit.txt"])
def test_new_refuses_bad_file_names(tmp_path, name):
    """The name comes from the file name, which must end in .yaml and use safe characters."""
    result = _run("new", tmp_path / name, "--from", "base")
    assert result.exit_code == 2 and "Error:" in result.output


def test_validate_all_shipped_templates():
    """validate with no argument checks every template on the search path and exits 0."""
    result = _run("validate")
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (") >= 6


def test_validate_reports_every_problem_and_exits_1(tmp_path):
    """A broken file: exit 1, one line per problem with file:line, key path and suggestion."""
    path = tmp_path / "broken.yaml"
    path.write_text("auditkit_template: 1\nextends: welfare-fraud-risk\nmeasures:\n  levl: 0.9\n"
                    "report: {language: nl, suppress_belw: 5}\n", encoding="utf-8")
    result = _run("validate", path)
    assert result.exit_code == 1
    assert "broken.yaml: 2 problem(s)" in result.output
    assert "broken.yaml:4: measures.levl: unknown key 'levl'. Did you mean 'level'?" in result.output
    assert "broken.yaml:5: report.suppress_belw" in result.output and "Did you mean 'suppress_below'?" in result.output


def test_validate_reports_yaml_errors_without_traceback(tmp_path):
    """Broken YAML is a problem line, not a crash."""
    path = tmp_path / "bad.yaml"
    path.write_text("auditkit_template: 1\nextends: [base\n", encoding="utf-8")
    result = _run("validate", path)
    assert result.exit_code == 1 and "not valid YAML" in result.output and "Traceback" not in result.output


def test_the_documented_partner_example_validates(tmp_path):
    """The complete example in docs/templates.md is a valid template."""
    text = (ROOT / "docs" / "templates.md").read_text(encoding="utf-8")
    example = re.search(r"```yaml\n(auditkit_template: 1\nname: be-cpas.*?)```", text, re.S).group(1)
    path = tmp_path / "be-cpas.yaml"
    path.write_text(example, encoding="utf-8")
    template = load_template(path)
    assert template.spec_fields()["protected"] == ("nationalite",)
    assert template.spec_fields()["references"] == {"nationalite": "Belge"}
    assert set(template.protected[0].grounds) == {"EU", "CoE", "UN", "BE"}


# --------------------------------------------------------------------------------------------------
# --template with the real audit options: command line over template over defaults


@click.command()
@audit_options
@template_option
def _audit_like(**o):
    """The audit command's options with --template; prints the AuditSpec fields it would run."""
    fields, template = apply_template(click.get_current_context(), fields_from_options(o))
    click.echo(json.dumps({"fields": {k: fields[k] for k in ("protected", "references", "decision", "score", "top",
                                                              "level", "min_group_size", "strata")},
                           "template": template.name if template else None}, default=list))


def _fields(*args: str) -> dict:
    result = CliRunner().invoke(_audit_like, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_template_values_fill_what_the_command_line_leaves_out():
    """Only --protected given: the template supplies decision, references, strata and statistics."""
    out = _fields("--protected", "nationality", "--template", "welfare-fraud-risk")
    f = out["fields"]
    assert out["template"] == "welfare-fraud-risk"
    assert f["decision"] == "selected" and f["strata"] == ["household"] and f["references"] == {"nationality": "Dutch"}


def test_command_line_options_win_over_the_template():
    """--level, --min-group-size, --reference and --score/--top override the template's values."""
    f = _fields("--protected", "nationality", "--protected", "gender", "--template", "welfare-fraud-risk",
                "--level", "0.99", "--min-group-size", "50", "--reference", "gender=F",
                "--score", "risk_score", "--top", "5")["fields"]
    assert f["level"] == 0.99 and f["min_group_size"] == 50
    assert f["references"] == {"nationality": "Dutch", "gender": "F"}
    assert f["score"] == "risk_score" and f["top"] == 5.0 and f["decision"] is None


def test_without_template_nothing_changes():
    """No --template: the options' own values, defaults included."""
    out = _fields("--protected", "g", "--decision", "d")
    assert out["template"] is None and out["fields"]["level"] == 0.95 and out["fields"]["references"] == {}


def test_template_runs_an_audit_from_the_command_line_options(tmp_path):
    """The merged fields make a valid audit of the template's generated data."""
    import auditkit
    from auditkit.spec import AuditSpec

    data = generate("police-stops", 2000, 1)
    csv = tmp_path / "stops.csv"
    data.frame.to_csv(csv, index=False)
    ctx_fields = _fields("--protected", "officer_defined_ethnicity", "--template", "police-stops")["fields"]
    assert ctx_fields["references"] == {"officer_defined_ethnicity": "White"}
    spec = AuditSpec(**load_template("police-stops").spec_fields())
    assert auditkit.audit(csv, spec).comparisons


def test_model_decision_replaces_the_template_rule():
    """assess --model-decision drops the template's top-k rule instead of clashing with it."""
    @click.command()
    @click.option("--top", type=float)
    @click.option("--model-decision", is_flag=True)
    @template_option
    def cmd(top, model_decision, template):
        fields, _ = apply_template(click.get_current_context(), {"protected": (), "top": top}, for_model=True)
        click.echo(repr(fields["top"]))

    runner = CliRunner()
    assert runner.invoke(cmd, ["--template", "welfare-fraud-risk"]).output.strip() == "10.0"
    assert runner.invoke(cmd, ["--template", "welfare-fraud-risk", "--model-decision"]).output.strip() == "None"


def test_assess_options_take_the_template_explain_settings():
    """explain.flip fills --flip when the command line gives none; a given --flip wins."""
    @click.command()
    @click.option("--flip", multiple=True)
    @template_option
    def cmd(flip, template):
        ctx = click.get_current_context()
        options = assess_options_with_template(ctx, {"flip": tuple(flip)}, load_template(template))
        click.echo(",".join(options["flip"]))

    runner = CliRunner()
    assert runner.invoke(cmd, ["--template", "welfare-fraud-risk"]).output.strip() == \
        "dutch_language_requirement_met,lives_in_zuid_oost"
    assert runner.invoke(cmd, ["--template", "welfare-fraud-risk", "--flip", "age"]).output.strip() == "age"
