"""Process stages: each transition measured on the people who reached it, never pooled across stages.

A control process (risk score -> manual selection -> home visit) is read into a
count table whose stage dimension holds, for each person, the furthest stage
they reached, and whose decision is whether they were selected at that stage
(:mod:`auditkit.load.persons`).  From it, for every stage *s*:

* the people who **entered** *s*: those whose furthest stage is *s* or later;
* the people who **left** *s* selected: those whose furthest stage is later than
  *s*, or is *s* and who were selected there;
* the **conditional selection rate**: selected at *s* among those who entered
  *s*, compared between groups with the same interval and test as every other
  comparison (each person once: the test's independence holds);
* the **cumulative rate**: selected at *s* among everyone who entered the first
  stage.

A count table an agency publishes per stage counts the people at each stage
(its rows are already transitions); it is read as such.  No figure adds the
rows of one stage to those of another: the audit's main comparisons are the
end-to-end ones (selected at the last stage, among everyone at the first).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..spec import AuditSpec
from ._counts import CountTable
from .compare import compare
from .groups import group_table, rate_record
from .run import _comparison

__all__ = ["cumulative_table", "end_to_end", "measure_stages", "stage_design", "stage_notes", "transition_table"]


def _axis(table: CountTable, spec: AuditSpec) -> int:
    return table.names().index(str(spec.stage))


def _split(a: np.ndarray, axis: int, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells of stages before ``s`` (summed), at ``s``, after ``s`` (summed); the stage axis removed."""
    before = np.take(a, range(s), axis=axis).sum(axis=axis)
    at = np.take(a, s, axis=axis)
    after = np.take(a, range(s + 1, a.shape[axis]), axis=axis).sum(axis=axis)
    return before, at, after


def _transition(a: np.ndarray, axis: int, s: int, per_stage: bool) -> np.ndarray:
    if per_stage:
        return np.take(a, s, axis=axis)
    _, at, after = _split(a, axis, s)
    out = at.copy()
    out[..., 1, :] += after.sum(axis=-2)  # went further than s: selected at s, whatever they got later
    return out


def transition_table(table: CountTable, spec: AuditSpec, s: int) -> CountTable:
    """The people who entered stage ``s``; decision: selected at ``s`` (the stage dimension removed)."""
    axis = _axis(table, spec)
    dims = table.dims[:axis] + table.dims[axis + 1:]
    per_stage = spec.is_count_table
    return CountTable(dims, _transition(table.low, axis, s, per_stage), _transition(table.high, axis, s, per_stage),
                      table.notes)


def cumulative_table(table: CountTable, spec: AuditSpec, s: int) -> CountTable:
    """Everyone who entered the first stage; decision: selected at stage ``s`` (passed every stage to it)."""
    axis = _axis(table, spec)
    dims = table.dims[:axis] + table.dims[axis + 1:]
    if not spec.is_count_table:
        low = _transition(table.low, axis, s, False)
        before, at, _ = _split(table.low, axis, s)
        low[..., 0, :] = before.sum(axis=-2) + at[..., 0, :]
        high = _transition(table.high, axis, s, False)
        before, at, _ = _split(table.high, axis, s)
        high[..., 0, :] = before.sum(axis=-2) + at[..., 0, :]
        return CountTable(dims, low, high, table.notes)
    # Counts per stage: the selected at s are the stage's own; the rest of the first stage's people are
    # not selected, their outcome unknown.  Suppressed cells give the widest consistent bounds.
    first = (np.take(table.low, 0, axis=axis).sum(axis=(-2, -1)), np.take(table.high, 0, axis=axis).sum(axis=(-2, -1)))
    at = (np.take(table.low, s, axis=axis), np.take(table.high, s, axis=axis))
    low, high = np.zeros_like(at[0]), np.zeros_like(at[1])
    low[..., 1, :], high[..., 1, :] = at[0][..., 1, :], at[1][..., 1, :]
    low[..., 0, 2] = np.maximum(0, first[0] - at[1][..., 1, :].sum(axis=-1))
    high[..., 0, 2] = np.maximum(low[..., 0, 2], first[1] - at[0][..., 1, :].sum(axis=-1))
    return CountTable(dims, low, high, table.notes)


def end_to_end(table: CountTable, spec: AuditSpec) -> CountTable:
    """Everyone who entered the process, selected when selected at its last stage: one count per person."""
    return cumulative_table(table, spec, len(table.dim(str(spec.stage)).levels) - 1)


def stage_design(table: CountTable, spec: AuditSpec) -> dict:
    """What the stage records and the end-to-end comparisons are measured on, in words and figures."""
    order = list(table.dim(str(spec.stage)).levels)
    if spec.is_count_table:
        reading = "counts per stage (a count table): each stage's rows count the people at that stage"
    elif spec.person:
        reading = (f"one row per person per stage reached (--person {spec.person}): each person counted once, "
                   "at the furthest stage reached")
    else:
        reading = "one row per person: the stage column holds the furthest stage the person reached"
    first = transition_table(table, spec, 0)
    return {"column": spec.stage, "order": order, "person_column": spec.person, "reading": reading,
            "people": int(first.low.sum()),
            "comparisons": (f"end to end: selected at the last stage ({order[-1]!r}) among everyone who entered the "
                            f"first stage ({order[0]!r}); per-stage figures are under 'stages'")}


def stage_notes(table: CountTable, spec: AuditSpec) -> list[str]:
    """What the counts show that the reader must know: people selected at a stage who went no further."""
    if spec.is_count_table:
        return []
    stage = table.dim(str(spec.stage))
    axis = _axis(table, spec)
    stuck = np.take(table.low, range(len(stage.levels) - 1), axis=axis)
    n = int(np.moveaxis(stuck, axis, 0)[..., 1, :].sum())
    if not n:
        return []
    who = "person is" if n == 1 else "people are"
    text = (f"{spec.stage}: {n:,} {who} marked selected at a stage before the last ({stage.levels[-1]!r}) but "
            "reached no later stage; they count as selected at that stage and as not reaching the next.")
    if not spec.person:
        text += (" If the file holds one row per person per stage, pass --person COL (the person id) so that "
                 "each person is counted once.")
    return [text]


def _f(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _share(k: float, n: float, level: float) -> dict:
    from .designs import proportion_record

    return proportion_record(k, n, level)


def _cumulative_ratio(cgt: Any, i: int, ref: int, level: float) -> dict:
    r = cgt.rates["selection_rate"]
    if r.reason(i) or r.reason(ref):
        return {"ratio": None, "ratio_ci": [None, None], "reason": r.reason(i) or r.reason(ref)}
    c = compare((r.k_low[i], r.n_low[i], r.k_high[i], r.n_high[i]),
                (r.k_low[ref], r.n_low[ref], r.k_high[ref], r.n_high[ref]), level)
    bounded = c.ratio[0] != c.ratio[1]
    out: dict = {"ratio": None if bounded else _f(c.ratio[0]), "ratio_ci": [_f(c.ratio_ci[0]), _f(c.ratio_ci[1])]}
    if bounded:
        out["ratio_bounds"] = [_f(c.ratio[0]), _f(c.ratio[1])]
    return out


def measure_stages(table: CountTable, spec: AuditSpec, references: dict[tuple[str, ...], str | None]) -> list[dict]:
    """One record per attribute, stage and group: entering, leaving, the conditional and cumulative rates.

    ``references``: the reference group of each single attribute (the end-to-end comparisons' own).
    Each non-reference record's ``comparison`` is a comparison record (ratio, intervals, test) that
    joins the audit's multiple-testing family.
    """
    levels = table.dim(str(spec.stage)).levels
    design = {"undefined_metrics": {}}
    out: list[dict] = []
    for subset, ref_label in references.items():
        if len(subset) != 1 or ref_label is None:
            continue
        for s, name in enumerate(levels):
            gt = group_table(transition_table(table, spec, s), subset, spec.level)
            cgt = group_table(cumulative_table(table, spec, s), subset, spec.level)
            ref = [gt.label(i) for i in range(len(gt.labels))].index(ref_label)
            entering = gt.low.sum(axis=(1, 2))
            leaving = gt.low[:, 1].sum(axis=1)
            for i in range(len(gt.labels)):
                rec: dict[str, Any] = {
                    "attribute": gt.name, "group": gt.label(i), "reference": ref_label, "is_reference": i == ref,
                    "stage": name, "stage_index": s, "next_stage": levels[s + 1] if s + 1 < len(levels) else None,
                    "entering": {"n": int(entering[i]), "share": _share(entering[i], entering.sum(), spec.level)},
                    "leaving": {"n": int(leaving[i]), "share": _share(leaving[i], leaving.sum(), spec.level)},
                    "selection_rate": rate_record(gt.rates["selection_rate"], i),
                    "cumulative_selection_rate": rate_record(cgt.rates["selection_rate"], i),
                    "comparison": None, "cumulative_comparison": None,
                }
                if i != ref:
                    cmp = _comparison(gt, i, ref, "selection_rate", spec, design)
                    rec["comparison"] = {**cmp, "stage": name, "stage_index": s}
                    rec["cumulative_comparison"] = _cumulative_ratio(cgt, i, ref, spec.level)
                out.append(rec)
    return out
