"""The Dagster definitions, one folder per part of the flow (ingest, dbt_models, quality_gate,
release, report) plus automation (jobs, schedules, sensors); each module ends in a `defs` that
dagster_project/definitions.py merges. The machinery they call lives beside this folder
(dagster_project/ingest, quality, release, report, contracts)."""
