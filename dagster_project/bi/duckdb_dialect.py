"""SQLAlchemy reflection that works on the DuckDB release: duckdb-engine with DuckDB's own catalog.

duckdb-engine 0.17.0 reflects through PostgreSQL's catalog emulation (pg_catalog) with the queries of
SQLAlchemy's PostgreSQL dialect, and some of them do not run on DuckDB:

- `get_columns`: SQLAlchemy ≥ 2.0.45 asks for `pg_catalog.pg_collation` in a correlated subquery
  ("Referenced table pg_catalog.pg_collation not found"), and with SQLAlchemy 2.1 duckdb-engine's own
  column code calls a changed private method;
- `get_pk_constraint`, `get_foreign_keys`, `get_unique_constraints`: the queries cast to `REGCLASS`,
  a type DuckDB does not have ("Type with name REGCLASS does not exist"), on every SQLAlchemy version;
- `get_indexes` only warns and returns nothing; `get_table_options` asks for `pg_inherits`.

This dialect is duckdb-engine's, with exactly these methods answered from DuckDB's own catalog
(`duckdb_columns()`, `duckdb_constraints()`, `duckdb_indexes()`); everything else (schemas, table
and view names, table comments, queries) stays duckdb-engine's. BI tools such as Apache Superset add
a dataset through these calls.

A connection whose config asks for `lock_configuration = true` (the BI settings, docs/bi.md) is
locked down as `connect_release` (dagster_project/bi/connection.py) locks its own: the dialect opens
the database with the rest of the config (read_only, threads, memory_limit, …) but without
`enable_external_access` and the lock, then runs LOCKDOWN on it - no file access, DuckDB's local file
system off, then the lock. With the local file system off DuckDB refuses
`CALL enable_logging(storage='file', ...)`, which passes the lock and would otherwise break every
connection of the process and abort it (DuckDB 1.5.6; docs/bi.md, "Protokollierung").

It is registered as `duckdb+dft`: a SQLAlchemy URL `duckdb+dft:////path/to/warehouse.duckdb`
picks it once this module is imported (or, with the project installed, through its entry point
`sqlalchemy.dialects`). The module needs nothing but SQLAlchemy and duckdb-engine, so it can be
copied into a Superset image as it is (docs/bi.md).
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import duckdb
import sqlalchemy
from duckdb_engine import Dialect as DuckDBEngineDialect
from sqlalchemy import exc, text
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects import postgresql, registry
from sqlalchemy.engine import reflection

DIALECT_NAME = "duckdb.dft"       # URL scheme duckdb+dft://

# DuckDB type names (duckdb_columns().data_type) that are not spelt as in PostgreSQL; the rest is
# found in duckdb-engine's type names (PostgreSQL's plus DuckDB's own: hugeint, utinyint, …).
_DUCKDB_TYPES: dict[str, Any] = {
    "double": postgresql.DOUBLE_PRECISION,
    "float": postgresql.REAL,
    "blob": postgresql.BYTEA,
    "varchar": sqltypes.VARCHAR,
    "timestamp with time zone": lambda: postgresql.TIMESTAMP(timezone=True),
    "time with time zone": lambda: postgresql.TIME(timezone=True),
}
_DECIMAL = re.compile(r"(?:DECIMAL|NUMERIC)\((\d+),\s*(\d+)\)", re.IGNORECASE)
_ARRAY = re.compile(r"(.+)\[(\d*)\]")
_EXPRESSION_INDEXES = int(sqlalchemy.__version__.split(".")[0]) >= 2   # SQLAlchemy 1.4 reflects none

# What a BI connection runs after it opens, in this order (no file access, DuckDB's local file
# system off - DuckDB then refuses `CALL enable_logging(storage='file', ...)` -, then the lock). The
# one definition: dagster_project/bi/connection.py uses it as BI_LOCKDOWN (this module imports
# nothing of the project, so that it can be copied alone into a Superset installation).
LOCKDOWN = (
    "SET enable_external_access = false",
    "SET disabled_filesystems = 'LocalFileSystem'",
    "SET lock_configuration = true",
)
_DEFERRED = ("enable_external_access", "lock_configuration")   # set by LOCKDOWN, not at connect


def _true(value: Any) -> bool:
    """A config value as given in connect_args (True) or in the URL's query (the string "true")."""
    return value is True or str(value).strip().lower() in ("true", "1", "on", "yes", "t")


def _locked_down(con: Any) -> bool:
    external, locked = con.execute(
        "SELECT current_setting('enable_external_access'), current_setting('lock_configuration')").fetchone()
    return not external and bool(locked)


def lock_down(con: Any) -> None:
    """Run LOCKDOWN on a just opened connection, unless its database instance is locked already (DuckDB
    shares one instance per file in a process); fails if the connection is not locked afterwards."""
    if not _locked_down(con):
        try:
            for statement in LOCKDOWN:
                con.execute(statement)
        except duckdb.InvalidInputException:
            if not _locked_down(con):   # else another thread locked the shared instance meanwhile
                raise
    if not _locked_down(con):
        raise duckdb.InvalidInputException("Die Verbindung ist nicht gesperrt (lock_configuration).")


class ReleaseDuckDBDialect(DuckDBEngineDialect):
    """duckdb-engine, with columns, keys, constraints and indexes reflected from DuckDB's catalog."""

    driver = "dft"
    supports_statement_cache = False

    # -- opening a connection --------------------------------------------------------------------
    def connect(self, *cargs: Any, **cparams: Any):
        """duckdb-engine's connect; with lock_configuration=true in the config (connect_args or the
        URL's query) the database opens without enable_external_access and the lock, and LOCKDOWN
        runs on the new connection (external access ends up off whatever the config says). DuckDB shares one database instance per file in a process: a
        second connection gets the instance the first one locked down and runs nothing."""
        config = {**dict(cparams.get("config") or {}), **dict(cparams.pop("url_config", None) or {})}
        if not _true(config.get("lock_configuration", False)):
            return super().connect(*cargs, **{**cparams, "config": config})
        con = super().connect(*cargs, **{**cparams, "config": {k: v for k, v in config.items()
                                                                if k not in _DEFERRED}})
        # con is duckdb-engine's ConnectionWrapper: execute() goes to the DuckDB connection
        try:
            lock_down(con)
        except BaseException:
            con.close()
            raise
        return con

    # -- where a table is ----------------------------------------------------------------------
    def _where(self, schema: str | None) -> tuple[str, dict]:
        """SQL conditions and parameters for a schema given as `schema` or `database.schema`
        (duckdb-engine lists schemas as `database.schema`); none: the current schema."""
        database, schema_name = self.identifier_preparer._separate(schema) if schema else (None, None)
        return ("database_name = coalesce(CAST(:database AS VARCHAR), current_database()) AND "
                "schema_name = coalesce(CAST(:schema AS VARCHAR), current_schema())",
                {"database": database, "schema": schema_name})

    def _constraints(self, connection, table_name: str, schema: str | None, kind: str) -> list:
        where, params = self._where(schema)
        rows = connection.execute(text(
            "SELECT constraint_name, constraint_column_names, referenced_table, referenced_column_names, "
            "expression FROM duckdb_constraints() "
            f"WHERE {where} AND table_name = :table AND constraint_type = :kind ORDER BY constraint_index"),
            {**params, "table": table_name, "kind": kind}).fetchall()
        if not rows:
            self._check_exists(connection, table_name, schema)
        return rows

    def _check_exists(self, connection, table_name: str, schema: str | None) -> None:
        where, params = self._where(schema)
        found = connection.execute(text(
            f"SELECT count(*) FROM duckdb_columns() WHERE {where} AND table_name = :table"),
            {**params, "table": table_name}).scalar()
        if not found:
            raise exc.NoSuchTableError(f"{schema}.{table_name}" if schema else table_name)

    # -- types -----------------------------------------------------------------------------------
    def _reflect_duckdb_type(self, data_type: str) -> sqltypes.TypeEngine:
        array = _ARRAY.fullmatch(data_type)
        if array:
            return postgresql.ARRAY(self._reflect_duckdb_type(array.group(1)))
        decimal = _DECIMAL.fullmatch(data_type)
        if decimal:
            return postgresql.NUMERIC(int(decimal.group(1)), int(decimal.group(2)))
        name = data_type.lower()
        kind = _DUCKDB_TYPES.get(name) or self.ischema_names.get(name)
        if kind is None:
            warnings.warn(f"Did not recognize type '{data_type}'", exc.SAWarning, stacklevel=3)
            return sqltypes.NULLTYPE
        return kind()

    # -- the reflection methods that duckdb-engine cannot answer on DuckDB ----------------------
    @reflection.cache
    def get_columns(self, connection, table_name, schema=None, **kw):
        where, params = self._where(schema)
        rows = connection.execute(text(
            "SELECT column_name, data_type, is_nullable, column_default, comment FROM duckdb_columns() "
            f"WHERE {where} AND table_name = :table ORDER BY column_index"),
            {**params, "table": table_name}).fetchall()
        if not rows:
            raise exc.NoSuchTableError(f"{schema}.{table_name}" if schema else table_name)
        return [{"name": name, "type": self._reflect_duckdb_type(data_type), "nullable": bool(nullable),
                 "default": default, "autoincrement": False, "comment": comment}
                for name, data_type, nullable, default, comment in rows]

    @reflection.cache
    def get_pk_constraint(self, connection, table_name, schema=None, **kw):
        rows = self._constraints(connection, table_name, schema, "PRIMARY KEY")
        if not rows:
            return {"constrained_columns": [], "name": None}
        name, columns, *_ = rows[0]
        return {"constrained_columns": list(columns), "name": name}

    @reflection.cache
    def get_foreign_keys(self, connection, table_name, schema=None, **kw):
        # DuckDB's foreign keys reference a table of the same schema
        return [{"name": name, "constrained_columns": list(columns), "referred_schema": schema,
                 "referred_table": referred, "referred_columns": list(referred_columns), "options": {}}
                for name, columns, referred, referred_columns, _ in
                self._constraints(connection, table_name, schema, "FOREIGN KEY")]

    @reflection.cache
    def get_unique_constraints(self, connection, table_name, schema=None, **kw):
        return [{"name": name, "column_names": list(columns)}
                for name, columns, *_ in self._constraints(connection, table_name, schema, "UNIQUE")]

    @reflection.cache
    def get_check_constraints(self, connection, table_name, schema=None, **kw):
        return [{"name": name, "sqltext": expression}
                for name, _, _, _, expression in self._constraints(connection, table_name, schema, "CHECK")]

    @reflection.cache
    def get_indexes(self, connection, table_name, schema=None, **kw):
        """Indexes made with CREATE INDEX (DuckDB keeps those of keys to itself, as PostgreSQL's
        dialect leaves out the primary key's). An entry that is not a column is an expression."""
        where, params = self._where(schema)
        rows = connection.execute(text(
            "SELECT index_name, is_unique, TRY_CAST(expressions AS VARCHAR[]) FROM duckdb_indexes() "
            f"WHERE {where} AND table_name = :table ORDER BY index_name"),
            {**params, "table": table_name}).fetchall()
        if not rows:
            self._check_exists(connection, table_name, schema)
            return []
        columns = {c["name"] for c in self.get_columns(connection, table_name, schema, **kw)}
        indexes = []
        for name, unique, expressions in rows:
            parts = [e.strip('"') if e.strip('"') in columns else e for e in (expressions or [])]
            if not _EXPRESSION_INDEXES and any(p not in columns for p in parts):
                warnings.warn(f"Skipped unsupported reflection of expression-based index {name}", exc.SAWarning)
                continue
            index = {"name": name, "unique": bool(unique),
                     "column_names": [p if p in columns else None for p in parts]}
            if any(p not in columns for p in parts):
                index["expressions"] = parts
            indexes.append(index)
        return indexes

    @reflection.cache
    def get_table_options(self, connection, table_name, schema=None, **kw):
        self._check_exists(connection, table_name, schema)
        return {}

    # SQLAlchemy 2.x reflects whole tables (MetaData.reflect, Table(autoload_with=…)) through the
    # get_multi_* methods: these go table by table through the methods above.
    def get_multi_columns(self, connection, **kw):
        return self._default_multi_reflect(self.get_columns, connection, **kw)

    def get_multi_pk_constraint(self, connection, **kw):
        return self._default_multi_reflect(self.get_pk_constraint, connection, **kw)

    def get_multi_foreign_keys(self, connection, **kw):
        return self._default_multi_reflect(self.get_foreign_keys, connection, **kw)

    def get_multi_unique_constraints(self, connection, **kw):
        return self._default_multi_reflect(self.get_unique_constraints, connection, **kw)

    def get_multi_check_constraints(self, connection, **kw):
        return self._default_multi_reflect(self.get_check_constraints, connection, **kw)

    def get_multi_indexes(self, connection, **kw):
        return self._default_multi_reflect(self.get_indexes, connection, **kw)

    def get_multi_table_options(self, connection, **kw):
        return self._default_multi_reflect(self.get_table_options, connection, **kw)


dialect = ReleaseDuckDBDialect


def register() -> None:
    """Make `duckdb+dft://` URLs use this dialect in this process (the entry point does the same
    for an installed project)."""
    registry.register(DIALECT_NAME, __name__, "ReleaseDuckDBDialect")


register()
