"""Read decision data and count tables: CSV, Parquet, or a pandas DataFrame.

Only the columns an audit needs are read.  Every problem a real file can have
(non-UTF-8 bytes, duplicate or misspelt column names, an empty file) becomes an
:class:`~auditkit.exceptions.InputDataError` that names the file and column and
says how to fix it.  Values are read as text: deciding what a value means is
the job of :mod:`auditkit.load.rows`.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np
import pyarrow as pa

from .._text import did_you_mean, list_values, normalise_name
from ..exceptions import InputDataError, UsageError
from ._filecheck import CSV_SUFFIXES, PARQUET_SUFFIXES, check_file_kind
from ._header import resolve_header
from ._spreadsheet import SPREADSHEET_SUFFIXES, read_sheet

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Source", "SourceTable", "check_file_kind", "read_columns", "row_numbering"]

Source = Union[str, os.PathLike, "pd.DataFrame"]

_CSV_SUFFIXES = set(CSV_SUFFIXES)
_SHEET_NUMBERING = (1, "row", "Row numbers are the spreadsheet's own.")
_PARQUET_SUFFIXES = set(PARQUET_SUFFIXES)


@dataclass(frozen=True)
class SourceTable:
    """The columns read from one source, with where they came from."""

    table: pa.Table
    label: str
    kind: str
    columns: dict[str, str]
    notes: tuple[str, ...] = ()
    #: Each row's number as messages give it (see :func:`row_numbering`), kept when rows are
    #: filtered or dropped; None means the rows are all there, in order.
    row_numbers: "np.ndarray | None" = None


#: How rows are numbered in messages, per kind of source: (first data row's number, word, explanation).
_ROW_NUMBERING = {
    "csv": (2, "row", "Row numbers count the header as row 1."),
    "parquet": (1, "row", "Row numbers count from 1."),
    "dataframe": (0, "position", "Positions count from 0, as in DataFrame.iloc."),
    "spreadsheet": _SHEET_NUMBERING,
}


def row_numbering(kind: str) -> tuple[int, str, str]:
    """(number of the first data row, 'row' or 'position', a sentence saying how rows are counted)."""
    return _ROW_NUMBERING.get(kind, _ROW_NUMBERING["csv"])


def read_columns(
    source: Source,
    wanted: Sequence[str] | None,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    infer_types: bool = False,
    sheet: str | int | None = None,
    header_row: int | None = None,
) -> SourceTable:
    """Read the ``wanted`` columns of ``source`` as a pyarrow Table.

    ``columns`` maps each wanted name to the file's own spelling of it (a
    header's trailing space or double inner space is matched, and noted).
    ``wanted=None`` reads every column.  CSV values are read as text unless
    ``infer_types`` (model inputs need numbers); blank text stays ``""``.
    A spreadsheet's ``sheet`` (name or 1-based number) and ``header_row`` (its
    own row number) are as in :func:`auditkit.load._spreadsheet.read_sheet`;
    the table found there is read exactly as the same table saved as CSV.
    """
    wanted = None if wanted is None else list(dict.fromkeys(wanted))
    if not isinstance(source, (str, os.PathLike)):
        return _from_frame(source, wanted)
    path = Path(source)
    if not path.exists():
        hint = did_you_mean(path.name, [p.name for p in path.parent.glob("*")]) if path.parent.exists() else ""
        raise InputDataError(f"Data file {str(path)!r} does not exist.{hint}")
    suffix = path.suffix.lower()
    check_file_kind(path, sheet, header_row)
    if path.is_dir() or suffix in _PARQUET_SUFFIXES:
        return _read_parquet(path, wanted, as_levels=not infer_types)
    if suffix in SPREADSHEET_SUFFIXES:
        return _read_spreadsheet(path, wanted, sheet, header_row, infer_types)
    return _read_csv(path, wanted, _check_encoding(encoding or "utf-8"), _check_delimiter(delimiter), infer_types)


def _check_encoding(encoding: str) -> str:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise UsageError(
            f"--encoding {encoding!r} is not a text encoding Python knows. Use a name such as utf-8, "
            "latin-1, cp1252 or utf-16."
        ) from None
    return encoding


_DELIMITER_NAMES = {"\\t": "\t", "tab": "\t", "\\s": " ", "space": " ", "comma": ",", "semicolon": ";",
                    "pipe": "|"}


def _check_delimiter(delimiter: str | None) -> str | None:
    if delimiter is None:
        return None
    delim = _DELIMITER_NAMES.get(delimiter.lower(), delimiter)
    if len(delim) != 1 or delim in "\"\r\n":
        raise UsageError(
            f"--delimiter must be one character, e.g. ',' or ';' (or 'tab' for tab-separated files); "
            f"got {delimiter!r}."
        )
    return delim


def _resolve(label: str, header: Sequence[str], wanted: Sequence[str] | None) -> tuple[dict[str, str], list[str]]:
    """Map wanted names to header names; exact first, then whitespace/case-insensitive.

    Duplicate names are an error: a reader would silently rename the second copy
    (pandas makes it ``name.1``) or pick one of them.  Blank names (an unnamed
    index column, a trailing delimiter) are ignored unless a blank name is wanted.
    """
    if wanted is None:  # every named column
        wanted = [h for h in header if h.strip() and not h.startswith("Unnamed:")]
    dupes = [name for name, k in Counter(header).items() if k > 1 and (name.strip() or name in wanted)]
    if dupes:
        raise InputDataError(
            f"{label}: the header has duplicate column names {list_values(dupes)} (columns "
            f"{', '.join(str(i + 1) for i, h in enumerate(header) if h in dupes)}). A table with two columns "
            "of the same name cannot be read unambiguously: rename or remove one of them and run again."
        )
    by_norm: dict[str, list[str]] = {}
    for h in header:
        by_norm.setdefault(normalise_name(h), []).append(h)
    mapping, notes = {}, []
    for w in wanted:
        if w in header:
            mapping[w] = w
            continue
        near = by_norm.get(normalise_name(w), [])
        if len(near) == 1:
            mapping[w] = near[0]
            notes.append(f"{label}: column {w!r} matched the header's {near[0]!r} (spaces or case differ).")
            continue
        if len(near) > 1:
            raise InputDataError(
                f"{label}: no column is named exactly {w!r}, and {list_values(near)} all match it when spaces "
                "and case are ignored. Give the exact name of the one you mean (or rename the others)."
            )
        shown = [h for h in header if h.strip() and not h.startswith("Unnamed:")]
        hint = ""
        if len(header) == 1 and any(c in header[0] for c in ",;\t|"):
            hint = (" The header was read as a single column: the delimiter is probably not the one "
                    "detected; pass it with --delimiter (e.g. --delimiter ';' or --delimiter tab).")
        raise InputDataError(
            f"{label}: no column named {w!r}.{did_you_mean(w, shown)} "
            f"The columns are: {list_values(shown, limit=30)}.{hint}"
        )
    return mapping, notes


def read_csv_header(path: Path, encoding: str, delimiter: str | None) -> tuple[str, str, list[str]]:
    """The codec, delimiter and header of a CSV file, read from its first bytes with the checks users
    need (empty file, bytes that are not the encoding, delimiter detected from the header line)."""
    with open(path, "rb") as fh:
        raw = fh.read(_HEAD_BYTES)
        truncated = bool(fh.read(1))
    if not raw.strip():
        raise InputDataError(f"Data file {path.name!r} is empty: it has no header and no rows.")
    codec = "utf-8-sig" if encoding.replace("_", "-").lower() in {"utf-8", "utf8"} else encoding
    head = _decode_head(path, raw, codec, final=not truncated)
    if not head.strip():
        raise InputDataError(f"Data file {path.name!r} is empty: it has no header and no rows.")
    first_line = head.splitlines()[0] if head.splitlines() else ""  # splitlines knows CR, LF and CRLF
    delim = delimiter or max(",;\t|", key=first_line.count)
    # newline=None: old-Mac files end their lines with a lone CR, which the csv module would refuse.
    return codec, delim, next(csv.reader(io.StringIO(head, newline=None), delimiter=delim), [])


def _read_spreadsheet(path: Path, wanted: Sequence[str] | None, sheet: str | int | None,
                      header_row: int | None, infer_types: bool) -> SourceTable:
    """The table of one sheet, read as its CSV export would be (same text, same types)."""
    found = read_sheet(path, sheet, header_row)
    label = path.name if found.sheets == 1 else f"{path.name} (sheet {found.name!r})"
    data = found.to_csv()
    header, mapping, notes = resolve_header(label, found.header, wanted, data, "utf-8-sig", ",", _resolve)
    table = _parse_csv(io.BytesIO(data), label, mapping, "utf-8-sig", ",", infer_types, header,
                       header != found.header)
    return SourceTable(table, label, "spreadsheet", mapping, found.notes + tuple(notes),
                       np.asarray(found.row_numbers, dtype=np.int64))


def _read_csv(path: Path, wanted: Sequence[str] | None, encoding: str, delimiter: str | None,
              infer_types: bool = False) -> SourceTable:
    codec, delim, raw = read_csv_header(path, encoding, delimiter)
    header, mapping, notes = resolve_header(path.name, raw, wanted, path, codec, delim, _resolve)
    table = _parse_csv(path, path.name, mapping, codec, delim, infer_types, header, header != raw)
    return SourceTable(table, path.name, "csv", mapping, tuple(notes))


def _parse_csv(source: "Path | io.BytesIO", label: str, mapping: dict[str, str], codec: str, delim: str,
               infer_types: bool, header: list[str], renamed: bool) -> pa.Table:
    """The mapped columns of a CSV file (or its bytes) as text, or with types inferred; ``renamed``:
    the columns are read under ``header``'s names (repeated names made unique), not the file's."""
    import pyarrow.csv as pacsv

    cols = list(dict.fromkeys(mapping.values()))
    path = source if isinstance(source, Path) else None
    width = len(header)
    names = {"column_names": header, "skip_rows": 1} if renamed else {}
    try:
        table = pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(encoding="utf8" if codec == "utf-8-sig" else codec, **names),
            parse_options=pacsv.ParseOptions(delimiter=delim, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                include_columns=cols,
                column_types={} if infer_types else {c: pa.string() for c in cols},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as err:
        if path is not None and ("UTF8" in str(err) or isinstance(err, UnicodeDecodeError)):
            _decode_head(path, path.read_bytes(), codec)
        if path is not None and "Expected" in str(err) and "columns" in str(err):
            _ragged(path, codec, delim, width)
        raise InputDataError(
            f"{label}: could not be read as CSV ({err}). Check that the delimiter ({delim!r}) and the "
            "quoting are consistent, or pass --delimiter."
        ) from err
    if table.num_rows == 0:
        raise InputDataError(f"Data file {label!r} has a header but no rows.")
    if codec == "utf-8-sig" and table.column_names and table.column_names[0].startswith("\ufeff"):
        table = table.rename_columns([table.column_names[0][1:]] + table.column_names[1:])
    return table


#: Bytes read to find the header and check the encoding before the full read.
_HEAD_BYTES = 1 << 16


def _decode_head(path: Path, raw: bytes, codec: str, final: bool = True) -> str:
    """Decode ``raw``; with ``final=False`` a character cut off at the end is not an error."""
    try:
        return codecs.getincrementaldecoder(codec)().decode(raw, final=final)
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        bad = raw[err.start : err.start + 4]
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            advice = "The file starts with a UTF-16 byte-order mark: pass --encoding utf-16"
        else:
            advice = ("The file is probably in another encoding: try --encoding latin-1 (or cp1252 for files "
                      "saved by Excel on Windows)")
        raise InputDataError(
            f"{path.name!r} is not valid {codec.replace('-sig', '')}: byte {bad[:1]!r} on line {line} "
            f"(offset {err.start}) cannot be decoded. {advice}."
        ) from None


def _ragged(path: Path, codec: str, delim: str, width: int) -> None:
    """Raise an error naming the first row whose number of fields differs from the header's."""
    with open(path, encoding=codec, newline="") as fh:
        reader = csv.reader(fh, delimiter=delim)
        for record, fields in enumerate(reader, start=1):
            if fields and len(fields) != width:
                raise InputDataError(
                    f"{path.name}: row {record:,} (line {reader.line_num:,}; the header is row 1) has "
                    f"{len(fields)} fields but the header has {width}. A value probably contains the delimiter "
                    f"{delim!r} without quotes, or the row has a stray delimiter; fix that row (quote the value) "
                    "and run again."
                )


def _read_parquet(path: Path, wanted: Sequence[str] | None, *, as_levels: bool = False) -> SourceTable:
    """Read a Parquet file or folder.

    ``as_levels``: text columns are read as dictionary arrays straight from the file's own
    dictionary pages (no text is decoded or hashed per row); the audit only needs each
    column's distinct values and every row's code (:func:`auditkit.load.rows.encode_levels`).
    Model inputs (``infer_types``) get plain columns.
    """
    if path.is_dir():
        import pyarrow.dataset as ds

        def open_parquet(dictionary_columns: list[str]):  # type: ignore[no-untyped-def]
            fmt = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=dictionary_columns))
            return ds.dataset(str(path), format=fmt)

        def schema_of(handle):  # type: ignore[no-untyped-def]
            return handle.schema

        def read(handle, columns):  # type: ignore[no-untyped-def]
            return handle.to_table(columns=columns)
    else:
        import pyarrow.parquet as pq

        def open_parquet(dictionary_columns: list[str]):  # type: ignore[no-untyped-def]
            return pq.ParquetFile(str(path), read_dictionary=dictionary_columns or None)

        def schema_of(handle):  # type: ignore[no-untyped-def]
            return handle.schema_arrow

        def read(handle, columns):  # type: ignore[no-untyped-def]
            return handle.read(columns=columns)

    try:
        handle = open_parquet([])
        mapping, notes = _resolve(path.name, schema_of(handle).names, wanted)
        columns = list(dict.fromkeys(mapping.values()))
        schema = schema_of(handle)
        text = [c for c in columns if as_levels and (pa.types.is_string(schema.field(c).type)
                                                     or pa.types.is_large_string(schema.field(c).type))]
        if text:
            handle = open_parquet(text)
        table = read(handle, columns)
    except (pa.ArrowInvalid, OSError) as err:
        raise InputDataError(f"{path.name!r} could not be opened as Parquet: {str(err).rstrip('.')}.{_not_parquet(path)}") from err
    if table.num_rows == 0:
        raise InputDataError(f"Parquet data {path.name!r} has no rows.")
    return SourceTable(table, path.name, "parquet", mapping, tuple(notes))


def _not_parquet(path: Path) -> str:
    """Advice when a file named as Parquet is not one."""
    if path.is_dir():
        return ""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == b"PAR1":
        return " The file starts as Parquet but is cut short or damaged: ask for it again."
    if head.startswith(b"PK"):
        return " It is a zip archive (an .xlsx or .ods spreadsheet?): rename it to .xlsx and run again."
    return " If it is a CSV file, rename it to .csv and run again."


def _from_frame(frame: "pd.DataFrame", wanted: Sequence[str] | None) -> SourceTable:
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise InputDataError(
            f"The data must be a file path or a pandas DataFrame; got {type(frame).__name__}."
        )
    header = [str(c) for c in frame.columns]
    mapping, notes = _resolve("DataFrame", header, wanted)
    if len(frame) == 0:
        raise InputDataError("The DataFrame has no rows.")
    arrays = {}
    for name in dict.fromkeys(mapping.values()):
        series = frame[frame.columns[header.index(name)]]
        try:
            arrays[name] = pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # Mixed Python objects (numbers and blank strings): keep them as text.
            arrays[name] = pa.array([None if pd.isna(v) else str(v) for v in series], pa.string())
    return SourceTable(pa.table(arrays), "DataFrame", "dataframe", mapping, tuple(notes))
