"""BI clients that really connect: the DuckDB JDBC URL in the driver's syntax, a real Java JDBC client
against the PostgreSQL publication, and the eight SQLAlchemy inspector calls a BI tool (Superset)
makes to add a dataset, on the DuckDB release and on the PostgreSQL publication.

Java 17 with `javac` (openjdk-17-jdk-headless) and PostgreSQL's JDBC driver (libpostgresql-jdbc-java)
come from Debian's packages (`make system-packages`); their absence is a failing test, never a skip.
"""

from __future__ import annotations

import datetime
import glob
import json
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import duckdb
import psycopg
import pytest
import sqlalchemy as sa

from dagster_project.bi.connection import (BI_CONFIG, JDBC_PROPERTIES, jdbc_url, postgres_jdbc_url, settings_text,
                                           sqlalchemy_connect_args, sqlalchemy_url)
from dagster_project.release.postgres import SOURCE_SCHEMAS, publish_to_postgres
from dagster_project.release.store import ReleaseStore
from dagster_project.settings import REPO_ROOT
from tests.postgres_server import pipeline_server

BI_DOC = (REPO_ROOT / "docs" / "bi.md").read_text(encoding="utf-8")
JAVA_CLIENT = Path(__file__).resolve().parent / "jdbc" / "ReleaseQuery.java"
POSTGRES_JDBC_JAR = Path("/usr/share/java/postgresql.jar")
READER, READER_PASSWORD = "bi_leser", "leser-passwort"
QUERY = ("SELECT indicator_id, area_level, area_code, reference_year, stichtag, numerator, denominator, "
         "indicator_value, unit, is_suppressed FROM release.fct_indicator_values "
         "ORDER BY indicator_id, area_level, area_code, reference_year")


@pytest.fixture(scope="module")
def release(released_warehouse) -> tuple[Path, str]:
    root, _ = released_warehouse
    return root / "release" / "current" / "warehouse.duckdb", ReleaseStore(root / "release").current_id()


@pytest.fixture(scope="module")
def catalog(release) -> dict:
    """What DuckDB's own catalog says about the release: tables, comments, columns, keys, indexes."""
    database, _ = release
    with duckdb.connect(str(database), read_only=True, config=dict(BI_CONFIG)) as con:
        tables = {(s, t): c for s, t, c in con.execute(
            "SELECT schema_name, table_name, comment FROM duckdb_tables() WHERE schema_name IN ('marts', 'audit') "
            "AND database_name = current_database()").fetchall()}
        columns = {}
        for s, t, name, data_type, nullable, comment in con.execute(
                "SELECT schema_name, table_name, column_name, data_type, is_nullable, comment FROM duckdb_columns() "
                "WHERE schema_name IN ('marts', 'audit') AND database_name = current_database() "
                "ORDER BY schema_name, table_name, column_index").fetchall():
            columns.setdefault((s, t), []).append((name, data_type, nullable, comment))
        keys = con.execute("SELECT count(*) FROM duckdb_constraints() WHERE schema_name IN ('marts', 'audit') "
                           "AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY', 'UNIQUE')").fetchone()[0]
        indexes = con.execute("SELECT count(*) FROM duckdb_indexes() WHERE schema_name IN ('marts', 'audit')").fetchone()[0]
        views = con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchone()[0]
        database_name = con.execute("SELECT current_database()").fetchone()[0]
        rows = con.execute(QUERY.replace("release.", "marts.")).fetchall()
    return {"tables": tables, "columns": columns, "keys": keys, "indexes": indexes, "views": views,
            "database": database_name, "rows": rows}


@pytest.fixture(scope="module")
def pg(release):
    """A PostgreSQL server with the database `sozialplanung` (owner: the pipeline's login, as in
    tests/test_postgres_release.py), the shared test release published into it, and a reader login
    that is a member of dft_bi_leser."""
    database, release_id = release
    with pipeline_server() as urls:
        host_port = urls["admin"].rsplit("/", 1)[0].split("@", 1)[1]
        urls["reader"] = urls["pipeline"].replace("pipeline@", f"{READER}:{READER_PASSWORD}@")
        urls.update(host=host_port.split(":")[0], port=int(host_port.split(":")[1]))
        publish_to_postgres(urls["pipeline"], database, release_id, keep=[release_id])
        with psycopg.connect(urls["admin"], autocommit=True) as admin:
            admin.execute(f"CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}'")
            admin.execute(f"GRANT dft_bi_leser TO {READER}")
        yield urls


def _published_names(catalog) -> dict[str, tuple[str, str]]:
    """Name in PostgreSQL's `release` schema -> (DuckDB schema, table)."""
    return {SOURCE_SCHEMAS[s] + t: (s, t) for s, t in catalog["tables"]}


# -- (1) the DuckDB JDBC URL --------------------------------------------------------------------------

def _parse_duckdb_jdbc_url(url: str) -> tuple[str, dict[str, str]]:
    """The DuckDB JDBC driver's URL rules, re-implemented as documented: DuckDB documentation, Java
    client, "Connect" → "JDBC URL Syntax" (`jdbc:duckdb:⟨database⟩;⟨key⟩=⟨value⟩;…`) and "Setting
    Options in the URL" (split on `;`, each entry on `=`, whitespace trimmed), and as coded in
    duckdb-java: DuckDBDriver.parsePropsFromUrl and JdbcUtils.dbNameFromUrl (no `;`: all after the
    prefix is the database; otherwise part 0 is, and every further non-empty entry must split into
    exactly key and value, else "Invalid URL entry")."""
    prefix = "jdbc:duckdb:"
    assert url.startswith(prefix), url
    if ";" not in url:
        return url[len(prefix):].strip(), {}
    parts = url.split(";")
    props = {}
    for entry in (p.strip() for p in parts[1:]):
        if not entry:
            continue
        key_value = entry.split("=")
        if len(key_value) != 2:
            raise ValueError(f"Invalid URL entry: {entry}")
        props[key_value[0].strip()] = key_value[1].strip()
    return parts[0].strip()[len(prefix):].strip(), props


def _truish(value: str | None) -> bool | None:
    """JdbcUtils.isStringTruish: true/1/yes/on and false/0/no/off, anything else is an error."""
    if value is None:
        return None
    if value.lower().strip() in ("true", "1", "yes", "on"):
        return True
    if value.lower().strip() in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"Invalid boolean option value: {value}")


def _check_duckdb_jdbc_url(url: str) -> tuple[str, dict[str, str]]:
    database, props = _parse_duckdb_jdbc_url(url)
    # read-only: the driver's own property duckdb.read_only (or DuckDB's access_mode, which must agree)
    assert _truish(props.get("duckdb.read_only")) is True, props
    assert props.get("access_mode", "READ_ONLY").upper() == "READ_ONLY", props
    # every other option goes to DuckDB as a setting, applied when the database is opened
    settings = {k: v for k, v in props.items() if k not in ("duckdb.read_only", "access_mode")}
    assert _truish(settings.pop("enable_external_access")) is False, props
    assert _truish(settings.pop("lock_configuration")) is True, props
    assert settings == {}, f"unerwartete Optionen: {settings}"
    return database, props


def test_the_duckdb_jdbc_url_names_the_release_file_and_sets_the_bi_settings_as_properties(release):
    database, _ = release
    url = jdbc_url(database)
    parsed_database, props = _check_duckdb_jdbc_url(url)
    assert parsed_database == str(database)
    assert props == JDBC_PROPERTIES
    # the URL documented before: the driver took all of it for the file name (no read-only open)
    old = f"jdbc:duckdb:{database}?duckdb.read_only=true&enable_external_access=false&lock_configuration=true"
    assert _parse_duckdb_jdbc_url(old) == (old[len("jdbc:duckdb:"):], {})
    # the settings the driver hands to DuckDB are DuckDB settings, and DuckDB opens the release with them
    settings = {k: v for k, v in props.items() if k != "duckdb.read_only"}
    with duckdb.connect(str(database), read_only=True, config=settings) as con:
        known = {r[0] for r in con.execute("SELECT name FROM duckdb_settings()").fetchall()}
        assert set(settings) <= known
        assert con.execute("SELECT current_setting('enable_external_access'), "
                           "current_setting('lock_configuration')").fetchone() == (False, True)
        with pytest.raises(duckdb.Error):
            con.execute("SET enable_external_access = true")
    with pytest.raises(ValueError):
        jdbc_url(Path("/srv/a;b/warehouse.duckdb"))


def test_docs_and_make_bi_give_the_jdbc_url_in_the_drivers_syntax(release):
    database, _ = release
    documented = re.findall(r"jdbc:duckdb:[/…][^\s`]*", BI_DOC)   # URLs with a path, not the syntax template
    assert documented, "docs/bi.md nennt keine DuckDB-JDBC-URL"
    for url in documented:
        if ";" in url:
            path, _ = _check_duckdb_jdbc_url(url)
            assert path.endswith("release/current/warehouse.duckdb"), url
        else:   # the bare URL, with the properties listed beside it
            assert url.endswith("release/current/warehouse.duckdb"), url
    assert "?duckdb.read_only" not in BI_DOC and "&enable_external_access" not in BI_DOC
    for key, value in JDBC_PROPERTIES.items():
        assert f"{key}={value}" in BI_DOC
    assert jdbc_url(database) in settings_text(database)
    assert sqlalchemy_url(database) in settings_text(database)
    assert postgres_jdbc_url("host") in BI_DOC


# -- (2) a real JDBC client against the PostgreSQL publication ---------------------------------------

def _java() -> str:
    """Java 17 with its compiler (a single-file source program needs jdk.compiler)."""
    candidates = sorted(glob.glob("/usr/lib/jvm/java-17-openjdk*/bin/java"))
    if os.environ.get("JAVA_HOME"):
        candidates.append(os.path.join(os.environ["JAVA_HOME"], "bin", "java"))
    if shutil.which("java"):
        candidates.append(shutil.which("java"))
    for java in candidates:
        if os.path.exists(os.path.join(os.path.dirname(java), "javac")):
            return java
    pytest.fail("Java 17 mit Compiler fehlt (Debian: openjdk-17-jdk-headless); `make system-packages` "
                "installiert es als root, sonst einmal `sudo apt-get install openjdk-17-jdk-headless`.")


def _postgres_jdbc_jar() -> Path:
    if not POSTGRES_JDBC_JAR.exists():
        pytest.fail(f"PostgreSQL-JDBC-Treiber fehlt ({POSTGRES_JDBC_JAR}, Debian: libpostgresql-jdbc-java); "
                    "`make system-packages` installiert ihn als root, sonst einmal "
                    "`sudo apt-get install libpostgresql-jdbc-java`.")
    return POSTGRES_JDBC_JAR


def _json_value(value):
    """A DuckDB value as the Java client prints it (dates as ISO text, numbers and booleans as such)."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def test_a_java_jdbc_client_lists_and_queries_the_postgres_publication_as_the_reader(pg, catalog, tmp_path):
    java, jar = _java(), _postgres_jdbc_jar()
    url = postgres_jdbc_url(pg["host"], pg["port"])
    run = subprocess.run([java, "-cp", str(jar), str(JAVA_CLIENT), url, READER, "release", QUERY],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env={**os.environ, "DFT_JDBC_PASSWORD": READER_PASSWORD})
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    driver = [line for line in lines if line[0] == "driver"]
    assert driver and driver[0][1] == "PostgreSQL JDBC Driver" and driver[0][3] == "PostgreSQL", driver
    assert driver[0][5] == READER

    # what PostgreSQL itself says about the views of `release` (as the database's owner)
    with psycopg.connect(pg["admin"]) as con:
        pg_columns = {(t, c): (typname, remark) for t, c, typname, remark in con.execute("""
            SELECT cl.relname, a.attname, ty.typname, col_description(cl.oid, a.attnum)
            FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
            JOIN pg_attribute a ON a.attrelid = cl.oid AND a.attnum > 0 AND NOT a.attisdropped
            JOIN pg_type ty ON ty.oid = a.atttypid WHERE n.nspname = 'release'""").fetchall()}

    published = _published_names(catalog)
    tables = {line[2]: line for line in lines if line[0] == "table"}
    assert set(tables) == set(published)
    for name, (schema, table) in published.items():
        assert tables[name][1] == "release" and tables[name][3] == "VIEW"
        assert tables[name][4] == catalog["tables"][(schema, table)] != "", name
    columns: dict[str, list] = {}
    for _, table, column, type_name, _, remark, position in (line for line in lines if line[0] == "column"):
        columns.setdefault(table, []).append((position, column, type_name, remark))
    for name, (schema, table) in published.items():
        listed = [c[1:] for c in sorted(columns[name])]
        duck = catalog["columns"][(schema, table)]
        assert [c[0] for c in listed] == [c[0] for c in duck], name
        assert [c[2] for c in listed] == [c[3] for c in duck], name
        assert all(remark for _, _, remark in listed), name
        assert [(c, t, r) for c, t, r in listed] == [(c, *pg_columns[(name, c)]) for c, _, _ in listed]

    header = [line[1:] for line in lines if line[0] == "header"]
    rows = [line[1:] for line in lines if line[0] == "row"]
    assert header == [["indicator_id", "area_level", "area_code", "reference_year", "stichtag", "numerator",
                       "denominator", "indicator_value", "unit", "is_suppressed"]]
    expected = [[_json_value(v) for v in row] for row in catalog["rows"]]
    assert len(rows) == len(expected) > 0
    assert sorted(rows, key=json.dumps) == sorted(expected, key=json.dumps)
    assert any(r[-1] is True for r in rows) and any(r[-1] is False for r in rows)


# -- (3) the eight inspector calls of a BI tool ------------------------------------------------------

def _duckdb_type(compiled: str) -> str:
    with duckdb.connect() as con:
        return con.execute(f"SELECT typeof(CAST(NULL AS {compiled}))").fetchone()[0]


def test_the_eight_inspector_calls_work_on_the_duckdb_release(release, catalog):
    database, _ = release
    engine = sa.create_engine(sqlalchemy_url(database), connect_args=sqlalchemy_connect_args())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")      # also no "doesn't yet support reflection on indices"
            inspector = sa.inspect(engine)
            schemas = inspector.get_schema_names()
            listed = {s: f"{catalog['database']}.{s}" for s in ("marts", "audit")}
            assert set(listed.values()) <= set(schemas), schemas
            seen = 0
            for schema, listed_schema in listed.items():
                expected_tables = sorted(t for s, t in catalog["tables"] if s == schema)
                assert sorted(inspector.get_table_names(listed_schema)) == expected_tables
                assert inspector.get_view_names(listed_schema) == [] and catalog["views"] == 0
                for table in expected_tables:
                    duck = catalog["columns"][(schema, table)]
                    reflected = inspector.get_columns(table, listed_schema)
                    assert [(c["name"], _duckdb_type(c["type"].compile(engine.dialect)), c["nullable"], c["comment"])
                            for c in reflected] == list(duck), table
                    assert all(c["comment"] for c in reflected), table
                    # the release declares no keys and no indexes; the calls say so instead of failing
                    assert catalog["keys"] == 0 and catalog["indexes"] == 0
                    assert inspector.get_pk_constraint(table, listed_schema) == {"constrained_columns": [], "name": None}
                    assert inspector.get_foreign_keys(table, listed_schema) == []
                    assert inspector.get_indexes(table, listed_schema) == []
                    comment = inspector.get_table_comment(table, listed_schema)["text"]
                    assert comment == catalog["tables"][(schema, table)] and comment
                    # the same with the schema as a user types it
                    assert [{**c, "type": repr(c["type"])} for c in inspector.get_columns(table, schema)] == \
                        [{**c, "type": repr(c["type"])} for c in reflected]
                    seen += 1
            assert seen == len(catalog["tables"]) >= 20
        with engine.connect() as con:   # a reflected table is queried as Superset's SQL Lab does
            table = sa.Table("fct_indicator_values", sa.MetaData(), schema="marts", autoload_with=con)
            assert con.execute(sa.select(sa.func.count()).select_from(table)).scalar() == len(catalog["rows"])
    finally:
        engine.dispose()


def test_the_dialect_reflects_keys_constraints_indexes_and_types_from_duckdbs_catalog(tmp_path):
    """The release has no keys or indexes; a small database has all of them, read as the release is."""
    path = tmp_path / "schluessel.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("""
            CREATE SCHEMA s;
            CREATE TABLE s.area (code VARCHAR PRIMARY KEY, name VARCHAR UNIQUE, km2 DECIMAL(9, 3) NOT NULL DEFAULT 0,
                                 tags VARCHAR[], seen TIMESTAMPTZ, share DOUBLE, small FLOAT, raw BLOB,
                                 CHECK (km2 >= 0));
            CREATE TABLE s.value (area_code VARCHAR REFERENCES s.area (code), year INTEGER, n BIGINT,
                                  PRIMARY KEY (area_code, year));
            CREATE INDEX value_n ON s.value (n);
            CREATE UNIQUE INDEX value_lower ON s.value (year, lower(area_code));
            CREATE VIEW s.area_view AS SELECT code, km2 FROM s.area;
            COMMENT ON TABLE s.area IS 'Gebiete';
            COMMENT ON COLUMN s.area.code IS 'Gebietsschlüssel';""")
    engine = sa.create_engine(sqlalchemy_url(path), connect_args=sqlalchemy_connect_args())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            inspector = sa.inspect(engine)
            assert "schluessel.s" in inspector.get_schema_names()
            assert inspector.get_table_names("s") == ["area", "value"]
            assert inspector.get_view_names("s") == ["area_view"]
            columns = inspector.get_columns("area", "s")
            assert [(c["name"], c["type"].compile(engine.dialect), c["nullable"], c["default"], c["comment"])
                    for c in columns] == [
                ("code", "VARCHAR", False, None, "Gebietsschlüssel"), ("name", "VARCHAR", True, None, None),
                ("km2", "NUMERIC(9, 3)", False, "0", None), ("tags", "VARCHAR[]", True, None, None),
                ("seen", "TIMESTAMP WITH TIME ZONE", True, None, None),
                ("share", "DOUBLE PRECISION", True, None, None), ("small", "REAL", True, None, None),
                ("raw", "BYTEA", True, None, None)]
            assert [_duckdb_type(c["type"].compile(engine.dialect)) for c in columns] == [
                "VARCHAR", "VARCHAR", "DECIMAL(9,3)", "VARCHAR[]", "TIMESTAMP WITH TIME ZONE", "DOUBLE", "FLOAT",
                "BLOB"]
            assert [c["name"] for c in inspector.get_columns("area_view", "s")] == ["code", "km2"]
            assert inspector.get_pk_constraint("area", "s") == {"constrained_columns": ["code"], "name": "area_code_pkey"}
            assert inspector.get_pk_constraint("value", "s")["constrained_columns"] == ["area_code", "year"]
            assert inspector.get_foreign_keys("value", "s") == [{
                "name": "value_area_code_code_fkey", "constrained_columns": ["area_code"], "referred_schema": "s",
                "referred_table": "area", "referred_columns": ["code"], "options": {}}]
            assert inspector.get_foreign_keys("area", "s") == []
            assert inspector.get_indexes("value", "s") == [
                {"name": "value_lower", "unique": True, "column_names": ["year", None],
                 "expressions": ["year", "(lower(area_code))"]},
                {"name": "value_n", "unique": False, "column_names": ["n"]}]
            assert inspector.get_unique_constraints("area", "s") == [{"name": "area_name_key", "column_names": ["name"]}]
            assert inspector.get_table_comment("area", "s") == {"text": "Gebiete"}
            with pytest.raises(sa.exc.NoSuchTableError):
                inspector.get_columns("fehlt", "s")
            with pytest.raises(sa.exc.NoSuchTableError):
                inspector.get_pk_constraint("fehlt", "s")
            # whole-table reflection (SQLAlchemy's MetaData.reflect, Table(autoload_with=…)) goes the same way
            metadata = sa.MetaData()
            metadata.reflect(engine, schema="s", views=True)
        assert sorted(metadata.tables) == ["s.area", "s.area_view", "s.value"]
        value = metadata.tables["s.value"]
        assert [c.name for c in value.primary_key] == ["area_code", "year"]
        assert {(fk.parent.name, fk.column.table.name, fk.column.name) for fk in value.foreign_keys} == \
            {("area_code", "area", "code")}
    finally:
        engine.dispose()


def test_the_eight_inspector_calls_work_on_the_postgres_publication_as_the_reader(pg, catalog):
    engine = sa.create_engine(pg["reader"].replace("postgresql://", "postgresql+psycopg://"))
    published = _published_names(catalog)
    with psycopg.connect(pg["admin"]) as con:
        pg_columns = {(t, c): (kind, not not_null, remark) for t, c, kind, not_null, remark in con.execute("""
            SELECT cl.relname, a.attname, format_type(a.atttypid, NULL), a.attnotnull, col_description(cl.oid, a.attnum)
            FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
            JOIN pg_attribute a ON a.attrelid = cl.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE n.nspname = 'release'""").fetchall()}
    try:
        with engine.connect() as con:
            assert con.execute(sa.text("SELECT current_user")).scalar() == READER

            def pg_type(compiled: str) -> str:
                return con.execute(sa.text(f"SELECT pg_typeof(CAST(NULL AS {compiled}))::text")).scalar()

            inspector = sa.inspect(con)
            assert "release" in inspector.get_schema_names()
            assert inspector.get_table_names("release") == []          # the stable schema holds views
            assert sorted(inspector.get_view_names("release")) == sorted(published)
            for name, (schema, table) in published.items():
                duck = catalog["columns"][(schema, table)]
                reflected = inspector.get_columns(name, "release")
                assert [c["name"] for c in reflected] == [c[0] for c in duck], name
                assert [(c["name"], pg_type(c["type"].compile(engine.dialect)), c["nullable"], c["comment"])
                        for c in reflected] == [(c["name"], *pg_columns[(name, c["name"])]) for c in reflected]
                assert [c["comment"] for c in reflected] == [c[3] for c in duck] and all(c[3] for c in duck)
                assert inspector.get_pk_constraint(name, "release") == {"constrained_columns": [], "name": None}
                assert inspector.get_foreign_keys(name, "release") == []
                assert inspector.get_indexes(name, "release") == []
                comment = inspector.get_table_comment(name, "release")["text"]
                assert comment == catalog["tables"][(schema, table)] and comment, name
    finally:
        engine.dispose()

