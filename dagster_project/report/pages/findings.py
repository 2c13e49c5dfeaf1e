"""Key findings for the overview, written from the release's data: where the need rose and fell
most among the city districts, which statistical districts changed their social-index status
class, which goals are at risk, and how the group from Bulgaria and Romania developed. Every
sentence names its year and its numbers; a finding whose numbers are suppressed or missing is left
out (never guessed)."""

from __future__ import annotations

import pandas as pd

from dagster_project.html_report import german_number

CHANGE_INDICATOR = "sgb2_rate"     # the headline measure of poverty
STATUS_ORDER = {"hoch": 0, "mittel": 1, "niedrig": 2, "sehr niedrig": 3}


def _points(value: float, decimals: int, unit: str) -> str:
    sign = "+" if value > 0 else ""
    return f"{sign}{german_number(value, decimals)} {'Prozentpunkte' if unit == '%' else unit}".strip()


def key_findings(data) -> list[str]:
    latest = data.latest_year
    found = []
    found += _largest_changes(data, latest)
    found += _status_moves(data)
    found += _goals_at_risk(data)
    found += _eu2(data, latest)
    return found[:5]


def _largest_changes(data, latest: int) -> list[str]:
    values = data.values
    indicator = data.indicator(CHANGE_INDICATOR)
    decimals, unit = int(indicator["decimals"]), indicator["unit"]
    h = data.hierarchy
    rows = values[(values.indicator_id == CHANGE_INDICATOR) & (values.area_level == h.top)
                  & values.reference_year.isin([latest - 1, latest]) & ~values.is_suppressed.astype(bool)]
    wide = rows.pivot_table(index=["area_code", "area_name"], columns="reference_year", values="indicator_value")
    if latest - 1 not in wide.columns or latest not in wide.columns:
        return []
    change = (wide[latest] - wide[latest - 1]).dropna().round(decimals)
    if change.empty:
        return []
    out = []
    (code, name), rise = change.idxmax(), change.max()
    if rise > 0:
        out.append(f"{indicator['label_de']}: am stärksten gestiegen {h.in_(h.top)} {name} "
                   f"({_points(rise, decimals, unit)} von {latest - 1} auf {latest}).")
    (code, name), fall = change.idxmin(), change.min()
    if fall < 0:
        out.append(f"{indicator['label_de']}: am stärksten gesunken {h.in_(h.top)} {name} "
                   f"({_points(fall, decimals, unit)} von {latest - 1} auf {latest}).")
    return out


def _status_moves(data) -> list[str]:
    index = data.marts["fct_social_index"]
    if index.empty:
        return []
    year = int(index.reference_year.max())
    code = data.hierarchy.code_column(data.hierarchy.lowest)
    now = index[(index.reference_year == year) & index.is_classified.astype(bool)].set_index(code)
    before = index[(index.reference_year == year - 1) & index.is_classified.astype(bool)].set_index(code)
    common = now.index.intersection(before.index)
    if common.empty:
        return []
    moved = now.loc[common].status_class.map(STATUS_ORDER) - before.loc[common].status_class.map(STATUS_ORDER)
    worse, better = int((moved > 0).sum()), int((moved < 0).sum())
    if not worse and not better:
        return [f"Sozialindex {year}: kein Gebiet hat seine Statusklasse gegenüber {year - 1} gewechselt."]
    districts = "Gebiet" if worse == 1 else "Gebiete"
    return [f"Sozialindex {year}: {worse} {districts} in eine ungünstigere, {better} in eine günstigere "
            f"Statusklasse als {year - 1}."]


def _goals_at_risk(data) -> list[str]:
    goals = data.marts["fct_goal_achievement"]
    if goals.empty:
        return []
    latest = goals[goals.reference_year == goals.reference_year.max()]
    at_risk = latest[latest.goal_status == "gefährdet"].goal_id.tolist()
    if not at_risk:
        return [f"Ziele {int(latest.reference_year.max())}: keines gefährdet ({len(latest)} Ziele)."]
    return [f"Ziele {int(latest.reference_year.max())}: {len(at_risk)} von {len(latest)} gefährdet "
            f"({', '.join(sorted(at_risk))})."]


def _eu2(data, latest: int) -> list[str]:
    monitoring = data.marts["fct_immigration_monitoring"]
    stock = monitoring[(monitoring.measure_id == "stock") & (monitoring.monitoring_group == "EU2")
                       & (monitoring.area_level == "city") & ~monitoring.is_suppressed.astype(bool)]
    by_year = stock.set_index("reference_year").measure_value
    if latest not in by_year.index or latest - 1 not in by_year.index or pd.isna(by_year[latest]):
        return []
    change = float(by_year[latest]) - float(by_year[latest - 1])
    sign = "+" if change > 0 else ""
    return [f"Einwohner aus Bulgarien und Rumänien: {german_number(float(by_year[latest]))} am 31.12.{latest} "
            f"({sign}{german_number(change)} gegenüber dem Vorjahr)."]
