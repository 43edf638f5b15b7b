"""Write the over-time welfare example: eight years of selections with a disparity that appears, persists and moves.

Run from the repository root: ``python datasets/welfare-over-time/generate.py``.  It writes, beside itself,

* ``decisions.csv`` — one row per recipient and year (2014–2021, 2,500 a year): ``case_id``, ``year``,
  ``decision_date``, ``nationality``, ``gender``, ``model_version``, ``selected`` (Ja/Nee);
* ``counts.csv`` — the same selections as the count table an agency would publish (year x nationality x
  gender x selected, with ``count``);
* ``planted.json`` — the true selection-rate ratio of every group to its reference in every year.

The world (rates are exact in expectation, a case's chance of selection is a product of factors):

* 2014, ``rules-2014``: manual selection rules; every group has the same rate (8%);
* 2015–2018, ``model-v1``: a risk model selects non-EU recipients 2.0 times as often as Dutch ones;
* 2019–2021, ``model-v2-reweighted``: the agency re-weighted the model to remove the nationality
  disparity; non-EU recipients are now selected as often as Dutch ones, but women 1.8 times as often as
  men (the proxies the re-weighting leaned on are more common among women): the disparity moved.

``control=True`` (``--control``) writes the no-change control instead: non-EU 2.0 in every year, nothing
else.  Seeded (seed 20261207): the same command writes the same bytes; a test checks the shipped files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261207
YEARS = tuple(range(2014, 2022))
PER_YEAR = 2500
BASE_RATE = 0.08
NATIONALITY = (("Dutch", 0.60), ("EU", 0.15), ("non-EU", 0.25))
GENDER = (("F", 0.5), ("M", 0.5))
REFERENCES = {"nationality": "Dutch", "gender": "M"}


def version(year: int) -> str:
    """The selection process in force in ``year``."""
    return "rules-2014" if year < 2015 else "model-v1" if year < 2019 else "model-v2-reweighted"


def factors(year: int, control: bool = False) -> dict[tuple[str, str], float]:
    """Each group's multiplier of the base rate in ``year`` (the groups not named have 1)."""
    if control:
        return {("nationality", "non-EU"): 2.0}
    v = version(year)
    if v == "model-v1":
        return {("nationality", "non-EU"): 2.0}
    if v == "model-v2-reweighted":
        return {("gender", "F"): 1.8}
    return {}


def frame(seed: int = SEED, control: bool = False) -> pd.DataFrame:
    """The rows of every year."""
    rng = np.random.default_rng(seed)
    parts = []
    for year in YEARS:
        nat = rng.choice([n for n, _ in NATIONALITY], PER_YEAR, p=[p for _, p in NATIONALITY])
        gen = rng.choice([g for g, _ in GENDER], PER_YEAR, p=[p for _, p in GENDER])
        f = factors(year, control)
        chance = BASE_RATE * np.array([f.get(("nationality", n), 1.0) for n in nat]) \
            * np.array([f.get(("gender", g), 1.0) for g in gen])
        selected = rng.random(PER_YEAR) < chance
        day = rng.integers(0, 365, PER_YEAR)
        dates = (np.datetime64(f"{year}-01-01") + day.astype("timedelta64[D]")).astype(str)
        parts.append(pd.DataFrame({"year": year, "decision_date": dates, "nationality": nat, "gender": gen,
                                   "model_version": "control" if control else version(year),
                                   "selected": np.where(selected, "Ja", "Nee")}))
    df = pd.concat(parts, ignore_index=True)
    df.insert(0, "case_id", [f"W{i:06d}" for i in range(len(df))])
    return df


def counts(df: pd.DataFrame) -> pd.DataFrame:
    """The published count table: every year x nationality x gender x selected cell, empty ones too."""
    keys = ["year", "nationality", "gender", "selected"]
    full = pd.MultiIndex.from_product([YEARS, [n for n, _ in NATIONALITY], [g for g, _ in GENDER], ["Ja", "Nee"]],
                                      names=keys)
    return df.groupby(keys).size().reindex(full, fill_value=0).rename("count").reset_index()


def planted(control: bool = False) -> dict:
    """The true ratio of each group to its reference, per year (gender and nationality are independent)."""
    truth = []
    for year in YEARS:
        f = factors(year, control)
        for attribute, levels in (("nationality", NATIONALITY), ("gender", GENDER)):
            ref = REFERENCES[attribute]
            for level, _ in levels:
                if level != ref:
                    ratio = f.get((attribute, level), 1.0) / f.get((attribute, ref), 1.0)
                    truth.append({"year": year, "attribute": attribute, "group": level, "reference": ref,
                                  "metric": "selection_rate", "ratio": ratio, "planted": ratio != 1.0})
    return {"seed": SEED, "rows_per_year": PER_YEAR, "base_rate": BASE_RATE, "control": control,
            "versions": {str(y): ("control" if control else version(y)) for y in YEARS}, "planted": truth}


def render(seed: int = SEED, control: bool = False) -> dict[str, str]:
    """File name -> text of every file this script writes."""
    df = frame(seed, control)
    return {"decisions.csv": df.to_csv(index=False, lineterminator="\n"),
            "counts.csv": counts(df).to_csv(index=False, lineterminator="\n"),
            "planted.json": json.dumps(planted(control), indent=2) + "\n"}


def main(out: Path, control: bool = False) -> None:
    """Write the files into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for name, text in render(SEED, control).items():
        (out / name).write_text(text, encoding="utf-8", newline="")
        print(f"wrote {out / name} ({len(text):,} bytes)")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--control"]
    main(Path(args[0]) if args else Path(__file__).resolve().parent, control="--control" in sys.argv[1:])
