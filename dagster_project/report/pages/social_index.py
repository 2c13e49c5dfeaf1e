"""Sozialindex: maps of the status and dynamics classes, the method (Berlin MSS) and the table."""

from __future__ import annotations

import pandas as pd

from dagster_project.report.cells import is_missing
from dagster_project.report.exports import Table
from dagster_project.report.maps import categorical

TITLE = "Sozialindex"
STATUS = ["hoch", "mittel", "niedrig", "sehr niedrig"]
STATUS_COLOURS = ["#fde725", "#5ec962", "#3b528b", "#440154"]
DYNAMICS = ["positiv", "stabil", "negativ"]
DYNAMICS_COLOURS = ["#1b9e77", "#a6cee3", "#d95f02"]   # "stabil" unlike the grey of "keine Angabe"
RATES = [("s1_unemployment_sgb2_rate", "S1 SGB-II-Arbeitslosenquote (%)"),
         ("s2_transfer_rate", "S2 Transferbezug (%)"), ("s3_sgb2_child_rate", "S3 SGB-II-Quote unter 15 (%)"),
         ("d1_change_unemployment_pp", "D1 Veränderung S1 (Prozentpunkte)"),
         ("d2_change_transfer_pp", "D2 Veränderung S2 (Prozentpunkte)"),
         ("d3_change_child_rate_pp", "D3 Veränderung S3 (Prozentpunkte)")]


def status_map(site, title: str | None = None) -> str:
    rows = site.data.social_index_latest
    year = site.data.social_index_year
    frame = rows.assign(klasse=rows.status_class.where(rows.is_classified.astype(bool)))
    classes = categorical(frame, STATUS, STATUS_COLOURS)
    return site.class_map(classes, title or f"Status-Index {year}", "Statusklasse",
                          f"Karte der Statusklassen des Sozialindex {year}", root="",
                          legend_note="„hoch“: günstigste soziale Lage")


def build(site) -> None:
    rows = site.data.social_index_latest
    year = site.data.social_index_year
    dynamics = categorical(rows.assign(klasse=rows.dynamics_class.where(rows.is_classified.astype(bool))),
                           DYNAMICS, DYNAMICS_COLOURS)
    dynamics_svg = site.class_map(dynamics, f"Dynamik-Index {year}", "Dynamikklasse",
                                  f"Karte der Dynamikklassen des Sozialindex {year}", root="",
                                  legend_note="„positiv“: Lage verbessert sich")
    fn = site.footnotes()
    table_rows = []
    for row in rows.itertuples():
        # D1–D3 are changes: signed (+0,90), like every change in the report
        cells = [fn.value(getattr(row, column), 2, None, pd.isna(getattr(row, column)),
                          f"sozialindex|{column}|{row.area_code}|{year}", signed=column.startswith("d"))
                 for column, _ in RATES]
        table_rows.append({"code": row.area_code, "name": row.area_name, "cells": cells,
                           "residents": fn.value(row.residents, 0, suppressed=is_missing(row.residents)), "classified": bool(row.is_classified),
                           "status": row.status_class, "dynamics": row.dynamics_class})
    counts = rows[rows.is_classified.astype(bool)].groupby(["status_class", "dynamics_class"]).size()
    matrix = [[int(counts.get((status, dyn), 0)) for dyn in DYNAMICS] for status in STATUS]
    downloads = site.write_exports("sozialindex", [export_table(site)], [*site.release_notes(), *method_notes(site)])
    site.write_page("sozialindex.html", "social_index.html.j2", f"Sozialindex {year}", fn, "sozialindex.html",
                    downloads, year=year, status_svg=status_map(site), dynamics_svg=dynamics_svg,
                    rows=table_rows, headers=[label for _, label in RATES], matrix=matrix, status=STATUS,
                    dynamics=DYNAMICS, unclassified=int((~rows.is_classified.astype(bool)).sum()))


def method_notes(site) -> list[tuple[str, str]]:
    words = site.level_words
    return [("Methode", "Monitoring Soziale Stadtentwicklung (Berlin): Statusindikatoren S1–S3 und ihre "
                        f"Veränderungen D1–D3 je Gebiet der untersten Ebene ({words['lowest_plural']}), "
                        "z-standardisiert über diese Gebiete, summiert und erneut standardisiert."),
            ("Statusklassen", "hoch (Index unter −1), mittel (−1 bis 1), niedrig (über 1 bis 1,5), "
                              "sehr niedrig (über 1,5); ein hoher Index bedeutet mehr Benachteiligung."),
            ("Dynamikklassen", "positiv (unter −1), stabil (−1 bis 1), negativ (über 1)."),
            ("Nicht klassifiziert", f"Gebiete unter {words['min_residents']} Einwohnern oder mit gesperrtem Wert.")]


def export_table(site) -> Table:
    index = site.data.marts["fct_social_index"]
    words = site.level_words
    code = site.data.hierarchy.code_column(site.data.hierarchy.lowest)
    columns = [code, "area_name", "reference_year", "residents", *[c for c, _ in RATES],
               "is_classified", "status_class", "dynamics_class", "index_class"]
    frame = index[columns].sort_values(["reference_year", code]).copy()
    frame["is_classified"] = frame.is_classified.map({True: "ja", False: "nein"})
    # a missing value in the released index is a suppressed one (the residents follow the fact)
    for column in ["residents", *(c for c, _ in RATES)]:
        frame[f"{column}_hidden"] = frame[column].isna()
    return Table("Sozialindex", frame, decimals={"residents": 0, **{c: 2 for c, _ in RATES}},
                 suppressed_by={c: f"{c}_hidden" for c in ["residents", *(c for c, _ in RATES)]},
                 labels={code: "Gebietskode", "area_name": words["lowest_label"],
                         "reference_year": "Jahr", "residents": "Einwohner", **dict(RATES),
                         "is_classified": "klassifiziert", "status_class": "Statusklasse",
                         "dynamics_class": "Dynamikklasse", "index_class": "Gesamtklasse"})
