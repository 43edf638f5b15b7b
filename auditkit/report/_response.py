"""The agency's side and the corrections log: ``response.yaml`` and ``corrections.yaml`` in a bundle.

A published audit is credible when the audited agency's own claims are set next to the evidence, when the
agency was asked for comment before publication and its answer is printed, and when corrections are
logged in public.  Both files are written by the auditors after the run (they are not measurements);
the report prints the sha256 of each, so a reader can check that the reply and log they read are the
bundle's.  The format is documented in docs/reports.md ("The agency's side").

``response.yaml``::

    agency: Gemeente Voorbeeld                  # optional; text or {en: ..., nl: ...}
    claims:
      - id: C1                                  # unique
        claim: {en: The model does not discriminate., nl: Het model discrimineert niet.}
        source: Letter to the council, 3 March 2025, p. 2
        says: no_difference                     # no_difference | difference | other
        attribute: nationality                  # the comparisons it is checked against (or evidence: [ids])
      - id: C2
        claim: Nationality is not used.
        says: other                             # the auditors' own assessment, with the findings it rests on
        assessment: contradicts                 # supports | contradicts | not_checkable
        findings: [F-954ba422]
    reply:
      asked: 2026-11-01                         # when the findings were sent for comment (text)
      received: 2026-11-20                      # absent: no reply received
      text: {en: ..., nl: ...}
      findings: {F-954ba422: {en: ..., nl: ...}}

``corrections.yaml``: ``corrections: [{date: 2026-12-02, text: ..., findings: [F-...]}]``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exceptions import InputDataError

__all__ = ["CLAIM_ASSESSMENTS", "CLAIM_SAYS", "Response", "read_response"]

RESPONSE_FILE = "response.yaml"
CORRECTIONS_FILE = "corrections.yaml"
CLAIM_SAYS = ("no_difference", "difference", "other")
CLAIM_ASSESSMENTS = ("supports", "contradicts", "not_checkable")
_TOP = {"response.yaml": ("agency", "claims", "reply"), "corrections.yaml": ("corrections",)}
_CLAIM_KEYS = ("id", "claim", "source", "says", "attribute", "evidence", "findings", "assessment")
_REPLY_KEYS = ("asked", "received", "text", "source", "findings")


@dataclass(frozen=True)
class Response:
    """What the bundle records of the agency's side: the parsed files and their sha256 (None when absent)."""

    response: Mapping[str, Any] | None
    response_sha256: str | None
    corrections: list[Mapping[str, Any]]
    corrections_sha256: str | None


def _fail(path: Path, where: str, message: str, fix: str) -> InputDataError:
    return InputDataError(f"{path}: {where}: {message} {fix}")


def _read(path: Path) -> tuple[Any, str] | None:
    if not path.is_file():
        return None
    raw = path.read_bytes()
    from .._yaml import load_yaml

    try:
        data = load_yaml(raw.decode("utf-8"))
    except Exception as err:  # noqa: BLE001 - any parse error becomes one message naming the file
        raise InputDataError(f"{path}: cannot be read as YAML ({err}). Fix the file, or remove it from the "
                             "bundle.") from err
    if not isinstance(data, Mapping):
        raise _fail(path, "(the whole file)", f"expected a mapping with {', '.join(_TOP[path.name])}; got "
                    f"{type(data).__name__}.", "See docs/reports.md, 'The agency's side'.")
    unknown = sorted(set(map(str, data)) - set(_TOP[path.name]))
    if unknown:
        from .._text import did_you_mean

        raise _fail(path, unknown[0], f"unknown key.{did_you_mean(unknown[0], _TOP[path.name])}",
                    f"Keys: {', '.join(_TOP[path.name])}.")
    return data, hashlib.sha256(raw).hexdigest()


def _text_ok(value: Any) -> bool:
    return (isinstance(value, str) and bool(value.strip())) or (
        isinstance(value, Mapping) and bool(value) and all(isinstance(v, str) for v in value.values()))


def _check_claims(path: Path, claims: Any) -> None:
    if not isinstance(claims, list):
        raise _fail(path, "claims", f"expected a list of claims; got {type(claims).__name__}.",
                    "Write claims: [{id: C1, claim: ..., says: no_difference, attribute: ...}].")
    seen: set[str] = set()
    for n, c in enumerate(claims):
        where = f"claims[{n}]"
        if not isinstance(c, Mapping):
            raise _fail(path, where, f"expected a mapping; got {type(c).__name__}.", "Give id, claim and says.")
        unknown = sorted(set(map(str, c)) - set(_CLAIM_KEYS))
        if unknown:
            raise _fail(path, f"{where}.{unknown[0]}", "unknown key.", f"Keys: {', '.join(_CLAIM_KEYS)}.")
        cid = str(c.get("id", ""))
        if not cid or cid in seen:
            raise _fail(path, f"{where}.id", f"every claim needs a unique id; got {c.get('id')!r}.", "E.g. id: C1.")
        seen.add(cid)
        if not _text_ok(c.get("claim")):
            raise _fail(path, f"{where}.claim", "missing: the claim as the agency made it.",
                        "Give a text, or one per language: {en: ..., nl: ...}.")
        says = c.get("says", "other")
        if says not in CLAIM_SAYS:
            raise _fail(path, f"{where}.says", f"expected one of {', '.join(CLAIM_SAYS)}; got {says!r}.",
                        "no_difference: the agency says groups are treated alike.")
        if says == "other" and c.get("assessment") not in CLAIM_ASSESSMENTS:
            raise _fail(path, f"{where}.assessment", f"a claim with says: other needs the auditors' assessment, "
                        f"one of {', '.join(CLAIM_ASSESSMENTS)}; got {c.get('assessment')!r}.",
                        "Add assessment: and the findings it rests on.")


def read_response(bundle: Path) -> Response:
    """Read and check ``response.yaml`` and ``corrections.yaml`` of ``bundle`` (both optional)."""
    response = _read(bundle / RESPONSE_FILE)
    if response is not None:
        data = response[0]
        if "claims" in data:
            _check_claims(bundle / RESPONSE_FILE, data["claims"])
        reply = data.get("reply")
        if reply is not None and (not isinstance(reply, Mapping) or set(map(str, reply)) - set(_REPLY_KEYS)):
            raise _fail(bundle / RESPONSE_FILE, "reply", "expected a mapping with some of "
                        f"{', '.join(_REPLY_KEYS)}.", "See docs/reports.md, 'The agency's side'.")
    corrections = _read(bundle / CORRECTIONS_FILE)
    entries: list[Mapping[str, Any]] = []
    if corrections is not None:
        raw = corrections[0].get("corrections") or []
        if not isinstance(raw, list) or not all(isinstance(e, Mapping) and _text_ok(e.get("text")) for e in raw):
            raise _fail(bundle / CORRECTIONS_FILE, "corrections", "expected a list of {date, text, findings}, "
                        "each with a text.", "E.g. corrections: [{date: 2026-12-02, text: The ratio of ... was ...}].")
        entries = list(raw)
    return Response(response=None if response is None else response[0],
                    response_sha256=None if response is None else response[1],
                    corrections=entries, corrections_sha256=None if corrections is None else corrections[1])
