"""The dbt project as Dagster assets: seeds, staging, intermediate and marts, with dbt tests as
asset checks. dbt sources `raw.<register>` map onto the ingest assets' keys, so lineage runs
from the inbox to the marts. Partitioned by reference year like the registers: the run's years go
to dbt as DFT_REFERENCE_YEARS and DFT_REBUILD_YEARS (dbt/macros/incremental_by_year.sql)."""

import importlib.metadata
import os
import sys
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

import duckdb
from packaging import version
from dagster import AssetExecutionContext, Definitions, Output
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from dagster_project import city_profile
from dagster_project.dbt_state import BuildPlan, plan_build, project_files, record_build
from dagster_project.disk_space import reporting_full_disk
from dagster_project.engine import selected_engine
from dagster_project.engine import spark as spark_engine
from dagster_project.ingest.raw_layer import raw_dir_of_database
from dagster_project.defs.partitions import reference_years, run_rebuilds_its_years, single_run
from dagster_project.defs.resources import WAREHOUSE_WRITER_POOL, WarehouseResource
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
        # the manifest is the selected city's: another profile parses again (its seeds, its levels)
        city_stamp = manifest.parent / "manifest.city"
        city = str(city_profile.current().directory)
        same_city = city_stamp.exists() and city_stamp.read_text(encoding="utf-8") == city
        if (not manifest.exists() or not same_city
                or manifest.stat().st_mtime < _newest_source_change(project.project_dir)):
            from dbt.cli.main import dbtRunner

            result = dbtRunner().invoke([
                "parse", "--quiet", "--project-dir", str(project.project_dir),
                "--profiles-dir", str(project.profiles_dir), "--target-path", str(project.target_path),
            ])
            if not result.success:
                raise RuntimeError(f"dbt parse ist fehlgeschlagen / dbt parse failed: {result.exception}")
            city_stamp.write_text(city, encoding="utf-8")
    return manifest


class WarehouseDbtTranslator(DagsterDbtTranslator):
    """Groups dbt assets by layer (staging, intermediate, marts; seeds as reference)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


def years_environment(years: list[int], rebuild: bool) -> dict[str, str]:
    """The run's reference years for the incremental models (dbt/macros/incremental_by_year.sql):
    with DFT_REBUILD_YEARS=1 every one of them is rebuilt, otherwise only those with new or
    changed deliveries. Environment variables, not --vars: dbt parses the whole project again
    whenever --vars differ from the last parse (4.3 s instead of 2.3 s at every run)."""
    return {"DFT_REFERENCE_YEARS": ",".join(map(str, sorted(years))), "DFT_REBUILD_YEARS": "1" if rebuild else "0"}


def pipeline_target_path(db_path: Path) -> Path:
    """dbt's target folder for the pipeline's builds: one per warehouse, beside its database, and
    the same at every run, so dbt parses only what changed and no folder is left behind per run
    (one writer at a time: the pool warehouse_writer). dbt's log is there too (dbt.log)."""
    return db_path.parent / "dbt_target"


def table_row_counts(db_path: Path) -> dict[str, int]:
    """Rows of every table the dbt project wrote (views are not counted: that would run them)."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                             "WHERE schema_name NOT IN ('raw', 'audit')").fetchall()
        return {name: con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()[0]
                for schema, name in tables}
    finally:
        con.close()


@dbt_assets(
    manifest=ensure_manifest(dbt_project),
    project=dbt_project,
    dagster_dbt_translator=WarehouseDbtTranslator(),
    partitions_def=reference_years,
    backfill_policy=single_run,
    pool=WAREHOUSE_WRITER_POOL,
)
def warehouse_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """dbt build: seeds, models and their tests against the warehouse DuckDB file. Incremental
    models rebuild the run's years with new deliveries (a backfill: all of the run's years); a
    changed dbt project is rebuilt in full. Each table's materialization carries its row count.
    With DFT_ENGINE=spark the same project is built by Spark over the same raw files, and Spark's
    seeds and marts are handed to the DuckDB file, where the gate and the release read them."""
    complete = set(context.selected_asset_keys) == set(context.assets_def.keys)
    engine = selected_engine()
    plan = None
    years = [int(k) for k in context.partition_keys]
    rebuild = run_rebuilds_its_years(context.run.tags)
    environment = {"DFT_DB_PATH": str(warehouse.database)}
    if engine == "spark":
        # Spark rebuilds every model whole (docs/spark.md); its own target folder keeps the
        # DuckDB build's partial parse
        args, full_refresh = ["build", "--target", "spark"], False
        spark_dir = spark_engine.spark_dir_of_database(warehouse.database)
        target_path = spark_engine.spark_target_path(spark_dir)
        environment.update(spark_engine.spark_environment(warehouse.database,
                                                          raw_dir_of_database(warehouse.database)))
        context.log.info(f"Engine Spark: dbt baut das ganze Projekt mit Spark (Tabellen und Metastore in {spark_dir}).")
    else:
        # a subset chosen in the UI builds what was chosen; a whole run builds what changed
        plan = (plan_build(warehouse.database, DBT_PROJECT_DIR, dbt_project.manifest_path, rebuild) if complete
                else BuildPlan(["build"], False))
        args, full_refresh = [*plan.args, *plan.exclude_args], plan.full_refresh
        if not city_profile.current().run_dbt_unit_tests:
            # the unit tests' fixtures are written in the reference profile's column names
            args.extend(["--exclude-resource-type", "unit_test"])
        target_path = pipeline_target_path(warehouse.database)
        if not full_refresh:
            span = f"Berichtsjahr {years[0]}" if len(years) == 1 else f"Berichtsjahre {years[0]}–{years[-1]}"
            context.log.info(f"{span}: "
                             + ("alle werden neu berechnet (Nachberechnung)." if rebuild
                                else "neu berechnet werden die Jahre mit neuen oder geänderten Lieferungen."))
        context.log.info(plan.description_de())
    # dbt's subprocess inherits this process's environment (the resource adds its own on top)
    environment.update(years_environment(years, rebuild))
    previous = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    events = []
    try:
        with reporting_full_disk("dbt-Modelle bauen", warehouse.database.parent):
            invocation = dbt.cli(args, context=context, target_path=target_path)
            # dbt holds the DuckDB file while it runs: the row counts are read when it has finished
            events.extend(invocation.stream())
    except Exception:
        yield from events   # what dbt did build is recorded, then the failure
        raise
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    if engine == "spark" and invocation.is_successful():
        with warehouse.connect() as con:
            handed_over = spark_engine.import_spark_tables(con, spark_dir)
        context.log.info(f"Von Spark übernommen: {len(handed_over)} Tabellen (Referenzdaten und Marts).")
        # only the handed-over tables are Spark's; the DuckDB file's other layers are an older build's
        counts = {name.split(".", 1)[1]: rows for name, rows in handed_over.items()}
    else:
        counts = table_row_counts(warehouse.database)
    if plan is not None and plan.partial and invocation.is_successful():
        # before the built ones: no left-out node lies below a built one (it would have been built)
        yield from unchanged_outputs(context, plan, counts)
    for event in events:
        if isinstance(event, Output):
            name = context.asset_key_for_output(event.output_name).path[-1]
            if name in counts:
                event = event.with_metadata({**event.metadata, "dagster/row_count": counts[name]})
        yield event
    if complete and invocation.is_successful() and engine == "duckdb":
        record_build(warehouse.database, DBT_PROJECT_DIR, full_refresh)


def unchanged_outputs(context: AssetExecutionContext, plan: BuildPlan, counts: dict[str, int]):
    """The models and seeds a planned build left out are current (their inputs and code are those
    of the last build): each is reported as such, so that the gate's checks on them and the release
    run as after a complete build."""
    specs = {spec.metadata.get("dagster_dbt/unique_id"): spec for spec in context.assets_def.specs}
    for unique_id in plan.excluded:   # parents first
        spec = specs.get(unique_id)
        if spec is None:   # a test or unit test (no asset of its own)
            continue
        name = spec.key.path[-1]
        yield Output(None, output_name=context.assets_def.get_output_name_for_asset_key(spec.key),
                     metadata={"unveraendert": "ja: keine neuen Lieferungen in seinen Quellen, nicht neu gebaut",
                               **({"dagster/row_count": counts[name]} if name in counts else {})})


class WarehouseDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without its in-process dbt adapter: dagster-dbt builds one before every
    invocation (3 s of CPU) only for column metadata and row counts fetched through it; the row
    counts here come from the DuckDB file (table_row_counts) and column metadata is not fetched.
    Its dbt version is the installed dbt-core's: dagster-dbt would start `dbt --version` for it in
    every run (another 3 s of CPU); the executable is this environment's own dbt."""

    def _initialize_dbt_core_adapter(self, args):
        return None

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))


# the dbt of this virtual environment, also when it is not activated (make calls .venv/bin/python)
dbt_resource = WarehouseDbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt"))


def mart_asset_keys() -> list:
    """The asset keys of every dbt model in the marts folder (what a release publishes)."""
    from dagster_dbt import get_asset_key_for_model

    return [get_asset_key_for_model([warehouse_dbt_models], node["name"]) for node in _mart_nodes()]


def _mart_nodes() -> list[dict]:
    import json

    manifest = json.loads(ensure_manifest(dbt_project).read_text(encoding="utf-8"))
    return [n for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n["fqn"][1:2] == ["marts"]]


defs = Definitions(assets=[warehouse_dbt_models], resources={"dbt": dbt_resource})
