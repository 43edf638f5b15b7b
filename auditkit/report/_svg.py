"""Inline SVG charts drawn from the document tree: no script, no external resource, a title and a description.

These functions only place what :mod:`auditkit.report._build` decided (values, intervals, labels, ticks)
on a canvas.  All text goes through :func:`markupsafe.escape`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from markupsafe import Markup, escape

from ._document import Chart, GroupedBars, Histogram, IntervalChart, LineChart
from ._palette import COLOURS, SERIES

__all__ = ["chart_svg"]

WIDTH = 720
_CHAR = 7.2  # average advance of a 12px sans-serif character, for layout estimates
_ROW = 26


def _text_width(text: str, size: float = 12) -> float:
    return len(text) * _CHAR * size / 12


def _fit(text: str, width: float) -> str:
    limit = max(int(width / _CHAR), 4)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _wrap(text: str, width: float) -> list[str]:
    """A label in at most two lines of ``width``, broken after a space, '_', '-' or '/'; only a label that
    does not fit in two lines is shortened (with '…'), and then only its second line.

    >>> _wrap("dutch_language_requirement_met", 140)
    ['dutch_language_', 'requirement_met']
    >>> _wrap("age", 140)
    ['age']
    """
    limit = max(int(width / _CHAR), 4)
    if len(text) <= limit:
        return [text]
    cuts = [i + 1 for i, ch in enumerate(text[:limit]) if ch in " _-/"]
    cut = cuts[-1] if cuts and cuts[-1] >= limit // 3 else limit
    first, rest = text[:cut].rstrip(" "), text[cut:].lstrip(" ")
    return [first, _fit(rest, width)]


def _label(text: str, x: float, y: float, width: float, weight: str = "") -> str:
    """A right-aligned label centred on ``y``: one line, or two (the full text stays in the chart's description)."""
    lines = _wrap(text, width)
    if len(lines) == 1:
        return f'<text x="{_f(x)}" y="{_f(y + 4)}" text-anchor="end"{weight}>{escape(lines[0])}</text>'
    spans = "".join(f'<tspan x="{_f(x)}" dy="{dy}">{escape(line)}</tspan>' for line, dy in zip(lines, (0, 13)))
    return f'<text x="{_f(x)}" y="{_f(y - 2.5)}" text-anchor="end"{weight}>{spans}</text>'


def _f(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _open(chart: Chart, height: float) -> list[str]:
    cid = escape(chart.id)
    return [f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {_f(height)}" '
            f'width="{WIDTH}" height="{_f(height)}" aria-labelledby="{cid}-t {cid}-d" id="{cid}-svg" '
            f'font-size="12" fill="{COLOURS["text"]}">',
            f'<title id="{cid}-t">{escape(chart.title)}</title>',
            f'<desc id="{cid}-d">{escape(chart.description)}</desc>']


def _legend(entries: list[tuple[str, str]], x0: float, y0: float, width: float) -> tuple[list[str], float]:
    """Entries (kind:colour, label) laid out left to right, wrapping; returns the parts and the height used."""
    parts, x, y = [], x0, y0
    for swatch, label in entries:
        w = 22 + _text_width(label) + 18
        if x > x0 and x + w > x0 + width:
            x, y = x0, y + 18
        kind, colour = swatch.split(":", 1)
        if kind == "band":
            parts.append(f'<rect x="{_f(x)}" y="{_f(y - 9)}" width="16" height="11" fill="{colour}" '
                         f'stroke="{COLOURS["rule"]}" stroke-width="0.5"/>')
        elif kind == "line":
            parts.append(f'<line x1="{_f(x)}" x2="{_f(x + 16)}" y1="{_f(y - 4)}" y2="{_f(y - 4)}" stroke="{colour}" '
                         f'stroke-width="2"/>')
        elif kind == "dash":
            parts.append(f'<line x1="{_f(x)}" x2="{_f(x + 16)}" y1="{_f(y - 4)}" y2="{_f(y - 4)}" stroke="{colour}" '
                         f'stroke-width="1.5" stroke-dasharray="4 3"/>')
        else:
            parts.append(f'<rect x="{_f(x)}" y="{_f(y - 10)}" width="14" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{_f(x + 22)}" y="{_f(y)}">{escape(label)}</text>')
        x += w
    return parts, (y - y0) + 18 if entries else 0


def _x_axis(ticks: tuple[tuple[float, str], ...], scale: Callable[[float], float], top: float, bottom: float,
            label: str, x0: float, x1: float) -> list[str]:
    parts, last = [], -1e9
    for value, text in ticks:
        x = scale(value)
        parts.append(f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{_f(top)}" y2="{_f(bottom)}" stroke="{COLOURS["grid"]}"/>')
        half = _text_width(text, 11) / 2
        if x - half < last + 6:
            continue  # the label would touch its neighbour: keep the gridline, drop the label
        last = x + half
        parts.append(f'<text x="{_f(x)}" y="{_f(bottom + 15)}" text-anchor="middle" font-size="11" '
                     f'fill="{COLOURS["muted"]}">{escape(text)}</text>')
    parts.append(f'<line x1="{_f(x0)}" x2="{_f(x1)}" y1="{_f(bottom)}" y2="{_f(bottom)}" stroke="{COLOURS["rule"]}"/>')
    parts.append(f'<text x="{_f((x0 + x1) / 2)}" y="{_f(bottom + 32)}" text-anchor="middle">{escape(label)}</text>')
    return parts


def _value_axis(ticks: tuple[tuple[float, str], ...], scale: Callable[[float], float], x0: float, x1: float,
                top: float, bottom: float, title: str) -> list[str]:
    """Gridlines and labels of a vertical value axis, and its title turned on its side."""
    parts = []
    for value, text in ticks:
        y = _f(scale(value))
        parts.append(f'<line x1="{x0}" x2="{x1}" y1="{y}" y2="{y}" stroke="{COLOURS["grid"]}"/>')
        parts.append(f'<text x="{x0 - 6}" y="{_f(scale(value) + 4)}" text-anchor="end" font-size="11" '
                     f'fill="{COLOURS["muted"]}">{escape(text)}</text>')
    parts.append(f'<text x="14" y="{_f((top + bottom) / 2)}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {_f((top + bottom) / 2)})">{escape(title)}</text>')
    return parts


def _interval(chart: Chart, body: IntervalChart) -> str:
    label_w = min(max(max((_text_width(r.label) for r in body.rows), default=60) + 14, 80), 240)
    value_w = min(max(max((_text_width(r.text, 11) for r in body.rows), default=60) + 12, 90), 230)
    x0, x1 = label_w, WIDTH - value_w
    lo, hi = body.domain
    if body.log:
        llo, lhi = math.log(lo), math.log(hi)

        def scale(v: float) -> float:
            v = min(max(v, lo), hi)
            return x0 + (math.log(v) - llo) / (lhi - llo) * (x1 - x0)
    else:
        def scale(v: float) -> float:
            v = min(max(v, lo), hi)
            return x0 + (v - lo) / ((hi - lo) or 1) * (x1 - x0)
    entries = []
    if body.band:
        entries.append((f"band:{COLOURS['band']}", body.band[2]))
    if body.reference:
        entries.append((f"{'line' if body.log else 'dash'}:{COLOURS['reference']}", body.reference[1]))
    legend, legend_h = _legend(entries, 8, 16, WIDTH - 16)
    top = 8 + legend_h + (6 if entries else 0)
    bottom = top + _ROW * len(body.rows)
    parts = _open(chart, bottom + 44) + legend
    if body.band:
        bx0, bx1 = scale(body.band[0]), scale(body.band[1])
        parts.append(f'<rect x="{_f(bx0)}" y="{_f(top)}" width="{_f(bx1 - bx0)}" height="{_f(bottom - top)}" '
                     f'fill="{COLOURS["band"]}"/>')
    parts += _x_axis(body.ticks, scale, top, bottom, body.axis_label, x0, x1)
    if body.reference:
        rx = scale(body.reference[0])
        dash = "" if body.log else ' stroke-dasharray="4 3"'
        parts.append(f'<line x1="{_f(rx)}" x2="{_f(rx)}" y1="{_f(top - 2)}" y2="{_f(bottom)}" '
                     f'stroke="{COLOURS["reference"]}" stroke-width="{2 if body.log else 1.5}"{dash}/>')
    for i, row in enumerate(body.rows):
        y = top + _ROW * i + _ROW / 2
        weight = ' font-weight="bold"' if row.highlight else ""
        parts.append(_label(row.label, x0 - 8, y, x0 - 12, weight))
        if row.value is not None and row.low is not None and row.high is not None:
            a, b, v = scale(row.low), scale(row.high), scale(row.value)
            parts.append(f'<line x1="{_f(a)}" x2="{_f(b)}" y1="{_f(y)}" y2="{_f(y)}" stroke="{COLOURS["mark"]}" '
                         f'stroke-width="1.5"/>')
            for end in (a, b):
                parts.append(f'<line x1="{_f(end)}" x2="{_f(end)}" y1="{_f(y - 5)}" y2="{_f(y + 5)}" '
                             f'stroke="{COLOURS["mark"]}" stroke-width="1.5"/>')
            shape = (f'<rect x="{_f(v - 4.5)}" y="{_f(y - 4.5)}" width="9" height="9" fill="{COLOURS["background"]}" '
                     f'stroke="{COLOURS["mark"]}" stroke-width="2"/>' if row.highlight else
                     f'<circle cx="{_f(v)}" cy="{_f(y)}" r="4.5" fill="{COLOURS["mark"]}"/>')
            parts.append(shape)
        else:
            parts.append(f'<text x="{_f(x0 + 6)}" y="{_f(y + 4)}" font-style="italic" fill="{COLOURS["muted"]}">'
                         f'{escape(row.text)}</text>')
        parts.append(f'<text x="{_f(x1 + 10)}" y="{_f(y + 4)}" font-size="11">'
                     f'{escape(row.text if row.value is not None else "")}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _bars(chart: Chart, body: GroupedBars) -> str:
    label_w = min(max(max((_text_width(c) for c in body.categories), default=60) + 14, 80), 220)
    x0, x1 = label_w, WIDTH - 20
    entries = [(f"box:{SERIES[i % len(SERIES)]}", s.label) for i, s in enumerate(body.series)]
    legend, legend_h = _legend(entries, 8, 16, WIDTH - 16)
    top = 8 + legend_h + 6
    bar, gap = 9, 2
    row_h = len(body.series) * (bar + gap) + 10
    bottom = top + row_h * len(body.categories)
    lo, hi = body.domain

    def scale(v: float) -> float:
        return x0 + (min(max(v, lo), hi) - lo) / ((hi - lo) or 1) * (x1 - x0)

    parts = _open(chart, bottom + 44) + legend + _x_axis(body.ticks, scale, top, bottom, body.axis_label, x0, x1)
    zero = scale(0.0)
    for i, category in enumerate(body.categories):
        y = top + row_h * i + 5
        parts.append(_label(category, x0 - 8, y + row_h / 2 - 4, x0 - 12))
        for j, series in enumerate(body.series):
            value = series.values[i] if i < len(series.values) else None
            if value is None:
                continue
            a, b = sorted((zero, scale(value)))
            parts.append(f'<rect x="{_f(a)}" y="{_f(y + j * (bar + gap))}" width="{_f(max(b - a, 0.8))}" '
                         f'height="{bar}" fill="{SERIES[j % len(SERIES)]}"/>')
    parts.append(f'<line x1="{_f(zero)}" x2="{_f(zero)}" y1="{_f(top)}" y2="{_f(bottom)}" '
                 f'stroke="{COLOURS["mark"]}" stroke-width="1.2"/>')
    parts.append("</svg>")
    return "".join(parts)


def _histogram(chart: Chart, body: Histogram) -> str:
    x0, x1 = 60, WIDTH - 20
    entries = [(f"line:{SERIES[i % len(SERIES)]}", s.label) for i, s in enumerate(body.series)]
    legend, legend_h = _legend(entries, 8, 16, WIDTH - 16)
    top, height = 8 + legend_h + 10, 220
    bottom = top + height
    e0, e1 = body.edges[0], body.edges[-1]

    def sx(v: float) -> float:
        return x0 + (v - e0) / ((e1 - e0) or 1) * (x1 - x0)

    def sy(v: float) -> float:
        return bottom - v / (body.y_max or 1) * height

    parts = _open(chart, bottom + 44) + legend + _x_axis(body.x_ticks, sx, top, bottom, body.axis_label, x0, x1)
    parts += _value_axis(body.y_ticks, sy, x0, x1, top, bottom, body.value_label)
    for j, series in enumerate(body.series):
        path: list[str] = []
        for i, share in enumerate(series.values):
            if share is None:
                path.append("|")
                continue
            path.append(f"{_f(sx(body.edges[i]))},{_f(sy(share))} {_f(sx(body.edges[i + 1]))},{_f(sy(share))}")
        for run in " ".join(path).split("|"):
            if run.strip():
                parts.append(f'<polyline points="{run.strip()}" fill="none" stroke="{SERIES[j % len(SERIES)]}" '
                             f'stroke-width="2"/>')
    parts.append("</svg>")
    return "".join(parts)


def chart_svg(chart: Chart) -> Markup:
    """The inline ``<svg>`` of a chart."""
    body = chart.body
    if isinstance(body, IntervalChart):
        return Markup(_interval(chart, body))
    if isinstance(body, GroupedBars):
        return Markup(_bars(chart, body))
    if isinstance(body, Histogram):
        return Markup(_histogram(chart, body))
    if isinstance(body, LineChart):
        from ._svg_lines import lines_svg

        return Markup(lines_svg(chart, body))
    from ._lines import Lines, xy_svg  # calibration, ROC and threshold charts

    if isinstance(body, Lines):
        return Markup(xy_svg(chart, body))
    raise TypeError(f"No renderer for chart body {type(body).__name__}.")
