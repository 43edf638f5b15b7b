"""Aggregate count tables, as agencies publish them, into a :class:`CountTable`.

Two shapes are read:

* long: group columns, the cell (a decision column and optionally an outcome
  column, or one ``--cell-column`` naming tp/fp/tn/fn/selected/not_selected) and
  a count column;
* wide: group columns and one count column per cell (``tp``, ``fp``, ``tn``,
  ``fn``, or ``selected`` and ``not_selected``), mapped with ``cells``.

A cell whose count equals a declared suppression marker (``0`` when "0 means
fewer than 10", ``<10``, ``*``) is known only to lie in ``suppressed_range``;
it is carried as bounds, never read as zero.
"""

from __future__ import annotations

import numpy as np

from .._text import list_values
from ..exceptions import InputDataError
from ..measure._counts import CountTable
from ..spec import AuditSpec
from .data import SourceTable
from .rows import Population, _dimension, _positive_mask, encode_levels

__all__ = ["CELL_NAMES", "count_table_columns", "counts_to_table"]

#: Cell names a count table may use, and their (decision, outcome) position.
CELL_NAMES = {"tp": (1, 1), "fp": (1, 0), "fn": (0, 1), "tn": (0, 0),
              "selected": (1, 2), "not_selected": (0, 2)}


def count_table_columns(spec: AuditSpec) -> list[str]:
    """Columns a count table must have for ``spec``."""
    cols = list(spec.protected) + list(spec.strata)
    cols += [c for c in (spec.stage, spec.selection_method, spec.count_column, spec.cell_column,
                         spec.decision, spec.truth) if c]
    return cols + [c for c in spec.cells.values()]


def _parse_counts(src: SourceTable, column: str, spec: AuditSpec) -> tuple[np.ndarray, np.ndarray]:
    """Counts as floats and a mask of suppressed cells; any other non-count is an error."""
    values = [None if v is None else str(v).strip() for v in src.table.column(src.columns[column]).to_pylist()]
    markers = set(spec.suppressed)
    counts = np.zeros(len(values))
    suppressed = np.zeros(len(values), dtype=bool)
    bad: dict[str, list[int]] = {}
    for row, v in enumerate(values):
        text = "" if v is None else v.removesuffix(".0")
        if text in markers or v in markers:
            suppressed[row] = True
            continue
        if text.isdigit():
            counts[row] = int(text)
        else:
            bad.setdefault(v or "(blank)", []).append(row + 2)
    if bad:
        shown = ", ".join(f"{v!r} (row {r[0]})" for v, r in list(bad.items())[:8])
        raise InputDataError(
            f"{src.label}: count column {column!r} must hold whole non-negative numbers, but found {shown}. "
            "If these mark cells the agency suppressed, declare them with --suppressed VALUE "
            "(for example --suppressed '<10'); each then counts as unknown within --suppressed-range."
        )
    return counts, suppressed


def _cells_long(src: SourceTable, spec: AuditSpec) -> tuple[np.ndarray, np.ndarray]:
    """Decision and outcome index of each row of a long table."""
    n = src.table.num_rows
    if spec.cell_column:
        levels, codes = encode_levels(src.table.column(src.columns[spec.cell_column]))
        norm = [lv.strip().lower().replace(" ", "_").replace("-", "_") for lv in levels]
        unknown = [lv for lv, nm in zip(levels, norm) if nm not in CELL_NAMES]
        if unknown or (codes < 0).any():
            raise InputDataError(
                f"{src.label}: cell column {spec.cell_column!r} must name a cell in each row "
                f"({', '.join(CELL_NAMES)}); found {list_values(unknown or ['(blank)'])}.")
        pos = np.array([CELL_NAMES[nm] for nm in norm])
        return pos[codes, 0], pos[codes, 1]
    decision, missing, _ = _positive_mask(src, spec.decision, spec.positive, "--positive")
    if missing.any():
        raise InputDataError(f"{src.label}: decision column {spec.decision!r} is blank in row "
                             f"{int(np.argmax(missing)) + 2}; every row of a count table needs its cell.")
    outcome = np.full(n, 2)
    if spec.truth:
        pos, unknown, _ = _positive_mask(src, spec.truth, spec.truth_positive, "--truth-positive")
        outcome = np.where(unknown, 2, pos.astype(int))
    return decision.astype(int), outcome


def counts_to_table(src: SourceTable, spec: AuditSpec) -> tuple[CountTable, Population]:
    """Read a long or wide count table; suppressed cells become bounds."""
    notes = list(src.notes)
    roles = [(c, "protected") for c in spec.protected] + [(c, "stratum") for c in spec.strata]
    roles += [(c, r) for c, r in ((spec.stage, "stage"), (spec.selection_method, "method")) if c]
    dims, codes = [], []
    for name, role in roles:
        dim, code = _dimension(src, name, role, spec, notes)
        dims.append(dim)
        codes.append(code)
    shape = tuple(len(d.levels) for d in dims) + (2, 3)
    low, high = np.zeros(shape), np.zeros(shape)
    lo_s, hi_s = spec.suppressed_range
    if spec.count_column:
        entries = [(spec.count_column, *_cells_long(src, spec))]
    else:
        unknown = [k for k in spec.cells if k not in CELL_NAMES]
        if unknown:
            raise InputDataError(f"Unknown cell {unknown[0]!r} in --cell; cells are {', '.join(CELL_NAMES)}.")
        n = src.table.num_rows
        entries = [(col, np.full(n, CELL_NAMES[k][0]), np.full(n, CELL_NAMES[k][1])) for k, col in spec.cells.items()]
    n_suppressed, total = 0, 0
    for column, decision, outcome in entries:
        counts, suppressed = _parse_counts(src, column, spec)
        index = tuple(codes) + (decision, outcome)
        np.add.at(low, index, np.where(suppressed, lo_s, counts))
        np.add.at(high, index, np.where(suppressed, hi_s, counts))
        n_suppressed += int(suppressed.sum())
        total += len(counts)
    if n_suppressed:
        notes.append(f"{n_suppressed} of {total} published cells are suppressed; each is taken to lie in "
                     f"[{lo_s}, {hi_s}] and every figure built on one is reported as bounds.")
    if high.sum() == 0:
        raise InputDataError(f"{src.label}: every count is 0; there is nothing to audit.")
    rule = {"kind": "count table", "rule": "decisions as published", "selected": int(low[..., 1, :].sum())}
    has_truth = bool(spec.truth) or any(k in spec.cells for k in ("tp", "fp", "tn", "fn")) or bool(
        spec.cell_column and low[..., :2].sum() + high[..., :2].sum() > 0)
    outcome = {"column": spec.truth or spec.cell_column or "cells", "has_outcome": has_truth}
    population = Population(src.label, src.table.num_rows, (), int(low.sum()), rule, outcome)
    table = CountTable(tuple(dims), low, high, tuple(notes))
    return table, population

