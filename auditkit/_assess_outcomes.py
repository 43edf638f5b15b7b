"""The rows `assess` measures score behaviour on (calibration, ROC, threshold sweep): every audited row with an
outcome value, up to :data:`SCORE_ROWS`; above that a seeded sample of that many, stated in the results.

The explanations run on their own sample (``explain_sample``); score behaviour does not: it uses every
audited row with an outcome value, whatever the engine.  In memory they are picked from the whole table;
with DuckDB or Dask they are gathered while the batches are scored (bottom-k sampling by the same seeded keys,
:class:`auditkit._assess_batches._Sample`), so the data is never held whole and both paths keep the same rows.
Which of the kept rows count (a known outcome, the random control sample under selective labels) is then
decided by :func:`auditkit._assess_scores.score_behaviour_record`, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SCORE_ROWS", "OutcomeRows", "has_outcome_value", "outcome_rows", "sample_record"]

#: Most rows score behaviour holds in memory (a few columns each); above it, a seeded sample of this many.
SCORE_ROWS = 1_000_000


METHOD = ("uniform without replacement: each audited row with an outcome value gets a SplitMix64 key from its "
          "position among those rows and the seed; the rows with the smallest keys are kept, in file order (the same "
          "rows for every engine and batch size)")


@dataclass(frozen=True)
class OutcomeRows:
    """The kept rows (their audit columns), their scores, and how many audited rows had an outcome value."""

    frame: Any
    scores: np.ndarray
    seen: int

    @property
    def sampled(self) -> bool:
        """Whether the rows are a sample of those with an outcome value."""
        return len(self.scores) < self.seen


def has_outcome_value(values: Any) -> np.ndarray:
    """Rows whose outcome cell (a pandas Series) is neither empty nor blank."""
    blank = values.astype("string").str.strip().eq("").fillna(False)
    return (values.notna() & ~blank).to_numpy(dtype=bool)


def outcome_rows(frame: Any, scores: np.ndarray, truth: str, seed: int, cap: int | None = None) -> OutcomeRows:
    """The audited rows of ``frame`` (in file order) with an outcome value; at most ``cap`` (default
    :data:`SCORE_ROWS`), by seeded keys."""
    from .assess import sample_keys, smallest

    cap = SCORE_ROWS if cap is None else cap
    rows = np.flatnonzero(has_outcome_value(frame[truth]))
    seen = len(rows)
    if seen > cap:
        rows = rows[smallest(sample_keys(seed, np.arange(seen)), cap)]
    return OutcomeRows(frame.iloc[rows].reset_index(drop=True), np.asarray(scores)[rows], seen)


def sample_record(outcomes: OutcomeRows, seed: int) -> dict | None:
    """The ``score_behaviour.sample`` record when the rows are a sample, else None."""
    if not outcomes.sampled:
        return None
    return {"rows": int(len(outcomes.scores)), "of": int(outcomes.seen), "seed": int(seed), "method": METHOD}
