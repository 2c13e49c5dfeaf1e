"""How a BI tool opens the release: read-only, without file-system access, configuration locked.

These are the settings docs/bi.md gives for every client; the tests open the release exactly so.
`enable_external_access = false` stops read_csv/read_parquet/glob on any file, ATTACH of another
database, COPY … TO, INSTALL and LOAD; `lock_configuration = true` stops `SET` from switching it
back. The release files are read-only on disk as well (dagster_project/release/store.py), so a
client that tries a read-write open fails at once and blocks nobody.

`lock_configuration` does not stop `CALL enable_logging(...)` (DuckDB 1.5.6): it changes the logging
of the whole database instance, which every connection to the same file in one process shares.
`connect_release` therefore also switches DuckDB's local file system off, so that file logging is
refused instead of breaking every connection of the process. No setting stops one connection from
reading the SQL of another through `duckdb_logs` (docs/bi.md, "Protokollierung";
tests/test_duckdb_logging.py).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import duckdb

from dagster_project.bi.duckdb_dialect import LOCKDOWN, lock_down
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
    "lock_configuration=true. Einstellungen je Werkzeug: docs/bi.md. Die Meldung "
    "'IO Error: Cannot open file \"…/releases/<Release-Kennung>/warehouse.duckdb\": Permission denied' "
    "(DuckDB nennt den Ordner, auf den current zeigt) heißt: das Werkzeug wollte die Datei zum Schreiben öffnen.")

# Resources of a connection made by connect_release, set when it opens, before the lock. Without
# them DuckDB takes every core and 80 % of the machine's memory, and its temporary folder is
# <release>/warehouse.duckdb.tmp inside the read-only release folder (where a normal user cannot
# spill and root would write into the release). No temporary folder: a query beyond memory_limit
# fails instead of spilling. Overridable with DFT_BI_THREADS and DFT_BI_MEMORY_LIMIT.
BI_THREADS_DEFAULT = 2
BI_MEMORY_LIMIT_DEFAULT = "1GB"
_MEMORY_SIZE = re.compile(r"^\d+(\.\d+)?(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)
# What connect_release runs on its connection, in this order: no file access, DuckDB's local file
# system off (it can only be switched off on an open database, never back on; DuckDB then refuses
# `CALL enable_logging(storage='file', ...)`), then the lock. Defined once, in the SQLAlchemy
# dialect (which must stay importable alone), and run by its lock_down.
BI_LOCKDOWN = LOCKDOWN


class ReleaseNotFound(RuntimeError):
    pass


def current_release_database(release_dir: Path | None = None) -> Path:
    """The stable path BI tools use: <release dir>/current/warehouse.duckdb, absolute whatever the
    working directory (the release folder comes from WarehousePaths.from_environment: DFT_RELEASE_DIR,
    else DFT_WAREHOUSE_DIR/release, else <repository>/warehouse/release)."""
    release_dir = (release_dir or WarehousePaths.from_environment().release_dir).absolute()
    path = release_dir / CURRENT / DATABASE
    if not path.exists():
        raise ReleaseNotFound(f"Kein Release unter {path} (Ordner: DFT_RELEASE_DIR, sonst DFT_WAREHOUSE_DIR/release, "
                              "sonst warehouse/release im Repository): zuerst `make run` ausführen.")
    return path


def bi_resource_config() -> dict[str, object]:
    """threads, memory_limit and temp_directory of a BI connection, set at connect (before the lock):
    DFT_BI_THREADS (default 2) and DFT_BI_MEMORY_LIMIT (default 1GB), no temporary folder."""
    threads = os.environ.get("DFT_BI_THREADS", "").strip() or str(BI_THREADS_DEFAULT)
    if not threads.isdigit() or int(threads) < 1:
        raise ValueError(f"DFT_BI_THREADS muss eine ganze Zahl ab 1 sein, nicht {threads!r}.")
    memory_limit = os.environ.get("DFT_BI_MEMORY_LIMIT", "").strip().replace(" ", "") or BI_MEMORY_LIMIT_DEFAULT
    if not _MEMORY_SIZE.match(memory_limit):
        raise ValueError(f"DFT_BI_MEMORY_LIMIT muss eine Speichergröße wie 1GB oder 512MB sein, nicht {memory_limit!r}.")
    return {"threads": int(threads), "memory_limit": memory_limit, "temp_directory": ""}


def connect_release(database: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A Python connection to the release: read-only, no file access, configuration locked
    (docs/bi.md), with the resources of bi_resource_config and without DuckDB's local file system.

    The resources go into the connect config; the rest is set by SET afterwards (BI_LOCKDOWN):
    DuckDB refuses a temp_directory once enable_external_access is off, and disabled_filesystems
    cannot be given at connect. DuckDB shares one database instance per file in a process: a second
    connect_release gets the instance the first one locked down; a plain duckdb.connect with another
    config to the same file in the same process fails while it is open ("different configuration")."""
    database = database or current_release_database()
    con = duckdb.connect(str(database), read_only=True, config=bi_resource_config())
    try:
        lock_down(con)
    except BaseException:
        con.close()
        raise
    return con


def sqlalchemy_url(database: Path) -> str:
    """SQLAlchemy URL for Superset and pandas.read_sql: duckdb-engine with the reflection of
    DuckDB's own catalog (dagster_project/bi/duckdb_dialect.py, registered as `duckdb+dft`), so
    that a BI tool can list the columns, keys and indexes of every table."""
    import dagster_project.bi.duckdb_dialect  # noqa: F401 - registers duckdb+dft in this process

    return f"duckdb+{DIALECT_DRIVER}:///{database}"


def sqlalchemy_connect_args() -> dict:
    """`connect_args` for duckdb-engine: Superset's "Engine Parameters" are {"connect_args": this}.
    threads and memory_limit as connect_release's (DFT_BI_THREADS, DFT_BI_MEMORY_LIMIT); no
    temp_directory, which DuckDB may refuse beside enable_external_access=false (docs/bi.md). The
    dialect duckdb+dft opens with these and, as lock_configuration is asked for, then runs
    BI_LOCKDOWN on the connection as connect_release does (dagster_project/bi/duckdb_dialect.py)."""
    resources = bi_resource_config()
    return {"read_only": True, "config": {"threads": resources["threads"], "memory_limit": resources["memory_limit"],
                                          **BI_CONFIG}}


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
