"""One person, one count: the rule that turns a file with a row per person per stage into people.

With ``--person COL`` a multi-stage file holds one row per person for every
stage of the process the person reached.  Counting those rows would count a
person once per stage (and a test would take them for independent people), so
each person is counted once: at the furthest stage they reached, with the
decision of that stage (selected there, or not) and the groups of their rows.
From such a table every transition follows (see
:mod:`auditkit.measure.stages`): a person reached stage *s* when their furthest
stage is *s* or later, and was selected at *s* when their furthest stage is
later than *s*, or is *s* and they were selected there.

The rule is written once, here.  Finding each person's rows is row-level work
that every engine does in its own way (numpy below, SQL in DuckDB, a grouped
Dask dataframe); each returns the same small table of per-person aggregates,
grouped by their values:

``_blank``
    the row group of rows that name no person (at most one such group);
``_rows``
    the person's number of rows;
``_key``
    ``max(stage * M + combination)`` over the person's rows: the furthest
    stage and the combination of codes (groups, decision, outcome) of its row;
    ``M`` is the number of combinations;
``_mask``
    ``sum(2 ** stage)``: its number of set bits is below ``_rows`` exactly when
    some stage occurs twice (a sum of powers of two carries only on repeats);
``_unsel``
    the latest stage at which the person was *not* selected (-1: none);
``_gmin``, ``_gmax``
    the smallest and largest group code (every grouping column but the stage):
    equal when the person's group is the same at every stage;
``_n``
    the number of people with these values.

:func:`person_weights` reads that table (errors, notes, one count per
person); the engines answer with the same table, so they give the same counts
and the same messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pyarrow as pa

from ..exceptions import InputDataError
from ..measure._counts import Dimension

__all__ = ["AGGREGATES", "EXAMPLES", "Combos", "aggregate_rows", "combos_of", "person_weights"]

#: Columns of the per-person aggregate table, in order.
AGGREGATES = ("_blank", "_rows", "_key", "_mask", "_unsel", "_gmin", "_gmax", "_n")
#: Kinds of person an engine can be asked to name (for messages): a stage twice, groups that change.
EXAMPLES = ("duplicate", "mixed")
#: Most stages a process may have (a stage is one bit of ``_mask``).
MAX_STAGES = 62


class Combos:
    """The distinct combinations of codes the rows fall into, and what each says about its rows.

    ``stage``: stage index; ``decision``: 0/1; ``group``: index of the combination of every
    grouping code but the stage (a person's group).
    """

    def __init__(self, stage: np.ndarray, decision: np.ndarray, group: np.ndarray) -> None:
        self.stage = stage.astype(np.int64)
        self.decision = decision.astype(np.int64)
        self.group = group.astype(np.int64)

    def __len__(self) -> int:
        return len(self.stage)


def combos_of(dims: Sequence[Dimension], codes: Mapping[str, np.ndarray], decision: np.ndarray,
              stage: str) -> Combos:
    """:class:`Combos` of rows (or of an engine's combinations) given their dimension codes."""
    if len(dims) and len(next(d for d in dims if d.name == stage).levels) > MAX_STAGES:
        raise InputDataError(f"Column {stage!r} has more than {MAX_STAGES} stages; a process stage column "
                             "holds a few steps (risk score, selection, visit, sanction).")
    group = np.zeros(len(decision), dtype=np.int64)
    for d in dims:
        if d.name != stage:
            group = group * len(d.levels) + codes[d.name]
    _, group = np.unique(group, return_inverse=True)
    return Combos(codes[stage], decision, group.reshape(-1))


def aggregate_rows(person: np.ndarray, labels: Sequence[str], combo: np.ndarray,
                   combos: Combos) -> tuple[pa.Table, Callable[[str], list[str]]]:
    """The per-person aggregate table of rows in memory.

    ``person``: each row's index into the sorted person ``labels`` (-1: no person id); ``combo``:
    each row's combination.  Also returns ``examples(kind)``: the first three people (in text
    order) of a kind of :data:`EXAMPLES`.
    """
    blank = person < 0
    ids, inverse = np.unique(person[~blank], return_inverse=True)
    combo_kept = combo[~blank]
    stage = combos.stage[combo_kept]
    size = len(ids)
    rows = np.bincount(inverse, minlength=size).astype(np.int64)
    key = np.full(size, -1, dtype=np.int64)
    np.maximum.at(key, inverse, stage * len(combos) + combo_kept)
    mask = np.zeros(size, dtype=np.int64)
    np.add.at(mask, inverse, np.left_shift(np.int64(1), stage))
    unsel = np.full(size, -1, dtype=np.int64)
    np.maximum.at(unsel, inverse, np.where(combos.decision[combo_kept] == 0, stage, -1))
    group = combos.group[combo_kept]
    gmin = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
    gmax = np.full(size, -1, dtype=np.int64)
    np.minimum.at(gmin, inverse, group)
    np.maximum.at(gmax, inverse, group)
    per_person = pa.table({"_blank": np.zeros(size, dtype=bool), "_rows": rows, "_key": key, "_mask": mask,
                           "_unsel": unsel, "_gmin": gmin, "_gmax": gmax})
    if blank.any():
        per_person = pa.concat_tables([per_person, pa.table({
            "_blank": [True], "_rows": [int(blank.sum())], "_key": [-1], "_mask": [0], "_unsel": [-1],
            "_gmin": [0], "_gmax": [0]}, schema=per_person.schema)])
    grouped = per_person.group_by(list(AGGREGATES[:-1]), use_threads=False).aggregate([([], "count_all")])
    table = grouped.rename_columns([*AGGREGATES[:-1], "_n"])

    def examples(kind: str) -> list[str]:
        hit = _duplicates(rows, mask) if kind == "duplicate" else gmin != gmax
        return [labels[int(i)] for i in ids[hit][:3]]

    return table, examples


def _popcount(values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(values), dtype=np.int64)
    v = values.astype(np.uint64)
    for _ in range(MAX_STAGES + 1):
        out += (v & np.uint64(1)).astype(np.int64)
        v = v >> np.uint64(1)
        if not v.any():
            break
    return out


def _duplicates(rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return _popcount(mask) < rows


def _people(n: int) -> str:
    return "1 person" if n == 1 else f"{n:,} people"


def person_weights(agg: pa.Table, combos: Combos, *, label: str, person: str, stage: Dimension,
                   groups: Sequence[str], examples: Callable[[str], list[str]], notes: list[str]) -> np.ndarray:
    """The number of people whose furthest row is each combination, from the per-person ``agg`` table.

    Raises InputDataError for rows without a person id, a person with two rows at one stage, or a
    person whose group changes between stages; adds notes for what is counted but unusual.
    """
    col = {name: agg.column(name).to_numpy(zero_copy_only=False) for name in AGGREGATES}
    blank = col["_blank"].astype(bool)
    if blank.any():
        n = int(col["_rows"][blank].sum())
        raise InputDataError(
            f"{label}: {n:,} {'row has' if n == 1 else 'rows have'} no value in person column {person!r}; with "
            "--person every row must say whose it is, or its stages cannot be followed. Fill the ids, or remove "
            "these rows.")
    n = col["_n"].astype(np.int64)
    twice = _duplicates(col["_rows"].astype(np.int64), col["_mask"].astype(np.int64))
    if twice.any():
        shown = ", ".join(repr(p) for p in examples("duplicate"))
        raise InputDataError(
            f"{label}: {_people(int(n[twice].sum()))} {'has' if n[twice].sum() == 1 else 'have'} more than one "
            f"row at the same stage of {stage.name!r} (e.g. {shown} in column {person!r}); with --person each "
            "person has at most one row per stage. Remove the repeated rows, or check that --person names the "
            "person id.")
    mixed = col["_gmin"] != col["_gmax"]
    if mixed.any():
        shown = ", ".join(repr(p) for p in examples("mixed"))
        raise InputDataError(
            f"{label}: {_people(int(n[mixed].sum()))} {'has' if n[mixed].sum() == 1 else 'have'} rows with "
            f"different values of {', '.join(repr(g) for g in groups)} at different stages (e.g. {shown} in "
            f"column {person!r}); a person's group must be the same at every stage, or they would be counted "
            "in two groups. Correct those rows.")
    size = len(combos)
    key = col["_key"].astype(np.int64)
    furthest, combo = key // size, key % size
    weights = np.bincount(combo, weights=n.astype(np.float64), minlength=size)
    rows = int((col["_rows"] * n).sum())
    people = int(n.sum())
    notes.append(f"{person}: {rows:,} rows of {_people(people)}; each person is counted once, at the furthest "
                 f"stage of {stage.name!r} they reached (selected there or not), and the transitions are "
                 "measured on people.")
    full = np.left_shift(np.int64(1), furthest + 1) - 1
    gaps = col["_mask"].astype(np.int64) != full
    if gaps.any():
        notes.append(f"{person}: {_people(int(n[gaps].sum()))} {'has' if n[gaps].sum() == 1 else 'have'} no row "
                     "at some stage before their furthest; they are counted as having passed every stage up to "
                     "their furthest.")
    unsel = col["_unsel"].astype(np.int64)
    odd = (unsel >= 0) & (unsel < furthest)
    if odd.any():
        notes.append(f"{person}: {_people(int(n[odd].sum()))} {'is' if n[odd].sum() == 1 else 'are'} marked not "
                     "selected at a stage before the furthest stage they reached; they are counted at their "
                     "furthest stage.")
    return weights


def stage_dimension(dims: Sequence[Dimension]) -> Dimension:
    """The dimension whose role is 'stage'."""
    return next(d for d in dims if d.role == "stage")
