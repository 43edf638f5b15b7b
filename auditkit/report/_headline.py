"""The headline: the one result a report, its summary and its one-page brief open with.

The rule (documented in docs/reports.md, "The headline"), applied to the comparisons in results.json:

1. Only comparisons whose status is ``difference_detected`` (after the adjustment for multiple
   comparisons), with a ratio and its interval, and whose two rates may be published (no cell below the
   minimum count) are candidates.
2. Comparisons on a single protected attribute come first (one the template names, when the run used a
   template), then intersections of attributes.
3. Within a tier, the largest disparity *that the data support*: the end of the ratio's interval nearest
   to 1 (parity), furthest from 1 on a log scale.  A large ratio on few people has a wide interval and
   does not outrank a slightly smaller ratio measured precisely.  Ties go to the larger ratio (log scale),
   then to attribute, metric and group names, so the choice is the same on every run.

The headline cites the finding whose evidence is that comparison, when one exists.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Headline", "choose_headline", "comparison_key", "finding_for"]


@dataclass(frozen=True)
class Headline:
    """The comparison chosen as headline, its tier (0 single attribute, 1 intersection) and its finding."""

    comparison: Mapping[str, Any]
    tier: int
    finding: Mapping[str, Any] | None


def comparison_key(c: Mapping[str, Any]) -> str:
    """The evidence id of a comparison, as findings cite it: 'comparisons/ATTR/GROUP/METRIC'."""
    from ..findings import comparison_path

    return comparison_path(c)


def _log(x: Any) -> float | None:
    return math.log(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 else None


def _strength(c: Mapping[str, Any]) -> tuple[float, float] | None:
    """(distance of the interval's end nearest parity from 1, distance of the ratio) on a log scale."""
    ratio, ci = _log(c.get("ratio")), c.get("ratio_ci") or [None, None]
    low, high = (_log(v) for v in list(ci)[:2]) if len(ci) >= 2 else (None, None)
    if ratio is None or low is None or high is None:
        return None
    supported = 0.0 if low <= 0 <= high else min(abs(low), abs(high))
    return supported, abs(ratio)


def _tier(c: Mapping[str, Any], attributes: Mapping[str, Sequence[str]], protected: set[str]) -> int:
    attr = str(c.get("attribute"))
    parts = attributes.get(attr) or [attr]
    if len(parts) == 1 and (not protected or parts[0] in protected):
        return 0
    return 1


def finding_for(findings: Sequence[Mapping[str, Any]], evidence: str) -> Mapping[str, Any] | None:
    """The first finding (by id) whose evidence lists ``evidence``."""
    cited = [f for f in findings if evidence in [str(e) for e in f.get("evidence", [])]]
    return min(cited, key=lambda f: str(f.get("id"))) if cited else None


def choose_headline(results: Mapping[str, Any], findings: Sequence[Mapping[str, Any]],
                    publishable: Callable[[Mapping[str, Any]], bool] = lambda c: True) -> Headline | None:
    """The headline comparison of ``results`` by the rule in this module's docstring; None when none qualifies.

    >>> c = lambda g, r, lo, hi: {"attribute": "a", "group": g, "metric": "selection_rate", "ratio": r,
    ...                           "ratio_ci": [lo, hi], "status": "difference_detected"}
    >>> res = {"attributes": [{"attribute": "a", "attributes": ["a"]}],
    ...        "comparisons": [c("x", 6.0, 1.1, 30.0), c("y", 4.5, 3.9, 5.4)]}
    >>> choose_headline(res, []).comparison["group"]
    'y'
    """
    attributes = {str(a.get("attribute")): [str(p) for p in a.get("attributes") or [a.get("attribute")]]
                  for a in results.get("attributes", []) if isinstance(a, Mapping)}
    template = results.get("template")
    protected = set((template or {}).get("protected") or {}) if isinstance(template, Mapping) else set()
    best: tuple[Any, ...] | None = None
    chosen: Mapping[str, Any] | None = None
    for c in results.get("comparisons", []):
        if not isinstance(c, Mapping) or c.get("status") != "difference_detected" or not publishable(c):
            continue
        strength = _strength(c)
        if strength is None:
            continue
        tier = _tier(c, attributes, protected)
        rank = (tier, -strength[0], -strength[1], str(c.get("attribute")), str(c.get("metric")), str(c.get("group")))
        if best is None or rank < best:
            best, chosen = rank, c
    if chosen is None or best is None:
        return None
    return Headline(comparison=chosen, tier=int(best[0]), finding=finding_for(findings, comparison_key(chosen)))
