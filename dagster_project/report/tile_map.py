"""The schematic tile map: one square tile per statistical district, for when the city supplies no
district boundaries. Every map drawn from it says "schematische Darstellung".

Placement: the district centroids (latitude/longitude from the districts seed, projected to a local
plane) are scaled onto a grid with some spare cells, and each district gets the grid cell that
keeps the total squared displacement smallest (a linear assignment, solved exactly by SciPy). So no
two tiles overlap, and districts keep their place relative to each other as far as a grid allows.
`neighbour_preservation` measures how far: the share of each district's k nearest districts (by
centroid) that are also among its k nearest tiles.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

SPARE_CELLS = 1.6      # grid cells per district: room to keep shapes, few gaps


def _projected(districts: pd.DataFrame) -> np.ndarray:
    """Centroids in a local plane (x east, y north; degrees of latitude as unit)."""
    lat = districts.centroid_lat.to_numpy(dtype=float)
    lon = districts.centroid_lon.to_numpy(dtype=float)
    return np.column_stack([lon * math.cos(math.radians(lat.mean())), lat])


def schematic_tiles(districts: pd.DataFrame, spare: float = SPARE_CELLS) -> pd.DataFrame:
    """`districts`: area_code, group_code, centroid_lat, centroid_lon.
    Returns the districts with the grid `row` (0 = north) and `col` (0 = west) of their tile."""
    if districts.empty:
        raise ValueError("Keine Gebiete für die schematische Karte.")
    if districts[["centroid_lat", "centroid_lon"]].isna().any().any():
        missing = districts.loc[districts.centroid_lat.isna() | districts.centroid_lon.isna(),
                                "area_code"]
        raise ValueError("Schematische Karte: Gebiete ohne Mittelpunkt (centroid_lat/lon): " + ", ".join(missing))
    points = _projected(districts)
    low, high = points.min(axis=0), points.max(axis=0)
    width, height = np.maximum(high - low, 1e-9)
    cells = spare * len(points)
    cols = max(1, round(math.sqrt(cells * width / height)))
    rows = max(1, math.ceil(cells / cols))
    # centroids onto the grid: x to 0 .. cols-1, y to rows-1 .. 0 (north up)
    x = (points[:, 0] - low[0]) / width * (cols - 1)
    y = (high[1] - points[:, 1]) / height * (rows - 1)
    grid_row, grid_col = np.divmod(np.arange(rows * cols), cols)
    cost = (x[:, None] - grid_col[None, :]) ** 2 + (y[:, None] - grid_row[None, :]) ** 2
    _, cell = linear_sum_assignment(cost)
    return districts.assign(row=grid_row[cell], col=grid_col[cell]).reset_index(drop=True)


def neighbour_preservation(tiles: pd.DataFrame, k: int = 4) -> float:
    """Mean share of each district's k nearest districts by centroid that are also among its k
    nearest tiles (1.0: every neighbourhood kept)."""
    if len(tiles) <= k:
        return 1.0
    by_centroid = cKDTree(_projected(tiles)).query(_projected(tiles), k + 1)[1][:, 1:]
    grid = tiles[["col", "row"]].to_numpy(dtype=float)
    # nearest tiles: ties broken by a tiny pull towards the true centroid order, so equal grid
    # distances do not count against the placement arbitrarily
    distance = np.linalg.norm(grid[:, None, :] - grid[None, :, :], axis=2)
    true = np.linalg.norm(_projected(tiles)[:, None, :] - _projected(tiles)[None, :, :], axis=2)
    distance = distance + 1e-6 * true / max(true.max(), 1e-12)
    np.fill_diagonal(distance, np.inf)
    by_tile = np.argsort(distance, axis=1)[:, :k]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(by_centroid, by_tile)]))
