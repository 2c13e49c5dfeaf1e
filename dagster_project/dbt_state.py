"""What dbt must build. The incremental models (rebuilt by reference year, see
dbt/macros/incremental_by_year.sql) only know which deliveries they were built from, not which
version of the dbt project built them. The fingerprint of the project (models, macros, seeds,
tests, settings) is recorded after each complete build in audit.dbt_builds; when it differs, the
next build runs with --full-refresh.

Beside it, the deliveries each register's raw layer held at the last complete build are recorded
(audit.dbt_built_deliveries: register, period, file). A later build of the same project builds and
tests only the nodes downstream of the registers whose deliveries differ since (a new SGB II month:
the 12 models that read SGB II, not the 39): every other node would be computed from the same
inputs by the same code. Unit tests check the code, not the data: they run when the project
changed. A backfill, a changed project or a warehouse without that record builds everything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb

from dagster_project import city_profile
from dagster_project.ingest.load import has_audit_table

DBT_SOURCE_FOLDERS = ("models", "macros", "seeds", "tests")
BUILDS_TABLE = "audit.dbt_builds"
DELIVERIES_TABLE = "audit.dbt_built_deliveries"


def project_files(project_dir: Path) -> list[Path]:
    """The dbt project's files and those of the selected city profile (its city.yml and seeds):
    another city or a changed area list is another project."""
    profile = city_profile.current()
    paths = [project_dir / "dbt_project.yml", project_dir / "profiles.yml", profile.directory / "city.yml"]
    for folder in (*(project_dir / f for f in DBT_SOURCE_FOLDERS), profile.seed_dir):
        paths.extend(p for p in folder.rglob("*") if p.is_file())
    return sorted(p for p in paths if p.exists())


def project_fingerprint(project_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in project_files(project_dir):
        digest.update(os.path.relpath(path, project_dir).encode() + b"\0" + path.read_bytes() + b"\0")
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


def raw_registers(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                      "WHERE table_schema = 'raw' ORDER BY 1").fetchall()]


def delivered_files(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str, str]]:
    """(register, period, file SHA-256) of every delivery in the raw layer (about 0.3 s at
    Dortmund scale: two columns of the Parquet files)."""
    rows: set[tuple[str, str, str]] = set()
    for register in raw_registers(con):
        rows.update((register, period, sha) for period, sha in con.execute(
            f'SELECT DISTINCT _period, _file_sha256 FROM raw."{register}"').fetchall())
    return rows


def changed_registers(db_path: Path) -> set[str] | None:
    """The registers whose deliveries differ from those of the last complete build; None when
    that is not known (no such build recorded)."""
    if not db_path.exists():
        return None
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        if not has_audit_table(con, DELIVERIES_TABLE.split(".")[1]):
            return None
        built = {tuple(r) for r in con.execute(f"SELECT register, period, file_sha256 FROM {DELIVERIES_TABLE}").fetchall()}
        if not built:
            return None
        return {register for register, _, _ in built ^ delivered_files(con)}
    finally:
        con.close()


def record_build(db_path: Path, project_dir: Path, full_refresh: bool) -> None:
    """After a successful build that leaves every node current (a complete or a planned one): the
    project's fingerprint and the deliveries it was built from."""
    con = duckdb.connect(str(db_path))
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS audit")
        con.execute(f"CREATE TABLE IF NOT EXISTS {BUILDS_TABLE} (fingerprint VARCHAR NOT NULL, "
                    "full_refresh BOOLEAN NOT NULL, finished_at TIMESTAMP NOT NULL)")
        con.execute(f"CREATE TABLE IF NOT EXISTS {DELIVERIES_TABLE} (register VARCHAR NOT NULL, "
                    "period VARCHAR NOT NULL, file_sha256 VARCHAR NOT NULL)")
        delivered = sorted(delivered_files(con))
        con.execute("BEGIN")
        con.execute(f"DELETE FROM {DELIVERIES_TABLE}")
        if delivered:
            con.executemany(f"INSERT INTO {DELIVERIES_TABLE} VALUES (?, ?, ?)", delivered)
        con.execute(f"INSERT INTO {BUILDS_TABLE} VALUES (?, ?, ?)",
                    [project_fingerprint(project_dir), full_refresh, dt.datetime.now()])
        con.execute("COMMIT")
    finally:
        con.close()


def downstream(manifest: dict, starts: set[str]) -> set[str]:
    """Every node below `starts` in the manifest's graph (tests and exposures included)."""
    children = manifest["child_map"]
    seen: set[str] = set()
    todo = list(starts)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


@dataclass(frozen=True)
class BuildPlan:
    """One `dbt build`: its arguments and what it leaves out."""

    args: list[str]
    full_refresh: bool
    changed: frozenset[str] | None = None          # registers with new deliveries; None: all nodes
    excluded: tuple[str, ...] = field(default=())   # unique ids of the nodes not built or tested, parents first
    excluded_names: tuple[str, ...] = field(default=())   # their names (what dbt selects by)

    @property
    def partial(self) -> bool:
        return self.changed is not None

    @property
    def exclude_args(self) -> list[str]:
        """--exclude of the left-out nodes by name (dbt selects by name; unit tests by type). Tests
        of a built node that also read a left-out one (relationships to dim_area, sums over the
        area hierarchy) stay in: dbt's cautious indirect selection excludes a test only with all
        its parents, where the default excludes it with any."""
        if not self.excluded:
            return []
        # one argument, names separated by spaces: dagster-dbt passes on one value per flag
        return ["--indirect-selection", "cautious", "--exclude", " ".join(["resource_type:unit_test", *self.excluded_names])]

    def description_de(self) -> str:
        if self.full_refresh:
            return "dbt-Projekt geändert oder noch nie gebaut: vollständiger Neuaufbau (--full-refresh)."
        if self.changed is None:
            return "Alle Modelle werden gebaut und geprüft."
        if not self.changed:
            return ("Keine neuen oder geänderten Lieferungen seit dem letzten Bau: kein Modell wird neu gebaut "
                    f"({len(self.excluded)} Knoten unverändert).")
        return (f"Neue oder geänderte Lieferungen in {', '.join(sorted(self.changed))}: gebaut und geprüft wird, was "
                f"darauf aufbaut; {len(self.excluded)} Knoten sind unverändert (gleiche Eingaben, gleicher Code).")


def plan_build(db_path: Path, project_dir: Path, manifest_path: Path, rebuild: bool = False) -> BuildPlan:
    """The build this warehouse needs: --full-refresh when the project changed; everything for a
    backfill (`rebuild`) or when the last build's deliveries are not recorded; otherwise only the
    nodes downstream of the registers with changed deliveries."""
    if needs_full_refresh(db_path, project_dir):
        return BuildPlan(["build", "--full-refresh"], True)
    changed = None if rebuild else changed_registers(db_path)
    if changed is None:
        return BuildPlan(["build"], False)
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    sources = {uid for uid, node in manifest["sources"].items() if node["source_name"] == "raw"}
    built = downstream(manifest, {uid for uid in sources if manifest["sources"][uid]["name"] in changed})
    nodes = {uid for uid, node in manifest["nodes"].items()
             if node["resource_type"] in ("model", "seed", "test", "snapshot")}
    # in the graph's order (parents first): Dagster takes a multi-asset's outputs only in that order
    order = list(TopologicalSorter({uid: manifest["parent_map"].get(uid, []) for uid in sorted(nodes)}).static_order())
    left_out = [uid for uid in order if uid in nodes and uid not in built]   # order also has the sources
    excluded = [*left_out, *sorted(manifest.get("unit_tests", {}))]
    names = sorted({manifest["nodes"][uid]["name"] for uid in left_out})
    return BuildPlan(["build"], False, frozenset(changed), tuple(excluded), tuple(names))
