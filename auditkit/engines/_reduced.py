"""The reduced table: each distinct combination of an audit's raw column values and its row count.

:class:`Reduced` lets the helpers of :mod:`auditkit.load.rows`, which read a
column's values and return one code per row, work on combinations instead of
rows; the functions here are rows.py's outcome, group and counting steps with
each combination weighted by its number of rows.  Messages and notes are
rows.py's, with row counts (the contract suite compares them word for word).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._text import did_you_mean, list_values
from ..exceptions import InputDataError
from ..load.data import SourceTable
from ..load.rows import _dimension, _positive_mask, _roles, _rows, _value_levels, _values, _where
from ..measure._counts import MISSING, CountTable, Dimension, _check_size
from ..spec import AuditSpec
from ._source import Files
from ._tasks import ColumnIn

__all__ = ["Reduced", "count_weighted", "dimensions", "outcome_codes", "place"]


class Reduced:
    """The reduced table: distinct combinations (raw values) with their row counts, as a SourceTable."""

    def __init__(self, files: Files, table: pa.Table) -> None:
        self.files = files
        self.table = table
        self.n = table.column("_n").to_numpy(zero_copy_only=False).astype(np.int64)

    @property
    def src(self) -> SourceTable:
        return SourceTable(self.table, self.files.label, self.files.kind, self.files.columns, self.files.notes)

    def where(self, mask: np.ndarray) -> Reduced:
        return Reduced(self.files, self.table.filter(pa.array(mask)))

    def total(self, mask: np.ndarray | None = None) -> int:
        return int(self.n.sum() if mask is None else self.n[mask].sum())

    def score(self) -> np.ndarray:
        return self.table.column("_s").to_numpy(zero_copy_only=False)

    def holding(self, column: str, mask: np.ndarray) -> ColumnIn:
        """The condition 'the column holds one of the raw values it has in the rows of ``mask``'."""
        values = pc.unique(self.table.column(self.files.columns[column]).filter(pa.array(mask)))
        return ColumnIn(self.files.columns[column], tuple(values.drop_null().to_pylist()), values.null_count > 0)


def place(files: Files, row: int) -> str:
    """'row 7, counting the header as row 1' (CSV) or 'row 7, counting from 1' (Parquet), as rows.py words it."""
    table = pa.table({"_": [0]})
    return _where(SourceTable(table, files.label, files.kind, {}, (), np.array([row])), np.array([True]))


def outcome_codes(rows: Reduced, spec: AuditSpec, notes: list[str]) -> tuple[np.ndarray, dict]:
    """rows.py's ``_outcome_codes`` on the reduced table."""
    if not spec.truth:
        return np.full(len(rows.n), 2, dtype=np.int8), {"column": None}
    src = rows.src
    pos, missing, levels, positives = _positive_mask(src, spec.truth, spec.truth_positive, "--truth-positive")
    negatives = [lv for lv in levels if lv not in positives]
    unknown = np.zeros(len(rows.n), dtype=bool)
    if spec.truth_negative:
        declared = [v.strip() for v in _values(spec.truth_negative) or ()]
        bad = [v for v in declared if v not in negatives]
        if bad:
            raise InputDataError(f"{src.label}: --truth-negative {bad[0]!r} does not occur in column "
                                 f"{spec.truth!r} (or is also positive); it holds {list_values(levels)}."
                                 f"{did_you_mean(bad[0], negatives)}")
        other = [lv for lv in negatives if lv not in declared]
        if other:
            _, codes = _value_levels(src, spec.truth)
            unknown = np.isin(codes, [levels.index(v) for v in other])
            notes.append(f"{spec.truth}: {_rows(rows.total(unknown), 'hold')} {list_values(other)}, neither "
                         "positive nor negative; their outcome is treated as unknown.")
        negatives = declared
    elif len(negatives) > 1:
        raise InputDataError(
            f"{src.label}: outcome column {spec.truth!r} must hold two values (one positive, one negative), "
            f"but besides the positive {list_values(positives)} it holds {list_values(negatives)}. "
            "Declare the negative value with --truth-negative VALUE (other values then count as unknown "
            "outcomes), or fix the column."
        )
    if missing.any():
        notes.append(f"{spec.truth}: {_rows(rows.total(missing))} no outcome; they count in selection rates "
                     "but not in rates that need the outcome.")
    outcome = np.where(pos, 1, 0).astype(np.int8)
    outcome[missing | unknown] = 2
    info = {"column": spec.truth, "positive": positives, "negative": negatives,
            "rows_outcome_unknown": rows.total(missing | unknown)}
    return outcome, info


def dimensions(rows: Reduced, spec: AuditSpec, notes: list[str]) -> tuple[list[Dimension], dict[str, np.ndarray]]:
    """rows.py's ``_dimension`` for each group column, with the row counts in its notes."""
    dims, codes = [], {}
    for name, role in _roles(spec):
        found: list[str] = []
        dim, code = _dimension(rows.src, name, role, spec, found)
        if MISSING in dim.levels:
            # _dimension counted combinations; say how many rows, in its words.
            combos = int((code == dim.levels.index(MISSING)).sum())
            ours = f"{name}: {_rows(combos)} no value; they form the group {MISSING!r}."
            if found and found[0] == ours:
                found[0] = (f"{name}: {_rows(rows.total(code == dim.levels.index(MISSING)))} no value; they form "
                            f"the group {MISSING!r}.")
        notes.extend(found)
        dims.append(dim)
        codes[name] = code
    return dims, codes


def count_weighted(dims: Sequence[Dimension], codes: dict[str, np.ndarray], decision: np.ndarray, outcome: np.ndarray,
           weights: np.ndarray) -> CountTable:
    """count_codes with each combination weighted by its rows."""
    shape = _check_size(dims)
    flat = np.zeros(len(decision), dtype=np.int64)
    for d in dims:
        flat *= len(d.levels)
        flat += codes[d.name]
    flat = (flat * 2 + decision) * 3 + outcome
    counts = np.bincount(flat, weights=weights.astype(np.float64), minlength=int(np.prod(shape))).reshape(shape)
    return CountTable(tuple(dims), counts, counts.copy())
