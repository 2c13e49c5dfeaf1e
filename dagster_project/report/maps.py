"""Maps of the statistical districts: choropleth (classes), class maps (social index) and locator maps.

Two geometries: the city's own boundaries (boundaries.py, GeoJSON) or, without them, the schematic
tile map (tile_map.py: one square per district, city districts outlined, every map labelled
"schematische Darstellung"). Class breaks come from mapclassify (Fisher-Jenks natural breaks, at
most five classes); colours are from viridis, which colour-blind readers can tell apart and which
prints in grey scale in order. The legend states every class; `•` marks districts whose value is
suppressed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from html import escape

import altair as alt
import numpy as np
import pandas as pd

from dagster_project.html_report import german_number
from dagster_project.report.tile_map import schematic_tiles

with warnings.catch_warnings():   # mapclassify warns that the optional numba is missing (not needed for 62 values)
    warnings.simplefilter("ignore")
    import mapclassify

VIRIDIS = {1: ["#21918c"], 2: ["#fde725", "#31688e"], 3: ["#fde725", "#21918c", "#440154"],
           4: ["#fde725", "#35b779", "#31688e", "#440154"],
           5: ["#fde725", "#5ec962", "#21918c", "#3b528b", "#440154"]}
DARK = {"#440154", "#3b528b", "#31688e", "#21918c"}   # fills on which a tile's label is white
SUPPRESSED_CLASS = "• gesperrt"
NO_VALUE_CLASS = "keine Angabe"
NO_VALUE_COLOUR = "#d9d9d9"
SCHEMATIC = "schematische Darstellung: ein Feld je statistischer Bezirk, Lage genähert; Linien: Stadtbezirke"
TILE = 24   # pixels per tile


@dataclass
class Classes:
    """Class of every district (`klasse` by code), the ordered class labels and their colours."""

    by_code: dict[str, str]
    labels: list[str]
    colours: list[str]


def classify(values: pd.DataFrame, decimals: int, k: int = 5) -> Classes:
    """`values`: statistical_district_code, wert (NaN where none), is_suppressed. Fisher-Jenks classes."""
    shown = values[~values.is_suppressed & values.wert.notna()]
    distinct = shown.wert.round(decimals).nunique()
    labels: list[str] = []
    by_code: dict[str, str] = {}
    if distinct:
        k = max(1, min(k, distinct))
        with warnings.catch_warnings():   # "numba not installed": the pure Python version is fast enough here
            warnings.simplefilter("ignore")
            bins = mapclassify.FisherJenks(shown.wert.to_numpy(dtype=float), k=k).bins if k > 1 \
                else np.array([shown.wert.max()])
        lower = None
        for upper in bins:
            labels.append(f"bis {german_number(upper, decimals)}" if lower is None else
                          f"über {german_number(lower, decimals)} bis {german_number(upper, decimals)}")
            lower = upper
        index = np.searchsorted(bins, shown.wert.to_numpy(dtype=float), side="left").clip(0, len(bins) - 1)
        by_code = dict(zip(shown.statistical_district_code, (labels[i] for i in index)))
    colours = list(VIRIDIS[len(labels)]) if labels else []
    return _with_rest(values, by_code, labels, colours)


def categorical(values: pd.DataFrame, order: list[str], colours: list[str]) -> Classes:
    """`values`: statistical_district_code, klasse (None: no class)."""
    known = values[values.klasse.isin(order)]
    labels = [c for c in order if c in set(known.klasse)]
    return _with_rest(values.assign(is_suppressed=False), dict(zip(known.statistical_district_code, known.klasse)),
                      labels, [colours[order.index(c)] for c in labels])


def _with_rest(values: pd.DataFrame, by_code: dict, labels: list, colours: list) -> Classes:
    for code, suppressed in zip(values.statistical_district_code, values.is_suppressed):
        if code not in by_code:
            by_code[code] = SUPPRESSED_CLASS if suppressed else NO_VALUE_CLASS
    for extra, colour in ((SUPPRESSED_CLASS, "#bdbdbd"), (NO_VALUE_CLASS, NO_VALUE_COLOUR)):
        if extra in by_code.values():
            labels, colours = [*labels, extra], [*colours, colour]
    return Classes(by_code, labels, colours)


class DistrictMap:
    """The geometry every map of one report is drawn on."""

    def __init__(self, districts: pd.DataFrame, features: list[dict] | None = None):
        """`districts`: statistical districts of dim_area (area_code, area_name, city_district_code,
        centroid_lat, centroid_lon); `features`: checked boundaries, or None for the tile map."""
        self.features = features
        self.schematic = features is None
        frame = districts.rename(columns={"area_code": "statistical_district_code"})
        self.districts = frame[["statistical_district_code", "area_name", "city_district_code",
                                "centroid_lat", "centroid_lon"]].reset_index(drop=True)
        self.tiles = schematic_tiles(self.districts) if self.schematic else None
        self.outlines = _city_district_outlines(self.tiles) if self.schematic else None

    def note(self) -> str:
        return SCHEMATIC if self.schematic else "Gebietsgrenzen der Stadt (statistische Bezirke)"

    def _data(self, classes: Classes, highlight: set[str] | None) -> pd.DataFrame:
        base = self.tiles if self.schematic else self.districts
        frame = base.assign(klasse=base.statistical_district_code.map(classes.by_code))
        if highlight is not None:
            frame["klasse"] = np.where(frame.statistical_district_code.isin(highlight), "gewähltes Gebiet",
                                       "übrige Bezirke")
        return frame

    def chart(self, classes: Classes, title: str, legend_title: str, highlight: set[str] | None = None,
              scale_factor: float = 1.0) -> alt.TopLevelMixin:
        """A map coloured by `classes`; with `highlight` a locator map (the given districts dark)."""
        frame = self._data(classes, highlight)
        if highlight is not None:
            domain, colours, legend = ["gewähltes Gebiet", "übrige Bezirke"], ["#3b528b", "#e0e0e0"], None
        else:
            domain, colours = classes.labels, classes.colours
            legend = alt.Legend(title=legend_title, orient="right", labelLimit=260, symbolType="square")
        scale = alt.Scale(domain=domain, range=colours)
        colour = alt.Color("klasse:N", scale=scale, legend=legend, sort=domain)
        dark = [label for label, fill in zip(domain, colours) if fill in DARK]
        subtitle = SCHEMATIC if self.schematic else "Gebietsgrenzen der Stadt"
        heading = alt.Title(title, subtitle=subtitle, subtitleFontSize=10, subtitleColor="#555") if title else \
            alt.Title("", subtitle=subtitle if highlight is None else "", subtitleFontSize=9)
        if self.schematic:
            return self._tile_chart(frame, colour, heading, scale_factor, dark)
        klasse = dict(zip(frame.statistical_district_code, frame.klasse))
        features = [f | {"properties": f["properties"] | {"klasse": klasse[f["properties"]["statistical_district_code"]]}}
                    for f in self.features]
        width = int(420 * scale_factor)
        return alt.Chart(alt.Data(values=features)).mark_geoshape(stroke="white", strokeWidth=0.6).encode(
            color=alt.Color("properties.klasse:N", scale=scale, legend=legend, sort=domain),
        ).project(type="mercator").properties(width=width, height=int(width * 0.8), title=heading)

    def locator_svg(self, highlight: set[str], description: str, scale_factor: float = 0.6) -> str | None:
        """The locator map of a profile drawn directly as SVG (tile map only; None with boundaries,
        which need Vega's projection): the same squares and city-district lines as `chart`, without
        Vega's layout pass (75 of them per report). Every square has a German tooltip."""
        if not self.schematic:
            return None
        tile, margin = TILE * scale_factor, 6
        cols, rows = int(self.tiles.col.max()) + 1, int(self.tiles.row.max()) + 1
        width, height = cols * tile + 2 * margin, rows * tile + 2 * margin
        parts = [f'<svg role="img" aria-label="{escape(description)}" xmlns="http://www.w3.org/2000/svg" '
                 f'version="1.1" class="lagekarte" width="{width:.1f}" height="{height:.1f}" '
                 f'viewBox="0 0 {width:.1f} {height:.1f}"><rect width="100%" height="100%" fill="white"/>'
                 f'<g transform="translate({margin},{margin})">']
        for code, name, row, col in zip(self.tiles.statistical_district_code, self.tiles.area_name,
                                        self.tiles.row, self.tiles.col):
            chosen = code in highlight
            parts.append(f'<rect x="{col * tile:.2f}" y="{row * tile:.2f}" width="{tile:.2f}" height="{tile:.2f}" '
                         f'fill="{"#3b528b" if chosen else "#e0e0e0"}" stroke="white" stroke-width="0.8">'
                         f'<title>{escape(f"{code} {name}" + (" (gewähltes Gebiet)" if chosen else ""))}</title></rect>')
        for x, y, x2, y2 in self.outlines.itertuples(index=False):
            parts.append(f'<line x1="{x * tile:.2f}" y1="{y * tile:.2f}" x2="{x2 * tile:.2f}" y2="{y2 * tile:.2f}" '
                         f'stroke="#222222" stroke-width="{1.6 * scale_factor:.2f}" stroke-linecap="square"/>')
        parts.append("</g></svg>")
        return "".join(parts)

    def _tile_chart(self, frame: pd.DataFrame, colour: alt.Color, heading: alt.Title,
                    scale_factor: float, dark: list[str]) -> alt.LayerChart:
        cols, rows = int(self.tiles.col.max()) + 1, int(self.tiles.row.max()) + 1
        tile = TILE * scale_factor
        x = alt.Scale(domain=[0, cols], nice=False, zero=True)
        y = alt.Scale(domain=[0, rows], nice=False, zero=True, reverse=True)
        rects = frame.assign(x2=frame.col + 1, y2=frame.row + 1)
        tiles = alt.Chart(rects).mark_rect(stroke="white", strokeWidth=0.8).encode(
            x=alt.X("col:Q", scale=x, axis=None), x2="x2:Q",
            y=alt.Y("row:Q", scale=y, axis=None), y2="y2:Q",
            color=colour,
        )
        outlines = alt.Chart(self.outlines).mark_rule(color="#222222", strokeWidth=1.6 * scale_factor).encode(
            x=alt.X("x:Q", scale=x, axis=None), x2="x2:Q", y=alt.Y("y:Q", scale=y, axis=None), y2="y2:Q")
        layers = [tiles, outlines]
        if scale_factor >= 1:
            labels = frame.assign(cx=frame.col + 0.5, cy=frame.row + 0.5)
            layers.append(alt.Chart(labels).mark_text(fontSize=8, color="#111111").encode(
                x=alt.X("cx:Q", scale=x, axis=None), y=alt.Y("cy:Q", scale=y, axis=None),
                text="statistical_district_code:N",
                color=alt.condition(alt.FieldOneOfPredicate("klasse", dark), alt.value("white"),
                                    alt.value("#111111"))))
        return alt.layer(*layers).properties(width=cols * tile, height=rows * tile, title=heading)


def _city_district_outlines(tiles: pd.DataFrame) -> pd.DataFrame:
    """Line segments along every tile side that borders another city district or open space."""
    owner = {(r, c): d for r, c, d in zip(tiles.row, tiles.col, tiles.city_district_code)}
    segments = []
    for (r, c), district in owner.items():
        for dr, dc, (x, y, x2, y2) in ((-1, 0, (c, r, c + 1, r)), (1, 0, (c, r + 1, c + 1, r + 1)),
                                       (0, -1, (c, r, c, r + 1)), (0, 1, (c + 1, r, c + 1, r + 1))):
            if owner.get((r + dr, c + dc)) != district:
                segments.append((x, y, x2, y2))
    return pd.DataFrame(sorted(set(segments)), columns=["x", "y", "x2", "y2"])
