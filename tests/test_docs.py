"""Docs stay true: the CLI reference is the real --help, and the README's commands exist."""

from __future__ import annotations

import os
import re
from pathlib import Path

from click.testing import CliRunner

from auditkit.cli import main

ROOT = Path(__file__).parents[1]
REFERENCE = ROOT / "docs" / "cli-reference.md"


def _reference() -> str:
    parts = ["# CLI reference\n", "Generated from `--help`; regenerate with "
             "`AUDITKIT_UPDATE_DOCS=1 python -m pytest tests/test_docs.py`.\n"]
    runner = CliRunner()
    for args in ([], *([name] for name in sorted(main.commands))):
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


def test_readme_example_command_runs(tmp_path):
    """The README's one-command example (after 'pip install .') runs, writes the bundle and report, and verifies."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = re.search(r"pip install \. && auditkit (audit .+)", readme).group(1)
    args = command.split()
    args[1] = str(ROOT / args[1])
    args[args.index("--out") + 1] = str(tmp_path / "bundle")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "difference_detected" in result.output and "Findings:" in result.output
    assert (tmp_path / "bundle" / "report.en.html").exists()
    verified = CliRunner().invoke(main, ["verify", str(tmp_path / "bundle"), "--data", args[1]])
    assert verified.exit_code == 0, verified.output
