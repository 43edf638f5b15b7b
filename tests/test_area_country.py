"""The shipped synthetic country (datasets/area-country): the files are the generator's, and the planted truth
is where the methods say it must be -- inside the bounds always, recovered by the area-weighted estimate when
selection depends on the area only, missed by it (towards no difference) when selection depends on the group."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from auditkit.area_audit import audit_areas
from auditkit.spec import AuditSpec

FOLDER = Path(__file__).parents[1] / "datasets" / "area-country"
TRUTH = json.loads((FOLDER / "truth.json").read_text(encoding="utf-8"))  # for tests and docs only
COLUMNS = ("postcode", "migration_background", "people")


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("area_country_generate", FOLDER / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_shipped_files_are_what_the_seeded_generator_writes():
    for name, text in _generator().files().items():
        assert (FOLDER / name).read_text(encoding="utf-8") == text, name


def _run(scenario: str, composition: str = "composition-long.csv", columns=COLUMNS) -> dict:
    spec = AuditSpec(protected=("postcode",), decision="selected", positive=("1",), bootstrap=400, seed=1)
    result = audit_areas(FOLDER / f"decisions-{scenario}.csv", spec, composition=FOLDER / composition,
                         composition_columns=columns, crosswalk=FOLDER / "crosswalk.csv",
                         references={"migration_background": "none"})
    return {g["group"]: g for g in result.results["linkage"]["groups"]} | {"_": result.results}


def _truth(scenario: str) -> dict[str, tuple[float, float]]:
    t = TRUTH["scenarios"][scenario]
    return {g: (t["rate"][i], t["ratio_to_none"][i]) for i, g in enumerate(TRUTH["groups"])}


@pytest.mark.parametrize("scenario", ["area", "group"])
def test_bounds_contain_the_truth(scenario):
    est = _run(scenario)
    for group, (rate, ratio) in _truth(scenario).items():
        low, high = est[group]["bounds"]["rate"]
        assert low <= rate <= high, group
        if group != "none":
            r_low, r_high = est[group]["bounds"]["ratio"]
            assert r_low <= ratio and (r_high is None or ratio <= r_high), group


def test_weighted_recovers_the_truth_when_selection_depends_on_the_area_only():
    est = _run("area")
    for group, (rate, ratio) in _truth("area").items():
        low, high = est[group]["weighted"]["ci"]
        assert low <= rate <= high, group
        assert est[group]["weighted"]["rate"] == pytest.approx(rate, rel=0.1)
        if group != "none":
            r_low, r_high = est[group]["weighted"]["ratio_ci"]
            assert r_low <= ratio <= r_high, group


def test_weighted_is_biased_towards_no_difference_when_selection_depends_on_the_group():
    """Truth: non-western 2.87 times the rate of none; the weighted estimate's whole interval lies below it,
    and ecological regression (whose homogeneity assumption holds here) covers it."""
    est = _run("group")
    rate, ratio = _truth("group")["non-western"]
    weighted = est["non-western"]["weighted"]
    assert 1 < weighted["ratio"] < 0.6 * ratio and weighted["ratio_ci"][1] < ratio
    low, high = est["non-western"]["ecological"]["ratio_ci"]
    assert low <= ratio <= high
    low, high = est["non-western"]["ecological"]["ci"]
    assert low <= rate <= high


def test_ecological_regression_is_wrong_under_a_contextual_effect_and_its_fit_does_not_show_it():
    """Scenario 'area' targets neighbourhoods by composition: the regression fits (dispersion about 1) and is
    wrong -- the ecological fallacy the docs warn about."""
    est = _run("area")
    rate, ratio = _truth("area")["non-western"]
    assert est["non-western"]["ecological"]["ratio"] > 2 * ratio
    assert est["_"]["linkage"]["diagnostics"]["ecological_dispersion"] < 1.5


def test_wide_percentage_table_gives_the_same_picture_as_the_long_count_table():
    """The wide table (percentages with one decimal, decimal commas, semicolons) has no suppressed cells and
    rounded shares: its estimates match the long table's within rounding, and its bounds hold the truth."""
    long, wide = _run("group"), _run("group", "composition-wide.csv", ("postcode", "migration_background",
                                                                        "population"))
    assert wide["_"]["linkage"]["composition"]["values"] == "percentages"
    for group, (rate, _) in _truth("group").items():
        assert wide[group]["weighted"]["rate"] == pytest.approx(long[group]["weighted"]["rate"], rel=0.02)
        low, high = wide[group]["bounds"]["rate"]
        assert low <= rate <= high


def test_the_join_reports_the_crosswalk_and_the_areas_without_decisions():
    join = _run("area")["_"]["linkage"]["join"]
    assert join["crosswalk"]["mapped_areas"] == 3
    assert join["composition_without_decisions"]["codes"] == ["0990", "0995"]
    assert join["decided_without_composition"]["areas"] == 0
