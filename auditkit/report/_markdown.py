"""The Markdown renderer: the report as text to paste into a briefing (charts left out; tables kept).

Every string from the bundle is escaped, so that text such as ``<script>`` or ``*bold*`` in a group
name shows as itself wherever the Markdown is rendered.  Data can create no HTML and no link: ``<``, ``>``,
``[``, ``]`` and entities are escaped (no raw HTML, autolink or link); line breaks, which could end a
paragraph or a code span and start raw HTML on the next line, become spaces in text and visible ``\n`` in
code spans, and every other control character is shown as an escape; a ``:`` or ``@`` between
characters and a ``www.`` are escaped, so that GitHub-style renderers do not turn ``javascript:…``,
``https://…``, ``www.…`` or an e-mail address written in data into a link.
"""

from __future__ import annotations

import re

from .._text import printable
from ._document import (
    Block, BulletList, CodeBlock, Document, FindingBlock, KeyValues, Notice, Paragraph, Section, Table,
)

__all__ = ["escape_markdown", "render_markdown"]

_ALWAYS = re.compile(r"([\\`*\[\]<>|~])")
_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_LINK_START = re.compile(r"(?<=\S)([:@])(?=\S)|(?<![A-Za-z0-9])(www)\.", re.IGNORECASE)
_LINE_BREAK = re.compile(r"\r\n|[\r\n]")
_BLOCK_START = re.compile(r"^(\s*)(?:([#>])|([+-])(?=\s|$)|(\d{1,9})([.)])(?=\s|$))")


def escape_markdown(text: str, block_start: bool = False) -> str:
    """Text that renders as itself in CommonMark / GitHub Markdown.

    ``block_start``: the text begins a paragraph or list item, where '# ', '> ', '- ' or '1. ' would start
    a heading, a quote or a list.

    >>> escape_markdown("<script> *x* a_b _c_ 6.1% | x")
    '\\\\<script\\\\> \\\\*x\\\\* a_b \\\\_c\\\\_ 6.1% \\\\| x'
    >>> escape_markdown("1. not a list", block_start=True)
    '1\\\\. not a list'
    >>> escape_markdown("a\\r\\n\\r\\n[x](javascript:alert(1)) www.x.org")
    'a  \\\\[x\\\\](javascript\\\\:alert(1)) www\\\\.x.org'
    """
    text = printable(_LINE_BREAK.sub(" ", str(text)))
    text = _ALWAYS.sub(r"\\\1", text)
    text = _LINK_START.sub(lambda m: f"\\{m.group(1)}" if m.group(1) else f"{m.group(2)}\\.", text)
    text = _UNDERSCORE.sub(r"\\_", text)
    text = _ENTITY.sub("&amp;", text)
    if not block_start:
        return text

    def start(m: re.Match[str]) -> str:
        if m.group(4):
            return f"{m.group(1)}{m.group(4)}\\{m.group(5)}"
        return f"{m.group(1)}\\{m.group(2) or m.group(3)}"

    return _BLOCK_START.sub(start, text, count=1)


def _code_span(text: str) -> str:
    text = printable(text)  # a line break would end the span (a blank line, the paragraph) early
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(text: str, detail: str = "") -> str:
    return escape_markdown(f"{text} ({detail})" if detail else text) or " "


def _table(b: Table) -> list[str]:
    e = escape_markdown
    align = ["---:" if i and any(r.cells[i].numeric for r in b.rows if i < len(r.cells)) else "---"
             for i in range(len(b.header))]
    lines = [f"**{e(b.caption)}**", "", "| " + " | ".join(_cell(h) for h in b.header) + " |",
             "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(_cell(f"“{c.text}”" if c.quoted else c.text, c.detail) for c in r.cells) + " |"
              for r in b.rows]
    return [*lines, "", *(f"*{e(n)}*" for n in b.notes), *([""] if b.notes else [])]


def _block(b: Block, level: int) -> list[str]:
    e = escape_markdown
    if isinstance(b, Paragraph):
        quoted = "quoted" in b.style.split()  # user-provided text: a quotation
        return [("> " if quoted else "") + e(b.text, block_start=True), ""]
    if isinstance(b, BulletList):
        return [*(f"- {e(item, block_start=True)}" for item in b.items), ""]
    if isinstance(b, Notice):
        return [f"> {e(b.text, block_start=True)}", ""]
    if isinstance(b, CodeBlock):
        text = printable(b.text, newlines=True)
        longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
        fence = "`" * max(3, longest + 1)
        return [fence, text, fence, ""]
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, KeyValues):
        key = _code_span if b.code_keys else e
        value = (lambda c: _code_span(c.text) if c.code and not c.detail else _cell(c.text, c.detail))
        return [f"**{e(b.caption)}**", "", *(f"- {key(k)}: {value(c)}" for k, c in b.rows), ""]
    if isinstance(b, FindingBlock):
        lines = [f"{'#' * min(level + 1, 6)} {e(b.heading)}", "", e(b.statement, block_start=True), ""]
        for label, values in b.details:
            shown = ", ".join(_code_span(text) if anchor else e(text) for text, anchor in values)
            lines.append(f"- **{e(label)}:** {shown}")
        return [*lines, ""]
    return []  # charts: the tables next to them carry the same figures


def _section(s: Section, level: int) -> list[str]:
    lines = [f"{'#' * min(level, 6)} {escape_markdown(s.title)}", ""]
    for b in s.blocks:
        lines += _block(b, level)
    for sub in s.subsections:
        lines += _section(sub, level + 1)
    return lines


def render_markdown(doc: Document) -> str:
    """The report as Markdown."""
    lines = [f"# {escape_markdown(doc.title)}", "", escape_markdown(doc.subtitle, block_start=True), "",
             f"*{escape_markdown(doc.citation)}*", ""]
    for s in doc.sections:
        lines += _section(s, 2)
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"
