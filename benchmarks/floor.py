"""The floor: benchmarks/floor_indicators.sql run by DuckDB on the delivery CSVs."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from dagster_project.contracts import SEED_DIR

SCRIPT = Path(__file__).with_name("floor_indicators.sql")
CITY_AGS = "05913000"
FILES = {"einwohner": "*.csv", "bewegungen": "*.csv", "sgb2": "*-12.csv", "sgb12": "*-12.csv", "asylblg": "*-12.csv"}


def _read(path: Path) -> str:
    encoding = "utf-8" if path.read_bytes()[:3] == b"\xef\xbb\xbf" else "latin-1"
    return (f"SELECT * FROM read_csv('{path}', delim = ';', header = true, all_varchar = true, "
            f"filename = true, encoding = '{encoding}')")


def floor_indicator_values(inbox: Path) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        for register, pattern in FILES.items():
            parts = [_read(p) for p in sorted((inbox / register).glob(pattern))]
            con.execute(f"CREATE TEMP VIEW {register}_files AS " + " UNION ALL BY NAME ".join(parts))
        con.execute("SET VARIABLE districts = ?", [str(SEED_DIR / "ref_statistical_districts.csv")])
        con.execute("SET VARIABLE city = ?", [CITY_AGS])
        con.execute(SCRIPT.read_text(encoding="utf-8"))
        return con.execute("""
            SELECT indicator_id, lvl AS area_level, code AS area_code, y AS reference_year, numerator, denominator
            FROM floor_indicator_values""").df()
    finally:
        con.close()
