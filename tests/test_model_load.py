"""Model files: every format opens and predicts like the model in memory; hostile pickles are refused
with nothing executed; mistakes get messages that say what to do."""

from __future__ import annotations

import gzip
import io
import lzma
import os
import pickle
import pickletools
import shlex
import struct
import sys
import zlib

import joblib
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joblib.numpy_pickle import NumpyUnpickler
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from auditkit.exceptions import InputDataError, UnsafeModelError
from auditkit.load._pickle_scan import classify, resolve, scan_bytes, scan_pickle
from auditkit.load.model import MODEL_SUFFIXES, align_features, inspect_model, load_model, model_predict

NUMERIC = ["age", "income"]


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(7)
    X = pd.DataFrame({"age": rng.normal(40, 10, 300).astype(np.float32),
                      "income": rng.normal(3, 1, 300).astype(np.float32),
                      "region": rng.choice(["north", "south", "east"], 300)})
    y = ((X["age"] - 40) / 10 + (X["region"] == "south") + rng.normal(0, 1, 300) > 0.5).astype(int).to_numpy()
    return X, y


@pytest.fixture(scope="module")
def fitted(data) -> dict:
    import lightgbm
    import xgboost

    X, y = data
    pipe = Pipeline([("prep", ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["region"]),
                                                 ("num", StandardScaler(), NUMERIC)])),
                     ("clf", LogisticRegression())])
    return {
        "lr": LogisticRegression().fit(X[NUMERIC], y),
        "gb": GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0).fit(X[NUMERIC], y),
        "pipe": pipe.fit(X, y),
        "rf": RandomForestClassifier(n_estimators=4, max_depth=3, n_jobs=1, random_state=0).fit(X[NUMERIC], y),
        "xgb": xgboost.XGBClassifier(n_estimators=4, max_depth=2, n_jobs=1).fit(X[NUMERIC], y),
        "lgb": lightgbm.LGBMClassifier(n_estimators=4, num_leaves=4, n_jobs=1, verbose=-1).fit(X[NUMERIC], y),
    }


def expected(fitted, data, name: str) -> np.ndarray:
    X = data[0] if name == "pipe" else data[0][NUMERIC]
    return fitted[name].predict_proba(X)[:, 1]


def dump(path, obj, protocol=None):
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=protocol)
    return path


class _Shell:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


class _Exec:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


def _stub(*args, **kwargs):
    return None


class _Oracle(NumpyUnpickler):
    """joblib's real unpickler, recording every import; anything off the allow-list becomes a harmless stub."""

    def find_class(self, module, name):
        key = resolve(module, name, self.proto)
        self.seen.add(key)
        return super().find_class(module, name) if classify(*key)[0] == "allowed" else _stub


def oracle_imports(stream: bytes) -> set:
    unpickler = _Oracle("", io.BytesIO(stream), True)
    unpickler.seen = set()
    try:
        unpickler.load()
    except Exception:  # noqa: BLE001 - the stubs make hostile files fail after their imports are recorded
        pass
    return unpickler.seen


def refused(path, *fragments):
    with pytest.raises(UnsafeModelError) as info:
        load_model(path)
    message = str(info.value)
    assert info.value.exit_code == 1
    executed = ("Nothing in the file was executed" if "auditkit stopped loading it there" not in message
                else "nothing in auditkit itself")  # a loader-stage refusal says where the allowed part ran
    for fragment in (executed, "--trust-model",
                     "only if you trust whoever made the file: it runs the file's code", *fragments):
        assert fragment in message, message
    return message


# --- every format round-trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", range(6))
@pytest.mark.parametrize("name", ["lr", "gb", "pipe", "rf", "xgb", "lgb"])
def test_pickle_every_protocol_predicts_like_the_model(tmp_path, fitted, data, name, protocol):
    """Pickle protocols 0-5 of each model family scan as allowed and predict exactly as in memory."""
    model = load_model(dump(tmp_path / "m.pkl", fitted[name], protocol))
    assert (model.scan.verdict, model.scan.protocol, model.trusted) == ("allowed", protocol, False)
    scores, method = model_predict(model, data[0])
    assert method == "predict_proba[:, 1]"
    np.testing.assert_allclose(scores, expected(fitted, data, name), atol=1e-6)


@pytest.mark.parametrize("compress", [0, 3, ("lzma", 3), ("gzip", 3), ("bz2", 3), ("xz", 3)])
@pytest.mark.parametrize("name", ["gb", "pipe", "rf", "lgb"])
def test_joblib_plain_and_compressed(tmp_path, fitted, data, name, compress):
    """joblib files, plain and compressed, are scanned past their inline arrays and predict as in memory."""
    joblib.dump(fitted[name], tmp_path / "m.joblib", compress=compress)
    model = load_model(tmp_path / "m.joblib")
    assert model.format == ("joblib" if compress == 0 else "joblib-compressed")
    assert model.scan.verdict == "allowed" and model.needs["scikit-learn"]
    np.testing.assert_allclose(model_predict(model, data[0])[0], expected(fitted, data, name), atol=1e-6)


@pytest.mark.parametrize("name", ["lr", "gb", "pipe", "rf", "xgb", "lgb"])
def test_skops(tmp_path, fitted, data, name):
    """skops files load with auditkit's allow-list as the trusted types, and predict as in memory."""
    import skops.io

    skops.io.dump(fitted[name], tmp_path / "m.skops")
    model = load_model(tmp_path / "m.skops")
    assert model.format == "skops" and model.scan.verdict == "allowed" and model.needs["skops"]
    np.testing.assert_allclose(model_predict(model, data[0])[0], expected(fitted, data, name), atol=1e-6)


@pytest.mark.parametrize("name", ["lr", "gb", "pipe"])
def test_onnx(tmp_path, fitted, data, name):
    """ONNX exports run in onnxruntime; per-column inputs give feature names; float32 matches to 1e-5."""
    from skl2onnx import to_onnx

    X = data[0] if name == "pipe" else data[0][NUMERIC]
    sample = X[:1] if name == "pipe" else X[:1].to_numpy()
    options = None if name == "lr" else {"zipmap": False}  # lr keeps skl2onnx's default ZipMap output
    (tmp_path / "m.onnx").write_bytes(to_onnx(fitted[name], sample, options=options).SerializeToString())
    model = load_model(tmp_path / "m.onnx")
    assert model.feature_names == (("age", "income", "region") if name == "pipe" else None)
    scores, method = model_predict(model, X)
    assert method.startswith("onnx:")
    np.testing.assert_allclose(scores, expected(fitted, data, name), atol=1e-5)


def xgboost_version() -> str:
    import xgboost

    return ".".join(xgboost.__version__.split(".")[:3])


@pytest.mark.parametrize("suffix", [".json", ".ubj"])
def test_xgboost_native(tmp_path, fitted, data, suffix):
    """XGBoost's own JSON/UBJSON files open with xgboost.Booster and keep their feature names."""
    fitted["xgb"].save_model(tmp_path / f"m{suffix}")
    model = load_model(tmp_path / f"m{suffix}")
    assert model.feature_names == ("age", "income") and model.needs["xgboost"] == xgboost_version()
    scores, method = model_predict(model, data[0])
    assert method == "xgboost"
    np.testing.assert_allclose(scores, expected(fitted, data, "xgb"), atol=1e-6)


def test_lightgbm_native(tmp_path, fitted, data):
    """LightGBM's text model opens with lightgbm.Booster."""
    fitted["lgb"].booster_.save_model(tmp_path / "m.txt")
    model = load_model(tmp_path / "m.txt")
    scores, method = model_predict(model, data[0], batch_size=7)
    assert method == "lightgbm" and model.feature_names == ("age", "income")
    np.testing.assert_allclose(scores, expected(fitted, data, "lgb"), atol=1e-6)


def test_scanner_sees_exactly_what_joblib_imports(fitted):
    """Differential: on tricky arrays (object, structured, Fortran, datetime, text, empty) in every
    protocol and compression, the scan reports the same imports joblib's own unpickler makes."""
    tricky = {"model": fitted["gb"], "big": np.zeros(50_000), "obj": np.array(["a", None, 3], dtype=object),
              "fortran": np.asfortranarray(np.ones((3, 4))), "empty": np.zeros((0, 3)),
              "structured": np.array([(1, 2.0)], dtype=[("a", "<i8"), ("b", ">f8")]),
              "when": np.array(["2020-01-01"], dtype="M8[ns]"), "text": np.array(["héllo"]), "frame": pd.DataFrame(
                  {"x": [1.0, 2.0]})}
    for protocol in (0, 2, 4, 5):
        for compress in (0, 3):
            buffer = io.BytesIO()
            joblib.dump(tricky, buffer, compress=compress, protocol=protocol)
            scan, stream = scan_bytes(buffer.getvalue(), "tricky")
            assert scan.problems == (), scan.problems
            assert {(r.module, r.name) for r in scan.imports} == oracle_imports(stream)


# --- hostile files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", range(6))
def test_os_system_refused_and_not_run(tmp_path, protocol):
    """A pickle whose __reduce__ calls os.system is refused in every protocol; the command never runs."""
    marker = tmp_path / "MARKER"
    path = dump(tmp_path / "evil.pkl", _Shell(marker), protocol)
    message = refused(path, "posix.system", "runs shell commands", "ONNX or skops export")
    assert "evil.pkl" in message and not marker.exists()


def test_builtins_exec_refused(tmp_path):
    """builtins.exec is named as dangerous ('runs Python code'), and the code does not run."""
    marker = tmp_path / "MARKER"
    refused(dump(tmp_path / "evil.pkl", _Exec(marker), 4), "builtins.exec", "runs Python code")
    assert not marker.exists()


def _genops_sees(stream: bytes, word: str) -> bool:
    """What a plain opcode reader finds: pickletools.genops stops at the first byte it cannot parse."""
    seen = []
    with pytest.raises(ValueError):
        for _, arg, _ in pickletools.genops(stream):
            seen.append(str(arg))
    return any(word in s for s in seen)


@pytest.mark.parametrize("compress", [0, 3, ("lzma", 3)])
def test_evil_hidden_after_a_joblib_array(tmp_path, compress):
    """The joblib trap: an os.system call after a large inline array is invisible to pickletools.genops
    (it stops at the array bytes) but not to auditkit, compressed or not."""
    marker = tmp_path / "MARKER"
    path = tmp_path / "model.joblib"
    joblib.dump({"w": np.zeros(1_000_000), "x": _Shell(marker)}, path, compress=compress)
    raw = path.read_bytes()
    stream = raw if compress == 0 else zlib.decompress(raw) if compress == 3 else lzma.decompress(raw)
    assert b"system" in stream and not _genops_sees(stream, "system")  # the trap
    scan = scan_pickle(path)
    assert scan.verdict == "refused" and [r.qualname for r in scan.offending] == ["posix.system"]
    assert scan.format == ("joblib" if compress == 0 else "joblib-compressed")
    refused(path, "posix.system")
    assert not marker.exists()


def test_cloudpickle_function_refused(tmp_path):
    """A cloudpickled function (its code object travels in the file) is refused and never called."""
    import cloudpickle

    marker = str(tmp_path / "MARKER")

    class CallsOnLoad:
        def __reduce__(self):
            return ((lambda: open(marker, "w").close()), ())

    path = tmp_path / "evil.pkl"
    path.write_bytes(cloudpickle.dumps(CallsOnLoad()))
    message = refused(path, "cloudpickle", "rebuilds functions whose code is stored in the file")
    assert "types." in message or "cloudpickle.cloudpickle._make_function" in message
    assert not os.path.exists(marker)


@pytest.fixture
def agency_pickle(tmp_path, monkeypatch):
    """An instance of a class from the agency's own package, pickled; the package is then gone."""
    package = tmp_path / "pkg" / "belastingdienst_risk"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "model.py").write_text("class RiskModel:\n    def predict(self, X):\n        return [0] * len(X)\n")
    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))
    from belastingdienst_risk.model import RiskModel

    path = dump(tmp_path / "risk.pkl", RiskModel(), 4)
    sys.path.remove(str(tmp_path / "pkg"))
    for name in [m for m in sys.modules if m.startswith("belastingdienst_risk")]:
        del sys.modules[name]
    return path


def test_agency_package_is_unknown(agency_pickle):
    """An import from the agency's own package is 'unknown' (refused), and trusting it says the module is
    missing and what to ask for, without a traceback."""
    scan = scan_pickle(agency_pickle)
    assert [(r.qualname, r.status) for r in scan.offending] == [("belastingdienst_risk.model.RiskModel", "unknown")]
    assert "not on auditkit's allow-list: auditkit cannot tell what it does when loaded" in scan.offending[0].reason
    refused(agency_pickle, "belastingdienst_risk.model.RiskModel")
    with pytest.raises(InputDataError, match="(?s)'belastingdienst_risk'.*module not found.*Ask the agency"):
        load_model(agency_pickle, trust=True)


def test_trust_model_runs_the_files_code(tmp_path):
    """--trust-model means what it says: the os.system pickle runs (here: creates a file in tmp_path)."""
    marker = tmp_path / "MARKER"
    with pytest.raises(InputDataError, match="not one model"):  # os.system returns an int, not a model
        load_model(dump(tmp_path / "evil.pkl", _Shell(marker), 2), trust=True)
    assert marker.exists()


def test_trusted_load_is_recorded(tmp_path, fitted):
    """A refused file loaded with trust records trusted=True and what it imported."""
    path = dump(tmp_path / "m.pkl", {"model": fitted["lr"], "helper": os.getcwd}, 4)
    model = load_model(path, trust=True)
    assert model.trusted and any("posix.getcwd" in note and "code ran" in note for note in model.notes)
    assert any("'model' is the model" in note for note in model.notes)


PROTOCOL0_OS_SYSTEM = b"cos\nsystem\n(S'touch MARKER'\ntR."


def test_protocol0_text_global(tmp_path):
    """Protocol 0's text GLOBAL opcode is read like the others."""
    (tmp_path / "p0.pkl").write_bytes(PROTOCOL0_OS_SYSTEM)
    scan = scan_pickle(tmp_path / "p0.pkl")
    assert [r.qualname for r in scan.offending] == ["os.system"] and scan.protocol == 0
    refused(tmp_path / "p0.pkl", "os.system")


@pytest.mark.parametrize("ext", [b"\x82\x01", b"\x83\x01\x00", b"\x84\x01\x00\x00\x00"])
def test_ext_opcodes_refused(tmp_path, ext):
    """EXT1/2/4 name an import through copyreg's registry: unknown, so refused."""
    (tmp_path / "ext.pkl").write_bytes(b"\x80\x02" + ext + b")R.")
    message = refused(tmp_path / "ext.pkl", "extension registry")
    assert "code 1" in message


@pytest.mark.parametrize("stream", [
    b"\x80\x04\x8c\x05posix\x94\x8c\x06system\x94h\x00h\x01\x93\x8c\x04true\x85R.",  # names from the memo
    b"\x80\x04X\x05\x00\x00\x00posixX\x06\x00\x00\x00system\x93N\x85R.",  # BINUNICODE
    b"\x80\x04Vposix\nVsystem\n\x93N\x85R.",  # UNICODE
])
def test_stack_global_operands_however_pushed(tmp_path, stream):
    """STACK_GLOBAL's module and name are found whether pushed directly or fetched from the memo."""
    (tmp_path / "sg.pkl").write_bytes(stream)
    assert [r.qualname for r in scan_pickle(tmp_path / "sg.pkl").offending] == ["posix.system"]


def test_computed_import_name_refused(tmp_path):
    """An import whose name is the result of a call cannot be read statically: refused."""
    stream = b"\x80\x04\x8c\x08builtins\x8c\x03str\x93\x8c\x02os\x85R\x8c\x06system\x93."
    (tmp_path / "c.pkl").write_bytes(stream)
    scan = scan_pickle(tmp_path / "c.pkl")
    assert scan.verdict == "refused" and "not plain text" in scan.problems[0]


def test_concatenated_pickles_all_scanned(tmp_path):
    """A harmless pickle followed by a hostile one: the second is scanned too."""
    (tmp_path / "two.pkl").write_bytes(pickle.dumps(1) + pickle.dumps(os.system))
    assert [r.qualname for r in scan_pickle(tmp_path / "two.pkl").offending] == ["posix.system"]


def _naw_stream(body_after: bytes, in_frame_tail: bytes = b"0") -> bytes:
    """A hand-made joblib stream: a NumpyArrayWrapper for one float64 inside a frame; joblib reads the
    array's 8 bytes from the file after the frame, then resumes inside the frame."""
    s = lambda text: b"\x8c" + bytes([len(text)]) + text  # noqa: E731
    dtype = (s(b"numpy") + s(b"dtype") + b"\x93" + s(b"f8") + b"\x89\x88\x87R"
             + b"(K\x03" + s(b"<") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")
    state = (b"}(" + s(b"subclass") + s(b"numpy") + s(b"ndarray") + b"\x93" + s(b"shape") + b"K\x01\x85"
             + s(b"order") + s(b"C") + s(b"dtype") + dtype + b"ub")
    frame = s(b"joblib.numpy_pickle") + s(b"NumpyArrayWrapper") + b"\x93)\x81" + state + in_frame_tail
    return b"\x80\x04\x95" + struct.pack("<Q", len(frame)) + frame + struct.pack("<d", 1.5) + body_after


def test_array_read_from_after_the_frame(tmp_path):
    """joblib reads array bytes from the file, not the current frame: the scan follows the same path and
    finds the import the real unpickler makes after the array."""
    stream = _naw_stream(b"\x8c\x05posix\x8c\x06system\x93\x8c\x04true\x85R.")
    scan, _ = scan_bytes(stream, "frame")
    assert [r.qualname for r in scan.offending] == ["posix.system"] and not scan.problems
    assert ("posix", "system") in oracle_imports(stream)


def test_unusual_array_wrapper_refused():
    """A NumpyArrayWrapper made in a way joblib never writes (copyreg.__newobj__) might still be read as an
    array by joblib: the scan will not guess, and refuses."""
    stream = b"\x80\x02ccopyreg\n__newobj__\ncjoblib.numpy_pickle\nNumpyArrayWrapper\n\x85R}b."
    scan, _ = scan_bytes(stream, "odd")
    assert scan.verdict == "refused" and "could not follow the whole file" in scan.problems[0]


def test_sklearn_named_foreign_class_blocked_at_load(tmp_path):
    """A CapWords name in a scikit-learn module passes the scan's naming rule, but the loader checks it
    really is a scikit-learn class (numbers.Real imported into sklearn is not)."""
    (tmp_path / "r.pkl").write_bytes(b"\x80\x02csklearn.linear_model._logistic\nReal\n.")
    refused(tmp_path / "r.pkl", "sklearn.linear_model._logistic.Real", "defined in numbers, not sklearn")


@pytest.fixture(scope="module")
def fuzz_seeds(fitted) -> list[bytes]:
    seeds = [pickle.dumps(fitted["lr"], protocol=2), pickle.dumps(fitted["lr"], protocol=5)]
    for compress in (0, 3):
        buffer = io.BytesIO()
        joblib.dump(fitted["lr"], buffer, compress=compress)
        seeds.append(buffer.getvalue())
    return seeds


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 3), cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)),
                                                                    max_size=4))
def test_fuzzed_pickles_never_crash(tmp_path, fuzz_seeds, seed, cut, flips):
    """Truncated or corrupted pickles are refused or fail with a clean auditkit error, never anything else."""
    raw = bytearray(fuzz_seeds[seed][: max(1, int(len(fuzz_seeds[seed]) * (0.3 + 0.7 * cut)))])
    for where, value in flips:
        raw[int(where * (len(raw) - 1))] = value
    path = tmp_path / "fuzz.pkl"
    path.write_bytes(bytes(raw))
    scan_pickle(path)  # never raises
    try:
        load_model(path)
    except (UnsafeModelError, InputDataError):
        pass


# --- files auditkit cannot open, and other mistakes ------------------------------------------------------


@pytest.mark.parametrize("name, content, fragment", [
    ("model.rds", gzip.compress(b"X\n\x00\x00\x00\x03"), "R model"),
    ("model.RData", b"RDX3\nX\n", "R model"),
    ("model.pmml", b'<?xml version="1.0"?>\n<PMML version="4.4"></PMML>', "PMML"),
    ("model.xml", b'<?xml version="1.0"?>\n<PMML version="4.4"></PMML>', "PMML"),
    ("scores.sas7bdat", b"\x00" * 64, "SAS data set"),
    ("model.sas", b"proc logistic data=x; run;", "SAS"),
    ("model.spk", b"PK\x03\x04", "SAS"),
    ("model.sav", b"$FL2@(#) SPSS DATA FILE", "SPSS data file"),
])
def test_formats_auditkit_cannot_open_say_what_to_ask_for(tmp_path, name, content, fragment):
    """R, PMML and SAS files (and SPSS data named .sav) get a message saying what to ask the agency for."""
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InputDataError) as info:
        load_model(tmp_path / name)
    assert fragment in str(info.value) and "scores" in str(info.value)
    assert MODEL_SUFFIXES[".RData"] == "r"


@pytest.mark.parametrize("name, content, fragment", [
    ("m.json", b'{"not": "xgboost"}', "'learner' key"),
    ("m.txt", b"hello", "not a LightGBM text model"),
    ("m.bin", b"\x00\x01", "Cannot tell the format"),
    ("m.pkl", b"", "is empty"),
    ("m.pkl", b"\x80\x06N.", "pickle protocol 6"),
    ("m.pkl", b"\x80\x02U\x04caf\xe9.", "saved by Python 2"),
])
def test_bad_files_say_what_is_wrong(tmp_path, name, content, fragment):
    """Files that are not what their name says get an InputDataError naming the problem."""
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InputDataError, match=fragment):
        load_model(tmp_path / name)


def test_missing_file_did_you_mean(tmp_path):
    """A misspelt model path suggests the file that is there."""
    (tmp_path / "model.onnx").write_bytes(b"")
    with pytest.raises(InputDataError, match="Did you mean 'model.onnx'"):
        load_model(tmp_path / "modle.onnx")


def test_pickle_that_is_not_a_model(tmp_path, data):
    """A pickled DataFrame (scores, perhaps) is not a model: say so, and how to audit scores."""
    with pytest.raises(InputDataError, match="DataFrame.*not one model.*audit --score"):
        load_model(dump(tmp_path / "scores.pkl", data[0], 4))


def test_sklearn_version_mismatch(tmp_path, fitted, monkeypatch):
    """A model saved by another scikit-learn names both versions and how to get the right one."""
    import sklearn
    import sklearn.base

    monkeypatch.setattr(sklearn.base, "__version__", "1.0.2")
    path = dump(tmp_path / "old.pkl", fitted["lr"], 4)
    monkeypatch.undo()
    with pytest.raises(InputDataError) as info:
        load_model(path)
    for fragment in ("scikit-learn 1.0.2", sklearn.__version__, "pip install scikit-learn==1.0.2", "ONNX or skops"):
        assert fragment in str(info.value)


def test_moved_sklearn_module(tmp_path, fitted, monkeypatch):
    """A class path an old scikit-learn used (sklearn.linear_model.logistic) gives the version message."""
    import sklearn.base

    monkeypatch.setattr(sklearn.base, "__version__", "0.21.3")
    raw = pickle.dumps(fitted["lr"], protocol=2).replace(b"sklearn.linear_model._logistic",
                                                          b"sklearn.linear_model.logistic")
    (tmp_path / "old.pkl").write_bytes(raw)
    with pytest.raises(InputDataError, match=r"saved with scikit-learn 0\.21\.3.*scikit-learn==0\.21\.3"):
        load_model(tmp_path / "old.pkl")


def test_agency_type_in_skops_refused(agency_pickle, tmp_path, monkeypatch):
    """skops files are held to the same allow-list: the file's own types are never trusted."""
    import skops.io

    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))
    from belastingdienst_risk.model import RiskModel

    skops.io.dump(RiskModel(), tmp_path / "risk.skops")
    refused(tmp_path / "risk.skops", "belastingdienst_risk.model.RiskModel")


# --- alignment and scoring -------------------------------------------------------------------------------


def test_alignment(tmp_path, fitted, data):
    """Missing inputs get did-you-mean; extra columns are dropped and noted; case differences are noted."""
    model = load_model(dump(tmp_path / "m.pkl", fitted["lr"], 4))
    X = data[0].rename(columns={"age": "agee", "income": "INCOME"})
    with pytest.raises(InputDataError, match=r"'age' \(did you mean 'agee'\?\)"):
        align_features(model, X)
    frame, notes = align_features(model, data[0].rename(columns={"income": "INCOME"}).assign(nationality="NL"))
    assert list(frame.columns) == NUMERIC
    assert "'region', 'nationality'" in notes[0] and "'INCOME'" in notes[1]


def test_nameless_model_needs_exact_column_count(tmp_path, data):
    """A model trained on a bare array has no input names: the data must have exactly its column count."""
    X, y = data
    model = load_model(dump(tmp_path / "m.pkl", LogisticRegression().fit(X[NUMERIC].to_numpy(), y), 4))
    with pytest.raises(InputDataError, match="exactly 2 column"):
        model_predict(model, X)
    scores, _ = model_predict(model, X[NUMERIC])
    assert scores.shape == (len(X),)
    assert "order the model was trained on" in align_features(model, X[NUMERIC])[1][0]


def test_multiclass_and_named_classes(tmp_path, data):
    """Multiclass models, and binary ones with text classes, must be told which class means 'selected'."""
    X, _ = data
    multi = load_model(dump(tmp_path / "multi.pkl", LogisticRegression().fit(X[NUMERIC], X["region"]), 4))
    with pytest.raises(InputDataError, match="multiclass.*'east', 'north', 'south'"):
        model_predict(multi, X)
    scores, method = model_predict(multi, X, selected_class="south")
    assert method == "predict_proba[:, 2]"
    labels = np.where(X["age"] > 40, "Ja", "Nee")
    named = load_model(dump(tmp_path / "named.pkl", LogisticRegression().fit(X[NUMERIC], labels), 4))
    with pytest.raises(InputDataError, match="classes 'Ja' and 'Nee'"):
        model_predict(named, X)
    scores, method = model_predict(named, X, selected_class="Ja")
    local = load_model(tmp_path / "named.pkl", trust=True)  # the estimator itself, in this process
    np.testing.assert_allclose(scores, local.estimator.predict_proba(X[NUMERIC])[:, 0])


def test_batches_and_progress(tmp_path, fitted, data, capsys):
    """Batching does not change the scores; progress=True draws a bar on stderr."""
    model = load_model(dump(tmp_path / "m.pkl", fitted["pipe"], 4))
    scores, _ = model_predict(model, data[0], batch_size=7, progress=True)
    np.testing.assert_allclose(scores, expected(fitted, data, "pipe"), atol=1e-12)
    assert "scoring" in capsys.readouterr().err


def test_text_in_numeric_column_is_explained(tmp_path, fitted, data):
    """Data the model cannot score names the text columns instead of showing a traceback."""
    model = load_model(dump(tmp_path / "m.pkl", fitted["lr"], 4))
    with pytest.raises(InputDataError, match="could not score the data.*Columns holding text: 'age'"):
        model_predict(model, data[0].assign(age="forty"))


def test_inspect_does_not_load(tmp_path):
    """inspect_model reports every import with status and reason, without running the file."""
    marker = tmp_path / "MARKER"
    info = inspect_model(dump(tmp_path / "evil.pkl", _Shell(marker), 4))
    assert info["verdict"] == "refused" and info["protocol"] == 4 and len(info["sha256"]) == 64
    assert [(i["qualname"], i["status"]) for i in info["imports"]] == [("posix.system", "dangerous")]
    assert not marker.exists()
