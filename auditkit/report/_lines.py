"""Line charts with interval bars: calibration curves, ROC curves and threshold sweeps.

The body (:class:`Lines`) is decided by the builders (:mod:`auditkit.report._build_scores`); this module only
places it on the canvas, the way :mod:`auditkit.report._svg` draws the other charts: inline SVG, no script,
a title and a description, every text escaped.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import escape

from ._palette import COLOURS, SERIES

__all__ = ["XYSeries", "Lines", "xy_svg"]


@dataclass(frozen=True)
class XYSeries:
    """One group's points ``(x, y, low, high)``; y None leaves a gap (a withheld point), low/high None no bar."""

    label: str
    points: tuple[tuple[float, float | None, float | None, float | None], ...]


@dataclass(frozen=True)
class Lines:
    """Series of points joined by lines over linear x and y axes.

    ``diagonal`` draws y = x (perfect calibration, a chance ROC) with that legend label; ``level`` draws a
    horizontal line at a value (a ratio of 1) with its label; ``marker`` a vertical line at an x value (the
    agency's operating point) with its label.
    """

    series: tuple[XYSeries, ...]
    x_label: str
    y_label: str
    x_domain: tuple[float, float]
    y_domain: tuple[float, float]
    x_ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]
    diagonal: str = ""
    level: tuple[float, str] | None = None
    marker: tuple[float, str] | None = None


def _scales(body: Lines, x0: float, x1: float, top: float, bottom: float):  # noqa: ANN202 - two closures
    (a, b), (c, d) = body.x_domain, body.y_domain

    def sx(v: float) -> float:
        return x0 + (min(max(v, a), b) - a) / ((b - a) or 1) * (x1 - x0)

    def sy(v: float) -> float:
        return bottom - (min(max(v, c), d) - c) / ((d - c) or 1) * (bottom - top)

    return sx, sy


def _guides(body: Lines, sx, sy, top: float, bottom: float) -> list[str]:  # noqa: ANN001
    f = _fmt
    parts = []
    if body.diagonal:
        lo = max(body.x_domain[0], body.y_domain[0])
        hi = min(body.x_domain[1], body.y_domain[1])
        parts.append(f'<line x1="{f(sx(lo))}" y1="{f(sy(lo))}" x2="{f(sx(hi))}" y2="{f(sy(hi))}" '
                     f'stroke="{COLOURS["reference"]}" stroke-width="1.2" stroke-dasharray="4 3"/>')
    if body.level is not None:
        y = sy(body.level[0])
        parts.append(f'<line x1="{f(sx(body.x_domain[0]))}" x2="{f(sx(body.x_domain[1]))}" y1="{f(y)}" y2="{f(y)}" '
                     f'stroke="{COLOURS["reference"]}" stroke-width="1.5"/>')
    if body.marker is not None:
        x = sx(body.marker[0])
        parts.append(f'<line x1="{f(x)}" x2="{f(x)}" y1="{f(top)}" y2="{f(bottom)}" stroke="{COLOURS["mark"]}" '
                     f'stroke-width="1.5" stroke-dasharray="2 2"/>')
    return parts


def _fmt(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _series(body: Lines, sx, sy) -> list[str]:  # noqa: ANN001
    f, parts = _fmt, []
    for j, s in enumerate(body.series):
        colour = SERIES[j % len(SERIES)]
        runs: list[list[str]] = [[]]
        for x, y, low, high in s.points:
            if y is None:
                runs.append([])
                continue
            runs[-1].append(f"{f(sx(x))},{f(sy(y))}")
            if low is not None and high is not None:
                parts.append(f'<line x1="{f(sx(x))}" x2="{f(sx(x))}" y1="{f(sy(low))}" y2="{f(sy(high))}" '
                             f'stroke="{colour}" stroke-width="1" opacity="0.7"/>')
            parts.append(f'<circle cx="{f(sx(x))}" cy="{f(sy(y))}" r="2.5" fill="{colour}"/>')
        parts += [f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="1.8"/>'
                  for run in runs if len(run) > 1]
    return parts


def xy_svg(chart, body: Lines) -> str:  # noqa: ANN001 - a report._document.Chart
    """The inline SVG of a :class:`Lines` chart."""
    from ._svg import WIDTH, _legend, _open, _x_axis

    entries = [(f"line:{SERIES[i % len(SERIES)]}", s.label) for i, s in enumerate(body.series)]
    if body.diagonal:
        entries.append((f"dash:{COLOURS['reference']}", body.diagonal))
    if body.level is not None:
        entries.append((f"line:{COLOURS['reference']}", body.level[1]))
    if body.marker is not None:
        entries.append((f"dash:{COLOURS['mark']}", body.marker[1]))
    legend, legend_h = _legend(entries, 8, 16, WIDTH - 16)
    x0, x1 = 64, WIDTH - 24
    top = 8 + legend_h + 10
    bottom = top + 240
    sx, sy = _scales(body, x0, x1, top, bottom)
    parts = _open(chart, bottom + 44) + legend
    for value, text in body.y_ticks:
        y = _fmt(sy(value))
        parts.append(f'<line x1="{x0}" x2="{x1}" y1="{y}" y2="{y}" stroke="{COLOURS["grid"]}"/>')
        parts.append(f'<text x="{x0 - 6}" y="{_fmt(sy(value) + 4)}" text-anchor="end" font-size="11" '
                     f'fill="{COLOURS["muted"]}">{escape(text)}</text>')
    middle = _fmt((top + bottom) / 2)
    parts.append(f'<text x="14" y="{middle}" text-anchor="middle" transform="rotate(-90 14 {middle})">'
                 f'{escape(body.y_label)}</text>')
    parts += _x_axis(body.x_ticks, sx, top, bottom, body.x_label, x0, x1)
    parts += _guides(body, sx, sy, top, bottom) + _series(body, sx, sy)
    parts.append("</svg>")
    return "".join(parts)
