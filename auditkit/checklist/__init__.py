"""The human-rights impact assessment: instruments, answers, evidence bindings and scoring.

An *instrument* (YAML, shipped in ``audits/instruments/`` or written by a
partner) holds the questions; an *assessment* (YAML, one per audit) holds the
answers.  Both are checked against JSON Schemas in ``auditkit/schemas/`` and
by cross-reference checks, then :func:`score_assessment` reads the answers
together with an audit's results document.  Library code here never prints;
``auditkit checklist`` is the command-line shell over it.

>>> instrument = load_instrument("risk_profiling")
>>> assessment = new_assessment(instrument)
>>> report = score_assessment(instrument, assessment)
>>> report["status"], report["headline"], len(report["gaps"]) > 10
('open', 'critical', True)
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..exceptions import TemplateError
from ._assessment import dump_assessment, new_assessment, set_answer
from ._evidence import suggestions
from ._files import ENV_VAR, instrument_paths, read_json, read_yaml, resolve_instrument
from ._model import localise
from ._schema import ChecklistError, Problem, raise_problems
from ._score import BANDS, score_assessment
from ._validate import RESULT_KEYS, assessment_problems, instrument_problems

__all__ = [
    "BANDS",
    "ENV_VAR",
    "RESULT_KEYS",
    "ChecklistError",
    "Problem",
    "assessment_problems",
    "dump_assessment",
    "instrument_paths",
    "instrument_problems",
    "load_assessment",
    "load_instrument",
    "load_results",
    "localise",
    "new_assessment",
    "score_assessment",
    "set_answer",
    "suggestions",
]


def load_instrument(name_or_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate an instrument: a shipped one by name (see :func:`instrument_paths`) or a file.

    Raises :class:`ChecklistError` (a ``TemplateError``) listing every problem,
    each naming the file, the item id and the key.
    """
    path = resolve_instrument(name_or_path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _CHECKED:
        data = read_yaml(path)
        raise_problems(instrument_problems(data, str(path)))
        _CHECKED[key] = data
    return copy.deepcopy(_CHECKED[key])


#: Instruments already validated, by (path, modification time, size): validation takes a noticeable
#: fraction of a second, and a file that has not changed need not be checked again.
_CHECKED: dict[tuple[str, int, int], dict[str, Any]] = {}


def load_assessment(path: str | os.PathLike[str],
                    instrument: str | os.PathLike[str] | Mapping[str, Any] | None = None,
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read and validate an assessment; returns ``(instrument, assessment)``.

    Without ``instrument``, the one named in the assessment is loaded from
    :func:`instrument_paths`; give a name, a path or an already loaded dict to
    use another (a partner's extended copy, say).
    """
    data = read_yaml(path)
    if instrument is None:
        meta = data.get("instrument") if isinstance(data, Mapping) else None
        name = meta.get("id") if isinstance(meta, Mapping) else None
        if not isinstance(name, str):
            raise_problems(assessment_problems(data, {"id": "", "version": "", "sections": []}, str(path)))
            raise TemplateError(f"{path}, key 'instrument.id': missing; name the instrument this assessment answers.")
        instrument = name
    loaded = dict(instrument) if isinstance(instrument, Mapping) else load_instrument(instrument)
    raise_problems(assessment_problems(data, loaded, str(path)))
    return loaded, data


def load_results(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read an audit results document (``auditkit audit --json`` or ``auditkit assess --json``)."""
    data = read_json(Path(path))
    if not isinstance(data, dict) or not ({"comparisons", "groups", "model_card"} & set(data)):
        raise TemplateError(f"{path}: not an auditkit results document; expected the JSON written by "
                            "'auditkit audit --json' or 'auditkit assess --json'.")
    return data
