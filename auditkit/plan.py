"""The counting plan: what an audit counts, declared once, for every engine.

An :class:`~auditkit.AuditSpec` says what the user asked; a :class:`CountPlan`
says what counting it takes: which columns are read, which filters run (in
order), how a row's decision is made (a column, a score threshold, the top k
with ties in file order, or every row selected), which column holds the
outcome, and the grouping dimensions with their roles (protected attributes,
strata, period, stage, selection method), and whether people rather than rows
are counted.  auditkit has no row-weight option: every row counts once (or
every person once, with ``--person``).

One executor runs a plan: :func:`auditkit.engines._plan.count_scan`, over the
questions an engine answers about its rows (:class:`auditkit.engines._plan.Scan`):
rows in memory (:mod:`auditkit.engines._memory`), DuckDB and Dask.  A new
dimension is a new role here and a rule for its levels in
:mod:`auditkit.load.dimensions`; no engine changes.

>>> from auditkit import AuditSpec
>>> plan = make_plan(AuditSpec(protected=("sex",), decision="flag", strata=("region",), period="year"))
>>> [(d.name, d.role) for d in plan.dimensions]
[('sex', 'protected'), ('region', 'stratum'), ('year', 'period')]
>>> plan.decision.kind, plan.columns
('column', ('sex', 'region', 'year', 'flag'))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .spec import AuditSpec, Filter

__all__ = ["ROLES", "CountPlan", "DecisionStep", "DimensionStep", "dimension_roles", "make_plan", "wanted_columns"]

#: Roles a grouping column can play, in the order the count table's dimensions are laid out.
ROLES = ("protected", "stratum", "period", "stage", "method")


@dataclass(frozen=True)
class DimensionStep:
    """One grouping column: its name in the audit, its role, and the file's spelling of it."""

    name: str
    role: str
    column: str


@dataclass(frozen=True)
class DecisionStep:
    """How each row's decision is made.

    ``kind``: ``'column'`` (``column`` holds it, ``positive`` values are selected), ``'threshold'``
    (score >= ``threshold``), ``'top'`` (the ``top`` percent or ``top_n`` highest scores; ties at the
    cut-off in file order) or ``'all selected'``.
    """

    kind: str
    column: str | None = None
    positive: tuple[str, ...] | None = None
    threshold: float | None = None
    top: float | None = None
    top_n: int | None = None


@dataclass(frozen=True)
class CountPlan:
    """Everything counting needs to know, built once by :func:`make_plan`.

    ``columns`` are the columns to read (the audit's names); ``keys`` the file's spellings of
    every column a reduced table is keyed by (all of them but the score: a score enters as its
    class).  ``spec`` stays attached for the options the rules read in their messages
    (missing values, --drop-missing, --stage-order, --random, number format).
    """

    spec: AuditSpec
    columns: tuple[str, ...]
    keys: tuple[str, ...]
    filters: tuple[Filter, ...]
    decision: DecisionStep
    outcome: str | None
    dimensions: tuple[DimensionStep, ...]
    person: str | None

    def dimension(self, role: str) -> DimensionStep | None:
        """The first dimension of ``role``, or None."""
        return next((d for d in self.dimensions if d.role == role), None)


def dimension_roles(spec: AuditSpec) -> list[tuple[str, str]]:
    """The grouping columns of ``spec`` and their roles, in count-table order.

    (A column named in two roles is refused by :class:`~auditkit.AuditSpec` itself.)
    """
    named = {"protected": list(spec.protected), "stratum": list(spec.strata),
             "period": [spec.period] if spec.period else [], "stage": [spec.stage] if spec.stage else [],
             "method": [spec.selection_method] if spec.selection_method else []}
    return [(column, role) for role in ROLES for column in named[role]]


def _decision(spec: AuditSpec) -> DecisionStep:
    if spec.all_selected:
        return DecisionStep("all selected")
    if spec.decision:
        return DecisionStep("column", spec.decision, spec.positive)
    if spec.threshold is not None:
        return DecisionStep("threshold", spec.score, threshold=float(spec.threshold))
    return DecisionStep("top", spec.score, top=spec.top, top_n=spec.top_n)


def wanted_columns(spec: AuditSpec) -> list[str]:
    """The columns an audit of row-level data reads (the audit's names, each once, in a fixed order)."""
    cols = [*spec.protected, *spec.strata, *([spec.period] if spec.period else [])]
    cols += [c for c in (spec.decision, spec.score, spec.truth, spec.stage, spec.selection_method, spec.person) if c]
    return list(dict.fromkeys(cols + [f.column for f in spec.filters]))


def make_plan(spec: AuditSpec, columns: Mapping[str, str] | None = None) -> CountPlan:
    """The counting plan of ``spec`` for a source whose ``columns`` map the audit's names to the file's
    (default: the names as given)."""
    def file(name: str) -> str:
        return columns[name] if columns is not None else name

    dims = tuple(DimensionStep(name, role, file(name)) for name, role in dimension_roles(spec))
    keyed = [f.column for f in spec.filters] + [c for c in (spec.decision, spec.truth) if c]
    keyed += [d.name for d in dims]
    return CountPlan(spec=spec, columns=tuple(wanted_columns(spec)),
                     keys=tuple(dict.fromkeys(file(c) for c in keyed)), filters=spec.filters,
                     decision=_decision(spec), outcome=spec.truth, dimensions=dims, person=spec.person)
