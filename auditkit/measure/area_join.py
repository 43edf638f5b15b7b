"""The join of decisions counted per area with an area composition table: on counts, never on rows.

The decision file is counted by the ordinary counting path with the area column as its only grouping
dimension (every engine gives that table).  This module takes the per-area counts, applies a
crosswalk of changed codes, and matches each area to the composition table:

1. exactly, as written;
2. else ignoring spacing and case (``' 1011ab'`` and ``'1011AB'``);
3. else ignoring leading zeros (``'0123'`` and ``'123'``: a spreadsheet or a CSV reader that took the
   codes for numbers drops them), only where that pairs one code with one code.

Every area matched in steps 2 and 3, every area mapped by the crosswalk, every decided area with no
composition (its decisions are left out of the estimates) and every composition area with no
decisions is reported by name; nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ._counts import MISSING, CountTable

if TYPE_CHECKING:
    from ..load.composition import Composition, Crosswalk

__all__ = ["AreaJoin", "area_key", "join_areas", "report_lines"]

#: Areas named in a report list; the rest are counted.
SHOWN = 50


@dataclass(frozen=True)
class AreaJoin:
    """Matched areas (composition order) with their decision counts, and the report of the join."""

    areas: tuple[str, ...]
    people: np.ndarray
    selected: np.ndarray
    positive: np.ndarray
    with_outcome: np.ndarray
    composition_low: np.ndarray
    composition_high: np.ndarray
    report: dict = field(default_factory=dict)


def area_key(code: str) -> str:
    """The form in which area codes are compared when they do not match exactly: spaces collapsed, case folded.

    >>> area_key(" 1011  ab ")
    '1011 ab'
    """
    return " ".join(str(code).split()).casefold()


def _per_area(table: CountTable, area: str) -> dict[str, np.ndarray]:
    t = table.marginal([area])
    low = t.low  # areas x decision x outcome (decision data: no suppressed cells)
    return {"people": low.sum(axis=(1, 2)), "selected": low[:, 1, :].sum(axis=1),
            "positive": low[:, 1, 1], "with_outcome": low[:, 1, :2].sum(axis=1)}


def _apply_crosswalk(codes: list[str], values: np.ndarray, crosswalk: Crosswalk | None,
                     report: dict) -> tuple[list[str], np.ndarray]:
    """Decision codes mapped to new codes (a split spreads the counts by weight); each mapped code reported."""
    if crosswalk is None:
        return codes, values
    by_key = {area_key(k): k for k in crosswalk.mapping}
    out_codes, out_rows, mapped = [], [], []
    for code, row in zip(codes, values):
        old = code if code in crosswalk.mapping else by_key.get(area_key(code))
        if old is None:
            out_codes.append(code)
            out_rows.append(row)
            continue
        targets = crosswalk.mapping[old]
        mapped.append({"old": code, "new": [{"code": n, "weight": w} for n, w in targets],
                       "people": float(row[0])})
        for new, weight in targets:
            out_codes.append(new)
            out_rows.append(row * weight)
    report["crosswalk"] = {"source": crosswalk.source, "mapped_areas": len(mapped),
                           "mapped_people": float(sum(m["people"] for m in mapped)), "mapped": mapped[:SHOWN]}
    return out_codes, np.array(out_rows).reshape(len(out_rows), values.shape[1])


def _merge(codes: list[str], values: np.ndarray) -> dict[str, np.ndarray]:
    merged: dict[str, np.ndarray] = {}
    for code, row in zip(codes, values):
        merged[code] = merged.get(code, 0) + row
    return merged


def _match(decided: Sequence[str], known: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
    """decided code -> composition code, and how each was matched (exact, spacing/case, leading zeros)."""
    known_set = set(known)
    match, how = {}, {}
    for code in decided:
        if code in known_set:
            match[code], how[code] = code, "exact"
    for step, norm in (("spacing or case", area_key), ("leading zeros", lambda c: area_key(c).lstrip("0") or "0")):
        left = [c for c in decided if c not in match]
        free = [k for k in known if k not in set(match.values())]
        by_norm: dict[str, list[str]] = {}
        for k in free:
            by_norm.setdefault(norm(k), []).append(k)
        wanted: dict[str, list[str]] = {}
        for c in left:
            wanted.setdefault(norm(c), []).append(c)
        for key, cs in wanted.items():
            if len(cs) == 1 and len(by_norm.get(key, [])) == 1:
                match[cs[0]], how[cs[0]] = by_norm[key][0], step
    return match, how


def join_areas(table: CountTable, area: str, composition: Composition,
               crosswalk: Crosswalk | None = None) -> AreaJoin:
    """Decisions per area joined to ``composition`` (see the module docstring)."""
    counts = _per_area(table, area)
    levels = list(table.dim(area).levels)
    values = np.column_stack([counts[k] for k in ("people", "selected", "positive", "with_outcome")])
    report: dict = {}
    if MISSING in levels:
        i = levels.index(MISSING)
        report["decisions_without_area"] = float(values[i, 0])
        levels, values = levels[:i] + levels[i + 1:], np.delete(values, i, axis=0)
    codes, values = _apply_crosswalk(levels, values, crosswalk, report)
    merged = _merge(codes, values)
    decided = sorted(merged)
    match, how = _match(decided, composition.areas)
    index = {a: i for i, a in enumerate(composition.areas)}
    rows = np.zeros((len(composition.areas), values.shape[1]))
    for code, target in match.items():
        rows[index[target]] += merged[code]
    total = composition.point.sum(axis=1)
    empty = [a for a in composition.areas if total[index[a]] == 0 and rows[index[a], 0] > 0]
    unmatched = [c for c in decided if c not in match]
    report["matched_areas"] = len(match)
    report["matched_by"] = {step: sum(1 for h in how.values() if h == step)
                            for step in ("exact", "spacing or case", "leading zeros")}
    report["rematched"] = [{"decision_code": c, "composition_code": match[c], "by": how[c]}
                           for c in decided if c in match and how[c] != "exact"][:SHOWN]
    report["decided_without_composition"] = {
        "areas": len(unmatched), "people": float(sum(merged[c][0] for c in unmatched)),
        "selected": float(sum(merged[c][1] for c in unmatched)),
        "codes": [{"code": c, "people": float(merged[c][0])} for c in unmatched[:SHOWN]]}
    no_decisions = [a for a in composition.areas if rows[index[a], 0] == 0]
    report["composition_without_decisions"] = {"areas": len(no_decisions), "codes": no_decisions[:SHOWN]}
    report["composition_without_people"] = {"areas": len(empty), "people": float(sum(rows[index[a], 0] for a in empty)),
                                            "codes": empty[:SHOWN]}
    keep = np.array([rows[index[a], 0] > 0 and total[index[a]] > 0 for a in composition.areas], dtype=bool)
    return AreaJoin(tuple(a for a, k in zip(composition.areas, keep) if k), rows[keep, 0], rows[keep, 1],
                    rows[keep, 2], rows[keep, 3], composition.low[keep], composition.high[keep], report)


def report_lines(report: dict, data_label: str, composition_label: str) -> list[str]:
    """The join's report in sentences (population notes of the results, and the terminal)."""
    lines = []
    missing = report.get("decisions_without_area")
    if missing:
        lines.append(f"{data_label}: {missing:,.0f} decisions have no area code; they are left out of the area "
                     "estimates.")
    cw = report.get("crosswalk")
    if cw:
        shown = ", ".join(f"{m['old']!r} -> " + "/".join(repr(n["code"]) for n in m["new"]) for m in cw["mapped"][:10])
        lines.append(f"{cw['source']}: {cw['mapped_areas']:,} area codes of the decision file were mapped to new "
                     f"codes ({cw['mapped_people']:,.0f} decisions){': ' + shown if shown else ''}.")
    for r in report.get("rematched", [])[:10]:
        lines.append(f"Area {r['decision_code']!r} of {data_label} matched {r['composition_code']!r} of "
                     f"{composition_label} only by ignoring {r['by']}.")
    d = report["decided_without_composition"]
    if d["areas"]:
        shown = ", ".join(repr(c["code"]) for c in d["codes"][:10])
        lines.append(f"{d['areas']:,} areas of {data_label} ({d['people']:,.0f} decisions, {d['selected']:,.0f} "
                     f"selected) have no row in {composition_label}: {shown}{' ...' if d['areas'] > 10 else ''}. "
                     "Their decisions are left out of the area estimates; give a --crosswalk if their codes changed.")
    c = report["composition_without_decisions"]
    if c["areas"]:
        shown = ", ".join(repr(a) for a in c["codes"][:10])
        lines.append(f"{c['areas']:,} areas of {composition_label} have no decisions in {data_label}: {shown}"
                     f"{' ...' if c['areas'] > 10 else ''}.")
    e = report["composition_without_people"]
    if e["areas"]:
        lines.append(f"{e['areas']:,} areas have decisions but 0 people in {composition_label} "
                     f"({', '.join(repr(a) for a in e['codes'][:10])}); their {e['people']:,.0f} decisions are left out.")
    return lines
