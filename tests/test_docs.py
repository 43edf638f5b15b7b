"""Docs stay true: the CLI reference is the real --help, and the README's commands exist."""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
from pathlib import Path

import click
from click.testing import CliRunner, Result

from auditkit.cli import main

ROOT = Path(__file__).parents[1]
REFERENCE = ROOT / "docs" / "cli-reference.md"


def _reference() -> str:
    parts = ["# CLI reference\n", "Generated from `--help`; regenerate with "
             "`AUDITKIT_UPDATE_DOCS=1 python -m pytest tests/test_docs.py`.\n"]
    runner = CliRunner()
    names = main.list_commands(click.Context(main))  # lazy command groups included
    for args in ([], *([name] for name in names)):
        text = runner.invoke(main, [*args, "--help"], terminal_width=100, prog_name="auditkit").output
        parts.append(f"## `{' '.join(['auditkit', *args])}`\n\n```text\n{text.rstrip()}\n```\n")
    return "\n".join(parts)


def test_cli_reference_matches_help():
    """docs/cli-reference.md is exactly the current --help output of every command."""
    expected = _reference()
    if os.environ.get("AUDITKIT_UPDATE_DOCS"):
        REFERENCE.write_text(expected, encoding="utf-8")
    assert REFERENCE.read_text(encoding="utf-8") == expected, (
        "docs/cli-reference.md is out of date: AUDITKIT_UPDATE_DOCS=1 python -m pytest tests/test_docs.py")


def _readme_commands() -> list[str]:
    """The commands of the README's 'Run it on the bundled example' section, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Run it on the bundled example", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def _run_documented(command: str, pip: str) -> Result:
    """Run the auditkit part of 'PIP && auditkit ...' in the current directory, after checking the pip part."""
    install, _, run = command.partition(" && ")
    assert install == pip, command
    args = shlex.split(run)
    assert args[0] == "auditkit", command
    result = CliRunner().invoke(main, args[1:])
    assert result.exit_code == 0, result.output
    return result


def _verify_as_printed(result: Result) -> None:
    """The 'check the bundle' command the run printed passes: hashes intact, every figure re-run the same."""
    verify = re.search(r"check the bundle: +auditkit (verify .+)", result.output).group(1)
    verified = CliRunner().invoke(main, shlex.split(verify))
    assert verified.exit_code == 0, verified.output
    assert "every figure is the same" in verified.output


def test_readme_first_command_assesses_the_example(tmp_path, monkeypatch):
    """The README's one command (after its pip part, whose extra exists) assesses the bundled model and data
    into the folder it names, with the HTML report, and the verify command it prints passes."""
    first = _readme_commands()[0]
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert "skops" in cfg["options.extras_require"]["example"]
    monkeypatch.chdir(tmp_path)
    result = _run_documented(first, "pip install '.[example]'")
    assert "difference_detected" in result.output and "Findings:" in result.output
    assert "are in welfare-assess/" in result.output
    bundle = tmp_path / "welfare-assess"
    assert (bundle / "report.en.html").exists()
    results = json.loads((bundle / "results.json").read_text(encoding="utf-8"))
    assert results["explanations"]["shap"]["overall"] and results["model_card"]["readable"] == "weights"
    assert [i["role"] for i in json.loads((bundle / "manifest.json").read_text())["inputs"]][:2] == ["data", "model"]
    _verify_as_printed(result)


def test_readme_decisions_command_audits_the_example(tmp_path, monkeypatch):
    """The README's decisions-only command (after 'pip install .') writes its bundle and report, and verifies."""
    monkeypatch.chdir(tmp_path)
    result = _run_documented(_readme_commands()[1], "pip install .")
    assert "difference_detected" in result.output and "Findings:" in result.output
    assert (tmp_path / "welfare-audit" / "report.en.html").exists()
    _verify_as_printed(result)


def test_readme_test_command_is_unchanged():
    """The README's test command stays the one the contributors' guide names."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install -e '.[test]' && python -m pytest" in readme
