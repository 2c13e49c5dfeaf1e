"""The second city, end to end (docs/operations.md, "Eine neue Stadt einrichten"): the LOR example
city (cities/lor_beispiel: four levels below the city, 179 Planungsräume with eight-digit codes,
the population register delivered under its own column names) runs through the main job at a small
scale, and what comes out is checked as an outsider would: the release file is opened on its own
with DuckDB, the report's pages are read as files, nothing asks the city profile module.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import WAREHOUSE_VARIABLES

REPO = Path(__file__).resolve().parent.parent
CITY = "lor_beispiel"
# the profile's own words, read here from its files (not through the product's profile module)
LEVELS = {"borough": ("bezirk", 4), "forecast_area": ("prognoseraum", 19),
          "district_region": ("bezirksregion", 45), "planning_area": ("planungsraum", 179)}


@pytest.fixture(scope="module")
def second_city(tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("lor_beispiel")
    env = {**os.environ, "DFT_CITY": CITY, "DFT_WAREHOUSE_DIR": str(warehouse),
           "DAGSTER_HOME": str(warehouse / "dagster_home"), "DFT_DEMO_MODE": "1",
           # the HTML report is the proof of the pages; the PDFs of 248 profiles would take minutes
           "DFT_REPORT_PDF": "0"}
    for name in WAREHOUSE_VARIABLES:
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "dagster_project.main", "--scale", "0.1", "--years", "2023-2024"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return warehouse, done.stdout + done.stderr


def _release(warehouse: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(warehouse / "release" / "current" / "warehouse.duckdb"), read_only=True)


def test_every_level_is_released_with_its_areas(second_city):
    warehouse, _ = second_city
    con = _release(warehouse)
    counts = dict(con.execute("SELECT area_level, count(*) FROM marts.dim_area GROUP BY 1").fetchall())
    assert counts == {**{level: n for level, (_, n) in LEVELS.items()}, "city": 1}
    labels = dict(con.execute("SELECT area_level, area_level_label_de FROM marts.dim_area_level").fetchall())
    assert labels["planning_area"] == "Planungsraum" and labels["borough"] == "Bezirk"
    # every level carries indicator values, counted from the persons (not summed)
    levels = {r[0] for r in con.execute("SELECT DISTINCT area_level FROM marts.fct_indicator_values "
                                        "WHERE indicator_id = 'residents' AND NOT is_suppressed").fetchall()}
    assert levels == {*LEVELS, "city"}
    # the lowest level's code column is named after the level
    columns = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
                                         "AND table_name = 'fct_social_index'").fetchall()}
    assert "planning_area_code" in columns and "statistical_district_code" not in columns


def test_published_residents_add_up_over_every_level(second_city):
    """Where a parent and all its children are published, the children's residents sum to the
    parent's: the hierarchy is the profile's at every level (read from the release alone)."""
    warehouse, _ = second_city
    con = _release(warehouse)
    broken = con.execute("""
        WITH v AS (SELECT area_level, area_code, reference_year, numerator, is_suppressed
                   FROM marts.fct_indicator_values WHERE indicator_id = 'residents'),
        kids AS (SELECT a.parent_area_level, a.parent_area_code, v.reference_year,
                        sum(v.numerator) AS total, bool_or(v.is_suppressed) AS any_hidden
                 FROM marts.dim_area a JOIN v USING (area_level, area_code)
                 WHERE a.parent_area_level IS NOT NULL GROUP BY ALL)
        SELECT count(*) FILTER (WHERE NOT k.any_hidden AND NOT p.is_suppressed AND k.total <> p.numerator),
               count(*) FILTER (WHERE NOT k.any_hidden AND NOT p.is_suppressed)
        FROM kids k JOIN v p ON p.area_level = k.parent_area_level AND p.area_code = k.parent_area_code
                              AND p.reference_year = k.reference_year""").fetchone()
    assert broken[0] == 0 and broken[1] > 0


def test_gate_and_disclosure_audit_pass_with_relations_per_level(second_city):
    warehouse, _ = second_city
    manifest = json.loads((warehouse / "release" / "current" / "manifest.json").read_text(encoding="utf-8"))
    failed = [c for c in manifest["pruefungen"] if not c.get("success") and c.get("severity") == "critical"]
    assert not failed
    attack = manifest["angreiferpruefung"]
    assert attack["rueckrechenbar"] == 0 and attack["geprueft"] > 0
    # the hierarchy relations the audit found in the true counts reach every level's parent
    assert attack["beziehungssuche"]["gefunden"]["hierarchy"] > 0


def test_the_report_has_a_page_per_level_and_profiles_on_every_level(second_city):
    warehouse, _ = second_city
    site = warehouse / "release" / "current" / "bericht"
    with (REPO / "cities" / CITY / "seeds" / "ref_areas.csv").open(encoding="utf-8") as handle:
        areas = list(csv.DictReader(handle))
    for level, (slug, count) in LEVELS.items():
        page = (site / "ebenen" / f"{slug}.html").read_text(encoding="utf-8")
        assert f"Alle {count} Gebiete" in page
        first = next(a for a in areas if a["area_level"] == level)
        profile = (site / "gebiete" / f"{slug}-{first['area_code']}.html").read_text(encoding="utf-8")
        assert first["area_name"] in profile
    # no page of the second city speaks of Dortmund's levels
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "Stadtbezirk" not in text and "tatistische Bezirk" not in text, page


def test_the_renamed_header_was_read_through_the_mapping(second_city):
    warehouse, _ = second_city
    delivery = next((warehouse / "inbox" / "einwohner").glob("einwohner_*.csv"))
    header = delivery.read_bytes().splitlines()[0].decode("utf-8-sig", errors="replace")
    assert "PLR_ID" in header.split(";") and "STAT_BEZIRK" not in header.split(";")
    # a quarantined row names the column as the delivery does (the sample's unknown area codes)
    quarantine = next((warehouse / "quarantine" / "einwohner").glob("*.quarantaene.csv")).read_text(encoding="utf-8-sig")
    columns = {line.split(";")[1] for line in quarantine.splitlines()[1:]}
    assert "PLR_ID" in columns and "STAT_BEZIRK" not in columns
    con = duckdb.connect()
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{warehouse / 'raw' / 'einwohner'}/**/*.parquet')").fetchone()[0]
    assert rows > 100_000


def test_a_second_city_cannot_write_into_the_first_citys_warehouse(second_city):
    warehouse, _ = second_city
    env = {**os.environ, "DFT_CITY": "dortmund", "DFT_WAREHOUSE_DIR": str(warehouse), "DFT_DEMO_MODE": "1",
           "DAGSTER_HOME": str(warehouse / "dagster_home")}
    done = subprocess.run([sys.executable, "-m", "dagster_project.main"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "gehört zum Stadtprofil 'lor_beispiel'" in done.stderr
