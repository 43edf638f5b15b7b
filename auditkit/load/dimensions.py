"""The levels of a grouping column, by its role: what a group, a stage or a period is.

Every dimension of a count table (:data:`auditkit.plan.ROLES`) gets its levels
here, from the distinct values of its column and the number of rows each value
stands for (``weights``: an engine's reduced table has one entry per distinct
combination of values).  Protected attributes, strata and the selection method
share one rule (sorted labels; missing values form the group ``(missing)``);
the stage column must follow the process order; the period column is read as
dates or period labels and ordered in time (:mod:`auditkit.load.periods`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .._text import did_you_mean, list_values
from ..exceptions import InputDataError
from ..measure._counts import MISSING, Dimension
from ..spec import AuditSpec
from .data import SourceTable
from ._values import match_values
from .rows import _rows, _values, _where, encode_levels

__all__ = ["check_random", "dimension"]


def dimension(src: SourceTable, name: str, role: str, spec: AuditSpec, notes: list[str],
              weights: np.ndarray | None = None,
              first: Callable[[np.ndarray], str] | None = None) -> tuple[Dimension, np.ndarray]:
    """Levels and codes of a grouping column.

    ``weights``: rows per entry of ``src`` (an engine's combinations), for the notes; ``first(mask)``:
    where the first row of the entries in ``mask`` is, for messages (default: ``src``'s own rows).
    """
    levels, codes = encode_levels(src.table.column(src.columns[name]), _values(spec.missing_values))
    if role == "stage":
        return _stage(src, name, levels, codes, spec, notes, weights)
    if role == "period":
        from .periods import period_dimension

        return period_dimension(src, name, levels, codes, spec, notes, weights,
                                first or (lambda mask: _where(src, mask)))
    if MISSING in levels:  # the data's own text '(missing)' must not merge with (or pose as) the missing group
        renamed = f"{MISSING} [written in the data]"
        named = [renamed if lv == MISSING else lv for lv in levels]
        order = sorted(named)
        codes = np.array([order.index(lv) for lv in named] + [-1], dtype=np.int32)[codes]
        levels = order
        notes.append(f"{name}: the text {MISSING!r} written in the data is shown as {renamed!r}, apart from "
                     "the rows with no value.")
    missing = codes < 0
    if missing.any():
        codes = np.where(missing, len(levels), codes)
        levels = levels + [MISSING]
        notes.append(f"{name}: {_rows(_count(missing, weights))} no value; they form the group {MISSING!r}.")
    folded: dict[str, list[str]] = {}
    for lab in levels:
        folded.setdefault(" ".join(lab.split()).casefold(), []).append(lab)
    for same in (v for v in folded.values() if len(v) > 1):
        notes.append(f"{name}: values {list_values(same)} differ only in spaces or case and are counted "
                     "as separate groups; clean the column if they mean the same.")
    return Dimension(name, role, tuple(levels)), codes


def _count(mask: np.ndarray, weights: np.ndarray | None) -> int:
    """Rows of the entries in ``mask``."""
    return int(mask.sum() if weights is None else weights[mask].sum())


def _stage(src: SourceTable, name: str, levels: list[str], codes: np.ndarray, spec: AuditSpec, notes: list[str],
           weights: np.ndarray | None) -> tuple[Dimension, np.ndarray]:
    """The stage column: every row names a stage, and the stages are in process order.

    The order decides every transition, so a stage the order leaves out is an error rather than
    a stage silently put last; without --stage-order the sorted order is used and said.
    """
    blank = codes < 0
    if blank.any():
        raise InputDataError(f"{src.label}: {_rows(_count(blank, weights))} no value in stage column {name!r}; "
                             "every row of a process file must name the stage it records. Fill the stage, or leave "
                             "these rows out.")
    if not spec.stage_order:
        notes.append(f"{name}: no --stage-order was given, so the stages are taken in sorted order "
                     f"({', '.join(repr(lv) for lv in levels)}); give the process order with --stage-order if "
                     "it differs.")
        return Dimension(name, "stage", tuple(levels)), codes
    unknown = [s for s in spec.stage_order if s not in levels]
    if unknown:
        raise InputDataError(f"{src.label}: --stage-order names {unknown[0]!r}, but column {name!r} has "
                             f"{list_values(levels)}.{did_you_mean(unknown[0], levels)}")
    unlisted = [lv for lv in levels if lv not in spec.stage_order]
    if unlisted:
        raise InputDataError(f"{src.label}: column {name!r} holds {list_values(unlisted)}, which --stage-order "
                             f"({', '.join(spec.stage_order)}) does not place; every stage must have its place in "
                             "the process. Add it to --stage-order, or leave its rows out with --exclude.")
    order = list(spec.stage_order)
    remap = np.array([order.index(lv) for lv in levels] + [-1])
    return Dimension(name, "stage", tuple(order)), remap[codes]


def check_random(src: SourceTable, spec: AuditSpec, dims: Sequence[Dimension]) -> None:
    """Every --random value must occur in the --selection-method column (by meaning: 1 is 1.0 is True)."""
    if not spec.selection_method:
        return
    method = next(d for d in dims if d.role == "method")
    match_values(method.levels, [r.strip() for r in _values(spec.random) or ()], label=src.label,
                 column=spec.selection_method, option="--random")
