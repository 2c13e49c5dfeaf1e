"""When dbt must rebuild everything: the incremental models (rebuilt by reference year, see
dbt/macros/incremental_by_year.sql) only know which deliveries they were built from, not which
version of the dbt project built them. The fingerprint of the project (models, macros, seeds,
tests, settings) is recorded after each complete build in audit.dbt_builds; when it differs, the
next build runs with --full-refresh.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb

DBT_SOURCE_FOLDERS = ("models", "macros", "seeds", "tests")
BUILDS_TABLE = "audit.dbt_builds"


def project_files(project_dir: Path) -> list[Path]:
    paths = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for folder in DBT_SOURCE_FOLDERS:
        paths.extend(p for p in (project_dir / folder).rglob("*") if p.is_file())
    return sorted(p for p in paths if p.exists())


def project_fingerprint(project_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in project_files(project_dir):
        digest.update(str(path.relative_to(project_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def last_fingerprint(db_path: Path) -> str | None:
    if not db_path.exists():
        return None
    con = duckdb.connect(str(db_path))
    try:
        exists = con.execute("SELECT count(*) FROM information_schema.tables "
                             "WHERE table_schema = 'audit' AND table_name = 'dbt_builds'").fetchone()[0]
        if not exists:
            return None
        row = con.execute(f"SELECT fingerprint FROM {BUILDS_TABLE} ORDER BY finished_at DESC LIMIT 1").fetchone()
        return row[0] if row else None
    finally:
        con.close()


def needs_full_refresh(db_path: Path, project_dir: Path) -> bool:
    """True when the last complete build was made by another version of the dbt project (or none)."""
    return last_fingerprint(db_path) != project_fingerprint(project_dir)


def record_build(db_path: Path, project_dir: Path, full_refresh: bool) -> None:
    con = duckdb.connect(str(db_path))
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS audit")
        con.execute(f"CREATE TABLE IF NOT EXISTS {BUILDS_TABLE} (fingerprint VARCHAR NOT NULL, "
                    "full_refresh BOOLEAN NOT NULL, finished_at TIMESTAMP NOT NULL)")
        con.execute(f"INSERT INTO {BUILDS_TABLE} VALUES (?, ?, ?)",
                    [project_fingerprint(project_dir), full_refresh, dt.datetime.now()])
    finally:
        con.close()


def build_args(db_path: Path, project_dir: Path) -> tuple[list[str], bool]:
    """The `dbt build` arguments for this warehouse: with --full-refresh when the project changed."""
    full = needs_full_refresh(db_path, project_dir)
    return (["build", "--full-refresh"] if full else ["build"]), full
