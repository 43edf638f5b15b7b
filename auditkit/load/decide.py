"""Scores to decisions: a threshold, or the top k% / top n the way agencies fill capacity."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..exceptions import InputDataError
from ._arrow import bool_array, to_numpy
from ._numbers import NumberFormat, detect_format, distinct_texts, normalise
from .data import row_numbering

__all__ = ["decide", "parse_scores"]


def parse_scores(array: pa.ChunkedArray, label: str, column: str, *, row_numbers: np.ndarray | None = None,
                 kind: str = "csv", number_format: NumberFormat | None = None) -> np.ndarray:
    """Scores as float64; blanks become NaN; any text that is not a number is an error.

    ``row_numbers`` gives each row's number for messages (default: counted as for a
    source of ``kind``: a CSV file's rows with the header as row 1).  ``number_format``:
    the column's decimal mark and thousands separator (:func:`auditkit.load._numbers.detect_format`,
    decided on the whole column); by default detected from ``array`` itself.
    """
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type) or pa.types.is_decimal(array.type):
        return to_numpy(pc.cast(array, pa.float64()), fill=math.nan).astype(np.float64)
    text = pc.utf8_trim_whitespace(pc.cast(array, pa.string()))
    blank = to_numpy(pc.utf8_length(text), fill=0) == 0  # empty after trimming, or null
    kept = text.filter(bool_array(~blank)) if blank.any() else text
    if number_format is None:
        number_format = detect_format(distinct_texts([kept]), label=label, column=column)
    kept = normalise(kept, number_format)
    try:
        numbers = to_numpy(pc.cast(kept, pa.float64()), fill=math.nan).astype(np.float64)
    except pa.ArrowInvalid:
        pass
    else:
        out = np.full(len(blank), np.nan)
        out[~blank] = numbers
        return out
    plain = normalise(text, number_format).to_pylist()
    values = [None if b else v for v, b in zip(plain, blank)]
    first, word, counting = row_numbering(kind)
    if row_numbers is None:
        row_numbers = np.arange(len(values)) + first
    bad: dict[str, list[int]] = {}
    for i, v in enumerate(values):
        if v is None:
            continue
        try:
            float(v)
        except ValueError:
            bad.setdefault(v, []).append(int(row_numbers[i]))
    shown = ", ".join(f"{v!r} ({word}s {', '.join(map(str, r[:3]))}{', …' if len(r) > 3 else ''})"
                      for v, r in list(bad.items())[:8])
    first = next(iter(bad))
    raise InputDataError(
        f"{label}: score column {column!r} must hold numbers, but {sum(map(len, bad.values())):,} "
        f"{'row holds' if sum(map(len, bad.values())) == 1 else 'rows hold'} text: {shown}"
        f"{' (and more)' if len(bad) > 8 else ''}. {counting} "
        f"Fix or remove these rows, or leave them out with --exclude {column}={first}."
        + (" If the numbers are written with a thousands separator such as a space, declare it with --thousands."
           if any(any(c in v for c in " '_") for v in bad) else "")
    )


def decide(scores: np.ndarray, *, threshold: float | None = None, top: float | None = None,
           top_n: int | None = None) -> tuple[np.ndarray, dict]:
    """Decisions (0/1) from scores and a record of the rule that made them.

    Top-k selection orders by score, highest first; rows with equal scores are
    taken in file order, so the result never depends on a sort's whims.  The
    record reports how many rows share the cut-off score and how many of them
    were selected, because a tie at the cut-off decides who is investigated.

    >>> d, rule = decide(np.array([0.9, 0.5, 0.5, 0.1]), top_n=2)
    >>> d.tolist(), rule["tied_at_cutoff"], rule["tied_selected"]
    ([1, 1, 0, 0], 2, 1)
    """
    n = len(scores)
    if threshold is not None:
        return (scores >= threshold).astype(np.int8), {
            "kind": "threshold", "threshold": threshold, "rule": f"score >= {threshold}",
            "selected": int((scores >= threshold).sum())}
    k = top_n if top_n is not None else math.floor(n * float(top) / 100 + 1e-9)
    if k > n:
        raise InputDataError(f"--top-n {k} asks for more rows than the data holds ({n:,} rows after filters); "
                             f"use at most --top-n {n}.")
    if k == 0:
        raise InputDataError(
            f"--top {top} of {n:,} rows selects floor({n:,} x {top}/100) = 0 rows, so nothing would be "
            "compared. Use a larger percentage, or --top-n N."
        )
    order = np.lexsort((np.arange(n), -scores))
    decision = np.zeros(n, dtype=np.int8)
    decision[order[:k]] = 1
    rule: dict = {"kind": "top", "selected": int(k), "tie_break": "file order (earlier rows first)"}
    if top is not None:
        rule.update(percent=float(top), rule=f"top {top}% of scores (floor({n:,} x {top}/100) = {k:,} rows)")
    else:
        rule.update(rule=f"top {k:,} scores")
    if k:
        cutoff = float(scores[order[k - 1]])
        tied = scores == cutoff
        rule.update(cutoff_score=cutoff, tied_at_cutoff=int(tied.sum()),
                    tied_selected=int((tied & (decision == 1)).sum()))
    return decision, rule

