"""The evidence bundle: results, findings, checklist, and a manifest of hashes; and `verify`.

A bundle is a folder anyone can check.  ``manifest.json`` holds the sha256 of
every input (data, model, template, answers), the auditkit and dependency
versions, every parameter and seed, the command that reproduces it, and the
sha256 of every other file in the folder.  Nothing in it depends on a clock, so
re-running the same command on the same inputs gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from ._json import json_text
from ._version import __version__
from .exceptions import InputDataError
from .results import to_json

__all__ = ["BUNDLE_VERSION", "REPORTS_FILE", "VerifyReport", "file_sha256", "record_reports", "verify_bundle",
           "write_bundle"]

BUNDLE_VERSION = "1"
_DEPENDENCIES = ("numpy", "pandas", "pyarrow", "scipy", "click", "scikit-learn", "shap", "skops", "onnxruntime",
                 "xgboost", "lightgbm", "joblib", "duckdb", "dask", "pyyaml", "jinja2", "weasyprint")
_CHUNK = 1 << 20


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, or of every file in a folder (sorted by relative path) for Parquet folders."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            digest.update(str(f.relative_to(path)).encode() + b"\0")
        with open(f, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def _dependencies() -> dict[str, str]:
    found = {}
    for name in _DEPENDENCIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _dump(obj: Any) -> str:
    return json_text(obj)


def write_bundle(out: str | os.PathLike, results: dict, *, inputs: Sequence[tuple[str, str | os.PathLike]],
                 command: str | None, findings: list[dict] | None = None, checklist: dict | None = None,
                 extra: dict[str, Any] | None = None, parameters: dict[str, Any] | None = None) -> Path:
    """Write the bundle folder ``out`` and return the manifest's path.

    ``inputs`` are (role, path) pairs: ("data", ...), ("model", ...), ("template", ...), ("answers", ...).
    Files auditkit did not write are left alone; files it writes are replaced.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    contents = {"results.json": to_json(results), "findings.json": _dump(findings or [])}
    if checklist is not None:
        contents["checklist.json"] = _dump(checklist)
    for name, text in contents.items():
        (out / name).write_text(text, encoding="utf-8")
    manifest = {
        "bundle_version": BUNDLE_VERSION,
        "auditkit_version": __version__,
        "command": command,
        "inputs": [{"role": role, "name": Path(p).name, "sha256": file_sha256(p), "bytes": _size(Path(p))}
                   for role, p in inputs],
        "dependencies": _dependencies(),
        "parameters": {**results.get("parameters", {}), **(parameters or {})},
        **(extra or {}),
        "files": [{"path": name, "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}
                  for name, text in sorted(contents.items())],
    }
    path = out / "manifest.json"
    path.write_text(_dump(manifest), encoding="utf-8")
    return path


#: Reports rendered into a bundle are listed here, not in the manifest: a report cites the manifest's
#: sha256, so the manifest cannot list the report without changing the hash the report cites.
REPORTS_FILE = "reports.json"


def record_reports(bundle: str | os.PathLike, paths: Sequence[str | os.PathLike]) -> None:
    """List the reports rendered into ``bundle`` with their sha256, so that `verify` checks them too."""
    bundle = Path(bundle)
    path = bundle / REPORTS_FILE
    listed = {f["path"]: f for f in json.loads(path.read_text(encoding="utf-8"))} if path.is_file() else {}
    for p in paths:
        rel = Path(p).resolve().relative_to(bundle.resolve()).as_posix()
        listed[rel] = {"path": rel, "sha256": file_sha256(p)}
    path.write_text(_dump([listed[k] for k in sorted(listed)]), encoding="utf-8")


@dataclass
class VerifyReport:
    """What `auditkit verify` found: edited, missing or unlisted files, input mismatches, changed figures."""

    bundle: str
    checked: int = 0
    edited: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    inputs: list[dict] = field(default_factory=list)
    differences: list[dict] = field(default_factory=list)
    rerun: bool = False

    @property
    def ok(self) -> bool:
        """True when every hash matches and, after a re-run, every figure is the same."""
        return not (self.edited or self.missing or self.unlisted or self.differences
                    or any(not i["matches"] for i in self.inputs))


def _manifest(bundle: Path) -> dict:
    path = bundle / "manifest.json"
    if not path.is_file():
        raise InputDataError(f"{str(bundle)!r} is not an evidence bundle: it has no manifest.json. Give the folder "
                             "that `auditkit audit --out` or `auditkit assess --out` wrote.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputDataError(f"{path}: manifest.json is not valid JSON ({err}); the bundle was damaged.") from err


def verify_bundle(bundle: str | os.PathLike, *, data: str | os.PathLike | None = None,
                  model: str | os.PathLike | None = None) -> VerifyReport:
    """Check every hash in the bundle's manifest; with ``data`` (and ``model``) re-run and compare figures."""
    bundle = Path(bundle)
    manifest = _manifest(bundle)
    report = VerifyReport(str(bundle))
    listed = {f["path"]: f["sha256"] for f in manifest.get("files", [])}
    if (bundle / REPORTS_FILE).is_file():
        listed.update({f["path"]: f["sha256"] for f in json.loads((bundle / REPORTS_FILE).read_text("utf-8"))})
    for rel, expected in sorted(listed.items()):
        path = bundle / rel
        report.checked += 1
        if not path.is_file():
            report.missing.append(rel)
        elif file_sha256(path) != expected:
            report.edited.append(rel)
    present = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    present -= {"manifest.json", REPORTS_FILE}
    report.unlisted = sorted(present - set(listed))
    given = {"data": data, "model": model}
    for entry in manifest.get("inputs", []):
        path = given.get(entry["role"])
        if path is not None:
            actual = file_sha256(path)
            report.inputs.append({"role": entry["role"], "name": entry["name"], "expected": entry["sha256"],
                                  "actual": actual, "matches": actual == entry["sha256"]})
    if data is not None:
        from ._rerun import rerun

        report.rerun = True
        fresh = rerun(manifest, data, model)
        old = json.loads((bundle / "results.json").read_text(encoding="utf-8"))
        report.differences = _diff(old, json.loads(to_json(fresh)), "")
    return report


def _diff(old: Any, new: Any, where: str, limit: int = 200) -> list[dict]:
    """Every path where two results documents differ (input names and model paths excepted)."""
    out: list[dict] = []
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if key in ("source", "file") and where.count("/") <= 2 or (key in ("engine", "template") and not where):
                # a file may be given under another name (its hash is checked); engines agree; the
                # template's files are inputs whose hashes the manifest records
                continue
            out += _diff(old.get(key), new.get(key), f"{where}/{key}", limit)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            out += _diff(a, b, f"{where}/{i}", limit)
    elif old != new:
        out.append({"path": where or "/", "bundle": old, "rerun": new})
    return out[:limit]
