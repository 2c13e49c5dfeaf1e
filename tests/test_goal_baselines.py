"""Every goal's baseline in a real release is the published value of its baseline year, and the
value the council decided on stays beside it: read from the release file and the goals seed, not
from the model."""

from __future__ import annotations

import csv

import duckdb
import pytest

from dagster_project.settings import REPO_ROOT

SEED = REPO_ROOT / "cities" / "dortmund" / "seeds" / "goals.csv"


def test_every_goal_baseline_is_the_published_value_of_its_year(released_warehouse):
    root, _ = released_warehouse
    decided = {row["goal_id"]: float(row["baseline_value"]) for row in csv.DictReader(SEED.open(encoding="utf-8"))}
    con = duckdb.connect(str(root / "release" / "current" / "warehouse.duckdb"), read_only=True)
    try:
        goals = con.execute("SELECT * FROM marts.fct_goal_achievement").df()
        cells = con.execute("SELECT indicator_id, area_level, area_code, reference_year, indicator_value, is_suppressed "
                            "FROM marts.fct_indicator_values").df()
    finally:
        con.close()
    cell = {(r.indicator_id, r.area_level, r.area_code, int(r.reference_year)): r for r in cells.itertuples()}
    assert set(goals.goal_id) == set(decided)
    for goal in goals.itertuples():
        assert goal.baseline_value_decided == pytest.approx(decided[goal.goal_id]), goal.goal_id
        published = cell.get((goal.indicator_id, goal.area_level, goal.area_code, int(goal.baseline_year)))
        if published is None:                      # the release has no such year: the decided baseline
            assert goal.baseline_value == pytest.approx(decided[goal.goal_id]), goal.goal_id
        elif published.is_suppressed:              # never the hidden value, nor what it could be worked from
            assert goal.baseline_value != goal.baseline_value and goal.progress_pct != goal.progress_pct
        else:
            assert goal.baseline_value == pytest.approx(float(published.indicator_value), abs=1e-9), goal.goal_id
