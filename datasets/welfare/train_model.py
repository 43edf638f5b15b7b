"""Train the demo fraud-risk model and save it as ``model.skops`` (a safe format: no code runs on loading).

Run from the repository root: ``python datasets/welfare/train_model.py``.  Seeded:
the same versions of scikit-learn and skops write the same model.  The model is a
logistic regression on five inputs an agency extract has -- none of them
nationality -- trained on labels of past investigations that carry the
investigators' bias (see ``auditkit.datasets.generators.welfare_history``): it
learns the language requirement and the neighbourhood as proxies.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: The model's inputs, in order: columns of decisions.csv.
FEATURES = ["age", "months_on_benefit", "dutch_language_requirement_met", "lives_in_zuid_oost", "single_parent"]


def train(seed: int = 20261130):
    """The fitted model (scikit-learn LogisticRegression with named inputs)."""
    from sklearn.linear_model import LogisticRegression

    from auditkit.datasets.generators import welfare_history

    history = welfare_history(rows=20000, seed=seed)
    model = LogisticRegression(max_iter=1000)
    model.fit(history[FEATURES], history["fraud_found"])
    return model


def main(out: Path) -> None:
    """Train and write the model to ``out``."""
    import skops.io

    model = train()
    skops.io.dump(model, out)
    weights = ", ".join(f"{name} {coef:+.3f}" for name, coef in zip(FEATURES, model.coef_[0]))
    print(f"wrote {out}: intercept {model.intercept_[0]:+.3f}; {weights}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("model.skops"))
