"""The city's own district boundaries, when the city supplies them (docs/bericht.md, "Karten").

Expected: a GeoJSON FeatureCollection (RFC 7946) in WGS 84 longitude/latitude (EPSG:4326), one
feature per area of the lowest level with the property `<lowest level>_code` holding the code as in
`dim_area` (for Dortmund the statistical district's code, three digits, e.g. "010"), geometry Polygon or MultiPolygon. A GeoPackage
or Shapefile is converted once with GDAL:
`ogr2ogr -f GeoJSON -t_srs EPSG:4326 bezirke.geojson bezirke.gpkg`.

A file whose codes do not match the released districts is refused with a message that names the
missing, unknown and repeated codes; so is a file in another coordinate system.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from dagster_project import city_profile

def code_property() -> str:
    """The property holding an area's code: the lowest level's code column of the city profile
    (<lowest level id>_code)."""
    return city_profile.current().lowest.code_column


class BoundaryError(ValueError):
    """The boundary file cannot be used; the message says why, in German."""


def load_boundaries(path: Path, district_codes: list[str]) -> list[dict]:
    """The features of the file, checked against the released districts and wound the way the map
    renderer (d3-geo) expects: outer rings clockwise, holes counter-clockwise."""
    path = Path(path)
    CODE_PROPERTY = code_property()  # noqa: N806 (read once per file)
    if not path.is_file():
        raise BoundaryError(f"Gebietsgrenzen {path}: Datei nicht gefunden (Einstellung DFT_REPORT_BOUNDARIES).")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BoundaryError(f"Gebietsgrenzen {path}: kein gültiges GeoJSON ({error}). GeoPackage oder Shapefile "
                            "bitte mit `ogr2ogr -f GeoJSON -t_srs EPSG:4326` umwandeln.") from error
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise BoundaryError(f"Gebietsgrenzen {path}: erwartet wird eine GeoJSON-FeatureCollection.")
    features = data.get("features") or []
    codes = []
    for number, feature in enumerate(features, start=1):
        properties = feature.get("properties") or {}
        code = properties.get(CODE_PROPERTY)
        geometry = feature.get("geometry") or {}
        if code is None:
            raise BoundaryError(f"Gebietsgrenzen {path}: Objekt {number} ohne Eigenschaft '{CODE_PROPERTY}'.")
        if geometry.get("type") not in ("Polygon", "MultiPolygon"):
            raise BoundaryError(f"Gebietsgrenzen {path}: Gebiet {code} hat keine Fläche (Polygon/MultiPolygon), "
                                f"sondern {geometry.get('type')!r}.")
        codes.append(str(code))
        for ring in _rings(geometry):
            for lon, lat, *_ in ring:
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    raise BoundaryError(
                        f"Gebietsgrenzen {path}: Gebiet {code} hat Koordinaten außerhalb von Länge/Breite "
                        f"({lon}, {lat}); erwartet wird WGS 84 (EPSG:4326). Umwandeln mit "
                        "`ogr2ogr -f GeoJSON -t_srs EPSG:4326`.")
    expected = set(district_codes)
    missing = sorted(expected - set(codes))
    unknown = sorted(set(codes) - expected)
    repeated = sorted(code for code, n in Counter(codes).items() if n > 1)
    if missing or unknown or repeated:
        parts = []
        if missing:
            parts.append(f"es fehlen die Gebiete {', '.join(missing)}")
        if unknown:
            parts.append(f"unbekannt sind die Kodes {', '.join(unknown)}")
        if repeated:
            parts.append(f"mehrfach vorhanden: {', '.join(repeated)}")
        raise BoundaryError(f"Gebietsgrenzen {path} passen nicht zu den Gebieten der untersten Ebene des Release "
                            f"(dim_area): {'; '.join(parts)}. Erwartet wird je Gebiet genau ein Objekt mit der "
                            f"Eigenschaft '{CODE_PROPERTY}'.")
    return [{"type": "Feature", "properties": {"area_code": str(f["properties"][CODE_PROPERTY])},
             "geometry": _wound(f["geometry"])} for f in features]


def _rings(geometry: dict) -> list[list]:
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [ring for polygon in polygons for ring in polygon]


def _signed_area(ring: list) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0, *_), (x1, y1, *_) in zip(ring, ring[1:] + ring[:1])) / 2


def _wound(geometry: dict) -> dict:
    """Outer rings clockwise (negative planar area), holes counter-clockwise: RFC 7946 files use
    the opposite order, which d3-geo would draw as the whole world minus the district."""
    def polygon(rings: list) -> list:
        out = []
        for index, ring in enumerate(rings):
            clockwise = _signed_area(ring) < 0
            out.append(ring if clockwise == (index == 0) else ring[::-1])
        return out

    if geometry["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": polygon(geometry["coordinates"])}
    return {"type": "MultiPolygon", "coordinates": [polygon(p) for p in geometry["coordinates"]]}
