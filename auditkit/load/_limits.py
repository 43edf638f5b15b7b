"""The limits an untrusted model file runs under in auditkit's model worker (:mod:`auditkit.load._sandbox`).

Every step the worker takes for auditkit -- scanning and opening the file, scoring one batch, one SHAP
explanation, the model card -- gets at most ``timeout`` seconds of wall time and ``cpu`` seconds of CPU
time; the worker's address space is capped at ``memory_gb``, it may hold ``open_files`` files open, may not
write to any file, and (where the platform allows) has no network.  A pickle or joblib file is
decompressed to at most an eighth of the memory limit (:meth:`ModelLimits.max_decompressed`), a skops
archive's members likewise: what goes over is refused before it is unpacked further.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ..exceptions import UsageError

__all__ = ["DEFAULT_LIMITS", "ModelLimits"]


@dataclass(frozen=True)
class ModelLimits:
    """Resource limits of the model worker; each step is refused when it goes over one.

    Parameters
    ----------
    memory_gb
        Address space of the worker process, in GiB (``RLIMIT_AS``); default 8.
    timeout
        Wall-clock seconds one step may take (opening the file, scoring a batch, one SHAP run); default 600.
    cpu
        CPU seconds one step may use (``RLIMIT_CPU``; all threads together); default 3600.
    open_files
        Files the worker may hold open at once (``RLIMIT_NOFILE``); default 256.

    Examples
    --------
    >>> ModelLimits().describe()
    'memory 8 GiB, 600 s per step, 3600 CPU s per step, 256 open files, no file writes'
    >>> ModelLimits(memory_gb=16).max_decompressed() == 2 * 2**30
    True
    """

    memory_gb: float = 8.0
    timeout: float = 600.0
    cpu: float = 3600.0
    open_files: int = 256

    def __post_init__(self) -> None:
        for name, low, option in (("memory_gb", 0.25, "--model-memory"), ("timeout", 0.1, "--model-timeout"),
                                  ("cpu", 1.0, "--model-cpu"), ("open_files", 32, "--model-open-files")):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < low:
                raise UsageError(f"The {name!r} parameter of ModelLimits ({option}) must be a number of at least "
                                 f"{low:g}; got {value!r} instead.")

    def max_decompressed(self) -> int:
        """Largest decompressed pickle stream or skops archive read: an eighth of the memory limit, so that
        the stream while it grows, the objects rebuilt from it and the model's working memory fit under it."""
        return int(self.memory_gb * 2**30 / 8)

    def describe(self) -> str:
        """The limits in words, as refusals quote them."""
        return (f"memory {self.memory_gb:g} GiB, {self.timeout:g} s per step, {self.cpu:g} CPU s per step, "
                f"{self.open_files} open files, no file writes")

    def as_dict(self) -> dict:
        """The limits as plain numbers (what the worker is started with)."""
        return asdict(self)


#: The limits used when none are given.
DEFAULT_LIMITS = ModelLimits()
