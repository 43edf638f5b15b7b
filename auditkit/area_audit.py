"""`audit` with ``--area`` and ``--composition``: when the protected attribute is not in the decision data.

The decision file is counted by the ordinary counting path, on any engine, with the area column as the
grouping dimension (an :class:`AuditSpec` whose protected attribute is the area).  The count table is
joined on its areas with the statistics office's composition table (:mod:`auditkit.measure.area_join`)
and the three area estimates of :mod:`auditkit.measure.linkage` are computed per group of the
composition's group column, which names the protected attribute.  The results document holds them
under ``linkage``; its ``groups`` and ``comparisons`` stay empty, because no person's group is known:
nothing in the document is an individual-level measurement.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .audit import measure
from .engines import count_rows, input_kind
from .exceptions import InputDataError, UsageError
from .load.composition import Composition, read_composition, read_crosswalk
from .load.data import Source
from .measure.area_join import AreaJoin, join_areas, report_lines
from .measure.linkage import area_estimates
from .spec import AuditSpec

if TYPE_CHECKING:
    from .audit import AuditResult

__all__ = ["DEFAULT_COLUMNS", "audit_areas"]

#: The composition table's columns when --composition-columns is not given.
DEFAULT_COLUMNS = ("area", "group", "people")
#: Bootstrap replicates (over areas) of the weighted estimate when the audit asks for none.
DEFAULT_REPLICATES = 1000
_UNSUPPORTED = (("strata", "--strata"), ("stage", "--stage"), ("person", "--person"),
                ("selection_method", "--selection-method"), ("count_column", "--count-column"), ("cells", "--cell"))


def _check(spec: AuditSpec) -> str:
    if len(spec.protected) != 1:
        raise UsageError("With --area the protected attribute comes from the composition table: drop --protected "
                         f"({', '.join(spec.protected[1:])}).")
    for name, option in _UNSUPPORTED:
        if getattr(spec, name):
            raise UsageError(f"{option} cannot be used with --area and --composition: the area estimates are of "
                             "selection rates per group from decisions per area. Drop it.")
    return spec.protected[0]


def _sha256(path: str | os.PathLike) -> str:
    from .bundle import file_sha256

    return file_sha256(path)


def audit_areas(data: Source, spec: AuditSpec, *, composition: str | os.PathLike,
                composition_columns: Sequence[str] = DEFAULT_COLUMNS, crosswalk: str | os.PathLike | None = None,
                references: Mapping[str, str] | None = None, engine: str = "pandas",
                scheduler: str | None = None, composition_encoding: str | None = None) -> AuditResult:
    """Area estimates of each group's selection rate, from decisions per area and an area composition table.

    ``spec.protected`` is the one area column; ``references`` may name the reference group of the
    composition's group column (``{"origin": "x"}``; default: the largest group).  Returns the area count table and a results document with the ``linkage`` key.

    >>> import pandas as pd, pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "comp.csv").write_text("area,origin,people\\nN,x,80\\nN,y,20\\nS,x,20\\nS,y,80\\n")
    >>> df = pd.DataFrame({"area": ["N"] * 100 + ["S"] * 100, "flag": [1] * 10 + [0] * 90 + [1] * 40 + [0] * 60})
    >>> r = audit_areas(df, AuditSpec(protected=("area",), decision="flag"), composition=folder / "comp.csv")
    >>> [g["bounds"]["rate"] for g in r.results["linkage"]["groups"]]
    [[0.0, 0.3], [0.2, 0.5]]
    """
    area = _check(spec)
    comp = read_composition(composition, composition_columns, suppressed=spec.suppressed,
                            suppressed_range=spec.suppressed_range, decimal=spec.decimal, thousands=spec.thousands,
                            encoding=composition_encoding)
    walk = read_crosswalk(crosswalk) if crosswalk is not None else None
    counting = dataclasses.replace(spec, suppressed=(), bootstrap=0)
    table, population = count_rows(data, counting, engine, scheduler=scheduler)
    results = measure(table, population, counting, input_kind=input_kind(data), engine=engine).results
    joined = join_areas(table, area, comp, walk)
    if not len(joined.areas):
        raise InputDataError(f"No area of {population.source} (column {area!r}) matches an area of {comp.source}; "
                             "check that both use the same area codes (and the same year: give a --crosswalk "
                             "old_code,new_code[,weight] if codes changed). "
                             + " ".join(report_lines(joined.report, population.source, comp.source)[:3]))
    linkage = _linkage(joined, comp, area, _reference_value(comp, references or {}), spec, population.source)
    linkage["composition"]["sha256"] = _sha256(composition) if not _is_frame(composition) else None
    if walk is not None:
        linkage["crosswalk"] = {"source": walk.source, "sha256": _sha256(crosswalk), "codes": len(walk.mapping)}
    results.update(attributes=[], groups=[], comparisons=[], linkage=linkage)
    results["multiple_testing"] = {**results["multiple_testing"], "family_size": 0}
    results["notes"] = list(results["notes"]) + list(comp.notes) + report_lines(joined.report, population.source,
                                                                                   comp.source)
    results["parameters"]["linkage"] = {"area": area, "composition_columns": list(composition_columns),
                                        "reference": linkage["reference"], "replicates": linkage["replicates"]}
    from .audit import AuditResult  # looked up when called (the tests check every result against the schema)

    return AuditResult(table, results)


def _reference_value(comp: Composition, references: Mapping[str, str]) -> str | None:
    other = [k for k in references if k != comp.attribute]
    if other:
        raise UsageError(f"--reference {other[0]}=...: the protected attribute is {comp.attribute!r} (the group column "
                         f"of {comp.source}); give --reference {comp.attribute}=GROUP.")
    return references.get(comp.attribute)


def _is_frame(x: Any) -> bool:
    return not isinstance(x, (str, os.PathLike))


def _shares(joined: AreaJoin) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each area's group shares: point (suppressed cells at mid-range), and the lowest and highest each allows."""
    lo, hi = joined.composition_low, joined.composition_high
    mid = (lo + hi) / 2
    point = mid / mid.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.nan_to_num(lo / (lo + (hi.sum(axis=1, keepdims=True) - hi)))
        high = np.nan_to_num(hi / (hi + (lo.sum(axis=1, keepdims=True) - lo)), nan=1.0)
    return point, low, high


def _reference(comp: Composition, people: np.ndarray, reference: str | None) -> str:
    if reference is None:
        return comp.groups[int(np.argmax(people))]
    if reference not in comp.groups:
        from ._text import did_you_mean, list_values

        raise UsageError(f"--reference {comp.attribute}={reference}: {comp.source} has no group {reference!r}; its "
                         f"groups are {list_values(list(comp.groups))}.{did_you_mean(reference, comp.groups)}")
    return reference


def _linkage(joined: AreaJoin, comp: Composition, area: str, reference: str | None, spec: AuditSpec,
             source: str) -> dict[str, Any]:
    n, s = joined.people, joined.selected
    point, low, high = _shares(joined)
    n_g = n[:, None] * point
    ref = _reference(comp, n_g.sum(axis=0), reference)
    replicates = spec.bootstrap or DEFAULT_REPLICATES
    est = area_estimates(joined.areas, n, s, n_g, comp.groups, ref, level=spec.level, replicates=replicates,
                         seed=spec.seed, n_g_low=n[:, None] * low, n_g_high=n[:, None] * high)
    est["assumptions"]["all"] = ("the composition table's group shares in each area are those of the people in "
                                 f"{source} in that area (the table describes the same population, or one with "
                                 "the same mix)")
    from .measure.linkage import outer_bounds

    per = outer_bounds(n, s, n[:, None] * low, n[:, None] * high)
    areas = [{"area": a, "people": float(n[i]), "selected": float(s[i]), "positive": float(joined.positive[i]),
              "with_outcome": float(joined.with_outcome[i]),
              "share": {g: float(point[i, j]) for j, g in enumerate(comp.groups)},
              "rate_bounds": {g: [_num(per["per_area_rate_low"][i, j]), _num(per["per_area_rate_high"][i, j])]
                              for j, g in enumerate(comp.groups)}}
             for i, a in enumerate(joined.areas)]
    return {"attribute": comp.attribute, "area_column": area, "level": spec.level, "replicates": replicates,
            "seed": spec.seed, **est, "outcomes": {"selected_with_outcome": float(joined.with_outcome.sum()),
                                                   "positive": float(joined.positive.sum())},
            "composition": {"source": comp.source, **comp.record()}, "join": joined.report, "per_area": areas}


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None
