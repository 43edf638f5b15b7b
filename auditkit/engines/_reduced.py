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

from ..load._arrow import bool_array, to_numpy
from ..load.data import SourceTable
from ..load.dimensions import dimension
from ..load.rows import RowSet, _outcome, where_text
from ..measure._counts import Dimension
from ..plan import CountPlan
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
        self.n = to_numpy(table.column("_n"), fill=0).astype(np.int64)

    @property
    def src(self) -> SourceTable:
        return SourceTable(self.table, self.files.label, self.files.kind, self.files.columns, self.files.notes)

    @property
    def label(self) -> str:
        return self.files.label

    def where(self, mask: np.ndarray) -> Reduced:
        return Reduced(self.files, self.table.filter(bool_array(mask)), self.scan, self.conds)

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
        """Each combination's score class."""
        return self.column("_s")

    def column(self, name: str) -> np.ndarray:
        """An integer column of the table (``_n``, ``_s``, ``_d``) as numpy."""
        return to_numpy(self.table.column(name), fill=0)

    def holding(self, column: str, mask: np.ndarray) -> ColumnIn:
        """The condition 'the column holds one of the raw values it has in the rows of ``mask``'."""
        values = pc.unique(self.table.column(self.files.columns[column]).filter(bool_array(mask)))
        return ColumnIn(self.files.columns[column], tuple(values.drop_null().to_pylist()), values.null_count > 0)


def place(files: Files, row: int) -> str:
    """'row 7, counting the header as row 1' (CSV) or 'row 7, counting from 1' (Parquet), as rows.py words it."""
    return where_text(files.kind, row)


def outcome_codes(rows: Reduced, spec: AuditSpec, notes: list[str]) -> tuple[np.ndarray, dict]:
    """rows.py's outcome step on the reduced table, each combination weighted by its rows."""
    return _outcome(rows.src, spec, notes, weights=rows.n)


def dimensions(rows: Reduced, plan: CountPlan, notes: list[str]) -> tuple[list[Dimension], dict[str, np.ndarray]]:
    """The levels and codes of each of the plan's dimensions, its notes counting rows."""
    dims, codes = [], {}
    for step in plan.dimensions:
        dim, code = dimension(rows.src, step.name, step.role, plan.spec, notes, weights=rows.n,
                              first=lambda mask, column=step.name: rows.first(mask, column))
        dims.append(dim)
        codes[step.name] = code
    return dims, codes
