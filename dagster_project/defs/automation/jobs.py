"""Jobs: the main job runs everything for a range of reference years, in one process (DuckDB has
one writer); the freshness job only checks whether deliveries are overdue (it reads file names,
not the database)."""

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor

from dagster_project.defs.ingest.freshness import freshness_checks
from dagster_project.instance import HOST, HOST_TAG, WAREHOUSE_RUN_TAG   # the queue starts one such run at a time


warehouse_job = define_asset_job(
    "warehouse_job",
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    tags={WAREHOUSE_RUN_TAG: "ja", HOST_TAG: HOST},
    description="Eingang laden, Marts bauen, prüfen, freigeben: der Hauptlauf des Warehouse, "
                "für einen Bereich von Berichtsjahren (Partitionen).",
)

freshness_job = define_asset_job(
    "freshness_job",
    selection=AssetSelection.checks(*freshness_checks),
    executor_def=in_process_executor,
    description="Lieferkalender: sind Lieferungen überfällig? Liest nur die Dateinamen der Rohdatenschicht.",
)

defs = Definitions(jobs=[warehouse_job, freshness_job])
