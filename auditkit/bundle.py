"""The evidence bundle: one folder, one chain of custody, written whole; and `verify`.

A bundle is a folder anyone can check.  ``manifest.json`` holds the sha256 of every input (data,
model, template, answers), the auditkit and dependency versions, every parameter and seed, the
command that reproduces it, and the sha256 and size of **every other file in the folder**:

- ``files``: the evidence (``results.json``, ``findings.json``, ``template.json``, ``checklist.json``
  and any other file a step adds), everything a report is rendered from;
- ``reports``: each report rendered into the bundle, with its language, format and the *manifest
  hash* it was rendered from.

The manifest hash is the sha256 of ``manifest.json`` as it stood before reports were listed in it:
the bytes :func:`manifest_text` gives for the manifest without its ``reports`` member (for a bundle
without reports, exactly ``sha256sum manifest.json``).  Every report prints it in its citation line,
so a report names the evidence it shows, and listing a report never changes the hash it cites.
Only ``manifest.json`` itself and the signature (:data:`SIGNATURE_FILE`, which signs the manifest)
are not listed.  Nothing depends on a clock: the same command on the same inputs gives the same bytes.

A bundle is written into a temporary folder next to its target and moved into place only when it is
complete (:func:`auditkit._output.replace_dir`); an existing bundle is replaced whole, a folder that
holds anything else is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from ._output import OutputError, replace_dir, temp_dir_for, write_bytes
from ._json import json_text, parse_json
from ._version import __version__
from .exceptions import InputDataError
from .results import to_json

__all__ = ["ANNEX_FILES", "BUNDLE_VERSION", "MANIFEST_FILE", "SIGNATURE_FILE", "VerifyReport", "add_reports",
           "bundle_files",
           "file_sha256", "manifest_hash", "manifest_text", "verify_bundle", "write_bundle"]

BUNDLE_VERSION = "2"
MANIFEST_FILE = "manifest.json"
#: The Ed25519 signature of manifest.json (``auditkit sign``); the manifest cannot list its own signature.
SIGNATURE_FILE = "signature.json"
_DEPENDENCIES = ("numpy", "pandas", "pyarrow", "scipy", "click", "scikit-learn", "shap", "skops", "onnxruntime",
                 "xgboost", "lightgbm", "joblib", "duckdb", "dask", "pyyaml", "jinja2", "weasyprint")
_CHUNK = 1 << 20
_REPORT_NAME = re.compile(r"report\.([A-Za-z][A-Za-z0-9_-]{0,34})\.(html|pdf|md|csv)")


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


def manifest_text(manifest: Mapping[str, Any]) -> str:
    """The bytes auditkit writes for ``manifest`` (as text): the one canonical form, ``reports`` last."""
    body = {k: v for k, v in manifest.items() if k != "reports"}
    if "reports" in manifest:
        body["reports"] = manifest["reports"]
    return _dump(body)


def manifest_hash(raw: bytes) -> str:
    """The manifest hash a report cites, from the bytes of ``manifest.json``.

    The sha256 of the manifest without its ``reports`` and ``annexes`` members (both are listed after the
    run), in the form auditkit writes; for a manifest without either, the sha256 of the file itself.

    >>> manifest_hash(b'{"files": []}') == hashlib.sha256(b'{"files": []}').hexdigest()
    True
    """
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        parsed = None
    if not isinstance(parsed, dict) or not {"reports", "annexes"} & set(parsed):
        return hashlib.sha256(raw).hexdigest()
    body = {k: v for k, v in parsed.items() if k not in ("reports", "annexes")}
    return hashlib.sha256(_dump(body).encode("utf-8")).hexdigest()


#: Files the auditors add to a bundle after the run (docs/reports.md, "The agency's side"); rendering
#: reports into the bundle lists them under ``annexes``.
ANNEX_FILES = ("response.yaml", "corrections.yaml")


def _entry(path: str, data: bytes) -> dict[str, Any]:
    return {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def bundle_files(folder: Path) -> Iterable[tuple[str, os.stat_result]]:
    """Every entry under ``folder`` as (relative POSIX path, lstat), links and devices included, never followed."""
    stack = [folder]
    while stack:
        current = stack.pop()
        with os.scandir(current) as it:
            for item in sorted(it, key=lambda e: e.name):
                st = item.stat(follow_symlinks=False)
                rel = Path(item.path).relative_to(folder).as_posix()
                if stat.S_ISDIR(st.st_mode):
                    stack.append(Path(item.path))
                yield rel, st


def _replaceable(out: Path, keep: Sequence[str] = ()) -> None:
    """Refuse an --out that is a link, a file, or a non-empty folder that is not an auditkit bundle (or that
    holds files it does not list, other than ``keep``, which the caller carries over)."""
    if not os.path.lexists(out):
        return
    st = os.lstat(out)
    if stat.S_ISLNK(st.st_mode):
        raise OutputError(f"--out {out} is a symbolic link; auditkit writes a bundle only into a real folder. "
                          "Remove the link or give another folder.")
    if not stat.S_ISDIR(st.st_mode):
        raise OutputError(f"--out {out} exists and is not a folder; give a folder for the evidence bundle.")
    names = {rel for rel, _ in bundle_files(out)}
    if not names:
        return
    manifest = out / MANIFEST_FILE
    try:
        listed = _listed(json.loads(manifest.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        listed = None
    if listed is None:
        raise OutputError(f"--out {out} is not empty and is not an auditkit evidence bundle (no readable "
                          f"{MANIFEST_FILE}); auditkit replaces a bundle folder whole, so it will not write there. "
                          "Give a new or empty folder.")
    others = sorted(n for n in names - set(listed) - {MANIFEST_FILE, SIGNATURE_FILE, *keep}
                    if not any(other.startswith(n + "/") for other in listed))
    if others:
        raise OutputError(f"--out {out} is an evidence bundle that also holds files it does not list "
                          f"({', '.join(others[:5])}); a new run replaces the folder whole and would delete them. "
                          "Move them out first, or give another folder.")


def _listed(manifest: Any) -> list[str]:
    return [f["path"] for key in ("files", "reports", "annexes") for f in manifest.get(key, [])]


def _report_entry(folder: Path, path: Path, manifest_sha256: str) -> dict[str, Any]:
    match = _REPORT_NAME.fullmatch(path.name)
    if path.parent.resolve() != folder.resolve() or match is None:
        raise OutputError(f"{path} is not a report file auditkit names (report.LANG.FORMAT in the bundle folder).")
    data = path.read_bytes()
    return {**_entry(path.name, data), "lang": match.group(1), "format": match.group(2),
            "manifest_sha256": manifest_sha256}


def _list_reports(folder: Path, manifest: dict[str, Any], written: Sequence[Path], cited: str) -> None:
    """Add the reports ``written`` into ``folder`` to ``manifest`` and write the manifest."""
    entries = {r["path"]: r for r in manifest.get("reports", []) if isinstance(r, dict) and "path" in r}
    for path in written:
        entry = _report_entry(folder, Path(path), cited)
        entries[entry["path"]] = entry
    manifest["reports"] = [entries[k] for k in sorted(entries)]
    # The agency's side and the corrections log, which the reports print: listed (and hashed) with them.
    annexes = _annexes(folder)
    if annexes or "annexes" in manifest:
        manifest["annexes"] = annexes
    write_bytes(folder / MANIFEST_FILE, manifest_text(manifest).encode("utf-8"))


def _finish(folder: Path, manifest: dict[str, Any], render: Callable[[Path], Sequence[Path]] | None,
            report_names: Sequence[str]) -> None:
    """Write the manifest, render the reports into ``folder``, and list them in the manifest.

    ``report_names`` are the reports the run renders; they are recorded in the hashed part of the
    manifest (``audit_reports``), so that removing one of them, with its entry, is detected.
    """
    manifest["audit_reports"] = list(report_names)
    text = manifest_text(manifest)
    write_bytes(folder / MANIFEST_FILE, text.encode("utf-8"))
    if render is not None:
        written = render(folder)
        if sorted(Path(p).name for p in written) != sorted(report_names):
            raise ValueError(f"The run rendered {[Path(p).name for p in written]}, not {list(report_names)}.")
        _list_reports(folder, manifest, written, manifest_hash(text.encode("utf-8")))


def write_bundle(out: str | os.PathLike, results: dict, *, inputs: Sequence[tuple[str, str | os.PathLike]],
                 command: str | None, findings: list[dict] | None = None, checklist: dict | None = None,
                 extra: dict[str, Any] | None = None, parameters: dict[str, Any] | None = None,
                 files: Mapping[str, bytes] | None = None,
                 render: Callable[[Path], Sequence[Path]] | None = None, report_names: Sequence[str] = ()) -> Path:
    """Write the bundle folder ``out`` whole and return the manifest's path.

    ``inputs`` are (role, path) pairs: ("data", ...), ("model", ...), ("template", ...), ("answers", ...).
    ``files`` are further evidence files (name -> bytes) a step adds; they are hashed like the rest.
    ``render(folder)`` renders the reports ``report_names`` into the unfinished bundle and returns their
    paths; they are listed, and their names recorded under the manifest hash (``audit_reports``).
    The bundle is built in a temporary folder next to ``out`` and moved into place when complete: an
    existing bundle at ``out`` is replaced whole; a non-empty folder that is not a bundle is refused.
    """
    out = Path(out)
    _replaceable(out)
    contents = {"results.json": to_json(results).encode("utf-8"),
                "findings.json": _dump(findings or []).encode("utf-8")}
    if checklist is not None:
        contents["checklist.json"] = _dump(checklist).encode("utf-8")
    for name, data in (files or {}).items():
        if name in (MANIFEST_FILE, SIGNATURE_FILE) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name) \
                or _REPORT_NAME.fullmatch(name):
            raise ValueError(f"A bundle file may not be called {name!r}.")
        contents[name] = data
    manifest = {
        "bundle_version": BUNDLE_VERSION,
        "auditkit_version": __version__,
        "command": command,
        "inputs": [{"role": role, "name": Path(p).name, "sha256": file_sha256(p), "bytes": _size(Path(p))}
                   for role, p in inputs],
        "dependencies": _dependencies(),
        "parameters": {**results.get("parameters", {}), **(parameters or {})},
        **(extra or {}),
        "files": [_entry(name, data) for name, data in sorted(contents.items())],
    }
    tmp = temp_dir_for(out)
    try:
        for name, data in contents.items():
            write_bytes(tmp / name, data)
        _finish(tmp, manifest, render, report_names if render is not None else ())
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out / MANIFEST_FILE


def read_manifest(bundle: Path) -> dict[str, Any]:
    """The parsed manifest of ``bundle``; an error that says what is wrong when it is not one."""
    path = bundle / MANIFEST_FILE
    if os.path.islink(bundle) or not bundle.is_dir():
        raise InputDataError(f"{str(bundle)!r} is not an evidence bundle: it is not a folder. Give the folder "
                             "that `auditkit audit --out` or `auditkit assess --out` wrote.")
    if os.path.islink(path) or not path.is_file():
        raise InputDataError(f"{str(bundle)!r} is not an evidence bundle: it has no {MANIFEST_FILE}. Give the "
                             "folder that `auditkit audit --out` or `auditkit assess --out` wrote.")
    try:
        manifest = parse_json(path.read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise InputDataError(f"{path}: {MANIFEST_FILE} is not valid JSON ({err}); the bundle was damaged.") from err
    if not isinstance(manifest, dict):
        raise InputDataError(f"{path}: expected a JSON object; got {type(manifest).__name__}. The bundle was "
                             "damaged.")
    return manifest


def _copy_bundle(bundle: Path, keep: Sequence[str] = ()) -> Path:
    """A copy of ``bundle`` (its signature left out) in a new temporary folder next to it."""
    _replaceable(bundle, keep=keep)
    for rel, st in bundle_files(bundle):
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            raise OutputError(f"{bundle / rel} is a link or a device inside the bundle; auditkit will not copy it. "
                              "Check the bundle with `auditkit verify`.")
    tmp = temp_dir_for(bundle)
    try:
        for rel, st in bundle_files(bundle):
            if stat.S_ISDIR(st.st_mode):
                (tmp / rel).mkdir(exist_ok=True)
            elif rel != SIGNATURE_FILE:
                shutil.copyfile(bundle / rel, tmp / rel, follow_symlinks=False)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def _annexes(folder: Path) -> list[dict[str, Any]]:
    return [_entry(name, (folder / name).read_bytes()) for name in ANNEX_FILES if (folder / name).is_file()]


def add_reports(bundle: str | os.PathLike, render: Callable[[Path], Sequence[Path]],
                rerender: Callable[[Path, str, Sequence[str]], Sequence[Path]] | None = None
                ) -> tuple[list[Path], bool]:
    """Render reports into ``bundle`` and list them in its manifest, replacing the bundle whole.

    The bundle is copied into a temporary folder, the reports rendered there and listed, and the copy
    moved into place.  The manifest hash does not change.  The agency's side and the corrections log
    (:data:`ANNEX_FILES`) found in the bundle are listed as annexes; when they changed, every report
    already in the bundle is rendered again too (``rerender(folder, lang, formats)``), so that none shows
    an old reply.  A signature no longer matches the manifest once a report is listed, so it is
    removed: the second value says whether one was.  Returns the reports' final paths and that flag.
    """
    bundle = Path(bundle)
    manifest = read_manifest(bundle)
    tmp = _copy_bundle(bundle, keep=ANNEX_FILES)  # copied over, then listed with the reports
    try:
        written = list(render(tmp))
        if rerender is not None and _annexes(tmp) != (manifest.get("annexes") or []):
            done = {Path(p).name for p in written}
            by_lang: dict[str, list[str]] = {}
            for r in manifest.get("reports") or []:
                if isinstance(r, dict) and r.get("path") not in done and {"lang", "format"} <= set(r):
                    by_lang.setdefault(str(r["lang"]), []).append(str(r["format"]))
            written += [p for lang, formats in sorted(by_lang.items()) for p in rerender(tmp, lang, formats)]
        _list_reports(tmp, manifest, written, manifest_hash((tmp / MANIFEST_FILE).read_bytes()))
        signed = os.path.lexists(bundle / SIGNATURE_FILE)
        replace_dir(tmp, bundle)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [bundle / Path(p).name for p in written], signed


def verify_bundle(bundle: str | os.PathLike, *, data: str | os.PathLike | None = None,
                  model: str | os.PathLike | None = None, signer: str | os.PathLike | None = None,
                  inputs: dict[str, str | os.PathLike] | None = None) -> VerifyReport:
    """Check ``bundle``: every file against the manifest, every derived file re-derived; see :mod:`auditkit._verify`.

    ``inputs`` gives other recorded inputs of the re-run by role (``{"composition": path, "crosswalk":
    path}``); a role not given is read from the path the recorded command names."""
    from ._verify import verify

    return verify(Path(bundle), data=data, model=model, signer=signer, inputs=inputs)


def __getattr__(name: str) -> Any:
    if name == "VerifyReport":
        from ._verify import VerifyReport

        return VerifyReport
    raise AttributeError(name)
