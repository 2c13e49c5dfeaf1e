"""Überblick (start page): key figures of the city for the latest year with the change to the year
before and over five years, their trend, the social-index map, the release and its gate status."""

from __future__ import annotations

import pandas as pd

from dagster_project.report import charts
from dagster_project.report.exports import Table
from dagster_project.report.pages.findings import key_findings
from dagster_project.report.pages import social_index

TITLE = "Überblick"
KEY_INDICATORS = ["residents", "sgb2_rate", "sgb2_child_rate", "min_income_rate", "unemployment_sgb2_rate",
                  "share_foreign", "share_eu2", "share_65_plus"]
EU2_STOCK = ("eu2_stock", "Einwohner aus Bulgarien/Rumänien (EU2)")


def key_series(site) -> list[dict]:
    """Per key figure: id, label, unit, decimals and the city's rows (reference_year, value, suppression)."""
    data = site.data
    values = data.values[data.values.area_level == "city"]
    figures = []
    for indicator_id in KEY_INDICATORS:
        indicator = data.indicator(indicator_id)
        rows = values[values.indicator_id == indicator_id][
            ["reference_year", "stichtag", "indicator_value", "is_suppressed"]]
        figures.append({"id": indicator_id, "label": indicator["label_de"], "unit": indicator["unit"],
                        "decimals": int(indicator["decimals"]), "rows": rows, "link": f"indikatoren/{indicator_id}.html"})
    monitoring = data.marts["fct_immigration_monitoring"]
    eu2 = monitoring[(monitoring.measure_id == "stock") & (monitoring.monitoring_group == "EU2")
                     & (monitoring.area_level == "city")]
    figures.insert(1, {"id": EU2_STOCK[0], "label": EU2_STOCK[1], "unit": "Personen", "decimals": 0,
                       "rows": eu2.rename(columns={"measure_value": "indicator_value"})[
                           ["reference_year", "stichtag", "indicator_value", "is_suppressed"]],
                       "link": "zuwanderung.html"})
    return figures


def build(site) -> None:
    data = site.data
    latest = data.latest_year
    city = data.city()
    fn = site.footnotes()
    cards, trend_frames, export_rows = [], [], []
    for figure in key_series(site):
        rows = figure["rows"].set_index("reference_year")
        decimals, unit = figure["decimals"], figure["unit"]

        def cell(year, key=True):
            if year not in rows.index:
                return fn.value(None, decimals), None
            row = rows.loc[year]
            hidden = bool(row.is_suppressed)
            return (fn.value(row.indicator_value, decimals, unit, hidden, f"{figure['id']}|{city['area_code']}|{year}" if key else None),
                    None if hidden else float(row.indicator_value))

        now, now_value = cell(latest)
        before, before_value = cell(latest - 1)
        five, five_value = cell(latest - 5)
        change = None if now_value is None or before_value is None else now_value - before_value
        change5 = None if now_value is None or five_value is None else now_value - five_value
        cards.append({**figure, "now": now, "before": before, "five": five,
                      "change": fn.value(change, decimals, None, signed=True),
                      "change5": fn.value(change5, decimals, None, signed=True),
                      "points": "Prozentpunkte" if unit == "%" else ("Personen" if unit == "Personen" else unit)})
        recent = figure["rows"][figure["rows"].reference_year >= latest - 5]
        trend_frames.append(charts.plotted(recent).assign(kurz=figure["label"], reihe=city["area_name"]))
        export_rows.append({"label": figure["label"], "unit": unit, "now": now_value, "before": before_value,
                            "change": change, "five": five_value, "change5": change5, "decimals": decimals,
                            "now_hidden": now_value is None and latest in rows.index,
                            "before_hidden": before_value is None and latest - 1 in rows.index,
                            "five_hidden": five_value is None and latest - 5 in rows.index})
    trends = pd.concat(trend_frames)[["kurz", "stichtag", "wert", "reihe"]]
    trend_svg = site.drawn(charts.small_trends(trends, f"Entwicklung der Kennzahlen {latest - 5}–{latest}"))
    downloads = site.write_exports("uebersicht", [export_table(export_rows, latest)],
                                   [*site.release_notes(), *site.breaks_note()])
    manifest = data.manifest
    secrecy = manifest.get("geheimhaltung", {}).get("gesperrte_zellen_je_regel", {})
    attack = manifest.get("angreiferpruefung", {})
    site.write_page("index.html", "overview.html.j2", f"{site.globals['title']} {city['area_name']} {latest}", fn,
                    "index.html", downloads, cards=cards, latest=latest, city=city, trend_svg=trend_svg,
                    status_svg=social_index.status_map(site, f"Sozialindex {latest}: Statusklassen"),
                    indicators=data.indicators.to_dict("records"), manifest=manifest,
                    suppressed=sum(secrecy.values()), attack=attack,
                    checks=len(manifest.get("pruefungen") or []), findings=key_findings(data))


def export_table(rows: list[dict], latest: int) -> Table:
    frame = pd.DataFrame(rows)
    return Table("Kennzahlen", frame, decimals={"now": "decimals", "before": "decimals", "change": "decimals",
                                                 "five": "decimals", "change5": "decimals"},
                 suppressed_by={"now": "now_hidden", "before": "before_hidden", "five": "five_hidden"},
                 labels={"label": "Kennzahl", "unit": "Einheit", "now": f"{latest}", "before": f"{latest - 1}",
                         "change": "Veränderung zum Vorjahr", "five": f"{latest - 5}",
                         "change5": "Veränderung in fünf Jahren"})
