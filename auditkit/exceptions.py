"""The auditkit error and warning tree.

Every error a user can cause is an :class:`AuditkitError` that also subclasses a
fitting builtin, so that callers can catch either.  Messages say what is wrong,
where (file, column, key, group), what was expected, what was found and how to
fix it.  Exit codes follow the CLI convention: 1 error, 2 usage.
"""

from __future__ import annotations

__all__ = [
    "AuditkitError",
    "EngineError",
    "InputDataError",
    "TemplateError",
    "UnsafeModelError",
    "UsageError",
]


class AuditkitError(Exception):
    """Base class of every error auditkit raises on purpose."""

    exit_code = 1


class InputDataError(AuditkitError, ValueError):
    """A data file, column or value is not what the audit needs."""


class UsageError(AuditkitError, ValueError):
    """Options that contradict each other or are missing."""

    exit_code = 2


class TemplateError(AuditkitError, ValueError):
    """An audit template or checklist file is invalid."""


class UnsafeModelError(AuditkitError):
    """A model file is refused: it would import something outside the allow-list, its state fails a
    check against what numpy or scikit-learn write, or its parser crashed in the separate probe process."""


class EngineError(AuditkitError, RuntimeError):
    """A counting engine failed or is not installed."""

