"""A BI connection reaches the release and nothing else; no client can lock the release.

The connection is opened exactly as docs/bi.md says (duckdb-engine through SQLAlchemy, as Superset
does). The read-write attempt runs as an unprivileged user: CI runs as root, where file modes stop
nobody.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from dagster_project.bi.connection import (BI_CONFIG, connect_release, jdbc_url, odbc_connection_string,
                                           sqlalchemy_connect_args, sqlalchemy_url)
from dagster_project.release import publish
from dagster_project.release.publish import publish_release
from dagster_project.release.store import ReleaseStore
from dagster_project.settings import REPO_ROOT
from tests.unprivileged import reader_python, remove_tree

BI_DOC = (REPO_ROOT / "docs" / "bi.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def release_db(released_warehouse) -> Path:
    root, _ = released_warehouse
    return root / "release" / "current" / "warehouse.duckdb"


def test_docs_give_exactly_these_settings(release_db, monkeypatch):
    """What the tests use is what docs/bi.md tells people to type."""
    for text in ('"enable_external_access": false', '"lock_configuration": true', '"read_only": true',
                 "access_mode=READ_ONLY", "duckdb.read_only=true", "release/current/warehouse.duckdb"):
        assert text in BI_DOC, text
    monkeypatch.delenv("DFT_BI_THREADS", raising=False)
    monkeypatch.delenv("DFT_BI_MEMORY_LIMIT", raising=False)
    assert sqlalchemy_connect_args() == {"read_only": True, "config": {"threads": 2, "memory_limit": "1GB", **BI_CONFIG}}
    assert json.dumps({"connect_args": sqlalchemy_connect_args()}) in BI_DOC   # Superset's example
    monkeypatch.setenv("DFT_BI_THREADS", "1")
    assert sqlalchemy_connect_args()["config"]["threads"] == 1
    assert "enable_external_access=false" in jdbc_url(release_db) and "lock_configuration=true" in jdbc_url(release_db)
    assert "access_mode=READ_ONLY" in odbc_connection_string(release_db)


def test_a_bi_connection_reads_every_mart_and_cannot_leave_the_release(released_warehouse, release_db, tmp_path):
    root, _ = released_warehouse
    outside_parquet = tmp_path / "aussen.parquet"
    duckdb.sql("COPY (SELECT 1 AS a) TO '%s' (FORMAT parquet)" % outside_parquet)
    copy_target = tmp_path / "kopie.csv"
    delivery = next((root / "inbox" / "einwohner").glob("*.csv"))
    engine = sa.create_engine(sqlalchemy_url(release_db), connect_args=sqlalchemy_connect_args())
    forbidden = {
        "read_csv": f"SELECT * FROM read_csv('{delivery}', delim=';')",
        "read_parquet": f"SELECT * FROM read_parquet('{outside_parquet}')",
        "glob": "SELECT * FROM glob('/etc/*')",
        "attach": f"ATTACH '{root / 'warehouse.duckdb'}' AS intern",
        "copy_to": f"COPY (SELECT * FROM marts.dim_area) TO '{copy_target}'",
        "install": "INSTALL httpfs",
        "load": "LOAD httpfs",
        "set_access": "SET enable_external_access = true",
        "set_lock": "SET lock_configuration = false",
        "set_other": "SET threads = 1",
        "write": "CREATE TABLE marts.x AS SELECT 1",
    }
    refused = {}
    with engine.connect() as con:
        marts = [r[0] for r in con.execute(sa.text(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'")).fetchall()]
        assert len(marts) >= 20
        rows = {m: con.execute(sa.text(f'SELECT count(*) FROM marts."{m}"')).scalar() for m in marts}
        for name, statement in forbidden.items():
            try:
                con.execute(sa.text(statement)).fetchall()
            except sa.exc.DBAPIError as error:
                refused[name] = str(error.orig)
                con.rollback()
        # still usable after every refusal
        assert con.execute(sa.text("SELECT count(*) FROM marts.fct_indicator_values")).scalar() == \
            rows["fct_indicator_values"]
    engine.dispose()
    assert set(refused) == set(forbidden), f"nicht abgewiesen: {set(forbidden) - set(refused)}"
    assert not copy_target.exists()
    for name in ("read_csv", "read_parquet", "glob", "attach", "copy_to"):   # the dialect's BI_LOCKDOWN
        assert "File system LocalFileSystem has been disabled by configuration" in refused[name], refused[name]
    assert "locked" in refused["set_access"] and "locked" in refused["set_other"]
    for mart in ("fct_indicator_values", "fct_area_profile", "fct_immigration_monitoring",
                 "dim_area", "dim_indicator", "dim_suppression_rule"):
        assert rows[mart] > 0, mart


def test_a_read_write_open_fails_at_once_while_readers_and_the_next_publish_go_on(released_warehouse, monkeypatch):
    root, _ = released_warehouse
    # releases every account may read (DFT_RELEASE_GROUP, dagster_project/file_access.py: by default
    # only the pipeline's group), in a release folder that every user may enter (pytest's own
    # folders are private to root)
    monkeypatch.setenv("DFT_RELEASE_GROUP", "alle")
    shared = Path(tempfile.mkdtemp(prefix="dft_bi_"))
    shared.chmod(0o755)
    try:
        with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
            run_id = con.execute("SELECT max(run_id) FROM audit.dq_results").fetchone()[0]
        monkeypatch.setattr(publish, "input_fingerprint", lambda deliveries, rules=None: "erste")
        first = publish_release(root / "warehouse.duckdb", shared, run_id)
        database = shared / "current" / "warehouse.duckdb"
        # a reader that opens the current release again and again, as a dashboard does
        reader = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, sys, time
            seen, failures, queries = set(), 0, 0
            end = time.time() + 120
            while time.time() < end:
                try:
                    con = duckdb.connect({str(database)!r}, read_only=True,
                                         config={{'enable_external_access': False, 'lock_configuration': True}})
                    seen.add(con.execute("SELECT release_id FROM audit.manifest").fetchone()[0])
                    con.execute("SELECT count(*) FROM marts.fct_indicator_values").fetchone()
                    con.close()
                    queries += 1
                except Exception as error:
                    failures += 1
                    print("FEHLER", error, file=sys.stderr)
                if queries == 20:
                    print("bereit", flush=True)
                if len(seen) > 1 and queries > 60:
                    break
            print(queries, failures, " ".join(sorted(seen)), flush=True)
        """)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert reader.stdout.readline().strip() == "bereit"
        prefix, who = reader_python()
        attempt = subprocess.run([*prefix, textwrap.dedent(f"""
            import duckdb
            try:
                duckdb.connect({str(database)!r})
                print("GEOEFFNET")
            except Exception as error:
                print(type(error).__name__, error)
            con = duckdb.connect({str(database)!r}, read_only=True,
                                 config={{'enable_external_access': False, 'lock_configuration': True}})
            print("LESEN", con.execute("SELECT count(*) FROM marts.dim_area").fetchone()[0])
        """)], capture_output=True, text=True, timeout=120)
        monkeypatch.setattr(publish, "input_fingerprint", lambda deliveries, rules=None: "zweite")
        second = publish_release(root / "warehouse.duckdb", shared, run_id)
        out, err = reader.communicate(timeout=180)
        queries, failures, seen = out.split(maxsplit=2)
        assert attempt.returncode == 0, attempt.stderr
        lines = attempt.stdout.splitlines()
        assert "GEOEFFNET" not in attempt.stdout, f"{who} konnte das Release zum Schreiben öffnen"
        assert lines[0].startswith("IOException") and "Permission denied" in lines[0], (who, lines)
        assert lines[1].startswith("LESEN ") and int(lines[1].split()[1]) > 0
        # the message is the one docs/bi.md shows (DuckDB names the release current points to)
        assert f'/releases/{first.release_id}/warehouse.duckdb": Permission denied' in lines[0], lines[0]
        assert 'Cannot open file "…/release/releases/<Release-Kennung>/warehouse.duckdb": Permission denied' in BI_DOC
        assert int(failures) == 0, err
        assert seen.split() == sorted([first.release_id, second.release_id])
        assert ReleaseStore(shared).current_id() == second.release_id
    finally:
        reader_alive = "reader" in locals() and reader.poll() is None
        if reader_alive:
            reader.kill()
        remove_tree(shared)


def test_connect_release_helper_is_confined(release_db):
    con = connect_release(release_db)
    try:
        assert con.execute("SELECT current_setting('enable_external_access')").fetchone()[0] is False
        with pytest.raises(duckdb.Error):
            con.execute("SET enable_external_access = true")
    finally:
        con.close()


def test_the_cookbook_queries_of_the_docs_run_on_a_bi_connection(release_db):
    import re

    cookbook = BI_DOC.split("\n## Abfragen (Kochbuch)", 1)[1].split("\n## ", 1)[0]   # not the PostgreSQL setup
    queries = re.findall(r"```sql\n(.*?)```", cookbook, flags=re.S)
    assert len(queries) == 3
    engine = sa.create_engine(sqlalchemy_url(release_db), connect_args=sqlalchemy_connect_args())
    with engine.connect() as con:
        results = [con.execute(sa.text(q)).fetchall() for q in queries]
    engine.dispose()
    indicator_over_time, _social_index_map, eu2 = results   # the test sample has too few years for the index
    assert indicator_over_time and eu2
    assert all(row[0] in (2022, 2023) for row in indicator_over_time)
