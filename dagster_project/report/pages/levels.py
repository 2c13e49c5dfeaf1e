"""A page per area level of the city profile (ebenen/<slug>.html): every area of the level
side by side on the key indicators of the latest year, with the city as the last row, and a map of
the level (each field of the schematic map, an area of the lowest level, coloured by the value of
its area on this level)."""

from __future__ import annotations

import pandas as pd

from dagster_project.report.maps import classify
from dagster_project.report.pages.indicators import unit_label
from dagster_project.report.pages.profiles import value_cells
from dagster_project.report.site import area_page

TITLE = "Gebietsebenen"
MAP_INDICATOR = "sgb2_rate"


def level_page(level: str, slug: str) -> str:
    return f"ebenen/{slug}.html"


def pages(site) -> list[str]:
    h = site.data.hierarchy
    return [level_page(level, h.slug(level)) for level in h.level_ids[:-1][::-1]]


def build(site) -> None:
    h = site.data.hierarchy
    for level in h.level_ids[:-1][::-1]:
        page(site, level)


def page(site, level: str) -> None:
    from dagster_project.report.pages.overview import KEY_INDICATORS

    data, h = site.data, site.data.hierarchy
    year = data.latest_year
    fn = site.footnotes()
    indicators = data.indicators.set_index("indicator_id")
    chosen = [i for i in KEY_INDICATORS if i in indicators.index]
    areas = h.of_level(level)
    rows = []
    for other in [*areas, data.city()]:
        cells = value_cells(data, fn, indicators, chosen, other, year)
        above = h.parent(other) if other["area_level"] != "city" else None
        rows.append({"area": other, "cells": cells, "page": area_page(other["area_level"], other["area_code"]),
                     "parent": above, "summary": other["area_level"] == "city"})
    map_svg = level_map(site, level, year) if MAP_INDICATOR in indicators.index else None
    plural = h.plural(level)
    site.write_page(level_page(level, h.slug(level)), "level.html.j2", f"{plural} ({len(areas)})", fn,
                    "gebiete/index.html", None, level_label=h.label(level), level_plural=plural, areas=areas,
                    rows=rows, year=year, map_svg=map_svg,
                    map_label=indicators.label_de.get(MAP_INDICATOR, MAP_INDICATOR),
                    headers=[indicators.label_de[i] if indicators.unit[i] == "Personen"
                             else f"{indicators.label_de[i]}, {unit_label(indicators.loc[i].to_dict())}" for i in chosen],
                    parent_label=h.label(h.parent_level(level)) if h.parent_level(level) != "city" else None)


def level_map(site, level: str, year: int) -> str:
    """The map of one level on the lowest level's fields: each field in the class of its area on
    `level` (a suppressed value greys every field of its area)."""
    data, h = site.data, site.data.hierarchy
    indicator = data.indicator(MAP_INDICATOR)
    decimals = int(indicator["decimals"])
    values = data.values[(data.values.indicator_id == MAP_INDICATOR) & (data.values.area_level == level)
                         & (data.values.reference_year == year)].set_index("area_code")
    owner = {}
    for area in h.of_level(level):
        for code in h.lowest_members(area):
            owner[code] = area["area_code"]
    rows = []
    for code, own in sorted(owner.items()):
        value = values.indicator_value.get(own)
        suppressed = bool(values.is_suppressed.get(own, False))
        rows.append({"area_code": code, "wert": None if suppressed or pd.isna(value) else float(value),
                     "is_suppressed": suppressed})
    frame = pd.DataFrame(rows).astype({"wert": float})
    classes = classify(frame, decimals)
    return site.class_map(classes, f"{indicator['label_de']} {year} nach {h.plural_dative(level)}", unit_label(indicator),
                          f"Karte: {indicator['label_de']} {year}, je Gebiet der Ebene {h.label(level)}", root="../")
