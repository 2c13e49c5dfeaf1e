"""Small multiples drawn directly as SVG: one small line chart per indicator (`kurz`), the same
series in each (`reihe`: the area, its city district, the city), every panel on its own y scale.

The shape is fixed (five panels a row, 130 x 55 pixels each), so no layout engine is needed: Vega
took about 0.15 s for each of these charts (Vega-Lite facet, text measured glyph by glyph) and they
are the most frequent chart of the report (one per profile). Ticks follow d3's rule (steps of 1, 2
or 5 times a power of ten), numbers are German (decimal comma, thousands point, minus sign "−").
A suppressed value is a gap in its line, a value without neighbours a dot.
"""

from __future__ import annotations

import math
from html import escape

import pandas as pd

from dagster_project.html_report import german_number

FONT = "DejaVu Sans, Verdana, sans-serif"   # of every chart and map of the report
COLUMNS = 5
PLOT_WIDTH, PLOT_HEIGHT = 130, 55
AXIS_WIDTH, TITLE_HEIGHT, YEARS_HEIGHT = 52, 32, 17
GAP_X, GAP_Y, LEGEND_HEIGHT = 14, 10, 24
GRID, AXIS_TEXT, TITLE_TEXT = "#e6e6e6", "#555555", "#222222"
TITLE_CHAR_WIDTH = 7.0   # bold 11 px DejaVu Sans, on average
TEXT = 11                # every text at least 11 px
DASHES = ("", "6 3", "1.5 2.5")   # solid, dashed, dotted: series told apart without colour


def nice_ticks(low: float, high: float, count: int = 3, min_step: float | None = None) -> tuple[list[float], int]:
    """Ticks covering [low, high] at a round step (d3's choice of 1, 2 or 5 x 10^k, at least
    `min_step`) and the decimals the step needs."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0], 0
    if high == low:
        pad = abs(low) * 0.05 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    error = raw / power
    step = power * (10 if error >= math.sqrt(50) else 5 if error >= math.sqrt(10) else 2 if error >= math.sqrt(2) else 1)
    step = max(step, min_step or 0.0)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return [round(i * step, decimals + 2) for i in range(first, last + 1)], decimals


def svg_start(width: float, height: float, description: str, css_class: str) -> str:
    """The opening of a chart drawn as SVG: one image with its German description, white behind."""
    return (f'<svg role="img" aria-label="{escape(description)}" xmlns="http://www.w3.org/2000/svg" version="1.1" '
            f'class="{css_class}" width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'font-family="{FONT}"><rect width="100%" height="100%" fill="white"/>')


def small_multiples_svg(frame: pd.DataFrame, description: str, colours: list[str],
                        columns: int = COLUMNS, shared_scale: bool = False) -> str:
    """`frame`: kurz (panel), reihe (series), jahr (x), wert (y; NaN: suppressed or none), optional
    is_suppressed. Panels and series in the order they first appear; `colours` by series. With
    `shared_scale` every panel has the same y axis (comparable by eye), else each its own."""
    panels = list(dict.fromkeys(frame["kurz"]))
    series = list(dict.fromkeys(frame["reihe"]))
    colour_of = {name: colours[i % len(colours)] for i, name in enumerate(series)}
    # each series its own line pattern too: told apart on a black-and-white print
    dash_of = {name: DASHES[i % len(DASHES)] for i, name in enumerate(series)}
    years = frame["jahr"].dropna()
    x_low, x_high = (int(years.min()), int(years.max())) if len(years) else (0, 1)
    x_span = x_high - x_low     # 0: one year, drawn in the middle
    columns = max(1, min(columns, len(panels)))
    cell_width = AXIS_WIDTH + PLOT_WIDTH + GAP_X
    cell_height = TITLE_HEIGHT + PLOT_HEIGHT + YEARS_HEIGHT + GAP_Y
    rows = math.ceil(len(panels) / columns) if panels else 1
    width, height = columns * cell_width, LEGEND_HEIGHT + rows * cell_height
    out = [svg_start(width, height, description, "kleine-vielfache")]
    out.append(_legend(series, colour_of, dash_of))
    # plain lists per panel and series, read once: pandas per panel cost 5 ms (1,761 panels a report)
    suppressed = frame["is_suppressed"].astype(bool) if "is_suppressed" in frame else pd.Series(False, index=frame.index)
    grouped: dict[str, dict[str, list[tuple[float, float, bool]]]] = {panel: {} for panel in panels}
    for panel, name, year, value, hidden in zip(frame["kurz"], frame["reihe"], frame["jahr"],
                                                 frame["wert"].astype(float), suppressed):
        grouped[panel].setdefault(name, []).append((year, value, bool(hidden)))
    shown = frame["wert"].astype(float).dropna()
    scale = nice_ticks(float(shown.min()), float(shown.max())) if shared_scale and len(shown) else None
    for index, panel in enumerate(panels):
        left = (index % columns) * cell_width + AXIS_WIDTH
        top = LEGEND_HEIGHT + (index // columns) * cell_height + TITLE_HEIGHT
        out.append(_panel(panel, grouped[panel], series, colour_of, dash_of, left, top, x_low, x_span, scale))
    out.append("</svg>")
    return "".join(out)


def _legend(series: list[str], colour_of: dict[str, str], dash_of: dict[str, str]) -> str:
    parts, x = ['<g class="legende">'], 0.0
    for name in series:
        parts.append(f'<line x1="{x:.1f}" y1="11" x2="{x + 18:.1f}" y2="11" stroke="{colour_of[name]}" stroke-width="2"'
                     f'{_dash(dash_of[name])}/>'
                     f'<text x="{x + 23:.1f}" y="15" font-size="11" fill="{TITLE_TEXT}">{escape(name)}</text>')
        x += 23 + 7 * len(name) + 18
    parts.append("</g>")
    return "".join(parts)


def _panel(title: str, part: dict[str, list[tuple[float, float, bool]]], series: list[str], colour_of: dict[str, str],
           dash_of: dict[str, str], left: float, top: float,
           x_low: int, x_span: int, scale: tuple[list[float], int] | None = None) -> str:
    """`part`: per series its (year, value, suppressed) points (value NaN: none shown)."""
    shown = [value for points in part.values() for _, value, _ in points if not math.isnan(value)]
    if scale is not None:
        ticks, decimals = scale
    else:
        ticks, decimals = nice_ticks(min(shown), max(shown)) if shown else ([0.0], 0)
    y_low, y_high = ticks[0], ticks[-1]
    y_span = (y_high - y_low) or 1.0

    def x_of(year: float) -> float:
        return left + ((year - x_low) / x_span if x_span else 0.5) * PLOT_WIDTH

    def y_of(value: float) -> float:
        return top + PLOT_HEIGHT - (value - y_low) / y_span * PLOT_HEIGHT

    out = [f'<g class="feld"><title>{escape(title)}</title>']
    lines = _wrapped(title)
    for number, line in enumerate(lines):
        y = top - 6 - 13 * (len(lines) - 1 - number)
        out.append(f'<text x="{left - AXIS_WIDTH + 4:.1f}" y="{y:.1f}" font-size="{TEXT}" font-weight="bold" '
                   f'fill="{TITLE_TEXT}">{escape(line)}</text>')
    for tick in ticks:
        y = y_of(tick)
        out.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + PLOT_WIDTH:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
                   f'<text x="{left - 4:.1f}" y="{y + 4:.1f}" font-size="{TEXT}" text-anchor="end" '
                   f'fill="{AXIS_TEXT}">{german_number(tick, decimals)}</text>')
    bottom = top + PLOT_HEIGHT
    out.append(f'<line x1="{left:.1f}" y1="{bottom:.1f}" x2="{left + PLOT_WIDTH:.1f}" y2="{bottom:.1f}" stroke="#888888"/>')
    # one year only (a change to the year before has no value in the first year): one label, mid-axis
    labels = ((x_low, "start"), (x_low + x_span, "end")) if x_span else ((x_low, "middle"),)
    for year, anchor in labels:
        out.append(f'<text x="{x_of(year):.1f}" y="{bottom + 13:.1f}" font-size="{TEXT}" text-anchor="{anchor}" '
                   f'fill="{AXIS_TEXT}">{year}</text>')
    notes = 0
    for name in series:
        line = sorted(part.get(name, []), key=lambda point: point[0])
        out.append(_line(line, colour_of[name], dash_of[name], f"{title} – {name}", x_of, y_of))
        if line and all(math.isnan(value) for _, value, _ in line) and any(hidden for _, _, hidden in line):
            # a series with every value suppressed says so instead of vanishing
            out.append(f'<text x="{left + 3:.1f}" y="{top + 12 + 13 * notes:.1f}" font-size="{TEXT}" '
                       f'fill="{colour_of[name]}">{escape(name)}: • gesperrt</text>')
            notes += 1
    out.append("</g>")
    return "".join(out)


def _wrapped(title: str, lines: int = 2) -> list[str]:
    """The panel title in at most two lines of the panel's width (words kept whole); only what is
    longer still is cut, with "…" (the whole title is the panel's tooltip)."""
    room = int((AXIS_WIDTH + PLOT_WIDTH - 4) / TITLE_CHAR_WIDTH)
    out, current = [], ""
    for word in title.split():
        if current and len(current) + 1 + len(word) > room:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    out.append(current)
    if len(out) > lines or any(len(line) > room for line in out):
        kept = out[:lines]
        kept = [line if len(line) <= room else line[:room - 1] + "…" for line in kept]
        if len(out) > lines and not kept[-1].endswith("…"):
            kept[-1] = kept[-1][:room - 1].rstrip() + "…"
        return kept
    return out


def _dash(pattern: str) -> str:
    return f' stroke-dasharray="{pattern}"' if pattern else ""


def _line(line: list[tuple[float, float, bool]], colour: str, dash: str, label: str, x_of, y_of) -> str:
    """The series (year, value, suppressed; sorted by year) as path segments between gaps; a value
    without neighbours as a dot."""
    segments, current = [], []
    for year, value, _ in line:
        if math.isnan(value):
            if current:
                segments.append(current)
            current = []
        else:
            current.append((x_of(year), y_of(value)))
    if current:
        segments.append(current)
    parts = []
    for points in segments:
        if len(points) == 1:
            x, y = points[0]
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{colour}"><title>{escape(label)}</title></circle>')
        else:
            d = "M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.6"{_dash(dash)}>'
                         f'<title>{escape(label)}</title></path>')
    return "".join(parts)
