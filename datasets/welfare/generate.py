"""Seeded synthetic welfare-fraud decision data with a planted disparity.

A population of benefit recipients; a risk score that leans on proxies (the
language spoken at home and the neighbourhood), not on fraud itself; the top
10% of scores (among cases not drawn at random) selected for investigation; a
3% random control sample investigated too.  Fraud is planted at the same rate
(8%) in every group, so any difference in who is selected is the model's, and
outcomes are known only for investigated cases, as in real data.

Run ``python datasets/welfare/generate.py [ROWS] [OUT.csv]``; the shipped
``decisions.csv`` is ``python datasets/welfare/generate.py 6000``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261129


def generate(rows: int = 6000, seed: int = SEED) -> pd.DataFrame:
    """The decision table; same rows and seed give the same bytes."""
    rng = np.random.default_rng(seed)
    nationality = rng.choice(["Dutch", "EU", "non-EU"], rows, p=[0.76, 0.09, 0.15])
    foreign = nationality != "Dutch"
    language = np.where(rng.random(rows) < np.where(foreign, 0.7, 0.06), "other", "Dutch")
    gender = rng.choice(["F", "M"], rows, p=[0.55, 0.45])
    household = rng.choice(["single", "single parent", "couple", "couple with children"], rows,
                           p=[0.38, 0.17, 0.2, 0.25])
    neighbourhood = np.where(rng.random(rows) < np.where(foreign, 0.55, 0.2), "Zuid-Oost", "other")
    age_band = rng.choice(["18-26", "27-45", "46-66"], rows, p=[0.2, 0.5, 0.3])
    # The score uses proxies of nationality; fraud does not depend on any group.
    logit = (-2.2 + 0.9 * (language == "other") + 0.6 * (neighbourhood == "Zuid-Oost")
             + 0.35 * (household == "single parent") + 0.3 * (gender == "F") + rng.normal(0, 1, rows))
    risk = np.round(1 / (1 + np.exp(-logit)), 3)
    fraud = rng.random(rows) < 0.08
    is_random = rng.random(rows) < 0.03
    capacity = int(0.10 * (~is_random).sum())
    order = np.lexsort((np.arange(rows), -np.where(is_random, -np.inf, risk)))
    selected = np.zeros(rows, dtype=bool)
    selected[order[:capacity]] = True
    method = np.where(is_random, "random", np.where(selected, "model", "none"))
    investigated = selected | is_random
    found = np.where(investigated, np.where(fraud, "Ja", "Nee"), "")
    return pd.DataFrame({
        "applicant_id": [f"A{i:06d}" for i in range(rows)], "nationality": nationality, "gender": gender,
        "age_band": age_band, "language": language, "household": household, "neighbourhood": neighbourhood,
        "risk_score": risk, "selected": np.where(selected, "Ja", "Nee"), "selection_method": method,
        "fraud_found": found,
    })


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 6000
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).with_name("decisions.csv")
    generate(n).to_csv(out, index=False)
    print(f"wrote {n} rows to {out}")
