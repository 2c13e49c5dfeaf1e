"""The one Dagster `Definitions` of the warehouse, assembled from small modules."""

from dagster import Definitions

from dagster_project.assets.raw_registers import raw_register_assets
from dagster_project.jobs import warehouse_job
from dagster_project.resources import WarehouseResource
from dagster_project.sensors import inbox_sensor

defs = Definitions(
    assets=[*raw_register_assets],
    jobs=[warehouse_job],
    sensors=[inbox_sensor],
    resources={"warehouse": WarehouseResource()},
)
