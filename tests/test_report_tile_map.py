"""The schematic tile map of the planners' report (groundwork): one tile per statistical district
of the seed, no two tiles on one cell, neighbourhoods kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dagster_project.report.tile_map import neighbour_preservation, schematic_tiles
from dagster_project.settings import REPO_ROOT


@pytest.fixture(scope="module")
def districts():
    """Dortmund's 62 statistical districts from its profile's area list: code, name, the code of their
    city district (the tile map's outline groups) and centroid."""
    seed = pd.read_csv(REPO_ROOT / "cities" / "dortmund" / "seeds" / "ref_areas.csv", dtype=str)
    lowest = seed[seed.area_level == "statistical_district"].rename(columns={"parent_area_code": "group_code"})
    return lowest[["area_code", "area_name", "group_code", "centroid_lat", "centroid_lon"]].astype(
        {"centroid_lat": float, "centroid_lon": float}).reset_index(drop=True)


def test_one_tile_per_district_and_no_overlaps(districts):
    tiles = schematic_tiles(districts)
    assert len(tiles) == 62 == tiles.area_code.nunique()
    assert not tiles.duplicated(["row", "col"]).any()
    assert (tiles.row >= 0).all() and (tiles.col >= 0).all()


def test_neighbours_stay_neighbours(districts):
    tiles = schematic_tiles(districts)
    # measured: 0.85 of each district's 4 nearest districts are among its 4 nearest tiles
    assert neighbour_preservation(tiles, k=4) >= 0.8
    # and north stays north, east stays east: tile order follows centroid order closely
    north = np.corrcoef(-tiles.row, tiles.centroid_lat)[0, 1]
    east = np.corrcoef(tiles.col, tiles.centroid_lon)[0, 1]
    assert north > 0.95 and east > 0.95


def test_a_placement_that_scrambles_the_districts_scores_low(districts):
    tiles = schematic_tiles(districts)
    shuffled = tiles.assign(row=tiles.row.sample(frac=1, random_state=1).to_numpy(),
                            col=tiles.col.sample(frac=1, random_state=1).to_numpy())
    assert neighbour_preservation(shuffled, k=4) < 0.3


def test_a_district_without_centroid_is_named(districts):
    broken = districts.copy()
    broken.loc[broken.area_code == "010", "centroid_lat"] = None
    with pytest.raises(ValueError, match="ohne Mittelpunkt.*010"):
        schematic_tiles(broken)


def test_the_locator_map_is_drawn_directly_with_one_named_square_per_district(districts):
    """Profiles' locator maps are written as SVG without Vega: read as a browser would (XML), one
    square per district, the chosen ones dark, every square titled with code and name in German."""
    import xml.etree.ElementTree as ET

    from dagster_project.report.maps import DistrictMap

    frame = districts
    chosen = set(frame.area_code[frame.group_code == frame.group_code.iloc[0]])
    svg = ET.fromstring(DistrictMap(frame).locator_svg(chosen, "Lage von X in der Stadt"))
    ns = "{http://www.w3.org/2000/svg}"
    assert svg.get("role") == "img" and svg.get("aria-label") == "Lage von X in der Stadt"
    squares = [r for r in svg.iter(f"{ns}rect") if r.find(f"{ns}title") is not None]
    assert len(squares) == 62
    titles = {r.find(f"{ns}title").text: r.get("fill") for r in squares}
    names = dict(zip(frame.area_code, frame.area_name))
    for code, name in names.items():
        key = f"{code} {name}" + (" (gewähltes Gebiet)" if code in chosen else "")
        assert key in titles, key
        assert titles[key] == ("#3b528b" if code in chosen else "#e0e0e0")
    assert len(list(svg.iter(f"{ns}line"))) > 20     # the city districts' outlines
    assert DistrictMap(frame, features=[]).locator_svg(chosen, "x") is None   # boundaries: drawn by Vega


def _fill_luminance(colour: str) -> float:
    # WCAG relative luminance, written out here rather than taken from the product
    c = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]


def test_a_class_map_names_links_and_labels_every_district_readably(districts):
    import xml.etree.ElementTree as ET

    from dagster_project.report.maps import DistrictMap, classify

    frame = districts
    codes = list(frame.area_code)
    values = pd.DataFrame({"area_code": codes, "wert": [float(i) for i in range(len(codes))],
                           "is_suppressed": [i % 10 == 3 for i in range(len(codes))]})
    values.loc[values.is_suppressed, "wert"] = float("nan")
    classes = classify(values, 0)
    texts = {c: ("• gesperrt" if s else f"{w:.0f} %") for c, w, s in zip(codes, values.wert, values.is_suppressed)}
    svg = ET.fromstring(DistrictMap(frame).class_map_svg(classes, "Quote 2023", "in %", "Karte", texts,
                                                        lambda code: f"../gebiete/bezirk-{code}.html", "niedrig: günstig"))
    ns = "{http://www.w3.org/2000/svg}"
    links = list(svg.iter(f"{ns}a"))
    assert sorted(a.get("href") for a in links) == sorted(f"../gebiete/bezirk-{c}.html" for c in codes)
    names = dict(zip(frame.area_code, frame.area_name))
    hatched = 0
    for link in links:
        code = link.get("href")[-8:-5]
        title = link.find(f"{ns}title").text
        assert title.startswith(f"{code} {names[code]}: {texts[code]}"), title
        fill, label = link.find(f"{ns}rect").get("fill"), link.find(f"{ns}text")
        assert label.text == code and float(label.get("font-size")) >= 11
        if fill.startswith("url("):
            hatched += 1
            assert "gesperrt" in title
            continue
        assert fill not in {"#bdbdbd"}                       # suppressed is not a grey like a class
        light, dark = sorted((_fill_luminance(fill), _fill_luminance(label.get("fill"))), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 4.5, (code, fill, label.get("fill"))
    assert hatched == int(values.is_suppressed.sum())
    legend = [t.text for t in svg.iter(f"{ns}text")]
    assert "niedrig: günstig" in legend and "• gesperrt" in legend
