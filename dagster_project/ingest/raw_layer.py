"""The raw layer: one Parquet file (zstd) per delivery, `<raw dir>/<register>/<period>.parquet`.

A delivery is written to a hidden temporary file beside its target and then renamed into place,
so a reader sees the old file or the new one, never half of one; replacing a delivery replaces one
file. The warehouse database keeps a view `raw.<register>` over the files of each register, so
that SQL (and dbt) reads the raw layer as before. The raw folder lies beside the database file
(`warehouse/raw/` for `warehouse/warehouse.duckdb`) and holds person-level pseudonymised data: it
is the pipeline's, like the database file, never a BI tool's.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from dagster_project.contracts import Contract
from dagster_project.ingest.pseudonymise import PSEUDONYM_SQL_TYPE
from dagster_project.sql_quoting import literal, quote

RAW_SCHEMA = "raw"
RAW_DIR_NAME = "raw"
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION zstd"


def raw_column_name(contract: Contract, name: str) -> str:
    handling = contract.column(name).handling
    if handling == "pseudonymise":
        return f"{name}_PSEUDONYM"
    if handling == "birth_year":
        return "GEBURTSJAHR"
    return name


def raw_columns(contract: Contract) -> list[tuple[str, str]]:
    """(name, type) of a register's raw layer: load metadata, then the kept contract columns."""
    columns = [("_period", "VARCHAR"), ("_line_no", "BIGINT"), ("_file_sha256", "VARCHAR")]
    types = {"birth_year": "SMALLINT", "pseudonymise": PSEUDONYM_SQL_TYPE}
    for column in contract.kept_columns:
        columns.append((raw_column_name(contract, column.name), types.get(column.handling, "VARCHAR")))
    return columns


def raw_dir_of_database(db_path: Path) -> Path:
    """The raw folder of a warehouse database: `raw/` beside the database file."""
    return Path(db_path).resolve().parent / RAW_DIR_NAME


def raw_dir_of(con: duckdb.DuckDBPyConnection) -> Path:
    """The raw folder of the database `con` is connected to."""
    path = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    if not path:
        raise ValueError("Die Rohdatenschicht braucht eine Datenbankdatei (keine In-Memory-Datenbank).")
    return raw_dir_of_database(Path(path))


def delivery_file(raw_dir: Path, register: str, period: str) -> Path:
    return raw_dir / register / f"{period}.parquet"


def register_files(raw_dir: Path, register: str) -> list[Path]:
    return sorted((raw_dir / register).glob("*.parquet"))


def write_delivery_sql(select_sql: str, target: Path) -> str:
    return f"COPY ({select_sql}) TO {literal(str(target))} ({PARQUET_OPTIONS})"


def temporary_file(target: Path) -> Path:
    """A hidden file beside `target` that the register's glob `*.parquet` does not match."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.with_name(f".{target.stem}.{uuid.uuid4().hex}.parquet.tmp")


@contextmanager
def replacing(target: Path, new_file: Path) -> Iterator[None]:
    """Puts `new_file` in the place of `target` for the block; if the block fails, the old file (or
    none) is back in place and `new_file` is gone. Used around the commit of the delivery's audit
    rows, so that file and load log agree."""
    backup = target.with_name(f".{target.stem}.{uuid.uuid4().hex}.parquet.bak")
    had_old = target.exists()
    if had_old:
        os.replace(target, backup)
    try:
        os.replace(new_file, target)
    except BaseException:
        if had_old:
            os.replace(backup, target)
        new_file.unlink(missing_ok=True)
        raise
    try:
        yield
    except BaseException:
        if had_old:
            os.replace(backup, target)
        else:
            target.unlink(missing_ok=True)
        raise
    if had_old:
        backup.unlink(missing_ok=True)


def _empty_select(columns: list[tuple[str, str]]) -> str:
    return "SELECT " + ", ".join(f"CAST(NULL AS {t}) AS {quote(n)}" for n, t in columns) + " WHERE false"


def view_sql(contract: Contract, raw_dir: Path) -> str:
    """`raw.<register>` over the register's files; an empty view of the right columns when there
    is no file yet (a glob without files is an error in DuckDB)."""
    name = f"{RAW_SCHEMA}.{contract.raw_table}"
    columns = raw_columns(contract)
    if not register_files(raw_dir, contract.register):
        return f"CREATE OR REPLACE VIEW {name} AS {_empty_select(columns)}"
    names = ", ".join(quote(n) for n, _ in columns)
    pattern = literal(str(raw_dir / contract.register / "*.parquet"))
    return f"CREATE OR REPLACE VIEW {name} AS SELECT {names} FROM read_parquet({pattern})"


def table_kind(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    """'BASE TABLE', 'VIEW' or None for raw.<table>."""
    row = con.execute("SELECT table_type FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                      [RAW_SCHEMA, table]).fetchone()
    return row[0] if row else None


def move_table_to_files(con: duckdb.DuckDBPyConnection, contract: Contract, raw_dir: Path) -> int:
    """A warehouse from before the raw layer kept raw.<register> as a table: each of its periods
    becomes the Parquet file of that delivery, then the table is dropped (the caller's view takes
    its place). Returns the number of periods moved."""
    table = f"{RAW_SCHEMA}.{contract.raw_table}"
    names = ", ".join(f"CAST({quote(n)} AS {t}) AS {quote(n)}" for n, t in raw_columns(contract))
    periods = [r[0] for r in con.execute(f"SELECT DISTINCT _period FROM {table} ORDER BY 1").fetchall()]
    for period in periods:
        target = delivery_file(raw_dir, contract.register, period)
        tmp = temporary_file(target)
        con.execute(write_delivery_sql(
            f"SELECT {names} FROM {table} WHERE _period = {literal(period)} ORDER BY _line_no", tmp))
        os.replace(tmp, target)
    con.execute(f"DROP TABLE {table}")
    return len(periods)

