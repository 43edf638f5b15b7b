"""Counting engines: the same count table from rows in memory, out of core, or on a cluster.

Every figure of an audit is computed from its count table (shared design,
step 3), so only counting has to scale.  :func:`count_rows` builds the count
table and the population record of a CSV or Parquet source with one of

``pandas``
    :func:`auditkit.load.rows.rows_to_counts` on the columns read into memory
    (the default; the reference the others are held to);
``duckdb``
    DuckDB streams the files with bounded memory and returns only the counts of
    each distinct combination of the audit's columns (group-by pushed down);
``dask``
    the files as a Dask dataframe, counted per partition and summed, locally or
    on a cluster given by its scheduler address.

The engines differ only in how that small table of combinations is built;
what the values mean (labels, missing values, filters, decision rules, ties,
every message) is decided by one executor of the counting plan
(:mod:`auditkit.plan`, :mod:`auditkit.engines._plan`), which also runs the
pandas engine's rows (:mod:`auditkit.engines._memory`).  Count tables published by an agency
(``spec.is_count_table``) are small and always read in memory, whatever the
engine; so is a pandas DataFrame.

>>> ENGINES
('pandas', 'duckdb', 'dask')
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .._text import did_you_mean
from ..exceptions import EngineError, UsageError
from ._batches import iter_batches
from ._source import source_kind

if TYPE_CHECKING:
    from ..load.rows import Population
    from ..measure._counts import CountTable
    from ..spec import AuditSpec

__all__ = ["ENGINES", "check_engine", "count_rows", "input_kind", "iter_batches", "require_engine"]

#: Engine names, the default first.
ENGINES = ("pandas", "duckdb", "dask")


def check_engine(engine: str, scheduler: str | None = None) -> str:
    """``engine`` if it is known (else a UsageError with 'Did you mean'); ``scheduler`` only with dask."""
    if engine not in ENGINES:
        raise UsageError(f"Unknown engine {engine!r}.{did_you_mean(engine, ENGINES)} "
                         f"Engines: {', '.join(ENGINES)}.")
    if scheduler and engine != "dask":
        raise UsageError(f"--scheduler {scheduler} names a Dask cluster; it needs --engine dask.")
    return engine


#: The package each out-of-core engine needs, and the extra that installs it.
_PACKAGES = {"duckdb": (("duckdb",), "duckdb"), "dask": (("dask.dataframe",), "dask")}


def require_engine(engine: str, scheduler: str | None = None) -> None:
    """Raise EngineError naming the extra to install when ``engine``'s package is missing.

    Checked before slow work (loading a model, scoring) so that the message comes first.

    >>> require_engine("pandas")
    """
    import importlib

    modules = _PACKAGES.get(engine, ((), ""))[0] + (("distributed",) if scheduler else ())
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            extra = _PACKAGES.get(engine, ((), "dask"))[1]
            raise EngineError(f"The {engine} engine needs {module.split('.')[0]}, which is not installed: "
                              f"pip install 'auditkit[{extra}]' (or pick another --engine).") from None


def input_kind(source: str | os.PathLike | object) -> str:
    """'csv', 'parquet' or 'dataframe': the ``input_kind`` to pass to :func:`auditkit.audit.measure`.

    >>> input_kind("decisions.csv"), input_kind("exports/")
    ('csv', 'parquet')
    """
    if not isinstance(source, (str, os.PathLike)):
        return "dataframe"
    return source_kind(source)


def count_rows(source: str | os.PathLike, spec: AuditSpec, engine: str, *, scheduler: str | None = None,
               memory_limit: str | None = None, threads: int | None = None) -> tuple[CountTable, Population]:
    """Count the rows of ``source`` for ``spec`` with ``engine``.

    Parameters
    ----------
    source : str or os.PathLike
        A CSV or Parquet file, a folder of Parquet files, or a glob (``'exports/*.parquet'``).
    spec : AuditSpec
        The audit: columns, filters, decision rule.
    engine : {'pandas', 'duckdb', 'dask'}
        Who counts; every engine gives the same result.
    scheduler : str, optional
        Dask only: the address of a running scheduler (``'tcp://10.0.0.5:8786'``); without it Dask
        uses the client already set up in this process, or local threads.
    memory_limit, threads : optional
        DuckDB only: its memory cap (``'4GB'``) and threads; default the environment variables
        ``AUDITKIT_DUCKDB_MEMORY_LIMIT`` and ``AUDITKIT_DUCKDB_THREADS``, else DuckDB's own defaults.

    Returns
    -------
    tuple of CountTable and Population
        Identical to ``rows_to_counts(read_columns(source, ...), spec)``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from auditkit import AuditSpec
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = path.write_text("g,flag\\na,1\\na,0\\nb,1\\n")
    >>> table, population = count_rows(path, AuditSpec(protected=("g",), decision="flag"), "pandas")
    >>> table.dim("g").levels, population.rows_audited
    (('a', 'b'), 3)

    ``"duckdb"`` or ``"dask"`` in place of ``"pandas"`` give the same table and population.
    """
    check_engine(engine, scheduler)
    if engine == "pandas" or spec.is_count_table or not isinstance(source, (str, os.PathLike)):
        return _in_memory(source, spec)
    from ._plan import Scan, count_scan
    from ._source import open_files

    files = open_files(source, _wanted(spec), encoding=spec.encoding, delimiter=spec.delimiter, sheet=spec.sheet,
                       header_row=spec.header_row)
    scan: Scan
    if engine == "duckdb":
        from ._duckdb import DuckDBScan

        scan = DuckDBScan(files, memory_limit=memory_limit or os.environ.get("AUDITKIT_DUCKDB_MEMORY_LIMIT"),
                          threads=threads or _int_env("AUDITKIT_DUCKDB_THREADS"))
    else:
        from ._dask import DaskScan

        scan = DaskScan(files, scheduler=scheduler)
    try:
        return count_scan(scan, spec)
    finally:
        scan.close()


def _wanted(spec: AuditSpec) -> list[str]:
    from ..audit import _wanted_columns  # audit.py may import this package: import when called

    return _wanted_columns(spec)


def _in_memory(source: object, spec: AuditSpec) -> tuple[CountTable, Population]:
    from ..load.counts import counts_to_table
    from ..load.data import read_columns
    from ..load.rows import rows_to_counts

    src = read_columns(source, _wanted(spec), encoding=spec.encoding,  # type: ignore[arg-type]
                       delimiter=spec.delimiter, sheet=spec.sheet, header_row=spec.header_row)
    return counts_to_table(src, spec) if spec.is_count_table else rows_to_counts(src, spec)


def _int_env(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise UsageError(f"{name} must be a whole number of threads; got {value!r}.")
    return int(value)
