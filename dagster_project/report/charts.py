"""Charts of the planners' report: declared with Altair (Vega-Lite), rendered to SVG at build time by
vl-convert (its own bundled Vega, no network: external data URLs are refused), German number and
date formats (d3 locale de-DE). The SVG is put into the page, so the site needs no JavaScript.
Charts of a fixed shape are drawn without Vega: small multiples (small_multiples.py), the ranking
and the time series (fixed_charts.py).

Suppressed values (`•`) are not drawn: a line has a gap where a value is suppressed, a bar is missing.
"""

from __future__ import annotations

import re

import altair as alt
import pandas as pd
import vl_convert

from dagster_project.report.fixed_charts import CITY_COLOUR, GREY, LINE_COLOUR
from dagster_project.report.small_multiples import FONT, small_multiples_svg

CONFIG = {
    # no generated ARIA texts per mark ("jahr: 2021,41643836; reihe: …" are field names, not German):
    # every chart has its German description on the <svg> element instead
    "aria": False,
    "font": FONT,
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 11, "gridColor": "#e6e6e6"},
    "legend": {"labelFontSize": 11, "titleFontSize": 11},
    "title": {"fontSize": 13, "anchor": "start"},
}

# d3-format / d3-time-format for German: decimal comma, thousands point, German month names
FORMAT_LOCALE = "de-DE"
TIME_FORMAT_LOCALE = "de-DE"


def svg(chart: alt.TopLevelMixin, description: str) -> str:
    """The chart as an inline SVG element with a German text alternative (role="img")."""
    spec = chart.to_dict(validate=False)   # the chart functions below are fixed; validating each costs 10 %
    spec.setdefault("config", {}).update(CONFIG)
    spec["description"] = description
    text = vl_convert.vegalite_to_svg(spec, format_locale=FORMAT_LOCALE, time_format_locale=TIME_FORMAT_LOCALE,
                                      allowed_base_urls=[])
    text = text.split("?>", 1)[-1].strip() if text.startswith("<?xml") else text
    # the chart is one image with its German description; Vega's roles for its marks would make
    # each mark an unnamed image of its own for screen readers
    text = INNER_ROLES.sub("", text)
    return text.replace("<svg ", f'<svg role="img" aria-label="{_attribute(description)}" ', 1)


INNER_ROLES = re.compile(r' (?:role="graphics-[a-z-]+"|aria-roledescription="[^"]*")')


def _attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def number_format(decimals: int) -> str:
    return f",.{decimals}f"


def plotted(frame: pd.DataFrame, value: str = "indicator_value") -> pd.DataFrame:
    """Rows as charts draw them: `wert` empty where the value is suppressed (a gap, never a number),
    `stichtag` as a date."""
    return frame.assign(wert=frame[value].where(~frame.is_suppressed.astype(bool)),
                        stichtag=pd.to_datetime(frame.stichtag))


def with_year(frame: pd.DataFrame) -> pd.DataFrame:
    """`jahr`: the year of the reference date (31.12.), the x position of a value."""
    return frame.assign(jahr=pd.to_datetime(frame["stichtag"]).dt.year)


def district_panels(frame: pd.DataFrame, description: str) -> str:
    """Small multiples: one panel per city district (`panel`) with the district's line and the
    city's line (`reihe`: district first, city second), all on one y scale so that the districts
    compare by eye; a district whose values are all suppressed says so in its panel."""
    return small_multiples_svg(with_year(frame).rename(columns={"panel": "kurz"}), description,
                               [LINE_COLOUR, CITY_COLOUR], columns=4, shared_scale=True)


def small_trends(frame: pd.DataFrame, description: str) -> str:
    """One small trend per indicator (`kurz`, `stichtag`, `wert`, `reihe`: area and city), each on
    its own y scale; used on the area profiles, the overview and the goals page. Drawn directly as
    SVG (small_multiples.py), not through Vega."""
    return small_multiples_svg(with_year(frame), description, [LINE_COLOUR, CITY_COLOUR, "#999999"])


def bars_over_years(frame: pd.DataFrame, value_title: str, colour_title: str) -> alt.Chart:
    """Grouped bars per year (`jahr`, `wert`, `reihe`), e.g. inflows and outflows."""
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("jahr:O", title="Jahr", axis=alt.Axis(labelAngle=0)),
        xOffset="reihe:N",
        y=alt.Y("wert:Q", title=value_title, axis=alt.Axis(format=",.0f")),
        color=alt.Color("reihe:N", title=colour_title, scale=alt.Scale(range=[LINE_COLOUR, "#f4a582", GREY]),
                        legend=alt.Legend(orient="bottom")),
    ).properties(width=560, height=220)


def retention_lines(frame: pd.DataFrame) -> alt.Chart:
    """Share still living in the city after 1, 3 and 5 years (`jahre_danach`) by arrival cohort."""
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("kohorte:O", title="Zuzugsjahr (Kohorte)", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("wert:Q", title="Verbleib in %", scale=alt.Scale(domain=[0, 100]), axis=alt.Axis(format=",.0f")),
        color=alt.Color("jahre_danach:N", title="Verbleib nach",
                        scale=alt.Scale(range=[LINE_COLOUR, "#67a9cf", "#ef8a62"]), legend=alt.Legend(orient="bottom")),
    ).properties(width=560, height=220)


def comparison_bars(frame: pd.DataFrame, value_title: str, decimals: int) -> alt.Chart:
    """Municipalities (`gebiet`, `wert`, `eigene`) of the comparison group, the own city highlighted."""
    return alt.Chart(frame).mark_bar(height=10).encode(
        x=alt.X("wert:Q", title=value_title, axis=alt.Axis(format=number_format(decimals))),
        y=alt.Y("gebiet:N", title=None, sort="-x", axis=alt.Axis(labelFontSize=11, labelLimit=220)),
        color=alt.Color("eigene:N", title=None, scale=alt.Scale(domain=["eigene Stadt", "Vergleichsstadt"],
                                                              range=[CITY_COLOUR, "#9ecae1"]),
                        legend=alt.Legend(orient="bottom")),
    ).properties(width=380, height=max(100, 14 * len(frame)))
