"""Column names that occur more than once in a text table's header.

Exports often repeat a column (a join that kept both copies of a key, a sheet
that shows the same field twice).  Reading such a file by name is ambiguous:
pandas silently renames the second copy ``name.1``, other readers pick one.
Here every copy after the first is addressed as ``name#2``, ``name#3`` (and the
first, when it must be told apart, as ``name#1``).  When an audit names a
repeated column, its copies are compared over the whole file: identical copies
are one column (the first is used, with a note); copies that differ make the
name ambiguous, and the audit is refused with the copies listed.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa

from .._text import list_values
from ..exceptions import InputDataError

__all__ = ["header_copies", "resolve_header", "unique_header"]


def unique_header(header: Sequence[str]) -> list[str]:
    """The header with every repeated name's later copies renamed ``name#2``, ``name#3``.

    Blank names (an unnamed index column, trailing delimiters) are left as they are.

    >>> unique_header(["id", "g", "id", "", ""])
    ['id', 'g', 'id#2', '', '']
    """
    seen: Counter[str] = Counter()
    out = []
    for name in header:
        seen[name] += 1
        out.append(f"{name}#{seen[name]}" if seen[name] > 1 and name.strip() else name)
    return out


def _copies(header: Sequence[str]) -> dict[str, list[str]]:
    """Each repeated (non-blank) name and the unique names of its copies."""
    unique = unique_header(header)
    groups: dict[str, list[str]] = {}
    for name, new in zip(header, unique):
        if name.strip():
            groups.setdefault(name, []).append(new)
    return {name: cols for name, cols in groups.items() if len(cols) > 1}


def resolve_header(label: str, raw: Sequence[str], wanted: Sequence[str] | None, source: Path | bytes, codec: str,
                   delimiter: str, resolve: Callable) -> tuple[list[str], dict[str, str], list[str]]:
    """Unique header, wanted name -> header name, notes: :func:`header_copies` then ``resolve``
    (:func:`auditkit.load.data._resolve`), with ``name#1`` kept as the name of the first copy."""
    header, names, notes = header_copies(label, raw, wanted, source, codec, delimiter)
    mapping, more = resolve(label, header, names)
    for w in wanted or ():
        if w not in mapping and w.endswith("#1") and w[:-2] in mapping:
            mapping[w] = mapping.pop(w[:-2]) if w[:-2] not in wanted else mapping[w[:-2]]
    return header, mapping, notes + list(more)


def header_copies(label: str, header: Sequence[str], wanted: Sequence[str] | None, source: Path | bytes,
                  codec: str, delimiter: str) -> tuple[list[str], list[str] | None, list[str]]:
    """Unique header, the wanted names to resolve against it, and notes.

    ``wanted`` names of a repeated column are checked: identical copies are accepted with a
    note; differing ones raise an :class:`InputDataError` listing them.  ``name#1`` addresses
    the first copy.  With ``wanted=None`` (every column), identical later copies are left out.
    """
    unique = unique_header(header)
    copies = _copies(header)
    if not copies:
        return unique, None if wanted is None else list(wanted), []
    notes: list[str] = []
    named = list(copies) if wanted is None else [w for w in copies if w in wanted]
    drop: set[str] = set()
    for name in named:
        diff = _first_difference(source, unique, copies[name], codec, delimiter)
        positions = ", ".join(str(unique.index(c) + 1) for c in copies[name])
        if diff is None:
            notes.append(f"{label}: column {name!r} appears {len(copies[name])} times in the header (columns "
                         f"{positions}) with the same value in every row; the first copy is used.")
            drop.update(copies[name][1:])
            continue
        row, values = diff
        shown = ", ".join(f"{c!r} holds {v!r}" for c, v in zip([f"{name}#1", *copies[name][1:]], values))
        if wanted is None:
            notes.append(f"{label}: column {name!r} appears {len(copies[name])} times in the header (columns "
                         f"{positions}) and the copies differ; they are read as {list_values(copies[name])}.")
            continue
        raise InputDataError(
            f"{label}: column {name!r} appears {len(copies[name])} times in the header (columns {positions}) "
            f"and the copies differ (first in data row {row:,}: {shown}). Name the copy you mean: "
            f"{list_values([f'{name}#1', *copies[name][1:]])}."
        )
    aliases = {f"{name}#1": name for name in copies}
    if wanted is None:
        return unique, [u for u in unique if u.strip() and u not in drop and not u.startswith("Unnamed:")], notes
    return unique, [aliases.get(w, w) for w in wanted], notes


def _first_difference(source: Path | bytes, unique: list[str], columns: list[str], codec: str,
                      delimiter: str) -> tuple[int, list[str]] | None:
    """(data row, values of each copy) of the first row where the copies differ, or None; read in
    batches of these columns only, so that a file larger than memory is compared too."""
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    stream = pacsv.open_csv(
        io.BytesIO(source) if isinstance(source, bytes) else source,
        read_options=pacsv.ReadOptions(encoding="utf8" if codec == "utf-8-sig" else codec, column_names=unique,
                                       skip_rows=1),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(include_columns=columns, column_types={c: pa.string() for c in columns},
                                             strings_can_be_null=False, quoted_strings_can_be_null=False),
    )
    offset = 0
    for batch in stream:
        first = batch.column(0)
        differs = None
        for other in range(1, len(columns)):
            ne = pc.fill_null(pc.not_equal(first, batch.column(other)), True)
            differs = ne if differs is None else pc.or_(differs, ne)
        if differs is not None and pc.any(differs).as_py():
            i = int(pc.index(differs, True).as_py())
            return offset + i + 1, [str(batch.column(c)[i].as_py()) for c in range(len(columns))]
        offset += batch.num_rows
    return None
