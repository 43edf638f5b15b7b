"""Hostile model files that once crashed, hung, exhausted or altered auditkit, built here, each refused
with a message (or opened safely) within seconds.  And a seeded fuzz over every format: every mutated
file ends in a result or one of auditkit's errors -- never a traceback, never a signal in this process.

The longer fuzz run outside the suite: ``AUDITKIT_FUZZ_ROUNDS=200 python -m pytest tests/test_model_hostile_files.py
-k fuzz`` (the counts go in the notes of the change).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import random
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from auditkit.exceptions import AuditkitError, InputDataError, UnsafeModelError
from auditkit.load._limits import ModelLimits
from auditkit.load._predict import model_predict
from auditkit.load.model import inspect_model, load_model
from tests.conftest import run_cli

LIMITS = ModelLimits(timeout=15.0, memory_gb=3.0)
X2 = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0]])


@pytest.fixture(scope="module")
def tree():
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(max_depth=2, random_state=0).fit(X2, [0, 1, 0, 1])


def _retree(est, n_features, feature):
    """A copy of ``est`` whose tree takes ``n_features`` inputs and splits first on ``feature``."""
    from sklearn.tree._tree import Tree

    state = est.tree_.__getstate__()
    nodes = state["nodes"].copy()
    nodes["feature"][0] = feature
    new = Tree(n_features, est.tree_.n_classes, est.tree_.n_outputs)
    new.__setstate__({**state, "nodes": nodes})
    out = pickle.loads(pickle.dumps(est))
    out.tree_ = new
    return out


def _skops_edit(src: Path, dst: Path, nodes=None, schema_edit=None) -> Path:
    """A copy of a skops file with the tree's nodes array and/or the schema changed."""
    zin = zipfile.ZipFile(src)
    schema = json.loads(zin.read("schema.json"))
    node_file = schema["content"]["content"]["tree_"]["content"]["content"]["nodes"]["file"]
    with zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == node_file and nodes:
                array = np.load(io.BytesIO(data), allow_pickle=False)
                nodes(array)
                buf = io.BytesIO()
                np.save(buf, array, allow_pickle=False)
                data = buf.getvalue()
            if info.filename == "schema.json" and schema_edit:
                schema_edit(schema)
                data = json.dumps(schema).encode()
            zout.writestr(info.filename, data)
    return dst


def test_pickle_tree_wider_than_its_estimator_is_refused(tmp_path, tree):
    """Safe on zeros, fatal on data: a tree of 2**31-1 inputs splitting on feature 2**31-2, inside an estimator
    of 2 inputs, reads far outside every row."""
    path = tmp_path / "wide.pkl"
    path.write_bytes(pickle.dumps(_retree(tree, 2**31 - 1, 2**31 - 2)))
    with pytest.raises(UnsafeModelError, match="DecisionTreeClassifier of 2 inputs whose tree reads 2147483647"):
        load_model(path, limits=LIMITS)


def test_skops_trees_get_the_pickle_checks(tmp_path, tree):
    """skops's Tree is not trusted wholesale: a child outside the tree, and a split on a feature the built tree
    does not have (the schema naming another width, which skops ignores), are refused."""
    skops_io = pytest.importorskip("skops.io")
    ok = tmp_path / "ok.skops"
    skops_io.dump(tree, ok)

    def far_child(nodes):
        nodes["left_child"][0] = 10**6

    def far_feature(nodes):
        nodes["feature"][0] = 2**31 - 2

    def wider(schema):
        schema["content"]["content"]["tree_"]["__reduce__"]["args"]["content"][0]["content"] = str(2**31 - 1)

    child = _skops_edit(ok, tmp_path / "child.skops", nodes=far_child)
    with pytest.raises(UnsafeModelError, match="node 0 leads to nodes 1000000 and 2"):
        load_model(child, limits=LIMITS)
    wide = _skops_edit(ok, tmp_path / "wide.skops", nodes=far_feature, schema_edit=wider)
    with pytest.raises(UnsafeModelError, match="on feature 2147483646"):
        load_model(wide, limits=LIMITS)
    assert inspect_model(wide)["verdict"] == "refused"
    assert load_model(ok, limits=LIMITS).feature_names is None


def test_skops_member_over_the_limit_is_refused(tmp_path, tree):
    """A skops archive whose member unpacks past the limit is refused before anything is unpacked."""
    skops_io = pytest.importorskip("skops.io")
    ok = tmp_path / "ok.skops"
    skops_io.dump(tree, ok)
    big = tmp_path / "big.skops"
    with zipfile.ZipFile(ok) as zin, zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
        zout.writestr("padding.npy", b"\x00" * (300 << 20))
    with pytest.raises(UnsafeModelError, match="unpacks to 314,572,800 bytes"):
        load_model(big, limits=ModelLimits(memory_gb=1.5, timeout=15.0))


def test_xgboost_claiming_two_billion_inputs(tmp_path):
    """num_feature = "2000000000" once skipped the probe and got auditkit killed at 15.7 GB: now a message."""
    xgboost = pytest.importorskip("xgboost")
    rng = np.random.RandomState(0)
    booster = xgboost.train({"max_depth": 2}, xgboost.DMatrix(rng.rand(40, 3), rng.rand(40) > 0.5), 2)
    path = tmp_path / "wide.json"
    booster.save_model(str(path))
    doc = json.loads(path.read_text())
    doc["learner"]["learner_model_param"]["num_feature"] = "2000000000"
    path.write_text(json.dumps(doc))
    with pytest.raises(AuditkitError) as info:
        model = load_model(path, limits=LIMITS)
        model_predict(model, pd.DataFrame(rng.rand(3, 3), columns=["a", "b", "c"]))
    assert "wide.json" in str(info.value)


def test_deep_nesting_in_metadata_is_no_traceback(tmp_path):
    """Deeply nested JSON in an XGBoost file and in ONNX metadata: a refusal or a message, no RecursionError."""
    xgboost = pytest.importorskip("xgboost")
    rng = np.random.RandomState(0)
    booster = xgboost.train({"max_depth": 2}, xgboost.DMatrix(rng.rand(40, 3), rng.rand(40) > 0.5), 2)
    path = tmp_path / "deep.json"
    booster.save_model(str(path))
    text = path.read_text()
    path.write_text(text[:-1] + ', "junk": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(AuditkitError):
        load_model(path, limits=LIMITS)


def test_onnx_loop_that_hangs_on_real_rows(tmp_path):
    """An ONNX Loop whose trip count is |sum(X)|·10**12: nothing on zeros, a hang on data, stopped by the
    time limit."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    vec = [None, 1]
    body = helper.make_graph(
        [helper.make_node("Identity", ["c"], ["c2"]), helper.make_node("Identity", ["v"], ["v2"])], "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("c", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v", TensorProto.FLOAT, vec)],
        [helper.make_tensor_value_info("c2", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v2", TensorProto.FLOAT, vec)])
    nodes = [helper.make_node("ReduceSum", ["X"], ["s"], keepdims=0), helper.make_node("Abs", ["s"], ["a"]),
             helper.make_node("Constant", [], ["k"], value=helper.make_tensor("k", TensorProto.FLOAT, [], [1e12])),
             helper.make_node("Mul", ["a", "k"], ["m"]), helper.make_node("Cast", ["m"], ["n"], to=TensorProto.INT64),
             helper.make_node("Constant", [], ["t"], value=helper.make_tensor("t", TensorProto.BOOL, [], [True])),
             helper.make_node("Loop", ["n", "t", "X"], ["Y"], body=body)]
    graph = helper.make_graph(nodes, "loop", [helper.make_tensor_value_info("X", TensorProto.FLOAT, vec)],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, vec)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path / "loop.onnx"
    onnx.save(model, str(path))
    loaded = load_model(path, limits=ModelLimits(timeout=120.0))  # the first ONNX file also imports onnxruntime
    loaded.estimator.worker.limits = ModelLimits(timeout=4.0)  # the time limit of each step from now on
    with pytest.raises(UnsafeModelError, match="did not finish within 4 s while scoring the data"):
        model_predict(loaded, pd.DataFrame({"x": [1.0, 2.0]}))


def test_frozen_estimator_without_its_estimator_and_unhashable_classes(tmp_path):
    """Objects that lie about themselves end in messages."""
    from sklearn.linear_model import LogisticRegression

    est = LogisticRegression().fit(X2, [0, 1, 0, 1])
    odd = pickle.loads(pickle.dumps(est))
    odd.classes_ = [[0], [1]]  # unhashable labels
    path = tmp_path / "classes.pkl"
    path.write_bytes(pickle.dumps(odd))
    with pytest.raises(InputDataError):
        model_predict(load_model(path, limits=LIMITS), pd.DataFrame(X2))
    try:
        from sklearn.frozen import FrozenEstimator
    except ImportError:
        return
    raw = pickle.dumps(FrozenEstimator(est), protocol=4)
    assert raw.count(b"\x8c\testimator") == 1
    path = tmp_path / "frozen.pkl"  # its state names no "estimator": every attribute lookup recurses
    path.write_bytes(raw.replace(b"\x8c\testimator", b"\x8c\testimatoX"))
    with pytest.raises(AuditkitError):
        model_predict(load_model(path, limits=LIMITS), pd.DataFrame(X2))


# --------------------------------------------------------------------------------------------------
# Fuzz: mutations of valid files of every format, deep nesting, wrong types


def _valid_files(folder: Path) -> list[Path]:
    import joblib
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.rand(60, 3), columns=["a", "b", "c"])
    y = (X["a"] > 0.5).astype(int)
    forest = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y)
    files = [folder / "m.pkl", folder / "m.joblib", folder / "mz.joblib"]
    files[0].write_bytes(pickle.dumps(LogisticRegression().fit(X, y), protocol=4))
    joblib.dump(forest, files[1])
    joblib.dump(forest, files[2], compress=("zlib", 3))
    try:
        import skops.io

        skops.io.dump(forest, folder / "m.skops")
        files.append(folder / "m.skops")
    except ImportError:
        pass
    try:
        import xgboost

        booster = xgboost.train({"max_depth": 2}, xgboost.DMatrix(X, y), 2)
        booster.save_model(str(folder / "m.json"))
        booster.save_model(str(folder / "m.ubj"))
        files += [folder / "m.json", folder / "m.ubj"]
    except ImportError:
        pass
    try:
        import lightgbm

        lightgbm.train({"verbose": -1, "num_leaves": 4}, lightgbm.Dataset(X, y), 2).save_model(str(folder / "m.txt"))
        files.append(folder / "m.txt")
    except ImportError:
        pass
    try:
        from skl2onnx import to_onnx

        lr = LogisticRegression().fit(X.to_numpy(), y)
        (folder / "m.onnx").write_bytes(to_onnx(lr, X.to_numpy()[:1].astype(np.float32)).SerializeToString())
        files.append(folder / "m.onnx")
    except ImportError:
        pass
    return files


def _mutate(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    how = rng.randrange(4)
    if how == 0:  # flip bytes
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif how == 1:  # cut
        data = data[:rng.randrange(1, len(data))]
    elif how == 2:  # duplicate a slice
        a = rng.randrange(len(data))
        b = min(len(data), a + rng.randint(1, 64))
        data[a:a] = data[a:b] * rng.randint(1, 20)
    else:  # nest: brackets or pickle marks in the middle
        at = rng.randrange(len(data))
        data[at:at] = rng.choice([b"[", b"{", b"(", b"]"]) * rng.randint(100, 20_000)
    return bytes(data)


def test_fuzz_every_format_ends_in_a_result_or_a_message(tmp_path):
    """Seeded mutations of a valid file of every format, each opened, inspected and scored through the
    worker: a result or an auditkit error every time (AUDITKIT_FUZZ_ROUNDS for a longer run)."""
    rounds = int(os.environ.get("AUDITKIT_FUZZ_ROUNDS", "2"))
    rng = random.Random(19)
    X = pd.DataFrame(np.random.RandomState(1).rand(5, 3), columns=["a", "b", "c"])
    counts = {"opened": 0, "refused": 0, "message": 0}
    limits = ModelLimits(timeout=20.0, memory_gb=3.0)
    files = _valid_files(tmp_path)
    for valid in files:
        raw = valid.read_bytes()
        for i in range(rounds):
            path = tmp_path / f"f{i}-{valid.name}"
            path.write_bytes(_mutate(raw, rng))
            try:
                model = load_model(path, limits=limits)
                model_predict(model, X)
                model.estimator.close()
                counts["opened"] += 1
            except UnsafeModelError:
                counts["refused"] += 1
            except AuditkitError:
                counts["message"] += 1
    print("fuzz counts", counts)
    assert sum(counts.values()) == rounds * len(files)


def test_cli_never_shows_a_traceback_for_a_mutated_file(tmp_path):
    """The CLI on mutated files: exit 0 or 1 with a message."""
    rng = random.Random(7)
    for valid in _valid_files(tmp_path)[:3]:
        path = tmp_path / f"cli-{valid.name}"
        path.write_bytes(_mutate(valid.read_bytes(), rng))
        result = run_cli("inspect", path)
        assert result.exit_code in (0, 1) and "Traceback" not in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
