"""auditkit: hold government algorithms to account with evidence anyone can check."""

from __future__ import annotations

from ._version import __version__
from .audit import SCHEMA_VERSION, AuditResult, audit, measure
from .exceptions import (
    AuditkitError,
    EngineError,
    InputDataError,
    TemplateError,
    UnsafeModelError,
    UsageError,
)
from .measure._counts import CountTable, Dimension
from .measure.power import minimum_detectable_ratio, sample_size
from .spec import METRICS, AuditSpec, Filter

__all__ = [
    "AuditResult",
    "AuditSpec",
    "AuditkitError",
    "CountTable",
    "Dimension",
    "EngineError",
    "Filter",
    "InputDataError",
    "METRICS",
    "SCHEMA_VERSION",
    "TemplateError",
    "UnsafeModelError",
    "UsageError",
    "__version__",
    "audit",
    "findings",
    "measure",
    "minimum_detectable_ratio",
    "report",
    "sample_size",
]


def __getattr__(name: str):  # noqa: ANN202 - PEP 562: the callable modules load on first use, not at import
    """``auditkit.findings(result)`` and ``auditkit.report(BUNDLE, ...)``: callable modules, imported when used."""
    if name in ("findings", "report"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'auditkit' has no attribute {name!r}")
