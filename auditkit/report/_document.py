"""The document tree: what a report says and in which order, with every text already in its language.

:func:`auditkit.report.build_document` decides content and order; the HTML, PDF and Markdown renderers
only lay this tree out.  Every string here is final (translated, numbers formatted, small cells already
withheld), so that a renderer never computes and never decides what may be published.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Union

if TYPE_CHECKING:
    from ._lines import Lines

__all__ = [
    "Block", "BulletList", "Cell", "Chart", "ChartRow", "CodeBlock", "Document", "FindingBlock", "GroupedBars",
    "Histogram", "IntervalChart", "KeyValues", "LineChart", "LineSeries", "Notice", "Paragraph", "Section", "Series",
    "Table", "TableRow",
]


@dataclass(frozen=True)
class Paragraph:
    """A paragraph; ``lang`` is set when the text is in another language than the report."""

    kind: ClassVar[str] = "paragraph"
    text: str
    lang: str | None = None
    style: str = ""


@dataclass(frozen=True)
class BulletList:
    """A list of plain items (each may carry its own language)."""

    kind: ClassVar[str] = "list"
    items: tuple[str, ...]
    lang: str | None = None


@dataclass(frozen=True)
class Notice:
    """A highlighted remark: 'warning' or 'info'."""

    kind: ClassVar[str] = "notice"
    text: str
    level: str = "info"
    lang: str | None = None


@dataclass(frozen=True)
class CodeBlock:
    """Literal text: a command line, a hash."""

    kind: ClassVar[str] = "code"
    text: str
    label: str = ""


@dataclass(frozen=True)
class Cell:
    """One table cell; ``suppressed`` marks a withheld figure, ``lang`` text in another language.

    ``detail`` is the interval shown after the value, in parentheses, kept on one line.
    """

    text: str
    suppressed: bool = False
    lang: str | None = None
    numeric: bool = False
    code: bool = False
    detail: str = ""
    #: user-provided text (the agency's claims and reply, the corrections log) shown as a quotation
    quoted: bool = False
    #: finding ids: broken between ids, never inside one
    ids: bool = False


@dataclass(frozen=True)
class TableRow:
    """A row: the first cell is its header; ``anchor`` is the id a finding's evidence links to."""

    cells: tuple[Cell, ...]
    anchor: str | None = None
    emphasis: bool = False


@dataclass(frozen=True)
class Table:
    """A table with a caption, column headers and rows whose first cell heads the row."""

    kind: ClassVar[str] = "table"
    caption: str
    header: tuple[str, ...]
    rows: tuple[TableRow, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeyValues:
    """A two-column table of labelled values (population, method, parameters)."""

    kind: ClassVar[str] = "keyvalues"
    caption: str
    rows: tuple[tuple[str, Cell], ...]
    #: the keys are names (option or parameter names), shown as code rather than words
    code_keys: bool = False


@dataclass(frozen=True)
class ChartRow:
    """One row of an interval chart: a value with its interval, or a text instead of a mark."""

    label: str
    value: float | None
    low: float | None
    high: float | None
    text: str
    highlight: bool = False


@dataclass(frozen=True)
class IntervalChart:
    """Points with interval bars, one row per group; on a linear or a log axis."""

    rows: tuple[ChartRow, ...]
    axis_label: str
    domain: tuple[float, float]
    ticks: tuple[tuple[float, str], ...]
    log: bool = False
    reference: tuple[float, str] | None = None
    band: tuple[float, float, str] | None = None


@dataclass(frozen=True)
class Series:
    """One coloured series (a group) of a grouped bar chart or a histogram; None = withheld."""

    label: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class GroupedBars:
    """Horizontal bars around zero: one row per category (feature), one bar per series (group)."""

    categories: tuple[str, ...]
    series: tuple[Series, ...]
    axis_label: str
    domain: tuple[float, float]
    ticks: tuple[tuple[float, str], ...]


@dataclass(frozen=True)
class Histogram:
    """Step lines of each series' share per bin, over shared bin edges."""

    edges: tuple[float, ...]
    series: tuple[Series, ...]
    axis_label: str
    value_label: str
    x_ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]
    y_max: float


@dataclass(frozen=True)
class LineSeries:
    """One group's values over the categories of a line chart: (value, low, high) each, None = not shown."""

    label: str
    points: tuple[tuple[float | None, float | None, float | None], ...]
    dashed: bool = False


@dataclass(frozen=True)
class LineChart:
    """Lines over ordered categories (periods), each point with its interval bar."""

    categories: tuple[str, ...]
    series: tuple[LineSeries, ...]
    axis_label: str
    value_label: str
    y_ticks: tuple[tuple[float, str], ...]
    y_max: float


ChartBody = Union[IntervalChart, GroupedBars, Histogram, LineChart, "Lines"]  # Lines: report._lines


@dataclass(frozen=True)
class Chart:
    """A chart with its title and a text description (also its alt text)."""

    kind: ClassVar[str] = "chart"
    id: str
    title: str
    description: str
    body: ChartBody
    legend_label: str = ""


@dataclass(frozen=True)
class FindingBlock:
    """One finding, with its statement in the report language (or marked with the language it is in)."""

    kind: ClassVar[str] = "finding"
    id: str
    severity: str
    severity_label: str
    heading: str
    statement: str
    statement_lang: str | None
    details: tuple[tuple[str, tuple[tuple[str, str | None], ...]], ...]
    withheld: bool = False


Block = Union[Paragraph, BulletList, Notice, CodeBlock, Table, KeyValues, Chart, FindingBlock]


@dataclass(frozen=True)
class Section:
    """A titled part of the report; nesting sets the heading level."""

    id: str
    title: str
    blocks: tuple[Block, ...] = ()
    subsections: tuple[Section, ...] = ()


@dataclass(frozen=True)
class Document:
    """The whole report: language, title, citation line, sections, and the words renderers need."""

    lang: str
    direction: str
    title: str
    subtitle: str
    citation: str
    sections: tuple[Section, ...]
    labels: dict[str, str] = field(default_factory=dict)
    generator: str = ""
