"""A sensor that notices new or changed files in the inbox and starts the main job."""


import hashlib
import json

from dagster import RunRequest, SensorEvaluationContext, SkipReason, sensor

from dagster_project.inbox import inbox_state
from dagster_project.jobs import warehouse_job
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
