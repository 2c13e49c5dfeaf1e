"""Builds cities/lor_beispiel/seeds/ref_areas.csv from Berlin's published LOR 2021 (see SOURCES.md):
the areas of the Bezirke in BOROUGHS_KEPT, with their real codes, names, hierarchy and areas.

    python cities/lor_beispiel/build_areas.py LOR_2021.csv lor_prognoseraeume_2021_wgs84.geojson

Codes, names, hierarchy and areas are Berlin's. Berlin publishes no centroid per Planungsraum in
the file used here: a Planungsraum's centroid is placed around the centroid of its Prognoseraum's
polygon (a sunflower spiral, in code order, within a circle of the Prognoseraum's size), which is
enough for the report's schematic tile map and says nothing about the real location.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

BOROUGHS = {"01": "Mitte", "02": "Friedrichshain-Kreuzberg", "03": "Pankow", "04": "Charlottenburg-Wilmersdorf",
            "05": "Spandau", "06": "Steglitz-Zehlendorf", "07": "Tempelhof-Schöneberg", "08": "Neukölln",
            "09": "Treptow-Köpenick", "10": "Marzahn-Hellersdorf", "11": "Lichtenberg", "12": "Reinickendorf"}


# the example city: four inner Bezirke of Berlin (179 Planungsräume); all twelve would be 542
BOROUGHS_KEPT = ("01", "02", "07", "08")


def ring_centroid(ring: list[list[float]]) -> tuple[float, float, float]:
    """Signed area and centroid (shoelace) of a ring in lon/lat."""
    a = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:]):
        cross = x0 * y1 - x1 * y0
        a += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    a /= 2
    return a, cx / (6 * a), cy / (6 * a)


def polygon_centroid(geometry: dict) -> tuple[float, float]:
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    total = sx = sy = 0.0
    for polygon in polygons:
        a, x, y = ring_centroid(polygon[0])
        total += abs(a)
        sx += abs(a) * x
        sy += abs(a) * y
    return sy / total, sx / total  # lat, lon


def main(lor_csv: Path, forecast_geojson: Path, out: Path) -> None:
    with lor_csv.open(encoding="utf-8-sig", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["Planungsraum (Nummer)"][:2] in BOROUGHS_KEPT]
    forecast = {f["properties"]["PGR_ID"]: (polygon_centroid(f["geometry"]), f["properties"]["GROESSE_M2"])
                for f in json.loads(forecast_geojson.read_text(encoding="utf-8"))["features"]}
    by_forecast = defaultdict(list)
    for row in rows:
        by_forecast[row["Prognoseraum (Nummer)"]].append(row)
    lines = [("borough", code, name, "", "", "", "") for code, name in sorted(BOROUGHS.items()) if code in BOROUGHS_KEPT]
    seen = set()
    for row in sorted(rows, key=lambda r: r["Planungsraum (Nummer)"]):
        pgr, bzr = row["Prognoseraum (Nummer)"], row["Bezirksregion (Nummer)"]
        if pgr not in seen:
            seen.add(pgr)
            lines.append(("forecast_area", pgr, row["Prognoseraum (Name)"].strip(), pgr[:2], "", "", ""))
        if bzr not in seen:
            seen.add(bzr)
            lines.append(("district_region", bzr, " ".join(row["Bezirksregion (Name)"].split()), pgr, "", "", ""))
    golden = math.pi * (3 - math.sqrt(5))
    for pgr, members in sorted(by_forecast.items()):
        (lat, lon), size_m2 = forecast[pgr]
        radius_km = math.sqrt(size_m2 / 1e6 / math.pi) * 0.8
        members.sort(key=lambda r: r["Planungsraum (Nummer)"])
        for i, row in enumerate(members):
            r = radius_km * math.sqrt((i + 0.5) / len(members))
            dlat = r * math.sin(i * golden) / 111.2
            dlon = r * math.cos(i * golden) / (111.2 * math.cos(math.radians(lat)))
            lines.append(("planning_area", row["Planungsraum (Nummer)"], row["Planungsraum (Name)"].strip(),
                          row["Bezirksregion (Nummer)"], f"{lat + dlat:.4f}", f"{lon + dlon:.4f}",
                          f"{float(row['Fläche in qm']) / 1e6:.2f}"))
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["area_level", "area_code", "area_name", "parent_area_code", "centroid_lat", "centroid_lon",
                         "area_km2"])
        order = {"borough": 0, "forecast_area": 1, "district_region": 2, "planning_area": 3}
        writer.writerows(sorted(lines, key=lambda line: (order[line[0]], line[1])))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(__file__).parent / "seeds" / "ref_areas.csv")
