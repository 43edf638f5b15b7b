"""The texts of the request to a statistics office (:mod:`auditkit.linkage_request`): English and Dutch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["disclosure_text", "letter_en", "letter_nl"]


def _title(context: Mapping[str, Any], lang: str) -> str:
    title = getattr(context["template"], "title", None) or {}
    return str(title.get(lang) or title.get("en") or context["template"].name)


def _rounding(context: Mapping[str, Any], lang: str) -> str:
    b = context["rounding"]
    if b <= 1:
        return "Counts are not rounded." if lang == "en" else "Aantallen worden niet afgerond."
    if lang == "en":
        return (f"Counts may be rounded to a multiple of {b}. The audit reads a rounded count as given (it does not "
                f"model rounding): each count may be off by up to {b // 2}, which the lab states with every figure.")
    return (f"Aantallen mogen worden afgerond op een veelvoud van {b}. De analyse leest een afgerond aantal zoals het "
            f"er staat (afronding wordt niet gemodelleerd): elk aantal kan {b // 2} afwijken; het lab vermeldt dat "
            "bij elk cijfer.")


def disclosure_text(context: Mapping[str, Any]) -> str:
    """The disclosure rules the returned table follows, and how the audit reads them."""
    k, marker = context["min_cell"], context["marker"]
    return f"""# Disclosure rules for the returned table

- **Minimum cell size {k}.** A count from 0 to {k - 1} is not published: write `{marker}` in its place
  (exactly these characters). The audit reads such a cell as unknown between 0 and {k - 1}
  (`--suppressed '{marker}' --suppressed-range 0-{k - 1}`) and carries that range through every figure: rates
  and ratios become ranges, never a guess.
- **Secondary suppression.** Where a suppressed cell could be recovered by subtraction (from a row or group
  total the table also gives, or from the other cells of its group), suppress a second cell as well. The
  table asks for no totals, so that fewer cells need it.
- **Rounding.** {_rounding(context, "en")}
- **Zeros.** A true zero that the rules allow to publish is written `0`; a zero that is suppressed is written
  `{marker}`. Never write a suppressed cell as 0 or leave it blank: the audit would read it as a count.
- **No other changes.** Keep the header and the values of the key columns exactly as given; add no total
  rows (the audit recognises rows labelled Total/Totaal and leaves them out, but it is cleaner without).
"""


def letter_en(context: Mapping[str, Any]) -> str:
    """README.md: the request in English."""
    f, cols = context["fields"], context["columns"]
    protected = ", ".join(f"`{c}`" for c in f["protected"])
    stage = (f" at each step of the process ({', '.join(f.get('stage_order') or ())})" if f.get("stage") else "")
    return f"""# Request for a linked count table: {_title(context, "en")}

To the microdata service of the statistics office,

We are auditing the decisions of a government agency for disparities by {protected}. The agency's
file holds the decisions{stage} but not these attributes, which the office holds in its registers. We ask
the office to link the agency's decision file to its registers inside its secure environment and to return
**only a table of counts**, with the office's disclosure rules applied. No record about any person leaves
the secure environment, and we ask for none.

## What to link

`variables.csv` lists the variables: those that come from the agency's file (the decision, and where
given the outcome of the check, the process step, strata and selection method) and the attributes the office
attaches from its registers. The link key is agreed between the agency and the office.

## What to return

`return-table.csv` is the exact table to return: columns {", ".join(f"`{c}`" for c in cols)}. One row per
combination of the key columns; `count` is the number of people in it.

- `decision`: `selected` when the agency's decision is one of the values listed in `variables.csv`
  as selected, otherwise `not_selected`.
{"- `outcome`: `positive` or `negative` as the agency's outcome says; `unknown` when the case has none (for instance when it was not checked)." + chr(10) if f.get("truth") else ""}{"- `" + f["stage"] + "`: the process step; a person who reached a step is counted at that step, with `decision` saying whether they went on from it (at the last step: the final decision)." + chr(10) if f.get("stage") else ""}- The office's own categories of {protected}; where `return-table.csv` lists them, keep those rows.

The disclosure rules are in `disclosure.md` (minimum cell size {context["min_cell"]}, suppressed cells
written `{context["marker"]}`).

## How the table will be audited

With auditkit, exactly this command, on the table as returned (suppressed cells included):

```text
{context["command"]}
```

It measures every group's selection rate{" at every step" if f.get("stage") else ""}, the ratio to the
reference group with intervals and tests, and writes an evidence bundle that anyone can verify. Suppressed
cells stay ranges in every figure.
"""


def letter_nl(context: Mapping[str, Any]) -> str:
    """LEESMIJ.md: the request in Dutch."""
    f = context["fields"]
    protected = ", ".join(f"`{c}`" for c in f["protected"])
    return f"""# Verzoek om een gekoppelde teltabel: {_title(context, "nl")}

Aan de microdatadienst van het statistiekbureau,

Wij onderzoeken de beslissingen van een overheidsorganisatie op verschillen naar {protected}. Het
bestand van de organisatie bevat de beslissingen, maar niet deze kenmerken; het bureau heeft ze in zijn
registers. Wij vragen het bureau het beslissingenbestand in zijn beveiligde omgeving aan zijn registers te
koppelen en **alleen een tabel met aantallen** terug te geven, met de geheimhoudingsregels van het bureau
toegepast. Geen gegeven over een persoon verlaat de beveiligde omgeving, en wij vragen er geen.

- `variables.csv`: de variabelen om te koppelen (uit het bestand van de organisatie) en de kenmerken die het
  bureau toevoegt.
- `return-table.csv`: de precieze tabel om terug te geven; `count` is het aantal personen per rij;
  `decision` is `selected` of `not_selected`{"; `outcome` is `positive`, `negative` of `unknown`" if f.get("truth") else ""}.
- `disclosure.md`: minimale celgrootte {context["min_cell"]}; een onderdrukte cel wordt geschreven als
  `{context["marker"]}`, nooit als 0 of leeg. {_rounding(context, "nl")}

De teruggegeven tabel wordt geanalyseerd met precies deze opdracht (onderdrukte cellen blijven bandbreedtes):

```text
{context["command"]}
```
"""
