"""The release in PostgreSQL, against a real server: the same marts as the DuckDB release, a reader
role that reads the stable schema and nothing else, and a switch no reader notices."""

from __future__ import annotations

import threading
import time

import duckdb
import psycopg
import pytest

from dagster_project.release import publish
from dagster_project.release.disclosure import DisclosureRules
from dagster_project.release.postgres import release_schema_name
from dagster_project.release.publish import publish_release
from dagster_project.settings import REPO_ROOT
from tests.postgres_server import pipeline_server

READER_PASSWORD = "leser-passwort"


@pytest.fixture(scope="module")
def pg():
    """A server with the database `sozialplanung`, owned by the pipeline's login `pipeline` (may
    create roles, is no superuser), and a table elsewhere that BI readers must not see."""
    with pipeline_server() as urls:
        with psycopg.connect(urls["pipeline"], autocommit=True) as con:
            con.execute("CREATE SCHEMA intern")
            con.execute("CREATE TABLE intern.geheim AS SELECT 'personenbezogen' AS inhalt")
            con.execute("CREATE TABLE public.auch_geheim AS SELECT 1 AS x")
        yield urls


def _run_id(root):
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("SELECT max(run_id) FROM audit.dq_results").fetchone()[0]


@pytest.fixture(scope="module")
def published(pg, released_warehouse):
    root, _ = released_warehouse
    patch = pytest.MonkeyPatch()
    patch.setattr(publish, "input_fingerprint", lambda deliveries, rules=None: "postgres-1")
    try:
        release = publish_release(root / "warehouse.duckdb", root / "release", _run_id(root), postgres_url=pg["pipeline"])
    finally:
        patch.undo()
    with psycopg.connect(pg["admin"], autocommit=True) as admin:
        admin.execute(f"CREATE ROLE superset_leser LOGIN PASSWORD '{READER_PASSWORD}'")
        admin.execute("GRANT dft_bi_leser TO superset_leser")
    return release


def _rows(cursor_rows):
    return sorted((tuple(r) for r in cursor_rows), key=repr)


def test_the_postgres_release_equals_the_duckdb_release(pg, published):
    duck = duckdb.connect(str(published.folder / "warehouse.duckdb"), read_only=True)
    tables = [r[0] for r in duck.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()]
    with psycopg.connect(pg["pipeline"]) as con:
        for table in tables:
            expected = duck.execute(f'SELECT * FROM marts."{table}"').fetchall()
            columns = [r[0] for r in duck.execute(f'DESCRIBE marts."{table}"').fetchall()]
            cur = con.execute(f'SELECT * FROM release."{table}"')
            assert [d.name for d in cur.description] == columns, table
            assert _rows(cur.fetchall()) == _rows(expected), table
        undescribed = con.execute("""
            SELECT c.relname, a.attname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
            WHERE n.nspname = 'release' AND coalesce(col_description(c.oid, a.attnum), '') = ''""").fetchall()
        assert undescribed == []
        schemas = {r[0] for r in con.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'release%'")}
        assert {"release", release_schema_name(published.release_id)} <= schemas
    duck.close()


@pytest.mark.parametrize("statement", [
    "INSERT INTO release.dim_area_level VALUES ('x', 'y')",
    "CREATE TABLE release.neu (x int)",
    "CREATE TABLE public.neu (x int)",
    "SELECT * FROM intern.geheim",
    "SELECT * FROM public.auch_geheim",
    "SELECT * FROM {schema}.fct_indicator_values",
    "COPY (SELECT 1) TO '/tmp/dft_bi_export.csv'",
    "SELECT pg_read_file('/etc/passwd')",
    "DROP VIEW release.dim_area",
])
def test_the_reader_role_reads_the_release_and_nothing_else(pg, published, statement):
    url = pg["reader"].replace("superset_leser@", f"superset_leser:{READER_PASSWORD}@")
    with psycopg.connect(url, autocommit=True) as con:
        assert con.execute("SELECT count(*) FROM release.fct_indicator_values").fetchone()[0] > 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute(statement.format(schema=release_schema_name(published.release_id)))


def test_a_reader_in_a_loop_sees_no_failure_and_never_two_releases_mixed(pg, published, released_warehouse):
    root, _ = released_warehouse
    url = pg["reader"].replace("superset_leser@", f"superset_leser:{READER_PASSWORD}@")
    # one statement over three views; two releases that differ in suppression (other rules)
    query = """SELECT (SELECT release_id FROM release.audit_manifest),
                      (SELECT count(*) FILTER (WHERE is_suppressed) FROM release.fct_indicator_values),
                      (SELECT count(*) FROM release.audit_suppressed_cells)"""
    seen, failures, stop = [], [], threading.Event()

    def reader():
        with psycopg.connect(url, autocommit=True) as con:
            while not stop.is_set():
                try:
                    seen.append(con.execute(query).fetchone())
                except psycopg.Error as error:  # any failure counts
                    failures.append(str(error))

    def signature(release):
        with duckdb.connect(str(release.folder / "warehouse.duckdb"), read_only=True) as duck:
            return (release.release_id,
                    duck.execute("SELECT count(*) FILTER (WHERE is_suppressed) FROM marts.fct_indicator_values").fetchone()[0],
                    duck.execute("SELECT count(*) FROM audit.suppressed_cells").fetchone()[0])

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        time.sleep(0.5)
        patch = pytest.MonkeyPatch()
        patch.setattr(publish, "input_fingerprint", lambda deliveries, rules=None: "postgres-2")
        strict = DisclosureRules(min_count=5, min_rate_denominator=200, min_rate_numerator=5, secondary_suppression=True)
        try:
            second = publish_release(root / "warehouse.duckdb", root / "release", _run_id(root), rules=strict,
                                     postgres_url=pg["pipeline"])
        finally:
            patch.undo()
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert failures == []
    expected = {signature(published), signature(second)}
    assert len(expected) == 2 and signature(published)[1:] != signature(second)[1:]
    observed = set(seen)
    assert observed <= expected, observed - expected
    assert observed == expected, "der Leser hat nicht beide Releases gesehen"
    assert len(seen) > 20
    # the next tests want the release of the default rules again
    patch = pytest.MonkeyPatch()
    patch.setattr(publish, "input_fingerprint", lambda deliveries, rules=None: "postgres-3")
    try:
        publish_release(root / "warehouse.duckdb", root / "release", _run_id(root), postgres_url=pg["pipeline"])
    finally:
        patch.undo()


def _hardening_sql() -> list[str]:
    """The statements of docs/bi.md, "Empfohlene Härtung", as a reader of the docs would copy them."""
    text = (REPO_ROOT / "docs" / "bi.md").read_text(encoding="utf-8")
    block = text.split("#### Empfohlene Härtung", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("--")]


def test_the_documented_hardening_closes_what_public_leaves_open(pg, published):
    url = pg["reader"].replace("superset_leser@", f"superset_leser:{READER_PASSWORD}@")
    other_database = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(url, autocommit=True) as con:   # PostgreSQL's defaults, before
        con.execute("CREATE TEMP TABLE vorher (x int)")
    psycopg.connect(other_database).close()
    with psycopg.connect(pg["admin"], autocommit=True) as admin:
        admin.execute("CREATE DATABASE andere")
        for statement in _hardening_sql():
            admin.execute(statement.replace("<andere_datenbank>", "andere"))
    for database in ("postgres", "andere"):
        with pytest.raises(psycopg.OperationalError, match="permission denied"):
            psycopg.connect(url.rsplit("/", 1)[0] + "/" + database).close()
    with psycopg.connect(url, autocommit=True) as con:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute("CREATE TEMP TABLE nachher (x int)")
        assert con.execute("SHOW idle_in_transaction_session_timeout").fetchone()[0] == "1min"
        assert con.execute("SHOW statement_timeout").fetchone()[0] == "5min"
        assert con.execute("SELECT count(*) FROM release.fct_indicator_values").fetchone()[0] > 0
