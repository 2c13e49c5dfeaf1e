"""The sample measures list (Maßnahmenliste, XLSX): about 150 measures over the ten example
fields of action, mostly in districts of high need, with gaps (high-need districts that a field
does not serve), overlaps (two measures with the same field, district and target group at the
same time) and funding that ends within a year, built in on purpose."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
from openpyxl import Workbook

from dagster_project.contracts import SEED_DIR, load_contracts
from sample_deliveries import calibration as cal

PROGRAMMES = [  # programme, funder
    ("ESF Plus: Zugewanderte aus Südosteuropa", "EU"), ("EHAP Plus", "EU"),
    ("Soziale Stadt / Sozialer Zusammenhalt", "BUND"), ("Bundesprogramm Sprach-Kitas", "BUND"),
    ("Kommunale Integrationszentren NRW", "LAND"), ("Kinderarmut bekämpfen NRW", "LAND"),
    ("Aktionsplan Soziale Stadt Dortmund", "KOMMUNE"), ("Kommunaler Sozialfonds", "KOMMUNE"),
]
CARRIERS = ["Caritas Dortmund", "Diakonie Dortmund", "AWO Unterbezirk Dortmund", "DRK Kreisverband",
            "Jugendamt der Stadt", "Sozialamt der Stadt", "Grünbau gGmbH", "Planerladen e. V.",
            "Quartiersmanagement Nordstadt", "VMDO e. V."]
TARGET_GROUPS = ["ALLE", "KINDER_JUGENDLICHE", "FAMILIEN", "SENIOREN", "ZUGEWANDERTE", "LEISTUNGSBEZIEHENDE"]
TITLES = {
    "arbeit": "Beschäftigungsförderung", "bildung": "Lernförderung", "kinder_familie": "Familienbüro",
    "gesundheit": "Gesundheitslotsen", "wohnen": "Wohnungsnotfallhilfe", "integration": "Ankommenslotsen",
    "existenzsicherung": "Sozialberatung", "alter": "Seniorenbüro", "nachbarschaft": "Nachbarschaftstreff",
    "inklusion": "Teilhabeberatung",
}


def programmes_and_carriers() -> tuple[list[tuple[str, str]], list[str]]:
    """The sample's programmes and carriers: Dortmund's for the reference calibration; for any
    other city profile the same with its name and without the NRW programmes' state."""
    if cal._is_dortmund():
        return PROGRAMMES, CARRIERS
    city = cal._profile().name
    programmes = [(name.replace("Dortmund", city).replace(" NRW", " (Landesprogramm)"), funder)
                  for name, funder in PROGRAMMES]
    carriers = [c.replace("Dortmund", city).replace("Quartiersmanagement Nordstadt", "Quartiersmanagement")
                for c in CARRIERS]
    return programmes, carriers


def _fields() -> list[str]:
    with (SEED_DIR.parent / "planning" / "fields_of_action.csv").open(encoding="utf-8") as handle:
        return [row["field_of_action_id"] for row in csv.DictReader(handle)]


def write_measures(out: Path, period: str = "2024-12", seed: int = 42, n_measures: int = 150) -> tuple[Path, int]:
    """Write the measures list; returns its path and number of rows."""
    rng = np.random.default_rng(seed + 31337)
    programmes, carriers = programmes_and_carriers()
    d = cal.districts()
    need = (1 - d.rank) ** 2 + 0.05  # high need in the north
    fields = _fields()
    reference = dt.date(int(period[:4]), int(period[5:]), 28)
    rows = []
    for number in range(1, n_measures + 1):
        field = fields[(number - 1) % len(fields)]
        # gaps: each field leaves its neediest districts but one to chance, and skips one on purpose
        weights = need.copy()
        weights[np.argsort(-need)[(number % len(fields)) % 5]] = 0
        if rng.random() < 0.04:
            districts = "GESAMTSTADT"
        else:
            chosen = rng.choice(len(d.codes), size=int(rng.integers(1, 4)), replace=False, p=weights / weights.sum())
            districts = ",".join(sorted(d.codes[chosen]))
        begin = dt.date(int(rng.integers(reference.year - 12, reference.year + 1)), int(rng.integers(1, 13)), 1)
        begin = min(begin, reference.replace(day=1))  # nothing begins after the delivery month
        if rng.random() < 0.15:
            end = None  # permanent
        elif rng.random() < 0.2:
            end = reference + dt.timedelta(days=int(rng.integers(30, 360)))  # funding ends within a year
            end = max(end, begin + dt.timedelta(days=90))
        else:
            end = begin + dt.timedelta(days=int(rng.integers(365, 6 * 365)))
        programme, funder = programmes[int(rng.integers(0, len(programmes)))]
        rows.append([f"M{number:04d}", f"{TITLES[field]} {number}", field, carriers[int(rng.integers(0, len(carriers)))],
                     programme, funder, TARGET_GROUPS[int(rng.integers(0, len(TARGET_GROUPS)))], districts, begin, end,
                     float(round(rng.gamma(2.0, 60_000), -2))])
    # overlaps: a few measures doubled by a second carrier (same field, district, target group, time)
    for source in rng.choice(len(rows), size=6, replace=False):
        copy = list(rows[source])
        copy[0] = f"M{len(rows) + 1:04d}"
        copy[3] = carriers[(carriers.index(copy[3]) + 1) % len(carriers)]
        copy[1] = copy[1] + " (zweiter Träger)"
        rows.append(copy)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = load_contracts()["massnahmen"].sheet
    sheet.append(load_contracts()["massnahmen"].header)
    for row in rows:
        sheet.append(row)
    target = out / "massnahmen" / f"massnahmen_{period}.xlsx"
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(target)
    return target, len(rows)
