"""Bootstrap intervals by multinomial resampling of the count table.

Drawing N rows with replacement and counting them into cells gives cell counts
distributed Multinomial(N, cell counts / N); drawing the counts directly is the
same bootstrap for any statistic of the counts (shared design, step 4), and its
cost depends on the number of cells, not of rows.  Percentile intervals.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from ..spec import MAX_BOOTSTRAP
from ._counts import CountTable
from .groups import GroupTable
from .rates import group_rates

__all__ = ["MAX_REPLICATES", "MAX_VALUES", "bootstrap_intervals", "bootstrap_replicates", "check_replicates"]

#: Most replicates ``--bootstrap`` accepts (checked when the AuditSpec is built): see spec.MAX_BOOTSTRAP.
MAX_REPLICATES = MAX_BOOTSTRAP
#: Most replicate values (replicates x groups x metrics x rate/ratio/difference) held for the percentiles:
#: 8 bytes each, 1.6 GB in all.
MAX_VALUES = 200_000_000
_BATCH_VALUES = 20_000_000  # replicate counts held in memory at once (float64 values)
_log = logging.getLogger("auditkit.bootstrap")


def check_replicates(replicates: int, values_per_replicate: int = 1) -> None:
    """Raise ValueError when ``replicates`` is above :data:`MAX_REPLICATES` or would hold too many values.

    >>> check_replicates(10_000, 40)
    >>> check_replicates(1_000_000)
    Traceback (most recent call last):
    ...
    ValueError: --bootstrap is at most 100,000 replicates; got 1,000,000. Beyond 10,000 the percentile interval hardly moves; use 10,000 (or fewer for a quick look).
    """
    if replicates > MAX_REPLICATES:
        raise ValueError(f"--bootstrap is at most {MAX_REPLICATES:,} replicates; got {replicates:,}. Beyond 10,000 "
                         "the percentile interval hardly moves; use 10,000 (or fewer for a quick look).")
    if replicates * values_per_replicate > MAX_VALUES:
        most = MAX_VALUES // max(values_per_replicate, 1)
        raise ValueError(f"--bootstrap {replicates:,} would hold {replicates * values_per_replicate:,} replicate values "
                         f"for this audit's groups and metrics (at most {MAX_VALUES:,}, about 1.6 GB); use at most "
                         f"{most:,} replicates, or fewer groups (--max-depth) or metrics (--metrics).")


def bootstrap_replicates(table: CountTable, replicates: int, seed: int):
    """Yield batches of resampled count arrays shaped (batch, *table.low.shape)."""
    counts = table.low.ravel()
    total = int(counts.sum())
    rng = np.random.default_rng(seed)
    # At most a twentieth of the replicates per batch, so that progress can be reported as they go.
    batch = max(1, min(replicates, _BATCH_VALUES // max(counts.size, 1), max(1_000, math.ceil(replicates / 20))))
    done = 0
    while done < replicates:
        size = min(batch, replicates - done)
        draws = rng.multinomial(total, counts / total, size=size).astype(np.float64)
        yield draws.reshape((size,) + table.low.shape)
        done += size
        _log.info("bootstrap: %d of %d replicates", done, replicates, extra={"done": done, "total": replicates})


def _marginal(draws: np.ndarray, table: CountTable, keep: tuple[str, ...]) -> np.ndarray:
    """Sum resampled arrays over dimensions not in ``keep``; returns (B, G, 2, 3)."""
    names = table.names()
    positions = [names.index(k) for k in keep]
    drop = tuple(1 + i for i in range(len(names)) if i not in positions)
    summed = draws.sum(axis=drop) if drop else draws
    order = [0] + [1 + sorted(positions).index(p) for p in positions] + [len(keep) + 1, len(keep) + 2]
    summed = summed.transpose(order)
    return summed.reshape(summed.shape[0], -1, 2, 3)


def bootstrap_intervals(table: CountTable, tables: dict[tuple[str, ...], tuple[GroupTable, list]],
                        metrics: list[str], replicates: int, seed: int, level: float) -> dict:
    """Percentile intervals of every group rate, and of ratio and difference against the reference.

    ``tables`` maps each attribute subset to its group table and comparison plans
    ``(varies, reference index per group)`` (:func:`auditkit.measure.run.measure_groups`).
    Returns ``{(subset, metric): {"rate": (lo, hi, defined) arrays, ("ratio", varies): ...,
    ("difference", varies): ...}}``; a group without that reference has NaN limits.
    """
    collected: dict[tuple, list[np.ndarray]] = {}
    for draws in bootstrap_replicates(table, replicates, seed):
        for subset, (_, plans) in tables.items():
            block = _marginal(draws, table, subset)
            rates = group_rates(block, block, level)
            for metric in metrics:
                value = rates[metric].lower  # (B, G)
                collected.setdefault((subset, metric, "rate"), []).append(value)
                for varies, refs in plans:
                    ref_value = np.where(refs >= 0, value[:, np.maximum(refs, 0)], np.nan)
                    with np.errstate(divide="ignore", invalid="ignore"):
                        collected.setdefault((subset, metric, ("ratio", varies)), []).append(value / ref_value)
                    collected.setdefault((subset, metric, ("difference", varies)), []).append(value - ref_value)
    q = [(1 - level) / 2, 1 - (1 - level) / 2]
    out: dict = {}
    for (subset, metric, kind), parts in collected.items():
        values = np.concatenate(parts, axis=0)
        values = np.where(np.isfinite(values), values, np.nan)
        defined = np.isfinite(values).sum(axis=0)
        with np.errstate(invalid="ignore"):
            lo, hi = (np.full(values.shape[1], np.nan), np.full(values.shape[1], np.nan))
            # Columns defined in every replicate take numpy's vectorised quantile (the same
            # linear interpolation); nanquantile, a Python loop over columns, only for the rest.
            full = defined == values.shape[0]
            part = (defined > 0) & ~full
            if full.any():
                lo[full], hi[full] = np.quantile(values[:, full], q, axis=0)
            if part.any():
                lo[part], hi[part] = np.nanquantile(values[:, part], q, axis=0)
        out.setdefault((subset, metric), {})[kind] = (lo, hi, defined)
    return out
