"""DuckDB: count CSV and Parquet files larger than memory, with the group-by pushed into DuckDB.

Every question of :class:`~auditkit.engines._plan.Scan` is one SQL query over
a view of the files; the rows never enter Python.  DuckDB streams the files in
row groups (Parquet) or blocks (CSV), keeps one hash table of the distinct
value combinations (a few thousand rows) and, under ``memory_limit``, spills
what does not fit to a temporary folder that is removed afterwards.

File order, which decides ties at a top-k cut-off and which row a message
names, is read from DuckDB's insertion order: with ``preserve_insertion_order``
a scan's filtered rows come out in the order of the files and of the rows in
them, the order in which the in-memory path concatenates them.
"""

from __future__ import annotations

import codecs
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import pyarrow as pa

from ..exceptions import EngineError, InputDataError
from ._plan import Scan
from ._source import Files, csv_read_error
from ._tasks import BLANK, NOT_A_NUMBER, ColumnIn, ScoreRule

__all__ = ["DuckDBScan"]

#: Codecs DuckDB's CSV reader decodes itself; others would need an extension downloaded at run time.
_ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "iso8859-1": "latin-1", "utf-16": "utf-16"}
#: Whitespace that pyarrow's utf8_trim_whitespace removes around a score (ASCII part).
_SPACE = "chr(32) || chr(9) || chr(10) || chr(13) || chr(11) || chr(12)"
_BATCH = 1 << 20
#: Largest k ranked by DuckDB's top-N directly (it keeps k values in memory).
_TOP_N = 100_000


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


class DuckDBScan(Scan):
    """The rows of ``files`` seen through one in-memory DuckDB connection with bounded memory.

    Parameters
    ----------
    files : Files
        What :func:`~auditkit.engines._source.open_files` found.
    memory_limit : str, optional
        DuckDB's ``memory_limit`` (e.g. ``'4GB'``); default DuckDB's own (80% of RAM).
    threads : int, optional
        Threads DuckDB may use; default one per core.
    """

    def __init__(self, files: Files, *, memory_limit: str | None = None, threads: int | None = None) -> None:
        try:
            import duckdb
        except ImportError:
            raise EngineError("The duckdb engine needs the duckdb package: pip install 'auditkit[duckdb]'.") from None
        super().__init__(files)
        self._duckdb = duckdb
        self._tmp = tempfile.mkdtemp(prefix="auditkit-duckdb-")
        self.con = duckdb.connect(":memory:")
        settings = {"temp_directory": self._tmp, "preserve_insertion_order": False}
        if memory_limit:
            settings["memory_limit"] = memory_limit
        if threads:
            settings["threads"] = int(threads)
        for name, value in settings.items():
            self.con.execute(f"SET {name} = {_literal(value) if isinstance(value, str) else value}")
        self.con.execute(f"CREATE VIEW src AS {self._source_sql()}")

    def close(self) -> None:
        """Close the connection and remove the spill folder."""
        self.con.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _source_sql(self) -> str:
        files = self.files
        paths = "[" + ", ".join(_literal(p) for p in files.paths) + "]"
        if files.kind == "parquet":
            return f"SELECT * FROM read_parquet({paths}, hive_partitioning = false)"
        encoding = _ENCODINGS.get(codecs.lookup(files.encoding).name)
        if encoding is None:
            raise EngineError(f"The duckdb engine reads CSV files in UTF-8, UTF-16 or Latin-1, not "
                              f"{files.encoding!r}. Convert the file to UTF-8 (e.g. iconv -f {files.encoding} -t "
                              "utf-8), or use --engine pandas.")
        # Columns are named by position (c0, c1, ...): the header's own names may be blank or odd.
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(files.header))) + "}"
        return (f"SELECT * FROM read_csv({paths}, header = true, auto_detect = false, columns = {columns}, "
                f"delim = {_literal(files.delimiter)}, quote = '\"', escape = '\"', encoding = '{encoding}', "
                "strict_mode = true, null_padding = false)")

    def _col(self, actual: str) -> str:
        if self.files.kind == "csv":
            return f"c{self.files.header.index(actual)}"
        return _quote(actual)

    def _inner(self, keys: Sequence[str], rule: ScoreRule | None, comma: bool | None = None) -> str:
        """The rows with the key columns under their own names and the score as ``__t`` (text), ``__x``."""
        cols = [f"{self._col(k)} AS {_quote(k)}" for k in keys]
        if rule is not None:
            text, value = self._score(rule, rule.comma if comma is None else comma)
            cols += [f"{text} AS __t", f"{value} AS __x"]
        return f"SELECT {', '.join(cols) or '1 AS __one'} FROM src"

    def _score(self, rule: ScoreRule, comma: bool) -> tuple[str, str]:
        col = self._col(rule.column)
        if not rule.text:
            return "NULL::VARCHAR", f"CAST({col} AS DOUBLE)"
        text = f"nullif(trim(CAST({col} AS VARCHAR), {_SPACE}), '')"
        if rule.thousands:
            text = f"replace({text}, {_sql_text(rule.thousands)}, '')"
        if comma:
            text = f"replace({text}, ',', '.')"
        return text, f"TRY_CAST({text} AS DOUBLE)"

    @staticmethod
    def _class(rule: ScoreRule) -> str:
        """SQL for the score class, as :func:`~auditkit.engines._tasks.score_classes` computes it."""
        parts = [f"WHEN __x IS NULL AND __t IS NOT NULL THEN {NOT_A_NUMBER}",
                 f"WHEN __x IS NULL OR isnan(__x) THEN {BLANK}"]
        if rule.threshold is not None:
            parts.append("WHEN __x >= $threshold THEN 1")
        elif rule.cutoff is not None:
            parts += ["WHEN __x > $cutoff THEN 1", "WHEN __x = $cutoff THEN 4"]
        return f"CASE {' '.join(parts)} ELSE 0 END"

    @staticmethod
    def _params(rule: ScoreRule | None, params: dict) -> dict:
        if rule is not None and rule.threshold is not None:
            params["threshold"] = rule.threshold
        if rule is not None and rule.cutoff is not None:
            params["cutoff"] = rule.cutoff
        return params

    def _where(self, conds: Sequence[ColumnIn], params: dict) -> str:
        """SQL for 'every condition holds', its value lists added to ``params``."""
        parts = ["true"]
        for i, cond in enumerate(conds):
            params[f"c{i}"] = list(cond.values)
            test = f"coalesce(list_contains($c{i}, {_quote(cond.column)}), false)"
            parts.append(f"({test} OR {_quote(cond.column)} IS NULL)" if cond.null else test)
        return " AND ".join(parts)

    def _run(self, sql: str, params: dict) -> pa.Table:
        try:
            return self.con.sql(sql, params=params or None).to_arrow_table()
        except self._duckdb.Error as err:
            raise self._error(err) from err

    @contextmanager
    def _stream(self, sql: str, params: dict, batch: int = _BATCH) -> Iterator[Iterator[pa.RecordBatch]]:
        """Batches of a query's rows in file order, while the block lasts."""
        self.con.execute("SET preserve_insertion_order = true")
        reader = None
        try:
            reader = self.con.sql(sql, params=params or None).to_arrow_reader(batch)
            yield self._batches(reader)
        except self._duckdb.Error as err:
            raise self._error(err) from err
        finally:
            if reader is not None:
                reader.close()  # the connection takes no other query while a result is open
            self.con.execute("SET preserve_insertion_order = false")

    def _batches(self, reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except (self._duckdb.Error, pa.ArrowException) as err:
            raise self._error(err) from err

    def _error(self, err: Exception) -> Exception:
        duckdb = self._duckdb
        if isinstance(err, (duckdb.BinderException, duckdb.ParserException, duckdb.CatalogException)):
            return EngineError(f"auditkit's DuckDB query failed ({err}); please report this.")
        if isinstance(err, duckdb.OutOfMemoryException):
            return EngineError(f"DuckDB ran out of memory counting {self.files.label!r} ({err}). Raise the memory "
                               "limit (AUDITKIT_DUCKDB_MEMORY_LIMIT, e.g. 8GB) or give fewer group columns.")
        if self.files.kind == "csv":
            return csv_read_error(self.files, err)
        return InputDataError(f"{self.files.label!r} could not be read as Parquet: {err}")

    def counts(self, keys: Sequence[str], rule: ScoreRule | None) -> pa.Table:
        """Rows per distinct combination of ``keys`` (and score class ``_s``): one GROUP BY over the files."""
        score = f", {self._class(rule)}::TINYINT AS _s" if rule is not None else ""
        names = ", ".join(_quote(k) for k in keys)
        sql = f"SELECT {names}{score}, count(*) AS _n FROM ({self._inner(keys, rule)}) GROUP BY ALL"
        return self._run(sql, self._params(rule, {}))

    def kth_largest(self, conds: Sequence[ColumnIn], rule: ScoreRule, k: int, n: int) -> float:
        """The k-th largest valid score of the kept rows.

        For a small k DuckDB's top-N keeps only k values.  For a large k (top 10% of 100M rows)
        an ORDER BY would sort every score; instead a T-digest quantile gives a bound that about
        1.25 k scores pass, and only those are sorted.  If the bound was too high (fewer than k
        pass) the query is repeated without it, so the answer is always exact.
        """
        params: dict = {}
        valid = f"{self._where(conds, params)} AND __x IS NOT NULL AND NOT isnan(__x)"
        inner = self._inner([c.column for c in conds], rule)
        bounds: list[float | None] = [None]
        if k > _TOP_N:
            level = max(0.0, 1 - 1.25 * k / n)
            found = self._run(f"SELECT approx_quantile(__x, {level!r}) FROM ({inner}) WHERE {valid}", params)
            bounds.insert(0, found.column(0)[0].as_py())
        for bound in bounds:
            where = valid if bound is None else f"{valid} AND __x >= $bound"
            sql = f"SELECT __x FROM ({inner}) WHERE {where} ORDER BY __x DESC LIMIT 1 OFFSET {int(k) - 1}"
            found = self._run(sql, params if bound is None else {**params, "bound": bound})
            if found.num_rows:
                return float(found.column(0)[0].as_py())
        raise EngineError(f"DuckDB found fewer than {k:,} scores to rank; please report this.")

    def first_tied(self, keys: Sequence[str], conds: Sequence[ColumnIn], rule: ScoreRule, need: int) -> pa.Table:
        """Counts by ``keys`` of the first ``need`` kept rows at the cut-off, read in file order."""
        params = self._params(rule, {})
        columns = list(dict.fromkeys([*keys, *(c.column for c in conds)]))
        names = ", ".join(_quote(k) for k in keys)
        sql = f"SELECT {names} FROM ({self._inner(columns, rule)}) WHERE {self._where(conds, params)} AND __x = $cutoff"
        taken, left = [], int(need)
        with self._stream(sql, params) as batches:
            for batch in batches:
                taken.append(batch.slice(0, left))
                left -= min(left, batch.num_rows)
                if not left:
                    break
        table = pa.Table.from_batches(taken) if taken else pa.table({k: pa.array([], pa.string()) for k in keys})
        grouped = table.group_by(list(keys), use_threads=False).aggregate([([], "count_all")])
        return pa.table({**{k: grouped.column(k) for k in keys}, "_n": grouped.column("count_all")})

    def _hits(self, conds: Sequence[ColumnIn], rule: ScoreRule | None, test: str, value: str, params: dict,
              visit: Callable[[int, object], bool]) -> None:
        """Call ``visit(row number, value)`` for each row meeting ``conds`` and ``test``, in file order,
        until it returns True.

        CSV rows have no row number in DuckDB, so the query returns one value per row
        (null where the test fails) and the rows are counted as they stream past.
        """
        columns = [c.column for c in conds]
        sql = (f"SELECT CASE WHEN {self._where(conds, params)} AND {test} THEN {value} END AS __hit "
               f"FROM ({self._inner(columns, rule)})")
        seen = 2 if self.files.kind == "csv" else 1
        with self._stream(sql, params) as batches:
            for batch in batches:
                column = batch.column(0)
                for pos in np.flatnonzero(column.is_valid().to_numpy(zero_copy_only=False)).tolist():
                    if visit(seen + pos, column[pos].as_py()):
                        return
                seen += batch.num_rows

    def first_row(self, conds: Sequence[ColumnIn], rule: ScoreRule | None, classes: Sequence[int]) -> int:
        """Number of the first kept row whose score class is in ``classes`` (all kept rows without a rule)."""
        params = self._params(rule, {})
        test = f"{self._class(rule)} IN ({', '.join(map(str, classes))})" if rule is not None else "true"
        found: list[int] = []

        def stop(row: int, _: object) -> bool:
            found.append(row)
            return True

        self._hits(conds, rule, test, "true", params, stop)
        return found[0]

    def persons(self, person: str, keys: Sequence[str], rule: ScoreRule | None, combos: pa.Table,
                example: str | None = None) -> pa.Table:
        """Per-person aggregates of the rows matching ``combos``: a join with the small combinations table,
        one GROUP BY person, one GROUP BY the aggregates (:mod:`auditkit.load.persons`)."""
        columns = list(dict.fromkeys([*keys, person]))
        score = f", {self._class(rule)}::TINYINT AS _s" if rule is not None else ""
        names = ", ".join(f"{_quote(k)} AS {_quote('k_' + k)}" for k in keys)
        match = [f"r.{_quote('k_' + k)} IS NOT DISTINCT FROM c.{_quote(k)}" for k in keys]
        match += ["r._s = c._s"] if rule is not None else []
        blank = f"(r.__p IS NULL OR trim(CAST(r.__p AS VARCHAR), {_SPACE}) = '')"
        per = (f"SELECT {blank} AS _blank, CASE WHEN {blank} THEN NULL ELSE r.__p END AS __p, count(*) AS _rows, "
               f"max(c._st * {len(combos)} + c._c) AS _key, sum(1::BIGINT << c._st)::BIGINT AS _mask, "
               "max(CASE WHEN c._dec = 0 THEN c._st ELSE -1 END) AS _unsel, min(c._g) AS _gmin, max(c._g) AS _gmax "
               f"FROM (SELECT {_quote(person)} AS __p{', ' + names if names else ''}{score} "
               f"FROM ({self._inner(columns, rule)})) r JOIN __combos c ON {' AND '.join(match) or 'true'} "
               "GROUP BY ALL")
        if example is not None:
            test = "bit_count(_mask) < _rows" if example == "duplicate" else "_gmin <> _gmax"
            sql = (f"SELECT CAST(__p AS VARCHAR) AS _p FROM ({per}) WHERE NOT _blank AND {test} "
                   "ORDER BY CAST(__p AS VARCHAR) LIMIT 3")
        else:
            sql = (f"SELECT _blank, _rows, _key, _mask, _unsel, _gmin, _gmax, count(*) AS _n FROM ({per}) "
                   "GROUP BY ALL")
        self.con.register("__combos", combos)
        try:
            return self._run(sql, self._params(rule, {}))
        finally:
            self.con.unregister("__combos")

    def bad_scores(self, conds: Sequence[ColumnIn], rule: ScoreRule) -> tuple[list[tuple[str, list[int], int]], int]:
        """Scores that are not numbers, first seen first, with their first three rows and counts."""
        found: dict[str, list] = {}

        def visit(row: int, text: object) -> bool:
            entry = found.setdefault(str(text), [[], 0])
            if len(entry[0]) < 3:
                entry[0].append(row)
            entry[1] += 1
            return False

        self._hits(conds, rule, "__x IS NULL AND __t IS NOT NULL", "__t", {}, visit)
        return [(v, rows, n) for v, (rows, n) in list(found.items())[:9]], sum(n for _, n in found.values())
