"""The indicator pages' two large charts drawn directly as SVG, as the small multiples are
(small_multiples.py): the ranking of the statistical districts (horizontal bars, the city's value
as a red rule) and the time series (lines over the years, a dashed rule at every time-series
break). Their shape is fixed, so no layout engine is needed: Vega took about 0.13 s for each, and
every indicator page has both (the time series also the immigration page).

Numbers are German (german_number), ticks follow d3's rule (nice_ticks), never finer than the
decimals the indicator shows; a suppressed value is a gap in its line, never drawn as a number.
"""

from __future__ import annotations

import math
from html import escape

import pandas as pd

from dagster_project.html_report import german_number
from dagster_project.report.small_multiples import (AXIS_TEXT, DASHES, GRID, TEXT, TITLE_TEXT, _dash, nice_ticks,
                                                    svg_start)

GREY = "#6b6b6b"
CITY_COLOUR = "#b2182b"
LINE_COLOUR = "#2166ac"
# Tableau 10: the series of a chart with more than two lines (the immigration page's nationalities)
TABLEAU10 = ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac"]
CHAR_WIDTH = 6.4           # 11 px DejaVu Sans, on average (a label is cut with "…" beyond its room)
BOLD_CHAR_WIDTH = 7.0
ROW = 14                   # a bar's row: 11 px labels need 14 px
LABEL_ROOM = 220


def _cut(text: str, room: float, char_width: float = CHAR_WIDTH) -> str:
    fits = int(room / char_width)
    return text if len(text) <= fits else text[:max(1, fits - 1)].rstrip() + "…"


def _text(x: float, y: float, text: str, anchor: str = "start", fill: str = AXIS_TEXT, bold: bool = False,
          extra: str = "") -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{TEXT}" text-anchor="{anchor}" fill="{fill}"{weight}{extra}>'
            f"{escape(text)}</text>")


def ranking_svg(frame: pd.DataFrame, value_title: str, decimals: int, city_value: float | None,
                city_label: str, description: str, plot_width: int = 420) -> str:
    """Horizontal bars of the districts (`gebiet`, `wert`; rows without a value are left out), the
    largest value first; the city's value as a red rule labelled `city_label`; the value axis on
    top, titled `value_title`, its numbers with `decimals` places."""
    rows = frame[frame["wert"].notna()]
    rows = sorted(zip(rows["gebiet"], rows["wert"].astype(float)), key=lambda row: (-row[1], row[0]))
    values = [value for _, value in rows] + ([city_value] if city_value is not None else [])
    low, high = min([0.0, *values]), max([0.0, *values])
    ticks, _ = nice_ticks(low, high, count=5, min_step=10.0 ** -decimals)
    left, top = LABEL_ROOM + 6, 40
    plot_height = max(120, ROW * len(rows))
    width, height = left + plot_width + 28, top + plot_height + 8   # room for the last tick label
    span = (ticks[-1] - ticks[0]) or 1.0

    def x_of(value: float) -> float:
        return left + (value - ticks[0]) / span * plot_width

    out = [svg_start(width, height, description, "rangfolge"),
           _text(left + plot_width / 2, 13, value_title, "middle", TITLE_TEXT, bold=True)]
    for tick in ticks:
        x = x_of(tick)
        out.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{top + plot_height:.1f}" stroke="{GRID}"/>')
        out.append(_text(x, top - 8, german_number(tick, decimals), "middle"))
    out.append(f'<line x1="{left:.1f}" y1="{top:.1f}" x2="{left + plot_width:.1f}" y2="{top:.1f}" stroke="#888888"/>')
    zero = x_of(0.0)
    for number, (name, value) in enumerate(rows):
        y = top + number * ROW
        start, end = sorted((zero, x_of(value)))
        out.append(f'<rect x="{start:.1f}" y="{y + 2:.1f}" width="{max(end - start, 0.5):.1f}" height="10" '
                   f'fill="{LINE_COLOUR}"/>')
        out.append(_text(left - 5, y + 11, _cut(str(name), LABEL_ROOM), "end"))
    if city_value is not None:
        x = x_of(city_value)
        out.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{top + plot_height:.1f}" '
                   f'stroke="{CITY_COLOUR}" stroke-width="2"/>')
        fits_right = x + 4 + BOLD_CHAR_WIDTH * len(city_label) <= width
        out.append(_text(x + 4 if fits_right else x - 4, top + plot_height - 3, city_label,
                         "start" if fits_right else "end", CITY_COLOUR, bold=True))
    out.append("</svg>")
    return "".join(out)


def break_position(day) -> float:
    """x position of a break date between the year-end values: 01.06.2022 lies 5/12 of the way from
    the value of 31.12.2021 (x = 2021) to that of 31.12.2022 (x = 2022)."""
    day = pd.Timestamp(day)
    return day.year - 1 + day.day_of_year / (366 if day.is_leap_year else 365)


def time_series_svg(frame: pd.DataFrame, value_title: str, decimals: int, breaks: pd.DataFrame,
                    description: str, plot_width: int = 560, plot_height: int = 220) -> str:
    """Lines over the years (`stichtag` or `jahr`, `wert`, `reihe`; NaN: a gap), the series in the
    order they first appear (two: red and blue, the city first; more: Tableau 10), told apart by
    line pattern too; a dashed rule labelled `kurz` at every break (`break_date`) between the first
    and the last year; the legend below."""
    years = frame["jahr"] if "jahr" in frame else pd.to_datetime(frame["stichtag"]).dt.year
    frame = frame.assign(jahr=years.astype(int), wert=frame["wert"].astype(float))
    series = list(dict.fromkeys(frame["reihe"]))
    colours = [CITY_COLOUR, LINE_COLOUR] if len(series) <= 2 else TABLEAU10
    colour_of = {name: colours[i % len(colours)] for i, name in enumerate(series)}
    dash_of = {name: DASHES[i % len(DASHES)] if len(series) <= len(DASHES) else "" for i, name in enumerate(series)}
    x_low, x_high = int(frame["jahr"].min()), int(frame["jahr"].max())
    shown = frame["wert"].dropna()
    ticks, _ = (nice_ticks(float(shown.min()), float(shown.max()), count=5, min_step=10.0 ** -decimals)
                if len(shown) else ([0.0, 1.0], 0))
    left, top = 64, 10
    legend_top = top + plot_height + 44
    legend_rows = _legend_rows(series, plot_width + left)
    width, height = left + plot_width + 16, legend_top + 18 * len(legend_rows) + 4
    y_span = (ticks[-1] - ticks[0]) or 1.0

    def x_of(year: float) -> float:
        return left + ((year - x_low) / (x_high - x_low) if x_high > x_low else 0.5) * plot_width

    def y_of(value: float) -> float:
        return top + plot_height - (value - ticks[0]) / y_span * plot_height

    out = [svg_start(width, height, description, "zeitreihe")]
    for tick in ticks:
        y = y_of(tick)
        out.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_width:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(_text(left - 5, y + 4, german_number(tick, decimals), "end"))
    bottom = top + plot_height
    out.append(f'<line x1="{left:.1f}" y1="{bottom:.1f}" x2="{left + plot_width:.1f}" y2="{bottom:.1f}" stroke="#888888"/>')
    for year in range(x_low, x_high + 1):
        out.append(_text(x_of(year), bottom + 15, str(year), "middle"))
    out.append(_text(left + plot_width / 2, bottom + 32, "Jahr", "middle", TITLE_TEXT, bold=True))
    out.append(_text(0, 0, value_title, "middle", TITLE_TEXT, bold=True,
                     extra=f' transform="translate(14,{top + plot_height / 2:.1f}) rotate(-90)"'))
    if len(breaks) and x_high > x_low:
        for day, label in zip(breaks["break_date"], breaks["kurz"]):
            position = break_position(day)
            if not x_low < position < x_high:   # an earlier break is off the axis
                continue
            x = x_of(position)
            out.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" stroke="{GREY}" '
                       f'stroke-dasharray="4 3"/>')
            out.append(_text(x - 3, top + 11, str(label), "end", GREY))
    for name in series:
        own = frame[frame["reihe"] == name].sort_values("jahr")
        out.append(_series(list(zip(own["jahr"], own["wert"])), colour_of[name], dash_of[name], x_of, y_of))
    for number, row in enumerate(legend_rows):
        x = left
        for name in row:
            y = legend_top + 18 * number
            out.append(f'<line x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x + 18:.1f}" y2="{y - 4:.1f}" '
                       f'stroke="{colour_of[name]}" stroke-width="2"{_dash(dash_of[name])}/>')
            out.append(_text(x + 23, y, name, fill=TITLE_TEXT))
            x += 23 + CHAR_WIDTH * len(name) + 18
    out.append("</svg>")
    return "".join(out)


def _legend_rows(series: list[str], room: float) -> list[list[str]]:
    rows, current, used = [], [], 0.0
    for name in series:
        need = 23 + CHAR_WIDTH * len(name) + 18
        if current and used + need > room:
            rows.append(current)
            current, used = [], 0.0
        current.append(name)
        used += need
    return [*rows, current] if current else rows


def _series(points: list[tuple[int, float]], colour: str, dash: str, x_of, y_of) -> str:
    """A line through the values, broken where a value is missing, and a dot at every value."""
    out, run = [], []
    for year, value in [*points, (None, math.nan)]:
        if math.isnan(value):
            if len(run) > 1:
                d = "M" + "L".join(f"{x_of(y):.1f},{y_of(v):.1f}" for y, v in run)
                out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2"{_dash(dash)}/>')
            run = []
        else:
            run.append((year, value))
    out += [f'<circle cx="{x_of(year):.1f}" cy="{y_of(value):.1f}" r="2.7" fill="{colour}"/>'
            for year, value in points if not math.isnan(value)]
    return "".join(out)
