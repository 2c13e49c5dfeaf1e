"""The same dbt project on Apache Spark: the sample built by DuckDB and by Spark gives the same
marts, cell for cell, and the same release with the same suppressed cells (docs/spark.md).

Both warehouses are built by the main job from copies of one sample (3 years, small scale), the
second with DFT_ENGINE=spark: Spark reads the raw Parquet files the ingest wrote, builds seeds,
models and tests, and its seeds and marts are handed to the DuckDB file for the gate and the
release. The comparison below reads the tables itself (DuckDB's reader, no product code)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from sample_deliveries.__main__ import generate
from tests.conftest import run_pipeline, step_failures

TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def both_engines(tmp_path_factory) -> dict[str, Path]:
    inbox = tmp_path_factory.mktemp("spark_sample") / "inbox"
    generate(inbox, [2022, 2023, 2024], scale=0.02, seed=5, clean=True, progress=lambda _: None)
    roots = {}
    for engine in ("duckdb", "spark"):
        root = tmp_path_factory.mktemp(engine) / "warehouse"
        shutil.copytree(inbox, root / "inbox")
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DFT_ENGINE", engine)
            patch.setenv("DFT_SPARK_CORES", "2")
            result = run_pipeline(root)
            assert result.success, (engine, step_failures(result))
        roots[engine] = root
    return roots


def _rows(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[list[tuple[str, str]], list[tuple]]:
    """Columns (name, type) and all rows, sorted by every column (doubles rounded for the order)."""
    columns = [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
    order = ", ".join(f'round("{n}", 6)' if t == "DOUBLE" else f'"{n}"' for n, t in columns)
    return columns, con.execute(f"SELECT * FROM {relation} ORDER BY {order}").fetchall()


def _differences(columns, left: list[tuple], right: list[tuple]) -> list[str]:
    if len(left) != len(right):
        return [f"{len(left)} rows against {len(right)}"]
    found = []
    for number, (a, b) in enumerate(zip(left, right)):
        for (name, sql_type), x, y in zip(columns, a, b):
            if sql_type == "DOUBLE" and x is not None and y is not None:
                equal = math.isclose(x, y, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
            else:
                equal = x == y
            if not equal:
                found.append(f"row {number}, {name}: {x!r} != {y!r}")
    return found


def _compare_databases(left: Path, right: Path, schema: str) -> dict[str, int]:
    con = duckdb.connect()
    con.execute(f"ATTACH '{left}' AS l (READ_ONLY)")
    con.execute(f"ATTACH '{right}' AS r (READ_ONLY)")
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'l' AND schema_name = ? ORDER BY 1",
        [schema]).fetchall()]
    assert tables == [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'r' AND schema_name = ? ORDER BY 1",
        [schema]).fetchall()]
    sizes = {}
    for table in tables:
        columns, rows_left = _rows(con, f"l.{schema}.{table}")
        columns_right, rows_right = _rows(con, f"r.{schema}.{table}")
        assert columns == columns_right, table
        assert not _differences(columns, rows_left, rows_right), (table, _differences(columns, rows_left, rows_right)[:5])
        sizes[table] = len(rows_left)
    return sizes


def test_every_mart_is_the_same_on_duckdb_and_spark(both_engines):
    sizes = _compare_databases(both_engines["duckdb"] / "warehouse.duckdb",
                               both_engines["spark"] / "warehouse.duckdb", "marts")
    assert len(sizes) >= 25 and sizes["fct_indicator_values"] > 1000 and sizes["fct_immigration_monitoring"] > 1000
    assert all(n > 0 for n in sizes.values()), sizes
    # the Spark warehouse's marts are Spark's: written by Spark as Parquet in its warehouse folder
    spark_marts = both_engines["spark"] / "spark" / "tables" / "marts.db"
    assert {p.name for p in spark_marts.iterdir()} == set(sizes)
    assert pq.ParquetFile(next((spark_marts / "fct_indicator_values").glob("*.parquet"))).metadata.created_by \
        .startswith("parquet-mr")


def test_the_releases_are_the_same_with_the_same_suppressed_cells(both_engines):
    released = {engine: root / "release" / "current" / "warehouse.duckdb" for engine, root in both_engines.items()}
    sizes = _compare_databases(released["duckdb"], released["spark"], "marts")
    assert "dim_suppression_rule" in sizes
    con = duckdb.connect()
    suppressed = {}
    for engine, path in released.items():
        con.execute(f"ATTACH '{path}' AS {engine} (READ_ONLY)")
        suppressed[engine] = _rows(con, f"{engine}.audit.suppressed_cells")
    assert suppressed["duckdb"][1], "the sample has suppressed cells"
    assert suppressed["duckdb"][0] == suppressed["spark"][0]
    assert not _differences(suppressed["duckdb"][0], suppressed["duckdb"][1], suppressed["spark"][1])
    manifests = {engine: json.loads((root / "release" / "current" / "manifest.json").read_text(encoding="utf-8"))
                 for engine, root in both_engines.items()}
    # the same rules, the same numbers of suppressed cells per rule; the content's fingerprint is a
    # hash of the exact values, which may differ in the last bits of a double (sums in another order)
    disclosure = {engine: {k: v for k, v in manifest["geheimhaltung"].items() if k != "inhalt_fingerabdruck"}
                  for engine, manifest in manifests.items()}
    assert disclosure["duckdb"] == disclosure["spark"]
    assert disclosure["duckdb"]["gesperrte_zellen_je_regel"]


def test_spark_keeps_its_tables_and_metastore_in_the_warehouse_folder(both_engines):
    spark_dir = both_engines["spark"] / "spark"
    assert (spark_dir / "metastore_db").is_dir()
    assert (spark_dir / "tables" / "reference.db" / "ref_areas").is_dir()
    repository = Path(__file__).resolve().parent.parent
    for litter in ("metastore_db", "spark-warehouse", "derby.log"):
        assert not (repository / litter).exists() and not (repository / "dbt" / litter).exists(), litter
    assert not (both_engines["duckdb"] / "spark").exists()


def test_spark_reads_the_raw_files_with_the_columns_the_contracts_give(both_engines):
    from dagster_project.engine.spark import raw_tables

    raw_dir = both_engines["spark"] / "raw"
    arrow_types = {"string": "string", "bigint": "int64", "smallint": "int16"}
    for register, table in raw_tables(raw_dir).items():
        files = sorted(Path(table["location"]).glob("*.parquet"))
        if not files:
            continue
        schema = pq.read_schema(files[0])
        assert [[f.name, str(f.type)] for f in schema] == [[n, arrow_types[t]] for n, t in table["columns"]], register


def test_an_unknown_engine_is_refused_in_german(monkeypatch):
    from dagster_project.engine import selected_engine

    monkeypatch.setenv("DFT_ENGINE", "postgres")
    with pytest.raises(ValueError, match="DFT_ENGINE muss duckdb oder spark sein"):
        selected_engine()
    monkeypatch.setenv("DFT_ENGINE", " Spark ")
    assert selected_engine() == "spark"


def test_on_a_cluster_the_raw_tables_point_to_object_storage(tmp_path, monkeypatch):
    from dagster_project.engine.spark import raw_tables

    monkeypatch.setenv("DFT_SPARK_RAW_ROOT", "s3a://statistik-dft/warehouse/raw/")
    tables = raw_tables(tmp_path / "raw")
    assert tables["einwohner"]["location"] == "s3a://statistik-dft/warehouse/raw/einwohner"
    assert ["ORDNUNGSMERKMAL_PSEUDONYM", "string"] in tables["einwohner"]["columns"]
    monkeypatch.delenv("DFT_SPARK_RAW_ROOT")
    assert raw_tables(tmp_path / "raw")["sgb2"]["location"] == str((tmp_path / "raw" / "sgb2").resolve())
