"""The floor: every delivery CSV loaded by DuckDB (as the pipeline loads them, without checks and
pseudonyms), then benchmarks/floor_indicators.sql computes the indicator fact; and DuckDB's bare load
of the same files, the physical limit of the ingest on this machine."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from dagster_project.contracts import SEED_DIR
from dagster_project.settings import REPO_ROOT

SCRIPT = Path(__file__).with_name("floor_indicators.sql")
CITY_AGS = "05913000"
REGISTERS = ("einwohner", "bewegungen", "sgb2", "sgb12", "asylblg")
# the indicators use the stock at the year's end: the December files of the monthly registers
YEAR_END = {"sgb2": "-12.csv", "sgb12": "-12.csv", "asylblg": "-12.csv"}
# the benchmark's peers compute Dortmund's levels (the default sample's city)
DORTMUND_AREAS = REPO_ROOT / "cities" / "dortmund" / "seeds" / "ref_areas.csv"


def _read(path: Path) -> str:
    encoding = "utf-8" if path.read_bytes()[:3] == b"\xef\xbb\xbf" else "latin-1"
    return (f"SELECT * FROM read_csv('{path}', delim = ';', header = true, all_varchar = true, "
            f"filename = true, encoding = '{encoding}')")


def load_deliveries(con: duckdb.DuckDBPyConnection, inbox: Path) -> int:
    """Every CSV delivery the pipeline loads into a table per register (`<register>_all`), as text:
    the reading work of the ingest without its checks and pseudonyms. Returns the rows loaded."""
    rows = 0
    for register in REGISTERS:
        parts = [_read(p) for p in sorted((inbox / register).glob("*.csv"))]
        con.execute(f"CREATE OR REPLACE TEMP TABLE {register}_all AS " + " UNION ALL BY NAME ".join(parts))
        rows += con.execute(f"SELECT count(*) FROM {register}_all").fetchone()[0]
    return rows


def floor_indicator_values(inbox: Path) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        # the fair floor loads every delivery (as the pipeline does), then computes from the year's end
        load_deliveries(con, inbox)
        for register in REGISTERS:
            suffix = YEAR_END.get(register)
            where = f" WHERE filename LIKE '%{suffix}'" if suffix else ""
            con.execute(f"CREATE TEMP VIEW {register}_files AS SELECT * FROM {register}_all{where}")
        con.execute("SET VARIABLE districts = ?", [str(DORTMUND_AREAS)])
        con.execute("SET VARIABLE city = ?", [CITY_AGS])
        con.execute(SCRIPT.read_text(encoding="utf-8"))
        return con.execute("""
            SELECT indicator_id, lvl AS area_level, code AS area_code, y AS reference_year, numerator, denominator
            FROM floor_indicator_values""").df()
    finally:
        con.close()


def bare_load(inbox: Path) -> int:
    """DuckDB's bare load: every CSV delivery into a table, all columns as text, nothing else."""
    con = duckdb.connect()
    try:
        return load_deliveries(con, inbox)
    finally:
        con.close()
