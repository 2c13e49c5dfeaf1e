"""`make bi-check`: Apache Superset really reads the PostgreSQL publication (docs/bi.md).

    python -m tests.bi_check            (the project's venv; `make bi-check` builds .venv-superset first)

A throwaway PostgreSQL server (tests/postgres_server.py) gets the pipeline's login `pipeline`
(CREATEROLE, owner of the database `sozialplanung`, as in tests/test_postgres_release.py), the current
release published into it exactly as the pipeline does (`publish_to_postgres`), and a reader login
`superset_leser` with a password, member of the read-only role `dft_bi_leser`. Then
tests/superset_probe.py runs in Superset's own virtual environment (.venv-superset, from
requirements-superset.lock) with the reader's URL: database, dataset, chart query through Superset.
Exit 0 when Superset did all of it; the times of each step are printed.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from dagster_project.release.postgres import publish_to_postgres, reader_role
from dagster_project.release.store import ReleaseStore
from dagster_project.settings import REPO_ROOT, WarehousePaths
from tests.postgres_server import pipeline_server

SUPERSET_PYTHON = REPO_ROOT / ".venv-superset" / "bin" / "python"
PROBE = Path(__file__).resolve().parent / "superset_probe.py"
PIPELINE, DATABASE, READER = "pipeline", "sozialplanung", "superset_leser"
PROBE_TIMEOUT_SECONDS = 900


class BiCheckError(RuntimeError):
    pass


def _current_release() -> tuple[str, Path]:
    release_dir = WarehousePaths.from_environment().release_dir
    store = ReleaseStore(release_dir)
    release_id = store.current_id()
    if release_id is None:
        raise BiCheckError(f"Kein aktuelles Release unter {release_dir / 'current'}: zuerst `make run`.")
    database = store.database(release_id)
    if not database.exists():
        raise BiCheckError(f"Release {release_id} ohne Datenbankdatei ({database}): zuerst `make run`.")
    return release_id, database


def _probe_environment() -> dict[str, str]:
    """The probe sees Superset's venv only: no PYTHONPATH (the Makefile sets it to the project), so
    nothing of the project can be imported by accident; no telemetry."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["DO_NOT_TRACK"] = "1"
    return env


def run() -> None:
    release_id, release_db = _current_release()
    check(release_id, release_db)


def check(release_id: str, release_db: Path) -> None:
    """Publish the release into a throwaway PostgreSQL and let Superset read it (tests/superset_probe.py)."""
    if not SUPERSET_PYTHON.exists():
        raise BiCheckError(f"{SUPERSET_PYTHON} fehlt: `make bi-check` (und `make test`) baut .venv-superset aus "
                           "requirements-superset.lock.")
    print(f">> Release {release_id} ({release_db})", flush=True)
    started = time.perf_counter()
    with pipeline_server() as urls:                                    # login `pipeline`, database `sozialplanung`
        server = urls["admin"].rsplit("/", 1)[0].split("@", 1)[1]      # 127.0.0.1:<port>
        server_seconds = time.perf_counter() - started

        begun = time.perf_counter()
        schema = publish_to_postgres(f"postgresql://{PIPELINE}@{server}/{DATABASE}", release_db, release_id,
                                     keep=[release_id])
        publish_seconds = time.perf_counter() - begun
        print(f">> PostgreSQL: Release veröffentlicht in {schema}, Sichten in `release` "
              f"({publish_seconds:.1f} s)", flush=True)

        password = secrets.token_urlsafe(18)
        with psycopg.connect(f"postgresql://postgres@{server}/{DATABASE}", autocommit=True) as admin:
            admin.execute(f"CREATE ROLE {READER} LOGIN PASSWORD '{password}'")
            admin.execute(f"GRANT {reader_role()} TO {READER}")
        reader_url = f"postgresql+psycopg2://{READER}:{password}@{server}/{DATABASE}"

        print(f">> Superset ({SUPERSET_PYTHON.relative_to(REPO_ROOT)}) als {READER}, Mitglied von "
              f"{reader_role()}:", flush=True)
        begun = time.perf_counter()
        try:
            probe = subprocess.run([str(SUPERSET_PYTHON), str(PROBE), reader_url], env=_probe_environment(),
                                   cwd=PROBE.parent, timeout=PROBE_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as error:
            raise BiCheckError(f"Superset hat nach {PROBE_TIMEOUT_SECONDS} s nicht geantwortet.") from error
        probe_seconds = time.perf_counter() - begun
        if probe.returncode != 0:
            raise BiCheckError(f"Superset-Prüfung gescheitert (Exit-Code {probe.returncode}, "
                               f"nach {probe_seconds:.1f} s); Meldung oben.")
    total = time.perf_counter() - started
    print(f">> bi-check bestanden in {total:.1f} s: PostgreSQL-Server {server_seconds:.1f} s, "
          f"Veröffentlichung {publish_seconds:.1f} s, Superset {probe_seconds:.1f} s.", flush=True)


def main() -> int:
    try:
        run()
    except BiCheckError as error:
        print(f"FEHLER bi-check: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
