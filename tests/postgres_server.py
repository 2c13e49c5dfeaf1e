"""A real PostgreSQL server for the tests, started in a temporary folder from Debian's packages
(`.ci/run` and `make test` install them). PostgreSQL refuses to run as root, so as root the server
runs as the `postgres` user. Never skipped: a missing server is a failing test, with a message."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or ([shutil.which(name)] if shutil.which(name) else [])
    if not found:
        raise RuntimeError(f"PostgreSQL-Programm {name} nicht gefunden: `apt-get install postgresql` "
                           "(das erledigen .ci/run und make test als root).")
    return found[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_server():
    """Yields the superuser URL of a fresh server on 127.0.0.1; removes it afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="dft_pg_"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(sockets, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run([*as_postgres, _bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                    "--no-sync", "-E", "UTF8", "--locale=C"], check=True, capture_output=True, timeout=120)
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    subprocess.run([*as_postgres, _bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "server.log"),
                    "-w", "-t", "60", "start"], check=True, capture_output=True, timeout=120)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_postgres, _bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def wait_for(url: str, seconds: float = 30) -> None:
    import psycopg

    end = time.time() + seconds
    while True:
        try:
            psycopg.connect(url).close()
            return
        except psycopg.OperationalError:
            if time.time() > end:
                raise
            time.sleep(0.2)


def pipeline_database(admin_url: str) -> dict[str, str]:
    """The database `sozialplanung` owned by the pipeline's login `pipeline` (may create roles, is no
    superuser), as docs/bi.md sets it up; URLs of the admin, the pipeline and a reader login
    `superset_leser` (made by the caller once the reader role exists)."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute("CREATE ROLE pipeline LOGIN CREATEROLE")
        admin.execute("CREATE DATABASE sozialplanung OWNER pipeline")
    base = admin_url.rsplit("/", 1)[0].replace("postgres@", "{user}@")
    return {"admin": base.format(user="postgres") + "/sozialplanung",
            "pipeline": base.format(user="pipeline") + "/sozialplanung",
            "reader": base.format(user="superset_leser") + "/sozialplanung"}


@contextmanager
def pipeline_server():
    """A fresh server (postgres_server) with the pipeline's database (pipeline_database): yields its
    URLs, `admin`, `pipeline` and `reader`."""
    with postgres_server() as admin_url:
        wait_for(admin_url)
        yield pipeline_database(admin_url)
