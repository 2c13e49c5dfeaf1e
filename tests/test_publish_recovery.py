"""A publication that owns only what it made, never splits between PostgreSQL and DuckDB, and
leaves nothing behind: against a real PostgreSQL server.

What counts is what a reader sees, not the pipeline's own bookkeeping: the release id a BI user
reads through PostgreSQL's views (`release.audit_manifest`) against the one DuckDB's `current`
shows, the schemas PostgreSQL lists, the folders on disk."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import psycopg
import pytest

from dagster_project.release import publish
from dagster_project.release.postgres import PostgresPublishError, release_schema_name
from dagster_project.release.publish import publish_release
from dagster_project.release.store import ReleaseStore
from dagster_project.settings import REPO_ROOT
from tests.postgres_server import pipeline_server

KILLS = 10
SEED = 20261206


@pytest.fixture(scope="module")
def pg():
    with pipeline_server() as urls:
        with psycopg.connect(urls["admin"], autocommit=True) as admin:
            # a schema of another team that happens to match release_*; and one the pipeline's
            # login made by hand: neither is the publication's to drop
            admin.execute("CREATE ROLE archivar NOLOGIN")
            admin.execute("CREATE SCHEMA release_archiv AUTHORIZATION archivar")
            admin.execute("CREATE TABLE release_archiv.alt AS SELECT 1 AS x")
            admin.execute("ALTER TABLE release_archiv.alt OWNER TO archivar")
        with psycopg.connect(urls["pipeline"], autocommit=True) as con:
            con.execute("CREATE SCHEMA release_notizen")
            con.execute("CREATE TABLE release_notizen.notiz AS SELECT 'bitte behalten' AS text")
        yield urls


@pytest.fixture
def source(released_warehouse, tmp_path):
    """A copy of the shared warehouse's database in this test's folder: the auditors' files and the
    disclosure cache lie beside it, the test's own."""
    root, _ = released_warehouse
    database = tmp_path / "warehouse.duckdb"
    shutil.copyfile(root / "warehouse.duckdb", database)
    with duckdb.connect(str(database), read_only=True) as con:
        run_id = con.execute("SELECT max(run_id) FROM audit.dq_results").fetchone()[0]
    return database, run_id


def _publish(source, release_dir, url, label, **kwargs):
    database, run_id = source
    patch = pytest.MonkeyPatch()
    patch.setattr(publish, "input_fingerprint", lambda deliveries, rules=None: label)
    try:
        return publish_release(database, release_dir, run_id, keep=2, postgres_url=url, **kwargs)
    finally:
        patch.undo()


def _shown_by_postgres(url) -> str | None:
    """The release id a BI user reads through the views."""
    with psycopg.connect(url) as con:
        exists = con.execute("SELECT to_regclass('release.audit_manifest')").fetchone()[0]
        return con.execute("SELECT release_id FROM release.audit_manifest").fetchone()[0] if exists else None


def _release_schemas(url) -> set[str]:
    with psycopg.connect(url) as con:
        return {r[0] for r in con.execute(r"SELECT nspname FROM pg_namespace WHERE nspname LIKE 'release\_%'")}


def assert_nothing_split_or_left(release_dir: Path, url: str, published: set[str]) -> None:
    store = ReleaseStore(release_dir)
    current = store.current_id()
    assert current is not None
    assert _shown_by_postgres(url) == current, "PostgreSQL und DuckDB zeigen verschiedene Releases"
    with duckdb.connect(str(store.database(current)), read_only=True) as con:
        assert con.execute("SELECT release_id FROM audit.manifest").fetchone()[0] == current
    hidden = [p.name for p in [*release_dir.glob(".*"), *(release_dir / "releases").glob(".*")]
              if p.name != ".aktuell_verlauf"]
    assert hidden == [], f"Reste: {hidden}"
    assert set(store.release_ids()) <= published, f"Releases, die nie fertig wurden: {set(store.release_ids()) - published}"
    for release_id in store.release_ids():
        assert [p.name for p in store.folder(release_id).glob(".*")] == []
    audit_files = {p.name for p in (release_dir.parent / "pruefakten").iterdir()}   # beside the database
    assert audit_files <= published, f"Prüfakten ohne Release: {audit_files - published}"
    schemas = _release_schemas(url) - {"release_archiv", "release_notizen"}
    assert schemas <= {release_schema_name(i) for i in store.release_ids()}, schemas
    assert release_schema_name(current) in schemas
    assert {"release_archiv", "release_notizen"} <= _release_schemas(url)


def test_foreign_and_hand_made_release_schemas_survive_publishes(pg, source, tmp_path):
    release_dir = tmp_path / "release"
    ids = {_publish(source, release_dir, pg["pipeline"], f"fremd-{i}").release_id for i in range(4)}
    assert_nothing_split_or_left(release_dir, pg["pipeline"], ids)
    with psycopg.connect(pg["pipeline"]) as con:
        assert con.execute("SELECT text FROM release_notizen.notiz").fetchone()[0] == "bitte behalten"
    # only the kept releases' schemas are left of the four (keep=2)
    assert len(_release_schemas(pg["pipeline"]) - {"release_archiv", "release_notizen"}) == 2


def test_an_idle_bi_transaction_fails_the_publish_with_both_on_the_old_release(pg, source, tmp_path, monkeypatch):
    release_dir = tmp_path / "release"
    first = _publish(source, release_dir, pg["pipeline"], "leerlauf-1")
    with psycopg.connect(pg["admin"], autocommit=True) as admin:
        admin.execute("DO $$ BEGIN CREATE ROLE leser_leerlauf LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        admin.execute("GRANT dft_bi_leser TO leser_leerlauf")
    idle = psycopg.connect(pg["reader"].replace("superset_leser@", "leser_leerlauf@"))
    idle.execute("SELECT count(*) FROM release.fct_indicator_values").fetchone()   # transaction stays open
    monkeypatch.setenv("DFT_RELEASE_POSTGRES_LOCK_TIMEOUT_S", "2")
    try:
        started = time.perf_counter()
        with pytest.raises(PostgresPublishError, match="gesperrt"):
            _publish(source, release_dir, pg["pipeline"], "leerlauf-2")
        assert time.perf_counter() - started < 120
        assert_nothing_split_or_left(release_dir, pg["pipeline"], {first.release_id})
        assert ReleaseStore(release_dir).current_id() == first.release_id
    finally:
        idle.close()
    second = _publish(source, release_dir, pg["pipeline"], "leerlauf-3")
    assert_nothing_split_or_left(release_dir, pg["pipeline"], {first.release_id, second.release_id})
    assert ReleaseStore(release_dir).current_id() == second.release_id


@pytest.mark.parametrize("step", ["copy", "switch_views", "switch_current"])
def test_a_failure_at_each_step_leaves_both_on_the_previous_release(pg, source, tmp_path, monkeypatch, step):
    release_dir = tmp_path / "release"
    first = _publish(source, release_dir, pg["pipeline"], f"schritt-{step}-1")
    from dagster_project.release import postgres, store

    def fail(*args, **kwargs):
        raise OSError(f"eingespielter Fehler in {step}")

    target = {"copy": (postgres, "_copy_table"), "switch_views": (postgres, "_switch_views"),
              "switch_current": (store.ReleaseStore, "switch_current")}[step]
    if step == "switch_views":   # fail the new release's switch only, not the undo
        original = postgres._switch_views

        def fail(pg_connection, schema, release_id, *rest):   # noqa: F811
            if release_id != first.release_id:
                raise OSError("eingespielter Fehler beim Umschalten")
            return original(pg_connection, schema, release_id, *rest)
    monkeypatch.setattr(*target, fail)
    with pytest.raises(OSError, match="eingespielter Fehler"):
        _publish(source, release_dir, pg["pipeline"], f"schritt-{step}-2")
    monkeypatch.undo()
    assert ReleaseStore(release_dir).current_id() == first.release_id
    assert_nothing_split_or_left(release_dir, pg["pipeline"], {first.release_id})


def test_kill_9_at_ten_random_moments_of_a_publish(pg, source, tmp_path):
    """A publish is killed (kill -9 on its process group) at ten moments spread over its length;
    after each, the next publish completes, and PostgreSQL and `current` agree with nothing left."""
    database, _ = source
    release_dir = tmp_path / "release"
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}

    def start(label):
        return subprocess.Popen([sys.executable, "-m", "tests.publish_driver", str(database), str(release_dir),
                                 pg["pipeline"], label], cwd=REPO_ROOT, env=environment, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)

    def complete(label) -> tuple[str, str]:
        process = start(label)
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-3000:]
        lines = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
        return lines["RELEASE"].strip(), lines.get("AUFGERAEUMT", "")

    published = {complete("kill-0")[0]}
    started = time.perf_counter()
    published.add(complete("kill-1")[0])      # the length of a publish with the content cached
    length = time.perf_counter() - started
    chooser = random.Random(SEED)
    moments = sorted(chooser.uniform(0.5, length) for _ in range(KILLS))
    cleaned_any = []
    for number, moment in enumerate(moments):
        process = start(f"kill-{number}-abgebrochen")
        time.sleep(moment)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=60)
        # killed after its switch of `current` (or finished before the kill): a complete release
        published.add(ReleaseStore(release_dir).current_id())
        release_id, cleaned = complete(f"kill-{number}-danach")
        published.add(release_id)
        cleaned_any.append(cleaned)
        assert_nothing_split_or_left(release_dir, pg["pipeline"], published)
    # the kills hit something to clean up, and the runs after them said what they removed
    assert any(cleaned_any), "kein Abbruch hat etwas hinterlassen: die Zeitpunkte treffen die Freigabe nicht"


def test_missing_rights_are_named_before_anything_is_written(pg, source, tmp_path, monkeypatch):
    """A pipeline login that may not create the reader role, or no schemas: the publish stops with
    the command that fixes it, and PostgreSQL holds no new schema."""
    from dagster_project.release.postgres import publish_to_postgres

    first = _publish(source, tmp_path / "release", pg["pipeline"], "rechte-1")
    database = ReleaseStore(tmp_path / "release").database(first.release_id)
    with psycopg.connect(pg["admin"], autocommit=True) as admin:
        admin.execute("CREATE ROLE ohne_createrole LOGIN")
        admin.execute("GRANT CREATE ON DATABASE sozialplanung TO ohne_createrole")
        admin.execute("CREATE ROLE ohne_create LOGIN CREATEROLE")
    before = _release_schemas(pg["admin"])
    monkeypatch.setenv("DFT_RELEASE_POSTGRES_READER_ROLE", "fehlende_leserolle")
    with pytest.raises(PostgresPublishError, match="CREATE ROLE fehlende_leserolle NOLOGIN"):
        publish_to_postgres(pg["pipeline"].replace("pipeline@", "ohne_createrole@"), database, "20990101T000000000",
                            keep=[])
    monkeypatch.delenv("DFT_RELEASE_POSTGRES_READER_ROLE")
    with pytest.raises(PostgresPublishError, match="GRANT CREATE ON DATABASE sozialplanung TO ohne_create"):
        publish_to_postgres(pg["pipeline"].replace("pipeline@", "ohne_create@"), database, "20990101T000000001",
                            keep=[])
    assert _release_schemas(pg["admin"]) == before
