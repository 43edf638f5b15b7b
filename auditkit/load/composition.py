"""Area composition tables and crosswalks of area codes, as statistics offices publish them.

A composition table says how many people of each group live in (or receive a benefit in) each area.
Two shapes are read, from CSV or a spreadsheet exactly as any count table is read:

* long: one row per area and group, columns ``area``, ``group``, ``people`` (other names given as
  ``columns=(AREA, GROUP, PEOPLE)``);
* wide: one row per area, an ``AREA`` column and one column per group (the group column's name,
  ``GROUP``, names the protected attribute); a column called ``PEOPLE``, ``population``, ``total`` or
  ``totaal`` holds the area's population and is not a group.

Values are counts, or percentages: a value written with ``%``, or any wide table with a population
column, is a percentage of the area's population.  Percentages are checked to add up to 100 per area
within their rounding (half a point per group: 99 or 101 with three groups is rounding, 90 is not).
Decimal commas and thousands separators are detected per column as for scores (``--decimal`` and
``--thousands`` decide when a column cannot tell).  A suppressed cell (``<5``, or a marker declared
with ``suppressed``, e.g. ``.`` or ``x``) is known only to lie in a range and is carried as bounds.

A crosswalk maps area codes that changed between years: ``old_code,new_code[,weight]``; an old area
split over several new ones gives each its weight (the weights of one old code must add up to 1).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._text import list_values
from ..exceptions import InputDataError
from ._numbers import NumberFormat, detect_format, normalise
from .data import SourceTable, read_columns, row_numbering

__all__ = ["Composition", "Crosswalk", "read_composition", "read_crosswalk"]

#: Names of a wide table's population column (compared case-insensitively), besides the PEOPLE name.
TOTAL_NAMES = ("population", "total", "totaal", "inwoners", "bevolking")
_LESS_THAN = re.compile(r"^<\s*(\d+)$")


@dataclass(frozen=True)
class Composition:
    """People per area and group: ``low``/``high`` differ only in suppressed cells (areas × groups)."""

    attribute: str
    areas: tuple[str, ...]
    groups: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    population: np.ndarray | None
    form: str
    kind: str
    source: str
    notes: tuple[str, ...] = ()

    @property
    def point(self) -> np.ndarray:
        """People per area and group, a suppressed cell at the middle of its range."""
        return (self.low + self.high) / 2

    def record(self) -> dict:
        """JSON-ready description for the results."""
        return {"attribute": self.attribute, "form": self.form, "values": self.kind, "areas": len(self.areas),
                "groups": list(self.groups), "suppressed_cells": int(np.sum(self.low != self.high)),
                "notes": list(self.notes)}


@dataclass(frozen=True)
class Crosswalk:
    """Old area code -> [(new code, weight)], as read from the file."""

    mapping: dict[str, list[tuple[str, float]]]
    source: str


def _text_columns(src: SourceTable) -> dict[str, list[str | None]]:
    out = {}
    for name, own in src.columns.items():
        col = src.table.column(own)
        out[name] = pc.cast(col, pa.string()).to_pylist() if col.type != pa.string() else col.to_pylist()
    return out


def _where(src: SourceTable, row: int) -> str:
    first, word, _ = row_numbering(src.kind)
    number = int(src.row_numbers[row]) if src.row_numbers is not None else row + first
    return f"{word} {number:,}"


def _number_format(src: SourceTable, column: str, values: Sequence[str], decimal: str | None,
                   thousands: str | None) -> NumberFormat:
    texts = pa.array(sorted({v for v in values if v}), pa.string())
    try:
        return detect_format(texts, label=src.label, column=column, decimal=decimal, thousands=thousands)
    except InputDataError as err:
        raise InputDataError(str(err).replace("score column", "composition column")) from None


def _parse(src: SourceTable, column: str, raw: list[str | None], markers: set[str], suppressed_range: tuple[int, int],
           decimal: str | None, thousands: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(low, high, is_percent) of each value of one column; an unreadable value is an error naming its row."""
    texts = ["" if v is None else str(v).strip() for v in raw]
    percent = np.array([t.endswith("%") for t in texts])
    bare = [t.removesuffix("%").strip() for t in texts]
    numeric = [b for b, t in zip(bare, texts) if t not in markers and not _LESS_THAN.match(t)]
    fmt = _number_format(src, column, numeric, decimal, thousands)
    plain = normalise(pa.array(bare, pa.string()), fmt).to_pylist()
    low, high = np.zeros(len(texts)), np.zeros(len(texts))
    for i, (text, value) in enumerate(zip(texts, plain)):
        less = _LESS_THAN.match(text)
        if text in markers:
            low[i], high[i] = suppressed_range
            continue
        if less:
            low[i], high[i] = 0, max(int(less.group(1)) - 1, 0)
            continue
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not np.isfinite(number) or number < 0:
            hint = (f" If {text!r} marks a cell the office suppressed, declare it with --suppressed '{text}' (the "
                    f"cell then lies in --suppressed-range, now {suppressed_range[0]}-{suppressed_range[1]}); "
                    "'<5' style values are understood by themselves." if text else " Fill it in, or mark it "
                    "suppressed with --suppressed VALUE.")
            raise InputDataError(f"{src.label}: composition column {column!r} must hold numbers of people (or "
                                 f"percentages), but {_where(src, i)} holds {text or '(blank)'!r}.{hint}")
        low[i] = high[i] = number
    return low, high, percent


def _resolve(src_columns: Sequence[str], name: str) -> str | None:
    exact = [c for c in src_columns if c == name]
    if exact:
        return exact[0]
    folded = [c for c in src_columns if " ".join(c.split()).casefold() == " ".join(name.split()).casefold()]
    return folded[0] if len(folded) == 1 else None


def read_composition(path: str | Path, columns: Sequence[str] = ("area", "group", "people"), *,
                     suppressed: Sequence[str] = (), suppressed_range: tuple[int, int] = (0, 9),
                     encoding: str | None = None, delimiter: str | None = None, sheet: str | None = None,
                     header_row: int | None = None, decimal: str | None = None,
                     thousands: str | None = None) -> Composition:
    """Read a composition table (long or wide; counts or percentages) from CSV or a spreadsheet.

    Parameters
    ----------
    path : str or Path
        The table.
    columns : (AREA, GROUP, PEOPLE)
        Column names: the area code, the group (in a wide table: the attribute's name) and the people
        (in a wide table: the population column, if any).
    suppressed, suppressed_range
        Markers of suppressed cells and the range such a cell lies in ('<N' needs no declaring).

    Returns
    -------
    Composition
    """
    if len(columns) != 3 or not all(c and c.strip() for c in columns):
        raise InputDataError(f"--composition-columns takes three column names AREA,GROUP,PEOPLE; got "
                             f"{','.join(columns)!r}.")
    area_col, group_col, people_col = (c.strip() for c in columns)
    try:
        src = read_columns(path, None, encoding=encoding, delimiter=delimiter, sheet=sheet, header_row=header_row)
    except InputDataError as err:  # the composition's own option, not the decision file's --encoding
        raise InputDataError(str(err).replace("--encoding", "--composition-encoding")) from None
    header = list(src.columns)
    area = _resolve(header, area_col)
    if area is None:
        from .._text import did_you_mean

        raise InputDataError(f"{src.label}: the composition table has no area column {area_col!r}; its columns are "
                             f"{list_values(header)}.{did_you_mean(area_col, header)} Name the columns with "
                             "--composition-columns AREA,GROUP,PEOPLE.")
    values = _text_columns(src)
    markers = {m.strip() for m in suppressed}
    group, people = _resolve(header, group_col), _resolve(header, people_col)
    args = (markers, suppressed_range, decimal, thousands)
    others = [c for c in header if c not in (area, people)]
    if group is None and people is not None and len(others) == 1 and len(set(values[area])) < len(values[area]):
        group = others[0]  # area, people and one more column, areas repeated: a long table; that column is the group
    if group is not None and people is not None:
        return _long(src, values, area, group, people, args)
    totals = [c for c in header if c != area and (c == people or c.strip().casefold() in TOTAL_NAMES)]
    return _wide(src, values, area, group_col, totals, args)


def _area_codes(src: SourceTable, raw: list[str | None], column: str) -> list[str]:
    codes = [None if v is None else str(v).strip() for v in raw]
    blank = [i for i, c in enumerate(codes) if not c]
    if blank:
        raise InputDataError(f"{src.label}: area column {column!r} is blank at {_where(src, blank[0])}"
                             f"{f' and {len(blank) - 1:,} more rows' if len(blank) > 1 else ''}; every row of a "
                             "composition table needs its area code. Fill it in, or remove the row.")
    return [c for c in codes if c]


def _long(src: SourceTable, values: dict, area: str, group: str, people: str, args: tuple) -> Composition:
    codes = _area_codes(src, values[area], area)
    groups_raw = [None if v is None else str(v).strip() for v in values[group]]
    if any(not g for g in groups_raw):
        i = next(i for i, g in enumerate(groups_raw) if not g)
        raise InputDataError(f"{src.label}: group column {group!r} is blank at {_where(src, i)}; every row needs "
                             "its group. Fill it in, or remove the row if it is a total.")
    low, high, percent = _parse(src, people, values[people], *args)
    areas, groups = sorted(set(codes)), sorted(set(groups_raw))
    a_idx, g_idx = {a: i for i, a in enumerate(areas)}, {g: j for j, g in enumerate(groups)}
    lo, hi = np.zeros((len(areas), len(groups))), np.zeros((len(areas), len(groups)))
    seen: dict[tuple[str, str], int] = {}
    for row, (a, g) in enumerate(zip(codes, groups_raw)):
        if (a, g) in seen:
            raise InputDataError(f"{src.label}: area {a!r}, group {g!r} appears twice ({_where(src, seen[(a, g)])} "
                                 f"and {_where(src, row)}); a long composition table has one row per area and "
                                 "group. Remove the duplicate (or a total row).")
        seen[(a, g)] = row
        lo[a_idx[a], g_idx[g]], hi[a_idx[a], g_idx[g]] = low[row], high[row]
    notes: list[str] = []
    absent = len(areas) * len(groups) - len(seen)
    if absent:
        notes.append(f"{absent:,} area-group combinations have no row in {src.label}; they were read as 0 people.")
    areas, groups, lo, hi = _drop_totals(src, areas, groups, lo, hi, group, notes)
    kind = "counts"
    if percent.any():
        lo, hi, extra = _percentages(src, areas, groups, lo, hi, None)
        notes, kind = notes + extra, "percentages"
    return Composition(group_col_name(group), tuple(areas), tuple(groups), lo, hi, None, "long", kind, src.label,
                       tuple(notes + list(src.notes)))


def _is_total(label: str) -> bool:
    from ._totals import TOTAL_LABELS

    return label.strip().casefold() in TOTAL_LABELS


def _drop_totals(src: SourceTable, areas: list[str], groups: list[str], lo: np.ndarray, hi: np.ndarray, column: str,
                 notes: list[str]) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """A 'Totaal' group (checked to be the sum of the others, within rounding) and 'Totaal' areas, left out."""
    total = [j for j, g in enumerate(groups) if _is_total(g)]
    if total:
        j = total[0]
        keep = [k for k in range(len(groups)) if k != j]
        parts_lo, parts_hi = lo[:, keep].sum(axis=1), hi[:, keep].sum(axis=1)
        slack = np.maximum(0.5 * len(keep), 0.005 * hi[:, j])
        off = np.nonzero((parts_hi < lo[:, j] - slack) | (parts_lo > hi[:, j] + slack))[0]
        if len(off):
            i = off[0]
            raise InputDataError(f"{src.label}: the group {groups[j]!r} of column {column!r} looks like a total, but in "
                                 f"area {areas[i]!r} it is {lo[i, j]:g} while the other groups add up to "
                                 f"{parts_lo[i]:g}. Remove its rows, or check that every group is in the table.")
        notes.append(f"{src.label}: the rows of group {groups[j]!r} are totals (the sum of the other groups); "
                     "they were left out.")
        groups, lo, hi = [groups[k] for k in keep], lo[:, keep], hi[:, keep]
    rows = [i for i, a in enumerate(areas) if not _is_total(a)]
    if len(rows) < len(areas):
        dropped = [a for a in areas if _is_total(a)]
        notes.append(f"{src.label}: the total rows of areas {list_values(dropped)} were left out.")
        areas, lo, hi = [areas[i] for i in rows], lo[rows], hi[rows]
    return areas, groups, lo, hi


def group_col_name(name: str) -> str:
    """The protected attribute's name: the group column's own name."""
    return name.strip()


def _wide(src: SourceTable, values: dict, area: str, attribute: str, totals: list[str], args: tuple) -> Composition:
    if len(totals) > 1:
        raise InputDataError(f"{src.label}: columns {list_values(totals)} all look like the population column; keep "
                             "one, or name it with --composition-columns AREA,GROUP,PEOPLE.")
    groups = [c for c in src.columns if c not in (area, *totals)]
    if not groups:
        raise InputDataError(f"{src.label}: the composition table has an area column {area!r} but no group columns "
                             f"(its columns are {list_values(list(src.columns))}). A long table needs columns AREA, "
                             "GROUP, PEOPLE (--composition-columns); a wide table one column per group.")
    codes = _area_codes(src, values[area], area)
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        raise InputDataError(f"{src.label}: area {twice[0]!r} has more than one row; a wide composition table has "
                             f"one row per area. If this is a long table (one row per area and group), name its "
                             f"columns with --composition-columns AREA,GROUP,PEOPLE (its columns are "
                             f"{list_values(list(src.columns))}); otherwise remove the duplicate rows.")
    parsed = [_parse(src, g, values[g], *args) for g in groups]
    lo = np.column_stack([p[0] for p in parsed])
    hi = np.column_stack([p[1] for p in parsed])
    population = None
    if totals:
        plo, phi, _ = _parse(src, totals[0], values[totals[0]], *args)
        population = (plo + phi) / 2
    percent = any(p[2].any() for p in parsed) or (population is not None and _sums_to_100(src, codes, lo, hi,
                                                                                          population))
    # Sorted areas; an area row labelled as a total ('Totaal') is left out, and said.
    order = np.array([i for i in np.argsort(np.array(codes, dtype=object), kind="stable") if not _is_total(codes[i])],
                     dtype=int)
    dropped = [c for c in codes if _is_total(c)]
    areas = [codes[i] for i in order]
    lo, hi = lo[order], hi[order]
    population = None if population is None else population[order]
    notes: list[str] = [f"{src.label}: the total rows of areas {list_values(dropped)} were left out."] if dropped else []
    kind = "counts"
    if percent:
        lo, hi, extra = _percentages(src, areas, groups, lo, hi, population)
        notes += extra
        kind = "percentages"
    return Composition(attribute.strip(), tuple(areas), tuple(groups), lo, hi, population, "wide", kind, src.label,
                       tuple(notes + list(src.notes)))


def _sums_to_100(src: SourceTable, areas: Sequence[str], lo: np.ndarray, hi: np.ndarray,
                 population: np.ndarray) -> bool:
    """Whether a wide table with a population column holds percentages (every area's groups add up to about
    100) or counts (they add up to the population, within rounding); anything else is an error."""
    slack = 0.5 * lo.shape[1]
    near_100 = (hi.sum(axis=1) >= 100 - slack) & (lo.sum(axis=1) <= 100 + slack)
    near_total = (hi.sum(axis=1) >= population - np.maximum(slack, 0.005 * population)) & \
                 (lo.sum(axis=1) <= population + np.maximum(slack, 0.005 * population))
    if near_total.all():
        return False
    if near_100.all():
        return True
    odd = np.nonzero(~near_total & ~near_100)[0]
    odd = odd if len(odd) else np.nonzero(~near_total)[0]
    shown = ", ".join(f"{areas[i]!r} (groups {lo[i].sum():g}, population {population[i]:g})" for i in odd[:5])
    raise InputDataError(f"{src.label}: the groups of {len(odd):,} areas add up neither to the population column nor "
                         f"to 100 (percentages): {shown}. Check that every group has a column (an 'unknown' group "
                         "too), or leave out the population column.")


def _percentages(src: SourceTable, areas: Sequence[str], groups: Sequence[str], lo: np.ndarray, hi: np.ndarray,
                 population: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Percentages checked to add up to 100 per area within rounding, as people (of the population, or of 100)."""
    slack = 0.5 * len(groups)  # each group's percentage rounded to a whole point
    low_sum, high_sum = lo.sum(axis=1), hi.sum(axis=1)
    off = np.nonzero((high_sum < 100 - slack) | (low_sum > 100 + slack))[0]
    if len(off):
        shown = ", ".join(f"{areas[i]!r} ({low_sum[i]:g}" + (f"-{high_sum[i]:g}" if high_sum[i] != low_sum[i] else "")
                          + "%)" for i in off[:5])
        raise InputDataError(f"{src.label}: the group percentages of {len(off):,} areas do not add up to 100 (within "
                             f"rounding, {100 - slack:g}-{100 + slack:g}): {shown}. Check that every group has a "
                             "column (or row), and that the values are percentages of the area's population.")
    notes = []
    rounded = int(np.sum((low_sum != 100) & (high_sum != 100) & ~((low_sum < 100) & (high_sum > 100))))
    if rounded:
        notes.append(f"{rounded:,} areas' percentages add up to between {100 - slack:g} and {100 + slack:g} "
                     "rather than 100 (rounding); their shares were taken as given, relative to their sum.")
    scale = (population if population is not None else np.full(len(areas), 100.0)) / 100.0
    if population is None:
        notes.append("Percentages without a population column: only each area's shares are used (people per "
                     "area come from the decision file).")
    return lo * scale[:, None], hi * scale[:, None], notes


def read_crosswalk(path: str | Path, *, encoding: str | None = None, delimiter: str | None = None,
                   sheet: str | None = None, header_row: int | None = None) -> Crosswalk:
    """Read ``old_code,new_code[,weight]``; the weights of each old code must add up to 1."""
    src = read_columns(path, None, encoding=encoding, delimiter=delimiter, sheet=sheet, header_row=header_row)
    header = list(src.columns)
    old, new, weight = (_resolve(header, n) for n in ("old_code", "new_code", "weight"))
    if old is None or new is None:
        raise InputDataError(f"{src.label}: a crosswalk needs columns old_code and new_code (and optionally weight); "
                             f"its columns are {list_values(header)}.")
    values = _text_columns(src)
    olds, news = _area_codes(src, values[old], old), _area_codes(src, values[new], new)
    if weight is not None:
        low, high, _ = _parse(src, weight, values[weight], set(), (0, 0), None, None)
        weights = low
    else:
        weights = np.ones(len(olds))
    mapping: dict[str, list[tuple[str, float]]] = {}
    for o, n, w in zip(olds, news, weights):
        mapping.setdefault(o, []).append((n, float(w)))
    for o, targets in mapping.items():
        total = sum(w for _, w in targets)
        if weight is None and len(targets) > 1:
            raise InputDataError(f"{src.label}: old code {o!r} maps to {len(targets)} new codes "
                                 f"({list_values([n for n, _ in targets])}) but the crosswalk has no weight column "
                                 "saying how its cases are split. Add a column weight (the shares, adding up to 1).")
        if abs(total - 1) > 1e-6:
            raise InputDataError(f"{src.label}: the weights of old code {o!r} add up to {total:g}, not 1; each old "
                                 "area's cases are split over its new codes by weights that add up to 1.")
    return Crosswalk(mapping, src.label)
