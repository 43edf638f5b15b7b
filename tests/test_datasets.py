"""Example data: generators are seeded and exact, shipped files are what they claim, fetch never goes online here."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import auditkit
from auditkit import UsageError
from auditkit.cli_datasets import datasets
from auditkit.datasets import GENERATORS, generate
from auditkit.datasets import fetch as fetch_module
from auditkit.datasets._cells import Factor, cell_table, solve_weight, true_rate
from auditkit.datasets.fetch import DatasetError, cached_path, fetch
from auditkit.datasets.registry import EXAMPLES, REMOTE, example_path
from auditkit.templates import available_templates

ROOT = Path(__file__).parents[1]
PAYLOAD = b"id,race,two_year_recid\n1,Other,0\n"


def _script(path: Path):
    """Import a script of the repository (datasets/generate.py, train_model.py) as a module."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------------------------------
# Generators


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generators_are_seeded(name):
    """The same seed gives the same rows; another seed other rows."""
    a, b, c = generate(name, 500, 1), generate(name, 500, 1), generate(name, 500, 2)
    assert a.frame.equals(b.frame) and not a.frame.equals(c.frame)
    assert a.planted == b.planted


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_planted_none_control_has_every_true_ratio_one(name):
    """planted=False keeps the population and removes every effect."""
    control = generate(name, 300, 1, planted=False)
    assert control.planted and all(not p.planted for p in control.planted)
    assert set(control.frame.columns) == set(generate(name, 300, 1).frame.columns)


def test_welfare_targets_are_exact():
    """non-EU vs Dutch is 2.0 and women vs men 1.25 exactly, within each level of the other attribute too."""
    truth = {(p.attribute, p.group, p.reference, p.metric): p.ratio for p in generate("welfare", 100, 1).planted}
    assert truth[("nationality", "non-EU", "Dutch", "selection_rate")] == pytest.approx(2.0, abs=1e-9)
    assert truth[("gender", "F", "M", "selection_rate")] == pytest.approx(1.25, abs=1e-12)
    # intersections against the reference level within the other attribute's level (multiplicative model)
    assert truth[("nationality × gender", "non-EU × F", "Dutch × F", "selection_rate")] == pytest.approx(2.0, abs=1e-9)
    assert truth[("nationality × gender", "non-EU × F", "non-EU × M", "selection_rate")] == \
        pytest.approx(1.25, abs=1e-9)
    assert truth[("nationality", "non-EU", "Dutch", "ppv")] == pytest.approx(1.0, abs=1e-12)
    assert generate("welfare", 100, 1, nationality_ratio=3.0).parameters["proxy_weight"] > \
        generate("welfare", 100, 1).parameters["proxy_weight"]


def test_recidivism_error_rates_are_the_planted_ones():
    """FPR and FNR ratios follow from the stated rates: 0.42/0.22 and 0.28/0.50."""
    truth = {(p.attribute, p.group, p.metric): p.ratio for p in generate("recidivism", 100, 1).planted}
    assert truth[("race", "African-American", "fpr")] == pytest.approx(0.42 / 0.22)
    assert truth[("race", "African-American", "fnr")] == pytest.approx(0.28 / 0.50)


def test_large_samples_agree_with_the_exact_ratios():
    """With 300,000 rows the observed ratios sit within 4% of the exact ones (the sampler matches the cells)."""
    data = generate("welfare", 300_000, 9)
    frame = data.frame
    selected = frame["selected"] == "Ja"
    rates = selected.groupby(frame["nationality"]).mean()
    assert rates["non-EU"] / rates["Dutch"] == pytest.approx(2.0, rel=0.04)
    hit = (frame["fraud_found"] == "Ja")[selected].groupby(frame["nationality"][selected]).mean()
    assert hit["non-EU"] / hit["Dutch"] == pytest.approx(1.0, rel=0.08)


def test_student_finance_rows_follow_the_steps():
    """Each student appears once at step 1, and at a later step only if selected at the one before."""
    frame = generate("student-finance", 3000, 4).frame
    steps = [frame[frame["stage"] == s] for s in ("1 risk score", "2 manual selection", "3 home visit")]
    assert len(steps[0]) == 3000
    for before, after in zip(steps, steps[1:]):
        assert set(after["student_id"]) == set(before.loc[before["selected"] == "Ja", "student_id"])


def test_risk_score_cut_off_reproduces_the_decision():
    """In the welfare data, a score of 0.5 or more is a model selection (outside the random sample)."""
    frame = generate("welfare", 5000, 3).frame
    model = frame["selection_method"] != "random"
    picked = frame["risk_score"] >= 0.5
    agree = (picked[model] == (frame["selected"][model] == "Ja")).mean()
    assert agree > 0.999  # only scores rounded onto 0.5 may differ


def test_cells_and_solver():
    """A conditional factor's probabilities multiply; the solver hits a target ratio; bad inputs are errors."""
    cells = cell_table([Factor("g", ("a", "b"), (0.5, 0.5)),
                        Factor("proxy", ("no", "yes"), lambda c: (0.8, 0.2) if c["g"] == "a" else (0.4, 0.6))])
    assert cells["p"].sum() == pytest.approx(1.0)
    load = (cells["proxy"] == "yes").to_numpy(float)
    w = solve_weight(cells, load, np.ones(len(cells)), {"g": "b"}, {"g": "a"}, 1.7)
    trial = cells.assign(q=np.exp(w * load) / 100, y=0.0)
    assert true_rate(trial, "selection_rate", {"g": "b"}) / true_rate(trial, "selection_rate", {"g": "a"}) == \
        pytest.approx(1.7, rel=1e-9)
    with pytest.raises(ValueError, match="cannot be planted"):
        solve_weight(cells, load, np.ones(len(cells)), {"g": "b"}, {"g": "a"}, 50.0)
    with pytest.raises(ValueError, match="do not match"):
        cell_table([Factor("g", ("a", "b"), (0.5, 0.6))])
    with pytest.raises(ValueError, match="too large"):
        generate("welfare", 10, 1, nationality_ratio=6.0, selection_share=0.5)


def test_unknown_generator_suggests_one():
    """generate('wellfare') says Did you mean 'welfare'?"""
    with pytest.raises(UsageError, match="Did you mean 'welfare'"):
        generate("wellfare")


# --------------------------------------------------------------------------------------------------
# Shipped files and data cards


def test_shipped_files_are_what_the_script_writes():
    """datasets/generate.py reproduces every shipped CSV and planted.json byte for byte."""
    script = _script(ROOT / "datasets" / "generate.py")
    for relative, (name, rows) in script.FILES.items():
        csv_text, truth = script.render(name, rows)
        path = ROOT / "datasets" / relative
        assert path.read_bytes() == csv_text.encode("utf-8"), relative
        assert (path.parent / "planted.json").read_bytes() == truth.encode("utf-8"), relative


def test_every_example_has_a_data_card_and_a_known_template():
    """Each shipped example exists, its folder's card says what, how, what is in it and the licence."""
    templates = available_templates()
    for name, example in EXAMPLES.items():
        path = example_path(name)
        card = (path.parent / "README.md").read_text(encoding="utf-8")
        for heading in ("**What it is.**", "**Licence.**"):
            assert heading in card, (name, heading)
        assert "**How it was made.**" in card or "Bickel" in card
        assert "**What is known to be in it" in card
        assert example.template is None or example.template in templates
    with pytest.raises(UsageError, match="Did you mean 'welfare'"):
        example_path("welfar")


def test_welfare_decisions_show_the_planted_disparity():
    """The shipped decisions.csv: non-EU selected about twice as often as Dutch, hit rates alike."""
    result = auditkit.audit(example_path("welfare"), protected=("nationality",), decision="selected",
                            positive=("Ja",), truth="fraud_found", truth_positive=("Ja",),
                            references={"nationality": "Dutch"})
    by = {(c["group"], c["metric"]): c for c in result.comparisons}
    low, high = by[("non-EU", "selection_rate")]["ratio_ci"]
    assert low <= 2.0 <= high and by[("non-EU", "selection_rate")]["status"] == "difference_detected"
    assert by[("non-EU", "ppv")]["status"] == "no_difference_detected"


def test_welfare_model_is_safe_uses_proxies_and_is_reproducible():
    """model.skops opens without trust, takes no nationality, and train_model.py retrains the same weights."""
    from auditkit.load.model import load_model

    model = load_model(example_path("welfare-model"), trust=True)  # the estimator itself, in this process
    assert model.format == "skops" and model.scan.verdict == "allowed" and not model.trusted
    script = _script(ROOT / "datasets" / "welfare" / "train_model.py")
    assert list(model.feature_names) == script.FEATURES
    assert not any("nationality" in f for f in model.feature_names)
    retrained = script.train()
    assert np.allclose(retrained.coef_, model.estimator.coef_) and np.allclose(retrained.intercept_,
                                                                               model.estimator.intercept_)


def test_welfare_model_with_the_template_selects_through_proxies():
    """assess with the template's top-10% rule: non-EU applicants selected more often, without nationality as input."""
    from auditkit.assess import AssessOptions, assess
    from auditkit.templates import load_template

    fields = load_template("welfare-fraud-risk").spec_fields(for_model=True)
    result = assess(example_path("welfare-model"), example_path("welfare"), options=AssessOptions(explain=False),
                    **fields)
    non_eu = next(c for c in result.comparisons if c["group"] == "non-EU" and c["metric"] == "selection_rate")
    assert non_eu["ratio_ci"][0] > 2 and result.results["population"]["decision_rule"]["kind"] == "top"


# --------------------------------------------------------------------------------------------------
# fetch: offline, with a fake opener


class _Opener:
    """Stands in for the network: returns fixed bytes, or fails like an unreachable host."""

    def __init__(self, payload: bytes | None = PAYLOAD, error: Exception | None = None) -> None:
        self.payload, self.error, self.calls = payload, error, []

    def __call__(self, url: str, timeout: float) -> io.BytesIO:
        self.calls.append((url, timeout))
        if self.error is not None:
            raise self.error
        return io.BytesIO(self.payload)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder in AUDITKIT_CACHE, and no real network for the default opener."""
    monkeypatch.setenv("AUDITKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fetch_module, "default_opener", _Opener(error=OSError("network disabled in tests")))
    return tmp_path / "cache"


def test_fetch_without_a_pinned_hash_is_not_verified(cache):
    """COMPAS has no pinned hash: the file is kept, its hash shown, and it is marked unverified."""
    assert REMOTE["compas"].sha256 is None
    opener = _Opener()
    result = fetch("compas", opener=opener, timeout=5)
    assert opener.calls == [(REMOTE["compas"].url, 5)]
    assert result.path == cache / "datasets" / "compas" / "compas-scores-two-years.csv" == cached_path("compas")
    assert result.sha256 == hashlib.sha256(PAYLOAD).hexdigest() and not result.verified and result.downloaded
    assert "NOT VERIFIED" in result.describe() and result.sha256 in result.describe()


def test_fetch_uses_the_cache_and_verifies_a_checked_hash(cache):
    """A second fetch reads the cache (no download); a user-checked --sha256 marks it verified."""
    fetch("compas", opener=_Opener())
    offline = _Opener(error=OSError("offline"))
    again = fetch("compas", opener=offline, sha256=hashlib.sha256(PAYLOAD).hexdigest().upper())
    assert offline.calls == [] and again.verified and not again.downloaded


def test_fetch_refuses_a_file_that_does_not_match(cache):
    """A cached file whose hash differs is an error; a mismatching download is not kept."""
    fetch("compas", opener=_Opener())
    with pytest.raises(DatasetError, match="should have"):
        fetch("compas", sha256="0" * 64)
    with pytest.raises(DatasetError, match="was not kept"):
        fetch("compas", sha256="0" * 64, force=True, opener=_Opener(b"something else"))
    assert not any(p.name.startswith(".download-") for p in cached_path("compas").parent.iterdir())


def test_fetch_with_a_pinned_hash(cache, monkeypatch):
    """With a pinned hash a matching download is verified, and --sha256 may not contradict it."""
    from dataclasses import replace

    pinned = replace(REMOTE["compas"], sha256=hashlib.sha256(PAYLOAD).hexdigest())
    monkeypatch.setitem(REMOTE, "compas", pinned)
    assert fetch("compas", opener=_Opener()).verified
    with pytest.raises(UsageError, match="differs from the hash pinned"):
        fetch("compas", sha256="1" * 64)


def test_offline_fetch_says_where_to_download_by_hand(cache):
    """Without network: the URL, the source page and the exact path to save the file as."""
    with pytest.raises(DatasetError) as err:
        fetch("compas")
    message = str(err.value)
    for fragment in (REMOTE["compas"].url, REMOTE["compas"].page, str(cached_path("compas")), "by hand",
                     "network disabled in tests"):
        assert fragment in message
    assert not cached_path("compas").exists()


def test_fetch_rejects_bad_input(cache):
    """Unknown names get a suggestion; a malformed hash is a usage error; only https is fetched."""
    with pytest.raises(UsageError, match="Did you mean 'compas'"):
        fetch("compass")
    with pytest.raises(UsageError, match="64 hexadecimal"):
        fetch("compas", sha256="abc")
    with pytest.raises(DatasetError, match="only https"):
        fetch_module._https_opener("http://example.org/x.csv", 1.0)


# --------------------------------------------------------------------------------------------------
# CLI


def _run(*args: str):
    return CliRunner().invoke(datasets, list(args), prog_name="auditkit datasets")


def test_cli_list_shows_examples_generators_and_fetchable(cache):
    """datasets list names every example, generator and public data set, with hash status."""
    result = _run("list")
    assert result.exit_code == 0, result.output
    for name in [*EXAMPLES, *GENERATORS, *REMOTE]:
        assert name in result.output
    assert "no pinned sha256" in result.output and "not downloaded" in result.output


def test_cli_fetch_offline_fails_with_instructions(cache):
    """datasets fetch compas without network: exit 1 and the manual-download message, no traceback."""
    result = _run("fetch", "compas")
    assert result.exit_code == 1 and "by hand" in result.output and "Traceback" not in result.output


def test_cli_fetch_reports_unverified(cache, monkeypatch):
    """With a (fake) network the file is cached, and the output says NOT VERIFIED, the licence and citation."""
    monkeypatch.setattr(fetch_module, "default_opener", _Opener())
    result = _run("fetch", "compas")
    assert result.exit_code == 0, result.output
    assert "NOT VERIFIED" in result.output and "ProPublica" in result.output


def test_cli_generate_writes_data_and_truth(tmp_path):
    """datasets generate writes the rows and, with --truth, the planted ratios as JSON."""
    out, truth = tmp_path / "p.csv", tmp_path / "truth.json"
    result = _run("generate", "police-stops", str(out), "--rows", "400", "--seed", "3", "--truth", str(truth))
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").splitlines()[0].startswith("stop_id,area")
    record = json.loads(truth.read_text(encoding="utf-8"))
    assert record["seed"] == 3 and record["rows"] == 400
    assert any(p["group"] == "Black" and p["ratio"] < 0.7 for p in record["planted"])
    control = _run("generate", "police-stops", str(tmp_path / "c.parquet"), "--rows", "50", "--no-planted")
    assert control.exit_code == 0 and (tmp_path / "c.parquet").is_file()


def test_cli_generate_unknown_name_is_a_usage_error(tmp_path):
    """An unknown generator exits 2 with a suggestion."""
    result = _run("generate", "recidivsm", str(tmp_path / "x.csv"))
    assert result.exit_code == 2 and "Did you mean 'recidivism'" in result.output
