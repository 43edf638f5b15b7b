"""Dask: count the partitions of a Dask dataframe where they are, locally or on a cluster.

The files become a Dask dataframe (one partition per Parquet row group, or per
block of a CSV file).  Each question of :class:`~auditkit.engines._plan.Scan`
is one task per partition, running a function of :mod:`._tasks`, whose small
answers (counts by value combination, a few numbers) are combined here.

On a cluster (``scheduler`` given) :mod:`._tasks` is sent to the workers by
value, so they need numpy, pandas and pyarrow but not auditkit, and what runs
there is that one module.  Workers read the files themselves: the paths must
be reachable from every worker (a shared file system or mount).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from ..exceptions import EngineError
from . import _tasks
from ._plan import Scan
from ._source import Files, csv_read_error
from ._tasks import ColumnIn, ScoreRule

__all__ = ["DaskScan"]

#: Bytes of CSV per partition: small enough that a few partitions fit in a worker's memory at once.
_CSV_BLOCK = 64 * 1024 * 1024


class DaskScan(Scan):
    """The rows of ``files`` as a Dask dataframe, computed by ``scheduler`` (or this process's Dask default).

    Parameters
    ----------
    files : Files
        What :func:`~auditkit.engines._source.open_files` found.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``, ``tls://...``); the connection is closed
        when :meth:`close` is called.
    """

    def __init__(self, files: Files, *, scheduler: str | None = None) -> None:
        try:
            import dask
            import dask.dataframe  # noqa: F401  (the dataframe extra must be installed)
        except ImportError:
            raise EngineError("The dask engine needs Dask: pip install 'auditkit[dask]'.") from None
        super().__init__(files)
        self._dask = dask
        self.client = None
        if scheduler:
            self.client = _connect(scheduler)
        self.frame = self._frame()
        self._parts: list | None = None

    @property
    def parts(self) -> list:
        """The partitions as delayed objects, in file order (the graph is optimised once)."""
        if self._parts is None:
            self._parts = list(self.frame.to_delayed())
        return self._parts

    def close(self) -> None:
        """Close the connection to the scheduler, if this scan opened one."""
        if self.client is not None:
            self.client.close()


    def _frame(self) -> Any:
        import dask.dataframe as dd
        import pandas as pd

        columns = list(dict.fromkeys(self.files.columns.values()))
        if self.files.kind == "parquet":
            import pyarrow.parquet as pq

            pieces = []
            for path in self.files.paths:
                with pq.ParquetFile(path) as handle:
                    pieces += [(path, i) for i in range(handle.metadata.num_row_groups)]
            schema = pa.schema([pa.field(c, self.files.types[c]) for c in columns])
            meta = schema.empty_table().to_pandas(types_mapper=pd.ArrowDtype)
            return dd.from_map(_tasks.read_row_group, pieces, names=tuple(columns), meta=meta, enforce_metadata=False)
        _check_fields(self.files)
        positions = {f"c{self.files.header.index(c)}": c for c in columns}
        frame = dd.read_csv(list(self.files.paths), sep=self.files.delimiter, header=0,
                            names=[f"c{i}" for i in range(len(self.files.header))], usecols=list(positions),
                            dtype=str, keep_default_na=False, na_filter=False, encoding=self.files.encoding,
                            quotechar='"', doublequote=True, blocksize=_CSV_BLOCK)
        return frame.rename(columns=positions)

    def compute(self, *tasks: Any) -> Any:
        """Results of ``tasks`` (one, or a list for several), from the cluster or local threads."""
        import pandas as pd

        try:
            if self.client is not None:
                out = self.client.compute(list(tasks), sync=True)
            else:
                out = list(self._dask.compute(*tasks))
        except (pd.errors.ParserError, UnicodeDecodeError) as err:
            raise csv_read_error(self.files, err) from err
        return out[0] if len(tasks) == 1 else out

    def _each(self, func: Any, *args: Any) -> list:
        """``func(partition, *args)`` for every partition, in file order."""
        from dask import delayed

        tasks = [delayed(func, pure=True)(p, *args) for p in self.parts]
        return self.compute(*tasks) if len(tasks) > 1 else [self.compute(tasks[0])]

    def counts(self, keys: Sequence[str], rule: ScoreRule | None) -> pa.Table:
        """Counts by ``keys`` (and score class) per partition, summed."""
        names = [*keys, "_s"] if rule is not None else list(keys)
        return _sum(self._each(_tasks.partition_counts, list(keys), rule), names)

    def kth_largest(self, conds: Sequence[ColumnIn], rule: ScoreRule, k: int, n: int) -> float:
        """The k-th largest score: a bound from per-partition quantiles, then the exact value among the
        scores above it (about 2k values travel, not every score)."""
        sketches = [s for s in self._each(_tasks.partition_quantiles, list(conds), rule) if s[0] > 0]
        total = sum(int(s[0]) for s in sketches)
        level = int(math.floor(max(0.0, 1 - 2 * k / total) * 100))
        bound = min(float(s[1 + level]) for s in sketches)
        for attempt in (bound, -math.inf):
            found = np.concatenate(self._each(_tasks.partition_scores_above, list(conds), rule, attempt))
            if len(found) >= k:
                return float(np.partition(found, len(found) - k)[len(found) - k])
        raise EngineError("Dask found fewer scores than rows to select; please report this.")

    def first_tied(self, keys: Sequence[str], conds: Sequence[ColumnIn], rule: ScoreRule, need: int) -> pa.Table:
        """The first ``need`` tied rows: each partition's quota from the tied counts before it."""
        from dask import delayed

        tied = self._each(_tasks.partition_tied, list(conds), rule)
        quotas = np.minimum(tied, np.maximum(0, need - (np.cumsum(tied) - tied)))
        tasks = [delayed(_tasks.partition_first_tied, pure=True)(self.parts[i], list(keys), list(conds), rule, int(q))
                 for i, q in enumerate(quotas) if q > 0]
        results = self.compute(*tasks)
        return _sum(results if len(tasks) > 1 else [results], list(keys))

    def _offsets(self, results: list) -> np.ndarray:
        """Number (as messages count) of the first row of each partition."""
        lengths = np.array([r[0] for r in results], dtype=np.int64)
        return np.concatenate([[0], np.cumsum(lengths)[:-1]]) + (2 if self.files.kind == "csv" else 1)

    def first_row(self, conds: Sequence[ColumnIn], rule: ScoreRule | None, classes: Sequence[int]) -> int:
        """The first row meeting ``conds`` with a score class in ``classes``."""
        results = self._each(_tasks.partition_first_row, list(conds), rule, list(classes))
        starts = self._offsets(results)
        return next(int(start + pos) for start, (_, pos) in zip(starts, results) if pos >= 0)

    def persons(self, person: str, keys: Sequence[str], rule: ScoreRule | None, combos: pa.Table,
                example: str | None = None) -> pa.Table:
        """Per-person aggregates: partial aggregates per partition, combined by person (a shuffle, since a
        person's rows may lie in several partitions), then counted by their values."""
        import dask.dataframe as dd
        import pandas as pd
        from dask import delayed

        parts = [delayed(_tasks.partition_persons, pure=True)(p, person, list(keys), rule, combos) for p in self.parts]
        meta = pd.DataFrame({"_blank": pd.Series([], dtype=bool), "__p": pd.Series([], dtype=object),
                             **{c: pd.Series([], dtype=np.int64) for c in _AGG}})
        frame = dd.from_delayed(parts, meta=meta, verify_meta=False)
        per = frame.groupby(["_blank", "__p"]).agg(_AGG, split_out=max(1, len(parts) // 8)).reset_index()
        if example is not None:
            hit = per.map_partitions(_kind, example, meta=per._meta)
            found = sorted(str(p) for p in self.compute(hit["__p"]).tolist())[:3]
            return pa.table({"_p": pa.array(found, pa.string())})
        columns = ["_blank", *_AGG]
        counted = self.compute(per.groupby(columns).size().to_frame("_n").reset_index())
        table = pa.Table.from_pandas(counted, preserve_index=False)
        return table.select([*columns, "_n"])

    def bad_scores(self, conds: Sequence[ColumnIn], rule: ScoreRule) -> tuple[list[tuple[str, list[int], int]], int]:
        """Scores that are not numbers, merged over the partitions in file order."""
        results = self._each(_tasks.partition_bad_scores, list(conds), rule)
        found: dict[str, list] = {}
        for start, (_, entries) in zip(self._offsets(results), results):
            for text, rows, n in entries:
                entry = found.setdefault(text, [[], 0])
                entry[0] = (entry[0] + [int(start + r) for r in rows])[:3]
                entry[1] += n
        return [(v, rows, n) for v, (rows, n) in list(found.items())[:9]], sum(n for _, n in found.values())


#: How each per-person partial aggregate combines over partitions.
_AGG = {"_rows": "sum", "_key": "max", "_mask": "sum", "_unsel": "max", "_gmin": "min", "_gmax": "max"}


def _check_fields(files: Files) -> None:
    """Refuse a CSV file with a row whose number of fields is not the header's, as the other engines do.

    pandas' reader, which Dask's uses, drops the extra fields of a row when only some columns are read,
    and fills the missing fields of a short row with blanks: either row would be counted, silently, with
    values from the wrong columns or as missing.  One pass of pyarrow's streaming reader (which refuses
    such a row) over each file, keeping one column; the message then names the row as the in-memory
    reader's does (:func:`~auditkit.engines._source.csv_read_error`).
    """
    import pyarrow.csv as pacsv

    width = len(files.header)
    names = [f"c{i}" for i in range(width)]
    codec = "utf8" if files.encoding == "utf-8-sig" else files.encoding
    for path in files.paths:
        try:
            reader = pacsv.open_csv(
                path, read_options=pacsv.ReadOptions(encoding=codec, column_names=names, skip_rows=1,
                                                     block_size=1 << 24),
                parse_options=pacsv.ParseOptions(delimiter=files.delimiter, newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(include_columns=names[:1], column_types={names[0]: pa.string()}))
            for _ in reader:
                pass
        except (pa.ArrowInvalid, UnicodeDecodeError) as err:
            raise csv_read_error(files, err) from err


def _kind(per: Any, example: str) -> Any:
    """The people of one partition of per-person aggregates who are of kind ``example``."""
    if example == "duplicate":
        bits = per["_mask"].to_numpy(dtype=np.int64).copy()
        count = np.zeros(len(per), dtype=np.int64)
        while bits.any():
            count += bits & 1
            bits >>= 1
        wrong = per["_rows"].to_numpy() > count
    else:
        wrong = per["_gmin"].to_numpy() != per["_gmax"].to_numpy()
    return per[wrong & ~per["_blank"].to_numpy(dtype=bool)]


def _connect(address: str) -> Any:
    """A client of the scheduler at ``address``; :mod:`._tasks` is shipped to the workers by value."""
    import cloudpickle
    from distributed import Client

    cloudpickle.register_pickle_by_value(_tasks)
    try:
        return Client(address, set_as_default=False, timeout="30s")
    except (OSError, TimeoutError) as err:
        raise EngineError(f"Could not reach the Dask scheduler at {address!r} ({err}). Check the address "
                          "(tcp://HOST:8786), that the scheduler runs, and that this machine may connect.") from err


def _concat(frames: list) -> pa.Table:
    tables = [pa.Table.from_pandas(f, preserve_index=False) for f in frames]
    return pa.concat_tables(tables, promote_options="permissive")


def _sum(frames: list, names: list[str]) -> pa.Table:
    """Per-partition counts by ``names`` summed into one table of ``names`` and ``_n``."""
    table = _concat(frames)
    grouped = table.group_by(names, use_threads=False).aggregate([("_n", "sum")])
    return pa.table({**{c: grouped.column(c) for c in names}, "_n": grouped.column("_n_sum")})
