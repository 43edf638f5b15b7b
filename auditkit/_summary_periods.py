"""The terminal summary's lines over time (``auditkit audit --period``): per group, where a difference was
detected, the longest run with its pooled ratio, the trend and the homogeneity test; then any shift."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["over_time_rows", "period_lines", "period_rows"]


def _num(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _p(x: float | None) -> str:
    return "—" if x is None else "<0.0001" if x < 0.0001 else f"{x:.4f}"


def period_lines(results: Mapping[str, Any], w: Any = None) -> list[str]:
    """Lines for :func:`auditkit.results.summary_text`; none without ``periods``.

    ``w``: the summary's :class:`~auditkit._summary_words.Words` (language, labels, numbers); English without.
    """
    from ._summary_words import Words
    from .findings_periods import _ranges

    periods = results.get("periods")
    if not periods or not periods.get("levels"):
        return []
    w = w or Words(results)

    def t(key: str, **values: Any) -> str:
        return str(w.loc.t(f"periods.terminal.{key}", **values))

    levels, unit = periods["levels"], periods["unit"]
    metric = "selection_rate" if "selection_rate" in periods["metrics"] else (periods["metrics"] or [""])[0]
    lines = ["", t("header", column=periods["column"], count=w.n(str(len(levels))),
                   units=w.loc.t(f"periods.units.{unit}"), first=levels[0], last=levels[-1], metric=w.metric(metric)),
             f"  {t('col_group'):<34} {t('col_detected'):<22} {t('col_run'):<34} "
             f"{t('col_trend', unit=w.loc.t(f'periods.unit.{unit}')):>12} {t('col_p'):>8} {t('col_homogeneity'):>12}"]
    if periods.get("rows_without_period"):
        lines.insert(2, "  " + t("untimed", n=w.n(f"{periods['rows_without_period']:,}"), column=periods["column"]))
    for o in (o for o in periods["over_time"] if o["metric"] == metric):
        per, tr, ho = o["persistence"], o["trend"], o["homogeneity"]
        detected = ", ".join(_ranges(per["detected_in"], levels)) or w.loc.t("periods.none")
        detected = f"{detected} ({per['periods_detected']}/{per['periods']})"
        run = per["runs"][per["longest_run"]] if per["runs"] else None
        span = "" if run is None else run["first"] if run["first"] == run["last"] else f"{run['first']}–{run['last']}"
        ci = run["pooled"]["ratio_ci"] if run else [None, None]
        pooled = "—" if run is None else (f"{span} {w.n(_num(run['pooled']['ratio']))} "
                                          f"({w.n(_num(ci[0]))}–{w.n(_num(ci[1]))})")
        who = t("who", group=w.group(o["attribute"], o["group"]), reference=w.group(o["attribute"], o["reference"]),
                attribute=w.attr(o["attribute"]))
        # nothing cut short: a long label (a model version) moves the columns rather than hide a figure
        lines.append(f"  {who:<34} {detected:<22} {pooled:<34} {w.n(_num(tr['ratio_change_per_period'])):>12} "
                     f"{w.n(_p(tr['p_holm'])):>8} {w.n(_p(ho['p_holm'])):>12}")
    for s in periods.get("shifts") or []:
        ended = ", ".join(f"{w.group(x['attribute'], x['group'])} ({w.attr(x['attribute'])})" for x in s["ended"])
        began = ", ".join(f"{w.group(x['attribute'], x['group'])} ({w.attr(x['attribute'])})" for x in s["began"])
        metric_words = w.metric(s["metric"])
        metric_words = metric_words if w.english else metric_words[:1].lower() + metric_words[1:]
        lines.append(t("shift", period=s["period"], metric=metric_words, ended=ended, began=began))
    return lines


def period_rows(results: Mapping[str, Any]) -> list[dict]:
    """One flat row per period and comparison (as :func:`auditkit.results.comparison_rows`, with ``period``)."""
    from .results import comparison_rows

    rows = []
    for p in (results.get("periods") or {}).get("per_period", []):
        rows += [{"period": p["period"], **row} for row in comparison_rows({"comparisons": p["comparisons"]})]
    return rows


def over_time_rows(results: Mapping[str, Any]) -> list[dict]:
    """One flat row per group, reference and rate: where detected, the longest run, trend and homogeneity."""
    periods = results.get("periods") or {}
    rows = []
    for o in periods.get("over_time", []):
        per, tr, ho = o["persistence"], o["trend"], o["homogeneity"]
        run = per["runs"][per["longest_run"]] if per["runs"] else None
        pooled = run["pooled"] if run else {"ratio": None, "ratio_ci": [None, None]}
        change_ci = tr.get("ratio_change_ci") or [None, None]
        rows.append({
            "attribute": o["attribute"], "group": o["group"], "reference": o["reference"], "metric": o["metric"],
            "periods": per["periods"], "periods_tested": per["periods_tested"],
            "periods_detected": per["periods_detected"], "detected_in": " ".join(per["detected_in"]),
            "every_period": per["every_period"], "longest_run_first": run["first"] if run else None,
            "longest_run_last": run["last"] if run else None,
            "longest_run_direction": run["direction"] if run else None,
            "pooled_ratio": pooled["ratio"], "pooled_ratio_ci_low": pooled["ratio_ci"][0],
            "pooled_ratio_ci_high": pooled["ratio_ci"][1],
            "trend_ratio_change_per_period": tr["ratio_change_per_period"], "trend_ci_low": change_ci[0],
            "trend_ci_high": change_ci[1], "trend_p_value": tr["p_value"], "trend_p_holm": tr["p_holm"],
            "trend_status": tr["status"], "homogeneity_statistic": ho["statistic"],
            "homogeneity_p_value": ho["p_value"],
            "homogeneity_p_holm": ho["p_holm"], "homogeneity_status": ho["status"]})
    return rows
