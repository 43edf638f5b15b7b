"""Does the model keep learning? What a model file reveals about online learning and retraining.

Self-learning government systems are a concern in their own right (a model that learns from the
outcomes of its own selections feeds its bias back into itself), and an impact assessment asks about
them.  A file can show that a model *can* learn online and sometimes that it *did*; it cannot show how
often an agency retrains it.  So the reading is one of:

* ``online``: an estimator that learns one batch at a time (it has ``partial_fit``) and whose state
  shows it was trained that way (one pass per call, ``n_iter_ == 1``) or is set to keep doing so
  (``warm_start=True``);
* ``batch``: the file carries its own training procedure (a cross-validated search or a ``…CV``
  estimator that refits itself on new data);
* ``unknown``: anything else, including a published specification (fixed weights).

Each reading lists its evidence in words; the template's ``system.retraining`` records what the agency
declares, and the checklist weighs both.
"""

from __future__ import annotations

from typing import Any

__all__ = ["learning_of"]

_SEARCH = ("GridSearchCV", "RandomizedSearchCV", "HalvingGridSearchCV", "HalvingRandomSearchCV")


def _parts(est: Any) -> list[Any]:
    """The estimator and the steps of a pipeline (one level deep, and a search's estimator)."""
    parts = [est]
    steps = getattr(est, "steps", None)
    if isinstance(steps, list):
        parts += [step for _, step in steps if step not in (None, "passthrough")]
    return parts


def learning_of(est: Any) -> dict:
    """``{"model": "online"|"batch"|"unknown", "evidence": [...]}`` from a model object's own attributes.

    >>> import numpy as np
    >>> from sklearn.linear_model import SGDClassifier
    >>> X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
    >>> model = SGDClassifier(random_state=0)
    >>> _ = model.partial_fit(X, y, classes=[0, 1])
    >>> learning_of(model)["model"]
    'online'
    """
    if getattr(est, "auditkit_spec_", None) is not None:
        return {"model": "unknown", "evidence": [
            "A published specification holds fixed weights or rules; whether and how often the agency "
            "re-estimates them is not in it: ask."]}
    online, batch = [], []
    for part in _parts(est):
        name = type(part).__name__
        params = part.get_params(deep=False) if hasattr(part, "get_params") else {}
        if name in _SEARCH or (name.endswith("CV") and hasattr(part, "fit")):
            batch.append(f"{name} carries its own training procedure: fitting it on new data retrains the model.")
        if not hasattr(part, "partial_fit"):
            continue
        if params.get("warm_start") is True:
            online.append(f"{name} is set to continue training from its current state (warm_start=True).")
        if getattr(part, "n_iter_", None) == 1 and getattr(part, "t_", None) is not None:
            online.append(f"{name} was fitted one pass at a time (n_iter_ = 1, {int(part.t_) - 1:,} updates), as "
                          "partial_fit leaves it: the way an online learner is updated with new cases.")
        if isinstance(params.get("learning_rate"), str) and online:
            online.append(f"{name} has a learning schedule (learning_rate={params['learning_rate']!r}).")
        if not online:
            batch.append(f"{name} can learn one batch at a time (it has partial_fit), but nothing in the file "
                         "shows it was trained that way.")
    if online:
        return {"model": "online", "evidence": online + batch}
    if any("training procedure" in e for e in batch):
        return {"model": "batch", "evidence": batch}
    return {"model": "unknown", "evidence": batch + [
        "The file holds a model fitted once; whether the agency retrains it, and on what, is not in the file: "
        "ask (and record the answer as system.retraining in the template)."]}
