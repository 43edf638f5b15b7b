"""The handle auditkit holds for a model that lives in its model worker (:mod:`auditkit.load._sandbox`).

A :class:`RemoteModel` stands in for the model object: scoring (batches pipelined through shared
memory, two in flight), SHAP and the model card are requests to the worker, whose replies are checked
here -- type, shape and size -- before anything uses them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import AuditkitError, UnsafeModelError
from ._wire import Broken, encode_frame

__all__ = ["RemoteModel"]


class RemoteModel:
    """A model that lives in a worker process: score, explain and describe it through the worker.

    Stands in for the model object in a :class:`~auditkit.load._loaded.LoadedModel`; ``n_features``
    and ``feature_names`` are what the worker read from the model (checked types).
    """

    remote = True

    def __init__(self, worker: Worker, meta: dict) -> None:
        self.worker = worker
        self.class_name = _text(meta.get("class"), "?")
        width = meta.get("n_inputs")
        self.n_features = width if type(width) is int and width >= 0 else None
        self.feature_names = meta.get("feature_names")

    def score(self, frame: Any, selected: object) -> tuple[np.ndarray, str]:
        """Scores of one aligned batch, and the scoring method."""
        spec, arrays = encode_frame(frame)
        reply, out = self.worker.call("score", "scoring the data", {"frame": spec, "selected": selected}, arrays,
                                      room=8 * len(frame))
        if len(out) != 1 or out[0].dtype != np.float64 or out[0].shape != (len(frame),):
            raise UnsafeModelError(self.worker._failure("scoring the data", Broken("scores of the wrong shape")))
        return out[0], _text(reply.get("method"), "?")

    def score_all(self, frame: Any, batch: int, selected: object, step: Any = None) -> list[np.ndarray]:
        """Scores of every batch of ``batch`` rows of an aligned frame, one request per batch.

        The next batch is written while the worker scores the current one (two requests in flight), so
        that on a machine with two cores the copy and the round trip cost next to nothing.  ``step`` is
        called once per batch scored."""
        try:
            return self._score_all(frame, batch, selected, step)
        except AuditkitError:
            while self.worker.pending:  # the reply to the batch in flight, so that the next request gets its own
                try:
                    self.worker.receive()
                except AuditkitError:
                    pass
            raise
        except BaseException:
            if self.worker.pending:
                self.worker.close()
            raise

    def _score_all(self, frame: Any, batch: int, selected: object, step: Any) -> list[np.ndarray]:
        parts, starts = [], range(0, len(frame), batch)
        for i, start in enumerate(starts):
            rows = frame.iloc[start:start + batch]
            spec, arrays = encode_frame(rows)
            self.worker.send("score", "scoring the data", {"frame": spec, "selected": selected}, arrays,
                             room=8 * len(rows))
            if i:
                parts.append(self._scores(starts[i - 1], len(frame), batch))
                if step is not None:
                    step(1)
        if len(starts):
            parts.append(self._scores(starts[-1], len(frame), batch))
            if step is not None:
                step(1)
        return parts

    def _scores(self, start: int, total: int, batch: int) -> np.ndarray:
        _, out = self.worker.receive()
        if len(out) != 1 or out[0].dtype != np.float64 or out[0].shape != (min(batch, total - start),):
            raise UnsafeModelError(self.worker._failure("scoring the data", Broken("scores of the wrong shape")))
        return out[0]

    def explain(self, X: Any, rows: np.ndarray, bg: np.ndarray, seed: int) -> dict:
        """SHAP values of ``X.iloc[rows]`` computed in the worker (see
        :func:`auditkit.explain.shap_groups.explain_model`)."""
        spec, arrays = encode_frame(X)
        header = {"frame": spec, "rows": len(arrays), "bg": len(arrays) + 1, "seed": int(seed)}
        reply, out = self.worker.call("shap", "explaining it with SHAP", header,
                                      [*arrays, np.asarray(rows, np.int64), np.asarray(bg, np.int64)])
        features = reply.get("features")
        ok = (len(out) == 2 and isinstance(features, list) and out[0].shape == (len(rows), len(features))
              and out[1].shape == (len(rows),) and all(isinstance(f, str) for f in features))
        if not ok:
            raise UnsafeModelError(self.worker._failure("explaining it with SHAP", Broken("SHAP values of the "
                                                                                          "wrong shape")))
        return {**reply, "values": out[0], "output": out[1]}

    def card(self, protected: list[str], proxies: list[str], names: tuple[str, ...] | None = None,
             names_given: bool = False) -> dict:
        """The model card, made in the worker from the model object (with the input names auditkit was given
        for a model that records none, ``--features``)."""
        header = {"protected": protected, "proxies": proxies, "names_given": bool(names_given),
                  "names": list(names) if names_given and names is not None else None}
        reply, _ = self.worker.call("card", "describing the model", header)
        card = reply.get("card")
        if not isinstance(card, dict):
            raise UnsafeModelError(self.worker._failure("describing the model", Broken("no model card")))
        return card

    def close(self) -> None:
        """Stop the worker."""
        self.worker.close()


def _text(value: object, default: str) -> str:
    return value[:1000] if isinstance(value, str) else default
