"""The release gate as Dagster asset checks: one blocking check per suite in expectations/.

A run over some reference years (a new month) checks of a suite whose rows are by delivery period
only the rows of its years, when that suite's last run passed (quality/gate.py, scope_of_run);
a backfill, a run over every year and the run after a failure check all rows.

A failed expectation of severity `critical` fails its check with severity ERROR, which blocks
every downstream asset (the release among them); failed warnings are reported (severity WARN)
and do not block. Each check stores its results in audit.dq_results and rewrites the run's
offline Data Docs ("unvollständig" until every check has run; the final page is written when the
run ends, dagster_project/quality/run_report.py).
"""

from dagster import (AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, AssetChecksDefinition,
                     AssetKey, Definitions, MetadataValue, asset_check)

from dagster_project.disk_space import reporting_full_disk
from dagster_project.quality.data_docs import RunState, write_data_docs
from dagster_project.quality.gate import run_suite, store_results
from dagster_project.quality.suites import Suite, load_suites
from dagster_project.defs.partitions import RANGE_END_TAG, RANGE_START_TAG, partition_keys, run_rebuilds_its_years
from dagster_project.defs.resources import WAREHOUSE_WRITER_POOL, WarehouseResource


def years_of_run(tags: dict[str, str]) -> tuple[int, int] | None:
    """The reference years a run's gate may limit itself to (quality/gate.py, scope_of_run): the
    run's range, unless it is a backfill or covers every reference year (then all are checked)."""
    if run_rebuilds_its_years(tags) or RANGE_START_TAG not in tags or RANGE_END_TAG not in tags:
        return None
    first, last = int(tags[RANGE_START_TAG]), int(tags[RANGE_END_TAG])
    keys = partition_keys()
    if first <= int(keys[0]) and last >= int(keys[-1]):
        return None
    return first, last


def _check_for(suite: Suite) -> AssetChecksDefinition:
    @asset_check(
        asset=AssetKey(suite.asset.split("/")),
        name=suite.check_name,
        blocking=True,
        pool=WAREHOUSE_WRITER_POOL,
        description=f"{suite.title_de} (Great Expectations, {suite.source_file})",
    )
    def gx_check(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
        with reporting_full_disk(f"Prüfung {suite.check_name}", warehouse.reports), warehouse.connect() as con:
            result = run_suite(con, suite, context.run.run_id, years_of_run(context.run.tags))
            store_results(con, result)
            state = RunState.from_instance(context.instance, context.run.run_id)
            docs = write_data_docs(con, state, warehouse.reports / "data_docs")
        failed = result.failed_critical + result.failed_warning
        for item in failed:
            log = context.log.error if item.severity == "critical" else context.log.warning
            log(f"{suite.asset}: {item.beschreibung} – nicht erfüllt ({item.observed})")
        return AssetCheckResult(
            passed=not failed,
            severity=AssetCheckSeverity.ERROR if result.failed_critical else AssetCheckSeverity.WARN,
            description=("Fehler: " + "; ".join(i.beschreibung for i in result.failed_critical)) if result.failed_critical
            else ("Warnung: " + "; ".join(i.beschreibung for i in result.failed_warning)) if failed
            else "Alle Erwartungen erfüllt.",
            metadata={
                "erwartungen": len(result.results),
                "fehler": len(result.failed_critical),
                "warnungen": len(result.failed_warning),
                "zeilen_geprueft": result.rows_checked,
                "data_docs": MetadataValue.path(str(docs)),
            },
        )

    return gx_check


quality_checks = [_check_for(suite) for suite in load_suites()]

defs = Definitions(asset_checks=quality_checks)
