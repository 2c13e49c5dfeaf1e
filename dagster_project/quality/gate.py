"""Running a suite: its query against DuckDB, then Great Expectations on the resulting frame.

GX has no DuckDB dialect (and its SQL engine over duckdb_engine fails), so every suite's query
is run in DuckDB and GX validates the (small) pandas frame it returns. An expectation whose query
or validation raised counts as failed with its severity: a check that did not run is never a pass.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass
from functools import cache

import duckdb

from dagster_project.ingest.load import has_audit_table
from dagster_project.ingest.validation import register_reference_tables
from dagster_project.quality.suites import Suite

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

RESULTS_TABLE = "audit.dq_results"


@dataclass
class ExpectationResult:
    run_id: str
    checked_at: dt.datetime
    suite: str
    asset: str
    expectation_type: str
    kwargs: str
    severity: str
    beschreibung: str
    success: bool
    observed: str

    def as_row(self) -> tuple:
        return tuple(asdict(self).values())


@dataclass
class SuiteResult:
    suite: Suite
    results: list[ExpectationResult]
    rows_checked: int

    @property
    def failed_critical(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success and r.severity == "critical"]

    @property
    def failed_warning(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success and r.severity != "critical"]

    @property
    def passed(self) -> bool:
        return not self.failed_critical


@cache
def _gx_context():
    """One ephemeral GX context per process (creating one costs about half a second)."""
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.enable_analytics(False)  # no usage statistics leave the machine
    context.variables.progress_bars = {"globally": False}
    return context


def _observed(result) -> str:
    detail = dict(result.result or {})
    keep = {k: detail[k] for k in ("observed_value", "element_count", "unexpected_count",
                                   "unexpected_percent", "partial_unexpected_list") if k in detail}
    return json.dumps(keep, default=str, ensure_ascii=False)


def last_run_passed(con: duckdb.DuckDBPyConnection, suite: Suite) -> bool:
    """True when the suite's last run on its asset failed no critical expectation (and there was one)."""
    if not has_audit_table(con, RESULTS_TABLE.split(".")[1]):
        return False
    row = con.execute(f"""
        SELECT count(*) FILTER (WHERE NOT success AND severity = 'critical') = 0
        FROM {RESULTS_TABLE}
        WHERE suite = ? AND asset = ?
          AND checked_at = (SELECT max(checked_at) FROM {RESULTS_TABLE} WHERE suite = ? AND asset = ?)
        HAVING count(*) > 0""", [suite.name, suite.asset, suite.name, suite.asset]).fetchone()
    return bool(row and row[0])


def loaded_years(con: duckdb.DuckDBPyConnection) -> tuple[int, int] | None:
    """The first and last reference year of the deliveries loaded into the warehouse (load log)."""
    row = con.execute("SELECT min(left(period, 4)), max(left(period, 4)) FROM audit.load_log "
                      "WHERE status = 'geladen' AND regexp_matches(period, '^[0-9]{4}')").fetchone()
    return (int(row[0]), int(row[1])) if row and row[0] else None


def scope_of_run(con: duckdb.DuckDBPyConnection, suite: Suite, years: tuple[int, int] | None) -> tuple[int, int] | None:
    """The reference years a suite checks in this run: the run's years when the suite's rows are by
    delivery period, the run does not cover every loaded year and the suite's last run passed;
    None (every row) otherwise: for a backfill, for a run over every year (as `make run`), for a
    suite over several years, and after a failure, which only a full check can clear."""
    if years is None or not suite.scope_column:
        return None
    loaded = loaded_years(con)
    if loaded is None or (years[0] <= loaded[0] and years[1] >= loaded[1]):
        return None
    return years if last_run_passed(con, suite) else None


def run_suite(con: duckdb.DuckDBPyConnection, suite: Suite, run_id: str,
              years: tuple[int, int] | None = None) -> SuiteResult:
    """Run the suite; with `years` (first, last) a suite whose rows are by delivery period checks
    only those years' rows (see scope_of_run) and says so in each result's `observed`."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    checked_at = dt.datetime.now()
    try:
        scope = scope_of_run(con, suite, years)
    except duckdb.Error:  # the history is unreadable: every row is checked
        scope = None

    def result(spec, success: bool, observed: str) -> ExpectationResult:
        if scope is not None:
            observed = json.dumps({"geprueft_berichtsjahre": f"{scope[0]}–{scope[1]}", **json.loads(observed)},
                                  ensure_ascii=False)
        return ExpectationResult(run_id, checked_at, suite.name, suite.asset, spec.type,
                                 json.dumps(spec.kwargs, ensure_ascii=False), spec.severity,
                                 spec.beschreibung, success, observed)

    try:
        register_reference_tables(con)
        frame = con.execute(suite.query if scope is None else suite.query_for_years(*scope)).df()
    except Exception as error:  # the check could not run: it fails, visibly
        message = json.dumps({"fehler": f"Abfrage fehlgeschlagen: {error}"}, ensure_ascii=False)
        return SuiteResult(suite, [result(s, False, message) for s in suite.expectations], 0)
    context = _gx_context()
    batch = (context.data_sources.add_or_update_pandas(suite.name).add_dataframe_asset(suite.name)
             .add_batch_definition_whole_dataframe("candidate"))
    gx_suite = gx.ExpectationSuite(name=suite.name)
    for spec in suite.expectations:
        config = ExpectationConfiguration(type=spec.type, kwargs=spec.kwargs,
                                          meta={"beschreibung": spec.beschreibung}, severity=spec.severity)
        gx_suite.add_expectation(config.to_domain_obj())
    gx_suite = context.suites.add_or_update(gx_suite)
    validation = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite))
    outcome = validation.run(batch_parameters={"dataframe": frame})
    results = []
    for spec, gx_result in zip(suite.expectations, outcome.results):
        if gx_result.exception_info and gx_result.exception_info.get("raised_exception"):
            observed = json.dumps({"fehler": gx_result.exception_info.get("exception_message")}, ensure_ascii=False)
            results.append(result(spec, False, observed))
        else:
            results.append(result(spec, bool(gx_result.success), _observed(gx_result)))
    return SuiteResult(suite, results, len(frame))


def ensure_results_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    con.execute(f"""
        CREATE TABLE IF NOT EXISTS {RESULTS_TABLE} (
            run_id VARCHAR, checked_at TIMESTAMP, suite VARCHAR, asset VARCHAR,
            expectation_type VARCHAR, kwargs VARCHAR, severity VARCHAR, beschreibung VARCHAR,
            success BOOLEAN, observed VARCHAR)
    """)


def store_results(con: duckdb.DuckDBPyConnection, suite_result: SuiteResult) -> None:
    """Append to the data-quality history (every check of every run)."""
    ensure_results_table(con)
    con.executemany(f"INSERT INTO {RESULTS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [r.as_row() for r in suite_result.results])
