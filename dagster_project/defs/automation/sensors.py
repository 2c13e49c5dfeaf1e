"""Sensors: new or changed files in the inbox start the main job for their reference years; a
finished run (success or failure) gets its final reports, a failed one a German summary of what
failed and what to do (runs started from the UI, by a sensor or a schedule; `make run` writes them
itself). All are running from the start (`default_status=RUNNING`)."""


import hashlib
import json

from dagster import (DagsterRunStatus, DefaultSensorStatus, Definitions, RunFailureSensorContext, RunRequest,
                     RunStatusSensorContext, SensorEvaluationContext, SkipReason, run_failure_sensor,
                     run_status_sensor, sensor)

from dagster_project.defs.automation.jobs import warehouse_job
from dagster_project.defs.partitions import RANGE_END_TAG, RANGE_START_TAG, REBUILD_TAG, run_tags, year_of_file
from dagster_project.defs.resources import WarehouseResource
from dagster_project.inbox import inbox_state
from dagster_project.quality.run_report import finish_run
from dagster_project.run_recovery import recover_dead_runs
from dagster_project.settings import PartitionSettingError, today


def changed_files(state: dict, cursor: str | None) -> list[str]:
    """Names (register/file) that are new or changed since the state saved in the cursor."""
    before = json.loads(cursor) if cursor and cursor.startswith("{") else {}
    return sorted(name for name, stat in state.items() if before.get(name) != list(stat))


SENSOR_TRIGGERS = {"eingang", "wiederholung"}


def repeat_requests(instance, dead_run_ids: list[str]) -> list[RunRequest]:
    """A new run for each dead run this sensor had started, over the same reference years."""
    requests = []
    for run_id in dead_run_ids:
        run = instance.get_run_by_id(run_id)
        if run is None or run.job_name != warehouse_job.name or run.tags.get("ausloeser") not in SENSOR_TRIGGERS:
            continue
        years = {k: v for k, v in run.tags.items() if k in (RANGE_START_TAG, RANGE_END_TAG, REBUILD_TAG)}
        requests.append(RunRequest(run_key=f"nach-abbruch-{run_id}",
                                   tags={**years, "ausloeser": "wiederholung", "wiederholt_lauf": run_id}))
    return requests


@sensor(job=warehouse_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING,
        description="Neue oder geänderte Lieferungen im Eingang starten den Hauptlauf für ihre Berichtsjahre.")
def inbox_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource):
    # a run killed before (kill -9, reboot) would hold the run queue and the writer: marked failed
    # here; one this sensor had started is started again (the inbox has not changed since)
    repeats = repeat_requests(context.instance, recover_dead_runs(context.instance, context.log.warning))
    if repeats:
        return repeats
    state = inbox_state(warehouse.inbox)
    if not state:
        return SkipReason("Eingang ist leer.")
    changed = changed_files(state, context.cursor)
    if not changed:
        return SkipReason("Keine neuen oder geänderten Lieferungen.")
    years = {year_of_file(warehouse.inbox / name) for name in changed}
    # a file without a year in its name is refused by the ingest of any run: the current year's
    years = sorted({y if y is not None else today().year for y in years})
    try:
        tags = run_tags(years)
    except PartitionSettingError as error:
        return SkipReason(str(error))
    cursor = json.dumps({name: list(stat) for name, stat in state.items()}, sort_keys=True)
    context.update_cursor(cursor)
    return RunRequest(run_key=hashlib.sha256(cursor.encode()).hexdigest(),
                      tags={**tags, "ausloeser": "eingang", "dateien": str(len(changed))})


@run_status_sensor(run_status=DagsterRunStatus.SUCCESS, monitored_jobs=[warehouse_job],
                   default_status=DefaultSensorStatus.RUNNING,
                   description="Abgeschlossener Lauf: Data Docs, Laufhistorie und aktueller Prüfbericht")
def report_succeeded_run(context: RunStatusSensorContext):
    finish_run(context.instance, context.dagster_run.run_id)


@run_failure_sensor(monitored_jobs=[warehouse_job], default_status=DefaultSensorStatus.RUNNING,
                    description="Fehlgeschlagener Lauf: Zusammenfassung (welcher Schritt, welche Lieferung, was tun) "
                                "in Laufhistorie und Prüfbericht; Data Docs sagen „nicht bestanden“")
def report_failed_run(context: RunFailureSensorContext):
    finish_run(context.instance, context.dagster_run.run_id)


defs = Definitions(sensors=[inbox_sensor, report_succeeded_run, report_failed_run])
