"""What data auditkit knows about: the example files it ships and the public data sets it can fetch.

Example files live in the repository's ``datasets/`` folder (each with a data
card, ``README.md``); public real data sets are downloaded only on explicit
request (:func:`auditkit.datasets.fetch.fetch`), from their original source.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["EXAMPLES", "REMOTE", "Example", "RemoteDataset", "example_path", "examples_paths"]


@dataclass(frozen=True)
class Example:
    """A small file shipped with auditkit for demos and tests."""

    name: str
    path: str  # relative to the examples folder
    title: str
    template: str | None
    generator: str | None  # None: not synthetic


@dataclass(frozen=True)
class RemoteDataset:
    """A public data set auditkit downloads on request, from where its publisher put it."""

    name: str
    title: str
    url: str
    filename: str
    #: The file's SHA-256 as published or recorded from a verified copy; None when no verified
    #: value is known to auditkit -- then a fetched file is never marked verified.
    sha256: str | None
    page: str
    publisher: str
    licence: str
    citation: str
    template: str | None = None


EXAMPLES: dict[str, Example] = {e.name: e for e in (
    Example("welfare", "welfare/decisions.csv", "Synthetic welfare-fraud decisions (proxies, top 10%, random sample)",
            "welfare-fraud-risk", "welfare"),
    Example("welfare-model", "welfare/model.skops", "Fraud-risk model trained on biased past labels (skops)",
            "welfare-fraud-risk", None),
    Example("childcare-benefit", "childcare-benefit/applications.csv",
            "Synthetic childcare-benefit risk classification with nationality as an input",
            "benefit-fraud-nationality", "childcare-benefit"),
    Example("student-finance", "student-finance/process.csv",
            "Synthetic student-finance control: risk score, manual selection, home visit", "student-finance-control",
            "student-finance"),
    Example("student-finance-reached", "student-finance-reached/students.csv",
            "Synthetic student-finance control, one row per student with the step reached; bias enters at step 2",
            "student-finance-control", "student-finance-reached"),
    Example("police-stops", "police-stops/stops.csv", "Synthetic stop-and-search records (only positives)",
            "police-stops", "police-stops"),
    Example("recidivism", "recidivism/scores.csv", "Synthetic recidivism risk deciles with two-year outcomes",
            "recidivism-risk", "recidivism"),
    Example("berkeley", "berkeley/admissions.csv", "UC Berkeley graduate admissions 1973 (published counts)",
            None, None),
)}

REMOTE: dict[str, RemoteDataset] = {r.name: r for r in (
    RemoteDataset(
        name="compas",
        title="COMPAS recidivism scores and two-year outcomes, Broward County, Florida (ProPublica)",
        url="https://raw.githubusercontent.com/propublica/compas-analysis/master/compas-scores-two-years.csv",
        filename="compas-scores-two-years.csv",
        # No SHA-256 of this file was verified for auditkit (it was prepared without network access,
        # and the repository publishes no checksum), so none is pinned: `fetch` reports the hash it
        # computes and leaves the file unverified until the user checks and supplies one (--sha256).
        sha256=None,
        page="https://github.com/propublica/compas-analysis",
        publisher="ProPublica (data obtained from the Broward County Sheriff's Office under public-records law)",
        licence="No licence is stated in the repository; check ProPublica's terms before redistributing. "
                "auditkit does not ship the file.",
        citation="Angwin, Larson, Mattu and Kirchner, 'Machine Bias', ProPublica, 23 May 2016; Larson et al., "
                 "'How We Analyzed the COMPAS Recidivism Algorithm', ProPublica, 2016.",
        template="recidivism-risk",
    ),
)}


def examples_paths() -> list[Path]:
    """Folders that may hold the example files, first match wins.

    ``AUDITKIT_DATASETS_PATH`` (``os.pathsep``-separated), then ``datasets/`` of a source checkout
    (next to the package), then ``auditkit/_datasets`` inside an installed package.
    """
    env = [Path(p) for p in os.environ.get("AUDITKIT_DATASETS_PATH", "").split(os.pathsep) if p]
    here = Path(__file__).resolve()
    return env + [here.parents[2] / "datasets", here.parents[1] / "_datasets"]


def example_path(name: str) -> Path:
    """The file of the shipped example ``name``.

    >>> example_path("welfare").name
    'decisions.csv'
    """
    from .._text import did_you_mean
    from ..exceptions import InputDataError, UsageError

    if name not in EXAMPLES:
        raise UsageError(f"Unknown example {name!r}.{did_you_mean(name, EXAMPLES)} Examples: "
                         f"{', '.join(sorted(EXAMPLES))}.")
    tried = [root / EXAMPLES[name].path for root in examples_paths()]
    for path in tried:
        if path.is_file():
            return path
    raise InputDataError(f"The example file {EXAMPLES[name].path!r} is not in any of: "
                         f"{', '.join(str(p.parent) for p in tried)}. It ships in the source repository's "
                         "datasets/ folder; set AUDITKIT_DATASETS_PATH to a folder that holds it.")
