"""Publishing a release into PostgreSQL for a shared BI server (optional: DFT_RELEASE_POSTGRES_URL).

- One schema per release, `release_<release id>`, with the marts and the audit tables, filled by
  COPY (psycopg) from the release's DuckDB file, with the table and column comments.
- A stable schema `release` with one view per table, switched to the new release in one
  transaction. The switch first takes the lock of every view at once (NOWAIT, retried): it never
  waits while holding a lock, so it cannot deadlock with a reader whose query spans several views;
  readers that arrive during the switch wait the few milliseconds it takes and then see the new
  release whole. A reader never sees two releases mixed.
- A read-only role (`dft_bi_leser`, DFT_RELEASE_POSTGRES_READER_ROLE) with USAGE on `release` and
  SELECT on its views, nothing else: the release schemas and every other schema stay closed. The
  role and the pipeline login's rights are checked before anything is written.
- A ledger (`dft_verwaltung.veroeffentlichungen`) of the schemas the pipeline created, written in
  the same transaction as each schema, and the release the views show (`dft_verwaltung.aktuell`,
  written in the same transaction as the switch). Only schemas of the ledger are ever dropped:
  a `release_…` schema someone else made, or one the pipeline did not create, stays.
- The DuckDB release store's `current` is the one truth: PostgreSQL is switched first, DuckDB
  after; when DuckDB's switch fails the views go back (`switch_to_release`), and a run after a
  crash between the two puts PostgreSQL back on DuckDB's `current` (`reconcile`).
- The switch waits at most DFT_RELEASE_POSTGRES_LOCK_TIMEOUT_S (30 s) for readers (lock_timeout,
  statement_timeout): a BI session idle in an open transaction makes the publish fail after that,
  with both PostgreSQL and DuckDB on the previous release (docs/bi.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from dagster_project.sql_quoting import quote

STABLE_SCHEMA = "release"
LEDGER_SCHEMA = "dft_verwaltung"
LEDGER = f"{LEDGER_SCHEMA}.veroeffentlichungen"
CURRENT_TABLE = f"{LEDGER_SCHEMA}.aktuell"
DEFAULT_READER_ROLE = "dft_bi_leser"
DEFAULT_LOCK_TIMEOUT_S = 30
PG_TYPES = {"VARCHAR": "text", "INTEGER": "integer", "BIGINT": "bigint", "DOUBLE": "double precision",
            "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "timestamp without time zone",
            "JSON": "jsonb"}
SOURCE_SCHEMAS = {"marts": "", "audit": "audit_"}   # DuckDB schema -> table prefix in PostgreSQL


class PostgresPublishError(RuntimeError):
    pass


def release_schema_name(release_id: str) -> str:
    return "release_" + release_id.lower()


def reader_role() -> str:
    return os.environ.get("DFT_RELEASE_POSTGRES_READER_ROLE") or DEFAULT_READER_ROLE


def lock_timeout_s() -> float:
    """How long the switch waits for BI readers to let go of the views."""
    value = os.environ.get("DFT_RELEASE_POSTGRES_LOCK_TIMEOUT_S", str(DEFAULT_LOCK_TIMEOUT_S)).strip()
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1
    if seconds <= 0:
        raise ValueError(f"DFT_RELEASE_POSTGRES_LOCK_TIMEOUT_S muss eine Zahl von Sekunden > 0 sein, nicht {value!r}.")
    return seconds


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
    """Publish the release file into PostgreSQL and switch `release` to it; drop the pipeline's
    schemas of releases not in `keep`. Returns the schema. When filling or switching fails, the new
    schema is dropped again and the views stay on the previous release."""
    import psycopg

    schema = release_schema_name(release_id)
    role = reader_role()
    release = duckdb.connect(str(release_db), read_only=True,
                             config={"enable_external_access": False, "lock_configuration": True})
    try:
        tables = _tables(release)
        with psycopg.connect(url) as pg:
            _check_rights(pg, role)
            _ensure_ledger(pg, keep)
            try:
                with pg.transaction(), pg.cursor() as cur:
                    cur.execute(f"SELECT 1 FROM {LEDGER} WHERE schema_name = %s", [schema])
                    if cur.fetchone() is not None:   # a leftover of an interrupted publish of this id
                        cur.execute(f"DROP SCHEMA IF EXISTS {quote(schema)} CASCADE")
                        cur.execute(f"DELETE FROM {LEDGER} WHERE schema_name = %s", [schema])
                    cur.execute(f"CREATE SCHEMA {quote(schema)}")
                    cur.execute(f"INSERT INTO {LEDGER} (schema_name, release_id) VALUES (%s, %s)", [schema, release_id])
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
                _switch_views(pg, schema, release_id, tables, role)
            except BaseException:
                _drop_from_ledger(pg, schema)
                raise
            drop_unkept_schemas(pg, keep=[*keep, release_id])
    finally:
        release.close()
    return schema


def switch_to_release(url: str, release_db: Path, release_id: str) -> None:
    """Point the views at an already published release again (the undo of a switch, and the
    repair after a crash between PostgreSQL's and DuckDB's switch); publishes it if its schema is
    gone."""
    import psycopg

    schema = release_schema_name(release_id)
    with psycopg.connect(url) as pg:
        _ensure_ledger(pg, [release_id])
        with pg.cursor() as cur:
            cur.execute(f"SELECT 1 FROM {LEDGER} WHERE schema_name = %s", [schema])
            present = cur.fetchone() is not None
        pg.commit()
        if present:
            release = duckdb.connect(str(release_db), read_only=True,
                                     config={"enable_external_access": False, "lock_configuration": True})
            try:
                tables = _tables(release)
            finally:
                release.close()
            _switch_views(pg, schema, release_id, tables, reader_role())
            return
    publish_to_postgres(url, release_db, release_id, keep=[release_id])


def undo_switch(url: str, release_id: str, previous_id: str | None, previous_db: Path | None) -> None:
    """The views back on the previous release (or, before the first release, no views at all) and
    the new release's schema dropped: DuckDB's switch failed after PostgreSQL's."""
    import psycopg

    if previous_id:
        switch_to_release(url, previous_db, previous_id)
    with psycopg.connect(url) as pg:
        if previous_id is None:
            with pg.transaction(), pg.cursor() as cur:
                for view in _existing_views(cur):
                    cur.execute(f"DROP VIEW {quote(STABLE_SCHEMA)}.{quote(view)}")
                cur.execute(f"DELETE FROM {CURRENT_TABLE}")
        _drop_from_ledger(pg, release_schema_name(release_id))


def current_release(url: str) -> str | None:
    """The release the views show, by the ledger (None: nothing published yet)."""
    import psycopg

    with psycopg.connect(url) as pg, pg.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", [CURRENT_TABLE])
        if cur.fetchone()[0] is None:
            return None
        cur.execute(f"SELECT release_id FROM {CURRENT_TABLE}")
        row = cur.fetchone()
        return row[0] if row else None


def reconcile(url: str, current_id: str | None, current_db: Path | None, keep: list[str]) -> list[str]:
    """After a crash: PostgreSQL back on DuckDB's `current`, and the pipeline's schemas that no kept
    release needs (an interrupted publish's) dropped. Returns what it did, in German."""
    import psycopg

    done = []
    shown = current_release(url)
    if current_id and shown != current_id:
        switch_to_release(url, current_db, current_id)
        done.append(f"PostgreSQL zeigte Release {shown or '–'}, DuckDB {current_id}: PostgreSQL auf {current_id} "
                    "zurückgestellt")
    with psycopg.connect(url) as pg:
        if _ledger_exists(pg):
            dropped = drop_unkept_schemas(pg, keep=[*keep, *([current_id] if current_id else [])])
            if dropped:
                done.append("verwaiste PostgreSQL-Schemas entfernt: " + ", ".join(dropped))
    return done


def _check_rights(pg, role: str) -> None:
    """Before anything is written: the reader role exists (or can be made) and the pipeline's
    login may create schemas in this database."""
    with pg.cursor() as cur:
        cur.execute("SELECT current_user, current_database(), "
                    "has_database_privilege(current_user, current_database(), 'CREATE')")
        user, database, may_create = cur.fetchone()
    pg.commit()
    if not may_create:
        raise PostgresPublishError(
            f"Das Konto {user} darf in der Datenbank {database} keine Schemas anlegen. Nötig (einmalig als "
            f"Administrator): GRANT CREATE ON DATABASE {database} TO {user}; oder die Datenbank gehört {user} "
            "(docs/bi.md, „Rechte des Pipeline-Kontos“).")
    _ensure_reader_role(pg, role)


def _ledger_exists(pg) -> bool:
    with pg.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", [LEDGER])
        found = cur.fetchone()[0] is not None
    pg.commit()
    return found


def _ensure_ledger(pg, known_releases: list[str]) -> None:
    """The ledger of the pipeline's schemas. Made once; then it adopts what earlier versions of the
    pipeline made: the schema the views show and the schemas of releases the store still has."""
    if _ledger_exists(pg):
        return
    with pg.transaction(), pg.cursor() as cur:
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(LEDGER_SCHEMA)}")
        cur.execute(f"REVOKE ALL ON SCHEMA {quote(LEDGER_SCHEMA)} FROM PUBLIC")
        cur.execute(f"""CREATE TABLE {LEDGER} (
            schema_name text PRIMARY KEY, release_id text NOT NULL,
            angelegt_am timestamptz NOT NULL DEFAULT now())""")
        cur.execute(f"COMMENT ON TABLE {LEDGER} IS 'Schemas, die die Pipeline angelegt hat; nur diese entfernt sie.'")
        cur.execute(f"""CREATE TABLE {CURRENT_TABLE} (
            release_id text NOT NULL, schema_name text NOT NULL, umgestellt_am timestamptz NOT NULL DEFAULT now())""")
        cur.execute(f"COMMENT ON TABLE {CURRENT_TABLE} IS 'Das Release, das die Sichten im Schema release zeigen.'")
        shown = _schema_of_views(cur)
        for release_id in known_releases:
            candidates = {release_schema_name(release_id)}
            cur.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s) "
                        "AND pg_get_userbyid(nspowner) = current_user", [list(candidates)])
            for (name,) in cur.fetchall():
                cur.execute(f"INSERT INTO {LEDGER} (schema_name, release_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                            [name, release_id])
        if shown:
            cur.execute("SELECT pg_get_userbyid(nspowner) = current_user FROM pg_namespace WHERE nspname = %s",
                        [shown])
            owned = cur.fetchone()
            if owned and owned[0] and shown.startswith("release_"):
                release_id = shown[len("release_"):]
                cur.execute(f"INSERT INTO {LEDGER} (schema_name, release_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                            [shown, release_id])
                cur.execute(f"INSERT INTO {CURRENT_TABLE} (release_id, schema_name) "
                            f"SELECT release_id, schema_name FROM {LEDGER} WHERE schema_name = %s", [shown])


def _schema_of_views(cur) -> str | None:
    """The schema the views of `release` read from (None: no views)."""
    cur.execute("""
        SELECT DISTINCT tn.nspname FROM pg_depend d
        JOIN pg_rewrite r ON r.oid = d.objid
        JOIN pg_class v ON v.oid = r.ev_class JOIN pg_namespace vn ON vn.oid = v.relnamespace
        JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
        WHERE vn.nspname = %s AND tn.nspname <> %s AND d.classid = 'pg_rewrite'::regclass""",
                [STABLE_SCHEMA, STABLE_SCHEMA])
    found = [r[0] for r in cur.fetchall()]
    return found[0] if len(found) == 1 else None


def _drop_from_ledger(pg, schema: str) -> None:
    """Remove a schema this publish made (and its ledger row), unless the views show it."""
    pg.rollback()
    with pg.transaction(), pg.cursor() as cur:
        cur.execute(f"SELECT 1 FROM {CURRENT_TABLE} WHERE schema_name = %s", [schema])
        if cur.fetchone() is not None:
            return
        cur.execute(f"SELECT 1 FROM {LEDGER} WHERE schema_name = %s", [schema])
        if cur.fetchone() is not None:
            cur.execute(f"DROP SCHEMA IF EXISTS {quote(schema)} CASCADE")
            cur.execute(f"DELETE FROM {LEDGER} WHERE schema_name = %s", [schema])


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
    """Take every view's lock at once (one statement: it never holds one while waiting for
    another, so it cannot deadlock with a reader whose query spans several views); readers get up
    to the lock timeout to finish."""
    if not views:
        return
    names = ", ".join(f"{quote(STABLE_SCHEMA)}.{quote(v)}" for v in views)
    try:
        cur.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
    except Exception as error:  # noqa: BLE001 - lock_not_available / query_canceled: say so in German
        if getattr(error, "sqlstate", None) in ("55P03", "57014"):
            raise PostgresPublishError(
                f"Die Sichten im Schema {STABLE_SCHEMA} blieben über {lock_timeout_s():g} s gesperrt (eine BI-Sitzung "
                "mit offener Transaktion?); Umschalten abgebrochen, PostgreSQL und DuckDB bleiben auf dem "
                "bisherigen Release (docs/bi.md, „Wenn eine BI-Sitzung eine Transaktion offen hält“).") from error
        raise


def _switch_views(pg, schema: str, release_id: str, tables: list, role: str) -> None:
    timeout_ms = int(lock_timeout_s() * 1000)
    with pg.transaction(), pg.cursor() as cur:
        cur.execute(f"SET LOCAL lock_timeout = {timeout_ms}")
        cur.execute(f"SET LOCAL statement_timeout = {timeout_ms + 30_000}")
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
        cur.execute(f"DELETE FROM {CURRENT_TABLE}")
        cur.execute(f"INSERT INTO {CURRENT_TABLE} (release_id, schema_name) VALUES (%s, %s)", [release_id, schema])


def drop_unkept_schemas(pg, keep: list[str]) -> list[str]:
    """Drop the schemas of the ledger that no kept release needs, never the one the views show;
    nothing outside the ledger. Returns the dropped names."""
    wanted = {release_schema_name(i) for i in keep}
    dropped = []
    with pg.transaction(), pg.cursor() as cur:
        cur.execute(f"SELECT schema_name FROM {LEDGER} WHERE schema_name NOT IN "
                    f"(SELECT schema_name FROM {CURRENT_TABLE}) ORDER BY schema_name")
        for (name,) in cur.fetchall():
            if name not in wanted:
                cur.execute(f"DROP SCHEMA IF EXISTS {quote(name)} CASCADE")
                cur.execute(f"DELETE FROM {LEDGER} WHERE schema_name = %s", [name])
                dropped.append(name)
    return dropped
