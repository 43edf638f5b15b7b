"""Policing and criminal justice: risk-based stop and search, and a recidivism risk score."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._cells import Factor, SyntheticData, cell_table, draw_cells, pick, planted_ratios

__all__ = ["police_stops", "recidivism"]

SEED = 20261129
_ETHNICITY = ("White", "Black", "Asian", "Mixed", "Other")
_AREA = ("North", "East", "South", "West")
_COMPOSITION = dict(zip(_AREA, ((0.7, 0.12, 0.1, 0.05, 0.03), (0.55, 0.2, 0.15, 0.06, 0.04),
                                (0.45, 0.3, 0.12, 0.08, 0.05), (0.6, 0.1, 0.2, 0.06, 0.04))))
_AREA_HIT = dict(zip(_AREA, (0.8, 1.0, 1.1, 1.25)))


def police_stops(rows: int = 3000, seed: int = SEED, *, planted: bool = True, hit_rate: float = 0.25,
                 hit_ratios: dict[str, float] | None = None) -> SyntheticData:
    """Stop-and-search records: every row is a stop, so only the hit rate can be compared (the outcome test).

    The hit rate (the search found something that led to an arrest, a community resolution or a
    penalty notice) is ``hit_rate`` for White people times the group's factor in ``hit_ratios``
    (default Black 0.6, Asian 0.8: officers search them on weaker grounds) times an area factor;
    areas differ in who lives there.  The planted ratios are exact over that mix.  ``planted=False``
    removes the group and the area factors.
    """
    ratios = {"Black": 0.6, "Asian": 0.8} if hit_ratios is None else dict(hit_ratios)
    cells = cell_table([
        Factor("area", _AREA, (0.3, 0.25, 0.25, 0.2)),
        Factor("officer_defined_ethnicity", _ETHNICITY, lambda c: _COMPOSITION[c["area"]]),
        Factor("gender", ("Male", "Female"), (0.88, 0.12)),
        Factor("age_group", ("10-17", "18-24", "25-34", "over 34"), (0.15, 0.35, 0.25, 0.25)),
    ])
    group = cells["officer_defined_ethnicity"].map(lambda e: ratios.get(e, 1.0) if planted else 1.0)
    area = cells["area"].map(lambda a: _AREA_HIT[a] if planted else 1.0)
    cells["q"] = 1.0
    cells["y"] = hit_rate * group.to_numpy() * area.to_numpy()
    rng = np.random.default_rng(seed)
    df = draw_cells(cells, rows, rng)
    hit = rng.random(rows) < df["y"].to_numpy()
    kind = np.array(["Arrest", "Community resolution", "Penalty notice"])[pick(rng, (0.5, 0.3, 0.2), rows)]
    legislation = np.array(["PACE 1984 s.1", "Misuse of Drugs Act 1971 s.23",
                            "CJPOA 1994 s.60"])[pick(rng, (0.35, 0.55, 0.1), rows)]
    frame = pd.DataFrame({
        "stop_id": [f"P{i:06d}" for i in range(rows)], "area": df["area"],
        "officer_defined_ethnicity": df["officer_defined_ethnicity"], "gender": df["gender"],
        "age_group": df["age_group"], "legislation": legislation, "searched": "yes",
        "outcome": np.where(hit, kind, "No further action"),
    })
    refs = {"officer_defined_ethnicity": "White", "gender": "Male"}
    truth = planted_ratios(cells, ("officer_defined_ethnicity", "gender"), refs, ("ppv",))
    audit = dict(protected=("officer_defined_ethnicity", "gender"), references=refs, decision="searched",
                 positive=("yes",), truth="outcome", truth_positive=("Arrest", "Community resolution", "Penalty notice"),
                 truth_negative=("No further action",), strata=("area",))
    params = dict(planted=planted, hit_rate=hit_rate, hit_ratios=ratios if planted else {})
    return SyntheticData("police-stops", frame, tuple(truth), audit, seed, params)


_RACE = ("African-American", "Caucasian", "Hispanic", "Other")
_BASE = dict(zip(_RACE, (0.51, 0.39, 0.37, 0.36)))
_TPR = dict(zip(_RACE, (0.72, 0.50, 0.44, 0.40)))
_FPR = dict(zip(_RACE, (0.42, 0.22, 0.19, 0.16)))


def recidivism(rows: int = 4000, seed: int = SEED, *, planted: bool = True) -> SyntheticData:
    """Defendants with a 1-10 risk decile and whether they were charged again within two years.

    Shaped after the COMPAS data ProPublica published (not drawn from it).  Base rates differ by
    race, and the score's error rates are planted per race: a decile of 5 or more ('Medium' or
    'High') is given to a share ``TPR`` of those who re-offend and ``FPR`` of those who do not
    (African-American 0.72 / 0.42, Caucasian 0.50 / 0.22, Hispanic 0.44 / 0.19, Other 0.40 / 0.16).
    So false-positive rates differ by group while every rate is known exactly.  ``planted=False``
    gives every group base rate 0.45, TPR 0.6 and FPR 0.3.
    """
    base = _BASE if planted else dict.fromkeys(_RACE, 0.45)
    tpr = _TPR if planted else dict.fromkeys(_RACE, 0.6)
    fpr = _FPR if planted else dict.fromkeys(_RACE, 0.3)
    cells = cell_table([
        Factor("race", _RACE, (0.51, 0.34, 0.09, 0.06)),
        Factor("sex", ("Male", "Female"), (0.81, 0.19)),
        Factor("age_cat", ("Less than 25", "25 - 45", "Greater than 45"), (0.22, 0.57, 0.21)),
        Factor("recid", ("1", "0"), lambda c: (base[c["race"]], 1 - base[c["race"]])),
    ])
    positive = (cells["recid"] == "1").to_numpy()
    cells["y"] = positive.astype(float)
    cells["q"] = np.where(positive, cells["race"].map(tpr), cells["race"].map(fpr))
    rng = np.random.default_rng(seed)
    df = draw_cells(cells, rows, rng)
    high = rng.random(rows) < df["q"].to_numpy()
    decile = np.where(high, 5 + np.floor(rng.random(rows) * 6), 1 + np.floor(rng.random(rows) * 4)).astype(int)
    priors = np.floor(np.log(np.maximum(rng.random(rows), 1e-12)) / np.log(np.where(df["y"] > 0, 0.75, 0.6)))
    frame = pd.DataFrame({
        "id": np.arange(1, rows + 1), "race": df["race"], "sex": df["sex"], "age_cat": df["age_cat"],
        "priors_count": priors.astype(int), "decile_score": decile,
        "score_text": np.select([decile >= 8, decile >= 5], ["High", "Medium"], "Low"),
        "two_year_recid": df["recid"].astype(int),
    })
    refs = {"race": "Caucasian", "sex": "Male"}
    truth = planted_ratios(cells, ("race", "sex"), refs, ("selection_rate", "base_rate", "fpr", "fnr", "ppv"))
    audit = dict(protected=("race", "sex"), references=refs, score="decile_score", threshold=5.0,
                 truth="two_year_recid", truth_positive=("1",))
    params = dict(planted=planted, base_rate=base, tpr=tpr, fpr=fpr)
    return SyntheticData("recidivism", frame, tuple(truth), audit, seed, params)
