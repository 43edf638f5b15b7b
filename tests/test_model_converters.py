"""Models as the usual converters export them (onnxmltools for XGBoost and LightGBM) score as the originals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from auditkit.load.model import load_model, model_predict

pytest.importorskip("onnxmltools")


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4)).astype(np.float32)
    return X, (X[:, 0] + 0.5 * X[:, 2] + rng.normal(size=400) > 0).astype(int)


@pytest.mark.parametrize("zipmap", [False, True])
def test_lightgbm_exported_with_onnxmltools(tmp_path: Path, zipmap: bool):
    """A single nameless float tensor input, probabilities as a tensor or (ZipMap) a list of maps."""
    import lightgbm
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    X, y = _data()
    model = lightgbm.LGBMClassifier(n_estimators=15, verbose=-1).fit(X, y)
    onx = convert_lightgbm(model, initial_types=[("input", FloatTensorType([None, 4]))], target_opset=15,
                           zipmap=zipmap)
    path = tmp_path / "lgb.onnx"
    path.write_bytes(onx.SerializeToString())
    scores, method = model_predict(load_model(path), pd.DataFrame(X, columns=list("abcd")))
    assert method.startswith("onnx:")
    np.testing.assert_allclose(scores, model.predict_proba(X)[:, 1], atol=1e-6)


def test_xgboost_exported_with_onnxmltools(tmp_path: Path):
    import xgboost
    from onnxmltools import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    X, y = _data()
    model = xgboost.XGBClassifier(n_estimators=15, max_depth=3).fit(X, y)
    onx = convert_xgboost(model, initial_types=[("input", FloatTensorType([None, 4]))], target_opset=15)
    path = tmp_path / "xgb.onnx"
    path.write_bytes(onx.SerializeToString())
    scores, _ = model_predict(load_model(path), pd.DataFrame(X, columns=list("abcd")))
    np.testing.assert_allclose(scores, model.predict_proba(X)[:, 1], atol=1e-6)
