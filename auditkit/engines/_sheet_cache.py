"""A spreadsheet's table as a temporary CSV file, for the engines that read files themselves.

The sheet is read once per process (:func:`auditkit.load._spreadsheet.read_sheet`,
the same reader and rules as the in-memory path) and written as the CSV export
of its table; DuckDB and Dask then count that file as they count any CSV
file.  The files live in one temporary folder, removed when the process ends.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from .._output import write_bytes
from ..load._spreadsheet import read_sheet

__all__ = ["sheet_as_csv"]

_FOLDER: list[str] = []
_DONE: dict[tuple, tuple[Path, str, tuple[str, ...]]] = {}


def _folder() -> Path:
    if not _FOLDER:
        _FOLDER.append(tempfile.mkdtemp(prefix="auditkit-sheets-"))
        atexit.register(shutil.rmtree, _FOLDER[0], True)
    return Path(_FOLDER[0])


def sheet_as_csv(path: Path, sheet: str | int | None, header_row: int | None) -> tuple[Path, str, tuple[str, ...]]:
    """(temporary CSV file, label for messages, the reader's notes) of the table in ``path``'s sheet."""
    stat = os.stat(path)
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, None if sheet is None else str(sheet),
           header_row)
    if key not in _DONE or not _DONE[key][0].exists():
        found = read_sheet(Path(path), sheet, header_row)
        target = _folder() / f"sheet-{len(_DONE)}.csv"
        write_bytes(target, found.to_csv())
        label = path.name if found.sheets == 1 else f"{path.name} (sheet {found.name!r})"
        _DONE[key] = (target, label, found.notes)
    return _DONE[key]
