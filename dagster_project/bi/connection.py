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
    """SQLAlchemy URL for duckdb-engine (Superset, pandas.read_sql)."""
    return f"duckdb:///{database}"


def sqlalchemy_connect_args() -> dict:
    """`connect_args` for duckdb-engine: Superset's "Engine Parameters" are {"connect_args": this}."""
    return {"read_only": True, "config": dict(BI_CONFIG)}


def jdbc_url(database: Path) -> str:
    """JDBC URL for DBeaver and other Java tools (driver properties in the URL)."""
    return f"jdbc:duckdb:{database}?duckdb.read_only=true&enable_external_access=false&lock_configuration=true"


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
        "SQLAlchemy / Superset (duckdb-engine):",
        f"  SQLAlchemy URI:     {sqlalchemy_url(database)}",
        f"  Engine Parameters:  {superset}",
        "",
        f"JDBC (DBeaver):      {jdbc_url(database)}",
        f"ODBC (Power BI, Excel): {odbc_connection_string(database)}",
    ])
