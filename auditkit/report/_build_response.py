"""Report sections on the agency's side: claims next to the evidence, the right of reply, corrections.

A claim that says groups are treated alike (``says: no_difference``) is checked against the comparisons it
names: a detected, publishable difference contradicts it (citing the findings on it); no detected
difference leaves it *not contradicted*, never confirmed, with the largest ratio the data cannot rule out.
A claim with ``says: other`` carries the auditors' own assessment and the findings it rests on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._context import Context, pick
from ._document import Block, BulletList, Cell, CodeBlock, Notice, Paragraph, Section, Table, TableRow
from ._headline import comparison_key, finding_for
from ._response import Response, read_response

__all__ = ["corrections_notice", "corrections_section", "response_of", "response_sections"]


def response_of(ctx: Context) -> Response:
    """The bundle's response and corrections files, read once per report."""
    cached = getattr(ctx, "_response", None)
    if cached is None:
        cached = read_response(ctx.bundle.path)
        object.__setattr__(ctx, "_response", cached)
    return cached


def _text(ctx: Context, value: Any) -> tuple[str, str | None]:
    return pick(value, ctx.loc.code) if isinstance(value, Mapping) else (str(value or ""), None)


def _comparisons(ctx: Context, claim: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    evidence = {str(e) for e in claim.get("evidence") or []}
    attr = claim.get("attribute")
    # 'comparisons/ATTR/GROUP/METRIC' names every comparison of that group and rate; an intersection compared
    # within the other attributes' levels adds '/vs/REFERENCE' to name one of them.
    return [c for c in ctx.results.get("comparisons", [])
            if comparison_key(c) in evidence or comparison_key(c).split("/vs/")[0] in evidence
            or (attr is not None and str(c.get("attribute")) == str(attr))]


def _checked(ctx: Context, claim: Mapping[str, Any]) -> tuple[str, str]:
    """(what the evidence shows, the findings cited) for a claim about differences."""
    t, loc = ctx.t, ctx.loc
    comps = [c for c in _comparisons(ctx, claim) if ctx.sup.comparison_ok(c)]
    detected = [c for c in comps if c.get("status") == "difference_detected"]
    ids = [str(f.get("id")) for f in (finding_for(ctx.bundle.findings, comparison_key(c)) for c in detected) if f]
    measured = [c for c in comps if c.get("status") in ("difference_detected", "no_difference_detected")]
    says = claim.get("says")
    if not measured:
        return t("response.not_checkable"), "—"
    if detected:
        key = "response.contradicted" if says == "no_difference" else "response.supported"
        items = "; ".join(t("response.item", group=ctx.group_label(str(c.get("attribute")), str(c.get("group"))),
                            ratio=loc.number(c.get("ratio"))) for c in detected)
        return t(key, n=loc.integer(len(detected)), items=items), ", ".join(dict.fromkeys(ids)) or "—"
    highs = [max(abs(v), 1 / v) for c in measured for v in (c.get("ratio_ci") or [])[:2]
             if isinstance(v, (int, float)) and v > 0]
    key = "response.not_contradicted" if says == "no_difference" else "response.not_shown"
    return t(key, n=loc.integer(len(measured)), bound=loc.number(max(highs) if highs else None)), "—"


def _claims_table(ctx: Context, claims: list[Mapping[str, Any]]) -> Table:
    t = ctx.t
    rows = []
    for c in claims:
        text, lang = _text(ctx, c.get("claim"))
        if c.get("says", "other") == "other":
            shows = t(f"response.assessment.{c.get('assessment')}")
            ids = ", ".join(str(f) for f in c.get("findings") or []) or "—"
        else:
            shows, ids = _checked(ctx, c)
        rows.append(TableRow((Cell(str(c.get("id")), code=True), Cell(text, lang=lang, quoted=True),
                              Cell(_text(ctx, c.get("source"))[0] or "—"), Cell(shows), Cell(ids, code=ids != "—", ids=ids != "—"))))
    return Table(caption=t("response.claims_caption"),
                 header=(t("response.col.id"), t("response.col.claim"), t("response.col.source"),
                         t("response.col.evidence"), t("response.col.findings")), rows=tuple(rows))


def _reply_blocks(ctx: Context, resp: Response) -> list[Block]:
    t = ctx.t
    reply = (resp.response or {}).get("reply") if resp.response else None
    if resp.response is None:
        return [Notice(t("response.none_recorded"), "warning")]
    if not isinstance(reply, Mapping) or not reply.get("asked"):
        return [Notice(t("response.not_asked"), "warning")]
    blocks: list[Block] = []
    if not reply.get("received"):
        blocks.append(Notice(t("response.no_reply", asked=str(reply["asked"])), "warning"))
        return blocks
    blocks.append(Paragraph(t("response.received", asked=str(reply["asked"]), received=str(reply["received"]))))
    text, lang = _text(ctx, reply.get("text"))
    if text:
        blocks.append(Paragraph(text, lang=lang, style="reply quoted"))
    per_finding = reply.get("findings")
    if isinstance(per_finding, Mapping) and per_finding:
        items = tuple(f"{fid}: {_text(ctx, answer)[0]}" for fid, answer in sorted(per_finding.items()))
        blocks += [Paragraph(t("response.per_finding")), BulletList(items)]
    return blocks


def response_sections(ctx: Context) -> list[Section]:
    """'Claims and evidence' (when the bundle records claims) and 'Right of reply' (always)."""
    resp = response_of(ctx)
    out = []
    claims = list((resp.response or {}).get("claims") or [])
    if claims:
        blocks: list[Block] = [Paragraph(ctx.t("response.claims_intro")), _claims_table(ctx, claims)]
        out.append(Section(id="claims", title=ctx.t("response.claims_title"), blocks=tuple(blocks)))
    reply = _reply_blocks(ctx, resp)
    if resp.response_sha256:
        reply.append(Paragraph(ctx.t("response.hash", file="response.yaml", sha256=resp.response_sha256),
                               style="headline-source"))
    out.append(Section(id="reply", title=ctx.t("response.reply_title"), blocks=tuple(reply)))
    return out


def corrections_notice(ctx: Context) -> Notice | None:
    """The line at the top of the summary saying the report was corrected, and where."""
    resp = response_of(ctx)
    return Notice(ctx.t("corrections.notice", n=ctx.loc.integer(len(resp.corrections))), "warning") \
        if resp.corrections else None


def corrections_section(ctx: Context) -> Section | None:
    """The corrections log, oldest first, with the file's sha256."""
    resp = response_of(ctx)
    if not resp.corrections:
        return None
    t = ctx.t
    rows = []
    for e in resp.corrections:
        text, lang = _text(ctx, e.get("text"))
        rows.append(TableRow((Cell(str(e.get("date", "—"))), Cell(text, lang=lang, quoted=True),
                              Cell(", ".join(map(str, e.get("findings") or [])) or "—"))))
    return Section(id="corrections", title=t("corrections.title"), blocks=(
        Paragraph(t("corrections.intro")),
        Table(caption=t("corrections.caption"), header=(t("corrections.col.date"), t("corrections.col.text"),
                                                       t("corrections.col.findings")), rows=tuple(rows)),
        CodeBlock(f"sha256 {resp.corrections_sha256}  corrections.yaml")))
