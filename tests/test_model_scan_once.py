"""One scan per run: with --trust-model the command's warning, the crash probe's child and the in-process
load share one scan of the file (before, the file was scanned by `inspect` for the warning, by the probe's
child and again by the load).  Without --trust-model the file is scanned once, in the model worker."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from auditkit.load import _pickle_scan, _probe, _sandbox, _scan_once, _skops
from auditkit.load._unpickle import load_pickle
from auditkit.load.model import load_model
from tests.conftest import run_cli


@pytest.fixture()
def case(tmp_path):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    data = pd.DataFrame({"age": rng.integers(18, 80, 200).astype(float), "income": rng.normal(size=200),
                         "nationality": rng.choice(["NL", "MA"], 200), "fraud": rng.integers(0, 2, 200)})
    model = LogisticRegression().fit(data[["age", "income"]], data["fraud"])
    data.to_csv(tmp_path / "people.csv", index=False)
    (tmp_path / "m.pkl").write_bytes(pickle.dumps(model))
    return tmp_path


@pytest.fixture()
def counted(monkeypatch):
    """Calls of the pickle scan and the skops scan in this process, and the probe requests sent."""
    calls = {"pickle": 0, "skops": 0, "requests": [], "workers": 0}
    real_scan, real_skops, real_run = _pickle_scan.scan_bytes, _skops.skops_scan, _probe._SERVER.run
    real_worker = _sandbox.Worker.__init__

    def worker(self, *a, **k):
        calls["workers"] += 1  # a worker scans the file too
        real_worker(self, *a, **k)

    def scan(*a, **k):
        calls["pickle"] += 1
        return real_scan(*a, **k)

    def skops_scan(*a, **k):
        calls["skops"] += 1
        return real_skops(*a, **k)

    def run(request, timeout):
        calls["requests"].append(request)
        return real_run(request, timeout)

    monkeypatch.setattr(_pickle_scan, "scan_bytes", scan)
    monkeypatch.setattr(_skops, "skops_scan", skops_scan)
    monkeypatch.setattr(_probe._SERVER, "run", run)
    monkeypatch.setattr(_sandbox.Worker, "__init__", worker)
    _scan_once._KEPT.clear()
    return calls


def test_trust_model_scans_once_in_the_whole_run(case, counted):
    result = run_cli("assess", case / "m.pkl", "--data", case / "people.csv", "--protected", "nationality",
                     "--truth", "fraud", "--top", "20", "--no-explain", "--min-group-size", "1", "--quiet",
                     "--trust-model", "--json", case / "r.json")
    assert result.exit_code == 0, result.output
    assert "loading it will import: " in result.stderr and "_logistic.LogisticRegression" in result.stderr
    assert counted["pickle"] == 1 and counted["workers"] == 0  # the warning's scan, taken by the probe and load
    probes = [r for r in counted["requests"] if r["path"] == str(case / "m.pkl")]
    assert probes and all(r["scan"]["verdict"] == "allowed" for r in probes)  # the child gets the scan


def test_the_probe_child_loads_with_the_scan_it_is_handed(case, counted):
    """What the probe's child does with the request: the handed scan is used, the file is not scanned."""
    path = case / "m.pkl"
    scan, digest = _scan_once.scan_once(path, "pickle")
    request = {"scan": _scan_once.scan_to_dict(scan), "digest": digest}
    _scan_once._KEPT.clear()
    _scan_once.seed("pickle", request["digest"], request["scan"])
    before = counted["pickle"]
    loaded = load_pickle(path, trust=False)
    assert counted["pickle"] == before and loaded.scan == scan


def test_changed_bytes_are_scanned_again(case, counted):
    """The kept scan belongs to the bytes scanned: a file changed after the scan is scanned anew."""
    path = case / "m.pkl"
    _scan_once.scan_once(path, "pickle")
    path.write_bytes(pickle.dumps(__import__("os").system))
    with pytest.raises(Exception, match="posix.system"):
        load_pickle(path, trust=False)
    assert counted["pickle"] == 2


def test_skops_with_trust_is_scanned_once(tmp_path, counted):
    skops_io = pytest.importorskip("skops.io")
    from sklearn.linear_model import LogisticRegression

    skops_io.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), tmp_path / "m.skops")
    load_model(tmp_path / "m.skops", trust=True)
    assert counted["skops"] == 1


def test_without_trust_this_process_does_not_scan(case, counted):
    model = load_model(case / "m.pkl")
    assert counted["pickle"] == 0 and counted["workers"] == 1 and model.scan.verdict == "allowed"  # in the worker
    model.estimator.close()
