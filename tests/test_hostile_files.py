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


#: Seconds of CPU a hostile file may cost, start-up included; the kernel stops the process beyond it.
CPU_SECONDS = 5


def _limit_cpu() -> None:  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 1))


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the auditkit CLI in a fresh interpreter with 5 s of CPU (a hang is killed and fails the test).

    CPU time, not wall time, so that a loaded machine does not fail an honest run; a wall-clock timeout
    stays as the backstop.
    """
    import os

    done = subprocess.run([sys.executable, "-c", "from auditkit.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})},
                          cwd=ROOT, preexec_fn=_limit_cpu if os.name == "posix" else None)
    assert done.returncode >= 0, f"killed by signal {-done.returncode} (over {CPU_SECONDS} s of CPU?)"
    return done


def init_answers(path: Path, instrument: str = "iama") -> Path:
    """An empty assessment, written in-process (only the hostile command needs a guarded subprocess)."""
    from click.testing import CliRunner

    from auditkit.cli import main

    done = CliRunner().invoke(main, ["checklist", "init", instrument, "--out", str(path)])
    assert done.exit_code == 0, done.output
    return path


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
    data = load_yaml("opts: &o [a, b]\nq1: *o\nq2: *o\ncountry: NO\nwhen: 2024-01-01\nflag: false\n"
                     "base: &b {x: 1}\nmerged:\n  <<: *b\n  y: 2\n")
    assert data == {"opts": ["a", "b"], "q1": ["a", "b"], "q2": ["a", "b"], "country": "NO",
                    "when": "2024-01-01", "flag": False, "base": {"x": 1}, "merged": {"x": 1, "y": 2}}


def test_mutated_shipped_files_raise_only_clear_errors():
    """A small fuzz: shipped templates and instruments with random edits give YAML or limit errors, nothing else."""
    import random

    import yaml

    rng = random.Random(13)
    sources = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "audits").rglob("*.yaml"))]
    pieces = ["&a ", "*a", "!!float ", "!!binary ", "!!timestamp x", ".inf", "1e999", "[", "]", "{", "}", "? ",
              ": ", "- ", "\t", "<<: *a\n", "!!set ", "&b [*a,*a]", "'", '"', "|", ">", "\x85", "%YAML 1.1\n---\n"]
    for _ in range(300):
        text = list(rng.choice(sources))
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(text))
            if rng.random() < 0.6:
                text[at:at] = list(rng.choice(pieces))
            else:
                del text[at:at + rng.randint(1, 20)]
        try:
            load_yaml("".join(text))
        except (YamlLimitError, yaml.YAMLError):
            pass


@pytest.mark.parametrize(("text", "words"), [
    ("x: .inf\n", "not finite"),
    ("x: -.Inf\n", "not finite"),
    ("x: .nan\n", "not finite"),
    ("x: 1.0e+999\n", "not finite"),
    ("x: " + "9" * 5000 + "\n", "at most 100 are read"),
    ("x: " + "[" * 80 + "]" * 80 + "\n", "nests more than 64 levels"),
    ("a: 1\nb: 2\na: 3\n", "appears twice"),
    ("a: !!binary aGVsbG8=\n", "the tag !!binary is not accepted"),
    ("a: !!set {x}\n", "the tag !!set is not accepted"),
    ("a: !!timestamp 2020-13-99x\n", "the tag !!timestamp is not accepted"),
    ("a: !!python/object/apply:os.system [ls]\n", "is not accepted"),
    ("? [1, 2]\n: x\n", "cannot be read"),
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
    answers = init_answers(tmp_path / "answers.yaml")
    text = answers.read_text(encoding="utf-8")
    answers.write_text(text.replace("answers:\n", "extra:\n" + textwrap.indent(LAUGHS, "  ") + "answers:\n", 1),
                       encoding="utf-8")
    done = run("checklist", command, str(answers))
    assert done.returncode == 1
    assert f"{answers}: line" in done.stderr and "aliases may repeat at most 100,000 values" in done.stderr
    assert "Traceback" not in done.stderr


def test_checklist_refuses_an_infinite_answer(tmp_path):
    """A number YAML reads as infinity never reaches the checklist JSON."""
    answers = init_answers(tmp_path / "answers.yaml")
    text = answers.read_text(encoding="utf-8").replace("title: null", "title: .inf", 1)
    answers.write_text(text, encoding="utf-8")
    done = run("checklist", "score", str(answers))
    assert done.returncode == 1 and "not finite" in done.stderr and "line" in done.stderr


# ------------------------------------------------------------------ expressions

NESTED = "count(L, count(L, count(L, count(L, true)))) > 0"


def test_nested_loops_over_300_items_run_out_of_steps_naming_the_expression():
    """300**4 steps would take hours; the budget stops them after about a second."""
    from auditkit.expr import ExpressionBudgetError, evaluate

    with pytest.raises(ExpressionBudgetError) as info:
        evaluate(NESTED, {"L": list(range(300))})
    assert repr(NESTED) in str(info.value) and "evaluation steps" in str(info.value)


def test_one_loop_over_a_long_list_stays_within_the_budget():
    """An honest condition over many elements earns its steps: the budget grows with the outer list."""
    from auditkit.expr import MAX_STEPS, evaluate

    n = MAX_STEPS // 2
    assert evaluate("count(L, item >= 0 and item < 10) == 10", {"L": list(range(n))}) is True


def test_a_shared_budget_stops_a_rule_checked_against_many_records():
    """A finding rule's budget covers all its records, so a per-record bomb cannot multiply."""
    from auditkit.expr import ExpressionBudgetError
    from auditkit.findings import build_findings

    comparisons = [{"attribute": "a", "group": f"g{i}", "reference": "r", "metric": "selection_rate",
                    "status": "difference_detected", "ratio_ci": list(range(60))} for i in range(300)]
    rule = {"id": "bomb", "severity": "high", "when": "count(ratio_ci, count(ratio_ci, count(ratio_ci, true))) > 0",
            "statement": {"en": "x", "nl": "x"}}
    with pytest.raises(ExpressionBudgetError, match="Finding rule 'bomb'"):
        build_findings({"comparisons": comparisons}, [rule])


def _instrument_with(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (ROOT / "audits" / "instruments" / f"{name}.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / f"hostile-{name}.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_checklist_score_stops_a_nested_binding(tmp_path):
    """The binding from the issue, over 300 comparisons: a clear error naming item, binding and expression."""
    import json

    when = "count(comparisons, count(comparisons, count(comparisons, count(comparisons, true)))) > 0"
    instrument = _instrument_with(tmp_path, "iama", "when: \"model_card.readable == 'rules'\"", f'when: "{when}"')
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"comparisons": [{"metric": "selection_rate"}] * 300}), encoding="utf-8")
    answers = init_answers(tmp_path / "answers.yaml")
    done = run("checklist", "score", str(answers), "--instrument", str(instrument), "--results", str(results))
    assert done.returncode == 1, done.stdout
    assert "binding 'card_rules'" in done.stderr and when in done.stderr and "evaluation steps" in done.stderr


def test_a_binding_cannot_write_infinity_into_the_checklist_json(tmp_path):
    """'1e308 * 10' is refused as too large, so the binding is reported unavailable, never Infinity."""
    import json

    instrument = _instrument_with(tmp_path, "risk_profiling", 'value: "model_card.n_inputs"', 'value: "1e308 * 10"')
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"model_card": {"n_inputs": 3, "readable": "rules", "inputs": []},
                                   "comparisons": []}), encoding="utf-8")
    answers = init_answers(tmp_path / "answers.yaml", "risk_profiling")
    out = tmp_path / "score.json"
    done = run("checklist", "score", str(answers), "--instrument", str(instrument), "--results", str(results),
               "--json", str(out))
    assert done.returncode in (0, 3), done.stderr
    text = out.read_text(encoding="utf-8")
    assert "Infinity" not in text and "NaN" not in text
    json.loads(text, parse_constant=lambda word: pytest.fail(f"{word} in the checklist JSON"))
    assert "too large" in text


def test_results_with_infinity_are_refused(tmp_path):
    """A results file that is not strict JSON cannot feed evidence into a checklist."""
    results = tmp_path / "results.json"
    results.write_text('{"comparisons": [], "x": Infinity}', encoding="utf-8")
    answers = init_answers(tmp_path / "answers.yaml")
    done = run("checklist", "score", str(answers), "--results", str(results))
    assert done.returncode == 1 and "'Infinity' is not a JSON number" in done.stderr


def test_every_json_writer_refuses_or_nulls_non_finite_numbers():
    """json_text writes NaN and infinities as null and never emits the non-JSON words."""
    import json

    from auditkit._json import json_text
    from auditkit.bundle import _dump
    from auditkit.results import to_json

    numpy = pytest.importorskip("numpy")
    value = {"a": float("inf"), "b": [float("-inf"), numpy.float64("nan")], "c": (1.5, numpy.int64(2))}
    for text in (json_text(value), _dump(value), to_json(value)):
        assert json.loads(text) == {"a": None, "b": [None, None], "c": [1.5, 2]}


def test_no_json_writer_bypasses_the_strict_one():
    """json.dumps in package code only for short display strings or with allow_nan=False."""
    offenders = []
    for path in (ROOT / "auditkit").rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "json.dump(" in line or ("json.dumps(" in line and "indent=" in line and "allow_nan=False" not in line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert offenders == []


# ------------------------------------------------------------------ format specs

WIDE = """auditkit_template: 1
name: wide
extends: welfare-fraud-risk
findings:
  - id: wide
    severity: high
    when: "ratio < 2"
    statement:
      en: "Group {SPEC} x"
      nl: "Groep {group} x"
"""


@pytest.mark.parametrize(("spec", "words"), [
    ("{group:>1000000000}", "at most 80 are allowed"),
    ("{group:>81}", "at most 80 are allowed"),
    ("{group:.99999}", "at most 80 are allowed"),
    ("{group:,}", "may only be aligned and padded"),
    ("{group:{ratio}}", "may only be aligned and padded"),
    ("{group!r}", "converts its value"),
])
def test_templates_validate_refuses_format_specs_beyond_padding(tmp_path, spec, words):
    path = tmp_path / "wide.yaml"
    path.write_text(WIDE.replace("{SPEC}", spec), encoding="utf-8")
    done = run("templates", "validate", str(path))
    assert done.returncode == 1
    assert "findings[0].statement.en" in done.stderr and words in done.stderr


def test_audit_with_a_gigabyte_width_is_refused_not_a_memory_error(tmp_path):
    path = tmp_path / "wide.yaml"
    path.write_text(WIDE.replace("{SPEC}", "{group:>1000000000}"), encoding="utf-8")
    done = run("audit", str(DATA), "--template", str(path))
    assert done.returncode == 1 and "at most 80 are allowed" in done.stderr and "MemoryError" not in done.stderr


def test_padding_within_the_cap_still_formats():
    """A modest width is what a statement may need; it is applied."""
    from auditkit.findings import _format

    assert _format("[{group:>6}]", {"group": "ab"}, "r") == "[    ab]"


@pytest.mark.parametrize("text", ["{group:>1000000000}", "{group!s}", "{}", "{group", "{0}"])
def test_findings_refuse_bad_placeholders_at_use(text):
    """build_findings (the library path, without templates validate) refuses them with the rule's id."""
    from auditkit.exceptions import TemplateError
    from auditkit.findings import _format

    with pytest.raises(TemplateError, match="Finding rule 'r'"):
        _format(text, {"group": "ab"}, "r")


# ------------------------------------------------------------------ bootstrap

def test_bootstrap_beyond_the_cap_is_refused_at_once():
    """--bootstrap 100000000 stops before any work, stating the maximum."""
    done = run("audit", str(DATA), "--protected", "nationality", "--decision", "selected", "--positive", "Ja",
               "--bootstrap", "100000000")
    assert done.returncode == 2
    assert "--bootstrap is at most 100,000 replicates; got 100,000,000" in done.stderr


def test_bootstrap_values_are_bounded_by_groups_times_replicates():
    """Within the replicate cap, a table with many groups is refused when the values would not fit."""
    from auditkit.measure.bootstrap import MAX_REPLICATES, check_replicates

    check_replicates(MAX_REPLICATES, 100)
    with pytest.raises(ValueError, match="use at most 20,000 replicates"):
        check_replicates(MAX_REPLICATES, 10_000)


def test_a_large_bootstrap_shows_progress_and_keeps_its_results(tmp_path):
    """From 10,000 replicates the CLI prints progress to stderr; the JSON is what it is without it."""
    import json

    from click.testing import CliRunner

    from auditkit.cli import main

    args = ["audit", str(DATA), "--protected", "nationality", "--decision", "selected", "--positive", "Ja",
            "--quiet", "--bootstrap", "10000"]
    loud = CliRunner().invoke(main, [*args, "--json", str(tmp_path / "a.json")])
    assert loud.exit_code == 0, loud.output
    assert "bootstrap: 10,000 of 10,000 replicates (100%)" in loud.stderr
    quiet = CliRunner().invoke(main, [*args[:-1], "9999", "--json", str(tmp_path / "b.json")])
    assert quiet.exit_code == 0 and "bootstrap:" not in quiet.stderr
    assert json.loads((tmp_path / "a.json").read_text())["bootstrap"]["replicates"] == 10_000


@pytest.mark.parametrize(("old", "new", "words"), [
    ('  percent: "{}%"', '  percent: "{:>1000000000}%"', "at most 80 are allowed"),
    ('  percent: "{}%"', '  percent: "{%"', "unmatched brace"),
])
def test_a_report_catalog_with_a_giant_placeholder_is_refused(tmp_path, monkeypatch, old, new, words):
    """Catalogs on AUDITKIT_LOCALES_PATH are someone's file too: checked when loaded, naming file and key."""
    from auditkit.locale import LocaleError, load_locale

    text = (ROOT / "auditkit" / "locale" / "messages" / "en.yaml").read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "xx.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    monkeypatch.setenv("AUDITKIT_LOCALES_PATH", str(tmp_path))
    with pytest.raises(LocaleError, match=words) as info:
        load_locale("xx")
    assert "xx.yaml" in str(info.value) and "meta.percent" in str(info.value)
