"""Area profiles (Gebietsprofile): one page per area of every level of the city profile and the
city. All indicators of the latest year next to the areas above it and the city, the change to the
year before, a small trend per indicator, the social-index class, a locator map, the measures that
reach the area and the fields of action without one; the list page and the workbook."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from dagster_project.report import charts
from dagster_project.report.exports import Table
from dagster_project.report.pages.indicators import unit_label
from dagster_project.report.site import area_page

TITLE = "Gebietsprofile"
CITY_WIDE = "GESAMTSTADT"   # districts_served of a measure for the whole city


def build(site) -> None:
    data = site.data
    downloads = site.write_exports("gebiete", [export_table(site)], [*site.release_notes(), *site.breaks_note()])
    areas = data.areas
    site.render_pages(page, areas.to_dict("records"), downloads)
    h = data.hierarchy
    # one section per area of the top level: its areas below, level by level (a list of links each)
    groups = []
    for top in h.of_level(h.top):
        below = [(h.plural(level), sorted((a for a, _ in h.descendants(top) if a["area_level"] == level),
                                          key=lambda a: a["area_code"]))
                 for level in h.level_ids[:-2][::-1]]
        groups.append((top, below))
    site.write_page("gebiete/index.html", "profiles_index.html.j2", "Gebiete", site.footnotes(),
                    "gebiete/index.html", downloads, city=data.city(), groups=groups,
                    top_label=h.label(h.top), level_names=[h.plural(level) for level in h.level_ids[:-1][::-1]],
                    level_links=[(h.slug(level), h.plural(level)) for level in h.level_ids[:-1][::-1]],
                    level_words=h.words([h.plural(level) for level in h.level_ids[:-1][::-1]]))


def district_codes(site, area: dict) -> set[str]:
    """The lowest-level areas an area consists of."""
    return site.data.hierarchy.lowest_members(area)


def page(site, area: dict, downloads) -> None:
    data = site.data
    latest = data.latest_year
    level, code = area["area_level"], area["area_code"]
    city = data.city()
    h = data.hierarchy
    above = h.ancestors(area)            # nearest first, up to the top level
    parent = above[0] if above else None
    fn = site.footnotes()
    compare = [("Gebiet", area)] + [(h.label(a["area_level"]), a) for a in above] + \
        ([("Stadt", city)] if level != "city" else [])
    rows = []
    for indicator in data.indicators.to_dict("records"):
        indicator_id, decimals, unit = indicator["indicator_id"], int(indicator["decimals"]), indicator["unit"]
        cells = []
        for _, other in compare:
            own = data.series(indicator_id, other["area_level"], other["area_code"])
            if latest not in own.index:
                cells.append(fn.value(None, decimals))
                continue
            row = own.loc[latest]
            cells.append(fn.value(row.indicator_value, decimals, unit, bool(row.is_suppressed), f"{indicator_id}|{other['area_code']}|{latest}"))
        mine = data.series(indicator_id, level, code)
        change = None
        if latest in mine.index and latest - 1 in mine.index:
            now, before = mine.loc[latest], mine.loc[latest - 1]
            if not now.is_suppressed and not before.is_suppressed:
                change = float(now.indicator_value) - float(before.indicator_value)
        change_cell = fn.value(change, decimals, None, signed=True)
        rank_cell, gap_cell = rank_and_gap(site, fn, indicator, area, latest)
        rows.append({"indicator": indicator, "unit": unit_label(indicator), "cells": cells, "change": change_cell,
                     "rank": rank_cell, "gap": gap_cell})
    trends_svg = site.drawn(charts.small_trends(trend_frame(data, [other for _, other in compare]),
                                                f"Entwicklung aller Indikatoren: {area['area_name']}"))
    members = district_codes(site, area)
    locator = site.locator(members, f"Lage von {area['area_name']} in der Stadt")
    member_table = members_table(site, fn, area, latest) if h.children(area) and level != "city" else None
    site.write_page(area_page(level, code), "profile.html.j2", h.title(area), fn, "gebiete/index.html", downloads,
                    area=area, parent=parent, above=[(h.of(a["area_level"]), a) for a in above],
                    compare_text=h.words([h.compared_name(other) for _, other in compare[1:]]) if len(compare) > 1 else "",
                    level_in=h.in_(level), level_plural_nominative=h.plural(level),
                    level_page=None if level == "city" else f"ebenen/{h.slug(level)}.html",
                    city=city, latest=latest, compare=[label for label, _ in compare],
                    compare_names=[h.compared_name(other) for _, other in compare], rows=rows, trends_svg=trends_svg,
                    locator_svg=locator, social=social_index(site, area, members),
                    measures=measures(site, members), open_fields=open_fields(site, members),
                    level_de=h.label(level), ranked=level != "city", member_table=member_table,
                    level_de_plural=h.plural_dative(level), lowest_plural=h.plural(h.lowest),
                    children_plural=h.plural(h.children(area)[0]["area_level"]) if member_table else None)


def members_table(site, fn, area: dict, year: int) -> dict:
    """An area's areas one level below side by side on the key indicators (latest year), with the
    area itself and the city as the last rows for comparison."""
    from dagster_project.report.pages.overview import KEY_INDICATORS

    data = site.data
    indicators = data.indicators.set_index("indicator_id")
    chosen = [i for i in KEY_INDICATORS if i in indicators.index]
    children = data.hierarchy.children(area)
    rows = []
    for other in [*children, area, data.city()]:
        # keyed like every value cell, except the rows the indicator table above already keys
        cells = value_cells(data, fn, indicators, chosen, other, year, keyed=other in children)
        rows.append({"area": other, "cells": cells, "page": area_page(other["area_level"], other["area_code"]),
                     "summary": other not in children, "name": data.hierarchy.compared_name(other)})
    return {"headers": [indicators.label_de[i] for i in chosen], "rows": rows}


def value_cells(data, fn, indicators: pd.DataFrame, chosen: list[str], area: dict, year: int,
                keyed: bool = False) -> list:
    """The cells of `area` for the indicators `chosen` in `year` (a suppressed value as •; `keyed`:
    with the footnote key of every value cell)."""
    cells = []
    for indicator_id in chosen:
        decimals, unit = int(indicators.decimals[indicator_id]), indicators.unit[indicator_id]
        series = data.series(indicator_id, area["area_level"], area["area_code"])
        if year not in series.index:
            cells.append(fn.value(None, decimals))
            continue
        row = series.loc[year]
        key = f"{indicator_id}|{area['area_code']}|{year}" if keyed else None
        cells.append(fn.value(row.indicator_value, decimals, unit, bool(row.is_suppressed), key))
    return cells


def rank_and_gap(site, fn, indicator: dict, area: dict, year: int):
    """Two cells: the area's rank among the areas of its level by need (1 = highest need, from the
    catalogue's need_direction; by value for a neutral indicator), counted over the values shown
    (a suppressed value has no rank and takes none); and its distance to the city (percentage
    points for shares). Empty for the city and for counts."""
    level, code = area["area_level"], area["area_code"]
    if level == "city" or indicator["unit"] == "Personen":
        return fn.value(None, 0), fn.value(None, 0)
    decimals = int(indicator["decimals"])
    values, hidden, peers = site.data.published(indicator["indicator_id"], level, year)
    if code not in values:
        return fn.value(None, 0, suppressed=code in hidden), fn.value(None, decimals, suppressed=code in hidden)
    value = values[code]
    lower_is_need = indicator.get("need_direction") == "lower"
    ahead = sum((other < value) if lower_is_need else (other > value) for other in values.values())
    # a rank among a few published values ("1 von 3") says little: shown where at least half of
    # the level's areas have a published value
    rank = (Markup(f'<td class="zahl">{ahead + 1} von {len(values)}</td>') if 2 * len(values) >= peers
            else fn.value(None, 0))
    city, _, _ = site.data.published(indicator["indicator_id"], "city", year)
    if not city:
        return rank, fn.value(None, decimals)
    return rank, fn.value(value - next(iter(city.values())), decimals, None, signed=True)


def trend_frame(data, areas: list[dict]) -> pd.DataFrame:
    """The series of every indicator for `areas` (stichtag, wert, kurz, reihe), indicator by
    indicator in the catalogue's order, then area by area. A count (residents) is drawn for the
    first area alone: on the city's axis it would be a flat line."""
    values, indicators = data.values, data.indicators
    order = {indicator_id: number for number, indicator_id in enumerate(indicators.indicator_id)}
    counts = set(indicators.indicator_id[indicators.unit == "Personen"])
    parts = []
    for number, other in enumerate(areas):
        rows = values[(values.area_level == other["area_level"]) & (values.area_code == other["area_code"])
                      & values.indicator_id.isin(order.keys())]
        if number:
            rows = rows[~rows.indicator_id.isin(counts)]
        parts.append(rows.assign(_area=number))
    rows = pd.concat(parts)
    rows = rows.assign(_indicator=rows.indicator_id.map(order)).sort_values(
        ["_indicator", "_area", "reference_year"], kind="stable")
    shown = charts.plotted(rows)
    labels = dict(zip(indicators.indicator_id, indicators.label_de))
    names = {number: data.hierarchy.compared_name(other) for number, other in enumerate(areas)}
    return pd.DataFrame({"stichtag": shown.stichtag, "wert": shown.wert, "kurz": rows.indicator_id.map(labels),
                         "reihe": rows._area.map(names)})




def social_index(site, area: dict, members: set[str]) -> dict:
    """Status and dynamics class of a lowest-level area, or how many of the area's lowest-level
    areas are in each class."""
    year = site.data.social_index_year
    latest = site.data.social_index_latest
    latest = latest[latest.area_code.isin(members)]
    if area["area_level"] == site.data.hierarchy.lowest:
        row = latest.iloc[0] if len(latest) else None
        return {"year": year, "single": True,
                "status": None if row is None or not row.is_classified else row.status_class,
                "dynamics": None if row is None or not row.is_classified else row.dynamics_class}
    counts = latest[latest.is_classified.astype(bool)].groupby(["status_class", "dynamics_class"]).size()
    return {"year": year, "single": False,
            "counts": [(status, dynamics, int(n)) for (status, dynamics), n in counts.items()]}


def measures(site, members: set[str]) -> list[dict]:
    """Measures running at the end of the latest year that reach at least one of the districts."""
    data = site.data
    catalogue = data.marts["dim_measure"]
    day = pd.Timestamp(f"{data.latest_year}-12-31")
    # the coverage mart's rule (int_planning__measure_districts, fct_measure_coverage): running on
    # 31 December, an open end runs on; GESAMTSTADT serves every district
    ends = pd.to_datetime(catalogue.ends_on)
    running = catalogue[(pd.to_datetime(catalogue.starts_on) <= day) & (ends.isna() | (ends >= day))]
    reach = running.districts_served.fillna("").map(
        lambda s: s.strip() == CITY_WIDE or bool(members & {c.strip() for c in s.split(",")})).astype(bool)
    fields = dict(zip(data.marts["dim_field_of_action"].field_of_action_id,
                      data.marts["dim_field_of_action"].field_of_action_de))
    chosen = running[reach].sort_values(["field_of_action_id", "measure_id"])
    return [{"id": m.measure_id, "title": m.title, "field": fields.get(m.field_of_action_id, m.field_of_action_id),
             "carrier": m.carrier, "programme": m.funding_programme,
             "ends": m.ends_on if pd.notna(m.ends_on) else None}
            for m in chosen.itertuples()]


def open_fields(site, members: set[str]) -> list[dict]:
    """Fields of action with no running measure in any of the lowest-level areas (latest year);
    `gap` when an area without one is among the quarter with the highest need."""
    gaps = site.data.marts["fct_measure_gaps"]
    code = site.data.hierarchy.code_column(site.data.hierarchy.lowest)
    latest = gaps[(gaps.reference_year == gaps.reference_year.max()) & gaps[code].isin(members)]
    fields = site.data.marts["dim_field_of_action"].set_index("field_of_action_id").field_of_action_de
    out = []
    for field_id, group in latest.groupby("field_of_action_id"):
        if not group.is_served.astype(bool).any():
            out.append({"field": fields.get(field_id, field_id), "gap": bool(group.is_gap.fillna(False).astype(bool).any())})
    return sorted(out, key=lambda f: (not f["gap"], f["field"]))


def export_table(site) -> Table:
    data = site.data
    profile = data.marts["fct_area_profile"]
    indicators = data.indicators
    ids = [i for i in indicators.indicator_id if i in profile.columns]
    h = data.hierarchy
    top = h.profile.top
    frame = profile[["area_level", "area_code", "area_name", top.code_column, top.name_column,
                     "reference_year", "stichtag", *ids, *[f"{i}_is_suppressed" for i in ids]]].copy()
    frame["area_level"] = frame.area_level.map(h.label_map)
    frame["stichtag"] = pd.to_datetime(frame.stichtag).dt.date
    labels = dict(zip(indicators.indicator_id, indicators.label_de))
    decimals = dict(zip(indicators.indicator_id, indicators.decimals.astype(int)))
    return Table("Gebietsprofile", frame, decimals={i: decimals[i] for i in ids},
                 suppressed_by={i: f"{i}_is_suppressed" for i in ids},
                 labels={"area_level": "Gebietsebene", "area_code": "Gebietskode", "area_name": "Gebiet",
                         top.code_column: f"{top.label_de} (Kode)", top.name_column: top.label_de,
                         "reference_year": "Jahr", "stichtag": "Stichtag",
                         **{i: labels[i] + ("" if indicators.set_index("indicator_id").unit[i] == "Personen"
                                            else f" ({indicators.set_index('indicator_id').unit[i]})")
                            for i in ids}})
