"""From a merged template to the keyword fields of :class:`~auditkit.AuditSpec`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["spec_fields", "texts"]

_MEASURES = ("metrics", "min_group_size", "level", "alpha", "test", "adjust", "max_depth", "selection_is",
             "reference_rule", "bootstrap", "seed")


def texts(values: Iterable[Any]) -> tuple[str, ...]:
    """Values as text: YAML reads ``1`` as a number, but data values are matched as text, as typed on the command line."""
    return tuple(str(v) for v in values)


def _decision(data: Mapping[str, Any], for_model: bool) -> dict[str, Any]:
    columns, rule = data.get("data", {}), data.get("decision_rule", {})
    out: dict[str, Any] = {k: rule[k] for k in ("threshold", "top", "top_n") if k in rule}
    if for_model:
        return out
    if "count_table" in columns:
        table = columns["count_table"]
        out = {k: table[k] for k in ("count_column", "cell_column") if k in table}
        if "cells" in table:
            out["cells"] = dict(table["cells"])
        if "suppressed" in table:
            out["suppressed"] = texts(table["suppressed"])
        if "suppressed_range" in table:
            out["suppressed_range"] = tuple(table["suppressed_range"])
        if "decision" in columns:
            out.update(decision=columns["decision"]["column"])
            if "positive" in columns["decision"]:
                out["positive"] = texts(columns["decision"]["positive"])
        return out
    if rule.get("decide_by", "decision" if "decision" in columns else "score") == "score":
        return {**out, "score": columns["score"]["column"]}
    decision = columns["decision"]
    return {"decision": decision["column"],
            **({"positive": texts(decision["positive"])} if "positive" in decision else {})}


def spec_fields(data: Mapping[str, Any], protected: Sequence[Any], *, for_model: bool = False) -> dict[str, Any]:
    """The AuditSpec fields the template ``data`` sets; ``protected`` are its :class:`ProtectedAttribute` records."""
    from ..spec import Filter

    columns = data.get("data", {})
    fields: dict[str, Any] = {"protected": tuple(a.column for a in protected),
                              "references": {a.column: a.reference for a in protected if a.reference is not None}}
    fields.update(_decision(data, for_model))
    if "outcome" in columns:
        outcome = columns["outcome"]
        fields["truth"] = outcome["column"]
        for key, name in (("positive", "truth_positive"), ("negative", "truth_negative")):
            if key in outcome:
                fields[name] = texts(outcome[key])
    if "strata" in columns:
        fields["strata"] = tuple(columns["strata"])
    if "stage" in columns:
        fields["stage"] = columns["stage"]["column"]
        if "order" in columns["stage"]:
            fields["stage_order"] = texts(columns["stage"]["order"])
        if "person" in columns["stage"]:
            fields["person"] = columns["stage"]["person"]
    if "period" in columns:
        fields["period"] = columns["period"]["column"]
        if "freq" in columns["period"]:
            fields["period_freq"] = columns["period"]["freq"]
        if "order" in columns["period"]:
            fields["period_order"] = texts(columns["period"]["order"])
    if "selection_method" in columns:
        fields["selection_method"] = columns["selection_method"]["column"]
        fields["random"] = texts(columns["selection_method"]["random"])
    if "filters" in columns:
        fields["filters"] = tuple(Filter(f["column"], texts(f["values"]), bool(f.get("keep", True)))
                                  for f in columns["filters"])
    if "missing_values" in columns:
        fields["missing_values"] = texts(columns["missing_values"])
    measures = data.get("measures", {})
    fields.update({k: measures[k] for k in _MEASURES if k in measures})
    band = (measures.get("screening_bands") or {}).get("selection_rate")
    if isinstance(band, Mapping) and "low" in band and "high" in band:
        fields["screening_band"] = (float(band["low"]), float(band["high"]))
    if "metrics" in fields:
        fields["metrics"] = tuple(fields["metrics"])
    if "threshold" in fields:
        fields["threshold"] = float(fields["threshold"])
    if "top" in fields:
        fields["top"] = float(fields["top"])
    return fields
