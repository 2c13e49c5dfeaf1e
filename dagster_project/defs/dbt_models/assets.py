"""The dbt project as Dagster assets: seeds, staging, intermediate and marts, with dbt tests as
asset checks. dbt sources `raw.<register>` map onto the ingest assets' keys, so lineage runs
from the inbox to the marts."""

import os
import sys
from pathlib import Path
from typing import Any, Mapping

from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from dagster_project.dbt_state import build_args, project_files, record_build
from dagster_project.resources import WarehouseResource
from dagster_project.settings import REPO_ROOT

DBT_PROJECT_DIR = REPO_ROOT / "dbt"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def _newest_source_change(project_dir: Path) -> float:
    return max(p.stat().st_mtime for p in project_files(project_dir))


def ensure_manifest(project: DbtProject) -> Path:
    """Parse the dbt project when its manifest is missing or older than any dbt file, so that the
    definitions load on a fresh clone and after every change (not only under `dagster dev`)."""
    import fcntl

    manifest = project.manifest_path
    manifest.parent.mkdir(parents=True, exist_ok=True)
    # processes that load the definitions at the same time (the test processes, Dagster's code
    # server and a run) parse one after the other, never into the same file at once
    with open(manifest.parent / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest.exists() or manifest.stat().st_mtime < _newest_source_change(project.project_dir):
            from dbt.cli.main import dbtRunner

            result = dbtRunner().invoke([
                "parse", "--quiet", "--project-dir", str(project.project_dir),
                "--profiles-dir", str(project.profiles_dir), "--target-path", str(project.target_path),
            ])
            if not result.success:
                raise RuntimeError(f"dbt parse ist fehlgeschlagen / dbt parse failed: {result.exception}")
    return manifest


class WarehouseDbtTranslator(DagsterDbtTranslator):
    """Groups dbt assets by layer (staging, intermediate, marts; seeds as reference)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


@dbt_assets(
    manifest=ensure_manifest(dbt_project),
    project=dbt_project,
    dagster_dbt_translator=WarehouseDbtTranslator(),
)
def warehouse_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """dbt build: seeds, models and their tests against the warehouse DuckDB file. Incremental
    models rebuild only the years with new deliveries; a changed dbt project is rebuilt in full."""
    os.environ["DFT_DB_PATH"] = str(warehouse.database)
    complete = set(context.selected_asset_keys) == set(context.assets_def.keys)
    args, full_refresh = build_args(warehouse.database, DBT_PROJECT_DIR)
    if full_refresh:
        context.log.info("dbt-Projekt geändert oder noch nie gebaut: vollständiger Neuaufbau (--full-refresh).")
    invocation = dbt.cli(args, context=context)
    yield from invocation.stream()
    if complete and invocation.is_successful():
        record_build(warehouse.database, DBT_PROJECT_DIR, full_refresh)


# the dbt of this virtual environment, also when it is not activated (make calls .venv/bin/python)
dbt_resource = DbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt"))


def mart_asset_keys() -> list:
    """The asset keys of every dbt model in the marts folder (what a release publishes)."""
    from dagster_dbt import get_asset_key_for_model

    return [get_asset_key_for_model([warehouse_dbt_models], node["name"]) for node in _mart_nodes()]


def _mart_nodes() -> list[dict]:
    import json

    manifest = json.loads(ensure_manifest(dbt_project).read_text(encoding="utf-8"))
    return [n for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n["fqn"][1:2] == ["marts"]]
