"""Jobs: the main job runs everything, in one process (DuckDB has one writer per file)."""

from dagster import AssetSelection, define_asset_job, in_process_executor

warehouse_job = define_asset_job(
    "warehouse_job",
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    description="Eingang laden, Marts bauen: der Hauptlauf des Warehouse.",
)
