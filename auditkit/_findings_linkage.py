"""Findings from area estimates (results key ``linkage``): each says which estimate it uses.

No person's group is known when the protected attribute comes from area statistics, so a finding here
never reads as a measurement of individuals: every statement names its estimate and that estimate's
assumption, and ends by saying it is an estimate from areas.  Four kinds:

``area_bounds`` (high)
    the assumption-free bounds on the ratio to the reference exclude 1: the area totals alone prove a
    difference, whatever happened within areas;
``area_weighted`` (medium)
    the area-weighted estimate's interval of the ratio excludes 1 (its assumption: within an area,
    selection does not depend on group; if it does, the difference is understated);
``area_ecological`` (low)
    ecological regression's interval of the ratio excludes 1, and no estimate left [0, 1];
``area_estimates_only`` (info)
    always: the figures are estimates from areas, and the decisive evidence is the statistics office's
    linked count table.

Texts come from the locale catalogs (``linkage.*``), in every language asked for that has a catalog.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["linkage_findings"]

_RIGHTS = ["non_discrimination"]


def _excludes_one(interval: Any) -> bool:
    if not interval or interval[0] is None:
        return False
    return interval[0] > 1 or (interval[1] is not None and interval[1] < 1)


def _values(link: Mapping[str, Any], g: Mapping[str, Any], ref: Mapping[str, Any], loc: Any, kind: str,
            results: Mapping[str, Any]) -> dict[str, str]:
    no = loc.t("linkage.no_bound")
    out = {"attribute": str(link["attribute"]), "group": str(g["group"]), "reference": str(link["reference"]),
           "areas": loc.integer(link["areas"]), "level": loc.percent(link.get("level", 0.95), 0),
           "composition": str(link["composition"]["source"])}
    if kind == "bounds":
        ratio = g["bounds"]["ratio"] or [None, None]
        out.update(low=loc.number(ratio[0]) if ratio[0] is not None else no,
                   high=loc.number(ratio[1]) if ratio[1] is not None else no,
                   rate_low=loc.percent(g["bounds"]["rate"][0]), rate_high=loc.percent(g["bounds"]["rate"][1]),
                   ref_low=loc.percent(ref["bounds"]["rate"][0]), ref_high=loc.percent(ref["bounds"]["rate"][1]))
    else:
        est, ref_est = g[kind], ref[kind]
        ci = est.get("ratio_ci") or [None, None]
        out.update(rate=loc.percent(est["rate"]), ref_rate=loc.percent(ref_est["rate"]), ratio=loc.number(est["ratio"]),
                   ratio_low=loc.number(ci[0]), ratio_high=loc.number(ci[1]),
                   dispersion=loc.number(link["diagnostics"]["ecological_dispersion"]))
    return out


def _population(results: Mapping[str, Any], loc: Any) -> str:
    link = results["linkage"]
    return loc.t("linkage.population", n=loc.integer(link["people"]), source=str(results["population"]["source"]),
                 areas=loc.integer(link["areas"]), composition=str(link["composition"]["source"]))


def _finding(results: Mapping[str, Any], locales: dict[str, Any], kind: str, severity: str, key: str,
             recommendation: str, evidence: str, identity: Sequence[str], values_for: Any) -> dict:
    from .findings import finding_id

    return {
        "id": finding_id(f"linkage-{kind}", *identity), "rule": f"linkage-{kind}", "kind": f"area_{kind}",
        "severity": severity,
        "statement": {lang: loc.t(f"linkage.{key}", **values_for(loc)) for lang, loc in locales.items()},
        "recommendation": {lang: loc.t(f"linkage.{recommendation}") for lang, loc in locales.items()},
        "population": {lang: _population(results, loc) for lang, loc in locales.items()},
        "evidence": [evidence], "rights": list(_RIGHTS), "provisions": [],
    }


def linkage_findings(results: Mapping[str, Any], languages: Sequence[str]) -> list[dict]:
    """The findings on ``results['linkage']`` (none without it), in ``languages`` that have a catalog."""
    link = results.get("linkage")
    if not link:
        return []
    from .locale import LocaleError, load_locale

    locales = {}
    for lang in languages:
        try:
            locales[lang] = load_locale(lang)
        except LocaleError:
            continue
    attr = str(link["attribute"])
    ref = next(g for g in link["groups"] if g["is_reference"])
    out = []
    for g in link["groups"]:
        if g["is_reference"]:
            continue
        checks = (("bounds", "high", g["bounds"]["ratio"], "recommendation_bounds"),
                  ("weighted", "medium", g["weighted"]["ratio_ci"], "recommendation_estimate"),
                  ("ecological", "low", None if link["diagnostics"]["ecological_outside_unit_interval"]
                   else g["ecological"]["ratio_ci"], "recommendation_estimate"))
        for kind, severity, interval, rec in checks:
            if _excludes_one(interval):
                out.append(_finding(results, locales, kind, severity, f"finding_{kind}", rec,
                                    f"linkage/{attr}/{g['group']}/{kind}", [attr, str(g["group"]), str(link["reference"])],
                                    lambda loc, g=g, kind=kind: _values(link, g, ref, loc, kind, results)))
    out.append(_finding(results, locales, "estimates_only", "info", "finding_only", "recommendation_only",
                        f"linkage/{attr}/all/estimates", [attr],
                        lambda loc: _values(link, ref, ref, loc, "bounds", results)))
    return out
