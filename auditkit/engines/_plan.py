"""One code path from an engine's group-by to a CountTable, shared by every out-of-core engine.

An engine reduces the rows to a small table: each distinct combination of the
raw values of the audit's columns (filters, decision, outcome, groups), and for
a score the class of the row's score (:mod:`._tasks`), with its number of rows.
Everything that gives a value its meaning (labels, trimming, missing values,
positive values, filters, the top-k cut-off and its ties, every message) is
decided here, on that table, with the helpers of :mod:`auditkit.load.rows`,
step by step as :func:`auditkit.load.rows.rows_to_counts` does; each row is
replaced by its combination's count.  The filters, dropped rows, decision
column and blank scores are rows.py's own rules (written once, against
:class:`auditkit.load.rows.RowSet`, of which the reduced table is one).  The contract suite
(``tests/test_engines.py``) holds the two paths to identical results.

Only four things need the rows again, and an engine answers them with a query:
the k-th largest score, which tied rows come first in file order, and, when
the data is wrong, where the first bad row is and which scores are not numbers.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..exceptions import InputDataError
from ..load.data import row_numbering
from ..load.rows import (
    Population,
    RowSet,
    _check_random,
    all_selected_rule,
    apply_filters,
    decision_column,
    drop_blank_scores,
)
from ..measure._counts import CountTable, count_codes
from ..spec import AuditSpec
from ._reduced import Reduced, dimensions, outcome_codes, place
from ._source import Files, column_format
from ._tasks import BELOW, BLANK, NOT_A_NUMBER, SELECTED, TIED, ColumnIn, ScoreRule

__all__ = ["Scan", "count_scan"]


class Scan(ABC):
    """What an engine must answer about the rows of :attr:`files`; conditions are :class:`ColumnIn`."""

    def __init__(self, files: Files) -> None:
        self.files = files

    @abstractmethod
    def counts(self, keys: Sequence[str], rule: ScoreRule | None) -> pa.Table:
        """Rows per distinct combination of ``keys`` (and score class ``_s``), in column ``_n``."""

    @abstractmethod
    def marks(self, keys: Sequence[str], rule: ScoreRule) -> pa.Table:
        """Per combination of ``keys``: ``_comma``/``_point``, does a non-blank score hold a comma, a point."""

    @abstractmethod
    def kth_largest(self, conds: Sequence[ColumnIn], rule: ScoreRule, k: int, n: int) -> float:
        """The k-th largest valid score among the ``n`` rows meeting ``conds``."""

    @abstractmethod
    def first_tied(self, keys: Sequence[str], conds: Sequence[ColumnIn], rule: ScoreRule, need: int) -> pa.Table:
        """Counts by ``keys`` of the first ``need`` rows (file order) meeting ``conds`` whose score is the cut-off."""

    @abstractmethod
    def first_row(self, conds: Sequence[ColumnIn], rule: ScoreRule | None, classes: Sequence[int]) -> int:
        """Number (as messages count rows) of the first row meeting ``conds`` whose score class is in ``classes``."""

    @abstractmethod
    def persons(self, person: str, keys: Sequence[str], rule: ScoreRule | None, combos: pa.Table,
                example: str | None = None) -> pa.Table:
        """The per-person aggregate table (:mod:`auditkit.load.persons`) of the rows whose ``keys`` (and score
        class ``_s``) match a row of ``combos``, which gives each its ``_c``, ``_st``, ``_dec`` and ``_g``.
        With ``example`` ('duplicate' or 'mixed'): the first three such people, as text, in column ``_p``."""

    @abstractmethod
    def bad_scores(self, conds: Sequence[ColumnIn], rule: ScoreRule) -> tuple[list[tuple[str, list[int], int]], int]:
        """Up to nine scores that are not numbers, first seen first: (text, first three row numbers, rows);
        and the number of such rows."""


def _bad_scores(files: Files, spec: AuditSpec, found: list[tuple[str, list[int], int]], total: int) -> InputDataError:
    """parse_scores' message for scores that are not numbers."""
    _, word, counting = row_numbering(files.kind)
    shown = ", ".join(f"{v!r} ({word}s {', '.join(map(str, r[:3]))}{', …' if n > 3 else ''})"
                      for v, r, n in found[:8])
    return InputDataError(
        f"{files.label}: score column {spec.score!r} must hold numbers, but {total:,} "
        f"{'row holds' if total == 1 else 'rows hold'} text: {shown}"
        f"{' (and more)' if len(found) > 8 else ''}. {counting} "
        f"Fix or remove these rows, or leave them out with --exclude {spec.score}={found[0][0]}."
    )


def _scores(rows: Reduced, spec: AuditSpec, scan: Scan, rule: ScoreRule, steps: list[dict]) -> Reduced:
    """Refuse scores that are not numbers; refuse or drop blank ones, with rows.py's rule."""
    classes = rows.score()
    if (classes == NOT_A_NUMBER).any():
        found, total = scan.bad_scores(list(rows.conds), rule)
        raise _bad_scores(rows.files, spec, found, total)
    blank = classes == BLANK
    if blank.any():
        rows = _reduced(drop_blank_scores(rows, spec, blank, steps, lambda: place(
            rows.files, scan.first_row(list(rows.conds), rule, (BLANK,)))))
    return rows


def _reduced(rows: RowSet) -> Reduced:
    """rows.py's rules return the kind of RowSet they were given: here a Reduced."""
    assert isinstance(rows, Reduced)
    return rows


def _top_k(n: int, spec: AuditSpec) -> int:
    """decide()'s k, and its messages when k is 0 or more than the rows."""
    k = spec.top_n if spec.top_n is not None else math.floor(n * float(spec.top or 0) / 100 + 1e-9)
    if k > n:
        raise InputDataError(f"--top-n {k} asks for more rows than the data holds ({n:,} rows after filters); "
                             f"use at most --top-n {n}.")
    if k == 0:
        raise InputDataError(
            f"--top {spec.top} of {n:,} rows selects floor({n:,} x {spec.top}/100) = 0 rows, so nothing would be "
            "compared. Use a larger percentage, or --top-n N."
        )
    return k


def _keep(rows: Reduced, conds: Sequence[ColumnIn]) -> np.ndarray:
    """The combinations of the reduced table that meet ``conds`` (the filters, evaluated again)."""
    keep = np.ones(len(rows.n), dtype=bool)
    for cond in conds:
        column = rows.table.column(cond.column)
        hit = pc.fill_null(pc.is_in(column, value_set=pa.array(list(cond.values), type=column.type)), False)
        if cond.null:
            hit = pc.or_(hit, pc.is_null(column))
        keep &= hit.to_numpy(zero_copy_only=False)
    return keep


def _decision_top(rows: Reduced, spec: AuditSpec, scan: Scan, keys: list[str],
                  rule: ScoreRule) -> tuple[Reduced, np.ndarray, dict]:
    """Top-k: the cut-off by a query, then ties by file order, as decide() does."""
    n = rows.total()
    k = _top_k(n, spec)
    conds = list(rows.conds)
    cutoff = scan.kth_largest(conds, rule, k, n)
    ranked = ScoreRule(rule.column, rule.text, rule.comma, cutoff=cutoff, thousands=rule.thousands)
    rows = Reduced(rows.files, scan.counts(keys, ranked), scan, rows.conds)
    rows = rows.where(_keep(rows, conds) & np.isin(rows.score(), (BELOW, SELECTED, TIED)))
    classes = rows.score()
    above, tied = rows.total(classes == SELECTED), rows.total(classes == TIED)
    need = k - above
    table = rows.table.drop_columns(["_s"])
    table = table.append_column("_d", pa.array(np.isin(classes, (SELECTED, TIED)).astype(np.int8)))
    if need < tied:
        table = _split_ties(table, classes == TIED, scan.first_tied(keys, conds, ranked, need), keys)
    rule_record: dict = {"kind": "top", "selected": int(k), "tie_break": "file order (earlier rows first)"}
    if spec.top is not None:
        rule_record.update(percent=float(spec.top),
                           rule=f"top {spec.top}% of scores (floor({n:,} x {spec.top}/100) = {k:,} rows)")
    else:
        rule_record.update(rule=f"top {k:,} scores")
    rule_record.update(cutoff_score=float(cutoff), tied_at_cutoff=int(tied), tied_selected=int(need))
    rows = Reduced(rows.files, table, scan, rows.conds)
    return rows, rows.table.column("_d").to_numpy(zero_copy_only=False).astype(np.int8), rule_record


def _split_ties(table: pa.Table, tied: np.ndarray, chosen: pa.Table, keys: list[str]) -> pa.Table:
    """Tied combinations selected only for the ``chosen`` counts (the first tied rows in file order)."""
    columns = [*keys, "_n", "_d"]
    table = table.select(columns)
    chosen = chosen.select([*keys, "_n"]).cast(table.select([*keys, "_n"]).schema)
    ones = pa.array(np.ones(chosen.num_rows, np.int8))
    parts = [
        table.filter(pa.array(~tied)),
        table.filter(pa.array(tied)).set_column(len(keys) + 1, "_d", pa.array(np.zeros(int(tied.sum()), np.int8))),
        chosen.set_column(len(keys), "_n", pc.negate(chosen.column("_n"))).append_column("_d", pc.subtract(ones, ones)),
        chosen.append_column("_d", ones),
    ]
    # Summing by key (nulls group together) nets each tied combination into its selected and other rows.
    merged = pa.concat_tables(parts).group_by([*keys, "_d"], use_threads=False).aggregate([("_n", "sum")])
    merged = pa.table({**{c: merged.column(c) for c in keys}, "_n": merged.column("_n_sum"), "_d": merged.column("_d")})
    return merged.filter(pc.greater(merged.column("_n"), 0))


def _rule(files: Files, spec: AuditSpec) -> ScoreRule | None:
    if not spec.score:
        return None
    column = files.columns[spec.score]
    threshold = float(spec.threshold) if spec.threshold is not None else None
    return ScoreRule(column, files.is_text(column), threshold=threshold)


def _keys(spec: AuditSpec, files: Files) -> list[str]:
    """The file's names of every column the reduced table is keyed by (not the score)."""
    wanted = [f.column for f in spec.filters] + [c for c in (spec.decision, spec.truth) if c]
    wanted += [*spec.protected, *spec.strata] + [c for c in (spec.stage, spec.selection_method) if c]
    return list(dict.fromkeys(files.columns[c] for c in wanted))


def count_scan(scan: Scan, spec: AuditSpec) -> tuple[CountTable, Population]:
    """Count the rows of ``scan`` for ``spec``: the result of ``rows_to_counts`` on the same rows."""
    files = scan.files
    keys = _keys(spec, files)
    rule = _rule(files, spec)
    number_format = None
    if rule is not None and rule.text:
        number_format = column_format(files, spec)
        rule = ScoreRule(rule.column, True, number_format.decimal == ",", rule.threshold,
                         thousands=number_format.thousands)
    rows = Reduced(files, scan.counts(keys, rule), scan)
    rows_read = rows.total()
    if rows_read == 0:
        raise InputDataError(f"Data file {files.label!r} has a header but no rows." if files.kind == "csv"
                             else f"Parquet data {files.label!r} has no rows.")
    steps: list[dict] = []
    notes = list(files.notes)
    rows = _reduced(apply_filters(rows, spec, steps))
    if spec.all_selected:
        decision = np.ones(len(rows.n), dtype=np.int8)
        record = all_selected_rule(rows.total())
    elif spec.decision:
        found, decision, record = decision_column(rows, spec, steps, notes)
        rows = _reduced(found)
    else:
        assert rule is not None
        rows = _scores(rows, spec, scan, rule, steps)
        if spec.threshold is not None:
            chosen = rows.score() == SELECTED
            decision = chosen.astype(np.int8)
            record = {"kind": "threshold", "threshold": spec.threshold, "rule": f"score >= {spec.threshold}",
                      "selected": rows.total(chosen)}
        else:
            rows, decision, record = _decision_top(rows, spec, scan, keys, rule)
        record["column"] = spec.score
        if number_format is not None and number_format.record():
            record["number_format"] = number_format.record()
    outcome, outcome_info = outcome_codes(rows, spec, notes)
    dims, codes = dimensions(rows, spec, notes)
    _check_random(rows.src, spec, dims)
    weights = _people(scan, spec, rows, keys, rule, dims, codes, decision, notes) if spec.person else rows.n
    table = count_codes(dims, codes, decision, outcome, weights=weights)
    population = Population(files.label, rows_read, tuple(steps), rows.total(), record, outcome_info,
                            int(weights.sum()) if spec.person else None)
    return CountTable(table.dims, table.low, table.high, tuple(notes)), population


def _people(scan: Scan, spec: AuditSpec, rows: Reduced, keys: list[str], rule: ScoreRule | None,
            dims: list, codes: dict[str, np.ndarray], decision: np.ndarray, notes: list[str]) -> np.ndarray:
    """People per combination of the reduced table: each person once, at their furthest stage."""
    from ..load.persons import combos_of, person_weights, stage_dimension

    combos = combos_of(dims, codes, decision, str(spec.stage))
    table = rows.table.select([*keys, *(["_s"] if rule is not None else [])])
    table = table.append_column("_c", pa.array(np.arange(len(combos), dtype=np.int64)))
    for name, values in (("_st", combos.stage), ("_dec", combos.decision), ("_g", combos.group)):
        table = table.append_column(name, pa.array(values))
    person = scan.files.columns[str(spec.person)]

    def examples(kind: str) -> list[str]:
        return [str(p) for p in scan.persons(person, keys, rule, table, example=kind).column("_p").to_pylist()]

    return person_weights(scan.persons(person, keys, rule, table), combos, label=scan.files.label,
                          person=str(spec.person), stage=stage_dimension(dims),
                          groups=[d.name for d in dims if d.role != "stage"], examples=examples, notes=notes)
