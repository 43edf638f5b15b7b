"""The line chart over periods: each group's rate per period, a point with its interval bar, joined by a line.

Like :mod:`auditkit.report._svg`, it only places what the document tree decided; all text is escaped.
A point that is not shown (withheld, undefined) breaks its line.
"""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import escape

from ._document import Chart, LineChart, LineSeries
from ._palette import COLOURS, SERIES
from ._svg import WIDTH, _f, _legend, _open, _text_width, _value_axis

__all__ = ["lines_svg"]

_HEIGHT = 240


def lines_svg(chart: Chart, body: LineChart) -> str:
    """The ``<svg>`` text of a line chart."""
    x0, x1 = 64, WIDTH - 24
    entries = [(f"{'dash' if s.dashed else 'line'}:{SERIES[i % len(SERIES)]}", s.label)
               for i, s in enumerate(body.series)]
    legend, legend_h = _legend(entries, 8, 16, WIDTH - 16)
    top = 8 + legend_h + 10
    bottom = top + _HEIGHT
    k = max(len(body.categories), 1)
    step = (x1 - x0) / k
    # the series side by side within a period, so that their interval bars do not hide each other
    spread = min(step * 0.5, 8.0 * len(body.series)) / max(len(body.series), 1)

    def sx(i: int, j: int) -> float:
        return x0 + step * (i + 0.5) + (j - (len(body.series) - 1) / 2) * spread

    def sy(v: float) -> float:
        return bottom - min(max(v, 0.0), body.y_max) / (body.y_max or 1) * _HEIGHT

    parts = _open(chart, bottom + 48) + legend + _axes(body, x0, x1, top, bottom, step, sy)
    for j, series in enumerate(body.series):
        parts += _series(series, SERIES[j % len(SERIES)], lambda i, j=j: sx(i, j), sy)
    parts.append("</svg>")
    return "".join(parts)


def _axes(body: LineChart, x0: float, x1: float, top: float, bottom: float, step: float,
          sy: Callable[[float], float]) -> list[str]:
    """Gridlines and labels of the value axis, the period labels and ticks, and the axis titles."""
    parts = _value_axis(body.y_ticks, sy, x0, x1, top, bottom, body.value_label)
    last = -1e9
    for i, label in enumerate(body.categories):
        x = x0 + step * (i + 0.5)
        half = _text_width(label, 11) / 2
        if x - half >= last + 6:  # a label that would touch its neighbour is left out, its tick stays
            parts.append(f'<text x="{_f(x)}" y="{_f(bottom + 15)}" text-anchor="middle" font-size="11" '
                         f'fill="{COLOURS["muted"]}">{escape(label)}</text>')
            last = x + half
        parts.append(f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{_f(bottom)}" y2="{_f(bottom + 4)}" '
                     f'stroke="{COLOURS["rule"]}"/>')
    parts.append(f'<line x1="{x0}" x2="{x1}" y1="{_f(bottom)}" y2="{_f(bottom)}" stroke="{COLOURS["rule"]}"/>')
    parts.append(f'<text x="{_f((x0 + x1) / 2)}" y="{_f(bottom + 34)}" text-anchor="middle">'
                 f'{escape(body.axis_label)}</text>')
    return parts


def _series(series: LineSeries, colour: str, sx: Callable[[int], float], sy: Callable[[float], float]) -> list[str]:
    """One group's interval bars and points, joined by a line that breaks where a point is not shown."""
    parts = []
    dash = ' stroke-dasharray="5 3"' if series.dashed else ""
    runs: list[list[str]] = [[]]
    for i, (value, low, high) in enumerate(series.points):
        if value is None:
            runs.append([])
            continue
        x, y = sx(i), sy(value)
        runs[-1].append(f"{_f(x)},{_f(y)}")
        if low is not None and high is not None:
            parts.append(f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{_f(sy(low))}" y2="{_f(sy(high))}" '
                         f'stroke="{colour}" stroke-width="1.3"/>')
        parts.append(f'<circle cx="{_f(x)}" cy="{_f(y)}" r="3.5" fill="{colour}"/>')
    for run in runs:
        if len(run) > 1:
            parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                         f'stroke-width="2"{dash}/>')
    return parts
