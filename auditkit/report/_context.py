"""What every section builder shares: the bundle, the language, the suppression rules, cell formatting."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._bundle import Bundle
from ._document import Cell
from ..locale import Locale, label, pick
from ..locale._phrases import translate
from ..spec import FOUR_FIFTHS, screening_band
from ._suppress import Suppressor

__all__ = ["Context", "anchor_for", "decision_text", "nice_ticks", "pick", "reference_rule_text", "short_number"]

_SMALL_COUNT_TEXT = re.compile(r"\b(\d{1,3}(?:[,.]\d{3})*)(\s+(?:rows?|cases?|people|persons|applicants|cells?)\b)")


def _pp(x: float | None) -> float | None:
    return None if x is None else 100 * x


def anchor_for(metric_id: str) -> str:
    """A stable HTML id for a metric id such as 'comparisons/nationality/non-EU/selection_rate'.

    >>> anchor_for("comparisons/g/b/selection_rate")
    'm-16547276f7'
    """
    return "m-" + hashlib.sha256(metric_id.encode("utf-8")).hexdigest()[:10]


def nice_ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``high``.

    >>> nice_ticks(0.27)
    [0.0, 0.1, 0.2, 0.3]
    """
    if not high or high <= 0 or not math.isfinite(high):
        return [0.0, 1.0]
    raw = high / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    n = math.ceil(high / step - 1e-9)
    return [round(i * step, 10) for i in range(n + 1)]


def short_number(loc: Locale, x: float) -> str:
    """A tick label with no more decimals than it needs: 1, 0.5, 1.25."""
    digits = next((d for d in (0, 1, 2, 3) if abs(x - round(x, d)) < 1e-9), 3)
    return loc.number(x, digits)


@dataclass
class Context:
    """The bundle being reported, in one language, with one minimum count."""

    bundle: Bundle
    loc: Locale
    sup: Suppressor
    anchors: dict[str, tuple[str, bool]] = field(default_factory=dict)

    @property
    def results(self) -> Mapping[str, Any]:
        """The results document."""
        return self.bundle.results

    @property
    def k(self) -> int:
        """The minimum publishable count."""
        return self.sup.k

    def t(self, key: str, **values: Any) -> str:
        """A message of the report language."""
        return self.loc.t(key, **values)

    @property
    def band(self) -> tuple[float, float]:
        """The audit's screening band of selection-rate ratios: the four-fifths band unless it set another."""
        return screening_band(self.results)

    def band_text(self, key: str, **values: Any) -> str:
        """Message ``key``, or its ``_set`` form naming the band where the audit set its own."""
        low, high = self.band
        if (low, high) == FOUR_FIFTHS:
            return self.t(key, **values)
        return self.t(f"{key}_set", low=short_number(self.loc, low), high=short_number(self.loc, high), **values)

    @property
    def level(self) -> str:
        """The confidence level as a percentage, e.g. '95%'."""
        level = (self.results.get("parameters") or {}).get("level", 0.95)
        return self.loc.percent(level, 0 if round(level * 100, 6) == round(level * 100) else 1)

    # cells -----------------------------------------------------------------------------------------

    def withheld(self, where: str) -> Cell:
        """The cell shown in place of a withheld figure."""
        self.sup.note(where)
        return Cell(self.t("suppression.withheld"), suppressed=True)

    def count(self, n: Any, where: str, bounds: Sequence[Any] | None = None) -> Cell:
        """A count of people: '<10' when small, 'lo–hi' when the source suppressed it."""
        if bounds and len(bounds) == 2:
            if isinstance(bounds[1], (int, float)) and bounds[1] < self.k:
                return Cell(self.t("suppression.less_than", k=self.loc.integer(self.k)), suppressed=True, numeric=True)
            return Cell(self.loc.span(self.loc.integer(bounds[0]), self.loc.integer(bounds[1])), numeric=True)
        if self.sup.small(n):
            self.sup.note(where)
            return Cell(self.t("suppression.less_than", k=self.loc.integer(self.k)), suppressed=True, numeric=True)
        return Cell(self.loc.integer(n) if isinstance(n, (int, float)) else "—", numeric=True)

    @staticmethod
    def rate_bounds(rec: Mapping[str, Any] | None) -> tuple[list[int] | None, list[int] | None]:
        """The ranges of a bounded rate's numerator and denominator (None: not bounded).

        A bounded rate k / (k + c) records k at both ends (``numerator``, ``numerator_max``) and the
        denominators of its least and largest value (k_low + c_high, k_high + c_low), so its denominator
        ranges from k_low + c_low to k_high + c_high."""
        rec = rec or {}
        k_lo, k_hi, d_lo, d_hi = (rec.get(x) for x in ("numerator", "numerator_max", "denominator", "denominator_max"))
        if not all(isinstance(x, (int, float)) for x in (k_lo, k_hi, d_lo, d_hi)):
            return None, None
        num = [int(k_lo), int(k_hi)] if k_lo != k_hi else None
        low, high = k_lo + d_hi - k_hi, k_hi + d_lo - k_lo
        return num, ([int(low), int(high)] if low != high else None)

    def share_range(self, k_low: float, n_low: float, k_high: float, n_high: float) -> str:
        """'16.0%–16.2%': a proportion from k_low / n_low to k_high / n_high, rounded outwards (so that
        the printed range holds every value the suppressed cells allow)."""
        lo = k_low / n_low if n_low else 0.0
        hi = k_high / n_high if n_high else 1.0
        return self.loc.span(*self.percent_bounds(lo, hi))

    def percent_bounds(self, lo: float, hi: float, digits: int = 1) -> tuple[str, str]:
        """Both ends of a range of proportions as percentages, the low end rounded down, the high end up."""
        scale = 10 ** (digits + 2)
        return (self.loc.percent(math.floor(lo * scale + 1e-9) / scale, digits),
                self.loc.percent(math.ceil(hi * scale - 1e-9) / scale, digits))

    def number_bounds(self, lo: float, hi: float, digits: int = 2, factor: float = 1.0,
                      sign: bool = False) -> tuple[str, str]:
        """Both ends of a range of numbers, the low end rounded down, the high end up."""
        scale = 10 ** digits
        low = None if lo is None else math.floor(lo * factor * scale + 1e-9) / scale
        high = None if hi is None else math.ceil(hi * factor * scale - 1e-9) / scale
        kw = {"sign": True} if sign else {}
        return self.loc.number(low, digits, **kw), self.loc.number(high, digits, **kw)

    def hidden_count(self, where: str) -> Cell:
        """A count withheld to protect another cell (complementary suppression)."""
        self.sup.note(where)
        return Cell(self.t("suppression.withheld"), suppressed=True, numeric=True)

    def masked_count(self, n: Any, hidden: bool, where: str, bounds: Sequence[Any] | None = None) -> Cell:
        """A count, or '<10' when it is small, or 'withheld' when it is withheld to protect another."""
        if hidden and not self.sup.small(n):
            return self.hidden_count(where)
        return self.count(n, where, bounds)

    def rate(self, rec: Mapping[str, Any] | None, ok: bool = True, where: str = "") -> Cell:
        """'18.8% (15.8%–22.2%)': a rate and its interval; a range when bounded; withheld when not ok."""
        if not ok:
            return self.withheld(where)
        rec = rec or {}
        loc = self.loc
        ci = loc.span(loc.number(_pp(rec.get("ci_low")), 1), loc.number(_pp(rec.get("ci_high")), 1))
        if rec.get("value") is None and rec.get("bounds"):
            lo, hi = rec["bounds"]
            low, high = self.percent_bounds(lo, hi)
            return Cell(self.t("cell.bounded_rate", low=low, high=high, ci=ci), numeric=True)
        if rec.get("value") is None:
            return Cell("—", numeric=True)
        return Cell(loc.percent(rec["value"]), numeric=True, detail=ci)

    def ratio(self, c: Mapping[str, Any], ok: bool = True, where: str = "") -> Cell:
        """'3.09 (2.52–3.79)': a ratio with its interval, or a range when it rests on suppressed cells."""
        if not ok:
            return self.withheld(where)
        loc = self.loc
        lo, hi = (c.get("ratio_ci") or [None, None])[:2]
        ci = loc.span(loc.number(lo), loc.number(hi))
        if c.get("ratio") is None and c.get("ratio_bounds"):
            b = c["ratio_bounds"]
            low, high = self.number_bounds(b[0], b[1])
            return Cell(self.t("cell.bounded_ratio", low=low, high=high, ci=ci), numeric=True)
        if c.get("ratio") is None:
            return Cell("—", numeric=True)
        return Cell(loc.number(c["ratio"]), numeric=True, detail=ci)

    def difference(self, c: Mapping[str, Any], ok: bool = True, where: str = "") -> Cell:
        """A difference in percentage points with its interval."""
        if not ok:
            return self.withheld(where)
        loc = self.loc
        lo, hi = (c.get("difference_ci") or [None, None])[:2]
        scale = (lambda x: None if x is None else 100 * x)
        ci = self.t("cell.range", low=loc.number(scale(lo), 1, sign=True), high=loc.number(scale(hi), 1, sign=True))
        if c.get("difference") is None and c.get("difference_bounds"):
            b = c["difference_bounds"]
            low, high = self.number_bounds(b[0], b[1], 1, factor=100, sign=True)
            return Cell(self.t("cell.bounded_difference", low=low, high=high, ci=ci), numeric=True)
        if c.get("difference") is None:
            return Cell("—", numeric=True)
        return Cell(loc.number(scale(c["difference"]), 1, sign=True), numeric=True, detail=ci)

    def english(self, text: Any) -> Cell:
        """A cell of text the analysis wrote in English, in the report language where the catalog has the
        sentence (:func:`auditkit.locale.translate`), else marked as English."""
        out, lang = self.analysis(text)
        return Cell(out, lang=lang)

    def analysis(self, text: Any) -> tuple[str, str | None]:
        """(text in the report language, None) for a sentence of the analysis; (English text, 'en') when the
        catalog has no such sentence.  Small counts in it are redacted."""
        out, lang = translate(self.loc, str(text))
        return self.redact(out), lang

    def analysis_list(self, texts: Sequence[Any]) -> tuple[tuple[str, ...], str | None]:
        """Sentences of the analysis for one list: translated, and marked English only if one stayed English."""
        pairs = [self.analysis(x) for x in texts]
        return tuple(x for x, _ in pairs), ("en" if any(lang for _, lang in pairs) else None)

    def text_lang(self) -> str | None:
        """The language code to mark English text from the results with (None in an English report)."""
        return None if self.loc.code == "en" else "en"

    # labels ----------------------------------------------------------------------------------------

    def attr_label(self, attr: str) -> str:
        """The template's label of attribute ``attr`` in the report language (:func:`auditkit.locale.label`)."""
        return label(self.results, attr, lang=self.loc.code)

    def group_label(self, attr: str, group: str) -> str:
        """The template's label of ``group`` of ``attr`` in the report language (:func:`auditkit.locale.label`)."""
        return label(self.results, attr, group, lang=self.loc.code)

    def redact(self, text: str) -> str:
        """Replace small counts of rows or people in free text ('3 rows') by '<10 rows'."""
        def sub(m: re.Match[str]) -> str:
            n = int(re.sub(r"[,.]", "", m.group(1)))
            return f"<{self.k}{m.group(2)}" if self.sup.small(n) else m.group(0)

        return _SMALL_COUNT_TEXT.sub(sub, text)


def decision_text(ctx: Context) -> str:
    """The decision rule as a sentence in the report language."""
    t, loc = ctx.t, ctx.loc
    rule = (ctx.results.get("population") or {}).get("decision_rule") or {}
    kind = rule.get("kind")
    if kind == "column":
        values = ", ".join(map(str, rule.get("positive", [])))
        return t("decision.column", column=str(rule.get("column")), values=values)
    if kind == "threshold":
        return t("decision.threshold", threshold=loc.number(rule.get("threshold"), 3))
    if kind == "top" and rule.get("percent") is not None:
        return t("decision.top_percent", percent=loc.meta["percent"].format(short_number(loc, float(rule["percent"]))),
                 n=loc.integer(rule.get("selected")))
    if kind == "top":
        return t("decision.top_n", n=loc.integer(rule.get("selected")))
    if kind == "count table":
        return t("decision.count_table")
    return t("decision.other", rule=str(rule.get("rule", "?")))


def reference_rule_text(ctx: Context, rule: str, attribute: Mapping[str, Any] | None = None) -> str:
    """How the reference group was chosen, translated when the sentence is one auditkit writes; an
    intersection's reference levels by the template's labels (from ``attribute``, its results record)."""
    known = {"largest group (most rows)": "reference_rule.largest",
             "given explicitly (--reference)": "reference_rule.given"}
    if rule.startswith("within: "):  # an intersection compared within the other attributes' levels
        named = (attribute or {}).get("reference_levels")
        if isinstance(named, Mapping) and named:
            text = "; ".join(f"{ctx.attr_label(str(a))}: {ctx.group_label(str(a), str(v))}" for a, v in named.items())
            return ctx.t("reference_rule.within", levels=text)
        levels = re.search(r"\(([^)]*)\)", rule)
        return ctx.t("reference_rule.within", levels=levels.group(1) if levels else "")
    return ctx.t(known[rule]) if rule in known else rule
