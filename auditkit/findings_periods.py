"""Findings over time: persistence, trend, change and shifts, from the ``periods`` record of the results.

They say only what the per-period tests show (:mod:`auditkit.measure.periods`):

* **persistence** — for each group, reference and rate with a difference detected in at least one
  period: "in each of the 6 years 2014–2019" *only* when the difference was detected, one way, in every
  period; otherwise the periods in which it was detected (consecutive ones as ranges), the longest run
  with its pooled ratio, the periods in which it was not detected (which does not show there was none)
  and those too small to test;
* **trend** — "grew" or "shrank" only when the trend test of the ratio is significant after the audit's
  correction for multiple testing;
* **change over time** — the ratio differed between periods (homogeneity rejected) without a steady
  trend;
* **shift** — a run of detected differences for one group ended as one for another group began.

Texts come from the message catalogs (``periods.*``, :mod:`auditkit.locale`), English and Dutch always;
another language only where its catalog has every message, otherwise it falls back to English and the
finding says so in ``lang_fallback`` (as :mod:`auditkit.findings` does).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .findings import LANGUAGES, _number, _p, _population, _style, finding_id
from .locale import label

__all__ = ["period_findings"]


def _path(o: Mapping[str, Any]) -> str:
    path = f"periods/{o['attribute']}/{o['group']}/{o['metric']}"
    return path + f"/vs/{o['reference']}" if o.get("held") else path


def _catalog(lang: str) -> Any:
    from .locale import LocaleError, load_locale

    try:
        return load_locale(lang)
    except LocaleError:
        return None


def _ranges(labels: Sequence[str], levels: Sequence[str]) -> list[str]:
    """Consecutive periods as 'first–last' ranges: ['2015–2018', '2020']."""
    idx = sorted(levels.index(x) for x in labels)
    out: list[str] = []
    start = prev = None
    for i in idx + [None]:
        if start is not None and (i is None or i != prev + 1):
            out.append(levels[start] if start == prev else f"{levels[start]}–{levels[prev]}")
            start = None
        if i is not None and start is None:
            start = i
        prev = i
    return out


class _Writer:
    """Formats the messages of one language; ``None`` from :meth:`t` means the language lacks a message."""

    def __init__(self, lang: str, results: Mapping[str, Any]) -> None:
        self.lang, self.loc, self.results = lang, _catalog(lang), results
        self.ok = self.loc is not None and _style(lang) is not None
        periods = results["periods"]
        self.unit_key = periods["unit"]
        self.levels = periods["levels"]
        self.level = f"{100 * results.get('parameters', {}).get('level', 0.95):g}"

    def msg(self, key: str) -> str | None:
        if not self.ok or (self.lang not in LANGUAGES and key not in self.loc.messages):
            return None
        return str(self.loc.t(key)) if "{" not in self.loc.messages.get(key, "{") else None

    def t(self, key: str, **values: Any) -> str | None:
        if not self.ok or (self.lang not in LANGUAGES and f"periods.{key}" not in self.loc.messages):
            return None
        if any(v is None for v in values.values()):
            return None
        # '= < 0.0001' reads '< 0.0001', as in every other finding
        return re.sub(r"=\s*<\s", "< ", str(self.loc.t(f"periods.{key}", **values)))

    def num(self, x: float | None) -> str | None:
        return None if x is None else _number(x, self.lang)

    def join(self, items: list[str]) -> str | None:
        sep = self.msg("periods.list_and")
        if sep is None:
            return None
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + sep + items[-1]

    def names(self, o: Mapping[str, Any]) -> dict[str, str]:
        """The template's labels of the attribute, group and reference in this language."""
        attr = str(o["attribute"])
        return {"attribute": label(self.results, attr, lang=self.lang),
                "group": label(self.results, attr, str(o["group"]), lang=self.lang),
                "reference": label(self.results, attr, str(o["reference"]), lang=self.lang)}

    def common(self, o: Mapping[str, Any]) -> dict[str, Any]:
        metric = self.loc.label("metric", o["metric"]) if self.ok else o["metric"]
        metric = metric[:1].lower() + metric[1:]
        return {"metric": metric, **self.names(o),
                "count": len(self.levels), "first": self.levels[0], "last": self.levels[-1],
                "unit": self.msg(f"periods.unit.{self.unit_key}"), "units": self.msg(f"periods.units.{self.unit_key}"),
                "level": self.level if self.lang in LANGUAGES else _number(float(self.level), self.lang, 0)}


def _persistence_text(w: _Writer, o: Mapping[str, Any]) -> str | None:
    per = o["persistence"]
    run = per["runs"][per["longest_run"]]
    pooled = run["pooled"]
    v = {**w.common(o), "direction": w.msg(f"periods.{run['direction']}"), "pooled": w.num(pooled["ratio"]),
         "pooled_low": w.num(pooled["ratio_ci"][0]), "pooled_high": w.num(pooled["ratio_ci"][1])}
    if per["every_period"] and len(w.levels) > 1:
        ratios = [s["ratio"] for s in o["series"]]
        if None in ratios:
            return None
        return w.t("every", ratio_min=w.num(min(ratios)), ratio_max=w.num(max(ratios)), **v)
    detected = w.join(_ranges(per["detected_in"], w.levels))
    if per["periods_detected"] == 1:
        text = w.t("some_one", detected=detected, **v)
    else:
        units = v["units"] if run["length"] > 1 else v["unit"]
        span = run["first"] if run["first"] == run["last"] else f"{run['first']}–{run['last']}"
        text = w.t("some", k=per["periods_detected"], detected=detected, run=span,
                   run_length=None if units is None else f"{run['length']} {units}", **v)
    parts = [text]
    if per["not_detected_in"]:
        parts.append(w.t("none_in", periods=w.join(_ranges(per["not_detected_in"], w.levels))))
    if per["not_tested_in"]:
        parts.append(w.t("untested_in", periods=w.join(_ranges(per["not_tested_in"], w.levels))))
    return None if None in parts else " ".join(str(p) for p in parts)


def _trend_text(w: _Writer, o: Mapping[str, Any]) -> str | None:
    tr = o["trend"]
    factor = tr["ratio_change_per_period"]
    low, high = tr["ratio_change_ci"] or (None, None)
    return w.t("trend", grew_or_shrank=w.msg("periods.grew" if factor > 1 else "periods.shrank"),
               factor=w.num(factor), factor_low=w.num(low), factor_high=w.num(high), p=_p(tr["p_holm"], w.lang),
               fitted_first=w.num(tr["fitted_first"]), fitted_last=w.num(tr["fitted_last"]), **w.common(o))


def _changed_text(w: _Writer, o: Mapping[str, Any]) -> str | None:
    return w.t("changed", p=_p(o["homogeneity"]["p_holm"], w.lang), **w.common(o))


def _shift_text(w: _Writer, s: Mapping[str, Any]) -> str | None:
    def who(items: list[dict]) -> str | None:
        names = [w.t("who", **w.names(x)) for x in items]
        return None if None in names else w.join([str(n) for n in names])

    def run(items: list[dict]) -> str | None:
        return w.join([a if a == b else f"{a}–{b}" for a, b in (x["run"] for x in items)])

    metric = w.common({**s, "group": "", "attribute": "", "reference": ""})["metric"]
    return w.t("shift", period=s["period"], metric=metric, ended=who(s["ended"]), ended_run=run(s["ended"]),
               began=who(s["began"]), began_run=run(s["began"]))


def _make(kind: str, rule: str, identity: list[str], evidence: str | list[str], severity: str,
          texts: dict[str, Any], recommendation: dict[str, Any], results: Mapping[str, Any],
          languages: Sequence[str], legal: Mapping[str, Any] | None) -> dict:
    parts: dict[str, dict[str, str]] = {"statement": {}, "recommendation": {}, "population": {}}
    fallback: dict[str, list[str]] = {}
    for lang in languages:
        for part, text in (("statement", texts[lang]), ("recommendation", recommendation[lang]),
                           ("population", _population(results, lang))):
            if text is None:
                fallback.setdefault(lang, []).append(part)
            else:
                parts[part][lang] = text
    out = {"id": finding_id(rule, *identity), "rule": rule, "kind": kind, "severity": severity, **parts,
           "evidence": [evidence] if isinstance(evidence, str) else evidence,
           "rights": list((legal or {}).get("rights", [])),
           "provisions": list((legal or {}).get("provisions", []))}
    if fallback:
        out["lang_fallback"] = fallback
    return out


def period_findings(results: Mapping[str, Any], findings: Sequence[Mapping[str, Any]],
                    languages: Sequence[str] = LANGUAGES) -> list[dict]:
    """Findings over time for ``results`` (none without ``periods``).

    ``findings``: those already made; a period finding takes the rights, provisions and severity of the
    overall finding on the same group, reference and rate, when there is one.
    """
    periods = results.get("periods")
    if not periods or len(periods.get("levels", [])) < 2:
        return []
    writers = {lang: _Writer(lang, results) for lang in languages}
    overall = {}
    for f in findings:
        for e in f.get("evidence", []):
            overall.setdefault(str(e).replace("comparisons/", "periods/", 1), f)
    out = []
    for o in periods["over_time"]:
        path = _path(o)
        legal = overall.get(path)
        identity = [str(o["attribute"]), str(o["group"]), str(o["reference"]), str(o["metric"])]
        rec = {lang: w.t("recommendation", units=w.msg(f"periods.units.{w.unit_key}")) for lang, w in writers.items()}
        severity = str((legal or {}).get("severity", "medium"))
        if o["persistence"]["runs"]:
            texts = {lang: _persistence_text(w, o) for lang, w in writers.items()}
            out.append(_make("persistence", "period-persistence", identity, path, severity, texts, rec, results,
                             languages, legal))
        if o["trend"]["status"] == "difference_detected":
            texts = {lang: _trend_text(w, o) for lang, w in writers.items()}
            out.append(_make("trend", "period-trend", identity, path, "medium", texts, rec, results, languages,
                             legal))
        elif o["homogeneity"]["status"] == "difference_detected":
            texts = {lang: _changed_text(w, o) for lang, w in writers.items()}
            out.append(_make("change_over_time", "period-change", identity, path, "low", texts, rec, results,
                             languages, legal))
    for s in periods["shifts"]:
        # every group the shift names is evidence: a report withholding one withholds the statement
        paths = [_path({**x, "metric": s["metric"]}) for x in s["ended"] + s["began"]]
        path = paths[0]
        identity = [s["metric"], s["period"], *(f"{x['attribute']}={x['group']}" for x in s["ended"] + s["began"])]
        texts = {lang: _shift_text(w, s) for lang, w in writers.items()}
        rec = {lang: w.t("recommendation_shift", period=s["period"]) for lang, w in writers.items()}
        out.append(_make("shift", "period-shift", identity, paths, "medium", texts, rec, results, languages,
                         overall.get(path)))
    return out
