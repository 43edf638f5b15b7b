"""Rows in batches, for scoring a model on data larger than memory.

:func:`iter_batches` yields pandas DataFrames of a bounded number of rows, so
that ``assess`` can score a file that does not fit in memory one batch at a
time and keep only the scores.  A progress bar goes to standard error.

Column types are those the in-memory reader gives a model
(:func:`auditkit.load.data.read_columns` with ``infer_types``): Parquet keeps
its schema; a CSV file's types are inferred by pyarrow, from the whole file
with the pandas engine and from its first 16 MiB with DuckDB and Dask, which
read the text and convert each batch to those types (blank text stays ``""``
in text columns and is missing in the others, as in memory).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from ..exceptions import InputDataError

if TYPE_CHECKING:
    import pandas as pd

    from ._source import Files

__all__ = ["batch_tables", "iter_batches"]

#: Bytes of a CSV file from which DuckDB and Dask batches take their column types.
_INFER_BYTES = 1 << 24


def iter_batches(source: str | os.PathLike, columns: Sequence[str] | None, engine: str, *,
                 batch_rows: int = 100_000, progress: bool = True, encoding: str | None = None,
                 delimiter: str | None = None, scheduler: str | None = None) -> Iterator[pd.DataFrame]:
    """The ``columns`` of ``source`` as pandas DataFrames of at most ``batch_rows`` rows, in file order.

    Parameters
    ----------
    source : str or os.PathLike
        A CSV or Parquet file, a folder of Parquet files, or a glob.
    columns : sequence of str or None
        Columns to read (matched as :func:`auditkit.load.data.read_columns` matches them, with
        'Did you mean'); None reads every column.  Batches use the file's spelling of each name.
    engine : {'pandas', 'duckdb', 'dask'}
        ``pandas``: Parquet row groups through pyarrow, CSV read whole (as ``read_columns`` with
        ``infer_types``) then sliced; ``duckdb``: one streaming query; ``dask``: one partition at a
        time.  CSV types: see the module's docstring.
    batch_rows : int
        Largest batch (Dask partitions are not split: one partition is one batch).
    progress : bool
        Show a tqdm progress bar on standard error.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = path.write_text("x,y\\n1,a\\n2,b\\n3,c\\n")
    >>> [len(b) for b in iter_batches(path, ["x"], "pandas", batch_rows=2, progress=False)]
    [2, 1]
    """
    from . import check_engine
    from ._source import open_files

    check_engine(engine, scheduler)
    if not isinstance(batch_rows, int) or batch_rows < 1:
        from ..exceptions import UsageError

        raise UsageError(f"batch_rows must be a positive whole number; got {batch_rows!r}.")
    files = open_files(source, columns, encoding=encoding, delimiter=delimiter)
    for table in batch_tables(files, engine, batch_rows=batch_rows, progress=progress, scheduler=scheduler):
        yield table.to_pandas()


def batch_tables(files: Files, engine: str, *, batch_rows: int, progress: bool = False,
                 scheduler: str | None = None, desc: str = "reading") -> Iterator[pa.Table]:
    """The wanted columns of ``files`` (:func:`~auditkit.engines._source.open_files`) as pyarrow tables
    of at most ``batch_rows`` rows, in file order, every batch with the same schema."""
    wanted = list(dict.fromkeys(files.columns.values()))
    total = sum(files.rows) if files.rows else None
    bar = _bar(total, progress, desc)
    try:
        for batch in _batches(files, wanted, engine, batch_rows, scheduler):
            bar.update(batch.num_rows)
            yield batch
    finally:
        bar.close()


def _batches(files: Files, wanted: list[str], engine: str, batch_rows: int,
             scheduler: str | None) -> Iterator[pa.Table]:
    if engine == "duckdb":
        yield from _duckdb_batches(files, wanted, batch_rows)
    elif engine == "dask":
        yield from _dask_batches(files, wanted, scheduler, batch_rows)
    elif files.kind == "parquet":
        import pyarrow.dataset as ds

        scanner = ds.dataset(list(files.paths), format="parquet").scanner(columns=wanted, batch_size=batch_rows)
        for batch in scanner.to_batches():
            if batch.num_rows:
                yield pa.Table.from_batches([batch])
    else:
        yield from _csv_in_memory(files, wanted, batch_rows)


def _csv_in_memory(files: Files, wanted: list[str], batch_rows: int) -> Iterator[pa.Table]:
    from ..load.data import read_columns

    for path in files.paths:
        table = read_columns(path, wanted, encoding=files.encoding.replace("-sig", ""),
                             delimiter=files.delimiter, infer_types=True).table
        for start in range(0, table.num_rows, batch_rows):
            yield table.slice(start, batch_rows)


def _duckdb_batches(files: Files, wanted: list[str], batch_rows: int) -> Iterator[pa.Table]:
    from . import _int_env
    from ._duckdb import DuckDBScan, _quote

    schema = csv_schema(files, wanted) if files.kind == "csv" else None
    scan = DuckDBScan(files, memory_limit=os.environ.get("AUDITKIT_DUCKDB_MEMORY_LIMIT"),
                      threads=_int_env("AUDITKIT_DUCKDB_THREADS"))
    try:
        # The scan's view reads a CSV file as text, exactly as the counting queries do; the text
        # is then given the types pyarrow infers (below), so that a model sees what it sees in memory.
        names = ", ".join(f"{scan._col(c)} AS {_quote(c)}" for c in wanted)
        with scan._stream(f"SELECT {names} FROM src", {}, batch_rows) as batches:
            for batch in batches:
                table = pa.Table.from_batches([batch])
                yield table if schema is None else typed(table, schema, files.label)
    finally:
        scan.close()


def _dask_batches(files: Files, wanted: list[str], scheduler: str | None, batch_rows: int) -> Iterator[pa.Table]:
    from ._dask import DaskScan

    schema = csv_schema(files, wanted) if files.kind == "csv" else None
    scan = DaskScan(files, scheduler=scheduler)
    try:
        # One partition at a time comes to this process; a partition larger than a batch is sliced.
        for part in scan.parts:
            table = pa.Table.from_pandas(scan.compute(part)[wanted], preserve_index=False)
            if schema is not None:
                table = typed(table, schema, files.label)
            for start in range(0, table.num_rows, batch_rows):
                yield table.slice(start, batch_rows)
    finally:
        scan.close()


def csv_schema(files: Files, wanted: Sequence[str]) -> pa.Schema:
    """The types pyarrow's CSV reader infers for ``wanted`` from the first 16 MiB of the first file.

    A column that is blank there (inferred as null), or of a type pyarrow cannot convert text to
    batch by batch, is kept as text.
    """
    import pyarrow.csv as pacsv

    codec = files.encoding
    try:
        reader = pacsv.open_csv(
            files.paths[0],
            read_options=pacsv.ReadOptions(encoding="utf8" if codec == "utf-8-sig" else codec,
                                           block_size=_INFER_BYTES),
            parse_options=pacsv.ParseOptions(delimiter=files.delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, UnicodeDecodeError) as err:
        from ._source import csv_read_error

        raise csv_read_error(files, err) from err
    inferred = reader.schema
    reader.close()
    fields = []
    for name in wanted:
        kind = inferred.field(files.header.index(name)).type
        try:
            pa.array([], pa.string()).cast(kind)
        except pa.ArrowNotImplementedError:  # e.g. times of day: pyarrow cannot convert text to them later
            kind = pa.null()
        fields.append(pa.field(name, pa.string() if pa.types.is_null(kind) else kind))
    return pa.schema(fields)


def typed(table: pa.Table, schema: pa.Schema, label: str) -> pa.Table:
    """Text columns of a CSV batch converted to ``schema`` as pyarrow's CSV reader converts them."""
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    options = pacsv.ConvertOptions()
    columns = []
    for field in schema:
        text = table.column(field.name).cast(pa.string())
        if pa.types.is_string(field.type):
            columns.append(text.fill_null(""))
            continue
        blank = pc.is_in(text, value_set=pa.array(options.null_values)).fill_null(True)
        text = pc.if_else(blank, pa.scalar(None, pa.string()), text)
        if pa.types.is_boolean(field.type):
            true, false = pc.is_in(text, pa.array(options.true_values)), pc.is_in(text, pa.array(options.false_values))
            bad = pc.invert(pc.or_(true, false))
            if pc.any(bad.fill_null(False)).as_py():
                _not_of_type(text, bad, field, label)
            columns.append(pc.if_else(text.is_null(), pa.scalar(None, pa.bool_()), true))
            continue
        try:
            columns.append(text.cast(field.type))
        except pa.ArrowInvalid:
            bad = pa.chunked_array([pa.array([_fails(v, field.type) for v in text.to_pylist()])])
            _not_of_type(text, bad, field, label)
    return pa.Table.from_arrays(columns, schema=schema)


def _fails(value: str | None, kind: pa.DataType) -> bool:
    if value is None:
        return False
    try:
        pa.scalar(value).cast(kind)
    except pa.ArrowInvalid:
        return True
    return False


def _not_of_type(text: pa.ChunkedArray, bad: pa.ChunkedArray, field: pa.Field, label: str) -> None:
    import pyarrow.compute as pc

    value = pc.filter(text, bad.fill_null(False))[0].as_py()
    raise InputDataError(
        f"{label}: column {field.name!r} holds {value!r}, but its first rows made it a column of type "
        f"{field.type} (the type is taken from the first 16 MiB of the file when it is read in batches). "
        "Convert the file to Parquet with the column's type, fix the value, or use --engine pandas, which "
        "reads the whole file before deciding.")


def _bar(total: int | None, show: bool, desc: str = "reading"):  # type: ignore[no-untyped-def]
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is in the 'models' extra; without it, no bar
        show = False
    if not show:
        class _Quiet:
            def update(self, n: int) -> None:
                pass

            def close(self) -> None:
                pass

        return _Quiet()
    return tqdm(total=total, unit="rows", unit_scale=True, file=sys.stderr, desc=desc)
