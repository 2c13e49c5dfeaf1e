"""The overview's key findings on hand-made data: the numbers in each sentence worked out by hand."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from dagster_project.report.hierarchy import Hierarchy
from dagster_project.report.pages.findings import key_findings


def _areas() -> pd.DataFrame:
    """A small dim_area in Dortmund's levels (the default city profile): the city, three city
    districts, a statistical district in each."""
    rows = [("city", "05913000", "Dortmund", None, None)]
    rows += [("city_district", code, name, "city", "05913000") for code, name in (("01", "Nord"), ("02", "Süd"), ("03", "West"))]
    rows += [("statistical_district", code, f"B{code}", "city_district", parent)
             for code, parent in (("100", "01"), ("200", "02"), ("300", "03"))]
    return pd.DataFrame(rows, columns=["area_level", "area_code", "area_name", "parent_area_level", "parent_area_code"])


def _data():
    values = pd.DataFrame([
        # city district 01: 20,0 -> 21,5 (+1,5); 02: 30,0 -> 29,2 (-0,8); 03 suppressed in 2023
        ("sgb2_rate", "city_district", "01", "Nord", 2022, 20.0, False),
        ("sgb2_rate", "city_district", "01", "Nord", 2023, 21.5, False),
        ("sgb2_rate", "city_district", "02", "Süd", 2022, 30.0, False),
        ("sgb2_rate", "city_district", "02", "Süd", 2023, 29.2, False),
        ("sgb2_rate", "city_district", "03", "West", 2022, 10.0, False),
        ("sgb2_rate", "city_district", "03", "West", 2023, None, True),
    ], columns=["indicator_id", "area_level", "area_code", "area_name", "reference_year", "indicator_value",
                "is_suppressed"])
    index = pd.DataFrame([("100", 2022, "mittel", True), ("100", 2023, "niedrig", True),
                          ("200", 2022, "hoch", True), ("200", 2023, "hoch", True),
                          ("300", 2022, "niedrig", True), ("300", 2023, "mittel", True)],
                         columns=["statistical_district_code", "reference_year", "status_class", "is_classified"])
    goals = pd.DataFrame([("Z01", 2023, "gefährdet"), ("Z02", 2023, "auf Kurs"), ("Z03", 2023, "gefährdet")],
                         columns=["goal_id", "reference_year", "goal_status"])
    monitoring = pd.DataFrame([("stock", "EU2", "city", 2022, 9800.0, False), ("stock", "EU2", "city", 2023, 10250.0, False)],
                              columns=["measure_id", "monitoring_group", "area_level", "reference_year", "measure_value",
                                       "is_suppressed"])
    return SimpleNamespace(values=values, latest_year=2023, hierarchy=Hierarchy(_areas()),
                           indicator=lambda i: {"label_de": "SGB-II-Quote", "decimals": 1, "unit": "%"},
                           marts={"fct_social_index": index, "fct_goal_achievement": goals,
                                  "fct_immigration_monitoring": monitoring})


def test_five_findings_with_their_numbers():
    assert key_findings(_data()) == [
        "SGB-II-Quote: am stärksten gestiegen im Stadtbezirk Nord (+1,5 Prozentpunkte von 2022 auf 2023).",
        "SGB-II-Quote: am stärksten gesunken im Stadtbezirk Süd (−0,8 Prozentpunkte von 2022 auf 2023).",
        "Sozialindex 2023: 1 Gebiet in eine ungünstigere, 1 in eine günstigere Statusklasse als 2022.",
        "Ziele 2023: 2 von 3 gefährdet (Z01, Z03).",
        "Einwohner aus Bulgarien und Rumänien: 10.250 am 31.12.2023 (+450 gegenüber dem Vorjahr).",
    ]


def test_a_suppressed_district_is_never_a_finding():
    data = _data()
    data.values.loc[data.values.area_code == "01", "is_suppressed"] = True
    findings = key_findings(data)
    assert not any("Nord" in f or "West" in f for f in findings)
