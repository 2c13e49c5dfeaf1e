"""Sensors: new or changed files in the inbox start the main job; a finished run (success or
failure) gets its final reports (runs started from the UI or by the inbox sensor; `make run`
writes them itself)."""


import hashlib
import json

from dagster import (DagsterRunStatus, DefaultSensorStatus, RunFailureSensorContext, RunRequest,
                     RunStatusSensorContext, SensorEvaluationContext, SkipReason, run_failure_sensor,
                     run_status_sensor, sensor)

from dagster_project.inbox import inbox_state
from dagster_project.jobs import warehouse_job
from dagster_project.quality.run_report import finish_run
from dagster_project.resources import WarehouseResource


@sensor(job=warehouse_job, minimum_interval_seconds=60, description="Neue Lieferungen im Eingang")
def inbox_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource):
    state = inbox_state(warehouse.inbox)
    fingerprint = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
    if not state:
        return SkipReason("Eingang ist leer.")
    if fingerprint == context.cursor:
        return SkipReason("Keine neuen oder geänderten Lieferungen.")
    context.update_cursor(fingerprint)
    return RunRequest(run_key=fingerprint, tags={"ausloeser": "eingang", "dateien": str(len(state))})


@run_status_sensor(run_status=DagsterRunStatus.SUCCESS, monitored_jobs=[warehouse_job],
                   default_status=DefaultSensorStatus.RUNNING,
                   description="Abgeschlossener Lauf: Data Docs, Laufhistorie und aktueller Prüfbericht")
def report_succeeded_run(context: RunStatusSensorContext):
    finish_run(context.instance, context.dagster_run.run_id)


@run_failure_sensor(monitored_jobs=[warehouse_job], default_status=DefaultSensorStatus.RUNNING,
                    description="Fehlgeschlagener Lauf: Data Docs und Prüfbericht sagen „nicht bestanden“")
def report_failed_run(context: RunFailureSensorContext):
    finish_run(context.instance, context.dagster_run.run_id)
