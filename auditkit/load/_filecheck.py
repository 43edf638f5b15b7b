"""Is this path a data file auditkit reads?  Checked before any reader touches it.

A researcher's folder holds files saved under the wrong extension (a workbook
called ``.csv``, a Parquet file called ``.csv``), folders where a file was
meant, files without read permission, named pipes.  Each is refused here with
what the file is and what to do, instead of a decoding error that sends the
user looking for the wrong encoding, or a reader that waits forever.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..exceptions import InputDataError, UsageError
from ._spreadsheet import SPREADSHEET_SUFFIXES, UNREADABLE_SUFFIXES

__all__ = ["CSV_SUFFIXES", "PARQUET_SUFFIXES", "check_data_path", "check_file_kind"]

CSV_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq", ".parq"})

#: Leading bytes of formats that are not text, and what to call them.
_MAGIC = ((b"PK\x03\x04", "a zip archive (an .xlsx or .ods spreadsheet?)", ".xlsx"),
          (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls)", ".xls"),
          (b"PAR1", "a Parquet file", ".parquet"),
          (b"\x1f\x8b", "a gzip-compressed file", ""),
          (b"%PDF", "a PDF document", ""))


def check_data_path(path: Path) -> None:
    """:func:`check_file_kind` for a path that may not exist (a glob is left to the engines)."""
    if not path.exists():
        if any(c in str(path) for c in "*?["):
            return
        from .._text import did_you_mean

        hint = did_you_mean(path.name, [p.name for p in path.parent.glob("*")]) if path.parent.is_dir() else ""
        raise InputDataError(f"Data file {str(path)!r} does not exist.{hint}")
    check_file_kind(path)


def check_file_kind(path: Path, sheet: str | int | None = None, header_row: int | None = None) -> None:
    """Refuse, with what to do instead, a path that is not a data file auditkit reads.

    ``path`` exists.  A spreadsheet option on a file that is not a spreadsheet is a usage error.
    """
    suffix = path.suffix.lower()
    if path.is_dir():
        if not any(p.suffix.lower() in PARQUET_SUFFIXES for p in path.rglob("*")):
            raise InputDataError(f"{str(path)!r} is a folder, and holds no Parquet files. Give the data file itself "
                                 "(a folder is read only as a Parquet dataset).")
        return
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise InputDataError(f"{str(path)!r} is not a regular file (a named pipe, socket or device). Give a data "
                             "file saved on disk.")
    if suffix in UNREADABLE_SUFFIXES:
        raise InputDataError(f"{path.name!r} is an Apple Numbers file, which no maintained Python reader opens. "
                             "Export it from Numbers as .xlsx or CSV (File > Export To) and pass that file.")
    if (sheet is not None or header_row is not None) and suffix not in SPREADSHEET_SUFFIXES:
        option = "--sheet" if sheet is not None else "--header-row"
        raise UsageError(f"{option} applies to spreadsheets (.xlsx, .xls, .ods); {path.name!r} is not one.")
    if suffix not in CSV_SUFFIXES | PARQUET_SUFFIXES | SPREADSHEET_SUFFIXES:
        raise InputDataError(
            f"Cannot tell the format of {path.name!r} from its extension {suffix!r}: expected .csv, .tsv, .txt, "
            ".parquet, .xlsx, .xls or .ods (or a folder of Parquet files). Rename the file if its extension is "
            "wrong."
        )
    if not os.access(path, os.R_OK):
        raise InputDataError(f"Data file {str(path)!r} cannot be read: permission denied. Give yourself read "
                             "access (chmod u+r) or copy the file somewhere you can read it.")
    if suffix in CSV_SUFFIXES:
        _check_text(path)


def _check_text(path: Path) -> None:
    """A file named as text whose first bytes say it is another format, or not text at all."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError as err:
        raise InputDataError(f"Data file {str(path)!r} cannot be read ({err.strerror or err}).") from None
    for magic, what, suffix in _MAGIC:
        if head.startswith(magic):
            fix = f"rename it to {suffix} and run again" if suffix else "unpack or convert it to CSV first"
            raise InputDataError(f"{path.name!r} is named as a text (CSV) file, but it is {what}: {fix}.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 text: the encoding check names it
    nul = head.find(b"\x00")
    if nul >= 0:
        raise InputDataError(
            f"{path.name!r} is not a text file: it holds NUL bytes (offset {nul}), as binary files "
            "do. Check that it is the file you meant; if it is a table, export it again as CSV (UTF-8)."
        )
