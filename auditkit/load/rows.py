"""Turn row-level columns into codes and count them.

This module decides what each value means: which levels a group column has
(missing values form the explicit group ``(missing)``), which decision and
outcome values are positive, how a score becomes a decision.  It hands codes
to :func:`auditkit.measure._counts.count_codes`, the one pass over the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._text import did_you_mean, list_values
from ..exceptions import InputDataError
from ..measure._counts import MISSING, CountTable, Dimension, count_codes
from ..spec import AuditSpec
from .data import SourceTable

__all__ = ["Population", "encode_levels", "label_of", "rows_to_counts"]


@dataclass(frozen=True)
class Population:
    """Which rows the audit covers: the rows read and each filter with its count."""

    source: str
    rows_read: int
    steps: tuple[dict, ...]
    rows_audited: int
    decision_rule: dict
    outcome: dict


def label_of(value: object) -> str:
    """Text label of a value: integral floats lose their '.0' (1.0 -> '1')."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def encode_levels(array: pa.ChunkedArray | pa.Array, missing_values: Sequence[str] = ()) -> tuple[list[str], np.ndarray]:
    """Sorted text levels of a column and each row's index; -1 marks a missing value.

    Blank and whitespace-only strings, nulls and declared ``missing_values`` are missing.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    encoded = pc.dictionary_encode(array)
    labels = [None if v is None else label_of(v) for v in encoded.dictionary.to_pylist()]
    missing = set(missing_values)
    clean = [None if (lab is None or not lab.strip() or lab in missing) else lab for lab in labels]
    levels = sorted({lab for lab in clean if lab is not None})
    position = {lab: i for i, lab in enumerate(levels)}
    lookup = np.array([position[lab] if lab is not None else -1 for lab in clean] + [-1], dtype=np.int32)
    idx = encoded.indices.fill_null(len(labels)).to_numpy(zero_copy_only=False)
    return levels, lookup[idx]


def _dimension(src: SourceTable, name: str, role: str, spec: AuditSpec, notes: list[str]) -> tuple[Dimension, np.ndarray]:
    levels, codes = encode_levels(src.table.column(src.columns[name]), spec.missing_values)
    n_missing = int((codes < 0).sum())
    if n_missing:
        codes = np.where(codes < 0, len(levels), codes)
        levels = levels + [MISSING]
        notes.append(f"{name}: {n_missing:,} rows have no value; they form the group {MISSING!r}.")
    folded: dict[str, list[str]] = {}
    for lab in levels:
        folded.setdefault(" ".join(lab.split()).casefold(), []).append(lab)
    for same in (v for v in folded.values() if len(v) > 1):
        notes.append(f"{name}: values {list_values(same)} differ only in spaces or case and are counted "
                     "as separate groups; clean the column if they mean the same.")
    if role == "stage" and spec.stage_order:
        unknown = [s for s in spec.stage_order if s not in levels]
        if unknown:
            raise InputDataError(f"--stage-order names {unknown[0]!r}, but column {name!r} has "
                                 f"{list_values(levels)}.{did_you_mean(unknown[0], levels)}")
        order = list(spec.stage_order) + [lv for lv in levels if lv not in spec.stage_order]
        remap = np.array([order.index(lv) for lv in levels])
        codes, levels = remap[codes], order
    return Dimension(name, role, tuple(levels)), codes


def _positive_mask(src: SourceTable, column: str, positive: Sequence[str] | None,
                   option: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Rows whose value is declared positive, rows with no value, and the levels seen."""
    levels, codes = encode_levels(src.table.column(src.columns[column]))
    if positive is None:
        for pair, pos in ((["0", "1"], "1"), (["False", "True"], "True"), (["false", "true"], "true")):
            if set(levels) <= set(pair) and levels:
                positive = [pos]
                break
        else:
            raise InputDataError(
                f"{src.label}: column {column!r} holds {list_values(levels)}; say which of these mean "
                f"'positive' with {option} VALUE[,VALUE]."
            )
    unknown = [p for p in positive if p not in levels]
    if unknown:
        raise InputDataError(
            f"{src.label}: {option} {unknown[0]!r} does not occur in column {column!r}, which holds "
            f"{list_values(levels)}.{did_you_mean(unknown[0], levels)}"
        )
    flags = np.array([lv in positive for lv in levels] + [False])
    return flags[codes], codes < 0, levels


def _apply_filters(src: SourceTable, spec: AuditSpec, steps: list[dict]) -> SourceTable:
    table = src.table
    for f in spec.filters:
        levels, codes = encode_levels(table.column(src.columns[f.column]))
        unknown = [v for v in f.values if v not in levels]
        if unknown:
            raise InputDataError(f"Filter on {f.column!r}: value {unknown[0]!r} does not occur; the column "
                                 f"holds {list_values(levels)}.{did_you_mean(unknown[0], levels)}")
        hit = np.isin(codes, [levels.index(v) for v in f.values])
        keep = hit if f.keep else ~hit
        before = table.num_rows
        table = table.filter(pa.array(keep))
        steps.append({"step": f.describe(), "rows_before": before, "rows_after": table.num_rows})
    if table.num_rows == 0:
        raise InputDataError(f"{src.label}: no rows are left after the filters: {steps}.")
    return SourceTable(table, src.label, src.kind, src.columns, src.notes)


def _drop(src: SourceTable, drop: np.ndarray, why: str, steps: list[dict]) -> SourceTable:
    before = src.table.num_rows
    table = src.table.filter(pa.array(~drop))
    steps.append({"step": why, "rows_before": before, "rows_after": table.num_rows})
    return SourceTable(table, src.label, src.kind, src.columns, src.notes)


def _outcome(src: SourceTable, spec: AuditSpec, notes: list[str]) -> tuple[np.ndarray, dict]:
    """Outcome codes 0/1/2 (2 = unknown) and a record of how they were read."""
    n = src.table.num_rows
    if not spec.truth:
        return np.full(n, 2, dtype=np.int8), {"column": None}
    pos, missing, levels = _positive_mask(src, spec.truth, spec.truth_positive, "--truth-positive")
    positives = [lv for lv in levels if lv in (spec.truth_positive or ["1", "True", "true"])]
    negatives = [lv for lv in levels if lv not in positives]
    unknown = np.zeros(n, dtype=bool)
    if spec.truth_negative:
        bad = [v for v in spec.truth_negative if v not in negatives]
        if bad:
            raise InputDataError(f"{src.label}: --truth-negative {bad[0]!r} does not occur in column "
                                 f"{spec.truth!r} (or is also positive); it holds {list_values(levels)}.")
        other = [lv for lv in negatives if lv not in spec.truth_negative]
        if other:
            _, codes = encode_levels(src.table.column(src.columns[spec.truth]))
            unknown = np.isin(codes, [levels.index(v) for v in other])
            notes.append(f"{spec.truth}: {int(unknown.sum()):,} rows hold {list_values(other)}, neither "
                         "positive nor negative; their outcome is treated as unknown.")
    elif len(negatives) != 1:
        raise InputDataError(
            f"{src.label}: outcome column {spec.truth!r} must hold two values (one positive, one negative), "
            f"but besides the positive {list_values(positives)} it holds {list_values(negatives)}. "
            "Declare the negative value with --truth-negative VALUE (other values then count as unknown "
            "outcomes), or fix the column."
        )
    outcome = np.where(pos, 1, 0).astype(np.int8)
    outcome[missing | unknown] = 2
    info = {"column": spec.truth, "positive": positives, "negative": list(spec.truth_negative or negatives),
            "rows_outcome_unknown": int((missing | unknown).sum())}
    return outcome, info


def _decision(src: SourceTable, spec: AuditSpec, steps: list[dict]) -> tuple[SourceTable, np.ndarray, dict]:
    from .decide import decide, parse_scores

    if spec.decision:
        pos, missing, levels = _positive_mask(src, spec.decision, spec.positive, "--positive")
        if missing.any():
            if not spec.drop_missing:
                raise InputDataError(
                    f"{src.label}: {int(missing.sum()):,} rows have no value in decision column "
                    f"{spec.decision!r} (first at row {int(np.argmax(missing)) + 2}). Fill them, or pass "
                    "--drop-missing to leave these rows out (the count is reported)."
                )
            src = _drop(src, missing, f"removed rows with no decision in {spec.decision!r}", steps)
            pos = pos[~missing]
        chosen = [lv for lv in levels if lv in (spec.positive or ["1", "True", "true"])]
        return src, pos.astype(np.int8), {"kind": "column", "column": spec.decision, "positive": chosen,
                                          "rule": f"{spec.decision} in {chosen}", "selected": int(pos.sum())}
    scores = parse_scores(src.table.column(src.columns[spec.score]), src.label, spec.score)
    blank = np.isnan(scores)
    if blank.any():
        if not spec.drop_missing:
            raise InputDataError(
                f"{src.label}: {int(blank.sum()):,} rows have a blank score in {spec.score!r} (first at row "
                f"{int(np.argmax(blank)) + 2}); cases that were not scored (random or follow-up cases) are "
                "often left blank. Pass --drop-missing to leave them out (the count is reported), or fill them."
            )
        src = _drop(src, blank, f"removed rows with a blank score in {spec.score!r}", steps)
        scores = scores[~blank]
    decision, rule = decide(scores, threshold=spec.threshold, top=spec.top, top_n=spec.top_n)
    rule["column"] = spec.score
    return src, decision, rule


def rows_to_counts(src: SourceTable, spec: AuditSpec) -> tuple[CountTable, Population]:
    """Apply the filters, derive decisions and outcomes, and count the rows once."""
    rows_read = src.table.num_rows
    steps: list[dict] = []
    notes = list(src.notes)
    src = _apply_filters(src, spec, steps)
    src, decision, rule = _decision(src, spec, steps)
    outcome, outcome_info = _outcome(src, spec, notes)
    roles = [(c, "protected") for c in spec.protected] + [(c, "stratum") for c in spec.strata]
    roles += [(c, r) for c, r in ((spec.stage, "stage"), (spec.selection_method, "method")) if c]
    dims, codes = [], {}
    for name, role in roles:
        dim, code = _dimension(src, name, role, spec, notes)
        dims.append(dim)
        codes[name] = code
    if spec.selection_method:
        method = dims[-1]
        bad = [r for r in spec.random or () if r not in method.levels]
        if bad:
            raise InputDataError(f"--random {bad[0]!r} does not occur in {spec.selection_method!r}, which holds "
                                 f"{list_values(method.levels)}.{did_you_mean(bad[0], method.levels)}")
    table = count_codes(dims, codes, decision, outcome)
    population = Population(src.label, rows_read, tuple(steps), src.table.num_rows, rule, outcome_info)
    return CountTable(table.dims, table.low, table.high, tuple(notes)), population
