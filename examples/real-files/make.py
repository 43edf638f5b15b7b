"""Write the example files of docs/opening-real-files.md (run from the repository root to refresh them).

Each file carries one trap of real audit material: an agency workbook (title row, merged header, total
rows, notes below the table, a second sheet), a file of investigated cases only, scores written with
thousands separators, a header with a repeated column, and a model fitted on a bare array.
"""

from __future__ import annotations

import csv
import datetime
from pathlib import Path

import numpy as np
import openpyxl
from sklearn.linear_model import LogisticRegression

HERE = Path(__file__).resolve().parent
FIXED = datetime.datetime(2024, 1, 1)


def workbook() -> None:
    counts = {("Nederlands", "ja"): 120, ("Nederlands", "nee"): 2880, ("Marokkaans", "ja"): 60,
              ("Marokkaans", "nee"): 540, ("Turks", "ja"): 45, ("Turks", "nee"): 555}
    wb = openpyxl.Workbook()
    wb.properties.created = wb.properties.modified = FIXED  # same bytes on every run
    ws = wb.active
    ws.title = "Tabel 1"
    ws.append(["Tabel 1. Selecties voor heronderzoek naar nationaliteit, 2023"])
    ws.merge_cells("A1:C1")
    ws.append([])
    ws.append(["Nationaliteit", "Geselecteerd", "Aantal"])
    for (group, selected), n in counts.items():
        ws.append([group, selected, n])
    for selected in ("ja", "nee"):
        ws.append(["Totaal", selected, sum(n for (g, s), n in counts.items() if s == selected)])
    ws.append([])
    ws.append(["Bron: gemeentelijke registratie, bewerking door de onderzoekers."])
    notes = wb.create_sheet("Toelichting")
    notes["A1"] = "Aantallen personen; een persoon kan eenmaal per jaar geselecteerd worden."
    wb.save(HERE / "selections.xlsx")


def investigations(rng: np.random.Generator) -> None:
    with open(HERE / "investigations.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["dossier_id", "groep", "selectie", "fraude"])
        for i in range(600):
            how = "steekproef" if rng.random() < 0.3 else "model"
            group = rng.choice(["A", "B"], p=[0.6, 0.4] if how == "steekproef" else [0.45, 0.55])
            out.writerow([1000 + i, group, how, int(rng.random() < (0.08 if how == "steekproef" else 0.2))])


def scores(rng: np.random.Generator) -> None:
    with open(HERE / "scores.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["groep", "risicoscore", "groep"])
        for _ in range(400):
            group = rng.choice(["A", "B"])
            score = int(rng.normal(900 if group == "A" else 1100, 250))
            out.writerow([group, f"{max(score, 100):,}", group])


def model(rng: np.random.Generator) -> None:
    import skops.io

    n = 500
    age = rng.integers(18, 80, n)
    income = rng.normal(28, 9, n).round(1)
    nationality = rng.choice(["Nederlands", "Marokkaans", "Turks"], n, p=[0.7, 0.15, 0.15])
    fraud = (rng.random(n) < 1 / (1 + np.exp(0.05 * (age - 45) + 0.05 * (income - 28)))).astype(int)
    with open(HERE / "people.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["dossier_id", "leeftijd", "inkomen", "nationaliteit", "fraude"])
        out.writerows(zip(range(1, n + 1), age, income, nationality, fraud))
    est = LogisticRegression().fit(np.column_stack([age, income]).astype(float), fraud)
    skops.io.dump(est, HERE / "nameless.skops")


if __name__ == "__main__":
    generator = np.random.default_rng(2024)
    workbook()
    investigations(generator)
    scores(generator)
    model(generator)
