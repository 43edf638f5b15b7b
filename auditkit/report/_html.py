"""The HTML renderer: one self-contained file (inline CSS and SVG, no script, no external resource).

Jinja with autoescape on: every string from the bundle (group names, findings, checklist text) is
escaped, so a group named ``<script>`` is shown as text.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ._document import Document
from ._palette import COLOURS, SEVERITY
from ._svg import chart_svg

__all__ = ["render_html"]

_TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _environment():  # noqa: ANN202 - jinja2 is imported lazily, so its Environment type is not named here
    try:
        from jinja2 import Environment, FileSystemLoader, StrictUndefined
    except ImportError as err:  # pragma: no cover - depends on the installation
        from ..exceptions import EngineError

        raise EngineError("HTML and PDF reports need Jinja2: pip install 'auditkit[report]'.") from err

    env = Environment(loader=FileSystemLoader(str(_TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.globals.update(chart_svg=chart_svg, colours=COLOURS, severity=SEVERITY)
    return env


def render_html(doc: Document) -> str:
    """The report as one HTML document."""
    return _environment().get_template("report.html.j2").render(doc=doc)
