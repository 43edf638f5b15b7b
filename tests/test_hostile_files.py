"""Hostile files from issue 13 end quickly with a clear error: YAML bombs, expression bombs, format specs.

Each command runs in a subprocess whose timeout (5 s) is the guard against a hang; the assertions are
about the message, never about normal speed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditkit import _yaml
from auditkit._yaml import YamlLimitError, load_yaml

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "datasets" / "welfare" / "decisions.csv"

#: The 1 KB "billion laughs": nine levels of nine aliases, 9**9 strings once expanded.
LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{b}: &{b} [{','.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi")]
) + "\n"


def run(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the auditkit CLI in a fresh interpreter, killed after 5 seconds (a hang fails the test)."""
    import os

    return subprocess.run([sys.executable, "-c", "from auditkit.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=5, env={**os.environ, **(env or {})},
                          cwd=cwd or ROOT)


@pytest.fixture
def laughs_template(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    path = folder / "laughs.yaml"
    path.write_text("auditkit_template: 1\nname: laughs\nextends: base\n" + LAUGHS, encoding="utf-8")
    return path


def test_laughs_is_about_a_kilobyte():
    """The fixture is the small file the issue describes, not a large one."""
    assert len(LAUGHS.encode()) < 1100


def test_load_yaml_refuses_the_billion_laughs_naming_the_line():
    """The loader counts the expanded size on the shared node graph instead of expanding it."""
    with pytest.raises(YamlLimitError) as info:
        load_yaml(LAUGHS)
    assert "aliases may repeat at most 100,000 values" in str(info.value)
    assert "expand 28 written values" in str(info.value)
    assert info.value.line is not None


def test_load_yaml_keeps_small_aliases_and_strict_types():
    """Aliases used the way the shipped instruments use them still read; 'no' and dates stay text."""
    data = load_yaml("opts: &o [a, b]\nq1: *o\nq2: *o\ncountry: NO\nwhen: 2024-01-01\nflag: false\n")
    assert data == {"opts": ["a", "b"], "q1": ["a", "b"], "q2": ["a", "b"], "country": "NO",
                    "when": "2024-01-01", "flag": False}


@pytest.mark.parametrize(("text", "words"), [
    ("x: .inf\n", "not finite"),
    ("x: -.Inf\n", "not finite"),
    ("x: .nan\n", "not finite"),
    ("x: 1.0e+999\n", "not finite"),
    ("x: " + "9" * 5000 + "\n", "at most 100 are read"),
    ("x: " + "[" * 80 + "]" * 80 + "\n", "nests more than 64 levels"),
    ("a: 1\nb: 2\na: 3\n", "appears twice"),
])
def test_load_yaml_refuses_values_that_cannot_be_published(text, words):
    """Non-finite numbers, giant integers, deep nesting and duplicate keys are refused with the line."""
    with pytest.raises(YamlLimitError, match=words):
        load_yaml(text)


def test_load_yaml_refuses_text_over_the_limit(monkeypatch):
    """The character limit is checked before parsing."""
    monkeypatch.setattr(_yaml, "MAX_CHARS", 100)
    with pytest.raises(YamlLimitError, match="at most 100 are read"):
        load_yaml("a: " + "x" * 200)


def test_no_module_reads_yaml_another_way():
    """Every YAML file auditkit reads goes through auditkit._yaml (no yaml.load / safe_load elsewhere)."""
    offenders = []
    for path in (ROOT / "auditkit").rglob("*.py"):
        if path.name == "_yaml.py" and path.parent.name == "auditkit":
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("yaml.load(", "safe_load(", "yaml.compose(", "get_single_node(", "yaml.parse(",
                       "full_load(", "unsafe_load("):
            if needle in text.replace("``yaml.safe_load``", ""):
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert offenders == []


def test_templates_validate_refuses_the_billion_laughs(laughs_template):
    done = run("templates", "validate", str(laughs_template))
    assert done.returncode == 1
    assert "aliases may repeat at most 100,000 values" in done.stdout + done.stderr
    assert "laughs.yaml" in done.stdout + done.stderr


def test_templates_list_shows_the_billion_laughs_as_invalid(laughs_template):
    done = run("templates", "list", env={"AUDITKIT_AUDITS_PATH": str(laughs_template.parents[1])})
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("laughs"))
    assert "INVALID" in line and "aliases" in line


def test_audit_with_the_billion_laughs_template_is_refused(laughs_template):
    done = run("audit", str(DATA), "--template", str(laughs_template))
    assert done.returncode == 1
    assert "Error:" in done.stderr and "aliases may repeat" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("command", ["validate", "score"])
def test_checklist_refuses_a_billion_laughs_answers_file(tmp_path, command):
    answers = tmp_path / "answers.yaml"
    assert run("checklist", "init", "iama", "--out", str(answers)).returncode == 0
    text = answers.read_text(encoding="utf-8")
    answers.write_text(text.replace("answers:\n", "extra:\n" + textwrap.indent(LAUGHS, "  ") + "answers:\n", 1),
                       encoding="utf-8")
    done = run("checklist", command, str(answers))
    assert done.returncode == 1
    assert f"{answers}: line" in done.stderr and "aliases may repeat at most 100,000 values" in done.stderr
    assert "Traceback" not in done.stderr


def test_checklist_refuses_an_infinite_answer(tmp_path):
    """A number YAML reads as infinity never reaches the checklist JSON."""
    answers = tmp_path / "answers.yaml"
    assert run("checklist", "init", "iama", "--out", str(answers)).returncode == 0
    text = answers.read_text(encoding="utf-8").replace("title: null", "title: .inf", 1)
    answers.write_text(text, encoding="utf-8")
    done = run("checklist", "score", str(answers))
    assert done.returncode == 1 and "not finite" in done.stderr and "line" in done.stderr
