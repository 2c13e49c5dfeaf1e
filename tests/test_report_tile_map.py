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
    seed = pd.read_csv(REPO_ROOT / "dbt" / "seeds" / "reference" / "ref_statistical_districts.csv", dtype=str)
    return seed.astype({"centroid_lat": float, "centroid_lon": float})


def test_one_tile_per_district_and_no_overlaps(districts):
    tiles = schematic_tiles(districts)
    assert len(tiles) == 62 == tiles.statistical_district_code.nunique()
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
    broken.loc[broken.statistical_district_code == "010", "centroid_lat"] = None
    with pytest.raises(ValueError, match="ohne Mittelpunkt.*010"):
        schematic_tiles(broken)
