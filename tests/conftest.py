"""Shared helpers for the input, CLI and trap tests: small files in tmp_path and a CLI runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import importlib

import auditkit
from auditkit.cli import main

# auditkit.audit is also the name of the function; the modules are taken by their full names.
_AUDIT, _ASSESS, _RESULTS, _JSON = (importlib.import_module(f"auditkit.{m}")
                                   for m in ("audit", "assess", "results", "_json"))

_SCHEMA = Path(auditkit.__file__).parent / "schemas" / "results.schema.json"


def _results_validator():  # type: ignore[no-untyped-def]
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(_SCHEMA.read_text(encoding="utf-8")))


_VALIDATOR = _results_validator()


def check_results(results: dict) -> None:
    """Fail the test if ``results`` (a results document) does not validate against the shipped schema."""
    doc = json.loads(_RESULTS.to_json(results)) if not isinstance(results, str) else json.loads(results)
    errors = sorted(_VALIDATOR.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "results do not match auditkit/schemas/results.schema.json:\n" + "\n".join(
        f"  {e.json_path}: {e.message[:300]}" for e in errors[:10])


@pytest.fixture(autouse=True)
def _every_results_document_matches_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every results document a test produces (each AuditResult built, each one serialised) is validated."""
    real_result, real_clean = _AUDIT.AuditResult, _JSON.finite

    def checked_result(counts, results):  # type: ignore[no-untyped-def]
        check_results(results)
        return real_result(counts, results)

    def checked_clean(value):  # type: ignore[no-untyped-def]
        out = real_clean(value)
        # A results document auditkit made (hand-built partial documents in report tests are not).
        if isinstance(value, dict) and {"schema_version", "auditkit_version", "engine", "comparisons"} <= set(value):
            errors = list(_VALIDATOR.iter_errors(out))
            assert not errors, "serialised results do not match the schema: " + "; ".join(
                f"{e.json_path}: {e.message[:200]}" for e in errors[:10])
        return out

    monkeypatch.setattr(_AUDIT, "AuditResult", checked_result)
    monkeypatch.setattr(_ASSESS, "AuditResult", checked_result)
    monkeypatch.setattr(_JSON, "finite", checked_clean)  # every JSON writer goes through it


def write_text(path: Path, text: str, encoding: str = "utf-8", newline: str = "\n") -> Path:
    """Write ``text`` to ``path`` byte-exactly: ``newline`` replaces each '\\n'."""
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


def run_cli(*args: object) -> Result:
    """Invoke ``auditkit`` with ``args`` (paths are turned into text) and return click's result."""
    return CliRunner().invoke(main, [str(a) for a in args], prog_name="auditkit")


def assert_no_traceback(result: Result) -> None:
    """The run ended through a normal exit, not an unhandled exception."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


def assert_user_error(result: Result, code: int, *fragments: str) -> str:
    """A user mistake: exit ``code``, no traceback, and every fragment in the message (case-insensitive)."""
    assert_no_traceback(result)
    assert result.exit_code == code, result.output
    message = result.stderr if result.stderr else result.output
    for fragment in fragments:
        assert fragment.lower() in message.lower(), f"{fragment!r} not in {message!r}"
    return message


def audit_json(*args: object) -> dict:
    """Run ``auditkit audit ARGS --json -`` and return the parsed results (the run must succeed)."""
    result = run_cli("audit", *args, "--json", "-")
    assert_no_traceback(result)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def group(results: dict, label: str, attribute: str | None = None) -> dict:
    """The group record with this label (and attribute, if given)."""
    found = [g for g in results["groups"] if g["group"] == label and attribute in (None, g["attribute"])]
    assert len(found) == 1, [g["group"] for g in results["groups"]]
    return found[0]


def comparison(results: dict, label: str, metric: str) -> dict:
    """The comparison record of this group and metric."""
    found = [c for c in results["comparisons"] if c["group"] == label and c["metric"] == metric]
    assert len(found) == 1, [(c["group"], c["metric"]) for c in results["comparisons"]]
    return found[0]


@pytest.fixture
def decisions_csv(tmp_path: Path) -> Path:
    """A 120-row decision file: two groups, a 0/1 decision, a score and an outcome."""
    lines = ["group,decision,score,outcome"]
    for i in range(120):
        g = "a" if i % 2 == 0 else "b"
        selected = 1 if (i % 5 == 0 or (g == "b" and i % 3 == 0)) else 0
        lines.append(f"{g},{selected},{(i * 37 % 101) / 100},{1 if i % 4 == 0 else 0}")
    return write_text(tmp_path / "decisions.csv", "\n".join(lines) + "\n")


def local_cluster():  # type: ignore[no-untyped-def]
    """A local Dask cluster (2 in-process workers, 1 thread each, no dashboard) for engine tests.

    On a loaded machine distributed sometimes gives up starting a cluster ("Cluster closed without
    starting up"); that says nothing about auditkit, so the start is tried three times. distributed's
    start-up warnings (dashboard, comms closed while the scheduler talks) are silenced while it starts.
    """
    import warnings

    from distributed import LocalCluster

    for attempt in range(3):
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=ResourceWarning)
                warnings.filterwarnings("ignore", message=".*[Dd]ashboard.*")
                # Another test run on the machine may hold the default port 8787: any free port will do.
                warnings.filterwarnings("ignore", message=r"Port \d+ is already in use")
                return LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0")
        except RuntimeError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
