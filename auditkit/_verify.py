"""`auditkit verify`: check a bundle's chain of custody and re-derive everything derived in it.

In order, and every check reported (not only the first):

1. **Structure.** ``manifest.json`` has the shape auditkit writes, in the bytes auditkit writes
   (anything else was edited by something other than auditkit).
2. **Every file.** Each file in the folder is listed with its sha256, each listed file is there with that
   hash; a link, device or FIFO anywhere in the bundle is an error (never followed, never opened).
3. **Binding.** Each report cites the manifest hash of this manifest.
4. **Re-derivation.** The findings are built again from ``results.json`` with the rules of
   ``template.json``; the manifest's parameters and the results' template record are derived again;
   each report is rendered again from the bundle and compared byte for byte.  The first difference is
   said in words.
5. **Signature** (``--signer KEY.pub``): ``signature.json`` is a valid Ed25519 signature of
   ``manifest.json`` by that key.
6. **Re-run** (``--data``): see :mod:`auditkit._rerun`.

Nothing here may raise on a damaged bundle: whatever cannot be read or re-derived is a failure with
its reason.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._json import parse_json
from ._derive import TEMPLATE_FILE, findings_for, parameters_for, template_from_document
from ._text_diff import first_difference, json_difference
from .bundle import (BUNDLE_VERSION, MANIFEST_FILE, SIGNATURE_FILE, _REPORT_NAME, bundle_files, manifest_hash,
                     manifest_text, read_manifest)

__all__ = ["VerifyReport", "verify"]

_HEX = re.compile(r"[0-9a-f]{64}")
_SAFE_PATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*")
_FILE_KEYS = {"path", "sha256", "bytes"}
_REPORT_KEYS = _FILE_KEYS | {"lang", "format", "manifest_sha256"}


@dataclass
class VerifyReport:
    """What `auditkit verify` found.  ``ok`` only when nothing at all is wrong."""

    bundle: str
    checked: int = 0
    edited: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    inputs: list[dict] = field(default_factory=list)
    differences: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rerun: bool = False
    rederived: list[str] = field(default_factory=list)
    manifest_sha256: str | None = None
    signer: str | None = None

    @property
    def ok(self) -> bool:
        """True when every file, binding, re-derivation, signature and (after a re-run) figure checks out."""
        return not (self.edited or self.missing or self.unlisted or self.links or self.problems
                    or self.differences or any(not i["matches"] for i in self.inputs))


def _structure(manifest: dict[str, Any], report: VerifyReport) -> dict[str, dict]:
    """The listed files by path (reports included); every malformed part is a problem."""
    p = report.problems
    if manifest.get("bundle_version") != BUNDLE_VERSION:
        p.append(f"manifest.json: bundle_version is {manifest.get('bundle_version')!r}, not {BUNDLE_VERSION!r}. "
                 "Bundles before version 2 do not list their reports nor bind them to the manifest; re-run the "
                 "audit with this auditkit to get a bundle that can be checked whole.")
    for key, kind in (("auditkit_version", str), ("inputs", list), ("dependencies", dict), ("parameters", dict),
                      ("files", list)):
        if not isinstance(manifest.get(key), kind):
            p.append(f"manifest.json: '{key}' should be a {_KIND[kind]}; found {_what(manifest.get(key))}.")
    if not isinstance(manifest.get("command"), (str, type(None))):
        p.append(f"manifest.json: 'command' should be text; found {_what(manifest.get('command'))}.")
    if not isinstance(manifest.get("audit_reports", []), list):
        p.append(f"manifest.json: 'audit_reports' should be a list; found {_what(manifest.get('audit_reports'))}.")
    if not isinstance(manifest.get("reports", []), list):
        p.append(f"manifest.json: 'reports' should be a list; found {_what(manifest.get('reports'))}.")
    for i, entry in enumerate(manifest.get("inputs") if isinstance(manifest.get("inputs"), list) else []):
        if not (isinstance(entry, dict) and isinstance(entry.get("role"), str) and isinstance(entry.get("name"), str)
                and isinstance(entry.get("sha256"), str) and _HEX.fullmatch(entry["sha256"])):
            p.append(f"manifest.json: inputs[{i}] should have a role, a name and a sha256; found {_what(entry)}.")
    listed: dict[str, dict] = {}
    for key, keys in (("files", _FILE_KEYS), ("reports", _REPORT_KEYS), ("annexes", _FILE_KEYS)):
        entries = manifest.get(key, [])
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            problem = _entry_problem(entry, keys, key == "reports")
            if problem:
                p.append(f"manifest.json: {key}[{i}] {problem}")
            elif entry["path"] in listed or entry["path"] in (MANIFEST_FILE, SIGNATURE_FILE):
                p.append(f"manifest.json: {entry['path']} is listed twice (or under a reserved name).")
            else:
                listed[entry["path"]] = {**entry, "report": key == "reports"}
    for name in manifest.get("audit_reports") if isinstance(manifest.get("audit_reports"), list) else []:
        if not (isinstance(name, str) and name in listed and listed[name]["report"]):
            p.append(f"The audit rendered {_what(name) if not isinstance(name, str) else name}, but the manifest "
                     "does not list it among its reports: a report was removed.")
    return listed


_KIND = {str: "text", list: "list", dict: "object"}


def _what(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        text = repr(type(value))
    return f"{type(value).__name__} {text[:60]}{'…' if len(text) > 60 else ''}"


def _entry_problem(entry: Any, keys: set[str], is_report: bool) -> str | None:
    if not isinstance(entry, dict):
        return f"should be an object; found {_what(entry)}."
    if set(entry) != keys:
        return f"should have exactly the keys {sorted(keys)}; found {sorted(map(str, entry))}."
    path, sha, size = entry["path"], entry["sha256"], entry["bytes"]
    if not isinstance(path, str) or not _SAFE_PATH.fullmatch(path) or ".." in path.split("/"):
        return f"has a path auditkit never writes: {_what(path)}."
    if not isinstance(sha, str) or not _HEX.fullmatch(sha):
        return f"({path}) has no valid sha256: {_what(sha)}."
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return f"({path}) has no valid size: {_what(size)}."
    if is_report:
        match = _REPORT_NAME.fullmatch(path)
        if match is None or (entry["lang"], entry["format"]) != match.groups():
            return f"({path}) is not named report.LANG.FORMAT after its language and format."
        if not isinstance(entry["manifest_sha256"], str) or not _HEX.fullmatch(entry["manifest_sha256"]):
            return f"({path}) has no valid manifest_sha256: {_what(entry['manifest_sha256'])}."
    return None


def _files(bundle: Path, listed: dict[str, dict], report: VerifyReport) -> None:
    """Hash every regular file; name links, devices, unlisted and missing files."""
    import hashlib

    present: set[str] = set()
    for rel, st in bundle_files(bundle):
        path = bundle / rel
        if stat.S_ISLNK(st.st_mode):
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            report.links.append(f"{rel} is a symbolic link (to {target}); a bundle holds only regular files")
        elif stat.S_ISDIR(st.st_mode):
            if not any(p.startswith(rel + "/") for p in listed):
                report.unlisted.append(rel + "/")
        elif not stat.S_ISREG(st.st_mode):
            report.links.append(f"{rel} is not a regular file (a device, FIFO or socket); it was not opened")
        elif rel in (MANIFEST_FILE, SIGNATURE_FILE):
            continue
        elif rel not in listed:
            report.unlisted.append(rel)
        else:
            present.add(rel)
            report.checked += 1
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest() if hasattr(hashlib, "file_digest") \
                    else hashlib.sha256(fh.read()).hexdigest()
            if digest != listed[rel]["sha256"] or st.st_size != listed[rel]["bytes"]:
                report.edited.append(rel)
    report.missing = sorted(set(listed) - present - {r.rstrip("/") for r in report.unlisted})


def _load(bundle: Path, name: str, kind: type, report: VerifyReport) -> Any:
    try:
        value = parse_json((bundle / name).read_bytes().decode("utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as err:
        report.problems.append(f"{name} cannot be read as UTF-8 JSON ({type(err).__name__}: {str(err)[:120]}).")
        return None
    if not isinstance(value, kind):
        report.problems.append(f"{name} should hold a JSON {_KIND[kind]}; found {_what(value)}.")
        return None
    return value


def _findings(results: dict, template: Any, findings: list, report: VerifyReport) -> None:
    try:
        derived = json.loads(json.dumps(findings_for(results, template), ensure_ascii=False))
    except Exception as err:  # noqa: BLE001 - whatever a damaged results.json does, verify says so and goes on
        report.problems.append(f"The findings cannot be re-derived from results.json and {TEMPLATE_FILE} "
                               f"({type(err).__name__}: {str(err)[:160]}); the results are not what auditkit wrote.")
        return
    from ._text_diff import findings_difference

    difference = findings_difference(findings, derived)
    if difference:
        report.problems.append(difference)
    else:
        report.rederived.append(f"findings.json ({len(derived)} findings)")


def _metadata(manifest: dict, results: dict, template: Any, report: VerifyReport) -> None:
    try:
        expected = parameters_for(results, template)
        record = template.record() if "template" in results else None
    except Exception as err:  # noqa: BLE001
        report.problems.append(f"The parameters cannot be re-derived ({type(err).__name__}: {str(err)[:160]}).")
        return
    if manifest.get("parameters") != expected:
        report.problems.append("manifest.json: " + json_difference(manifest.get("parameters"), expected, "parameters",
                                                                   "the manifest says", "results.json and the "
                                                                   "template give"))
    if record is not None:
        shown = {k: v for k, v in results["template"].items() if k not in ("files", "digest")} \
            if isinstance(results["template"], dict) else results["template"]
        expected_record = {k: v for k, v in record.items() if k not in ("files", "digest")}
        if json.loads(json.dumps(shown)) != json.loads(json.dumps(expected_record)):
            report.problems.append("results.json: " + json_difference(shown, expected_record, "template",
                                                                      "the results say", f"{TEMPLATE_FILE} gives"))
        elif isinstance(results["template"], dict) and results["template"].get("digest") != template.digest:
            report.problems.append(f"results.json: the template digest is not the digest of {TEMPLATE_FILE}.")


def _bindings(listed: dict[str, dict], cited: str, report: VerifyReport) -> None:
    for rel, entry in sorted(listed.items()):
        if entry["report"] and entry["manifest_sha256"] != cited:
            report.problems.append(f"{rel} was rendered from another manifest: it cites {entry['manifest_sha256']}, "
                                   f"but this bundle's manifest hash is {cited}.")


def _reports(bundle: Path, listed: dict[str, dict], cited: str, report: VerifyReport) -> None:
    from .report import render_report

    for rel, entry in sorted(listed.items()):
        if not entry["report"] or rel in report.missing or entry["manifest_sha256"] != cited:
            continue
        try:
            with tempfile.TemporaryDirectory(prefix="auditkit-verify-") as out:
                fresh = render_report(bundle, lang=entry["lang"], formats=(entry["format"],), out_dir=out)[0]
                new = fresh.read_bytes()
        except Exception as err:  # noqa: BLE001 - a bundle a report cannot be rendered from fails, with the reason
            report.problems.append(f"{rel} cannot be rendered again from the bundle ({type(err).__name__}: "
                                   f"{str(err)[:160]}), so it cannot be checked.")
            continue
        old = (bundle / rel).read_bytes()
        if old != new:
            report.problems.append(f"{rel} is not the report the bundle renders: "
                                   + first_difference(old, new, entry["format"]))
        else:
            report.rederived.append(f"{rel} (rendered again: the same bytes)")


def verify(bundle: Path, *, data: str | os.PathLike | None = None, model: str | os.PathLike | None = None,
           signer: str | os.PathLike | None = None, inputs: dict | None = None) -> VerifyReport:
    """Every check of the module docstring on ``bundle``; see :class:`VerifyReport`."""
    manifest = read_manifest(bundle)
    if data is not None:  # a missing, unreadable or non-regular file is named before its hash is taken
        from .load._filecheck import check_data_path

        check_data_path(Path(data))
    report = VerifyReport(str(bundle))
    raw = (bundle / MANIFEST_FILE).read_bytes()
    report.manifest_sha256 = manifest_hash(raw)
    listed = _structure(manifest, report)
    if not report.problems and raw != manifest_text(manifest).encode("utf-8"):
        report.problems.append("manifest.json is not in the form auditkit writes it: it was changed by something "
                               "other than auditkit, so the hash its reports cite cannot be trusted.")
    _files(bundle, listed, report)
    _bindings(listed, report.manifest_sha256, report)
    if signer is not None or os.path.lexists(bundle / SIGNATURE_FILE):
        from ._sign import check_signature

        check_signature(bundle, raw, signer, report)
    damaged = set(report.edited) | set(report.missing) | {link.split(" ")[0] for link in report.links}
    if manifest.get("kind") == "comparison":  # auditkit compare A B --out DIR
        from .compare_bundle import verify_comparison

        verify_comparison(bundle, manifest, listed, report, damaged, data)
        return report
    needed = ("results.json", "findings.json", TEMPLATE_FILE)
    if any(n in damaged or n not in listed for n in needed):
        if not any(n in damaged for n in needed) and any(n not in listed for n in needed):
            report.problems.append(f"The bundle does not list {', '.join(n for n in needed if n not in listed)}, "
                                   "so nothing derived in it can be re-derived.")
        report.notes.append("Nothing was re-derived: the files it would be derived from are not intact.")
    else:
        _rederive(bundle, manifest, listed, report)
    if data is not None:
        from ._rerun import rerun_and_compare

        rerun_and_compare(bundle, manifest, data, model, report, inputs)
    return report


def _rederive(bundle: Path, manifest: dict, listed: dict[str, dict], report: VerifyReport) -> None:
    results = _load(bundle, "results.json", dict, report)
    findings = _load(bundle, "findings.json", list, report)
    doc = _load(bundle, TEMPLATE_FILE, dict, report)
    if results is None or findings is None or doc is None:
        return
    try:
        template = template_from_document(doc)
    except Exception as err:  # noqa: BLE001
        report.problems.append(str(err))
        return
    before = len(report.problems)
    _findings(results, template, findings, report)
    _metadata(manifest, results, template, report)
    if len(report.problems) == before:
        _reports(bundle, listed, report.manifest_sha256 or "", report)
    elif any(e["report"] for e in listed.values()):
        report.notes.append("The reports were not rendered again: the evidence they show already fails.")


def as_mapping(report: VerifyReport) -> Mapping[str, Any]:
    """The report as JSON-ready data (``auditkit verify --json``)."""
    from dataclasses import asdict

    return {**asdict(report), "ok": report.ok}
