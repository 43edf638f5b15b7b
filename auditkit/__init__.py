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
from .spec import METRICS, AuditSpec, Filter
from . import findings, report  # callable modules: auditkit.findings(result), auditkit.report(BUNDLE, ...)

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
    "report",
]
