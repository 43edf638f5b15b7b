"""Read one sheet of a spreadsheet (.xlsx, .xlsm, .xlsb, .xls, .ods) as the table it holds.

Agencies publish tables as spreadsheets laid out for reading, not for reading
by a program: a title above the header, a header spread over merged cells, notes
below the table.  This module finds the table in the sheet and hands it on as
the text a CSV export of the same table would hold, so that everything after it
(:func:`auditkit.load.data.read_columns` and every engine) treats a spreadsheet
exactly as it treats that CSV file.  The cells are read with python-calamine
(a maintained reader of the Excel and OpenDocument formats); every decision
about the layout is written into the notes.

Rules, in the order applied:

* the sheet: ``sheet`` by name or by 1-based position; without it the first
  sheet with any value (the others are named in a note);
* the header: ``header_row`` (the sheet's own 1-based row number), or else the
  first row with values in at least half of the table's columns; rows above it
  (a title, a blank line) are skipped with a note;
* a header cell merged across columns names each of them; when the header row
  has such a merged cell and the row below it holds text under it, the two rows
  form the names ("Selected yes", "Selected no");
* cells merged down a column (a group label spanning its rows) give each row
  the label;
* the table ends at the last row with values; rows below it holding a single
  value (a source line, a footnote) are notes, left out with a note; blank rows
  inside the table are skipped as a CSV reader skips blank lines.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._text import did_you_mean, list_values
from ..exceptions import InputDataError, UsageError

__all__ = ["SPREADSHEET_SUFFIXES", "Sheet", "read_sheet"]

#: Extensions read as spreadsheets.
SPREADSHEET_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"})
#: Spreadsheet formats no maintained Python reader opens.
UNREADABLE_SUFFIXES = frozenset({".numbers"})


@dataclass(frozen=True)
class Sheet:
    """The table found in one sheet, as text cells (what a CSV export of it would hold)."""

    name: str
    header: list[str]
    rows: list[list[str]]
    #: The sheet's own row number (1-based) of each data row, for messages.
    row_numbers: list[int]
    header_row: int
    notes: tuple[str, ...]
    #: How many sheets the workbook has (messages name the sheet when there are several).
    sheets: int = 1

    def to_csv(self) -> bytes:
        """The table as UTF-8 CSV bytes, quoted where a value needs it."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return out.getvalue().encode("utf-8")


def cell_text(value: Any) -> str:
    """A cell as the text a CSV export writes: whole numbers without '.0', dates in ISO form.

    >>> [cell_text(v) for v in (1.0, 2.5, True, "", _dt.date(2024, 1, 31))]
    ['1', '2.5', 'TRUE', '', '2024-01-31']
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ") if (value.hour, value.minute, value.second, value.microsecond) != (
            0, 0, 0, 0) else value.date().isoformat()
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value)


def read_sheet(path: Path, sheet: str | int | None = None, header_row: int | None = None) -> Sheet:
    """Find the table in one sheet of the spreadsheet at ``path``.

    Raises :class:`~auditkit.exceptions.InputDataError` naming the file for a file
    that is not a readable spreadsheet, an unknown sheet, an empty sheet or a
    header row outside it.
    """
    workbook = _open(path)
    name = _choose_sheet(path, workbook, sheet)
    notes: list[str] = []
    if sheet is None and len(_filled_sheets(workbook)) > 1:
        others = [s for s in _filled_sheets(workbook) if s != name]
        notes.append(f"{path.name}: read sheet {name!r}, the first with values; the workbook also has "
                     f"{list_values(others)} (choose one with --sheet NAME or --sheet N).")
    grid, merges = _grid(path, workbook, name)
    label = f"{path.name} (sheet {name!r})"
    if not any(any(c for c in row) for row in grid):
        raise InputDataError(f"{label} is empty: it has no header and no rows. Choose the sheet that holds the "
                             "table with --sheet NAME.")
    _fill_down(grid, merges)
    top, header, merged_header = _header(label, grid, merges, header_row, notes)
    first = top + (2 if merged_header else 1)
    rows, numbers = _body(label, grid, first, len(header), notes)
    keep = [j for j, h in enumerate(header) if h.strip() or any(r[j] for r in rows)]
    header = [header[j] for j in keep]
    rows = [[r[j] for j in keep] for r in rows]
    return Sheet(name, header, rows, numbers, top + 1, tuple(notes), len(workbook.sheet_names))


def _open(path: Path) -> Any:
    try:
        import python_calamine
    except ImportError:  # pragma: no cover - a core dependency; only a broken install lacks it
        raise InputDataError(f"{path.name!r} is a spreadsheet, and reading one needs python-calamine: "
                             "pip install python-calamine (or save the sheet as CSV).") from None
    try:
        return python_calamine.CalamineWorkbook.from_path(str(path))
    # The reader is a native parser handed a hostile file: whatever it raises means "not readable".
    except Exception as err:  # noqa: BLE001
        reason = str(err).strip() or type(err).__name__
        hint = ("It is protected with a password: save an unprotected copy." if "password" in reason.lower()
                else "If it opens in a spreadsheet program, save it again as .xlsx, or save the sheet as CSV "
                     "(UTF-8), and pass that file.")
        raise InputDataError(f"{path.name!r} could not be opened as a {path.suffix.lower()} spreadsheet "
                             f"({reason}). {hint}") from None


def _filled_sheets(workbook: Any) -> list[str]:
    filled = []
    for name in workbook.sheet_names:
        try:
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=True, nrows=50)
        except Exception:  # noqa: BLE001 - a sheet the reader cannot parse holds no table we can use
            continue
        if any(any(cell_text(c) for c in row) for row in rows):
            filled.append(name)
    return filled


def _choose_sheet(path: Path, workbook: Any, sheet: str | int | None) -> str:
    names = list(workbook.sheet_names)
    if sheet is None:
        filled = _filled_sheets(workbook)
        if not filled:
            raise InputDataError(f"{path.name!r} has no sheet with any value in it ({list_values(names)}).")
        return filled[0]
    text = str(sheet).strip()
    if text in names:
        return text
    folded = [n for n in names if n.strip().casefold() == text.casefold()]
    if len(folded) == 1:
        return folded[0]
    if text.isdigit():
        if 1 <= int(text) <= len(names):
            return names[int(text) - 1]
        raise UsageError(f"--sheet {text}: {path.name!r} has {len(names)} sheet(s), numbered from 1: "
                         f"{list_values(names)}.")
    raise UsageError(f"--sheet {text!r}: {path.name!r} has no sheet of that name.{did_you_mean(text, names)} "
                     f"Its sheets are {list_values(names)} (or give a number, counting from 1).")


def _grid(path: Path, workbook: Any, name: str) -> tuple[list[list[str]], list]:
    """Every cell of the sheet as text, row 0 being the sheet's row 1; and its merged ranges."""
    try:
        sheet = workbook.get_sheet_by_name(name)
        values = sheet.to_python(skip_empty_area=False)
        merges = list(sheet.merged_cell_ranges or [])
    except Exception as err:  # noqa: BLE001 - see _open
        raise InputDataError(f"{path.name!r}: sheet {name!r} could not be read ({err}). Save the sheet as CSV "
                             "(UTF-8) and pass that file.") from None
    width = max((len(r) for r in values), default=0)
    grid = [[cell_text(c) for c in row] + [""] * (width - len(row)) for row in values]
    return grid, merges


def _fill_down(grid: list[list[str]], merges: list) -> None:
    """Cells merged down a column (one label for several rows) give every row the label."""
    for (r0, c0), (r1, c1) in merges:
        if r1 > r0 and c0 == c1 and r0 < len(grid):
            for r in range(r0 + 1, min(r1 + 1, len(grid))):
                if c0 < len(grid[r]) and not grid[r][c0]:
                    grid[r][c0] = grid[r0][c0]


def _filled(row: list[str]) -> int:
    return sum(1 for c in row if c.strip())


def _header(label: str, grid: list[list[str]], merges: list, header_row: int | None,
            notes: list[str]) -> tuple[int, list[str], bool]:
    """The header's row index, the column names, and whether a merged second header row was used."""
    if header_row is not None:
        if not 1 <= header_row <= len(grid) or not _filled(grid[header_row - 1]):
            raise UsageError(f"--header-row {header_row}: row {header_row} of {label} is "
                             f"{'empty' if 1 <= header_row <= len(grid) else 'not in the sheet'} (the sheet has "
                             f"{len(grid)} rows). Give the number the spreadsheet program shows for the header row.")
        top = header_row - 1
    else:
        widest = max(_filled(r) for r in grid)
        need = max(min(2, widest), (widest + 1) // 2)
        top = next(i for i, r in enumerate(grid) if _filled(r) >= need)
    across = [(c0, c1) for (r0, c0), (r1, c1) in merges if r0 == top and c1 > c0]
    header = list(grid[top])
    for c0, c1 in across:
        for c in range(c0 + 1, min(c1 + 1, len(header))):
            header[c] = header[c] or header[c0]
    below = grid[top + 1] if top + 1 < len(grid) else []
    two_rows = bool(across) and any(below[c].strip() for c0, c1 in across for c in range(c0, c1 + 1)
                                    if c < len(below))
    if two_rows:
        header = [" ".join(p for p in (upper.strip(), lower.strip()) if p) if lower.strip() != upper.strip()
                  else upper for upper, lower in zip(header, below)]
        notes.append(f"{label}: the header spans rows {top + 1} and {top + 2} (cells merged across columns); "
                     f"the columns are named {list_values(header, limit=20)}.")
    if top > 0:
        skipped = [c for r in grid[:top] for c in r if c.strip()]
        what = f" ({list_values(skipped, limit=3)})" if skipped else ""
        how = "given with --header-row" if header_row is not None else "found as the first full row"
        above = "row 1 above it" if top == 1 else f"rows 1-{top} above it"
        notes.append(f"{label}: the header is row {top + 1} ({how}); {above}{what} {'was' if top == 1 else 'were'} "
                     "skipped."
                     + ("" if header_row is not None else " Pass --header-row N if the header is another row."))
    return top, header, two_rows


def _body(label: str, grid: list[list[str]], first: int, width: int,
          notes: list[str]) -> tuple[list[list[str]], list[int]]:
    """The table's rows below the header (blank rows skipped, notes below it left out) and their numbers."""
    indices = [i for i in range(first, len(grid)) if _filled(grid[i])]
    if not indices:
        raise InputDataError(f"{label} has a header (row {first}) but no rows below it.")
    end = len(indices)
    if width >= 3:  # with one or two columns a note row cannot be told from a row with a blank value
        while end > 1 and _filled(grid[indices[end - 1]]) == 1 and not _looks_like_data(grid, indices, end):
            end -= 1
    if end < len(indices):
        left = [c for i in indices[end:] for c in grid[i] if c.strip()]
        where = (f"row {indices[end] + 1} below the table holds a single value" if end == len(indices) - 1 else
                 f"rows {indices[end] + 1}-{indices[-1] + 1} below the table hold a single value each")
        notes.append(f"{label}: {where} ({list_values(left, limit=3)}); read as notes and left out.")
    kept = indices[:end]
    gaps = kept[-1] - kept[0] + 1 - len(kept)
    if gaps:
        notes.append(f"{label}: {gaps} blank row(s) inside the table were skipped.")
    return [grid[i][:width] + [""] * (width - len(grid[i])) for i in kept], [i + 1 for i in kept]


def _looks_like_data(grid: list[list[str]], indices: list[int], end: int) -> bool:
    """True when the single value of the row ``indices[end - 1]`` sits in a column that is not the
    table's first (a note is written in the first column) or is a number (a count, not a note)."""
    row = grid[indices[end - 1]]
    column = next(j for j, c in enumerate(row) if c.strip())
    if column != 0:
        return True
    try:
        float(row[0].replace(",", "."))
        return True
    except ValueError:
        return False
