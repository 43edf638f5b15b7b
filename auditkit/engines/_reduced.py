"""The reduced table: each distinct combination of an audit's raw column values and its row count.

:class:`Reduced` is a :class:`auditkit.load.rows.RowSet` of combinations: the
rules of :mod:`auditkit.load.rows` (filters, dropped rows, the decision column)
run on it unchanged, and the functions here are rows.py's outcome and group
steps with each combination weighted by its number of rows.  Messages and notes are
rows.py's, with row counts (the contract suite compares them word for word).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..load.data import SourceTable
from ..load.rows import RowSet, _dimension, _outcome, _roles, _rows, _where
from ..measure._counts import MISSING, Dimension
from ..spec import AuditSpec
from ._source import Files
from ._tasks import ColumnIn

__all__ = ["Reduced", "dimensions", "outcome_codes", "place"]


class Reduced(RowSet):
    """The reduced table: distinct combinations (raw values) with their row counts, for rows.py's rules.

    ``scan`` answers what only the rows know (where the first bad row is); ``conds`` are the
    filters applied so far, as conditions an engine can evaluate on the rows.
    """

    def __init__(self, files: Files, table: pa.Table, scan: Any = None, conds: tuple[ColumnIn, ...] = ()) -> None:
        self.files = files
        self.table = table
        self.scan = scan
        self.conds = conds
        self.n = table.column("_n").to_numpy(zero_copy_only=False).astype(np.int64)

    @property
    def src(self) -> SourceTable:
        return SourceTable(self.table, self.files.label, self.files.kind, self.files.columns, self.files.notes)

    @property
    def label(self) -> str:
        return self.files.label

    def where(self, mask: np.ndarray) -> Reduced:
        return Reduced(self.files, self.table.filter(pa.array(mask)), self.scan, self.conds)

    def keep(self, column: str, mask: np.ndarray) -> Reduced:
        """The combinations in ``mask``, the filter recorded as a condition on ``column``'s raw values."""
        kept = self.where(mask)
        kept.conds = (*self.conds, self.holding(column, mask))
        return kept

    def first(self, mask: np.ndarray, column: str) -> str:
        """Where the first row of the combinations in ``mask`` is: a query on the rows."""
        return place(self.files, self.scan.first_row([*self.conds, self.holding(column, mask)], None, ()))

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
    """rows.py's outcome step on the reduced table, each combination weighted by its rows."""
    return _outcome(rows.src, spec, notes, weights=rows.n)


def dimensions(rows: Reduced, spec: AuditSpec, notes: list[str]) -> tuple[list[Dimension], dict[str, np.ndarray]]:
    """rows.py's ``_dimension`` for each group column, with the row counts in its notes."""
    dims, codes = [], {}
    for name, role in _roles(spec):
        found: list[str] = []
        dim, code = _dimension(rows.src, name, role, spec, found, weights=rows.n)
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
