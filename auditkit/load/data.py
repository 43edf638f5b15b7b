"""Read decision data and count tables: CSV, Parquet, or a pandas DataFrame.

Only the columns an audit needs are read.  Every problem a real file can have
(non-UTF-8 bytes, duplicate or misspelt column names, an empty file) becomes an
:class:`~auditkit.exceptions.InputDataError` that names the file and column and
says how to fix it.  Values are read as text: deciding what a value means is
the job of :mod:`auditkit.load.rows`.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

import pyarrow as pa

from .._text import did_you_mean, list_values, normalise_name
from ..exceptions import InputDataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Source", "SourceTable", "read_columns"]

Source = Union[str, os.PathLike, "pd.DataFrame"]

_CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
_PARQUET_SUFFIXES = {".parquet", ".pq", ".parq"}


@dataclass(frozen=True)
class SourceTable:
    """The columns read from one source, with where they came from."""

    table: pa.Table
    label: str
    kind: str
    columns: dict[str, str]
    notes: tuple[str, ...] = ()


def read_columns(
    source: Source,
    wanted: Sequence[str],
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> SourceTable:
    """Read the ``wanted`` columns of ``source`` as a pyarrow Table.

    ``columns`` maps each wanted name to the file's own spelling of it (a
    header's trailing space or double inner space is matched, and noted).
    """
    wanted = list(dict.fromkeys(wanted))
    if not isinstance(source, (str, os.PathLike)):
        return _from_frame(source, wanted)
    path = Path(source)
    if not path.exists():
        hint = did_you_mean(path.name, [p.name for p in path.parent.glob("*")]) if path.parent.exists() else ""
        raise InputDataError(f"Data file {str(path)!r} does not exist.{hint}")
    suffix = path.suffix.lower()
    if path.is_dir() or suffix in _PARQUET_SUFFIXES:
        return _read_parquet(path, wanted)
    if suffix in {".xlsx", ".xls", ".ods"}:
        raise InputDataError(
            f"{path.name!r} is a spreadsheet; auditkit reads CSV and Parquet. Save the sheet as "
            "CSV (UTF-8) from the spreadsheet program and pass that file."
        )
    if suffix not in _CSV_SUFFIXES:
        raise InputDataError(
            f"Cannot tell the format of {path.name!r} from its extension {suffix!r}: "
            "expected .csv, .tsv, .txt or .parquet (or a folder of Parquet files)."
        )
    return _read_csv(path, wanted, encoding or "utf-8", delimiter)


def _resolve(label: str, header: Sequence[str], wanted: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Map wanted names to header names; exact first, then whitespace/case-insensitive."""
    dupes = [name for name, k in Counter(header).items() if k > 1]
    if dupes:
        raise InputDataError(
            f"{label}: the header has duplicate column names {list_values(dupes)}. A table with "
            "two columns of the same name cannot be read unambiguously; rename one of them."
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
        shown = [h for h in header if h.strip() and not h.startswith("Unnamed:")]
        raise InputDataError(
            f"{label}: no column named {w!r}.{did_you_mean(w, shown)} "
            f"The columns are: {list_values(shown, limit=30)}."
        )
    return mapping, notes


def _read_csv(path: Path, wanted: Sequence[str], encoding: str, delimiter: str | None) -> SourceTable:
    import pyarrow.csv as pacsv

    raw = path.read_bytes()[: 1 << 16]
    if not raw.strip():
        raise InputDataError(f"Data file {path.name!r} is empty: it has no header and no rows.")
    codec = "utf-8-sig" if encoding.replace("_", "-").lower() in {"utf-8", "utf8"} else encoding
    head = _decode_head(path, raw, codec)
    first_line = head.splitlines()[0] if head.splitlines() else ""
    delim = delimiter or max(",;\t|", key=first_line.count)
    header = next(csv.reader(io.StringIO(head), delimiter=delim))
    mapping, notes = _resolve(path.name, header, wanted)
    cols = list(dict.fromkeys(mapping.values()))
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding="utf8" if codec == "utf-8-sig" else codec),
            parse_options=pacsv.ParseOptions(delimiter=delim, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                include_columns=cols,
                column_types={c: pa.string() for c in cols},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as err:
        if "UTF8" in str(err) or isinstance(err, UnicodeDecodeError):
            _decode_head(path, path.read_bytes(), codec)
        raise InputDataError(f"{path.name}: could not be read as CSV ({err}).") from err
    if table.num_rows == 0:
        raise InputDataError(f"Data file {path.name!r} has a header but no rows.")
    if codec == "utf-8-sig" and table.column_names and table.column_names[0].startswith("\ufeff"):
        table = table.rename_columns([table.column_names[0][1:]] + table.column_names[1:])
    return SourceTable(table, path.name, "csv", mapping, tuple(notes))


def _decode_head(path: Path, raw: bytes, codec: str) -> str:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        bad = raw[err.start : err.start + 4]
        raise InputDataError(
            f"{path.name!r} is not valid {codec.replace('-sig', '')}: byte {bad[:1]!r} on line {line} "
            f"(offset {err.start}) cannot be decoded. The file is probably in another encoding; "
            "try --encoding latin-1 (or cp1252 for files saved by Excel on Windows)."
        ) from None


def _read_parquet(path: Path, wanted: Sequence[str]) -> SourceTable:
    import pyarrow.dataset as ds

    try:
        dataset = ds.dataset(str(path), format="parquet")
    except (pa.ArrowInvalid, OSError) as err:
        raise InputDataError(f"{path.name!r} could not be opened as Parquet: {err}") from err
    mapping, notes = _resolve(path.name, dataset.schema.names, wanted)
    table = dataset.to_table(columns=list(dict.fromkeys(mapping.values())))
    if table.num_rows == 0:
        raise InputDataError(f"Parquet data {path.name!r} has no rows.")
    return SourceTable(table, path.name, "parquet", mapping, tuple(notes))


def _from_frame(frame: "pd.DataFrame", wanted: Sequence[str]) -> SourceTable:
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
