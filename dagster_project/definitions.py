"""The one Dagster `Definitions` of the warehouse, assembled from small modules."""

from dagster import Definitions

from dagster_project.assets.dbt_models import dbt_resource, warehouse_dbt_models
from dagster_project.assets.quality_checks import quality_checks
from dagster_project.assets.raw_registers import raw_register_assets
from dagster_project.assets.release import warehouse_release
from dagster_project.assets.report import planners_report
from dagster_project.jobs import warehouse_job
from dagster_project.resources import WarehouseResource
from dagster_project.sensors import inbox_sensor, report_failed_run, report_succeeded_run

defs = Definitions(
    assets=[*raw_register_assets, warehouse_dbt_models, warehouse_release, planners_report],
    asset_checks=quality_checks,
    jobs=[warehouse_job],
    sensors=[inbox_sensor, report_succeeded_run, report_failed_run],
    resources={"warehouse": WarehouseResource(), "dbt": dbt_resource},
)
