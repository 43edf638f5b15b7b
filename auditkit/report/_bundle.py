"""Read an evidence bundle folder: the only input a report has."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bundle import manifest_hash
from .._json import parse_json
from ..exceptions import InputDataError

__all__ = ["DEFAULT_MIN_COUNT", "REQUIRED_FILES", "Bundle", "load_bundle"]

REQUIRED_FILES = ("manifest.json", "results.json", "findings.json")
DEFAULT_MIN_COUNT = 10


@dataclass(frozen=True)
class Bundle:
    """The parsed files of a bundle and its manifest hash (the id a report cites; see :func:`auditkit.bundle.manifest_hash`)."""

    path: Path
    manifest: Mapping[str, Any]
    results: Mapping[str, Any]
    findings: list[Mapping[str, Any]]
    checklist: Mapping[str, Any] | None
    manifest_sha256: str

    @property
    def min_count(self) -> int:
        """The bundle's minimum publishable count: ``parameters.suppression_threshold``, else 10."""
        for source in (self.manifest.get("parameters") or {}, self.manifest, self.results.get("parameters") or {}):
            value = source.get("suppression_threshold") if isinstance(source, Mapping) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return int(value)
        return DEFAULT_MIN_COUNT


def _json(path: Path) -> Any:
    try:
        return parse_json(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise InputDataError(f"{path}: {path.name} is not valid UTF-8 JSON ({err}); the bundle is damaged. "
                             "Check it with `auditkit verify`.") from err


def load_bundle(path: str | os.PathLike) -> Bundle:
    """Read the bundle folder ``path``; a folder that is not a bundle names the file it lacks."""
    folder = Path(path)
    if not folder.is_dir():
        raise InputDataError(f"{str(folder)!r} is not an evidence bundle: it is not a folder. Give the folder "
                             "that `auditkit audit --out` or `auditkit assess --out` wrote.")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise InputDataError(f"{str(folder)!r} is not an evidence bundle: it has no {' and no '.join(missing)}. "
                             "Give the folder that `auditkit audit --out` or `auditkit assess --out` wrote.")
    manifest_bytes = (folder / "manifest.json").read_bytes()
    manifest, results, findings = (_json(folder / name) for name in REQUIRED_FILES)
    for name, value, kind in (("manifest.json", manifest, dict), ("results.json", results, dict),
                              ("findings.json", findings, list)):
        if not isinstance(value, kind):
            raise InputDataError(f"{folder / name}: expected a JSON {'object' if kind is dict else 'list'}; "
                                 f"got {type(value).__name__}.")
    checklist = _json(folder / "checklist.json") if (folder / "checklist.json").is_file() else None
    return Bundle(path=folder, manifest=manifest, results=results,
                  findings=[f for f in findings if isinstance(f, dict)],
                  checklist=checklist if isinstance(checklist, dict) else None,
                  manifest_sha256=manifest_hash(manifest_bytes))
