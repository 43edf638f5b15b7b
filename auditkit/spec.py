"""What an audit is asked to measure: :class:`AuditSpec`, checked on creation."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .exceptions import UsageError

__all__ = ["FOUR_FIFTHS", "MAX_BOOTSTRAP", "METRICS", "AuditSpec", "Filter", "screening_band"]

#: Most bootstrap replicates an audit accepts.  The limits of a 95% percentile interval move by well under
#: a tenth of their standard error beyond 10,000 replicates; more adds time and memory, not precision.
MAX_BOOTSTRAP = 100_000

#: Every per-group rate auditkit measures, in report order.
METRICS = (
    "selection_rate",
    "base_rate",
    "tpr",
    "fpr",
    "fnr",
    "tnr",
    "ppv",
    "npv",
    "fdr",
    "for",
    "accuracy",
    "balanced_accuracy",
)


#: Ways to bucket a date column into periods (--period-freq).
PERIOD_FREQS = ("year", "quarter", "month", "week", "day")

#: The US four-fifths rule of thumb (29 CFR 1607.4(D)) as a band of selection-rate ratios: the default screen.
FOUR_FIFTHS = (0.8, 1.25)


def screening_band(results: Mapping[str, Any]) -> tuple[float, float]:
    """The screening band a results document records (``parameters.screening_band``, present only when the audit
    set one), or the four-fifths band; a malformed entry (an edited file, which verify reports) reads as the
    four-fifths band.

    >>> screening_band({"parameters": {"screening_band": [0.9, 1.1]}}), screening_band({})
    ((0.9, 1.1), (0.8, 1.25))
    """
    params = results.get("parameters") if isinstance(results, Mapping) else None
    band = _band_numbers(params.get("screening_band") if isinstance(params, Mapping) else None)
    return band if band is not None and _screens(band) else FOUR_FIFTHS


def _band_numbers(band: Any) -> tuple[float, float] | None:
    """``band`` as two floats (low, high), or None if it is not two numbers."""
    try:
        low, high = (float(b) for b in band)
    except (TypeError, ValueError):
        return None
    return low, high


def _screens(band: tuple[float, float]) -> bool:
    """Can ``band`` screen ratios: both ends positive and finite, a ratio of 1 inside?"""
    return 0 < band[0] < 1 < band[1] < math.inf


_TUPLE_FIELDS = ("protected", "positive", "truth_positive", "truth_negative", "strata", "stage_order", "period_order", "random",
                 "suppressed", "metrics", "filters", "missing_values", "keep_rows")


@dataclass(frozen=True)
class Filter:
    """Keep (or, with ``keep=False``, drop) rows whose ``column`` is one of ``values``."""

    column: str
    values: tuple[str, ...]
    keep: bool = True

    def describe(self) -> str:
        """Plain words for the population section of the results."""
        verb = "kept rows where" if self.keep else "removed rows where"
        return f"{verb} {self.column} is {' or '.join(repr(v) for v in self.values)}"


@dataclass(frozen=True)
class AuditSpec:
    """The columns, rules and statistical settings of one audit.

    Exactly one way to get a decision must be given: ``decision`` (a column,
    with ``positive`` values), ``score`` with ``threshold``, ``top`` (percent)
    or ``top_n``, or for a count table ``count_column``/``cells``.

    >>> AuditSpec(protected=("gender",), decision="flagged").level
    0.95
    """

    protected: tuple[str, ...]
    decision: str | None = None
    positive: tuple[str, ...] | None = None
    score: str | None = None
    threshold: float | None = None
    top: float | None = None
    top_n: int | None = None
    truth: str | None = None
    truth_positive: tuple[str, ...] | None = None
    truth_negative: tuple[str, ...] | None = None
    references: Mapping[str, str] = field(default_factory=dict)
    reference_rule: str = "largest"
    intersection_reference: str = "within"
    selection_is: str = "adverse"
    strata: tuple[str, ...] = ()
    #: A period column (date, month, quarter or year; or a version label with ``period_order``), its
    #: bucketing (year, quarter, month, week, day) and the order of its labels when they are not dates.
    period: str | None = None
    period_freq: str | None = None
    period_order: tuple[str, ...] | None = None
    stage: str | None = None
    stage_order: tuple[str, ...] | None = None
    person: str | None = None
    selection_method: str | None = None
    random: tuple[str, ...] | None = None
    count_column: str | None = None
    cell_column: str | None = None
    cells: Mapping[str, str] = field(default_factory=dict)
    suppressed: tuple[str, ...] = ()
    suppressed_range: tuple[int, int] = (0, 9)
    min_group_size: int = 30
    max_depth: int | None = None
    level: float = 0.95
    test: str = "fisher"
    adjust: str = "holm"
    alpha: float = 0.05
    metrics: tuple[str, ...] | None = None
    bootstrap: int = 0
    seed: int = 0
    filters: tuple[Filter, ...] = ()
    drop_missing: bool = False
    missing_values: tuple[str, ...] = ()
    encoding: str | None = None
    delimiter: str | None = None
    #: Spreadsheets: the sheet (name, or number counting from 1) and the header's row number in it.
    sheet: str | None = None
    header_row: int | None = None
    #: Count tables: rows named here (a group label such as 'Totaal') are kept even when they look like totals.
    keep_rows: tuple[str, ...] = ()
    #: Number format of text scores, when a column cannot tell by itself (``"1,234"``): ',' or '.'.
    decimal: str | None = None
    thousands: str | None = None
    #: Every row was selected (investigated): no decision column; set by itself with a
    #: ``selection_method`` and no decision or score.
    all_selected: bool = False
    #: The band of selection-rate ratios outside which a comparison is flagged for screening (a rule of thumb,
    #: never the test); the US four-fifths band by default.  Recorded in the results only when another is used.
    screening_band: tuple[float, float] = FOUR_FIFTHS

    def __post_init__(self) -> None:
        for name in _TUPLE_FIELDS:
            value = getattr(self, name)
            if isinstance(value, str):  # protected="gender" means one column, not six letters
                object.__setattr__(self, name, (value,))
            elif value is not None and not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        if self.sheet is not None and not isinstance(self.sheet, str):
            object.__setattr__(self, "sheet", str(self.sheet))
        if (self.selection_method and not self.decision and not self.score and not self.is_count_table
                and not self.all_selected):
            object.__setattr__(self, "all_selected", True)
        self._check_decision_rule()
        self._check_settings()
        self._check_reading()
        self._check_roles()

    def _check_roles(self) -> None:
        roles = [(c, "--protected") for c in self.protected] + [(c, "--strata") for c in self.strata]
        roles += [(c, o) for c, o in ((self.period, "--period"), (self.stage, "--stage"), (self.selection_method, "--selection-method"),
                                      (self.person, "--person")) if c]
        seen: dict[str, str] = {}
        for column, option in roles:
            if column in seen:
                raise UsageError(f"Column {column!r} is named twice ({seen[column]} and {option}); a column can "
                                 "play one role in an audit.")
            seen[column] = option
        self._check_stages()
        self._check_period()

    def _check_period(self) -> None:
        if (self.period_freq is not None or self.period_order is not None) and not self.period:
            option = "--period-freq" if self.period_freq is not None else "--period-order"
            raise UsageError(f"{option} applies to the --period column; give --period COL too.")
        if self.period_freq is not None and self.period_freq not in PERIOD_FREQS:
            from ._text import did_you_mean

            raise UsageError(f"--period-freq must be one of {', '.join(PERIOD_FREQS)}; got {self.period_freq!r}."
                             f"{did_you_mean(str(self.period_freq), PERIOD_FREQS)}")
        if self.period_order is not None and self.period_freq is not None:
            raise UsageError("--period-order orders labels that are not dates (model versions, named rounds); "
                             "--period-freq buckets dates into periods whose order is the calendar's. Give one.")
        if self.period_order is not None and len(set(self.period_order)) != len(self.period_order):
            twice = next(s for s in self.period_order if self.period_order.count(s) > 1)
            raise UsageError(f"--period-order names {twice!r} twice; name each period once, earliest first.")

    def _check_stages(self) -> None:
        if self.stage_order is not None and not self.stage:
            raise UsageError("--stage-order orders the values of the --stage column; give --stage COL too.")
        if self.stage_order is not None and len(set(self.stage_order)) != len(self.stage_order):
            twice = next(s for s in self.stage_order if self.stage_order.count(s) > 1)
            raise UsageError(f"--stage-order names {twice!r} twice; name each stage once, in process order.")
        if not self.person:
            return
        if not self.stage:
            raise UsageError("--person names the person id of a file with one row per person per stage; it "
                             "needs --stage COL (the stage of each row) too.")
        if self.is_count_table:
            raise UsageError("--person reads rows of people; a count table has no people to follow through the "
                             "stages. Drop --person (a count table's stage rows count the people at each stage).")
        if self.top is not None or self.top_n is not None:
            raise UsageError("--top/--top-n rank every row together, but with --person the rows are a person's "
                             "stages, which must not compete with each other. Decide with --decision COL or "
                             "--score COL --threshold T.")

    @property
    def is_count_table(self) -> bool:
        """True when the input is an aggregate table of counts, not rows."""
        return bool(self.count_column or self.cells)

    def _check_decision_rule(self) -> None:
        if not self.protected:
            raise UsageError("Name at least one protected attribute with --protected COLUMN.")
        if self.cell_column and not self.count_column:
            raise UsageError("--cell-column names the cell of each row of a long count table; it needs "
                             "--count-column COL too (the column holding each row's count).")
        if self.is_count_table:
            if self.score:
                raise UsageError("A count table has no scores: drop --score, or drop --count-column.")
            if self.count_column and not (self.decision or self.cell_column):
                raise UsageError(
                    "A long count table needs the column that says which cell each count is: "
                    "--decision COL (with --positive) or --cell-column COL (values tp/fp/tn/fn or "
                    "selected/not_selected)."
                )
            return
        rules = [r for r in ("threshold", "top", "top_n") if getattr(self, r) is not None]
        if self.all_selected:
            if self.decision or self.score or rules:
                raise UsageError("--all-selected says every row was selected (investigated): drop --decision, "
                                 "--score and the decision rule, or drop --all-selected.")
            return
        if bool(self.decision) == bool(self.score):
            raise UsageError(
                "Give exactly one of --decision COL (a column holding the decision) or --score COL "
                "(with --threshold T, --top PCT or --top-n N); or, when every row was investigated, "
                "--all-selected (or --selection-method COL alone)."
            )
        if self.score and len(rules) != 1:
            raise UsageError(
                "With --score, give exactly one decision rule: --threshold T (score >= T is selected), "
                f"--top PCT or --top-n N. Got {len(rules)}: {', '.join(rules) or 'none'}."
            )
        if self.decision and rules:
            raise UsageError("--threshold/--top/--top-n apply to --score, not to --decision.")
        if self.top is not None and not 0 < self.top <= 100:
            raise UsageError(f"--top must be a percentage in (0, 100]; got {self.top}.")
        if self.top_n is not None and self.top_n < 1:
            raise UsageError(f"--top-n must be at least 1; got {self.top_n}.")

    def _check_reading(self) -> None:
        if self.header_row is not None and (isinstance(self.header_row, bool) or not isinstance(self.header_row, int)
                                            or self.header_row < 1):
            raise UsageError(f"--header-row must be a row number counting from 1; got {self.header_row!r}.")
        marks = {"decimal": (",", "."), "thousands": (",", ".", " ", "'", "_")}
        for name, allowed in marks.items():
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise UsageError(f"--{name} must be one of {', '.join(repr(a) for a in allowed)}; got {value!r}.")
        if self.decimal is not None and self.decimal == self.thousands:
            raise UsageError(f"--decimal and --thousands are both {self.decimal!r}; they must differ.")

    def _check_settings(self) -> None:
        if not 0.5 <= self.level < 1:
            raise UsageError(f"The interval level must be in [0.5, 1), e.g. 0.95; got {self.level}.")
        if not 0 < self.alpha < 1:
            raise UsageError(f"alpha must be in (0, 1); got {self.alpha}.")
        choices = {"reference_rule": ("largest", "most-favourable"), "selection_is": ("adverse", "beneficial"),
                   "test": ("fisher", "chi2"), "adjust": ("holm", "bh"),
                   "intersection_reference": ("within", "single")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise UsageError(f"{name.replace('_', '-')} must be one of {', '.join(allowed)}; "
                                 f"got {getattr(self, name)!r}.")
        unknown = [m for m in self.metrics or () if m not in METRICS]
        if unknown:
            from ._text import did_you_mean

            raise UsageError(f"Unknown metric {unknown[0]!r}.{did_you_mean(unknown[0], METRICS)} "
                             f"Known metrics: {', '.join(METRICS)}.")
        band = _band_numbers(self.screening_band)
        if band is None:
            raise UsageError(f"The screening band must be two numbers, low and high; got {self.screening_band!r}.")
        if not _screens(band):
            raise UsageError(f"The screening band must hold a ratio of 1 between two positive numbers (low below 1, "
                             f"high above 1, e.g. 0.8 and 1.25); got {band[0]:g} to {band[1]:g}.")
        object.__setattr__(self, "screening_band", band)
        if self.min_group_size < 0 or self.bootstrap < 0:
            raise UsageError("--min-group-size and --bootstrap must not be negative.")
        if self.bootstrap > MAX_BOOTSTRAP:
            raise UsageError(f"--bootstrap is at most {MAX_BOOTSTRAP:,} replicates; got {self.bootstrap:,}. Beyond "
                             "10,000 the percentile interval hardly moves; use 10,000 (or fewer for a quick look).")
        if self.max_depth is not None and self.max_depth < 1:
            raise UsageError(f"--max-depth must be at least 1; got {self.max_depth}.")
        if self.selection_method and not self.random:
            raise UsageError("--selection-method needs --random VALUE: the value marking the random sample.")
        unknown_refs = [k for k in self.references if k not in self.protected]
        if unknown_refs:
            raise UsageError(f"--reference names {unknown_refs[0]!r}, which is not a --protected column "
                             f"({', '.join(self.protected)}).")
        lo, hi = self.suppressed_range
        if not 0 <= lo <= hi:
            raise UsageError(f"--suppressed-range must be LOW-HIGH with 0 <= LOW <= HIGH; got {lo}-{hi}.")
