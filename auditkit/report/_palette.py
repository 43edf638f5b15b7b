"""Colours of the report and the WCAG contrast ratios they are chosen (and tested) to meet.

Every colour that carries text or data is at least 4.5:1 against the background it sits on (WCAG 2.x
AA for normal text, stricter than the 3:1 asked of graphics).  Gridlines and the screening band are
decoration and may be lighter; the text drawn on the band is tested against the band.  Series colours
are dark variants of the Okabe–Ito colour-blind-safe set; charts also label every mark, so colour is
never the only carrier of meaning.
"""

from __future__ import annotations

__all__ = ["COLOURS", "CONTRAST_PAIRS", "SERIES", "SEVERITY", "contrast_ratio", "relative_luminance"]

COLOURS = {
    "background": "#ffffff",
    "text": "#1a1a1a",
    "muted": "#555555",
    "link": "#0b4f9c",
    "rule": "#8c8c8c",
    "grid": "#dddddd",
    "band": "#e4e4e4",
    "panel": "#f3f3f3",
    "mark": "#1a1a1a",
    "reference": "#7a1f1f",
    "warning_bg": "#fff4e0",
    "warning_text": "#5c3b00",
}

SERIES = ("#0b4f9c", "#9c4a00", "#00664f", "#8a2f6b", "#5a5a00", "#6b3fa0", "#a3142f", "#005f80")

SEVERITY = {  # (background, text) of the severity label
    "critical": ("#6e0000", "#ffffff"),
    "high": ("#a3142f", "#ffffff"),
    "medium": ("#8a4b00", "#ffffff"),
    "low": ("#0b4f9c", "#ffffff"),
    "info": ("#4d4d4d", "#ffffff"),
}

#: (foreground, background, where) of every pairing that carries text or data.
CONTRAST_PAIRS = (
    *((COLOURS[fg], COLOURS["background"], fg) for fg in ("text", "muted", "link", "mark", "reference")),
    *((c, COLOURS["background"], f"series {i}") for i, c in enumerate(SERIES)),
    *((fg, bg, f"severity {name}") for name, (bg, fg) in SEVERITY.items()),
    (COLOURS["text"], COLOURS["band"], "band label"),
    (COLOURS["text"], COLOURS["panel"], "panel text"),
    (COLOURS["muted"], COLOURS["panel"], "panel muted text"),
    (COLOURS["warning_text"], COLOURS["warning_bg"], "warning"),
)


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of '#rrggbb'.

    >>> relative_luminance("#ffffff")
    1.0
    """
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG contrast ratio (1 to 21) between two '#rrggbb' colours.

    >>> round(contrast_ratio("#000000", "#ffffff"), 1)
    21.0
    """
    a, b = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)
