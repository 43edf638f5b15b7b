"""Write the synthetic country of this folder: decisions per postcode, area statistics, and the hidden truth.

Run from the repository root: ``python datasets/area-country/generate.py``.  Seeded (20261207): the same
command writes the same bytes, and a test checks that the shipped files are exactly what it writes.

Every person of the country has a postcode and a migration background.  The decision files give the
postcode, the decision and the outcome, never the background: that is what an agency's file looks like.
The statistics office's tables give the people per postcode and background.  ``truth.json`` holds what
only this script knows -- each group's true selection rate in each scenario -- for tests and docs only;
an audit never reads it.

Two scenarios select from the same people:

``decisions-area.csv``
    selection depends on the postcode only (neighbourhoods with many residents with a non-western
    background are targeted); within a postcode, every background is selected alike.  The area-weighted
    estimator's assumption holds.
``decisions-group.csv``
    selection depends on the person's background (4%, 6%, 12%), the same in every postcode.  The
    area-weighted estimator's assumption fails (it is pulled towards no difference); ecological
    regression's homogeneity holds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 20261207
GROUPS = ("none", "western", "non-western")
#: Scenario 'group': each background's selection probability, the same in every postcode.
GROUP_RATES = (0.04, 0.06, 0.12)
#: Postcodes renumbered since the decisions were made: old -> [(new, share of its cases)].  0150 became
#: 0151; 0281 and 0282 were merged into 0280.
CROSSWALK = {"0150": [("0151", 1.0)], "0281": [("0280", 1.0)], "0282": [("0280", 1.0)]}
AREAS = 60


def _country(rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """Postcodes (composition's codes, leading zeros) and the people per postcode and background."""
    codes = [f"{100 + 10 * i:04d}" for i in range(AREAS)]
    codes[codes.index("0150")] = "0151"
    size = rng.integers(60, 400, AREAS)
    nonwestern = rng.beta(1.2, 3.0, AREAS)
    western = rng.uniform(0.03, 0.15, AREAS)
    share = np.column_stack([1 - nonwestern - western, western, nonwestern]).clip(0, 1)
    people = np.floor(size[:, None] * share).astype(int)
    return codes, people


def _selected(rng: np.random.Generator, people: np.ndarray, scenario: str) -> np.ndarray:
    if scenario == "area":
        share = people[:, 2] / people.sum(axis=1)
        p = np.repeat((0.02 + 0.2 * share)[:, None], 3, axis=1)
    else:
        p = np.tile(GROUP_RATES, (len(people), 1))
    return rng.binomial(people, p)


def _decision_codes(code: str, n: int, rng: np.random.Generator) -> list[str]:
    """The postcode of each of ``n`` cases as the agency wrote it: the old code where it was renumbered."""
    old = [o for o, targets in CROSSWALK.items() if code in [t[0] for t in targets]]
    return [code] * n if not old else [old[i] for i in rng.integers(0, len(old), n)]


def _rows(rng: np.random.Generator, codes: list[str], people: np.ndarray, selected: np.ndarray) -> str:
    rows = []
    for a, code in enumerate(codes):
        for g in range(3):
            n, s = int(people[a, g]), int(selected[a, g])
            found = rng.binomial(s, 0.15)
            written = _decision_codes(code, n, rng)
            rows += [(written[i], 1, int(i < found)) for i in range(s)]
            rows += [(written[i], 0, None) for i in range(s, n)]
    order = rng.permutation(len(rows))
    lines = ["postcode,selected,fraud_found"]
    lines += [f"{rows[i][0]},{rows[i][1]},{'' if rows[i][2] is None else rows[i][2]}" for i in order]
    return "\n".join(lines) + "\n"


def _long(codes: list[str], people: np.ndarray) -> str:
    """Counts, one row per postcode and background; cells under 5 suppressed as '<5' (as offices do)."""
    lines = ["postcode,migration_background,people"]
    for a, code in enumerate(codes):
        for g, group in enumerate(GROUPS):
            lines.append(f"{code},{group},{people[a, g] if people[a, g] >= 5 else '<5'}")
    lines += [f"{code},{group},{n}" for code, counts in (("0990", (40, 5, 12)), ("0995", (0, 0, 0)))
              for group, n in zip(GROUPS, counts)]
    return "\n".join(lines) + "\n"


def _wide(codes: list[str], people: np.ndarray) -> str:
    """Percentages with one decimal (decimal comma, semicolons: a Dutch spreadsheet export) and the population."""
    lines = ["postcode;none;western;non-western;population"]
    for a, code in enumerate(codes):
        total = people[a].sum()
        pct = [f"{100 * people[a, g] / total:.1f}".replace(".", ",") for g in range(3)]
        lines.append(f"{code};{';'.join(pct)};{total}")
    return "\n".join(lines) + "\n"


def _truth(people: np.ndarray, selected: dict[str, np.ndarray]) -> str:
    out = {"note": "Hidden truth of the synthetic country, for tests and docs only: an audit never reads it.",
           "seed": SEED, "groups": list(GROUPS), "people": people.sum(axis=0).tolist(), "scenarios": {}}
    for name, sel in selected.items():
        rate = sel.sum(axis=0) / people.sum(axis=0)
        out["scenarios"][name] = {"selected": sel.sum(axis=0).tolist(), "rate": [round(float(r), 6) for r in rate],
                                  "ratio_to_none": [round(float(r / rate[0]), 6) for r in rate]}
    return json.dumps(out, indent=2) + "\n"


def files() -> dict[str, str]:
    """Every file of the folder, by name."""
    rng = np.random.default_rng(SEED)
    codes, people = _country(rng)
    selected = {s: _selected(rng, people, s) for s in ("area", "group")}
    out = {f"decisions-{s}.csv": _rows(rng, codes, people, selected[s]) for s in ("area", "group")}
    out["composition-long.csv"] = _long(codes, people)
    out["composition-wide.csv"] = _wide(codes, people)
    out["crosswalk.csv"] = "old_code,new_code,weight\n" + "".join(
        f"{old},{new},{w:g}\n" for old, targets in CROSSWALK.items() for new, w in targets)
    out["truth.json"] = _truth(people, selected)
    return out


def main(folder: Path = HERE) -> None:
    """Write every file into ``folder``."""
    for name, text in files().items():
        (folder / name).write_text(text, encoding="utf-8", newline="")
        print(f"wrote {name} ({len(text):,} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
