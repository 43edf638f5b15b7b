"""What the audit template says about the audited system, and the legal texts a report cites.

A run with ``--template`` records in results.json (under ``template``) the template's title, its
``system``, ``data.population``, the protected attributes with their legal grounds per jurisdiction,
the provisions (id → citation, jurisdiction) and rights (id → title), and ``report.jurisdictions``
(see :meth:`auditkit.templates.Template.record`).  This module turns those into report text: the
"The system" section, and human-readable citations wherever the report names a provision or a right.
Without a template none of this appears.  An id the template does not define is shown as the id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._text import placeholder_in
from ._context import Context, pick
from ._document import Block, Cell, KeyValues, Notice, Section, Table, TableRow

__all__ = ["Legal", "legal_of", "system_section", "template_record"]


def template_record(ctx: Context) -> Mapping[str, Any] | None:
    """The template record of the bundle's results, or None when the run used no template."""
    record = ctx.results.get("template")
    return record if isinstance(record, Mapping) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _ids(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, Sequence) else []


@dataclass(frozen=True)
class Legal:
    """The provisions, rights and jurisdictions of a template record, in one report language."""

    ctx: Context
    provisions: Mapping[str, Any]
    rights: Mapping[str, Any]
    jurisdictions: tuple[str, ...] | None

    def allowed(self, jurisdiction: Any) -> bool:
        """Whether the report shows provisions of ``jurisdiction`` (every one when the template lists none)."""
        return self.jurisdictions is None or jurisdiction is None or str(jurisdiction) in self.jurisdictions

    def jurisdiction_of(self, pid: str) -> str | None:
        """The jurisdiction of provision ``pid``, None when unknown."""
        j = _mapping(self.provisions.get(pid)).get("jurisdiction")
        return None if j is None else str(j)

    def shown(self, ids: Any) -> list[str]:
        """The ids of ``ids`` the report shows: those of a reported jurisdiction, and unknown ids."""
        return [p for p in _ids(ids) if self.allowed(self.jurisdiction_of(p))]

    def cite(self, pid: str, *, with_jurisdiction: bool = True) -> str:
        """'Participatiewet, art. 53a (NL)': the citation text of provision ``pid``; the id when unknown."""
        entry = _mapping(self.provisions.get(pid))
        citation, _ = pick(entry.get("citation"), self.ctx.loc.code)  # one text, or one per language
        if not citation:
            return pid
        title, _ = pick(entry.get("title"), self.ctx.loc.code)
        text = self.ctx.t("system.citation_titled", citation=citation, title=title) if title else citation
        j = entry.get("jurisdiction")
        return self.ctx.t("system.citation", text=text, jurisdiction=str(j)) if with_jurisdiction and j else text

    def cite_all(self, ids: Any, *, with_jurisdiction: bool = True) -> list[str]:
        """Citations of the shown ids of ``ids``."""
        return [self.cite(p, with_jurisdiction=with_jurisdiction) for p in self.shown(ids)]

    def right(self, rid: str) -> tuple[str, str | None]:
        """(title of right ``rid`` in the report language, the language it is in if another)."""
        title, lang = pick(_mapping(self.rights.get(rid)).get("title"), self.ctx.loc.code)
        return (title, lang) if title else (self.ctx.loc.label("right", rid), None)


def legal_of(ctx: Context) -> Legal | None:
    """The legal texts of the bundle's template, or None when the run used no template."""
    record = template_record(ctx)
    if record is None:
        return None
    jurisdictions = record.get("jurisdictions")
    return Legal(ctx, _mapping(record.get("provisions")), _mapping(record.get("rights")),
                 tuple(map(str, jurisdictions)) if isinstance(jurisdictions, Sequence)
                 and not isinstance(jurisdictions, str) else None)


def _text(ctx: Context, value: Any) -> Cell | None:
    text, lang = pick(value, ctx.loc.code)
    return Cell(text, lang=lang) if text else None


def _audited(ctx: Context, protected: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """The template's protected attributes the run audited (all of them when the results do not say)."""
    attributes = ctx.results.get("attributes")
    if not isinstance(attributes, list):
        return [(n, _mapping(a)) for n, a in protected.items()]
    names = {str(a.get("attribute")) for a in attributes if isinstance(a, Mapping)}
    return [(n, _mapping(a)) for n, a in protected.items() if n in names or str(_mapping(a).get("column")) in names]


def _system_rows(ctx: Context, record: Mapping[str, Any], legal: Legal) -> list[tuple[str, Cell]]:
    t, system = ctx.t, _mapping(record.get("system"))
    rows: list[tuple[str, Cell]] = []
    for key in ("name", "agency", "country", "purpose", "decision"):
        cell = _text(ctx, system.get(key))
        if cell is not None and placeholder_in(cell.text):  # a template's 'write the agency here' is no agency
            cell = Cell(t("system.placeholder"), suppressed=True)
        if cell is not None:
            rows.append((t(f"system.{key}"), cell))
    basis = legal.cite_all(system.get("legal_basis"))
    if basis:
        rows.append((t("system.legal_basis"), Cell("; ".join(basis))))
    register = system.get("register_id")
    url = system.get("register_url")
    if register or url:
        parts = [str(register)] if register else []
        if url:
            parts.append(f"({url})" if register else str(url))
        rows.append((t("system.register_id"), Cell(" ".join(parts))))
    for key in ("model", "designed_for"):
        cell = _text(ctx, system.get(key))
        if cell is not None:
            rows.append((t(f"system.{key}"), cell))
    population = _text(ctx, record.get("population"))
    if population is not None:
        rows.append((t("system.population"), population))
    if record.get("name"):
        rows.append((t("system.template"), Cell(str(record["name"]), code=True)))
    return rows


def _grounds_rows(ctx: Context, record: Mapping[str, Any], legal: Legal) -> list[TableRow]:
    rows: list[TableRow] = []
    for name, attr in _audited(ctx, _mapping(record.get("protected"))):
        label, lang = pick(attr.get("label"), ctx.loc.code)
        head = Cell(label or name, lang=lang if label else None)
        reference = Cell("—" if attr.get("reference") is None else ctx.group_label(name, str(attr["reference"])))
        grounds = _mapping(attr.get("grounds"))
        order = list(legal.jurisdictions or ()) + [j for j in grounds if j not in (legal.jurisdictions or ())]
        shown = [(j, legal.cite_all(grounds[j], with_jurisdiction=False)) for j in order
                 if j in grounds and legal.allowed(j)]
        shown = [(j, c) for j, c in shown if c]
        if not shown:
            rows.append(TableRow((head, reference, Cell("—"), Cell(ctx.t("system.no_grounds")))))
        for j, citations in shown:
            rows.append(TableRow((head, reference, Cell(j), Cell("; ".join(citations)))))
    return rows


def _left_out(ctx: Context, record: Mapping[str, Any], legal: Legal) -> list[str]:
    """Jurisdictions whose provisions the template names but the report leaves out (not in report.jurisdictions)."""
    if legal.jurisdictions is None:
        return []
    ids = _ids(_mapping(record.get("system")).get("legal_basis"))
    found: list[str] = []
    for _, attr in _audited(ctx, _mapping(record.get("protected"))):
        for j, pids in _mapping(attr.get("grounds")).items():
            found.append(str(j))
            ids += _ids(pids)
    for f in ctx.bundle.findings:
        ids += _ids(f.get("provisions"))
    found += [j for j in map(legal.jurisdiction_of, ids) if j is not None]
    return sorted({j for j in found if not legal.allowed(j)})


def system_section(ctx: Context) -> Section | None:
    """'The system': what the template says the audited system is, and the legal grounds of each protected
    attribute.  None when the run used no template."""
    record, legal = template_record(ctx), legal_of(ctx)
    if record is None or legal is None:
        return None
    t = ctx.t
    blocks: list[Block] = []
    rows = _system_rows(ctx, record, legal)
    if rows:
        blocks.append(KeyValues(t("system.caption"), tuple(rows)))
    grounds = _grounds_rows(ctx, record, legal)
    if grounds:
        blocks.append(Table(t("system.grounds_caption"), (t("system.col.attribute"), t("system.col.reference"),
                                                          t("system.col.jurisdiction"), t("system.col.grounds")),
                            tuple(grounds)))
    left_out = _left_out(ctx, record, legal)
    if left_out:
        blocks.append(Notice(t("system.left_out", left_out=", ".join(left_out),
                               jurisdictions=", ".join(legal.jurisdictions or ()))))
    if not blocks:
        return None
    return Section(id="system", title=t("system.title"), blocks=tuple(blocks))
