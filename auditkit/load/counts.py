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

from .._text import did_you_mean, list_values
from ..exceptions import InputDataError, UsageError
from ..measure._counts import CountTable
from ..spec import AuditSpec
from ._totals import drop_totals
from .data import SourceTable, row_numbering
from ..plan import dimension_roles
from .dimensions import check_random, dimension
from .rows import (
    Population,
    _apply_filters,
    _outcome_codes,
    _positive_mask,
    _row_numbers,
    _value_levels,
    _values,
    _where,
)

__all__ = ["CELL_NAMES", "count_table_columns", "counts_to_table"]

#: Cell names a count table may use, and their (decision, outcome) position.
CELL_NAMES = {"tp": (1, 1), "fp": (1, 0), "fn": (0, 1), "tn": (0, 0),
              "selected": (1, 2), "not_selected": (0, 2)}


def count_table_columns(spec: AuditSpec) -> list[str]:
    """Columns a count table must have for ``spec`` (options that contradict each other are refused first)."""
    _check_options(spec)
    cols = list(spec.protected) + list(spec.strata) + ([spec.period] if spec.period else [])
    cols += [c for c in (spec.stage, spec.selection_method, spec.count_column, spec.cell_column,
                         spec.decision, spec.truth) if c]
    return cols + [c for c in spec.cells.values()] + [f.column for f in spec.filters]


def _check_options(spec: AuditSpec) -> None:
    """Options a count table cannot use together, which would otherwise be silently ignored."""
    if spec.count_column and spec.cells:
        raise UsageError("Give either --count-column COL (a long table: one row per group and cell) or --cell "
                         "CELL=COL (a wide table: one column per cell), not both.")
    if spec.cell_column and spec.decision:
        raise UsageError("Give either --cell-column COL (naming each row's cell) or --decision COL, not both.")
    if spec.cell_column and spec.truth:
        raise UsageError("--cell-column already says each row's outcome (tp/fp/tn/fn); drop --truth.")
    if spec.cell_column and not spec.count_column:
        raise UsageError("--cell-column needs --count-column COL: the column holding each row's count.")
    if spec.cells and (spec.decision or spec.truth):
        raise UsageError("A wide table (--cell CELL=COL) has no decision or outcome column: drop --decision and "
                         "--truth; the cells say both.")
    if spec.drop_missing:
        raise UsageError("--drop-missing applies to row-level data, not to a count table.")
    unknown = [k for k in spec.cells if k not in CELL_NAMES]
    if unknown:
        raise UsageError(f"Unknown cell {unknown[0]!r} in --cell {unknown[0]}={spec.cells[unknown[0]]}."
                         f"{did_you_mean(unknown[0], CELL_NAMES)} Cells are {', '.join(CELL_NAMES)}.")
    cells = set(spec.cells)
    clashes = [("selected", "tp"), ("selected", "fp"), ("not_selected", "tn"), ("not_selected", "fn")]
    both = [(a, b) for a, b in clashes if a in cells and b in cells]
    if both:
        a, b = both[0]
        raise UsageError(f"--cell {a}=... and --cell {b}=... overlap: {b} rows are part of the {a} rows, so "
                         f"they would be counted twice. Give {a}, or its outcome cells, not both.")
    for a, b in (("tp", "fp"), ("tn", "fn")):
        if (a in cells) != (b in cells):
            have, missing = (a, b) if a in cells else (b, a)
            raise UsageError(f"--cell {have}=... is given without --cell {missing}=...; without it every "
                             f"{missing} count would be read as 0. Give both (or use selected/not_selected).")


def _parse_counts(src: SourceTable, column: str, spec: AuditSpec) -> tuple[np.ndarray, np.ndarray]:
    """Counts as floats and a mask of suppressed cells; any other non-count is an error."""
    values = [None if v is None else str(v).strip() for v in src.table.column(src.columns[column]).to_pylist()]
    markers = {m.strip() for m in _values(spec.suppressed)}
    numbers = _row_numbers(src)
    counts = np.zeros(len(values))
    suppressed = np.zeros(len(values), dtype=bool)
    bad: dict[str, list[int]] = {}
    for row, v in enumerate(values):
        text = "" if v is None else v.removesuffix(".0")
        if text in markers or v in markers:
            suppressed[row] = True
            continue
        if text.isascii() and text.isdigit():
            counts[row] = int(text)
        else:
            bad.setdefault(v or "(blank)", []).append(int(numbers[row]))
    if bad:
        _, word, counting = row_numbering(src.kind)
        shown = ", ".join(f"{v!r} ({word} {r[0]:,})" for v, r in list(bad.items())[:8])
        raise InputDataError(
            f"{src.label}: count column {column!r} must hold whole non-negative numbers, but found {shown}. "
            f"{counting} "
            f"If these mark cells the agency suppressed, declare them with --suppressed VALUE (here "
            f"--suppressed '{'' if next(iter(bad)) == '(blank)' else next(iter(bad))}'); each such cell then counts as unknown within --suppressed-range "
            f"(now {spec.suppressed_range[0]}-{spec.suppressed_range[1]}). Otherwise fix those rows."
        )
    return counts, suppressed


def _cells_long(src: SourceTable, spec: AuditSpec, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Decision and outcome index of each row of a long table."""
    n = src.table.num_rows
    if spec.cell_column:
        levels, codes = _value_levels(src, spec.cell_column)
        norm = [lv.lower().replace(" ", "_").replace("-", "_") for lv in levels]
        unknown = [lv for lv, nm in zip(levels, norm) if nm not in CELL_NAMES]
        if unknown or (codes < 0).any():
            where = f" (first blank at {_where(src, codes < 0)})" if not unknown else ""
            hint = did_you_mean(unknown[0], CELL_NAMES) if unknown else ""
            raise InputDataError(
                f"{src.label}: cell column {spec.cell_column!r} must name a cell in each row "
                f"({', '.join(CELL_NAMES)}); found {list_values(unknown or ['(blank)'])}{where}.{hint} "
                "Rename those values, or remove the rows that are totals.")
        pos = np.array([CELL_NAMES[nm] for nm in norm])
        return pos[codes, 0], pos[codes, 1]
    decision, missing, _, _ = _positive_mask(src, spec.decision, spec.positive, "--positive")
    if missing.any():
        raise InputDataError(f"{src.label}: decision column {spec.decision!r} is blank at {_where(src, missing)}; "
                             "every row of a count table needs its cell. Fill it in, or remove the row if it "
                             "is a total.")
    outcome = np.full(n, 2)
    if spec.truth:
        outcome, _ = _outcome_codes(src, spec, notes)
    return decision.astype(int), outcome.astype(int)


def _check_long_cells(src: SourceTable, spec: AuditSpec, dims: list, codes: list, decision: np.ndarray,
                      outcome: np.ndarray) -> None:
    """Refuse a group that has both a 'selected' row and tp/fp rows (or 'not_selected' and tn/fn):
    the total would be counted on top of its parts."""
    key = np.zeros(len(decision), dtype=np.int64)
    for d, c in zip(dims, codes):
        key = key * len(d.levels) + c
    for d, (total, parts) in ((1, ("selected", "tp, fp")), (0, ("not_selected", "tn, fn"))):
        has_total = np.unique(key[(decision == d) & (outcome == 2)])
        has_parts = np.unique(key[(decision == d) & (outcome < 2)])
        both = np.intersect1d(has_total, has_parts)
        if both.size:
            row = int(np.argmax(key == both[0]))
            labels = " × ".join(dim.levels[c[row]] for dim, c in zip(dims, codes))
            raise InputDataError(
                f"{src.label}: group {labels!r} has both a {total!r} row and {parts} rows in cell column "
                f"{spec.cell_column!r}, so its {total} cases would be counted twice (the total on top of its "
                f"parts). Remove the {total} total rows, or the rows of its parts."
            )


def counts_to_table(src: SourceTable, spec: AuditSpec) -> tuple[CountTable, Population]:
    """Read a long or wide count table; suppressed cells become bounds."""
    _check_options(spec)
    notes = list(src.notes)
    rows_read = src.table.num_rows
    steps: list[dict] = []
    src = _apply_filters(src, spec, steps)
    roles = dimension_roles(spec)
    count_columns = [spec.count_column] if spec.count_column else list(spec.cells.values())
    groups = [c for c, _ in roles]
    keys = groups + [c for c in (spec.cell_column, spec.decision, spec.truth) if c]
    src = drop_totals(src, spec, count_columns, keys, groups, _parse_counts, _value_levels, _where, steps, notes)
    dims, codes = [], []
    for name, role in roles:
        dim, code = dimension(src, name, role, spec, notes)
        dims.append(dim)
        codes.append(code)
    check_random(src, spec, dims)
    shape = tuple(len(d.levels) for d in dims) + (2, 3)
    low, high = np.zeros(shape), np.zeros(shape)
    lo_s, hi_s = spec.suppressed_range
    if spec.count_column:
        entries = [(spec.count_column, *_cells_long(src, spec, notes))]
        if spec.cell_column:
            _check_long_cells(src, spec, dims, codes, *entries[0][1:])
    else:
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
    population = Population(src.label, rows_read, tuple(steps), int(low.sum()), rule, outcome)
    table = CountTable(tuple(dims), low, high, tuple(notes))
    return table, population

