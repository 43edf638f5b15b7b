"""The one-page brief: what a campaigner attaches to a letter or posts (A4, as PDF and PNG).

One page, from the bundle alone, in the report language: the headline sentence with its interval and the
finding it cites, the headline's chart, three key figures (the ratio with its interval, the two rates with
their group sizes, who was examined and selected), what the agency must answer, and the citation line with
the manifest hash.  The figures obey the same small-cell rules as the report: the headline is chosen only
among comparisons whose figures may be published.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._build import build_document
from ._build_findings import legal_details, sorted_findings
from ._build_response import response_of
from ._build_summary import headline_chart, headline_of, headline_sentence, population_text
from ._bundle import Bundle
from ._context import Context, pick
from ._document import Chart, Document
from ..locale import load_locale
from ._suppress import Suppressor

__all__ = ["Brief", "KeyFigure", "brief_html", "brief_png", "build_brief"]


@dataclass(frozen=True)
class KeyFigure:
    """A large figure with what it measures and its uncertainty or basis underneath."""

    value: str
    label: str
    detail: str


@dataclass(frozen=True)
class Brief:
    """Everything on the one-page brief, every text final."""

    lang: str
    direction: str
    title: str
    subtitle: str
    kicker: str
    headline: str
    source: str
    chart: Chart | None
    figures: tuple[KeyFigure, ...]
    ask_title: str
    asks: tuple[str, ...]
    provisions: str
    citation: str
    more: str


def _figures(ctx: Context, c: Mapping[str, Any] | None) -> list[KeyFigure]:
    t, loc, results = ctx.t, ctx.loc, ctx.results
    figures = []
    if c is not None:
        attr = str(c.get("attribute"))
        group, reference = ctx.group_label(attr, str(c.get("group"))), ctx.group_label(attr, str(c.get("reference")))
        ci = list(c.get("ratio_ci") or [None, None])
        rate, ref = c.get("group_rate") or {}, c.get("reference_rate") or {}
        figures += [
            KeyFigure(t("brief.times", ratio=loc.number(c.get("ratio"))), t("brief.ratio_label", group=group,
                      reference=reference), t("brief.ratio_detail", level=ctx.level, low=loc.number(ci[0]),
                                              high=loc.number(ci[1]))),
            KeyFigure(t("brief.rates", rate=loc.percent(rate.get("value")), reference_rate=loc.percent(ref.get("value"))),
                      t("brief.rates_label", metric=loc.label("metric", str(c.get("metric"))), group=group,
                        reference=reference),
                      t("brief.rates_detail", n=loc.integer(rate.get("denominator")),
                        n_reference=loc.integer(ref.get("denominator")))),
        ]
    design = results.get("design") or {}
    selected = design.get("selected")
    figures.append(KeyFigure(ctx.count(selected, "brief/selected").text,
                             t("brief.selected_label"), population_text(ctx)))
    return figures


def _asks(ctx: Context, c: Mapping[str, Any] | None, finding: Mapping[str, Any] | None) -> list[str]:
    t = ctx.t
    asks = []
    if c is not None:
        attr = str(c.get("attribute"))
        asks.append(t("brief.ask_explain", group=ctx.group_label(attr, str(c.get("group"))),
                      reference=ctx.group_label(attr, str(c.get("reference"))), ratio=ctx.loc.number(c.get("ratio"))))
    recommendation, _ = pick((finding or {}).get("recommendation"), ctx.loc.code)
    if recommendation:
        asks.append(recommendation)
    claims = list((response_of(ctx).response or {}).get("claims") or [])
    if claims:
        asks.append(t("brief.ask_claims", n=ctx.loc.integer(len(claims))))
    asks.append(t("brief.ask_data"))
    return asks[:4]


def build_brief(bundle: Bundle, lang: str = "en", *, min_count: int | None = None) -> Brief:
    """The one-page brief of ``bundle`` in ``lang``."""
    doc: Document = build_document(bundle, lang, min_count=min_count)
    loc = load_locale(lang)
    k = bundle.min_count if min_count is None else min_count
    ctx = Context(bundle=bundle, loc=loc, sup=Suppressor(bundle.results, k))
    h = headline_of(ctx)
    c = h.comparison if h is not None else None
    finding = h.finding if h is not None else None
    if h is None:
        headline, source, chart = ctx.t("summary.headline_none"), "", None
    else:
        headline, chart = headline_sentence(ctx, h), headline_chart(ctx, h)
        uses = (ctx.results.get("multiple_testing") or {}).get("status_uses", "holm")
        p = c.get("p_bh" if uses in ("bh", "benjamini-hochberg") else "p_holm") if c else None
        source = ctx.t("brief.source", p=loc.p_value(p), id=str(finding.get("id")) if finding else "—")
    provisions = ""
    if finding is not None:
        details = legal_details(ctx, [], [str(p) for p in finding.get("provisions", [])])
        provisions = "; ".join(text for _, values in details for text, _ in values)
    n = len(sorted_findings(ctx.bundle.findings))
    return Brief(lang=doc.lang, direction=doc.direction, title=doc.title, subtitle=doc.subtitle,
                 kicker=ctx.t("brief.kicker"), headline=headline, source=source, chart=chart,
                 figures=tuple(_figures(ctx, c)), ask_title=ctx.t("brief.ask_title"), asks=tuple(_asks(ctx, c, finding)),
                 provisions=ctx.t("brief.provisions", provisions=provisions) if provisions else "",
                 citation=doc.citation, more=ctx.t("brief.more", n=loc.integer(n)))


def brief_html(brief: Brief) -> str:
    """The brief as one self-contained HTML page (inline CSS and SVG)."""
    from ._html import _environment

    return _environment().get_template("brief.html.j2").render(brief=brief)


def brief_png(pdf: bytes, dpi: int = 150) -> bytes:
    """Page 1 of the brief's PDF as a PNG image (rendered by PDFium, no browser needed)."""
    import io

    try:
        import pypdfium2
    except ImportError as err:  # pragma: no cover - depends on the installation
        from ..exceptions import EngineError

        raise EngineError("The PNG of the brief needs pypdfium2: pip install 'auditkit[report]'.") from err
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[0].render(scale=dpi / 72).to_pil()
    finally:
        document.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()
