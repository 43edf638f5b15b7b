"""How long finding direct use of protected attributes takes on the explained rows (the default sample of
100,000 rows), with 20 model inputs and 3 protected attributes, among them a dummy set and a coded copy.

Run: python benchmarks/direct_use.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from auditkit.explain.direct_use import find_direct_use


def main(rows: int = 100_000, inputs: int = 20) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"nationality": rng.choice(["NL", "EU", "non-EU", "other"], rows),
                          "sex": rng.choice(["F", "M"], rows), "age_band": rng.choice(["<27", "27-45", "45+"], rows)})
    X = pd.DataFrame({f"x{i}": rng.normal(size=rows) for i in range(inputs - 4)})
    X["sex_male"] = (frame.sex == "M").astype(int)
    for level in ("EU", "non-EU"):
        X[f"nationality_{level}"] = (frame.nationality == level).astype(int)
    X["band_code"] = frame.age_band.map({"<27": 0, "27-45": 1, "45+": 2})
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        found, _ = find_direct_use(X, frame, ["nationality", "sex", "age_band"])
        best = min(best, time.perf_counter() - start)
    print(f"{rows:,} rows x {inputs} inputs x 3 attributes: {best:.2f} s (best of 3); found "
          + "; ".join(f"{r.attribute}: {', '.join(r.inputs)}" for r in found))


if __name__ == "__main__":
    main()
