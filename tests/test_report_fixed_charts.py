"""The indicator pages' ranking and time series, drawn without Vega: read back as a browser reads
them (XML), on hand-made frames whose order, proportions, gaps and labels are worked out by hand."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pandas as pd

from dagster_project.report.fixed_charts import ranking_svg, time_series_svg

NS = "{http://www.w3.org/2000/svg}"


def texts(svg: ET.Element) -> list[str]:
    return [t.text for t in svg.iter(f"{NS}text")]


def test_ranking_orders_by_value_bars_proportional_and_the_city_rule_where_its_value_is():
    frame = pd.DataFrame({"gebiet": ["010 Mitte", "020 Nord", "030 Süd & Ost", "040 West"],
                          "wert": [12.5, 50.0, math.nan, 25.0]})
    svg = ET.fromstring(ranking_svg(frame, "in %", 1, 25.0, "Stadt: 25,0 %", "Rangfolge: Test"))
    assert svg.get("role") == "img" and svg.get("aria-label") == "Rangfolge: Test"
    bars = [r for r in svg.iter(f"{NS}rect") if r.get("height") == "10"]
    assert len(bars) == 3                                         # the district without a value has no bar
    widths = [float(b.get("width")) for b in bars]
    assert widths == sorted(widths, reverse=True)                 # the largest value first
    assert math.isclose(widths[0] / widths[1], 50 / 25, rel_tol=0.02)
    assert math.isclose(widths[1] / widths[2], 25 / 12.5, rel_tol=0.02)
    labels = texts(svg)
    assert [l for l in labels if re.match(r"0[1-4]0 ", l)] == ["020 Nord", "040 West", "010 Mitte"]
    assert "030 Süd & Ost" not in labels
    assert "Stadt: 25,0 %" in labels and "in %" in labels
    assert {"0,0", "50,0"} <= set(labels)                          # ticks in German, with the indicator's decimals
    rule = next(l for l in svg.iter(f"{NS}line") if l.get("stroke-width") == "2")
    west = bars[1]                                                 # 25.0, the city's value
    assert math.isclose(float(rule.get("x1")), float(west.get("x")) + float(west.get("width")), abs_tol=0.2)


def test_ranking_of_negative_values_starts_its_bars_at_zero():
    frame = pd.DataFrame({"gebiet": ["A", "B"], "wert": [-4.0, 2.0]})
    svg = ET.fromstring(ranking_svg(frame, "Saldo", 0, None, "", "Test"))
    bars = [r for r in svg.iter(f"{NS}rect") if r.get("height") == "10"]
    b, a = bars                                                    # 2 first, then -4
    assert math.isclose(float(a.get("x")) + float(a.get("width")), float(b.get("x")), abs_tol=0.2)
    assert math.isclose(float(a.get("width")) / float(b.get("width")), 2.0, rel_tol=0.02)
    assert "−4" in texts(svg) or "−5" in texts(svg)               # the minus sign, never "-"


def test_time_series_has_a_gap_for_a_suppressed_value_dots_and_a_break_inside_the_years_only():
    frame = pd.DataFrame({"jahr": [2020, 2021, 2022, 2023, 2020, 2021, 2022, 2023],
                          "wert": [10.0, 20.0, math.nan, 40.0, 30.0, 30.0, 30.0, 30.0],
                          "reihe": ["Bezirk"] * 4 + ["Stadt"] * 4})
    breaks = pd.DataFrame({"break_date": ["2022-06-01", "2019-01-01"], "kurz": ["Bruch 2022", "Bruch 2019"]})
    svg = ET.fromstring(time_series_svg(frame, "in %", 1, breaks, "Zeitreihe: Test"))
    paths = list(svg.iter(f"{NS}path"))
    # the district: 2020–2021 drawn, 2022 a gap, 2023 alone (a dot only); the city: one line
    assert len(paths) == 2
    assert len(list(svg.iter(f"{NS}circle"))) == 3 + 4
    labels = texts(svg)
    assert "Bruch 2022" in labels and "Bruch 2019" not in labels  # 2019 lies before the first year
    assert [y for y in labels if re.fullmatch(r"20\d\d", y)] == ["2020", "2021", "2022", "2023"]
    assert {"Bezirk", "Stadt", "in %", "Jahr"} <= set(labels)
    ticks = [t for t in labels if re.fullmatch(r"\d+,\d", t)]
    assert ticks and all(t.endswith(",0") for t in ticks)         # never finer than the decimals shown
    dots = sorted(((float(c.get("cx")), float(c.get("cy"))) for c in svg.iter(f"{NS}circle")
                   if c.get("fill") != "#2166ac"), key=lambda d: d[0])
    heights = [y for _, y in dots]                                 # the district's dots (red: first series)
    assert heights == sorted(heights, reverse=True)                # 10 < 20 < 40: higher up each year
