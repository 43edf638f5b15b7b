"""Seeded synthetic government decision data with planted disparities of known size.

Each generator draws a population that looks like the real thing (the columns
and value spellings an agency extract has), runs a decision process through it
(a risk score that leans on proxies, a capacity-sized cut-off, a random control
sample, a manual selection step, stops with hit rates) and returns the rows
together with the *true* size of every disparity it planted: each group's rate
in expectation divided by its reference's, for single attributes and pairwise
intersections (see :mod:`auditkit.datasets._cells`).  ``planted=False`` gives
the planted-none control: the same population and process with every effect
set to none, so every true ratio is 1.

>>> data = generate("welfare", rows=2000, seed=1)
>>> data.frame.shape[0], data.audit["protected"]
(2000, ('nationality', 'gender'))
>>> truth = next(p for p in data.planted if p.group == "non-EU" and p.metric == "selection_rate")
>>> round(truth.ratio, 9)
2.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._cells import PlantedDisparity, SyntheticData
from ._justice import police_stops, recidivism
from ._process import STAGES, student_finance, student_finance_reached
from ._welfare import SEED, childcare_benefit, welfare, welfare_history

__all__ = [
    "GENERATORS",
    "SEED",
    "STAGES",
    "PlantedDisparity",
    "SyntheticData",
    "childcare_benefit",
    "generate",
    "police_stops",
    "recidivism",
    "student_finance",
    "student_finance_reached",
    "welfare",
    "welfare_history",
]

#: Every generator by name, with the template it was made for.
GENERATORS: dict[str, Callable[..., SyntheticData]] = {
    "childcare-benefit": childcare_benefit,
    "police-stops": police_stops,
    "recidivism": recidivism,
    "student-finance": student_finance,
    "student-finance-reached": student_finance_reached,
    "welfare": welfare,
}


def generate(name: str, rows: int | None = None, seed: int = SEED, *, planted: bool = True,
             **parameters: Any) -> SyntheticData:
    """Generate the synthetic data set ``name`` (see :data:`GENERATORS`).

    ``rows`` is the number of rows (for ``student-finance``: students, each on one row per step
    reached; for ``student-finance-reached``: students, one row each); ``planted=False`` gives the planted-none control.  Other keywords go to the generator.
    """
    if name not in GENERATORS:
        from .._text import did_you_mean
        from ..exceptions import UsageError

        raise UsageError(f"Unknown generator {name!r}.{did_you_mean(name, GENERATORS)} "
                         f"Generators: {', '.join(sorted(GENERATORS))}.")
    if rows is not None:
        parameters["students" if name.startswith("student-finance") else "rows"] = rows
    return GENERATORS[name](seed=seed, planted=planted, **parameters)
