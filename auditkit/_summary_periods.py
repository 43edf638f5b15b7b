"""The terminal summary's lines over time (``auditkit audit --period``): per group, where a difference was
detected, the longest run with its pooled ratio, the trend and the homogeneity test; then any shift."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["period_lines"]


def _num(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _p(x: float | None) -> str:
    return "—" if x is None else "<0.0001" if x < 0.0001 else f"{x:.4f}"


def period_lines(results: Mapping[str, Any]) -> list[str]:
    """Lines for :func:`auditkit.results.summary_text`; none without ``periods``."""
    from .findings_periods import _ranges

    periods = results.get("periods")
    if not periods or not periods.get("levels"):
        return []
    levels, unit = periods["levels"], periods["unit"]
    metric = "selection_rate" if "selection_rate" in periods["metrics"] else (periods["metrics"] or [""])[0]
    lines = ["", f"Over time, by {periods['column']} ({len(levels)} {unit}s, {levels[0]}–{levels[-1]}; {metric}; "
             "each period's tests adjusted with the rest):",
             f"  {'group vs reference':<34} {'detected in':<22} {'longest run: pooled ratio (CI)':<34} "
             f"{'trend ×/' + unit:>12} {'p adj':>8} {'homog. p adj':>12}"]
    if periods.get("rows_without_period"):
        lines.insert(2, f"  {periods['rows_without_period']:,} rows have no {periods['column']} value: they are in "
                        "the overall figures and in no period.")
    for o in (o for o in periods["over_time"] if o["metric"] == metric):
        per, tr, ho = o["persistence"], o["trend"], o["homogeneity"]
        detected = ", ".join(_ranges(per["detected_in"], levels)) or "none"
        detected = f"{detected} ({per['periods_detected']}/{per['periods']})"
        run = per["runs"][per["longest_run"]] if per["runs"] else None
        pooled = "—" if run is None else (f"{run['first']}–{run['last']} {_num(run['pooled']['ratio'])} "
                                          f"({_num(run['pooled']['ratio_ci'][0])}–{_num(run['pooled']['ratio_ci'][1])})")
        who = f"{o['group']} vs {o['reference']} ({o['attribute']})"
        lines.append(f"  {who[:34]:<34} {detected[:22]:<22} {pooled[:34]:<34} "
                     f"{_num(tr['ratio_change_per_period']):>12} {_p(tr['p_holm']):>8} {_p(ho['p_holm']):>12}")
    for s in periods.get("shifts") or []:
        ended = ", ".join(f"{x['group']} ({x['attribute']})" for x in s["ended"])
        began = ", ".join(f"{x['group']} ({x['attribute']})" for x in s["began"])
        lines.append(f"SHIFT: from {s['period']}, a difference in {s['metric']} was no longer detected for {ended}, "
                     f"and was detected for {began}.")
    return lines
