"""Indicator pages: one per indicator of the catalogue (definition, source, map, ranking, the city's
time series with every break explained, the same per city district, tables), the list page and the
workbook of all indicator values."""

from __future__ import annotations

import pandas as pd

from dagster_project.html_report import german_number
from dagster_project.report import charts, fixed_charts
from dagster_project.report.cells import german_date, neutral_marks, sentence
from dagster_project.report.exports import Table
from dagster_project.report.maps import VIRIDIS, classify, readable_ink

TITLE = "Indikatoren"
BREAK_TYPES = {"rechtskreiswechsel": "Rechtskreiswechsel", "definition": "Definitionsänderung",
               "gebietsstand": "Gebietsstandsänderung"}


def value_title(indicator: dict) -> str:
    unit = indicator["unit"]
    return indicator["label_de"] if unit in ("%", "Personen") else f"{indicator['label_de']} ({unit})"


def unit_label(indicator: dict) -> str:
    return {"%": "in %", "Personen": "Personen"}.get(indicator["unit"], indicator["unit"])


def break_marks(site, indicator_id: str) -> pd.DataFrame:
    breaks = site.data.breaks_for(indicator_id)
    return breaks.assign(kurz=[f"{BREAK_TYPES.get(b.break_type, b.break_type)} {german_date(b.break_date)}"
                               for b in breaks.itertuples()])


def build(site) -> None:
    data = site.data
    downloads = site.write_exports("indikatoren", [export_table(site)], notes(site))
    site.render_pages(page, data.indicators.to_dict("records"), downloads)
    site.write_page("indikatoren/index.html", "indicators_index.html.j2", "Indikatoren", site.footnotes(),
                    "indikatoren/index.html", downloads, indicators=data.indicators.to_dict("records"),
                    domains=_domains(data.indicators))


def _domains(indicators: pd.DataFrame) -> list[tuple[str, list[dict]]]:
    names = {"bevoelkerung": "Bevölkerung", "migration": "Migration", "haushalte": "Haushalte",
             "wanderung": "Wanderung und Wohndauer", "sozialleistungen": "Sozialleistungen"}
    return [(names.get(domain, domain), group.to_dict("records"))
            for domain, group in indicators.groupby("domain", sort=False)]


def heat_table(values: pd.DataFrame, data, years: list[int], decimals: int, unit: str) -> list[dict]:
    """Every statistical district over every year (a heat table): the value as text and a
    background from five classes over all shown values of all years (so a colour means the same
    value in every year), readable ink on every fill; `•` where suppressed."""
    shown = values[~values.is_suppressed.astype(bool) & values.indicator_value.notna()]
    fills = VIRIDIS[5]   # light = low, dark = high
    edges = shown.indicator_value.quantile([0.2, 0.4, 0.6, 0.8]).to_list() if len(shown) >= 5 else []
    by_key = {(r.area_code, r.reference_year): r for r in values.itertuples()}
    rows = []
    for area in data.areas[data.areas.area_level == data.hierarchy.lowest].itertuples():
        cells = []
        for year in years:
            row = by_key.get((area.area_code, year))
            if row is None or pd.isna(row.indicator_value) and not row.is_suppressed:
                cells.append({"text": "–", "fill": None, "ink": None})
            elif row.is_suppressed:
                cells.append({"text": "•", "fill": None, "ink": None})
            else:
                fill = fills[sum(float(row.indicator_value) > edge for edge in edges)] if edges else None
                cells.append({"text": german_number(float(row.indicator_value), decimals, "%" if unit == "%" else ""),
                              "fill": fill, "ink": readable_ink(fill) if fill else None})
        rows.append({"code": area.area_code, "name": area.area_name, "cells": cells})
    return rows


# what the map's legend says about its ends (the catalogue's need_direction)
NEED_NOTE = {"higher": "höhere Werte: mehr Bedarf", "lower": "niedrigere Werte: mehr Bedarf"}


def page(site, indicator: dict, downloads) -> None:
    data = site.data
    indicator_id, decimals = indicator["indicator_id"], int(indicator["decimals"])
    values = data.values[data.values.indicator_id == indicator_id]
    latest = int(values.reference_year.max())
    city = data.city()
    breaks = break_marks(site, indicator_id)
    fn = site.footnotes()
    title = value_title(indicator)

    h = data.hierarchy
    districts = charts.plotted(values[(values.area_level == h.lowest) & (values.reference_year == latest)])
    city_row = values[(values.area_level == "city") & (values.reference_year == latest)].iloc[0]
    city_value = None if city_row.is_suppressed else float(city_row.indicator_value)
    classes = classify(districts, decimals)
    unit = indicator["unit"]   # a number on its own (tooltip, label) carries its unit: "184,2 je 1.000"
    texts = {row.area_code: "• gesperrt" if row.is_suppressed else german_number(row.wert, decimals, unit)
             for row in districts.itertuples() if row.is_suppressed or pd.notna(row.wert)}
    map_svg = site.class_map(classes, f"{indicator['label_de']} {latest}", unit_label(indicator),
                             f"Karte: {indicator['label_de']} {latest} nach Gebieten ({h.plural(h.lowest)})", root="../",
                             texts=texts, legend_note=NEED_NOTE.get(indicator.get("need_direction")))
    ranked = districts[districts.wert.notna()].assign(gebiet=lambda f: f.area_code + " " + f.area_name)
    # the city's number of persons is the sum of its districts, not a yardstick beside their bars
    yardstick = None if indicator["unit"] == "Personen" else city_value
    ranking_svg = site.drawn(fixed_charts.ranking_svg(
        ranked, unit_label(indicator), decimals, yardstick,
        f"{city['area_name']}: {german_number(city_value, decimals, unit)}",
        f"Rangfolge der Gebiete ({h.plural(h.lowest)}): {indicator['label_de']} {latest}"))

    city_series = charts.plotted(values[values.area_level == "city"]).assign(reihe=city["area_name"])
    series_svg = site.drawn(fixed_charts.time_series_svg(city_series, unit_label(indicator), decimals, breaks,
                                                         f"Zeitreihe {indicator['label_de']}, {city['area_name']}"))
    panels = []
    top_areas = data.areas[data.areas.area_level == h.top]
    for district in top_areas.itertuples():
        own = charts.plotted(values[(values.area_level == h.top) & (values.area_code == district.area_code)])
        label = f"{district.area_code} {district.area_name}"
        panels.append(own.assign(reihe=h.label(h.top), panel=label))
        panels.append(city_series.assign(reihe=city["area_name"], panel=label))
    panels_svg = site.drawn(charts.district_panels(
        pd.concat(panels), f"Zeitreihen {indicator['label_de']} je Gebiet ({h.plural(h.top)}) im Vergleich zur Stadt"))

    years = data.years
    upper = values[values.area_level.isin(["city", h.top])]
    series_rows = []
    for area in data.areas[data.areas.area_level.isin(["city", h.top])].itertuples():
        own = upper[upper.area_code == area.area_code].set_index("reference_year")
        cells = []
        for year in years:
            if year in own.index:
                row = own.loc[year]
                cells.append(fn.value(row.indicator_value, decimals, indicator["unit"], bool(row.is_suppressed),
                                      f"{indicator_id}|{area.area_code}|{year}"))
            else:
                cells.append(fn.value(None, decimals))
        series_rows.append({"area": area, "cells": cells})
    ranking_rows = []
    # rank by need: 1 = the highest need (the lowest value where a low value is the need)
    lower_is_need = indicator.get("need_direction") == "lower"
    ordered = districts.assign(rang=districts.wert.rank(ascending=lower_is_need, method="min")).sort_values(
        ["rang", "area_code"], na_position="last")
    for row in ordered.itertuples():
        ranking_rows.append({
            "rank": "" if pd.isna(row.rang) else int(row.rang), "code": row.area_code, "name": row.area_name,
            "value": fn.value(row.indicator_value, decimals, indicator["unit"], bool(row.is_suppressed),
                              f"{indicator_id}|{row.area_code}|{latest}"),
            "numerator": fn.value(row.numerator, 0, None, bool(row.is_suppressed)),
            "denominator": fn.value(row.denominator, 0, None, bool(row.is_suppressed)),
        })
    heat = heat_table(values[values.area_level == h.lowest], data, years, decimals, indicator["unit"])
    site.write_page(f"indikatoren/{indicator_id}.html", "indicator.html.j2", indicator["label_de"], fn,
                    "indikatoren/index.html", downloads, indicator=indicator, latest=latest, title_value=title,
                    unit=unit_label(indicator), breaks=breaks.to_dict("records"), map_svg=map_svg,
                    ranking_svg=ranking_svg, series_svg=series_svg, panels_svg=panels_svg, years=years,
                    series_rows=series_rows, ranking_rows=ranking_rows, classes=classes, heat=heat,
                    city_value=fn.value(city_value, decimals, indicator["unit"]), city=city,
                    has_denominator=indicator["denominator_de"] not in (None, "") and not pd.isna(
                        indicator["denominator_de"]))


def export_table(site) -> Table:
    data = site.data
    values = data.values.merge(data.indicators[["indicator_id", "label_de", "decimals"]], on="indicator_id")
    frame = pd.DataFrame({
        "indicator_label": values.label_de,
        "area_level": values.area_level.map(data.hierarchy.label_map), "area_code": values.area_code,
        "area_name": values.area_name, "reference_year": values.reference_year,
        "stichtag": pd.to_datetime(values.stichtag).dt.date, "indicator_value": values.indicator_value,
        "unit": values.unit, "numerator": values.numerator, "denominator": values.denominator,
        "time_series_break_de": values.time_series_break_de.fillna(""),
        "suppression_de": neutral_marks(values.is_suppressed),
        "is_suppressed": values.is_suppressed.astype(bool), "decimals": values.decimals,
    })
    return Table("Indikatorwerte", frame, decimals={"indicator_value": "decimals", "numerator": 0, "denominator": 0},
                 suppressed_by={"indicator_value": "is_suppressed", "numerator": "is_suppressed",
                                "denominator": "is_suppressed"},
                 labels={"indicator_label": "Indikator", "area_level": "Gebietsebene",
                         "area_code": "Gebietskode", "area_name": "Gebiet", "reference_year": "Jahr",
                         "stichtag": "Stichtag", "indicator_value": "Wert", "unit": "Einheit",
                         "numerator": "Zähler", "denominator": "Nenner",
                         "time_series_break_de": "Zeitreihenbruch", "suppression_de": "Geheimhaltung"})


def notes(site) -> list[tuple[str, str]]:
    definitions = [(i.label_de, f"{sentence(i.definition_de)} Zähler: {sentence(i.numerator_de)} "
                                + (f"Nenner: {sentence(i.denominator_de)} " if isinstance(i.denominator_de, str)
                                   and i.denominator_de else "")
                                + f"Einheit: {i.unit}. Quelle: {sentence(i.source_de)}")
                   for i in site.data.indicators.itertuples()]
    return [*site.release_notes(), *definitions, *site.breaks_note()]

