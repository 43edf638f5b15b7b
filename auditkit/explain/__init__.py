"""Explain a scoring model's disparities: SHAP by group, proxy detection and archetypes.

The heavy dependencies (shap, scikit-learn, PyYAML) are imported inside the functions that
need them (``pip install 'auditkit[explain]'``), so importing this package stays cheap.
"""

from __future__ import annotations

from .archetypes import archetype_defaults, load_archetypes, score_archetypes
from .proxies import proxy_scan
from .shap_groups import shap_by_group

__all__ = [
    "archetype_defaults",
    "load_archetypes",
    "proxy_scan",
    "score_archetypes",
    "shap_by_group",
]
