"""Rows in batches, for scoring a model on data larger than memory.

:func:`iter_batches` yields pandas DataFrames of a bounded number of rows, so
that ``assess`` can score a file that does not fit in memory one batch at a
time and keep only the scores.  A progress bar goes to standard error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["iter_batches"]


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
        ``infer_types``) then sliced; ``duckdb``: one streaming query, CSV types sniffed by DuckDB;
        ``dask``: one partition at a time.
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
    wanted = list(dict.fromkeys(files.columns.values()))
    total = sum(files.rows) if files.rows else None
    bar = _bar(total, progress)
    try:
        for batch in _batches(files, wanted, engine, batch_rows, source, scheduler):
            bar.update(len(batch))
            yield batch
    finally:
        bar.close()


def _batches(files, wanted, engine, batch_rows, source, scheduler):  # type: ignore[no-untyped-def]
    if engine == "duckdb":
        yield from _duckdb_batches(files, wanted, batch_rows)
    elif engine == "dask":
        yield from _dask_batches(files, wanted, scheduler, batch_rows)
    elif files.kind == "parquet":
        import pyarrow.dataset as ds

        scanner = ds.dataset(list(files.paths), format="parquet").scanner(columns=wanted, batch_size=batch_rows)
        for batch in scanner.to_batches():
            if batch.num_rows:
                yield batch.to_pandas()
    else:
        from ..load.data import read_columns

        frame = read_columns(source, wanted, encoding=files.encoding.replace("-sig", ""),
                             delimiter=files.delimiter, infer_types=True).table.to_pandas()
        for start in range(0, len(frame), batch_rows):
            yield frame.iloc[start:start + batch_rows]


def _duckdb_batches(files, wanted, batch_rows):  # type: ignore[no-untyped-def]
    from ._duckdb import DuckDBScan, _literal, _quote

    scan = DuckDBScan(files)
    try:
        if files.kind == "csv":
            # Let DuckDB sniff the types (numbers for a model), as read_columns(infer_types=True) does;
            # DuckDBScan has checked that DuckDB reads the file's encoding.
            paths = "[" + ", ".join(_literal(p) for p in files.paths) + "]"
            encoding = "utf-16" if files.encoding.lower().startswith("utf-16") else (
                "latin-1" if "utf" not in files.encoding.lower() else "utf-8")
            scan.con.execute(f"CREATE OR REPLACE VIEW src AS SELECT * FROM read_csv({paths}, header = true, "
                             f"delim = {_literal(files.delimiter)}, encoding = '{encoding}')")
        names = ", ".join(_quote(c) for c in wanted)
        with scan._stream(f"SELECT {names} FROM src", {}, batch_rows) as batches:
            for batch in batches:
                yield batch.to_pandas()
    finally:
        scan.close()


def _dask_batches(files, wanted, scheduler, batch_rows):  # type: ignore[no-untyped-def]
    from ._dask import DaskScan

    scan = DaskScan(files, scheduler=scheduler)
    try:
        # One partition at a time comes to this process; a partition larger than a batch is sliced.
        for part in scan.parts:
            frame = scan.compute(part)[wanted]
            for start in range(0, len(frame), batch_rows):
                yield frame.iloc[start:start + batch_rows]
    finally:
        scan.close()


def _bar(total: int | None, show: bool):  # type: ignore[no-untyped-def]
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
    return tqdm(total=total, unit="rows", unit_scale=True, file=sys.stderr, desc="reading")
