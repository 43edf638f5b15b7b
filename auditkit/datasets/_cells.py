"""The machinery under the synthetic generators: a table of cells with exact probabilities.

A generator describes its population as discrete *cells* (every combination of
the categorical attributes), each with its probability ``p``, the probability
``q`` that a case in it is selected, and the probability ``y`` that its true
outcome is positive (independent of selection within the cell).  Rows are drawn
from the cells, so every rate a group has *in expectation* is an exact sum over
cells: that is what makes a planted disparity's true size known, for single
attributes and intersections alike, whatever the proxies in between.

Only ``Generator.random`` is drawn from (inverse-CDF sampling everywhere), so
a seed gives the same rows on every platform and NumPy version that keeps the
PCG64 stream.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Factor", "PlantedDisparity", "SyntheticData", "cell_table", "draw_cells", "ja", "pick", "planted_ratios",
           "random_sample_ratios", "scale_to_share", "score_and_select", "solve_weight", "true_rate"]

Probs = Sequence[float] | Callable[[Mapping[str, str]], Sequence[float]]


@dataclass(frozen=True)
class Factor:
    """A categorical attribute: its levels and their probabilities, fixed or given the earlier factors."""

    name: str
    levels: tuple[str, ...]
    probs: Probs

    def probabilities(self, earlier: Mapping[str, str]) -> Sequence[float]:
        """The level probabilities for a cell whose earlier factors are ``earlier``."""
        return self.probs(earlier) if callable(self.probs) else self.probs


@dataclass(frozen=True)
class PlantedDisparity:
    """A disparity put into synthetic data on purpose, with its true size in expectation.

    ``ratio`` is the group's rate divided by the reference's rate in the population
    the generator draws from.  ``record`` says which part of the results carries it:
    ``comparisons`` (with ``metric``), ``share_comparison`` or ``hit_rate_comparison``
    (the random-sample design).  ``where`` names rows the ratio applies to, as
    ``(column, value)`` filters (a process stage).
    """

    attribute: str
    group: str
    reference: str
    metric: str
    ratio: float
    record: str = "comparisons"
    where: tuple[tuple[str, str], ...] = ()

    @property
    def planted(self) -> bool:
        """True where the generator put a difference (ratio not 1)."""
        return abs(self.ratio - 1.0) > 1e-9


def cell_table(factors: Sequence[Factor]) -> pd.DataFrame:
    """Every combination of the factors' levels with its probability ``p`` (cells of probability 0 dropped)."""
    rows = []
    for combo in itertools.product(*(range(len(f.levels)) for f in factors)):
        cell: dict[str, str] = {}
        p = 1.0
        for f, i in zip(factors, combo):
            probs = f.probabilities(cell)
            if len(probs) != len(f.levels) or abs(sum(probs) - 1) > 1e-9:
                raise ValueError(f"Factor {f.name!r}: probabilities {list(probs)} do not match its levels.")
            p *= probs[i]
            cell[f.name] = f.levels[i]
        if p > 0:
            rows.append({**cell, "p": p})
    return pd.DataFrame(rows)


def pick(rng: np.random.Generator, probs: Sequence[float] | np.ndarray, rows: int) -> np.ndarray:
    """Indices drawn with ``probs`` by inverse CDF on uniform draws."""
    cum = np.cumsum(np.asarray(probs, dtype=float))
    return np.minimum(np.searchsorted(cum / cum[-1], rng.random(rows), side="right"), len(cum) - 1)


def draw_cells(cells: pd.DataFrame, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """``rows`` rows drawn from the cells with probability ``p`` (index reset)."""
    return cells.iloc[pick(rng, cells["p"].to_numpy(), rows)].reset_index(drop=True)


def _parts(cells: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray]:
    p, q, y = (cells[c].to_numpy(dtype=float) for c in ("p", "q", "y"))
    table = {
        "selection_rate": (p * q, p),
        "base_rate": (p * y, p),
        "tpr": (p * q * y, p * y),
        "fnr": (p * (1 - q) * y, p * y),
        "fpr": (p * q * (1 - y), p * (1 - y)),
        "tnr": (p * (1 - q) * (1 - y), p * (1 - y)),
        "ppv": (p * q * y, p * q),
        "npv": (p * (1 - q) * (1 - y), p * (1 - q)),
    }
    if metric not in table:
        raise ValueError(f"No exact rate for metric {metric!r}; known: {', '.join(table)}.")
    return table[metric]


def _mask(cells: pd.DataFrame, levels: Mapping[str, str]) -> np.ndarray:
    mask = np.ones(len(cells), dtype=bool)
    for name, level in levels.items():
        mask &= cells[name].to_numpy() == level
    return mask


def true_rate(cells: pd.DataFrame, metric: str, levels: Mapping[str, str] | None = None) -> float:
    """The rate of ``metric`` in expectation among cells with these attribute ``levels``."""
    num, den = _parts(cells, metric)
    mask = _mask(cells, levels or {})
    return float(num[mask].sum() / den[mask].sum())


def planted_ratios(cells: pd.DataFrame, protected: Sequence[str], references: Mapping[str, str],
                   metrics: Sequence[str], where: tuple[tuple[str, str], ...] = ()) -> list[PlantedDisparity]:
    """Exact ratios of every group to its reference, for each attribute and each pairwise intersection.

    Intersections are labelled as the results label them: names and levels joined with ' × '.  As
    in an audit's default (``--intersection-reference within``), an intersection cell is compared,
    for each attribute where it is not at the reference level, with the cell that has that attribute
    at its reference level and the other attributes at the cell's own levels.
    """
    subsets = [(a,) for a in protected] + list(itertools.combinations(protected, 2))
    out = []
    for subset in subsets:
        for combo in itertools.product(*(sorted(cells[a].unique()) for a in subset)):
            group = dict(zip(subset, combo))
            for attr in subset:
                if group[attr] == references[attr]:
                    continue
                ref = {**group, attr: references[attr]}
                for metric in metrics:
                    ratio = true_rate(cells, metric, group) / true_rate(cells, metric, ref)
                    out.append(PlantedDisparity(" × ".join(subset), " × ".join(combo),
                                                " × ".join(ref[a] for a in subset), metric, ratio, where=where))
    return out


def random_sample_ratios(cells: pd.DataFrame, attribute: str, reference: str) -> list[PlantedDisparity]:
    """Exact ratios of the random-sample design, for a random sample drawn independently of everything.

    Share: a group's share of the model's selection over its share of the random sample (its
    selection rate over the overall rate).  Hit rate: its hit rate among the model's picks over
    its base rate in the random sample.
    """
    out = []
    overall = true_rate(cells, "selection_rate")
    for level in sorted(cells[attribute].unique()):
        g = {attribute: level}
        out.append(PlantedDisparity(attribute, level, reference, "share_of_model_selection",
                                    true_rate(cells, "selection_rate", g) / overall, record="share_comparison"))
        out.append(PlantedDisparity(attribute, level, reference, "hit_rate_model_selection",
                                    true_rate(cells, "ppv", g) / true_rate(cells, "base_rate", g),
                                    record="hit_rate_comparison"))
    return out


@dataclass(frozen=True)
class SyntheticData:
    """Generated rows, the disparities planted in them with their true sizes, and how to audit them."""

    name: str
    frame: pd.DataFrame
    planted: tuple[PlantedDisparity, ...]
    audit: dict[str, Any]
    seed: int
    parameters: dict[str, Any] = field(default_factory=dict)


def ja(flags: np.ndarray) -> np.ndarray:
    """'Ja'/'Nee' for True/False, as Dutch agency extracts write them."""
    return np.where(flags, "Ja", "Nee")


def solve_weight(cells: pd.DataFrame, load: np.ndarray, other: np.ndarray, group: dict[str, str],
                 reference: dict[str, str], target: float) -> float:
    """The weight ``w`` for which selection with probability proportional to ``other * exp(w * load)``
    makes ``group``'s selection rate exactly ``target`` times ``reference``'s (bisection: the ratio
    rises with ``w`` when the group carries more of the proxy ``load``)."""
    if abs(target - 1.0) < 1e-12:
        return 0.0

    p = cells["p"].to_numpy(dtype=float)
    in_group, in_reference = _mask(cells, group), _mask(cells, reference)

    def ratio(w: float) -> float:
        q = p * other * np.exp(w * load)
        return (q[in_group].sum() / p[in_group].sum()) / (q[in_reference].sum() / p[in_reference].sum())

    lo, hi = -12.0, 12.0
    if not ratio(lo) < target < ratio(hi):
        raise ValueError(f"A selection-rate ratio of {target} cannot be planted through these proxies.")
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ratio(mid) < target else (lo, mid)
    return (lo + hi) / 2


def scale_to_share(cells: pd.DataFrame, weight: np.ndarray, share: float) -> np.ndarray:
    """Selection probabilities proportional to ``weight`` with an expected overall rate ``share``."""
    q = weight * share / float((cells["p"].to_numpy() * weight).sum())
    if q.max() > 1:
        raise ValueError("The planted effects are too large for the selection share: a cell would exceed 1.")
    return q


def score_and_select(q: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A risk score in (0, 1) and the decision ``score >= 0.5``, each row selected with probability ``q``.

    The score is ``sigmoid(log q - log U)`` with ``U`` uniform: the proxies (through ``q``) plus noise.
    ``score >= 0.5`` exactly when ``U <= q``, so a fixed cut-off selects each row with probability ``q``
    (the score is rounded to 4 decimals for the file; the decision uses the exact value).
    """
    u = np.maximum(rng.random(len(q)), 1e-300)
    s = np.log(q) - np.log(u)
    return np.round(1 / (1 + np.exp(-s)), 4), s >= 0
