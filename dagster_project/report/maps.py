"""Maps of the statistical districts: choropleth (classes), class maps (social index) and locator maps.

Two geometries: the city's own boundaries (boundaries.py, GeoJSON) or, without them, the schematic
tile map (tile_map.py: one square per district, city districts outlined, every map labelled
"schematische Darstellung"). Tile maps are written as SVG directly (every square with its code, a
tooltip with name, value and class, and a link to the district's profile; suppressed districts
hatched); maps on boundaries are drawn by Vega-Lite (projection). Class breaks come from mapclassify (Fisher-Jenks natural breaks, at
most five classes); colours are from viridis, which colour-blind readers can tell apart and which
prints in grey scale in order. The legend states every class; `•` marks districts whose value is
suppressed.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from html import escape

import altair as alt
import numpy as np
import pandas as pd

from dagster_project.html_report import german_number
from dagster_project import city_profile
from dagster_project.report.small_multiples import FONT
from dagster_project.report.tile_map import schematic_tiles

with warnings.catch_warnings():   # mapclassify warns that the optional numba is missing (not needed for 62 values)
    warnings.simplefilter("ignore")
    import mapclassify

VIRIDIS = {1: ["#21918c"], 2: ["#fde725", "#31688e"], 3: ["#fde725", "#21918c", "#440154"],
           4: ["#fde725", "#35b779", "#31688e", "#440154"],
           5: ["#fde725", "#5ec962", "#21918c", "#3b528b", "#440154"]}
SUPPRESSED_CLASS = "• gesperrt"
NO_VALUE_CLASS = "keine Angabe"
NO_VALUE_COLOUR = "#d9d9d9"
def schematic_note() -> str:
    profile = city_profile.current()
    return (f"schematische Darstellung: ein Feld je Gebiet ({profile.lowest.plural_de}), Lage genähert; "
            f"Linien: {profile.top.plural_de}")
TILE = 24   # pixels per tile
CLASS_TILE = 30   # pixels per tile of a class map drawn directly (room for an 11 px code)
LEGEND_WIDTH = 270


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def readable_ink(fill: str) -> str:
    """Near-black or white, whichever contrasts more with `fill`."""
    return max(("#111111", "#ffffff"), key=lambda ink: contrast(ink, fill))


@dataclass
class Classes:
    """Class of every district (`klasse` by code), the ordered class labels and their colours."""

    by_code: dict[str, str]
    labels: list[str]
    colours: list[str]


def classify(values: pd.DataFrame, decimals: int, k: int = 5) -> Classes:
    """`values`: area_code, wert (NaN where none), is_suppressed. Fisher-Jenks classes."""
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
        by_code = dict(zip(shown.area_code, (labels[i] for i in index)))
    colours = list(VIRIDIS[len(labels)]) if labels else []
    return _with_rest(values, by_code, labels, colours)


def categorical(values: pd.DataFrame, order: list[str], colours: list[str]) -> Classes:
    """`values`: area_code, klasse (None: no class)."""
    known = values[values.klasse.isin(order)]
    labels = [c for c in order if c in set(known.klasse)]
    return _with_rest(values.assign(is_suppressed=False), dict(zip(known.area_code, known.klasse)),
                      labels, [colours[order.index(c)] for c in labels])


def _with_rest(values: pd.DataFrame, by_code: dict, labels: list, colours: list) -> Classes:
    for code, suppressed in zip(values.area_code, values.is_suppressed):
        if code not in by_code:
            by_code[code] = SUPPRESSED_CLASS if suppressed else NO_VALUE_CLASS
    for extra, colour in ((SUPPRESSED_CLASS, "#bdbdbd"), (NO_VALUE_CLASS, NO_VALUE_COLOUR)):
        if extra in by_code.values():
            labels, colours = [*labels, extra], [*colours, colour]
    return Classes(by_code, labels, colours)


def tile_labels(codes: list[str]) -> dict[str, str]:
    """What a square of the tile map can hold: codes of up to four characters; longer codes
    (Berlin's eight digits) do not fit and are left to the square's tooltip."""
    if max(map(len, codes)) <= 4:
        return {code: code for code in codes}
    return {code: "" for code in codes}


class DistrictMap:
    """The geometry every map of one report is drawn on."""

    def __init__(self, districts: pd.DataFrame, features: list[dict] | None = None):
        """`districts`: the lowest-level areas of dim_area (area_code, area_name, centroid_lat,
        centroid_lon and the code of their top-level area, `<top level>_code`, or already named
        group_code: the tile map outlines these groups); `features`: checked boundaries, or None
        for the tile map."""
        self.features = features
        self.schematic = features is None
        if "group_code" not in districts.columns:
            districts = districts.rename(columns={city_profile.current().top.code_column: "group_code"})
        frame = districts
        self.districts = frame[["area_code", "area_name", "group_code",
                                "centroid_lat", "centroid_lon"]].reset_index(drop=True)
        self.tiles = schematic_tiles(self.districts) if self.schematic else None
        self.outlines = _group_outlines(self.tiles) if self.schematic else None

    def note(self) -> str:
        return schematic_note() if self.schematic else \
            f"Gebietsgrenzen der Stadt ({city_profile.current().lowest.plural_de})"

    def chart(self, classes: Classes, title: str, legend_title: str, highlight: set[str] | None = None,
              scale_factor: float = 1.0) -> alt.TopLevelMixin:
        """A map on the city's boundaries coloured by `classes` (Vega-Lite, projected); with
        `highlight` a locator map (the given districts dark). The tile map is drawn directly
        (class_map_svg, locator_svg)."""
        if self.schematic:
            raise ValueError("Die Kachelkarte wird direkt gezeichnet (class_map_svg, locator_svg).")
        if highlight is not None:
            klasse = {code: "gewähltes Gebiet" if code in highlight else "übrige Gebiete"
                      for code in self.districts.area_code}
            domain, colours, legend = ["gewähltes Gebiet", "übrige Gebiete"], ["#3b528b", "#e0e0e0"], None
        else:
            klasse = {code: classes.by_code.get(code) for code in self.districts.area_code}
            domain, colours = classes.labels, classes.colours
            legend = alt.Legend(title=legend_title, orient="right", labelLimit=260, symbolType="square")
        scale = alt.Scale(domain=domain, range=colours)
        subtitle = "Gebietsgrenzen der Stadt"
        heading = alt.Title(title, subtitle=subtitle, subtitleFontSize=11, subtitleColor="#555") if title else \
            alt.Title("", subtitle=subtitle if highlight is None else "", subtitleFontSize=11)
        features = [f | {"properties": f["properties"] | {"klasse": klasse[f["properties"]["area_code"]]}}
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
        for code, name, row, col in zip(self.tiles.area_code, self.tiles.area_name,
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

    def class_map_svg(self, classes: Classes, title: str, legend_title: str, description: str,
                      texts: dict[str, str] | None = None, href_of=None, legend_note: str | None = None) -> str | None:
        """A class map on the tile map drawn directly as SVG (None with boundaries: Vega's projection
        draws those). Every square carries its code in a colour readable on its fill (contrast at
        least 4.5:1), a tooltip with code, name, value and class, and a link to the district's
        profile (`href_of(code)`); suppressed districts are hatched, unlike any class colour."""
        if not self.schematic:
            return None
        tile, margin, head = CLASS_TILE, 6, 40
        cols, rows = int(self.tiles.col.max()) + 1, int(self.tiles.row.max()) + 1
        colour_of = dict(zip(classes.labels, classes.colours))
        hatch = "gesperrt-" + hashlib.sha1(description.encode()).hexdigest()[:8]   # one id per map of a page
        colour_of[SUPPRESSED_CLASS] = f"url(#{hatch})"
        legend_left = margin + cols * tile + 18
        legend_rows = len(classes.labels) + (2 if legend_note else 0)
        width = legend_left + LEGEND_WIDTH
        height = max(head + rows * tile, head + 22 + 18 * legend_rows) + margin
        # role group, not img: the squares are links a keyboard reaches
        out = [f'<svg role="group" aria-label="{escape(description)}" xmlns="http://www.w3.org/2000/svg" '
               f'version="1.1" class="klassenkarte" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
               f'font-family="{FONT}"><defs><pattern id="{hatch}" width="6" height="6" patternUnits="userSpaceOnUse" '
               f'patternTransform="rotate(45)"><rect width="6" height="6" fill="white"/>'
               f'<line x1="0" y1="0" x2="0" y2="6" stroke="#767676" stroke-width="2"/></pattern></defs>'
               f'<rect width="100%" height="100%" fill="white"/>',
               f'<text x="{margin}" y="16" font-size="13" font-weight="bold" fill="#222222">{escape(title)}</text>',
               f'<text x="{margin}" y="31" font-size="11" fill="#555555">{escape(schematic_note())}</text>',
               f'<g transform="translate({margin},{head})">']
        texts = texts or {}
        short = tile_labels(list(self.tiles.area_code))
        size = 11 if max(map(len, short.values())) <= 3 else 10
        for code, name, row, col in zip(self.tiles.area_code, self.tiles.area_name,
                                        self.tiles.row, self.tiles.col):
            label = classes.by_code.get(code, NO_VALUE_CLASS)
            fill = colour_of.get(label, NO_VALUE_COLOUR)
            value = texts.get(code)
            tooltip = f"{code} {name}" + (f": {value}" if value else "") + f" ({label})"
            ink = "#111111" if fill.startswith("url") else readable_ink(fill)
            tile_svg = (f'<title>{escape(tooltip)}</title>'
                        f'<rect x="{col * tile}" y="{row * tile}" width="{tile}" height="{tile}" fill="{fill}" '
                        f'stroke="white" stroke-width="1"/>'
                        f'<text x="{col * tile + tile / 2}" y="{row * tile + tile / 2 + 4}" font-size="{size}" '
                        f'text-anchor="middle" fill="{ink}">{escape(short[code])}</text>')
            href = href_of(code) if href_of else None
            out.append(f'<a href="{escape(href)}">{tile_svg}</a>' if href else f"<g>{tile_svg}</g>")
        for x, y, x2, y2 in self.outlines.itertuples(index=False):
            out.append(f'<line x1="{x * tile}" y1="{y * tile}" x2="{x2 * tile}" y2="{y2 * tile}" stroke="#222222" '
                       f'stroke-width="2" stroke-linecap="square"/>')
        out.append("</g>")
        out.append(f'<g transform="translate({legend_left},{head})"><text x="0" y="10" font-size="11" '
                   f'font-weight="bold" fill="#222222">{escape(legend_title)}</text>')
        for i, label in enumerate(classes.labels):
            y = 20 + 18 * i
            out.append(f'<rect x="0" y="{y}" width="14" height="14" fill="{colour_of[label]}" stroke="#767676" '
                       f'stroke-width="0.5"/><text x="20" y="{y + 11}" font-size="11" fill="#222222">{escape(label)}</text>')
        if legend_note:
            out.append(f'<text x="0" y="{20 + 18 * len(classes.labels) + 14}" font-size="11" fill="#222222">'
                       f'{escape(legend_note)}</text>')
        out.append("</g></svg>")
        return "".join(out)


def _group_outlines(tiles: pd.DataFrame) -> pd.DataFrame:
    """Line segments along every tile side that borders another city district or open space."""
    owner = {(r, c): d for r, c, d in zip(tiles.row, tiles.col, tiles.group_code)}
    segments = []
    for (r, c), district in owner.items():
        for dr, dc, (x, y, x2, y2) in ((-1, 0, (c, r, c + 1, r)), (1, 0, (c, r + 1, c + 1, r + 1)),
                                       (0, -1, (c, r, c, r + 1)), (0, 1, (c + 1, r, c + 1, r + 1))):
            if owner.get((r + dr, c + dc)) != district:
                segments.append((x, y, x2, y2))
    return pd.DataFrame(sorted(set(segments)), columns=["x", "y", "x2", "y2"])
