"""Write the synthetic example files in this folder, with the true size of every planted disparity.

Run from the repository root: ``python datasets/generate.py``.  Each file is
made by a seeded generator in :mod:`auditkit.datasets.generators` (seed
20261129), so the same command writes the same bytes; ``planted.json`` beside
each file lists every group's true ratio to its reference.  The tests check
that the shipped files are exactly what this script writes.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from auditkit.datasets.generators import SEED, generate

ROOT = Path(__file__).resolve().parent

#: folder/file -> (generator, rows)
FILES = {
    "welfare/decisions.csv": ("welfare", 6000),
    "childcare-benefit/applications.csv": ("childcare-benefit", 4000),
    "student-finance/process.csv": ("student-finance", 8000),
    "student-finance-reached/students.csv": ("student-finance-reached", 4000),
    "police-stops/stops.csv": ("police-stops", 3000),
    "recidivism/scores.csv": ("recidivism", 4000),
}


def render(name: str, rows: int) -> tuple[str, str]:
    """The CSV text and the planted-truth JSON text of one example file."""
    data = generate(name, rows, SEED)
    csv_text = data.frame.to_csv(index=False, lineterminator="\n")
    truth = {"generator": data.name, "seed": data.seed, "rows": len(data.frame),
             "parameters": data.parameters, "planted": [asdict(p) for p in data.planted]}
    return csv_text, json.dumps(truth, indent=2, ensure_ascii=False) + "\n"


def main(root: Path = ROOT) -> None:
    """Write every example file and its planted.json under ``root``."""
    for relative, (name, rows) in FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        csv_text, truth = render(name, rows)
        path.write_text(csv_text, encoding="utf-8", newline="")
        (path.parent / "planted.json").write_text(truth, encoding="utf-8", newline="")
        print(f"wrote {relative} ({len(csv_text):,} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)
