"""A release keeps its meaning: every column described (DuckDB comments and Parquet metadata), every
code labelled, dates as dates, counts as integers, values rounded, reference dates and area names."""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq
import pytest

from dagster_project.release.presentation import CODE_COLUMN, label_rule, label_violations


@pytest.fixture(scope="module")
def release(released_warehouse):
    root, _ = released_warehouse
    folder = root / "release" / "current"
    con = duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True,
                         config={"enable_external_access": False, "lock_configuration": True})
    yield root, folder, con
    con.close()


def test_every_released_column_is_described_in_duckdb_and_parquet(release):
    _, folder, con = release
    columns = con.execute("SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() "
                          "WHERE schema_name IN ('marts', 'audit')").fetchall()
    assert len(columns) > 250
    assert [c[:3] for c in columns if not (c[3] or "").strip()] == []
    tables = con.execute("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()
    assert [t for t, comment in tables if not (comment or "").strip()] == []
    comments = {(t, c): text for s, t, c, text in columns if s == "marts"}
    for table, _ in tables:
        schema = pq.read_schema(folder / "parquet" / f"{table}.parquet")
        assert schema.metadata[b"description"], table
        for field in schema:
            assert field.metadata and field.metadata[b"description"].decode() == comments[(table, field.name)], \
                (table, field.name)


def test_every_code_column_joins_its_label_table(release):
    _, _, con = release
    assert label_violations(con) == []
    # and the check itself notices an unknown code
    columns = con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'marts'").fetchall()
    code_columns = [(t, c) for t, c in columns if CODE_COLUMN.search(c)]
    assert len(code_columns) > 30
    assert all(label_rule(t, c) is not None for t, c in code_columns)
    scratch = duckdb.connect()
    scratch.execute("CREATE SCHEMA marts")
    scratch.execute("CREATE TABLE marts.dim_area_level AS SELECT 'city' AS area_level, 'Gesamtstadt' AS area_level_label_de")
    scratch.execute("CREATE TABLE marts.fct_x AS SELECT 'gemeinde' AS area_level")
    assert label_violations(scratch) == ["fct_x.area_level: nicht in dim_area_level: ['gemeinde']"]


def test_dates_stay_dates_counts_are_integers_values_are_rounded(release):
    root, _, con = release
    released = {(t, c): d for t, c, d in con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = 'marts'").fetchall()}
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as candidate:
        dates = candidate.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
                                  "AND data_type = 'DATE'").fetchall()
    assert dates and all(released[key] == "DATE" for key in dates)
    assert not [k for k, d in released.items() if d.startswith("TIMESTAMP")]
    for table, column in [("fct_indicator_values", "numerator"), ("fct_indicator_values", "denominator"),
                          ("fct_immigration_monitoring", "numerator"), ("fct_immigration_retention", "cohort_size"),
                          ("fct_area_profile", "residents"), ("fct_measure_coverage", "target_group_size")]:
        assert released[(table, column)] == "BIGINT", (table, column)
    # stichtag is the 31.12. of the reference year
    assert con.execute("SELECT count(*) FROM marts.fct_indicator_values "
                       "WHERE stichtag <> make_date(reference_year, 12, 31)").fetchone()[0] == 0
    # values carry no more decimals than the catalogue says
    too_precise = con.execute("""
        SELECT count(*) FROM marts.fct_indicator_values v JOIN marts.dim_indicator i USING (indicator_id)
        WHERE v.indicator_value IS NOT NULL AND v.indicator_value <> round(v.indicator_value, i.decimals)""").fetchone()[0]
    assert too_precise == 0
    assert con.execute("SELECT count(*) FROM marts.fct_social_index "
                       "WHERE s2_transfer_rate <> round(s2_transfer_rate, 2)").fetchone()[0] == 0
    # areas are named wherever a mart has an area code
    for table in ("fct_measure_coverage", "fct_goal_achievement", "fct_immigration_monitoring"):
        assert con.execute(f"SELECT count(*) FROM marts.{table} WHERE area_name IS NULL").fetchone()[0] == 0, table
        assert released[(table, "area_level")] == "VARCHAR"


def test_the_wide_profile_flags_each_suppressed_value(release):
    _, _, con = release
    flags = con.execute("""
        SELECT count(*) FILTER (WHERE p.sgb2_rate_is_suppressed <> v.is_suppressed),
               count(*) FILTER (WHERE p.sgb2_rate_is_suppressed),
               count(*) FILTER (WHERE p.sgb2_rate_is_suppressed AND p.sgb2_rate IS NOT NULL)
        FROM marts.fct_area_profile p JOIN marts.fct_indicator_values v
          ON v.indicator_id = 'sgb2_rate' AND v.area_level = p.area_level AND v.area_code = p.area_code
         AND v.reference_year = p.reference_year""").fetchone()
    assert flags[0] == 0 and flags[1] > 0 and flags[2] == 0
