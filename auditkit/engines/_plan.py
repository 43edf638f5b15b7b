"""The one executor of a counting plan (:mod:`auditkit.plan`), for every engine.

An engine reduces the rows to a small table: each distinct combination of the
raw values of the plan's key columns (filters, decision, outcome, dimensions),
and for a score the class of the row's score (:mod:`._tasks`), with its number
of rows.  Everything that gives a value its meaning (labels, trimming, missing
values, positive values, filters, the top-k cut-off and its ties, periods,
every message) is decided here, on that table, with the rules of
:mod:`auditkit.load.rows` and :mod:`auditkit.load.dimensions`, written once
against :class:`auditkit.load.rows.RowSet` (of which the reduced table is one).
Rows in memory are one more engine (:mod:`._memory`), so the pandas path,
DuckDB and Dask run the same steps; the contract suite
(``tests/test_engines.py``) holds them to identical results.

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

from ..exceptions import InputDataError
from ..load._arrow import int_array
from ..load.data import row_numbering
from ..load.dimensions import check_random
from ..load.rows import (
    Population,
    RowSet,
    apply_filters,
    decision_column,
    drop_blank_scores,
)
from ..measure._counts import CountTable, count_codes
from ..plan import CountPlan, make_plan
from ..spec import AuditSpec
from ._reduced import Reduced, dimensions, outcome_codes, place
from ._source import Files, column_format
from ._tasks import BELOW, BLANK, NOT_A_NUMBER, SELECTED, TIED, ColumnIn, ScoreRule

__all__ = ["Scan", "count_scan", "execute"]


class Scan(ABC):
    """What an engine must answer about the rows of :attr:`files`; conditions are :class:`ColumnIn`."""

    def __init__(self, files: Files) -> None:
        self.files = files

    def close(self) -> None:
        """Release what the scan holds (a connection, a spill folder)."""

    def number_format(self, spec: AuditSpec) -> object:
        """The score column's number format, decided on the whole column before any filter."""
        return column_format(self.files, spec)

    @abstractmethod
    def counts(self, keys: Sequence[str], rule: ScoreRule | None) -> pa.Table:
        """Rows per distinct combination of ``keys`` (and score class ``_s``), in column ``_n``."""

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
        + (" If the numbers are written with a thousands separator such as a space, declare it with --thousands."
           if any(any(c in v for c in " '_") for v, _, _ in found) else "")
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
        wanted = {_key(v) for v in cond.values}
        keep &= np.array([cond.null if v is None else _key(v) in wanted
                          for v in rows.table.column(cond.column).to_pylist()], dtype=bool)
    return keep


def _key(value: object) -> object:
    """A raw value as a key that equals itself (NaN does not)."""
    return ("nan",) if isinstance(value, float) and value != value else value


def _decision_top(rows: Reduced, spec: AuditSpec, scan: Scan, keys: list[str],
                  rule: ScoreRule) -> tuple[Reduced, np.ndarray, dict]:
    """Top-k: the cut-off by a query, then ties by file order."""
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
    table = table.append_column("_d", int_array(np.isin(classes, (SELECTED, TIED)).astype(np.int8)))
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
    return rows, rows.column("_d").astype(np.int8), rule_record


def _split_ties(table: pa.Table, tied: np.ndarray, chosen: pa.Table, keys: list[str]) -> pa.Table:
    """Each tied combination split into its ``chosen`` rows (the first tied rows in file order: selected)
    and the others (not selected); combinations left with no rows are dropped."""
    def tuples(t: pa.Table) -> list[tuple]:
        columns = [[_key(v) for v in t.column(k).to_pylist()] for k in keys]
        return list(zip(*columns)) if columns else [()] * t.num_rows

    picked = dict(zip(tuples(chosen), chosen.column("_n").to_pylist()))
    n = table.column("_n").to_pylist()
    at = np.flatnonzero(tied)
    taken = np.array([picked.get(t, 0) for t in (tuples(table.take(int_array(at))) if len(at) else [])],
                     dtype=np.int64)
    index = np.concatenate([np.flatnonzero(~tied), at, at])
    counts = np.concatenate([np.asarray(n, dtype=np.int64)[~tied], taken, np.asarray(n, dtype=np.int64)[at] - taken])
    chosen_flags = np.concatenate([np.asarray(table.column("_d").to_pylist(), dtype=np.int8)[~tied],
                                   np.ones(len(at), np.int8), np.zeros(len(at), np.int8)])
    keep = counts > 0
    out = table.select(keys).take(int_array(index[keep]))
    return out.append_column("_n", int_array(counts[keep])).append_column("_d", int_array(chosen_flags[keep]))


def _rule(files: Files, plan: CountPlan) -> ScoreRule | None:
    if plan.decision.kind not in ("threshold", "top"):
        return None
    column = files.columns[str(plan.decision.column)]
    return ScoreRule(column, files.is_text(column), threshold=plan.decision.threshold)


def count_scan(scan: Scan, spec: AuditSpec) -> tuple[CountTable, Population]:
    """Count the rows of ``scan`` for ``spec``: its plan, executed."""
    return execute(scan, make_plan(spec, scan.files.columns))


def execute(scan: Scan, plan: CountPlan) -> tuple[CountTable, Population]:
    """Run ``plan`` on the rows of ``scan``: filters, decision, outcome, dimensions, people; then count."""
    files, spec = scan.files, plan.spec
    keys = list(plan.keys)
    rule = _rule(files, plan)
    number_format = None
    if rule is not None and rule.text:
        number_format = scan.number_format(spec)
        rule = ScoreRule(rule.column, True, number_format.decimal == ",", rule.threshold,  # type: ignore[attr-defined]
                         thousands=number_format.thousands)  # type: ignore[attr-defined]
    rows = Reduced(files, scan.counts(keys, rule), scan)
    rows_read = rows.total()
    if rows_read == 0:
        raise InputDataError(f"Data file {files.label!r} has a header but no rows." if files.kind == "csv"
                             else f"Parquet data {files.label!r} has no rows.")
    steps: list[dict] = []
    notes = list(files.notes)
    rows = _reduced(apply_filters(rows, spec, steps))
    rows, decision, record = _decide(rows, plan, scan, keys, rule, steps, notes)
    if number_format is not None and number_format.record():  # type: ignore[attr-defined]
        record["number_format"] = number_format.record()  # type: ignore[attr-defined]
    outcome, outcome_info = outcome_codes(rows, spec, notes)
    dims, codes = dimensions(rows, plan, notes)
    check_random(rows.src, spec, dims)
    weights = _people(scan, spec, rows, keys, rule, dims, codes, decision, notes) if plan.person else rows.n
    table = count_codes(dims, codes, decision, outcome, weights=weights)
    population = Population(files.label, rows_read, tuple(steps), rows.total(), record, outcome_info,
                            int(weights.sum()) if plan.person else None)
    return CountTable(table.dims, table.low, table.high, tuple(notes)), population


def all_selected_rule(selected: int) -> dict:
    """The decision record of data in which every row was selected (only investigated cases)."""
    return {"kind": "all selected", "column": None, "rule": "every row was selected (only investigated cases are "
            "in the data)", "selected": selected}


def _decide(rows: Reduced, plan: CountPlan, scan: Scan, keys: list[str], rule: ScoreRule | None,
            steps: list[dict], notes: list[str]) -> tuple[Reduced, np.ndarray, dict]:
    """Each combination's decision (0/1) and the record of the rule, by the plan's decision step."""
    spec, kind = plan.spec, plan.decision.kind
    if kind == "all selected":
        return rows, np.ones(len(rows.n), dtype=np.int8), all_selected_rule(rows.total())
    if kind == "column":
        found, decision, record = decision_column(rows, spec, steps, notes)
        return _reduced(found), decision, record
    assert rule is not None
    rows = _scores(rows, spec, scan, rule, steps)
    if kind == "threshold":
        chosen = rows.score() == SELECTED
        record = {"kind": "threshold", "threshold": spec.threshold, "rule": f"score >= {spec.threshold}",
                  "selected": rows.total(chosen)}
        decision = chosen.astype(np.int8)
    else:
        rows, decision, record = _decision_top(rows, spec, scan, keys, rule)
    record["column"] = spec.score
    return rows, decision, record
def _people(scan: Scan, spec: AuditSpec, rows: Reduced, keys: list[str], rule: ScoreRule | None,
            dims: list, codes: dict[str, np.ndarray], decision: np.ndarray, notes: list[str]) -> np.ndarray:
    """People per combination of the reduced table: each person once, at their furthest stage."""
    from ..load.persons import combos_of, person_weights, stage_dimension

    combos = combos_of(dims, codes, decision, str(spec.stage))
    table = rows.table.select([*keys, *(["_s"] if rule is not None else [])])
    table = table.append_column("_c", int_array(np.arange(len(combos), dtype=np.int64)))
    for name, values in (("_st", combos.stage), ("_dec", combos.decision), ("_g", combos.group)):
        table = table.append_column(name, int_array(values.astype(np.int64)))
    person = scan.files.columns[str(spec.person)]

    def examples(kind: str) -> list[str]:
        return [str(p) for p in scan.persons(person, keys, rule, table, example=kind).column("_p").to_pylist()]

    return person_weights(scan.persons(person, keys, rule, table), combos, label=scan.files.label,
                          person=str(spec.person), stage=stage_dimension(dims),
                          groups=[d.name for d in dims if d.role != "stage"], examples=examples, notes=notes)
