"""Zuwanderung Südosteuropa: EU2 residents (Bulgaria, Romania), inflows, outflows and their SGB II
rate over time for the city and the districts with the most EU2 residents; retention after 1, 3 and
5 years by arrival cohort; the comparison with other cities."""

from __future__ import annotations

import pandas as pd

from dagster_project.report import charts, fixed_charts
from dagster_project.report.cells import neutral_marks
from dagster_project.report.exports import Table

TITLE = "Zuwanderung Südosteuropa"
GROUP = "EU2"
TOP = 10
INFLOWS = ("moves_in_abroad", "moves_in_germany")
SIGNED_MEASURES = {"stock_change", "net_migration"}   # changes and balances: +5, −3
OUTFLOWS = ("moves_out_abroad", "moves_out_germany")


def build(site) -> None:
    data = site.data
    monitoring = data.marts["fct_immigration_monitoring"]
    eu2 = monitoring[monitoring.monitoring_group == GROUP]
    city = data.city()
    latest = int(eu2.reference_year.max())
    fn = site.footnotes()
    city_rows = eu2[eu2.area_level == "city"]
    breaks = site.data.marts["dim_time_series_break"].iloc[0:0]

    stock = charts.plotted(city_rows[city_rows.measure_id == "stock"], "measure_value").assign(reihe=city["area_name"])
    stock_svg = site.drawn(fixed_charts.time_series_svg(
        stock, "Personen", 0, breaks, "Einwohner aus Bulgarien und Rumänien, Zeitreihe der Stadt"))
    flows = city_rows[city_rows.measure_id.isin(INFLOWS + OUTFLOWS)]
    flows = flows.assign(reihe=flows.measure_id.map(lambda m: "Zuzüge" if m in INFLOWS else "Fortzüge"))
    flows = flows[~flows.is_suppressed.astype(bool)].groupby(["reference_year", "reihe"], as_index=False).measure_value.sum()
    flows_svg = site.chart(charts.bars_over_years(flows.rename(columns={"reference_year": "jahr",
                                                                       "measure_value": "wert"}),
                                                  "Personen", "Über die Stadtgrenze"),
                           "Zuzüge und Fortzüge von Menschen aus Bulgarien und Rumänien je Jahr")
    sgb2 = charts.plotted(city_rows[city_rows.measure_id == "sgb2_rate"], "measure_value").assign(reihe=f"EU2 in {city['area_name']}")
    all_sgb2 = data.values[(data.values.indicator_id == "sgb2_rate") & (data.values.area_level == "city")]
    all_sgb2 = charts.plotted(all_sgb2).assign(reihe="alle Einwohner")
    sgb2_svg = site.drawn(fixed_charts.time_series_svg(
        pd.concat([sgb2, all_sgb2])[["stichtag", "wert", "reihe"]], "in %", 1, breaks,
        "SGB-II-Quote der EU2-Gruppe im Vergleich zur Stadt"))

    measures = data.marts["dim_monitoring_measure"].set_index("measure_id")
    city_table = []
    for measure_id in ["stock", "stock_change", *INFLOWS, *OUTFLOWS, "net_migration", "share_minors", "sgb2_rate"]:
        rows = city_rows[city_rows.measure_id == measure_id].set_index("reference_year")
        decimals = int(measures.decimals[measure_id])
        cells = [fn.value(rows.measure_value[y], decimals, measures.unit[measure_id],
                          bool(rows.is_suppressed[y]), f"{GROUP}|{measure_id}|{city['area_code']}|{y}",
                          signed=measure_id in SIGNED_MEASURES) if y in rows.index
                 else fn.value(None, decimals) for y in data.years]
        city_table.append({"label": measures.label_de[measure_id], "unit": measures.unit[measure_id], "cells": cells})

    lowest = data.hierarchy.lowest
    districts = eu2[(eu2.area_level == lowest) & (eu2.reference_year == latest)]
    stocks = districts[(districts.measure_id == "stock") & ~districts.is_suppressed.astype(bool)]
    top = stocks.sort_values(["measure_value", "area_code"], ascending=[False, True]).head(TOP)
    top_rows = []
    for row in top.itertuples():
        own = districts[districts.area_code == row.area_code].set_index("measure_id")
        share = data.values[(data.values.indicator_id == "share_eu2") & (data.values.area_code == row.area_code)
                            & (data.values.area_level == lowest)
                            & (data.values.reference_year == latest)].iloc[0]

        def cell(measure_id, decimals):
            r = own.loc[measure_id]
            return fn.value(r.measure_value, decimals, measures.unit[measure_id], bool(r.is_suppressed),
                            f"{GROUP}|{measure_id}|{row.area_code}|{latest}", signed=measure_id in SIGNED_MEASURES)
        top_rows.append({"code": row.area_code, "name": row.area_name, "stock": cell("stock", 0),
                         "change": cell("stock_change", 0),
                         "share": fn.value(share.indicator_value, 1, "%", bool(share.is_suppressed),
                                           f"share_eu2|{row.area_code}|{latest}"),
                         "sgb2": cell("sgb2_rate", 1)})
    top_codes = list(top.area_code[:5])
    top_series = charts.plotted(eu2[(eu2.area_level == lowest) & eu2.area_code.isin(top_codes)
                                    & (eu2.measure_id == "stock")], "measure_value")
    top_series = top_series.assign(reihe=top_series.area_code + " " + top_series.area_name)
    top_svg = site.drawn(fixed_charts.time_series_svg(
        top_series, "Personen", 0, breaks, "Einwohner aus Bulgarien und Rumänien in den fünf Gebieten mit den meisten"))
    top_sgb2 = charts.plotted(eu2[(eu2.area_level == lowest) & eu2.area_code.isin(top_codes)
                                  & (eu2.measure_id == "sgb2_rate")], "measure_value")
    top_sgb2 = top_sgb2.assign(reihe=top_sgb2.area_code + " " + top_sgb2.area_name)
    top_sgb2_svg = site.drawn(fixed_charts.time_series_svg(
        top_sgb2, "in %", 1, breaks,
        "SGB-II-Quote der EU2-Gruppe in den fünf Gebieten mit den meisten Einwohnern aus Bulgarien und Rumänien"))

    retention = data.marts["fct_immigration_retention"]
    stay = retention[(retention.monitoring_group == GROUP) & (retention.area_level == "city")]
    stay_frame = stay[~stay.is_suppressed.astype(bool)].assign(
        kohorte=lambda f: f.cohort_year, wert=lambda f: f.retention_share,
        jahre_danach=lambda f: f.years_after.map(lambda n: f"{n} Jahr" + ("" if n == 1 else "en")))
    retention_svg = site.chart(charts.retention_lines(stay_frame), "Verbleib in der Stadt nach Zuzugsjahr")
    after = sorted(int(n) for n in stay.years_after.unique())
    retention_rows = []
    for cohort, group in stay.groupby("cohort_year"):
        own = group.set_index("years_after")
        retention_rows.append({"cohort": int(cohort), "size": fn.value(own.cohort_size.iloc[0], 0),
                               "cells": [fn.value(own.retention_share[n], 1, "%", bool(own.is_suppressed[n]),
                                                  f"verbleib|{cohort}|{n}|{city['area_code']}")
                                         if n in own.index else fn.value(None, 1) for n in after]})

    comparison = data.marts["fct_municipal_comparison"]
    comparisons = []
    for measure_id, group in comparison.groupby("measure_id", sort=True):
        year = int(group.reference_year.max())
        group = group[group.reference_year == year]
        frame = group.assign(wert=group.measure_value, gebiet=group.municipality_name,
                             eigene=group.is_own_city.map({True: "eigene Stadt", False: "Vergleichsstadt"}))
        label, unit = group.measure_label_de.iloc[0], group.unit.iloc[0]
        decimals = 2 if frame.wert.abs().max() < 10 else 1
        comparisons.append({"label": label, "unit": unit, "year": year,
                            "source": "; ".join(sorted(set(group.data_source))),
                            "svg": site.chart(charts.comparison_bars(frame, f"{label} ({unit})", decimals),
                                              f"Städtevergleich: {label} {year}")})
    downloads = site.write_exports("zuwanderung", export_tables(site), [*site.release_notes(), *notes(site)])
    site.write_page("zuwanderung.html", "immigration.html.j2", "Zuwanderung aus Südosteuropa (Bulgarien, Rumänien)",
                    fn, "zuwanderung.html", downloads, city=city, latest=latest, years=data.years,
                    stock_svg=stock_svg, flows_svg=flows_svg, sgb2_svg=sgb2_svg, city_table=city_table,
                    top_rows=top_rows, top_svg=top_svg, top_sgb2_svg=top_sgb2_svg, retention_svg=retention_svg, after=after,
                    retention_rows=retention_rows, comparisons=comparisons)


def notes(site) -> list[tuple[str, str]]:
    measures = site.data.marts["dim_monitoring_measure"]
    groups = site.data.marts["dim_monitoring_group"]
    return ([(m.label_de, f"{m.definition_de} ({m.unit}).") for m in measures.itertuples()]
            + [("Gruppen", "; ".join(g.monitoring_group_de for g in groups.itertuples())),
               ("Verbleib", "Anteil einer Zuzugskohorte, der 1, 3 bzw. 5 Jahre nach dem Zuzugsjahr noch mit "
                            "Hauptwohnsitz in der Stadt lebt."),
               ("Vollständige Tabellen", "Alle Gruppen und Gebiete: in den Tabellen des Release zum "
                                         "Zuwanderungsmonitoring und zum Verbleib (für BI-Werkzeuge).")])


def export_tables(site) -> list[Table]:
    data = site.data
    monitoring = data.marts["fct_immigration_monitoring"]
    chosen = monitoring[(monitoring.monitoring_group == GROUP) | (monitoring.area_level == "city")]
    measures = data.marts["dim_monitoring_measure"]
    groups = data.marts["dim_monitoring_group"]
    chosen = chosen.merge(measures[["measure_id", "label_de", "decimals"]], on="measure_id").merge(
        groups, on="monitoring_group")
    order = chosen.area_level.map(data.hierarchy.order)
    chosen = chosen.assign(_o=order).sort_values(["monitoring_group", "measure_id", "_o", "area_code",
                                                  "reference_year"])
    frame = pd.DataFrame({"group": chosen.monitoring_group_de, "measure": chosen.label_de,
                          "area_level": chosen.area_level.map(data.hierarchy.label_map),
                          "area_code": chosen.area_code, "area_name": chosen.area_name,
                          "reference_year": chosen.reference_year, "measure_value": chosen.measure_value,
                          "numerator": chosen.numerator, "denominator": chosen.denominator,
                          "suppression_de": neutral_marks(chosen.is_suppressed),
                          "is_suppressed": chosen.is_suppressed.astype(bool), "decimals": chosen.decimals})
    monitoring_table = Table("Monitoring", frame, decimals={"measure_value": "decimals", "numerator": 0,
                                                            "denominator": 0},
                             suppressed_by={c: "is_suppressed" for c in ("measure_value", "numerator", "denominator")},
                             labels={"group": "Gruppe", "measure": "Kennzahl",
                                     "area_level": "Gebietsebene", "area_code": "Gebietskode", "area_name": "Gebiet",
                                     "reference_year": "Jahr", "measure_value": "Wert", "numerator": "Zähler",
                                     "denominator": "Nenner", "suppression_de": "Geheimhaltung"})
    retention = data.marts["fct_immigration_retention"]
    stay = retention[retention.area_level != data.hierarchy.lowest].merge(groups, on="monitoring_group")
    stay_frame = pd.DataFrame({"group": stay.monitoring_group_de, "area_level": stay.area_level.map(data.hierarchy.label_map),
                               "area_code": stay.area_code, "area_name": stay.area_name,
                               "cohort_year": stay.cohort_year, "years_after": stay.years_after,
                               "cohort_size": stay.cohort_size, "retained": stay.retained,
                               "retention_share": stay.retention_share,
                               "suppression_de": neutral_marks(stay.is_suppressed),
                               "is_suppressed": stay.is_suppressed.astype(bool)})
    retention_table = Table("Verbleib", stay_frame, decimals={"cohort_size": 0, "retained": 0, "retention_share": 1},
                            suppressed_by={c: "is_suppressed" for c in ("cohort_size", "retained", "retention_share")},
                            labels={"group": "Gruppe", "area_level": "Gebietsebene", "area_code": "Gebietskode",
                                    "area_name": "Gebiet", "cohort_year": "Zuzugsjahr", "years_after": "nach Jahren",
                                    "cohort_size": "Kohorte", "retained": "noch in der Stadt",
                                    "retention_share": "Verbleib (%)", "suppression_de": "Geheimhaltung"})
    comparison = data.marts["fct_municipal_comparison"]
    comparison_table = Table("Städtevergleich", comparison[["measure_label_de", "unit", "municipality_name", "ags",
                                                            "reference_year", "measure_value", "rank_in_group",
                                                            "data_source"]],
                             decimals={"measure_value": 2},
                             labels={"measure_label_de": "Kennzahl", "unit": "Einheit",
                                     "municipality_name": "Stadt", "ags": "Gemeindeschlüssel",
                                     "reference_year": "Jahr", "measure_value": "Wert",
                                     "rank_in_group": "Rang in der Vergleichsgruppe", "data_source": "Quelle"})
    return [monitoring_table, retention_table, comparison_table]
