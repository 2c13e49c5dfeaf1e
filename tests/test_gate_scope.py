"""A run over some reference years (a new month) checks of a suite whose rows are by delivery
period only its years' rows, but only after that suite's last run passed: a failure in another
year is not cleared by a run that does not look at it."""

from __future__ import annotations

import json

import duckdb

from dagster_project.defs.quality_gate.checks import years_of_run
from dagster_project.defs.partitions import RANGE_END_TAG, RANGE_START_TAG, REBUILD_TAG, partition_keys
from dagster_project.quality.gate import run_suite, store_results
from dagster_project.quality.suites import ExpectationSpec, Suite, load_suites

NONE_OVER = ExpectationSpec("expect_column_values_to_be_between", {"column": "bad", "min_value": 0, "max_value": 0},
                            "critical", "Keine fehlerhaften Zeilen.")
SUITE = Suite(name="probe", title_de="Probe", asset="raw/probe", expectations=(NONE_OVER,),
              query="select period, count(*) filter (where bad) as bad from deliveries group by period order by period",
              scope_column="period")


def _warehouse(bad_2023: bool) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE deliveries (period VARCHAR, bad BOOLEAN)")
    con.execute("INSERT INTO deliveries VALUES ('2023-12', ?), ('2024-01', false), ('2024-02', false)", [bad_2023])
    con.execute("CREATE SCHEMA audit")
    con.execute("CREATE TABLE audit.load_log (period VARCHAR, status VARCHAR)")
    con.execute("INSERT INTO audit.load_log SELECT period, 'geladen' FROM deliveries")
    return con


def _check(con, years):
    result = run_suite(con, SUITE, "run", years)
    store_results(con, result)
    return result


def test_a_run_over_its_years_checks_them_only_after_a_pass():
    con = _warehouse(bad_2023=True)
    # no history: every row is checked, and the 2023 defect fails the run over 2024
    assert not _check(con, (2024, 2024)).passed
    # the last run failed: again every row, still failing
    assert not _check(con, (2024, 2024)).passed
    con.execute("UPDATE deliveries SET bad = false")
    assert _check(con, (2024, 2024)).passed                      # a full check clears it
    con.execute("UPDATE deliveries SET bad = true WHERE period = '2023-12'")
    scoped = _check(con, (2024, 2024))                            # now only 2024 is looked at
    assert scoped.passed and scoped.rows_checked == 2
    observed = json.loads(scoped.results[0].observed)
    assert observed["geprueft_berichtsjahre"] == "2024–2024"
    assert not _check(con, None).passed                           # a backfill looks at every year
    con.execute("UPDATE deliveries SET bad = false")
    assert _check(con, (2024, 2024)).passed
    con.execute("UPDATE deliveries SET bad = true WHERE period = '2023-12'")
    # a run over every loaded year (as `make run`) checks every row, scoped or not
    covering = _check(con, (2023, 2024))
    assert not covering.passed and "geprueft_berichtsjahre" not in covering.results[0].observed


def test_only_suites_by_delivery_period_are_scoped_and_their_scoped_rows_are_their_years():
    scoped = {s.name for s in load_suites() if s.scope_column}
    assert scoped == {"rohdaten_schluessel", "haushalte_ein_bezirk"}
    for suite in load_suites():
        if suite.scope_column:
            query = suite.query_for_years(2024, 2024)
            assert "'2024'" in query and "'2025'" in query


def test_which_runs_limit_the_gate_to_their_years():
    keys = partition_keys()
    assert years_of_run({RANGE_START_TAG: "2024", RANGE_END_TAG: "2024"}) == (2024, 2024)
    assert years_of_run({RANGE_START_TAG: "2024", RANGE_END_TAG: "2024", REBUILD_TAG: "ja"}) is None
    assert years_of_run({RANGE_START_TAG: "2024", RANGE_END_TAG: "2024", "dagster/backfill": "x"}) is None
    assert years_of_run({RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}) is None
    assert years_of_run({}) is None
