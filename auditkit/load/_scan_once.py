"""One scan per run: a model file's scan is made once and reused by every step that needs it.

With ``--trust-model`` three steps want the scan of a pickle, joblib or skops file: the command's warning
(what the file will import), the crash probe's child and the in-process load.  :func:`scan_once` scans the
file and keeps the result, keyed by the SHA-256 of the bytes it read, so that a later step reading the
same bytes takes the kept scan (and the decompressed stream, once) instead of scanning again; bytes that
changed in between are scanned anew.  The probe's child is another process: it is handed the scan as JSON
(:func:`scan_to_dict`) and :func:`seed` puts it in its own store.  Without ``--trust-model`` the file is
scanned once, in the model worker, and this store is not used.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path
from typing import Any

from . import _pickle_scan
from ._pickle_scan import ImportRef, PickleScan

__all__ = ["scan_once", "scan_to_dict", "seed", "scanned_bytes", "scanned_skops"]

_KEPT: dict[tuple[str, str], tuple[PickleScan, Any]] = {}


def scan_to_dict(scan: PickleScan) -> dict:
    """The scan as plain JSON types."""
    return asdict(scan)


def _from_dict(d: dict) -> PickleScan:
    return PickleScan(str(d["path"]), str(d["format"]), d.get("protocol"),
                      tuple(ImportRef(**i) for i in d["imports"]), str(d["verdict"]), tuple(d["problems"]),
                      dict(d.get("versions", {})), tuple(d.get("notes", ())))


def seed(kind: str, digest: str, scan: dict) -> None:
    """Keep a scan made by another process (the probe's parent) for the file whose bytes hash to ``digest``."""
    _KEPT[(kind, digest)] = (_from_dict(scan), None)


def scan_once(path: Path, kind: str) -> tuple[PickleScan, str]:
    """The scan of a pickle, joblib or skops file (made now, or kept from earlier in the run), and the
    SHA-256 of the bytes scanned."""
    if kind == "skops":
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return scanned_skops(path, digest)[0], digest
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    return scanned_bytes(raw, str(path), kind, digest, keep=True)[0], digest


def scanned_bytes(raw: bytes, label: str, kind: str = "pickle", digest: str | None = None,
                  keep: bool = False) -> tuple[PickleScan, bytes]:
    """The scan of a pickle's bytes and its decompressed stream: the kept scan of these bytes if there is
    one (taken: the stream is held only until the load that uses it), else a new scan (kept if ``keep``)."""
    digest = digest or hashlib.sha256(raw).hexdigest()
    key = ("pickle" if kind == "joblib" else kind, digest)
    if key in _KEPT:
        scan, data = _KEPT[key] if keep else _KEPT.pop(key)
        if data is None:
            data = _pickle_scan.decompressed(raw)
        return scan, data
    scan, data = _pickle_scan.scan_bytes(raw, label)
    if keep:
        _KEPT.clear()  # one file's scan at a time: the stream may be large
        _KEPT[key] = (scan, data)
    return scan, data


def scanned_skops(path: Path, digest: str | None = None) -> tuple[PickleScan, list[str], dict[str, str]]:
    """:func:`~auditkit.load._skops.skops_scan`, once per file content."""
    from ._skops import skops_scan

    digest = digest or hashlib.sha256(path.read_bytes()).hexdigest()
    key = ("skops", digest)
    if key in _KEPT and _KEPT[key][1] is not None:
        return _KEPT[key][1]
    found = skops_scan(path)
    _KEPT.clear()
    _KEPT[key] = (found[0], found)
    return found
