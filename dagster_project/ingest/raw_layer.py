"""The raw layer: one Parquet file (zstd) per delivery, `<raw dir>/<register>/<period>.parquet`.

A delivery is written to a hidden temporary file beside its target and then renamed into place,
so a reader sees the old file or the new one, never half of one; replacing a delivery replaces one
file. The warehouse database keeps a view `raw.<register>` over the files of each register, so
that SQL (and dbt) reads the raw layer as before. The raw folder lies beside the database file
(`warehouse/raw/` for `warehouse/warehouse.duckdb`) and holds person-level pseudonymised data: it
is the pipeline's, like the database file, never a BI tool's.

The files are also what another engine reads (docs/spark.md), so they keep to types every Parquet
reader knows: a pseudonym is stored as its text (36 characters), not as Parquet's UUID type, which
Spark refuses; the view casts it back to DuckDB's 16-byte UUID.
"""

from __future__ import annotations

import os
import re
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from dagster_project.contracts import Contract
from dagster_project.ingest.pseudonymise import PSEUDONYM_SQL_TYPE
from dagster_project.sql_quoting import literal, quote

RAW_SCHEMA = "raw"
PSEUDONYM_FILE_TYPE = "VARCHAR"  # Parquet's UUID type is illegal for Spark
RAW_DIR_NAME = "raw"
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION zstd"


def raw_column_name(contract: Contract, name: str) -> str:
    handling = contract.column(name).handling
    if handling == "pseudonymise":
        return f"{name}_PSEUDONYM"
    if handling == "birth_year":
        return "GEBURTSJAHR"
    return name


def raw_columns(contract: Contract, *, in_file: bool = False) -> list[tuple[str, str]]:
    """(name, type) of a register's raw layer as the view `raw.<register>` shows it (or, with
    `in_file`, as the Parquet file stores it): load metadata, then the kept contract columns."""
    columns = [("_period", "VARCHAR"), ("_line_no", "BIGINT"), ("_file_sha256", "VARCHAR")]
    types = {"birth_year": "SMALLINT",
             "pseudonymise": PSEUDONYM_FILE_TYPE if in_file else PSEUDONYM_SQL_TYPE}
    for column in contract.kept_columns:
        columns.append((raw_column_name(contract, column.name), types.get(column.handling, "VARCHAR")))
    return columns


def pseudonym_columns(contract: Contract) -> list[str]:
    return [raw_column_name(contract, c.name) for c in contract.kept_columns if c.handling == "pseudonymise"]


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
    pseudonyms = set(pseudonym_columns(contract))
    names = ", ".join(f"CAST({quote(n)} AS {t}) AS {quote(n)}" if n in pseudonyms else quote(n) for n, t in columns)
    pattern = literal(str(raw_dir / contract.register / "*.parquet"))
    return f"CREATE OR REPLACE VIEW {name} AS SELECT {names} FROM read_parquet({pattern})"


def rewrite_uuid_files(con: duckdb.DuckDBPyConnection, contract: Contract, raw_dir: Path) -> int:
    """Files written before pseudonyms were stored as text hold Parquet's UUID type, which other
    engines cannot read: each such file is rewritten with the same rows in the same order (the
    pseudonyms' text is their canonical form). Returns the number of files rewritten. Only a
    warehouse whose view is older than this (it never names the UUID type: it read the files as
    they were) is looked at; reading every file's schema takes half a second at Dortmund scale."""
    pseudonyms = pseudonym_columns(contract)
    if not pseudonyms or not register_files(raw_dir, contract.register) or _view_casts_to_uuid(con, contract):
        return 0
    pattern = literal(str(raw_dir / contract.register / "*.parquet"))
    placeholders = ", ".join("?" for _ in pseudonyms)
    files = [Path(r[0]) for r in con.execute(
        f"SELECT DISTINCT file_name FROM parquet_schema({pattern}) WHERE name IN ({placeholders}) "
        "AND logical_type LIKE 'UUID%' ORDER BY 1", pseudonyms).fetchall()]
    names = ", ".join(f"CAST({quote(n)} AS {t}) AS {quote(n)}" for n, t in raw_columns(contract, in_file=True))
    for path in files:
        tmp = temporary_file(path)
        con.execute(write_delivery_sql(f"SELECT {names} FROM read_parquet({literal(str(path))}) ORDER BY _line_no", tmp))
        os.replace(tmp, path)
    return len(files)


def _view_casts_to_uuid(con: duckdb.DuckDBPyConnection, contract: Contract) -> bool:
    """True for a view made by `view_sql` since pseudonyms are stored as text: it casts the first
    pseudonym column to UUID (DuckDB keeps the view's text, with or without the quotes)."""
    row = con.execute("SELECT sql FROM duckdb_views() WHERE database_name = current_database() "
                      "AND schema_name = ? AND view_name = ?", [RAW_SCHEMA, contract.raw_table]).fetchone()
    column = re.escape(pseudonym_columns(contract)[0])
    return bool(row) and re.search(rf'CAST\(\s*"?{column}"?\s+AS\s+{PSEUDONYM_SQL_TYPE}\s*\)', row[0],
                                   re.IGNORECASE) is not None


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
    names = ", ".join(f"CAST({quote(n)} AS {t}) AS {quote(n)}" for n, t in raw_columns(contract, in_file=True))
    periods = [r[0] for r in con.execute(f"SELECT DISTINCT _period FROM {table} ORDER BY 1").fetchall()]
    for period in periods:
        target = delivery_file(raw_dir, contract.register, period)
        tmp = temporary_file(target)
        con.execute(write_delivery_sql(
            f"SELECT {names} FROM {table} WHERE _period = {literal(period)} ORDER BY _line_no", tmp))
        os.replace(tmp, target)
    con.execute(f"DROP TABLE {table}")
    return len(periods)

