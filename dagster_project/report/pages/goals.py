"""Ziele und Maßnahmen: every goal with target, actual, trend and status; which fields of action reach
each district; gaps (high need, no measure); overlaps; funding that ends within twelve months."""

from __future__ import annotations

import pandas as pd

from dagster_project.report import charts
from dagster_project.html_report import german_number
from dagster_project.report.cells import german_date, neutral_marks
from dagster_project.report.exports import Table

TITLE = "Ziele und Maßnahmen"
STATUS_CLASS = {"erreicht": "erreicht", "auf Kurs": "auf-kurs", "gefährdet": "gefaehrdet", "keine Daten": "keine-daten"}


def latest_goals(site) -> pd.DataFrame:
    goals = site.data.marts["fct_goal_achievement"]
    last = goals.groupby("goal_id").reference_year.transform("max")
    return goals[goals.reference_year == last].sort_values("goal_id")


def baseline_note(goal, decimals: int, unit: str) -> str:
    """"2018", or "2018; beschlossen: 24,8 %" where the published value of the baseline year differs
    from the value the council decided on."""
    decided = getattr(goal, "baseline_value_decided", None)
    note = str(int(goal.baseline_year))
    if decided is None or pd.isna(decided) or pd.isna(goal.baseline_value):
        return note
    if round(float(decided), decimals) != round(float(goal.baseline_value), decimals):
        note += f"; beschlossen: {german_number(float(decided), decimals, unit)}"   # alone: with its unit
    return note


def trend(site, goal: pd.Series) -> str:
    """The change since the year before: the arrow shows where the value went (up, down), the words
    whether that is towards the target; e.g. "↗ steigt, gegen die Zielrichtung"."""
    goals = site.data.marts["fct_goal_achievement"]
    before = goals[(goals.goal_id == goal.goal_id) & (goals.reference_year == goal.reference_year - 1)]
    if before.empty or pd.isna(goal.actual_value) or pd.isna(before.actual_value.iloc[0]):
        return "–"
    step = float(goal.actual_value) - float(before.actual_value.iloc[0])
    # the direction the goal wants: from the decided baseline (the published one may be suppressed)
    start = getattr(goal, "baseline_value_decided", None)
    start = goal.baseline_value if start is None or pd.isna(start) else start
    wanted = float(goal.target_value) - float(start)
    if step == 0:
        return "→ unverändert"
    direction = "↗ steigt" if step > 0 else "↘ sinkt"
    return f"{direction}, {'in' if step * wanted > 0 else 'gegen die'} Zielrichtung"


def build(site) -> None:
    data = site.data
    code = data.hierarchy.code_column(data.hierarchy.lowest)   # the lowest level's code column
    fn = site.footnotes()
    indicators = data.indicators.set_index("indicator_id")
    goals = latest_goals(site)
    goal_rows, trend_frames = [], []
    history = data.marts["fct_goal_achievement"]
    for goal in goals.itertuples():
        decimals = int(indicators.decimals.get(goal.indicator_id, 1))
        unit = indicators.unit.get(goal.indicator_id, "")
        # an actual value missing because its indicator cell is suppressed shows `•` with the reason
        cell = data.series(goal.indicator_id, goal.area_level, goal.area_code)
        hidden = goal.reference_year in cell.index and bool(cell.loc[goal.reference_year].is_suppressed)
        base_hidden = goal.baseline_year in cell.index and bool(cell.loc[goal.baseline_year].is_suppressed)
        goal_rows.append({
            "id": goal.goal_id, "text": goal.goal_text_de, "field": goal.field_of_action_de,
            "area": goal.area_name, "indicator": indicators.label_de.get(goal.indicator_id, goal.indicator_id),
            "indicator_id": goal.indicator_id, "baseline_year": goal.baseline_year, "target_year": goal.target_year,
            "year": goal.reference_year,
            "baseline": fn.value(goal.baseline_value, decimals, unit, base_hidden,
                                 after=baseline_note(goal, decimals, unit)),
            "target": fn.value(goal.target_value, decimals, unit, after=str(int(goal.target_year))),
            "actual": fn.value(goal.actual_value, decimals, unit, hidden,
                               key=f"ziel|{goal.goal_id}|{goal.reference_year}"),
            "progress": fn.value(goal.progress_pct, 1, "%"), "elapsed": fn.value(goal.period_elapsed_pct, 1, "%"),
            "status": goal.goal_status, "status_class": STATUS_CLASS.get(goal.goal_status, "keine-daten"),
            "trend": trend(site, goal), "example": bool(goal.is_example)})
        own = history[history.goal_id == goal.goal_id]
        label = f"{goal.goal_id}: {indicators.label_de.get(goal.indicator_id, '')}"
        trend_frames.append(pd.DataFrame({"kurz": label, "stichtag": pd.to_datetime(own.stichtag),
                                          "wert": own.actual_value, "reihe": "Istwert"}))
        trend_frames.append(pd.DataFrame({"kurz": label, "stichtag": pd.to_datetime(own.stichtag),
                                          "wert": goal.target_value, "reihe": "Zielwert"}))
    trends_svg = site.drawn(charts.small_trends(pd.concat(trend_frames), "Istwerte der Ziele und Zielwerte")) \
        if trend_frames else None

    gaps = data.marts["fct_measure_gaps"]
    year = int(gaps.reference_year.max()) if len(gaps) else data.latest_year
    current = gaps[gaps.reference_year == year]
    fields = data.marts["dim_field_of_action"]
    matrix = []
    for area_code, group in current.groupby(code):
        own = group.set_index("field_of_action_id")
        matrix.append({"code": area_code, "name": group.area_name.iloc[0],
                       "cells": [("gap" if own.is_gap.fillna(False).get(f) else "served" if own.is_served.get(f) else "open")
                                 if f in own.index else "none" for f in fields.field_of_action_id]})
    field_names = dict(zip(fields.field_of_action_id, fields.field_of_action_de))
    need = data.indicators.set_index("indicator_id")
    gap_rows = [{"code": g.area_code_lowest, "name": g.area_name, "field": field_names[g.field_of_action_id],
                 "need": need.label_de.get(g.need_indicator_id, g.need_indicator_id),
                 "value": fn.value(g.need_value, int(need.decimals.get(g.need_indicator_id, 1)),
                                   need.unit.get(g.need_indicator_id))}
                for g in current[current.is_gap.fillna(False).astype(bool)].rename(columns={code: "area_code_lowest"}).sort_values(
                    ["field_of_action_id", "need_value"], ascending=[True, False]).itertuples()]
    overlaps = data.marts["fct_measure_overlaps"].sort_values([code, "field_of_action_id"]).rename(
        columns={code: "area_code_lowest"})
    groups = dict(zip(data.marts["dim_target_group"].target_group, data.marts["dim_target_group"].target_group_de))
    overlap_rows = [{"code": o.area_code_lowest, "name": o.area_name, "field": field_names.get(
        o.field_of_action_id, o.field_of_action_id), "group": groups.get(o.target_group, o.target_group), "a": f"{o.measure_id_a} ({o.carrier_a})",
        "b": f"{o.measure_id_b} ({o.carrier_b})", "from": german_date(o.overlap_starts_on),
        "to": "offen" if str(o.overlap_ends_on).startswith("9999") else german_date(o.overlap_ends_on)}
        for o in overlaps.itertuples()]
    funding = data.marts["fct_funding_programmes"].sort_values("volume_ending_within_12_months_eur", ascending=False)
    funders = dict(zip(data.marts["dim_funder"].funder, data.marts["dim_funder"].funder_de))
    funding_rows = [{"programme": f.funding_programme, "funder": funders.get(f.funder, f.funder),
                     "date": german_date(f.reference_date), "active": fn.value(f.active_measures, 0),
                     "volume": fn.value(f.annual_volume_eur, 0, None), "ending": fn.value(f.measures_ending_within_12_months, 0),
                     "ending_volume": fn.value(f.volume_ending_within_12_months_eur, 0, None),
                     "measures": f.measures_ending or "–"} for f in funding.itertuples()]
    downloads = site.write_exports("ziele_massnahmen", export_tables(site), [*site.release_notes(), *notes()])
    site.write_page("ziele.html", "goals.html.j2", "Ziele und Maßnahmen", fn, "ziele.html", downloads,
                    goals=goal_rows, trends_svg=trends_svg, fields=fields.to_dict("records"), matrix=matrix,
                    year=year, gaps=gap_rows, overlaps=overlap_rows, funding=funding_rows,
                    examples=bool(goals.is_example.astype(bool).any()))


def notes() -> list[tuple[str, str]]:
    return [("Zielerreichung", "(Istwert − Ausgangswert) / (Zielwert − Ausgangswert) × 100."),
            ("Status", "erreicht; auf Kurs (Zielerreichung mindestens so groß wie der verstrichene Anteil des "
                       "Zielzeitraums); gefährdet; keine Daten."),
            ("Angebotslücke", "Bezirk im Viertel mit dem höchsten Bedarf (Bedarfsindikator des Handlungsfelds) und "
                              "keine laufende Maßnahme des Handlungsfelds."),
            ("Überschneidung", "Zwei Maßnahmen desselben Handlungsfelds für dieselbe Zielgruppe im selben Bezirk "
                               "zur selben Zeit.")]


def export_tables(site) -> list[Table]:
    data = site.data
    code = data.hierarchy.code_column(data.hierarchy.lowest)   # the lowest level's code column
    goals = data.marts["fct_goal_achievement"].sort_values(["goal_id", "reference_year"])
    decided = ["baseline_value_decided"] if "baseline_value_decided" in goals.columns else []
    goal_table = Table("Ziele", goals[["goal_id", "goal_text_de", "field_of_action_de", "area_name", "indicator_id",
                                       "baseline_year", "baseline_value", *decided, "target_year", "target_value",
                                       "reference_year", "actual_value", "progress_pct", "period_elapsed_pct",
                                       "goal_status"]],
                       decimals={column: 1 for column in ("baseline_value", *decided, "target_value", "actual_value",
                                                          "progress_pct", "period_elapsed_pct")},
                       labels={"goal_id": "Ziel", "goal_text_de": "Zieltext", "field_of_action_de": "Handlungsfeld",
                               "area_name": "Gebiet", "indicator_id": "Indikator", "baseline_year": "Ausgangsjahr",
                               "baseline_value": "Ausgangswert", "baseline_value_decided": "Ausgangswert (beschlossen)",
                               "target_year": "Zieljahr", "target_value": "Zielwert",
                               "reference_year": "Jahr", "actual_value": "Istwert",
                               "progress_pct": "Zielerreichung (%)", "period_elapsed_pct": "Zeitraum verstrichen (%)",
                               "goal_status": "Status"})
    coverage = data.marts["fct_measure_coverage"].sort_values(["reference_year", code,
                                                               "field_of_action_id", "target_group"])
    coverage = coverage.assign(suppression_de=neutral_marks(coverage.is_suppressed))
    coverage_table = Table("Abdeckung", coverage[["reference_year", code, "area_name",
                                                  "field_of_action_id", "target_group", "active_measures",
                                                  "budget_eur", "target_group_size",
                                                  "budget_per_target_resident_eur", "suppression_de",
                                                  "is_suppressed"]],
                           decimals={"budget_eur": 0, "target_group_size": 0, "budget_per_target_resident_eur": 2},
                           # a suppressed target group also hides the budget per person (it would give it away)
                           suppressed_by={"target_group_size": "is_suppressed",
                                          "budget_per_target_resident_eur": "is_suppressed"},
                           labels={"reference_year": "Jahr", code: "Gebietskode",
                                   "area_name": site.level_words["lowest_label"], "field_of_action_id": "Handlungsfeld",
                                   "target_group": "Zielgruppe", "active_measures": "laufende Maßnahmen",
                                   "budget_eur": "Budget (EUR)", "target_group_size": "Zielgruppe (Personen)",
                                   "budget_per_target_resident_eur": "EUR je Person der Zielgruppe",
                                   "suppression_de": "Geheimhaltung"})
    gaps = data.marts["fct_measure_gaps"]
    gap_table = Table("Lücken", gaps[gaps.is_gap.fillna(False).astype(bool)][["reference_year", code,
                                                                "area_name", "field_of_action_id",
                                                                "need_indicator_id", "need_value"]],
                      decimals={"need_value": 1},
                      labels={"reference_year": "Jahr", code: "Gebietskode",
                              "area_name": site.level_words["lowest_label"], "field_of_action_id": "Handlungsfeld",
                              "need_indicator_id": "Bedarfsindikator", "need_value": "Bedarf"})
    funding = data.marts["fct_funding_programmes"]
    funding_table = Table("Förderungen", funding, decimals={"annual_volume_eur": 0,
                                                            "volume_ending_within_12_months_eur": 0},
                          labels={"funding_programme": "Förderprogramm", "funder": "Mittelgeber",
                                  "reference_date": "Stichtag", "active_measures": "laufende Maßnahmen",
                                  "annual_volume_eur": "Jahresvolumen (EUR)",
                                  "measures_ending_within_12_months": "endend in 12 Monaten",
                                  "volume_ending_within_12_months_eur": "Volumen endend in 12 Monaten (EUR)",
                                  "measures_ending": "endende Maßnahmen"})
    overlaps = data.marts["fct_measure_overlaps"].copy()
    overlaps["overlap_starts_on"] = overlaps.overlap_starts_on.map(german_date)
    overlaps["overlap_ends_on"] = overlaps.overlap_ends_on.map(
        lambda d: "offen" if str(d).startswith("9999") else german_date(d))
    overlap_table = Table("Überschneidungen", overlaps[[code, "area_name", "field_of_action_id",
                                                         "target_group", "measure_id_a", "carrier_a", "measure_id_b",
                                                         "carrier_b", "overlap_starts_on", "overlap_ends_on"]],
                          labels={code: "Gebietskode", "area_name": site.level_words["lowest_label"],
                                  "field_of_action_id": "Handlungsfeld", "target_group": "Zielgruppe",
                                  "measure_id_a": "Maßnahme A", "carrier_a": "Träger A", "measure_id_b": "Maßnahme B",
                                  "carrier_b": "Träger B", "overlap_starts_on": "von", "overlap_ends_on": "bis"})
    return [goal_table, coverage_table, gap_table, overlap_table, funding_table]
