"""The small multiples of profiles, overview and goals, drawn without Vega: read back as a browser
reads them (XML), on a hand-made frame whose positions and labels are worked out by hand."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pandas as pd

from dagster_project.report.small_multiples import (AXIS_WIDTH, LEGEND_HEIGHT, PLOT_HEIGHT, PLOT_WIDTH,
                                                    TITLE_HEIGHT, nice_ticks, small_multiples_svg)

NS = "{http://www.w3.org/2000/svg}"


def frame() -> pd.DataFrame:
    rows = []
    # panel A: the area 10, 20, (suppressed), 40 and the city 30 throughout; panel B: negative values
    for year, area, city in ((2020, 10.0, 30.0), (2021, 20.0, 30.0), (2022, math.nan, 30.0), (2023, 40.0, 30.0)):
        rows += [{"kurz": "Quote A", "reihe": "Gebiet", "jahr": year, "wert": area},
                 {"kurz": "Quote A", "reihe": "Stadt", "jahr": year, "wert": city}]
    for year, value in ((2020, -0.15), (2021, -0.05), (2022, 0.04), (2023, 0.12)):
        rows.append({"kurz": "Saldo <B>", "reihe": "Gebiet", "jahr": year, "wert": value})
    return pd.DataFrame(rows)


def test_ticks_are_round_and_cover_the_values():
    assert nice_ticks(10, 40) == ([10, 20, 30, 40], 0)
    assert nice_ticks(-1.5, 1.2) == ([-2, -1, 0, 1, 2], 0)      # d3: 0.9 a step rounds to 1
    assert nice_ticks(-0.15, 0.12) == ([-0.2, -0.1, 0.0, 0.1, 0.2], 1)
    ticks, decimals = nice_ticks(1234.0, 1234.0)    # a flat line gets a span around its value
    assert ticks[0] < 1234 < ticks[-1] and decimals == 0


def test_panels_lines_gaps_and_german_labels():
    svg = ET.fromstring(small_multiples_svg(frame(), "Entwicklung: Test", ["#0000ff", "#ff0000"]))
    assert svg.get("role") == "img" and svg.get("aria-label") == "Entwicklung: Test"
    panels = [g for g in svg.iter(f"{NS}g") if g.get("class") == "feld"]
    assert [p.find(f"{NS}title").text for p in panels] == ["Quote A", "Saldo <B>"]
    a, b = panels
    # the area's line in A: a path over 2020-2021, the gap of 2022, then 2023 alone as a dot
    blue = [e for e in a if e.get("stroke") == "#0000ff" or e.get("fill") == "#0000ff"]
    assert [e.tag.removeprefix(NS) for e in blue] == ["path", "circle"]
    x0, x1 = AXIS_WIDTH, AXIS_WIDTH + PLOT_WIDTH
    top = LEGEND_HEIGHT + TITLE_HEIGHT
    # y scale of A: ticks 10..40, so 10 sits on the bottom and 40 on the top of the plot
    assert blue[0].get("d") == f"M{x0:.1f},{top + PLOT_HEIGHT:.1f}L{x0 + PLOT_WIDTH / 3:.1f},{top + PLOT_HEIGHT * 2 / 3:.1f}"
    assert (float(blue[1].get("cx")), float(blue[1].get("cy"))) == (round(x1, 1), round(top, 1))
    texts = [t.text for t in svg.iter(f"{NS}text")]
    assert {"10", "20", "30", "40", "2020", "2023", "Gebiet", "Stadt"} <= set(texts)
    # B: German decimals with a real minus sign, zero without a sign
    labels_b = [t.text for t in b.iter(f"{NS}text")]
    assert {"−0,2", "−0,1", "0,0", "0,1", "0,2"} <= set(labels_b) and not any("-" in t for t in labels_b)


def test_a_long_title_wraps_into_two_lines_and_stays_whole_as_tooltip():
    long = "SGB-II-Arbeitslosenquote (einwohnerbezogen)"
    svg = ET.fromstring(small_multiples_svg(frame().replace({"Quote A": long}), "x", ["#000000"]))
    panel = next(g for g in svg.iter(f"{NS}g") if g.get("class") == "feld")
    assert panel.find(f"{NS}title").text == long
    lines = [t.text for t in panel.findall(f"{NS}text")[:2]]
    assert " ".join(lines) == long                      # nothing cut, two lines
    assert all(float(t.get("font-size")) >= 11 for t in svg.iter(f"{NS}text"))
    longer = "Anteil der Alleinerziehendenhaushalte an allen Haushalten mit minderjährigen Kindern im Bezirk"
    svg = ET.fromstring(small_multiples_svg(frame().replace({"Quote A": longer}), "x", ["#000000"]))
    panel = next(g for g in svg.iter(f"{NS}g") if g.get("class") == "feld")
    shown = [t.text for t in panel.findall(f"{NS}text")[:2]]
    assert shown[-1].endswith("…") and panel.find(f"{NS}title").text == longer


def test_district_panels_share_one_scale_and_a_suppressed_district_says_so():
    rows = []
    for year, small, large, city in ((2020, 1.0, 80.0, 40.0), (2021, 2.0, 90.0, 41.0)):
        rows += [{"kurz": "01 Nord", "reihe": "Stadtbezirk", "jahr": year, "wert": small, "is_suppressed": False},
                 {"kurz": "02 Süd", "reihe": "Stadtbezirk", "jahr": year, "wert": large, "is_suppressed": False},
                 {"kurz": "03 West", "reihe": "Stadtbezirk", "jahr": year, "wert": math.nan, "is_suppressed": True}]
        rows += [{"kurz": k, "reihe": "Stadt", "jahr": year, "wert": city, "is_suppressed": False}
                 for k in ("01 Nord", "02 Süd", "03 West")]
    svg = ET.fromstring(small_multiples_svg(pd.DataFrame(rows), "x", ["#0000ff", "#ff0000"], shared_scale=True))
    panels = [g for g in svg.iter(f"{NS}g") if g.get("class") == "feld"]
    axes = [[t.text for t in p.iter(f"{NS}text")][1:] for p in panels]
    assert axes[0][:4] == axes[1][:4] == axes[2][:4]          # the same tick labels in every panel
    west = [t.text for t in panels[2].iter(f"{NS}text")]
    assert "Stadtbezirk: • gesperrt" in west
    assert not any("gesperrt" in t for p in panels[:2] for t in (x.text for x in p.iter(f"{NS}text")))
