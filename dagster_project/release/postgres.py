"""Publishing a release into PostgreSQL for a shared BI server (optional: DFT_RELEASE_POSTGRES_URL).

- One schema per release, `release_<release id>`, with the marts and the audit tables, filled by
  COPY (psycopg) from the release's DuckDB file, with the table and column comments.
- A stable schema `release` with one view per table, switched to the new release in one
  transaction. The switch first takes the lock of every view at once (NOWAIT, retried): it never
  waits while holding a lock, so it cannot deadlock with a reader whose query spans several views;
  readers that arrive during the switch wait the few milliseconds it takes and then see the new
  release whole. A reader never sees two releases mixed.
- A read-only role (`dft_bi_leser`, DFT_RELEASE_POSTGRES_READER_ROLE) with USAGE on `release` and
  SELECT on its views, nothing else: the release schemas and every other schema stay closed.
- Schemas of releases no longer kept are dropped.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb

from dagster_project.sql_quoting import quote

STABLE_SCHEMA = "release"
DEFAULT_READER_ROLE = "dft_bi_leser"
PG_TYPES = {"VARCHAR": "text", "INTEGER": "integer", "BIGINT": "bigint", "DOUBLE": "double precision",
            "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "timestamp without time zone",
            "JSON": "jsonb"}
LOCK_ATTEMPTS = 600          # × 0.05 s: readers get up to half a minute to finish their queries
SOURCE_SCHEMAS = {"marts": "", "audit": "audit_"}   # DuckDB schema -> table prefix in PostgreSQL


class PostgresPublishError(RuntimeError):
    pass


def release_schema_name(release_id: str) -> str:
    return "release_" + release_id.lower()


def reader_role() -> str:
    return os.environ.get("DFT_RELEASE_POSTGRES_READER_ROLE") or DEFAULT_READER_ROLE


def _comment(cur, target: str, text: str | None) -> None:
    """COMMENT ON takes no bind parameters: the text goes in as a quoted literal."""
    from psycopg import sql

    cur.execute(sql.SQL("COMMENT ON " + target + " IS {}").format(sql.Literal(text or "")))


def _tables(release: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, list[tuple[str, str, str]]]]:
    """(DuckDB schema, table, comment, [(column, type, comment)]) of everything to publish."""
    out = []
    for schema, prefix in SOURCE_SCHEMAS.items():
        tables = release.execute("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = ? "
                                 "ORDER BY table_name", [schema]).fetchall()
        for table, comment in tables:
            columns = release.execute(
                "SELECT column_name, data_type, comment FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                "ORDER BY column_index", [schema, table]).fetchall()
            out.append((schema, table, comment or "", columns))
    return out


def _copy_table(cur, release: duckdb.DuckDBPyConnection, target: str, source: str, columns: list) -> None:
    names = ", ".join(quote(c[0]) for c in columns)
    with cur.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
        result = release.execute(f"SELECT * FROM {source}")
        while True:
            rows = result.fetchmany(10_000)
            if not rows:
                break
            for row in rows:
                copy.write_row(row)


def publish_to_postgres(url: str, release_db: Path, release_id: str, keep: list[str]) -> str:
    """Publish the release file into PostgreSQL and switch `release` to it. Returns the schema."""
    import psycopg

    schema = release_schema_name(release_id)
    role = reader_role()
    release = duckdb.connect(str(release_db), read_only=True,
                             config={"enable_external_access": False, "lock_configuration": True})
    try:
        tables = _tables(release)
        with psycopg.connect(url) as pg:
            with pg.transaction(), pg.cursor() as cur:
                cur.execute(f"DROP SCHEMA IF EXISTS {quote(schema)} CASCADE")
                cur.execute(f"CREATE SCHEMA {quote(schema)}")
                cur.execute(f"REVOKE ALL ON SCHEMA {quote(schema)} FROM PUBLIC")
                for source_schema, table, comment, columns in tables:
                    name = SOURCE_SCHEMAS[source_schema] + table
                    target = f"{quote(schema)}.{quote(name)}"
                    definition = ", ".join(f"{quote(c)} {PG_TYPES.get(t, 'text')}" for c, t, _ in columns)
                    cur.execute(f"CREATE TABLE {target} ({definition})")
                    _copy_table(cur, release, target, f"{source_schema}.{quote(table)}", columns)
                    _comment(cur, f"TABLE {target}", comment)
                    for column, _, text in columns:
                        _comment(cur, f"COLUMN {target}.{quote(column)}", text)
            _ensure_reader_role(pg, role)
            _switch_views(pg, schema, tables, role)
            _drop_old_schemas(pg, {release_schema_name(i) for i in keep} | {schema})
    finally:
        release.close()
    return schema


def _ensure_reader_role(pg, role: str) -> None:
    with pg.transaction(), pg.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cur.fetchone() is None:
            try:
                cur.execute(f"CREATE ROLE {quote(role)} NOLOGIN")
            except Exception as error:  # noqa: BLE001 - say what is missing, in German
                raise PostgresPublishError(
                    f"Die Leserolle {role} fehlt und kann nicht angelegt werden ({error}). Bitte einmalig als "
                    f"Administrator anlegen: CREATE ROLE {role} NOLOGIN;") from error
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(STABLE_SCHEMA)}")
        cur.execute(f"REVOKE ALL ON SCHEMA {quote(STABLE_SCHEMA)} FROM PUBLIC")
        cur.execute(f"GRANT USAGE ON SCHEMA {quote(STABLE_SCHEMA)} TO {quote(role)}")


def _existing_views(cur) -> dict[str, list[tuple[str, str]]]:
    cur.execute("""
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = %s AND c.relkind = 'v' ORDER BY c.relname, a.attnum""", [STABLE_SCHEMA])
    views: dict[str, list[tuple[str, str]]] = {}
    for view, column, kind in cur.fetchall():
        views.setdefault(view, []).append((column, kind))
    return views


def _lock_all(cur, views: list[str]) -> None:
    """Take every view's lock at once, or none: never wait while holding one (no deadlock)."""
    if not views:
        return
    names = ", ".join(f"{quote(STABLE_SCHEMA)}.{quote(v)}" for v in views)
    for _ in range(LOCK_ATTEMPTS):
        cur.execute("SAVEPOINT sperre")
        try:
            cur.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE NOWAIT")
            cur.execute("RELEASE SAVEPOINT sperre")
            return
        except Exception as error:  # noqa: BLE001 - lock_not_available: a reader is busy; retry
            if getattr(error, "sqlstate", None) != "55P03":
                raise
            cur.execute("ROLLBACK TO SAVEPOINT sperre")
            time.sleep(0.05)
    raise PostgresPublishError("Die Sichten im Schema release blieben über 30 s gesperrt; Umschalten abgebrochen.")


def _switch_views(pg, schema: str, tables: list, role: str) -> None:
    with pg.transaction(), pg.cursor() as cur:
        existing = _existing_views(cur)
        wanted = {SOURCE_SCHEMAS[s] + t: (comment, columns) for s, t, comment, columns in tables}
        _lock_all(cur, sorted(existing))
        for name, (comment, columns) in sorted(wanted.items()):
            view = f"{quote(STABLE_SCHEMA)}.{quote(name)}"
            new_columns = [(c, PG_TYPES.get(t, "text")) for c, t, _ in columns]
            if name in existing and existing[name] != new_columns:
                cur.execute(f"DROP VIEW {view}")
            cur.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {quote(schema)}.{quote(name)}")
            _comment(cur, f"VIEW {view}", comment)
            for column, _, text in columns:
                _comment(cur, f"COLUMN {view}.{quote(column)}", text)
            cur.execute(f"GRANT SELECT ON {view} TO {quote(role)}")
        for name in sorted(existing.keys() - wanted.keys()):
            cur.execute(f"DROP VIEW {quote(STABLE_SCHEMA)}.{quote(name)}")


def _drop_old_schemas(pg, keep: set[str]) -> None:
    with pg.transaction(), pg.cursor() as cur:
        cur.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'release\\_%%'")
        for (name,) in cur.fetchall():
            if name not in keep:
                cur.execute(f"DROP SCHEMA {quote(name)} CASCADE")
