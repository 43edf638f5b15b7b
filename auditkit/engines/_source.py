"""Where the rows are, found without reading them: files, format, header, column names.

The out-of-core engines must give the same messages as
:func:`auditkit.load.data.read_columns` for the same mistakes (a missing
file, a misspelt column, an unknown encoding), so this module runs the same
checks with the same helpers on what can be known without reading the rows: a
CSV file's first 64 KiB, a Parquet file's footer.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from .._text import did_you_mean
from ..exceptions import InputDataError
from ..load._header import resolve_header
from ..load._spreadsheet import SPREADSHEET_SUFFIXES
from ..load.data import (
    _CSV_SUFFIXES,
    _PARQUET_SUFFIXES,
    _check_delimiter,
    _check_encoding,
    check_file_kind,
    _decode_head,
    _not_parquet,
    _ragged,
    _resolve,
    read_csv_header,
)

__all__ = ["Files", "column_format", "csv_read_error", "open_files", "source_kind"]

_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class Files:
    """One source of rows: its files in the order the in-memory path concatenates them."""

    kind: str
    paths: tuple[str, ...]
    label: str
    #: Wanted column name -> the file's own spelling of it.
    columns: dict[str, str]
    notes: tuple[str, ...]
    #: Every column name of the file, in order.
    header: tuple[str, ...]
    delimiter: str = ","
    #: Codec Python knows ('utf-8-sig' for UTF-8, which skips a byte-order mark).
    encoding: str = "utf-8-sig"
    #: Parquet: the schema's type of each column; CSV values are text.
    types: dict[str, pa.DataType] = field(default_factory=dict)
    #: Parquet: rows of each file, from the footers.
    rows: tuple[int, ...] = ()

    def is_text(self, column: str) -> bool:
        """True when ``column`` (the file's spelling) holds text rather than numbers."""
        if self.kind == "csv":
            return True
        kind = self.types[column]
        return not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind))


def source_kind(source: str | os.PathLike) -> str:
    """'csv', 'parquet' or 'spreadsheet': how :func:`open_files` will read ``source``."""
    path = Path(source)
    if not path.exists() and any(c in str(source) for c in _GLOB_CHARS):
        matches = sorted(glob.glob(str(source), recursive=True))
        path = Path(matches[0]) if matches else path
    if path.suffix.lower() in SPREADSHEET_SUFFIXES and not path.is_dir():
        return "spreadsheet"
    return "csv" if path.suffix.lower() in _CSV_SUFFIXES and not path.is_dir() else "parquet"


def open_files(source: str | os.PathLike, wanted: Sequence[str] | None, *, encoding: str | None = None,
               delimiter: str | None = None, sheet: str | int | None = None,
               header_row: int | None = None) -> Files:
    """Find the files of ``source`` (a file, a folder of Parquet files or a glob) and resolve ``wanted``.

    Raises the same :class:`~auditkit.exceptions.InputDataError` as
    :func:`auditkit.load.data.read_columns` for a missing file, an unknown
    extension, a misspelt or duplicate column.  A spreadsheet is read once
    (:func:`auditkit.load._spreadsheet.read_sheet`) and its table handed on as a
    temporary CSV file, which the engines count like any other.
    """
    text = os.fspath(source)
    path = Path(text)
    wanted = None if wanted is None else list(dict.fromkeys(wanted))
    if not path.exists() and any(c in text for c in _GLOB_CHARS):
        matches = tuple(sorted(p for p in glob.glob(text, recursive=True) if Path(p).is_file()))
        if not matches:
            raise InputDataError(f"No file matches {text!r}. Check the folder and the pattern "
                                 "(e.g. 'exports/*.parquet').")
        suffixes = {Path(p).suffix.lower() for p in matches}
        if suffixes <= _CSV_SUFFIXES:
            return _csv(matches, path.name, wanted, encoding, delimiter)
        if suffixes <= _PARQUET_SUFFIXES:
            return _parquet(list(matches), path.name, wanted)
        raise InputDataError(f"{text!r} matches files of several kinds ({', '.join(sorted(suffixes))}); make the "
                             "pattern match only CSV or only Parquet files.")
    if not path.exists():
        hint = did_you_mean(path.name, [p.name for p in path.parent.glob("*")]) if path.parent.exists() else ""
        raise InputDataError(f"Data file {str(path)!r} does not exist.{hint}")
    suffix = path.suffix.lower()
    check_file_kind(path, sheet, header_row)
    if path.is_dir() or suffix in _PARQUET_SUFFIXES:
        return _parquet(str(path), path.name, wanted)
    if suffix in SPREADSHEET_SUFFIXES:
        return _sheet(path, wanted, sheet, header_row)
    return _csv((str(path),), path.name, wanted, encoding, delimiter)


def _sheet(path: Path, wanted: Sequence[str] | None, sheet: str | int | None, header_row: int | None) -> Files:
    """A spreadsheet's table as a temporary CSV file: the same text and header checks as the in-memory reader."""
    from ._sheet_cache import sheet_as_csv

    csv_path, label, sheet_notes = sheet_as_csv(path, sheet, header_row)
    codec, delim, raw = read_csv_header(csv_path, "utf-8", ",")
    header, mapping, notes = resolve_header(label, raw, wanted, csv_path, codec, delim, _resolve)
    return Files("csv", (str(csv_path),), label, mapping, sheet_notes + tuple(notes), tuple(header),
                 delimiter=delim, encoding=codec)


def _parquet(where: str | list[str], label: str, wanted: Sequence[str] | None) -> Files:
    import pyarrow.dataset as ds

    try:
        dataset = ds.dataset(where, format="parquet")
        rows = tuple(fragment.metadata.num_rows for fragment in dataset.get_fragments())
    except (pa.ArrowInvalid, OSError) as err:
        advice = _not_parquet(Path(where)) if isinstance(where, str) else ""
        raise InputDataError(f"{label!r} could not be opened as Parquet: {str(err).rstrip('.')}.{advice}") from err
    mapping, notes = _resolve(label, dataset.schema.names, wanted)
    if sum(rows) == 0:
        raise InputDataError(f"Parquet data {label!r} has no rows.")
    types = {name: dataset.schema.field(name).type for name in dataset.schema.names}
    return Files("parquet", tuple(dataset.files), label, mapping, tuple(notes), tuple(dataset.schema.names),
                 types=types, rows=rows)


def _csv(paths: tuple[str, ...], label: str, wanted: Sequence[str] | None, encoding: str | None,
         delimiter: str | None) -> Files:
    """The header of the first file, read and checked as :func:`auditkit.load.data._read_csv` does."""
    encoding = _check_encoding(encoding or "utf-8")
    delimiter = _check_delimiter(delimiter)
    first = Path(paths[0])
    codec, delim, raw = read_csv_header(first, encoding, delimiter)
    name = first.name if len(paths) == 1 else label
    header, mapping, notes = resolve_header(name, raw, wanted, first, codec, delim, _resolve)
    return Files("csv", paths, name, mapping, tuple(notes), tuple(header),
                 delimiter=delim, encoding=codec)


def csv_read_error(files: Files, err: Exception) -> InputDataError:
    """The message the in-memory reader gives when a CSV file cannot be parsed (bad bytes, ragged rows)."""
    for name in files.paths:
        _check_bytes(Path(name), files.encoding)
        _ragged(Path(name), files.encoding, files.delimiter, len(files.header))
    return InputDataError(
        f"{files.label}: could not be read as CSV ({err}). Check that the delimiter ({files.delimiter!r}) and the "
        "quoting are consistent, or pass --delimiter."
    )


def _check_bytes(path: Path, codec: str, block: int = 1 << 24) -> None:
    """Raise the in-memory reader's message for the first byte that ``codec`` cannot decode.

    The file is decoded in blocks cut at line ends, so that a file larger than
    memory is checked without being loaded; lines and offsets in the message
    count from the start of the file, as the in-memory reader's do.
    """
    if codec.lower().replace("_", "-").startswith("utf-16"):
        _decode_head(path, path.read_bytes(), codec)  # no safe line boundary to cut at
        return
    lines = offset = 0
    pending = b""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(block)
            data = pending + chunk
            cut = data.rfind(b"\n") + 1 if chunk else len(data)
            unit, pending = data[:cut], data[cut:]
            try:
                _decode_head(path, unit, codec if offset == 0 else codec.replace("-sig", ""))
            except InputDataError as err:
                raise _shift(err, lines, offset) from None
            lines += unit.count(b"\n")
            offset += len(unit)
            if not chunk:
                return


def _shift(err: InputDataError, lines: int, offset: int) -> InputDataError:
    """The message of ``err`` with its line and offset counted from the start of the file."""
    import re

    text = str(err)
    text = re.sub(r"on line (\d+)", lambda m: f"on line {int(m.group(1)) + lines}", text, count=1)
    text = re.sub(r"\(offset (\d+)\)", lambda m: f"(offset {int(m.group(1)) + offset})", text, count=1)
    return InputDataError(text)


def column_format(files: Files, spec: object) -> object:
    """The number format of ``spec.score`` in ``files``, decided on the whole column as the in-memory
    reader decides it (:func:`auditkit.engines._memory.score_format`): the column alone is streamed."""
    from ..load._numbers import detect_format, distinct_texts

    column = files.columns[spec.score]  # type: ignore[attr-defined]
    return detect_format(distinct_texts(_column_batches(files, column)), label=files.label,
                         column=spec.score, decimal=spec.decimal, thousands=spec.thousands)  # type: ignore[attr-defined]


def _column_batches(files: Files, column: str):  # type: ignore[no-untyped-def]
    """Batches of one column of every file, read with bounded memory."""
    if files.kind == "parquet":
        import pyarrow.parquet as pq

        for name in files.paths:
            with pq.ParquetFile(name) as handle:
                for batch in handle.iter_batches(columns=[column]):
                    yield batch.column(0)
        return
    import pyarrow.csv as pacsv

    for name in files.paths:
        try:
            stream = pacsv.open_csv(
                name,
                read_options=pacsv.ReadOptions(encoding="utf8" if files.encoding == "utf-8-sig" else files.encoding,
                                               column_names=list(files.header), skip_rows=1),
                parse_options=pacsv.ParseOptions(delimiter=files.delimiter, newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(include_columns=[column], column_types={column: pa.string()}),
            )
            for batch in stream:
                yield batch.column(0)
        except (pa.ArrowInvalid, UnicodeDecodeError) as err:
            raise csv_read_error(files, err) from None
