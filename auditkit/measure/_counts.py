"""Count tables: the only structure that stands for rows.

A :class:`CountTable` holds, for every combination of the levels of its
dimensions (protected attributes, strata, stage, selection method), the number
of rows in each cell of decision x outcome.  Every rate, ratio, test, interval
and bootstrap replicate downstream is a function of these counts
(shared design, step 3); :func:`count_codes` is the only code that touches rows.

Cells published by an agency as suppressed are carried as bounds: ``low`` and
``high`` hold the smallest and largest count each cell can have.  Where nothing
was suppressed the two arrays are equal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

from ..exceptions import InputDataError

__all__ = [
    "DECISION_AXIS",
    "MISSING",
    "OUTCOME_AXIS",
    "CountTable",
    "Dimension",
    "count_codes",
]

#: Label of the explicit group formed by rows whose attribute value is missing.
MISSING = "(missing)"
#: Decision axis: index 0 = not selected, 1 = selected.
DECISION_AXIS = ("not_selected", "selected")
#: Outcome axis: index 0 = negative, 1 = positive, 2 = outcome unknown.
OUTCOME_AXIS = ("negative", "positive", "unknown")

# Dense tables beyond this many cells would mean a column with thousands of
# levels was declared as a group; stop with a message rather than run out of memory.
_MAX_CELLS = 50_000_000


@dataclass(frozen=True)
class Dimension:
    """One grouping column: its name, role and level labels (sorted, missing last)."""

    name: str
    role: str
    levels: tuple[str, ...]

    def index(self, level: str) -> int:
        """Position of ``level``; raises InputDataError naming the known levels."""
        try:
            return self.levels.index(level)
        except ValueError:
            from .._text import did_you_mean, list_values

            raise InputDataError(
                f"Column {self.name!r} has no value {level!r}; its values are "
                f"{list_values(self.levels)}.{did_you_mean(level, self.levels)}"
            ) from None


@dataclass(frozen=True)
class CountTable:
    """Counts over ``dims`` x decision (2) x outcome (3), with suppression bounds."""

    dims: tuple[Dimension, ...]
    low: np.ndarray
    high: np.ndarray
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        expected = tuple(len(d.levels) for d in self.dims) + (2, 3)
        if self.low.shape != expected or self.high.shape != expected:
            raise ValueError(f"count arrays must have shape {expected}, got {self.low.shape}")

    @property
    def bounded(self) -> bool:
        """True when some cell is known only within bounds (agency suppression)."""
        return bool(np.any(self.high != self.low))

    @property
    def total(self) -> float:
        """Number of rows (lower bound when cells are suppressed)."""
        return float(self.low.sum())

    def dim(self, name: str) -> Dimension:
        """The dimension called ``name``."""
        for d in self.dims:
            if d.name == name:
                return d
        raise KeyError(name)

    def names(self, role: str | None = None) -> tuple[str, ...]:
        """Names of the dimensions, optionally only those with ``role``."""
        return tuple(d.name for d in self.dims if role is None or d.role == role)

    def marginal(self, keep: Sequence[str]) -> CountTable:
        """Sum over every dimension not in ``keep``; the result has ``keep``'s order."""
        positions = [self.names().index(k) for k in keep]
        drop = tuple(i for i in range(len(self.dims)) if i not in positions)
        order = [sorted(positions).index(p) for p in positions] + [len(positions), len(positions) + 1]
        low = self.low.sum(axis=drop).transpose(order) if drop else self.low.transpose(order)
        high = self.high.sum(axis=drop).transpose(order) if drop else self.high.transpose(order)
        return CountTable(tuple(self.dims[p] for p in positions), low, high, self.notes)

    def select(self, name: str, level: str) -> CountTable:
        """The slice of rows whose ``name`` equals ``level`` (that dimension removed)."""
        axis = self.names().index(name)
        i = self.dims[axis].index(level)
        dims = self.dims[:axis] + self.dims[axis + 1 :]
        return CountTable(dims, np.take(self.low, i, axis=axis), np.take(self.high, i, axis=axis), self.notes)

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per non-empty cell, with ``count`` and ``count_max``."""
        import pandas as pd

        idx = np.nonzero(self.high)
        data: dict[str, object] = {}
        for axis, d in enumerate(self.dims):
            data[d.name] = np.asarray(d.levels, dtype=object)[idx[axis]]
        data["decision"] = np.asarray(DECISION_AXIS, dtype=object)[idx[-2]]
        data["outcome"] = np.asarray(OUTCOME_AXIS, dtype=object)[idx[-1]]
        data["count"] = self.low[idx].astype(np.int64)
        data["count_max"] = self.high[idx].astype(np.int64)
        return pd.DataFrame(data)


def _check_size(dims: Sequence[Dimension]) -> tuple[int, ...]:
    shape = tuple(len(d.levels) for d in dims) + (2, 3)
    size = int(np.prod(shape, dtype=np.float64))
    if size > _MAX_CELLS:
        biggest = max(dims, key=lambda d: len(d.levels))
        raise InputDataError(
            f"The grouping columns make {size:,} cells; column {biggest.name!r} alone has "
            f"{len(biggest.levels):,} distinct values. Group columns must be categories "
            "(nationality, gender, age band); bin numeric columns first or leave this one out."
        )
    return shape


def count_codes(
    dims: Sequence[Dimension],
    codes: Mapping[str, np.ndarray],
    decision: np.ndarray,
    outcome: np.ndarray,
    weights: np.ndarray | None = None,
) -> CountTable:
    """Count rows into a :class:`CountTable` with one ``np.bincount`` pass.

    ``codes[d.name]`` holds each row's level index for dimension ``d``;
    ``decision`` is 0/1 and ``outcome`` 0/1/2 (2 = unknown).  ``weights``: the
    number of rows each entry stands for (the engines' distinct combinations).

    >>> g = Dimension("g", "protected", ("a", "b"))
    >>> t = count_codes([g], {"g": np.array([0, 1, 1])}, np.array([1, 0, 1]), np.array([1, 2, 0]))
    >>> int(t.low[1, 1, 0]), int(t.total)
    (1, 3)
    """
    shape = _check_size(dims)
    flat = np.zeros(len(decision), dtype=np.int64)
    for d in dims:
        flat *= len(d.levels)
        flat += codes[d.name]
    flat *= 2
    flat += decision
    flat *= 3
    flat += outcome
    w = None if weights is None else weights.astype(np.float64)
    counts = np.bincount(flat, weights=w, minlength=int(np.prod(shape))).astype(np.float64).reshape(shape)
    return CountTable(tuple(dims), counts, counts.copy())
