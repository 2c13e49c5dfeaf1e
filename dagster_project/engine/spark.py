"""The dbt project on Apache Spark (target `spark` in dbt/profiles.yml, docs/spark.md).

Spark reads the same raw layer as DuckDB: one external table `raw.<register>` over each register's
Parquet files, made anew by dbt's on-run-start hook (dbt/macros/raw_tables.sql) from the columns
this module derives from the register contracts (DFT_SPARK_RAW_TABLES). Spark writes every table
as Parquet into its warehouse folder, DFT_SPARK_DIR/tables/<schema>.db/<table>/ (managed tables:
a rebuilt table replaces its files); `import_spark_tables` hands the seeds and marts to the
warehouse's DuckDB file, where the gate and the release read them as after a DuckDB build.

Locally dbt-spark's `session` method starts PySpark in dbt's process; it needs Java 17 or 21
(Debian's openjdk-17-jre-headless, installed by `make`), found through JAVA_HOME or /usr/lib/jvm.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import duckdb

from dagster_project.contracts import load_contracts
from dagster_project.ingest.raw_layer import raw_columns
from dagster_project.sql_quoting import literal, quote

# DuckDB type of a raw file's column -> Spark SQL type
SPARK_TYPES = {"VARCHAR": "string", "BIGINT": "bigint", "SMALLINT": "smallint", "INTEGER": "int",
               "DOUBLE": "double", "DATE": "date", "BOOLEAN": "boolean"}
HANDED_OVER_SCHEMAS = ("reference", "marts")  # what the gate and the release read
JAVA_VERSIONS = ("17", "21")


class SparkSetupError(RuntimeError):
    """Spark cannot run here (no Java, no PySpark); the message says what to install."""


def spark_dir_of_database(db_path: Path) -> Path:
    """Spark's folder of a warehouse: `spark/` beside the database file (tables, metastore)."""
    return Path(db_path).resolve().parent / "spark"


def spark_target_path(spark_dir: Path) -> Path:
    """dbt's target folder for the spark target (manifest, dbt.log), apart from DuckDB's, so that
    each keeps its partial parse."""
    return Path(spark_dir) / "dbt_target"


def raw_tables(raw_dir: Path) -> dict[str, dict]:
    """register -> {location, columns [[name, Spark type], ...]} of the raw layer's files. On a
    cluster the files lie where its workers read them: DFT_SPARK_RAW_ROOT (e.g.
    s3a://bucket/dft/raw, a copy of warehouse/raw/) replaces the local folder."""
    root = os.environ.get("DFT_SPARK_RAW_ROOT", "").strip().rstrip("/") or str(Path(raw_dir).resolve())
    return {
        contract.raw_table: {
            "location": f"{root}/{contract.register}",
            "columns": [[name, SPARK_TYPES[sql_type]] for name, sql_type in raw_columns(contract, in_file=True)],
        }
        for contract in load_contracts().values()
    }


def java_home() -> str:
    """A Java 17 or 21 for PySpark: JAVA_HOME if set, else Debian's OpenJDK under /usr/lib/jvm."""
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    for version in JAVA_VERSIONS:
        for candidate in sorted(Path("/usr/lib/jvm").glob(f"java-{version}-openjdk*")):
            if (candidate / "bin" / "java").exists():
                return str(candidate)
    if shutil.which("java"):
        return str(Path(shutil.which("java")).resolve().parent.parent)
    raise SparkSetupError(
        "Für DFT_ENGINE=spark fehlt Java 17 oder 21: bitte 'apt-get install openjdk-17-jre-headless' "
        "(make run ENGINE=spark installiert es als root) oder JAVA_HOME setzen.")


def spark_environment(db_path: Path, raw_dir: Path) -> dict[str, str]:
    """What dbt's spark target needs in its environment."""
    try:
        import pyspark  # noqa: F401
    except ImportError as error:
        raise SparkSetupError(
            "Für DFT_ENGINE=spark fehlt PySpark: 'make run ENGINE=spark' installiert requirements-spark.lock.") \
            from error
    spark_dir = spark_dir_of_database(db_path)
    spark_dir.mkdir(parents=True, exist_ok=True)
    return {
        "DFT_SPARK_DIR": str(spark_dir),
        "DFT_SPARK_RAW_TABLES": json.dumps(raw_tables(raw_dir)),
        "JAVA_HOME": java_home(),
        "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
    }


def spark_table_dirs(spark_dir: Path, schema: str) -> dict[str, Path]:
    """Tables Spark wrote under `<spark dir>/tables/<schema>.db/<table>/` (with Parquet files)."""
    folder = Path(spark_dir) / "tables" / f"{schema}.db"
    if not folder.is_dir():
        return {}
    return {p.name: p for p in sorted(folder.iterdir()) if p.is_dir() and any(p.glob("*.parquet"))}


def _descriptions(manifest_path: Path) -> dict[tuple[str, str], dict]:
    """(schema, table) -> the dbt node (description, columns) of every seed and model."""
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    return {(node["schema"], node.get("alias") or node["name"]): node for node in manifest["nodes"].values()
            if node["resource_type"] in ("seed", "model")}


def import_spark_tables(con: duckdb.DuckDBPyConnection, spark_dir: Path,
                        manifest_path: Path | None = None) -> dict[str, int]:
    """The seeds and marts a Spark build wrote, as tables of the DuckDB file (replacing those of
    an earlier build), in one transaction, with the descriptions of the build's dbt manifest as
    table and column comments (as dbt's persist_docs writes them on DuckDB; the release needs
    them). Returns rows per table."""
    manifest_path = manifest_path or spark_target_path(spark_dir) / "manifest.json"
    nodes = _descriptions(manifest_path)
    counts: dict[str, int] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        for schema in HANDED_OVER_SCHEMAS:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
            for table, folder in spark_table_dirs(spark_dir, schema).items():
                name = f"{quote(schema)}.{quote(table)}"
                con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM read_parquet({literal(str(folder / '*.parquet'))})")
                node = nodes.get((schema, table), {})
                if node.get("description"):
                    con.execute(f"COMMENT ON TABLE {name} IS {literal(node['description'])}")
                for column, described in node.get("columns", {}).items():
                    if described.get("description"):
                        con.execute(f"COMMENT ON COLUMN {name}.{quote(column)} IS {literal(described['description'])}")
                counts[f"{schema}.{table}"] = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts
