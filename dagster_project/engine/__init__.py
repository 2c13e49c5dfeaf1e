"""Which engine builds the dbt project: DuckDB (default) or Apache Spark (docs/spark.md).

The ingest writes the raw layer (Parquet) either way; the gate and the release read the marts
from the warehouse's DuckDB file, into which a Spark build hands its marts over
(`dagster_project.engine.spark.import_spark_tables`).
"""

from __future__ import annotations

import os

ENGINES = ("duckdb", "spark")


def selected_engine() -> str:
    """DFT_ENGINE: duckdb (default) or spark."""
    value = os.environ.get("DFT_ENGINE", "duckdb").strip().lower() or "duckdb"
    if value not in ENGINES:
        raise ValueError(f"DFT_ENGINE muss duckdb oder spark sein, nicht {value!r}.")
    return value
