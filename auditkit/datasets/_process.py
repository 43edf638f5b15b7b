"""A multi-stage control process: student-finance checks of students living away from home."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._cells import (
    Factor,
    PlantedDisparity,
    SyntheticData,
    cell_table,
    draw_cells,
    ja,
    planted_ratios,
    scale_to_share,
    solve_weight,
)

__all__ = ["STAGES", "student_finance", "student_finance_reached"]

SEED = 20261129
#: The process steps, in order, as the ``stage`` column writes them.
STAGES = ("1 risk score", "2 manual selection", "3 home visit")
_MIG = ("none", "European", "non-European")
_EDUCATION = dict(zip(_MIG, ((0.45, 0.35, 0.2), (0.45, 0.33, 0.22), (0.6, 0.28, 0.12))))
_DISTANCE = dict(zip(_MIG, ((0.3, 0.4, 0.3), (0.35, 0.35, 0.3), (0.55, 0.3, 0.15))))


_REFS = {"migration_background": "none", "gender": "M"}


def _process(students: int, seed: int, *, planted: bool, risk_ratio: float, manual_ratio: float,
             european_manual_ratio: float, high_risk_share: float, manual_rate: float,
             found_rate: float) -> tuple[pd.DataFrame, list[np.ndarray], tuple[PlantedDisparity, ...], dict]:
    """The students, whether each moved on from each step, the planted per-step ratios, the parameters."""
    if not planted:
        risk_ratio = manual_ratio = european_manual_ratio = 1.0
    cells = cell_table([
        Factor("migration_background", _MIG, (0.76, 0.08, 0.16)),
        Factor("gender", ("F", "M"), (0.52, 0.48)),
        Factor("education", ("mbo", "hbo", "wo"), lambda c: _EDUCATION[c["migration_background"]]),
        Factor("distance_to_parents", ("under 10 km", "10-50 km", "over 50 km"),
               lambda c: _DISTANCE[c["migration_background"]]),
    ])
    load = (cells["education"].map({"mbo": 1.0, "hbo": 0.5, "wo": 0.0})
            + cells["distance_to_parents"].map({"under 10 km": 1.0, "10-50 km": 0.5, "over 50 km": 0.0})).to_numpy()
    ones = np.ones(len(cells))
    beta = solve_weight(cells, load, ones, {"migration_background": "non-European"},
                        {"migration_background": "none"}, risk_ratio)
    q1 = scale_to_share(cells, np.exp(beta * load), high_risk_share)
    q2 = manual_rate * cells["migration_background"].map(
        {"none": 1.0, "European": european_manual_ratio, "non-European": manual_ratio}).to_numpy()
    refs = _REFS
    truth: list[PlantedDisparity] = []
    reach = cells["p"].to_numpy()
    for stage, q in zip(STAGES, (q1, q2, np.full(len(cells), found_rate))):
        at_stage = cells.assign(p=reach / reach.sum(), q=q, y=0.0)
        truth += planted_ratios(at_stage, ("migration_background", "gender"), refs, ("selection_rate",),
                                where=(("stage", stage),))
        reach = reach * q
    rng = np.random.default_rng(seed)
    df = draw_cells(cells.assign(q1=q1, q2=q2, q3=found_rate), students, rng)
    moved = [rng.random(students) < df[c].to_numpy() for c in ("q1", "q2", "q3")]  # drawn for everyone
    params = dict(planted=planted, risk_ratio=risk_ratio, manual_ratio=manual_ratio,
                  european_manual_ratio=european_manual_ratio, proxy_weight=beta, high_risk_share=high_risk_share,
                  manual_rate=manual_rate, found_rate=found_rate)
    return df, moved, tuple(truth), params


def _students(df: pd.DataFrame, alive: np.ndarray) -> dict:
    return {"student_id": [f"S{i:06d}" for i in np.flatnonzero(alive)],
            **{c: df.loc[alive, c].to_numpy() for c in ("migration_background", "gender", "education",
                                                       "distance_to_parents")}}


def student_finance(students: int = 8000, seed: int = SEED, *, planted: bool = True, risk_ratio: float = 2.0,
                    manual_ratio: float = 3.0, european_manual_ratio: float = 1.5, high_risk_share: float = 0.12,
                    manual_rate: float = 0.06, found_rate: float = 0.35) -> SyntheticData:
    """Students with the living-away-from-home grant, checked in three steps; one row per student per step.

    1. *risk score*: a score on education type (mbo highest) and distance to the parents' address
       (near highest) -- proxies of migration background -- marks about ``high_risk_share`` as high
       risk; its weight is solved so that students with a non-European migration background are
       marked exactly ``risk_ratio`` times as often as students without one.
    2. *manual selection*: staff pick high-risk students for a home visit at ``manual_rate``, times
       ``manual_ratio`` for a non-European and ``european_manual_ratio`` for a European migration
       background (the step where people add their own bias).
    3. *home visit*: the visit finds the student living at the parents' address at ``found_rate`` for
       everyone -- so the extra selections found nothing extra.

    Column ``selected`` says whether the student went on from the step (at the home visit: whether
    the grant was found to be unduly received); audit it with ``person="student_id"``, which counts
    each student once.  The planted ratios are per step, among the students who reached it.
    """
    df, moved, truth, params = _process(students, seed, planted=planted, risk_ratio=risk_ratio,
                                        manual_ratio=manual_ratio, european_manual_ratio=european_manual_ratio,
                                        high_risk_share=high_risk_share, manual_rate=manual_rate,
                                        found_rate=found_rate)
    frames, alive = [], np.ones(students, dtype=bool)
    for stage, moved_on in zip(STAGES, moved):
        frames.append(pd.DataFrame({**_students(df, alive), "stage": stage, "selected": ja(moved_on[alive])}))
        alive &= moved_on
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[["student_id", "stage", "migration_background", "gender", "education", "distance_to_parents",
                   "selected"]]
    audit = dict(protected=("migration_background", "gender"), references=_REFS, decision="selected",
                 positive=("Ja",), stage="stage", stage_order=STAGES, person="student_id")
    return SyntheticData("student-finance", frame, truth, audit, seed, params)


def student_finance_reached(students: int = 4000, seed: int = SEED, *, planted: bool = True,
                            manual_ratio: float = 3.0, high_risk_share: float = 0.2, manual_rate: float = 0.1,
                            found_rate: float = 0.35) -> SyntheticData:
    """The same control process with bias entering at one step only, one row per student.

    The risk score treats every group alike (ratio 1: no proxy weight), staff select students with a
    non-European migration background for a home visit ``manual_ratio`` times as often as others who
    reached that step (European: no difference), and the visit finds the same in every group.  Each
    student has one row: ``stage_reached`` is the furthest step they reached and ``selected`` whether
    they were selected there (at the home visit: the grant found unduly received; at an earlier step
    it is always 'Nee', since a student selected there reached the next).  Audit it with ``stage`` and
    ``stage_order`` and no ``person``: the audit must name step 2 as where the disparity enters.
    """
    df, moved, truth, params = _process(students, seed, planted=planted, risk_ratio=1.0,
                                        manual_ratio=manual_ratio, european_manual_ratio=1.0,
                                        high_risk_share=high_risk_share, manual_rate=manual_rate,
                                        found_rate=found_rate)
    reached = np.zeros(students, dtype=np.int64)
    reached[moved[0]] = 1
    reached[moved[0] & moved[1]] = 2
    final = moved[0] & moved[1] & moved[2]
    frame = pd.DataFrame({**_students(df, np.ones(students, dtype=bool)),
                          "stage_reached": np.asarray(STAGES, dtype=object)[reached], "selected": ja(final)})
    audit = dict(protected=("migration_background", "gender"), references=_REFS, decision="selected",
                 positive=("Ja",), stage="stage_reached", stage_order=STAGES)
    # Per-step figures are per attribute (the results' 'stages'): the intersections' ratios are left out.
    truth = tuple(PlantedDisparity(**{**p.__dict__, "where": (("stage_reached", dict(p.where)["stage"]),)})
                  for p in truth if " × " not in p.attribute)
    return SyntheticData("student-finance-reached", frame, truth, audit, seed, params)
