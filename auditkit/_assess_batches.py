"""`assess` on data larger than memory: score in batches, count the scored rows with DuckDB or Dask.

With ``engine='duckdb'`` or ``'dask'``, :func:`auditkit.assess.assess` calls
:func:`score_in_batches`, which never holds the data in memory:

1. the model's inputs and the audit's columns are read in batches, in file order
   (:func:`auditkit.engines._batches.batch_tables`: DuckDB streams them, Dask
   brings one partition at a time);
2. each batch is scored exactly as the in-memory path scores the whole table
   (the same column matching, notes and errors, found on the file's header first);
3. the audit's columns and the score are written to a temporary Parquet file
   (a row group per million rows) in a folder that is removed afterwards;
4. the same engine counts that file with the audit's rule, so a top-k rule
   ranks every row, not each batch;
5. a seeded sample of at most ``explain_sample`` audited rows is kept for the
   explanations: the rows :func:`auditkit.assess.sample_positions` picks, so the
   same rows as the in-memory path and every other engine and batch size.
"""

from __future__ import annotations

import os
import re
import tempfile
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from . import _assess_outcomes
from ._assess_outcomes import OutcomeRows, has_outcome_value
from .assess import (
    EXPLAIN_SAMPLE,
    SCORE_COLUMN,
    AssessOptions,
    Scored,
    _decision_spec,
    sample_keys,
    smallest,
    spec_cutoff,
)
from .exceptions import InputDataError
from .spec import AuditSpec

__all__ = ["score_in_batches"]

#: Rows per row group of the temporary scored file (several batches are gathered into one).
_ROW_GROUP = 1 << 20


def score_in_batches(loaded: Any, source: str | os.PathLike, fields: dict[str, Any], options: AssessOptions,
                     engine: str, scheduler: str | None) -> Scored:
    """Score ``source`` batch by batch with ``loaded``, count the scores with ``engine``, keep a sample."""
    from .audit import _wanted_columns
    from .engines._batches import batch_tables
    from .engines._source import open_files
    from .load._features import name_inputs

    reading = {k: fields.get(k) for k in ("encoding", "delimiter", "sheet", "header_row")}
    columns_spec = _decision_spec(fields, "", options)  # the columns; the rule may wait for the scoring method
    header = open_files(source, None, **reading)
    loaded, input_notes = name_inputs(loaded, list(header.columns), fields, options.features)
    inputs, features, notes = _model_columns(loaded, header)
    notes = input_notes + list(notes)
    audited = [c for c in _wanted_columns(columns_spec) if c != SCORE_COLUMN]
    files = open_files(source, [*inputs, *audited], **reading)
    keep = list(dict.fromkeys(files.columns[c] for c in audited))
    # Without explanations no row is kept (an empty sample); the population is still counted.
    sample = _Sample((options.explain_sample or EXPLAIN_SAMPLE) if options.explain else 0, columns_spec.seed)
    # Score behaviour: every audited row with an outcome value, up to SCORE_ROWS (auditkit._assess_outcomes).
    outcomes = _Sample(_assess_outcomes.SCORE_ROWS if columns_spec.truth else 0, columns_spec.seed)
    rows, method = 0, ""
    with tempfile.TemporaryDirectory(prefix="auditkit-assess-") as tmp:
        folder = Path(tmp) / (re.sub(r"[^\w.-]+", "_", files.label).strip("._") or "data")
        folder.mkdir()
        with _Writer(folder / "scored.parquet", files.label) as writer:
            for table in batch_tables(files, engine, batch_rows=options.batch_size, progress=options.progress,
                                      scheduler=scheduler, desc="scoring"):
                scores, method = _score(loaded, table.select(inputs).to_pandas(), options)
                table = table.append_column(SCORE_COLUMN, pa.array(scores, pa.float64()))
                writer.write(table.select([*keep, SCORE_COLUMN]))
                audited = _population(table, columns_spec, files.columns)
                sample.add(table, audited)
                if columns_spec.truth:
                    truth = table.column(files.columns[columns_spec.truth]).to_pandas()
                    none = table.select([*keep, SCORE_COLUMN]).slice(0, 0)  # the columns, when no row has an outcome
                    outcomes.add(table.select([*keep, SCORE_COLUMN]), audited & has_outcome_value(truth))
                rows += table.num_rows
        if not rows:
            raise InputDataError(f"Data file {files.label!r} has a header but no rows.")
        run_spec = _decision_spec(fields, method, options, spec_cutoff(loaded))
        result = _count(folder, run_spec, engine)
    kept = None
    if columns_spec.truth:
        scored = (outcomes.table if outcomes.table is not None else none).to_pandas()
        kept = OutcomeRows(scored.drop(columns=[SCORE_COLUMN]), scored[SCORE_COLUMN].to_numpy(dtype=float),
                           outcomes.seen)
    if not options.explain:
        return Scored(result, run_spec, method, features, notes, rows, sample.seen, None, None, np.empty(0), False,
                      outcomes=kept)
    frame = sample.frame()
    X, _ = _align(loaded, frame[inputs])
    return Scored(result, run_spec, method, features, notes, rows, sample.seen, X,
                  frame.drop(columns=[SCORE_COLUMN]), frame[SCORE_COLUMN].to_numpy(dtype=float),
                  len(frame) < sample.seen, outcomes=kept)


def _align(loaded: Any, frame: Any) -> tuple[Any, list[str]]:
    from .load.model import align_features

    return align_features(loaded, frame)


def _model_columns(loaded: Any, files: Any) -> tuple[list[str], list[str], list[str]]:
    """The data columns the model takes (file spelling), its input names, and the matching notes.

    The model is matched against the header as the in-memory path matches it against the whole
    table, so that a missing input gives the same message before any row is read.
    """
    import pandas as pd

    names = list(files.columns.values())
    if SCORE_COLUMN in names:
        raise InputDataError(f"The data already has a column named {SCORE_COLUMN!r}; rename it.")
    # One row holding each column's own name: after alignment it says which column feeds which input.
    aligned, notes = _align(loaded, pd.DataFrame([names], columns=names, dtype=object))
    return [str(v) for v in aligned.iloc[0]], [str(c) for c in aligned.columns], list(notes)


def _score(loaded: Any, frame: Any, options: AssessOptions) -> tuple[np.ndarray, str]:
    from .load.model import model_predict

    return model_predict(loaded, frame, batch_size=options.batch_size, progress=False)


def _population(table: pa.Table, spec: AuditSpec, columns: dict[str, str]) -> np.ndarray:
    """Rows of a batch that the audit's filters keep, by the audit's own reading of each value.

    A row's fate under each filter depends on its own value only, so a batch can be judged alone;
    a filter value that occurs nowhere is the audit's error, raised when the scored file is counted.
    """
    from .load.data import SourceTable
    from .load.rows import _value_levels, _values

    keep = np.ones(table.num_rows, dtype=bool)
    if not spec.filters:
        return keep
    src = SourceTable(table, "", "parquet", columns)
    for f in spec.filters:
        levels, codes = _value_levels(src, f.column)
        values = [v.strip() for v in _values(f.values) or ()]
        hit = np.isin(codes, [levels.index(v) for v in values if v in levels])
        keep &= hit if f.keep else ~hit
    return keep


def _count(folder: Path, spec: AuditSpec, engine: str) -> Any:
    """The audit of the scored file, counted by ``engine`` on this machine.

    The file is local, so Dask counts it with local threads even when a cluster read the input.
    """
    from .audit import audit

    context: Any = nullcontext()
    if engine == "dask":
        import dask

        context = dask.config.set(scheduler="threads")
    with context:
        return audit(folder, spec, engine=engine)


class _Writer:
    """The scored columns as one Parquet file, gathered into row groups of about a million rows."""

    def __init__(self, path: Path, label: str) -> None:
        self.path, self.label = path, label
        self.writer: Any = None
        self.pending: list[pa.Table] = []
        self.rows = 0

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self._flush()
        if self.writer is not None:
            self.writer.close()

    def write(self, table: pa.Table) -> None:
        if self.pending and not table.schema.equals(self.pending[0].schema):
            try:
                table = table.cast(self.pending[0].schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
                raise InputDataError(f"{self.label}: the column types change between parts of the data ({err}); "
                                     "give every file of the folder the same schema.") from err
        self.pending.append(table)
        self.rows += table.num_rows
        if self.rows >= _ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        import pyarrow.parquet as pq

        table = pa.concat_tables(self.pending)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema)
        elif not table.schema.equals(self.writer.schema):
            table = table.cast(self.writer.schema)
        self.writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self.pending, self.rows = [], 0


class _Sample:
    """The ``k`` audited rows with the smallest seeded keys seen so far, in file order (bottom-k sampling)."""

    def __init__(self, k: int, seed: int) -> None:
        self.k, self.seed = k, seed
        self.table: pa.Table | None = None
        self.keys = np.empty(0, dtype=np.uint64)
        self.seen = 0

    def add(self, table: pa.Table, population: np.ndarray) -> None:
        index = np.flatnonzero(population)
        keys = sample_keys(self.seed, self.seen + np.arange(len(index)))
        self.seen += len(index)
        if not self.k:
            return
        if len(self.keys) >= self.k:
            # A later row ties with the largest kept key and loses: ties go to the earlier row.
            below = keys < self.keys.max()
            index, keys = index[below], keys[below]
        if not len(index):
            return
        taken = table.take(pa.array(index))
        merged = taken if self.table is None else pa.concat_tables([self.table, taken.cast(self.table.schema)])
        all_keys = np.concatenate([self.keys, keys])
        # The kept rows come before this batch's, so index order is file order.
        chosen = smallest(all_keys, self.k)
        self.table, self.keys = merged.take(pa.array(chosen)), all_keys[chosen]

    def frame(self) -> Any:
        """The kept rows as a pandas DataFrame, in file order."""
        if self.table is None:
            raise InputDataError("No rows are left for the explanations after the filters.")
        return self.table.to_pandas()
