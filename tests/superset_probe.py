"""Apache Superset against the PostgreSQL publication, through Superset's own code: run *inside*
`.venv-superset` (only Superset and psycopg2 there; nothing of this project is imported).

    .venv-superset/bin/python tests/superset_probe.py postgresql+psycopg2://superset_leser:…@host:port/sozialplanung

What a person does in Superset's UI, through the same REST API the UI calls (Flask's test client,
no web server, no browser): a throwaway Superset home in a temporary folder (SQLite metadata, its
own SECRET_KEY, no examples; `superset db upgrade` and `superset init` in-process), an admin login
(JWT, with the CSRF token as the UI sends it), then

1. test the connection and add the database (`/api/v1/database/`: Superset's
   TestConnectionDatabaseCommand and CreateDatabaseCommand),
2. list the schemas and tables Superset sees, preview the view as the dataset dialog does
   (`table_metadata`: SQLAlchemy's inspector for columns, primary key, foreign keys, indexes and the
   comment), add the dataset `release.fct_indicator_values` (`/api/v1/dataset/`: CreateDatasetCommand,
   which reads the columns again and makes the saved metric COUNT(*)),
3. a chart query (`/api/v1/chart/data`: ChartDataCommand; Superset writes the SQL itself): the
   saved metric COUNT(*) and SUM(numerator) by area level, over the unsuppressed values,
4. the same numbers straight from PostgreSQL (psycopg2) to compare with.

Prints the rows and one German summary line; exits 1 with a German message on any failure.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

SCHEMA, TABLE = "release", "fct_indicator_values"
DIMENSION, VALUE_COLUMN, FILTER_COLUMN = "area_level", "numerator", "is_suppressed"
DATABASE_NAME = "Sozialplanung (PostgreSQL-Release)"
ADMIN, ADMIN_PASSWORD = "pruefer", secrets.token_urlsafe(16)
SUM_LABEL = f"SUM({VALUE_COLUMN})"


class ProbeError(RuntimeError):
    pass


def _write_config(home: Path) -> Path:
    config = home / "superset_config.py"
    config.write_text(
        "# a throwaway Superset home for tests/superset_probe.py\n"
        "import logging\n"
        "from sqlalchemy import event\n"
        "from sqlalchemy.engine import Engine\n"
        "\n"
        "@event.listens_for(Engine, 'connect')\n"
        "def _throwaway_sqlite(dbapi_connection, connection_record):\n"
        "    # the metadata database is thrown away afterwards: no waiting for the disk on every commit\n"
        "    if type(dbapi_connection).__module__.startswith('sqlite3'):\n"
        "        dbapi_connection.execute('PRAGMA synchronous = OFF')\n"
        "        dbapi_connection.execute('PRAGMA journal_mode = MEMORY')\n"
        "\n"
        f"SECRET_KEY = {secrets.token_urlsafe(42)!r}\n"
        f"SQLALCHEMY_DATABASE_URI = {'sqlite:///' + str(home / 'superset.db') + '?check_same_thread=false'!r}\n"
        "SQLALCHEMY_EXAMPLES_URI = None\n"
        "CACHE_CONFIG = {'CACHE_TYPE': 'NullCache'}\n"
        "DATA_CACHE_CONFIG = {'CACHE_TYPE': 'NullCache'}\n"
        "TALISMAN_ENABLED = False\n"
        "CONTENT_SECURITY_POLICY_WARNING = False\n"
        "LOG_LEVEL = logging.WARNING\n",
        encoding="utf-8")
    return config


def _check(response, what: str, status: tuple[int, ...] = (200, 201)) -> dict:
    try:
        body = response.get_json()
    except Exception:  # noqa: BLE001 — a non-JSON answer is reported as text below
        body = None
    if response.status_code not in status:
        text = json.dumps(body, ensure_ascii=False) if body is not None else response.get_data(as_text=True)[:2000]
        raise ProbeError(f"{what}: HTTP {response.status_code}: {text}")
    return body or {}


def _set_up(app) -> None:
    """`superset db upgrade`, `superset init` and an admin account, in-process."""
    from flask_migrate import upgrade

    from superset import appbuilder, security_manager
    from superset.extensions import db

    with app.app_context():
        upgrade()
        appbuilder.add_permissions(update_perms=True)
        security_manager.sync_role_definitions()
        admin_role = security_manager.find_role("Admin")
        if not security_manager.add_user(ADMIN, "Prüf", "Konto", "pruefer@example.invalid", admin_role,
                                         password=ADMIN_PASSWORD):
            raise ProbeError("Superset konnte das Prüfkonto nicht anlegen")
        db.session.commit()


def _login(client) -> dict[str, str]:
    """A login through the security API (JWT, as API clients log in) and the CSRF token that the UI's
    writing requests carry."""
    token = _check(client.post("/api/v1/security/login", json={
        "username": ADMIN, "password": ADMIN_PASSWORD, "provider": "db", "refresh": False}),
        "Anmeldung")["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    csrf = _check(client.get("/api/v1/security/csrf_token/", headers=headers), "CSRF-Token")["result"]
    return {**headers, "X-CSRFToken": csrf, "Referer": "http://localhost/"}


def _expected(url: str) -> dict[str, tuple[int, int]]:
    """The chart's numbers straight from PostgreSQL, to compare with."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as con:
            rows = con.execute(sa.text(
                f"SELECT {DIMENSION}, count(*), sum({VALUE_COLUMN}) FROM {SCHEMA}.{TABLE} "
                f"WHERE NOT {FILTER_COLUMN} GROUP BY {DIMENSION}")).fetchall()
    finally:
        engine.dispose()
    return {r[0]: (int(r[1]), int(r[2] or 0)) for r in rows}


def probe(url: str) -> str:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    # in memory where the machine has /dev/shm: Superset's set-up writes its metadata in hundreds of commits
    home = Path(tempfile.mkdtemp(prefix="dft_superset_", dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None))
    try:
        os.environ["SUPERSET_HOME"] = str(home)
        os.environ["SUPERSET_CONFIG_PATH"] = str(_write_config(home))
        logging.basicConfig(level=logging.WARNING)
        started = time.time()
        log = io.StringIO()
        try:
            # the migrations' log and prints, shown only on failure
            with contextlib.redirect_stderr(log), contextlib.redirect_stdout(log):
                from superset.app import create_app

                app = create_app()
                _set_up(app)
        except Exception:
            sys.stderr.write(log.getvalue()[-20000:])
            raise
        set_up_seconds = time.time() - started
        client = app.test_client()
        headers = _login(client)

        # 1. the connection, as the UI's "Connect a database" dialog sends it
        connection = {"database_name": DATABASE_NAME, "sqlalchemy_uri": url, "configuration_method": "sqlalchemy_form",
                      "engine": "postgresql", "impersonate_user": False}
        _check(client.post("/api/v1/database/test_connection/", json=connection, headers=headers), "Verbindungstest")
        database = {**connection, "expose_in_sqllab": True, "allow_dml": False, "allow_file_upload": False,
                    "allow_run_async": False}
        database_id = _check(client.post("/api/v1/database/", json=database, headers=headers),
                             "Datenbank anlegen")["id"]

        # 2. schemas and tables as the dataset dialog lists them, then the dataset
        schemas = _check(client.get(f"/api/v1/database/{database_id}/schemas/", headers=headers), "Schemas")["result"]
        if SCHEMA not in schemas:
            raise ProbeError(f"Superset sieht das Schema {SCHEMA!r} nicht (nur {schemas})")
        rison = f"(schema_name:{SCHEMA},force:!t)"
        tables = _check(client.get(f"/api/v1/database/{database_id}/tables/?q={rison}", headers=headers),
                        "Tabellen")["result"]
        names = {t["value"] for t in tables}
        if TABLE not in names:
            raise ProbeError(f"Superset listet {SCHEMA}.{TABLE} nicht (gefunden: {sorted(names)})")
        # the dialog's preview of the chosen table: columns, primary key, foreign keys, indexes, comment
        metadata = _check(client.get(f"/api/v1/database/{database_id}/table_metadata/?name={TABLE}&schema={SCHEMA}",
                                     headers=headers), "Tabellenmetadaten")
        if not metadata.get("columns"):
            raise ProbeError(f"Tabellenmetadaten ohne Spalten: {metadata}")
        if not metadata.get("comment"):
            raise ProbeError(f"Superset liest die Beschreibung von {SCHEMA}.{TABLE} nicht")
        dataset_id = _check(client.post("/api/v1/dataset/", json={
            "database": database_id, "schema": SCHEMA, "table_name": TABLE}, headers=headers),
            "Datensatz anlegen")["id"]
        dataset = _check(client.get(f"/api/v1/dataset/{dataset_id}", headers=headers), "Datensatz lesen")["result"]
        columns = {c["column_name"]: c for c in dataset["columns"]}
        for needed in (DIMENSION, VALUE_COLUMN, FILTER_COLUMN):
            if needed not in columns:
                raise ProbeError(f"Datensatz ohne Spalte {needed!r} (Spalten: {sorted(columns)})")
        if not columns[DIMENSION].get("groupby"):
            raise ProbeError(f"Spalte {DIMENSION!r} ist in Superset nicht gruppierbar")
        described = sum(1 for c in dataset["columns"] if c.get("description"))

        # 3. a chart: a bar chart's query context, as Explore posts it
        form_data = {"datasource": f"{dataset_id}__table", "viz_type": "echarts_timeseries_bar",
                     "groupby": [DIMENSION], "metrics": ["count"]}
        query_context = {
            "datasource": {"id": dataset_id, "type": "table"},
            "force": True,
            "queries": [{
                "columns": [DIMENSION],
                "metrics": ["count", {"expressionType": "SIMPLE", "aggregate": "SUM", "label": SUM_LABEL,
                                      "column": {"column_name": VALUE_COLUMN}}],
                "filters": [{"col": FILTER_COLUMN, "op": "==", "val": False}],
                "orderby": [[DIMENSION, True]],
                "row_limit": 1000,
            }],
            "form_data": form_data,
            "result_format": "json",
            "result_type": "full",
        }
        result = _check(client.post("/api/v1/chart/data", json=query_context, headers=headers),
                        "Diagrammabfrage")["result"][0]
        if result.get("error"):
            raise ProbeError(f"Diagrammabfrage: {result['error']}")
        rows = result["data"]
        print(f"Von Superset erzeugtes SQL:\n{result.get('query', '').strip()}\n")
        print(f"{DIMENSION:<24} {'count':>10} {SUM_LABEL:>16}")
        for row in rows:
            print(f"{row[DIMENSION]:<24} {row['count']:>10} {row[SUM_LABEL]:>16}")

        # 4. compare with PostgreSQL itself
        got = {r[DIMENSION]: (int(r["count"]), int(r[SUM_LABEL] or 0)) for r in rows}
        expected = _expected(url)
        if not rows or got != expected:
            raise ProbeError(f"Superset-Ergebnis {got} weicht von PostgreSQL {expected} ab")
        return (f"Superset: Datenbank angelegt (Verbindungstest bestanden), Datensatz {SCHEMA}.{TABLE} "
                f"({len(columns)} Spalten, {described} mit Beschreibung), Diagrammabfrage COUNT(*) und "
                f"{SUM_LABEL} nach {DIMENSION}: {len(rows)} Zeilen, gleich wie direkt in PostgreSQL "
                f"(Einrichtung {set_up_seconds:.1f} s).")
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("Aufruf: superset_probe.py <PostgreSQL-URL des Leserkontos>", file=sys.stderr)
        return 2
    try:
        summary = probe(argv[1])
    except ProbeError as error:
        print(f"FEHLER Superset: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 — any failure inside Superset is a failed check
        import traceback

        traceback.print_exc()
        print(f"FEHLER Superset: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
