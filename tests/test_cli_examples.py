"""`--example NAME` on `auditkit audit` and `auditkit assess`: the bundled example, and what it refuses.

The full runs of the README's commands are in tests/test_docs.py; here the
folder the example names, its combination with other options, and its
messages.
"""

from __future__ import annotations

import importlib.util
import json

import pytest
from conftest import assert_user_error, run_cli

from auditkit.cli_examples import EXAMPLES
from auditkit.datasets.registry import example_path


def test_audit_example_writes_into_out_and_says_what_next(tmp_path):
    """--example with --out writes the bundle there, records the example's files, and prints the next steps."""
    out = tmp_path / "demo"
    result = run_cli("audit", "--example", "welfare", "--out", out)
    assert result.exit_code == 0, result.output
    assert f"are in {out}/" in result.output and f"open the report:     {out / 'report.en.html'}" in result.output
    assert f"--data {example_path('welfare')}" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == f"auditkit audit --example welfare --out {out}"
    assert [(i["role"], i["name"]) for i in manifest["inputs"]][0] == ("data", "decisions.csv")
    assert manifest["run"]["spec"]["protected"] == ["nationality", "gender"]  # the example's template
    assert (out / "report.en.html").is_file()


def test_options_given_with_the_example_override_its_template(tmp_path, monkeypatch):
    """--example sets the template's values; options on the command line still win, --quiet prints nothing."""
    monkeypatch.chdir(tmp_path)
    result = run_cli("audit", "--example", "welfare", "--protected", "gender", "--json", "r.json", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.output == ""
    results = json.loads((tmp_path / "r.json").read_text())
    assert {a["attributes"][0] for a in results["attributes"]} == {"gender"}
    assert (tmp_path / "welfare-audit" / "manifest.json").is_file()


@pytest.mark.parametrize("command", ["audit", "assess"])
def test_unknown_example_lists_the_known_ones(command):
    """A misspelt name exits 2 with 'Did you mean' and the list of examples."""
    result = run_cli(command, "--example", "welfre")
    assert_user_error(result, 2, "Unknown example 'welfre'", "Did you mean 'welfare'?",
                      f"Examples: {', '.join(sorted(EXAMPLES))}.")


@pytest.mark.parametrize(("args", "named"), [
    (("audit", "decisions.csv", "--example", "welfare"), "drop DATA"),
    (("assess", "model.skops", "--example", "welfare"), "drop MODEL"),
    (("assess", "--example", "welfare", "--data", "decisions.csv"), "drop --data"),
    (("assess", "model.skops", "--data", "d.csv", "--example", "welfare"), "drop MODEL and --data"),
])
def test_example_with_own_files_is_a_usage_error(args, named):
    """--example brings its own files: a DATA or MODEL argument or --data with it exits 2, naming them."""
    assert_user_error(run_cli(*args), 2, "runs on the example's own files", named)


@pytest.mark.parametrize(("args", "missing"), [
    (("audit",), "Missing argument 'DATA'"),
    (("assess", "--data", "d.csv", "--top", "10"), "Missing argument 'MODEL'"),
    (("assess", "model.skops", "--top", "10"), "Missing option '--data'"),
])
def test_without_example_the_files_are_required(args, missing):
    """Without --example the inputs stay required, and the message points to the example."""
    assert_user_error(run_cli(*args), 2, missing, f"auditkit {args[0]} --example welfare")


def test_assess_example_names_the_extra_to_install(monkeypatch):
    """Without skops (or scikit-learn, or shap) assess --example exits 1 saying what to pip install."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "skops" else real(name, *a))
    result = run_cli("assess", "--example", "welfare")
    assert_user_error(result, 1, "skops is not installed", "pip install 'auditkit[example]'",
                      "pip install '.[example]'", "auditkit audit --example welfare")


def test_default_folder_that_is_not_a_bundle_is_left_alone(tmp_path, monkeypatch):
    """The example does not write into an existing ./welfare-audit that holds other files."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "welfare-audit").mkdir()
    (tmp_path / "welfare-audit" / "notes.txt").write_text("mine")
    assert_user_error(run_cli("audit", "--example", "welfare"), 2, "welfare-audit/ exists", "--out DIR")
    assert sorted(p.name for p in (tmp_path / "welfare-audit").iterdir()) == ["notes.txt"]


def test_assess_example_on_an_out_of_core_engine(tmp_path):
    """The example runs on every engine; DuckDB gives the in-memory figures (see test_assess_engines)."""
    pytest.importorskip("duckdb")
    out = tmp_path / "duck"
    result = run_cli("assess", "--example", "welfare", "--engine", "duckdb", "--no-explain", "--out", out,
                     "--quiet", "--no-report")
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert results["engine"] == "duckdb" and results["scoring"]["rows_scored"] == 6000
    assert json.loads((out / "manifest.json").read_text())["run"]["engine"] == "duckdb"
