"""Benefit fraud: a municipal welfare-fraud risk score, and a childcare-benefit risk classification."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._cells import (
    Factor,
    SyntheticData,
    cell_table,
    draw_cells,
    ja,
    pick,
    planted_ratios,
    random_sample_ratios,
    scale_to_share,
    score_and_select,
    solve_weight,
)

__all__ = ["childcare_benefit", "welfare", "welfare_history"]

SEED = 20261129
_NAT = ("Dutch", "EU", "non-EU")
_OTHER_LANGUAGE = dict(zip(_NAT, (0.06, 0.5, 0.7)))
_ZUID_OOST = dict(zip(_NAT, (0.2, 0.35, 0.55)))
_AGE_BANDS = {"18-26": (18, 9), "27-45": (27, 19), "46-66": (46, 21)}


def _population() -> pd.DataFrame:
    """Cells of the recipient population: nationality drives the two proxies (language, Zuid-Oost)."""
    return cell_table([
        Factor("nationality", _NAT, (0.76, 0.09, 0.15)),
        Factor("gender", ("F", "M"), (0.55, 0.45)),
        Factor("age_band", tuple(_AGE_BANDS), (0.2, 0.5, 0.3)),
        Factor("household", ("single", "single parent", "couple", "couple with children"), (0.38, 0.17, 0.2, 0.25)),
        Factor("language", ("Dutch", "other"),
               lambda c: (1 - _OTHER_LANGUAGE[c["nationality"]], _OTHER_LANGUAGE[c["nationality"]])),
        Factor("zone", ("Zuid-Oost", "elsewhere"),
               lambda c: (_ZUID_OOST[c["nationality"]], 1 - _ZUID_OOST[c["nationality"]])),
    ])


def _people(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Applicant columns an agency extract has, including the model's numeric inputs."""
    rows = len(df)
    elsewhere = np.array(["Centrum", "Noord", "Oost", "West"])[pick(rng, (0.25,) * 4, rows)]
    start = df["age_band"].map(lambda b: _AGE_BANDS[b][0]).to_numpy()
    width = df["age_band"].map(lambda b: _AGE_BANDS[b][1]).to_numpy()
    age = start + np.floor(rng.random(rows) * width).astype(int)
    months = 1 + np.floor(rng.random(rows) * 120).astype(int)
    return pd.DataFrame({
        "applicant_id": [f"A{i:06d}" for i in range(rows)],
        "nationality": df["nationality"], "gender": df["gender"], "age": age, "age_band": df["age_band"],
        "language": df["language"], "household": df["household"],
        "neighbourhood": np.where(df["zone"] == "Zuid-Oost", "Zuid-Oost", elsewhere),
        "months_on_benefit": months,
        "dutch_language_requirement_met": (df["language"] == "Dutch").astype(int),
        "lives_in_zuid_oost": (df["zone"] == "Zuid-Oost").astype(int),
        "single_parent": (df["household"] == "single parent").astype(int),
    })


def welfare(rows: int = 6000, seed: int = SEED, *, planted: bool = True, nationality_ratio: float = 2.0,
            gender_ratio: float = 1.25, single_parent_ratio: float = 1.5, fraud_rate: float = 0.08,
            random_share: float = 0.03, selection_share: float = 0.10) -> SyntheticData:
    """Benefit recipients of a city, a fraud-risk score that leans on proxies, investigations, a random sample.

    The score uses the language spoken at home and living in Zuid-Oost (proxies of nationality),
    gender and single parenthood -- never nationality.  The proxy weight is solved so that non-EU
    recipients are selected exactly ``nationality_ratio`` times as often as Dutch ones in expectation;
    the EU ratio follows from the same weight.  Women are selected ``gender_ratio`` times as often as
    men, single parents ``single_parent_ratio`` times as often as others.  Cases scoring 0.5 or more
    are investigated (about ``selection_share`` of them: the capacity); a ``random_share`` random
    control sample is investigated too.  Fraud is ``fraud_rate`` for everyone, so hit rates do not
    differ, and outcomes are known only for investigated cases (selective labels).
    """
    if not planted:
        nationality_ratio = gender_ratio = single_parent_ratio = 1.0
    cells = _population()
    load = (cells["language"] == "other").to_numpy(float) + (cells["zone"] == "Zuid-Oost").to_numpy(float)
    other = (np.where(cells["gender"] == "F", gender_ratio, 1.0)
             * np.where(cells["household"] == "single parent", single_parent_ratio, 1.0))
    beta = solve_weight(cells, load, other, {"nationality": "non-EU"}, {"nationality": "Dutch"}, nationality_ratio)
    cells["q"] = scale_to_share(cells, other * np.exp(beta * load), selection_share)
    cells["y"] = fraud_rate
    rng = np.random.default_rng(seed)
    df = draw_cells(cells, rows, rng)
    score, model_pick = score_and_select(df["q"].to_numpy(), rng)
    is_random = rng.random(rows) < random_share
    fraud = rng.random(rows) < fraud_rate
    frame = _people(df, rng)
    selected = model_pick & ~is_random
    frame["risk_score"] = score
    frame["selected"] = ja(selected)
    frame["selection_method"] = np.where(is_random, "random", np.where(selected, "model", "none"))
    frame["fraud_found"] = np.where(selected | is_random, ja(fraud), "")
    refs = {"nationality": "Dutch", "gender": "M"}
    truth = planted_ratios(cells, ("nationality", "gender"), refs, ("selection_rate", "ppv"))
    truth += random_sample_ratios(cells, "nationality", "Dutch") + random_sample_ratios(cells, "gender", "M")
    audit = dict(protected=("nationality", "gender"), references=refs, decision="selected", positive=("Ja",),
                 truth="fraud_found", truth_positive=("Ja",), selection_method="selection_method",
                 random=("random",), strata=("household",))
    params = dict(planted=planted, nationality_ratio=nationality_ratio, gender_ratio=gender_ratio,
                  single_parent_ratio=single_parent_ratio, proxy_weight=beta, fraud_rate=fraud_rate,
                  random_share=random_share, selection_share=selection_share)
    return SyntheticData("welfare", frame, tuple(truth), audit, seed, params)


def welfare_history(rows: int = 20000, seed: int = SEED + 1) -> pd.DataFrame:
    """Past investigations to train the demo model on, with labels that carry the investigators' bias.

    The label ``fraud_found`` is what past investigations recorded.  It rises with a language
    barrier, living in Zuid-Oost and single parenthood (paperwork errors counted as fraud, and
    neighbourhoods investigated more often), not with nationality as such.  A model trained on it
    learns those proxies.
    """
    cells = _population()
    rng = np.random.default_rng(seed)
    df = draw_cells(cells, rows, rng)
    frame = _people(df, rng)
    logit = (-3.0 + 0.6 * (1 - frame["dutch_language_requirement_met"]) + 0.4 * frame["lives_in_zuid_oost"]
             + 0.3 * frame["single_parent"] + 0.012 * frame["months_on_benefit"] - 0.04 * (frame["age"] - 40))
    frame["fraud_found"] = (rng.random(rows) < 1 / (1 + np.exp(-logit.to_numpy()))).astype(int)
    return frame


_CHILDCARE_NAT = ("Dutch", "Dutch and other", "EU", "non-EU")
_LOW_INCOME = dict(zip(_CHILDCARE_NAT, ((0.3, 0.45, 0.25), (0.4, 0.4, 0.2), (0.45, 0.4, 0.15), (0.6, 0.3, 0.1))))
_CHILDMINDER = dict(zip(_CHILDCARE_NAT, (0.2, 0.3, 0.3, 0.45)))


def childcare_benefit(rows: int = 4000, seed: int = SEED, *, planted: bool = True, nationality_weight: float = 2.0,
                      low_income_weight: float = 1.5, childminder_weight: float = 1.4, irregularity_rate: float = 0.12,
                      selection_share: float = 0.08) -> SyntheticData:
    """Childcare-benefit applications and a risk classification that takes nationality as an input.

    The classification multiplies a case's chance of a manual check by ``nationality_weight`` when
    the applicant lacks Dutch nationality (the input ``dutch_nationality``; dual nationals count as
    Dutch), by ``low_income_weight`` for a low income and by ``childminder_weight`` for care by a
    childminder -- proxies that non-Dutch applicants meet more often.  So the *direct* effect of
    nationality is ``nationality_weight`` (what a flip test measures) and the total selection-rate
    ratio of each nationality against Dutch is larger; both are exact.  Irregularities are found in
    ``irregularity_rate`` of checked cases in every group; unchecked cases have no outcome.
    """
    if not planted:
        nationality_weight = low_income_weight = childminder_weight = 1.0
    cells = cell_table([
        Factor("nationality", _CHILDCARE_NAT, (0.8, 0.05, 0.06, 0.09)),
        Factor("income_band", ("low", "middle", "high"), lambda c: _LOW_INCOME[c["nationality"]]),
        Factor("childcare_type", ("daycare centre", "childminder"),
               lambda c: (1 - _CHILDMINDER[c["nationality"]], _CHILDMINDER[c["nationality"]])),
        Factor("children", ("1", "2", "3 or more"), (0.4, 0.4, 0.2)),
    ])
    dutch = cells["nationality"].isin(("Dutch", "Dutch and other")).to_numpy()
    weight = (np.where(dutch, 1.0, nationality_weight) * np.where(cells["income_band"] == "low", low_income_weight, 1.0)
              * np.where(cells["childcare_type"] == "childminder", childminder_weight, 1.0))
    cells["q"] = scale_to_share(cells, weight, selection_share)
    cells["y"] = irregularity_rate
    rng = np.random.default_rng(seed)
    df = draw_cells(cells, rows, rng)
    score, checked = score_and_select(df["q"].to_numpy(), rng)
    found = rng.random(rows) < irregularity_rate
    frame = pd.DataFrame({
        "application_id": [f"K{i:06d}" for i in range(rows)], "nationality": df["nationality"],
        "dutch_nationality": ja(df["nationality"].isin(("Dutch", "Dutch and other")).to_numpy()),
        "income_band": df["income_band"], "childcare_type": df["childcare_type"], "children": df["children"],
        "risk_score": score, "checked": ja(checked), "irregularity_found": np.where(checked, ja(found), ""),
    })
    refs = {"nationality": "Dutch"}
    truth = planted_ratios(cells, ("nationality",), refs, ("selection_rate", "ppv"))
    audit = dict(protected=("nationality",), references=refs, decision="checked", positive=("Ja",),
                 truth="irregularity_found", truth_positive=("Ja",))
    params = dict(planted=planted, nationality_weight=nationality_weight, low_income_weight=low_income_weight,
                  childminder_weight=childminder_weight, irregularity_rate=irregularity_rate,
                  selection_share=selection_share)
    return SyntheticData("childcare-benefit", frame, tuple(truth), audit, seed, params)
