"""How a BI tool opens the release: read-only, without file-system access, configuration locked.

These are the settings docs/bi.md gives for every client; the tests open the release exactly so.
`enable_external_access = false` stops read_csv/read_parquet/glob on any file, ATTACH of another
database, COPY … TO, INSTALL and LOAD; `lock_configuration = true` stops `SET` from switching it
back. The release files are read-only on disk as well (dagster_project/release/store.py), so a
client that tries a read-write open fails at once and blocks nobody.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from dagster_project.release.store import CURRENT, DATABASE
from dagster_project.settings import WarehousePaths

# DuckDB settings for every BI connection (also what the ODBC/JDBC strings below carry).
BI_CONFIG = {"enable_external_access": False, "lock_configuration": True}
# Driver properties of a DuckDB JDBC connection (DBeaver: driver properties, or in the URL after `;`).
JDBC_PROPERTIES = {"duckdb.read_only": "true", "enable_external_access": "false", "lock_configuration": "true"}
DIALECT_DRIVER = "dft"   # SQLAlchemy URL duckdb+dft:// (dagster_project/bi/duckdb_dialect.py)
READ_WRITE_HINT_DE = (
    "Das Release ist schreibgeschützt und wird nur lesend geöffnet: read_only=True (Python), "
    "access_mode=READ_ONLY (ODBC) bzw. duckdb.read_only=true (JDBC), dazu enable_external_access=false und "
    "lock_configuration=true. Einstellungen je Werkzeug: docs/bi.md.")


class ReleaseNotFound(RuntimeError):
    pass


def current_release_database(release_dir: Path | None = None) -> Path:
    """The stable path BI tools use: <release dir>/current/warehouse.duckdb."""
    release_dir = release_dir or WarehousePaths.from_environment().release_dir
    path = release_dir / CURRENT / DATABASE
    if not path.exists():
        raise ReleaseNotFound(f"Kein Release unter {path}: zuerst `make run` ausführen.")
    return path


def connect_release(database: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A Python connection to the release, as docs/bi.md says: read-only, no file access, locked."""
    database = database or current_release_database()
    return duckdb.connect(str(database), read_only=True, config=dict(BI_CONFIG))


def sqlalchemy_url(database: Path) -> str:
    """SQLAlchemy URL for Superset and pandas.read_sql: duckdb-engine with the reflection of
    DuckDB's own catalog (dagster_project/bi/duckdb_dialect.py, registered as `duckdb+dft`), so
    that a BI tool can list the columns, keys and indexes of every table."""
    import dagster_project.bi.duckdb_dialect  # noqa: F401 - registers duckdb+dft in this process

    return f"duckdb+{DIALECT_DRIVER}:///{database}"


def sqlalchemy_connect_args() -> dict:
    """`connect_args` for duckdb-engine: Superset's "Engine Parameters" are {"connect_args": this}."""
    return {"read_only": True, "config": dict(BI_CONFIG)}


def jdbc_url(database: Path) -> str:
    """JDBC URL for DBeaver and other Java tools, in the DuckDB JDBC driver's syntax:
    `jdbc:duckdb:<database file>;<key>=<value>;…`. The driver splits the URL on `;` (the first part
    is the database) and each option on `=`, and hands every option it does not know itself
    (here enable_external_access, lock_configuration) to DuckDB as a setting; duckdb.read_only
    is its own property for a read-only open (DuckDB's documentation, Java client, "JDBC URL
    Syntax" and "Setting Options in the URL"; duckdb-java DuckDBDriver.parsePropsFromUrl)."""
    path = str(database)
    if ";" in path:
        raise ValueError(f"Der Pfad {path} enthält ein Semikolon; die DuckDB-JDBC-URL trennt damit Optionen.")
    return ";".join([f"jdbc:duckdb:{path}", *(f"{k}={v}" for k, v in JDBC_PROPERTIES.items())])


def postgres_jdbc_url(host: str, port: int = 5432, database: str = "sozialplanung") -> str:
    """JDBC URL of the PostgreSQL publication (PostgreSQL JDBC driver, `org.postgresql.Driver`):
    the stable schema `release` as the current schema; user and password are the reader's login."""
    return f"jdbc:postgresql://{host}:{port}/{database}?currentSchema=release"


def odbc_connection_string(database: Path) -> str:
    """ODBC connection string for Power BI and Excel (DuckDB ODBC driver)."""
    return (f"Driver=DuckDB Driver;Database={database};access_mode=READ_ONLY;"
            "enable_external_access=false;lock_configuration=true")


def settings_text(database: Path) -> str:
    superset = json.dumps({"connect_args": sqlalchemy_connect_args()})
    return "\n".join([
        f"Release (nur lesen): {database}",
        "",
        "Python (duckdb):",
        f"  duckdb.connect({str(database)!r}, read_only=True,",
        "                 config={'enable_external_access': False, 'lock_configuration': True})",
        "",
        "SQLAlchemy / Superset (duckdb-engine mit dagster_project/bi/duckdb_dialect.py):",
        f"  SQLAlchemy URI:     {sqlalchemy_url(database)}",
        f"  Engine Parameters:  {superset}",
        "",
        f"JDBC (DBeaver, Treiber DuckDB JDBC): {jdbc_url(database)}",
        f"ODBC (Power BI, Excel): {odbc_connection_string(database)}",
    ])
