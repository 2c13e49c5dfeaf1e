"""Publishing a release (write-audit-publish).

The candidate marts in the pipeline's DuckDB file have passed the gate. Unless nothing that goes
into a release changed since the current one (same deliveries, dbt project, rules and release
code: then nothing is published), disclosure control is applied on the way out (content.py), the
marts are written typed, rounded, labelled and described (presentation.py) into a new,
read-only release folder with Parquet per mart, manifest, audit report and release notes, and
`current` is switched to it in one atomic step (store.py). When DFT_RELEASE_POSTGRES_URL is set,
the same marts are published into PostgreSQL too (postgres.py). Old releases beyond the number to
keep are removed, never the current one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from dagster_project.dbt_state import project_fingerprint
from dagster_project.release import content_cache
from dagster_project.release.content import released_marts
from dagster_project.release.disclosure import RULE_LABELS_DE, DisclosureRules
from dagster_project.release.leftovers import remove_leftovers
from dagster_project.release.presentation import (CandidateColumns, MartWriter, label_violations,
                                                  suppression_rule_labels)
from dagster_project.release.published_model import DisclosureModelIncomplete, audit_summary
from dagster_project.release.store import DATABASE, ReleaseStore
from dagster_project.ingest.freshness import delivery_calendar
from dagster_project.ingest.raw_layer import raw_dir_of_database
from dagster_project.settings import REPO_ROOT, first_year, today

DEFAULT_KEEP = 5
# What decides a release's content besides the deliveries: the dbt project and these files.
RULE_FILES = ("dagster_project/release/*.yml", "dagster_project/release/*.py", "expectations/*.yml")


@dataclass
class Release:
    release_id: str
    published: bool          # False: nothing changed, the current release stays
    folder: Path
    current: Path
    parquet_dir: Path
    manifest: dict
    message: str = ""
    cleaned: list[str] | None = None   # what interrupted publishes had left, removed by this one


def code_version() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip() or "unbekannt"
    except (OSError, subprocess.SubprocessError):
        return "unbekannt"


def latest_deliveries(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute("""
        SELECT register, period, file_name, file_sha256, rows_read, rows_quarantined, finished_at AS loaded_at
        FROM (SELECT *, row_number() OVER (PARTITION BY register, period ORDER BY finished_at DESC) AS rn
              FROM audit.load_log WHERE status = 'geladen')
        WHERE rn = 1 ORDER BY register, period""").df()


def input_fingerprint(deliveries: pd.DataFrame, rules: DisclosureRules | None = None) -> str:
    """SHA-256 over everything a release is made of: the deliveries (by content hash), the dbt
    project, the gate's expectations, the disclosure rules (as files and as applied) and the
    release code."""
    digest = hashlib.sha256()
    if rules is not None:
        digest.update(json.dumps(rules.__dict__, sort_keys=True).encode() + b"\n")
    for row in deliveries[["register", "period", "file_sha256"]].itertuples(index=False):
        digest.update("|".join(map(str, row)).encode() + b"\n")
    digest.update(project_fingerprint(REPO_ROOT / "dbt").encode())
    for pattern in RULE_FILES:
        for path in sorted(REPO_ROOT.glob(pattern)):
            digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def readme_text(release_id: str) -> str:
    """LIESMICH.txt in every release folder: what it is and how to open it (read-only)."""
    from dagster_project.bi.connection import READ_WRITE_HINT_DE

    return (f"Release {release_id} des Data Warehouse für die Strategische Sozialplanung.\n\n"
            "Dieser Ordner wird nach der Freigabe nie mehr geändert; alle Dateien sind schreibgeschützt.\n"
            "BI-Werkzeuge verwenden den stabilen Pfad release/current/warehouse.duckdb bzw.\n"
            "release/current/parquet/<mart>.parquet.\n\n" + READ_WRITE_HINT_DE + "\n")


class ReleaseRefused(RuntimeError):
    """The release candidate failed the attacker's audit: nothing is published."""


def _example(attack: dict) -> str:
    first = attack["beispiele"][0] if attack["beispiele"] else None
    if not first:
        return "siehe Bericht"
    return (f"{first['kennzahl']} in {first['area_code']} {first['reference_year']}, aufgedeckt durch "
            + ", ".join(first["relationen"]))


def refuse_release(store: ReleaseStore, release_id: str, manifest: dict, quality: pd.DataFrame) -> Path:
    """The audit report of a refused candidate, in release/abgelehnt/<id>/ (never `current`)."""
    from dagster_project.release.audit_report import write_audit_report

    folder = store.refused_folder(release_id)
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str),
                                          encoding="utf-8")
    return write_audit_report(folder / "pruefbericht.html", manifest, quality)


AUDITOR_FOLDER = "pruefakten"


def auditor_dir(warehouse_dir: Path) -> Path:
    """Where the files for auditors lie: in the warehouse folder (the one that holds the pipeline's
    database), never in or beside a release folder that BI readers share (docs/auditors.md);
    owner-only like everything outside the release."""
    return warehouse_dir / AUDITOR_FOLDER


def write_auditor_files(folder: Path, release_id: str, suppressed: pd.DataFrame) -> Path:
    """Every suppressed cell of a release with the rule that hid it: for the statistics office's
    auditors only (a rule such as "1 or 2" tells the value; the release shows one neutral mark)."""
    target = folder / release_id / "gesperrte_zellen.parquet"
    for step in (folder, target.parent):   # owner-only whatever the umask of the calling process
        step.mkdir(parents=True, exist_ok=True, mode=0o700)
        step.chmod(0o700)
    suppressed.to_parquet(target, index=False)
    return target


def candidate_marts(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """Every mart of the warehouse as a DataFrame, its rows in a fixed order (ORDER BY ALL). The
    order in which dbt's parallel queries wrote them varies from build to build, and secondary
    suppression chooses among equally good patterns by the order it meets the cells: the same
    data must give the same release."""
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY table_name").fetchall()]
    return {name: con.execute(f'SELECT * FROM marts."{name}" ORDER BY ALL').df() for name in names}


def publish_release(db_path: Path, release_dir: Path, run_id: str,
                    rules: DisclosureRules | None = None, keep: int = DEFAULT_KEEP,
                    postgres_url: str | None = None) -> Release:
    rules = rules or DisclosureRules.load()
    store = ReleaseStore(release_dir)
    cleaned = remove_leftovers(store, auditor_dir(db_path.parent), content_cache.cache_dir(db_path.parent),
                               postgres_url, keep)
    previous_id = store.current_id()
    previous = store.manifest(previous_id)
    source = duckdb.connect(str(db_path), read_only=True)
    try:
        deliveries = latest_deliveries(source)
        fingerprint = input_fingerprint(deliveries, rules)
        if previous and previous.get("eingaben_fingerabdruck") == fingerprint:
            folder = store.folder(previous_id)
            return Release(previous_id, False, folder, store.current_link, folder / "parquet", previous,
                           f"Keine neuen Lieferungen – Release {previous_id} bleibt aktuell.", cleaned)
        marts = candidate_marts(source)
        candidate = CandidateColumns.read(source)
        quality = source.execute("SELECT * FROM audit.dq_results WHERE run_id = ?", [run_id]).df()
    finally:
        source.close()

    now = dt.datetime.now()
    release_id = now.strftime("%Y%m%dT%H%M%S%f")[:-3]
    key = content_cache.content_key(marts, rules)
    cached = content_cache.load(content_cache.cache_dir(db_path.parent), key)
    if cached is not None:   # same marts, rules and code as an earlier release: the same content
        released, suppressed, attack = cached.marts, cached.suppressed, cached.attack
    else:
        try:
            content = released_marts(marts, rules)
        except DisclosureModelIncomplete as error:
            raise ReleaseRefused(f"Release nicht freigegeben: {error} Release {previous_id or '–'} bleibt aktuell.") \
                from error
        released, suppressed = content.marts, content.suppressed
        attack = audit_summary(content.audit, content.model, suppressed, content.loss, content.protection,
                               search=content.search)
        if not attack["rueckrechenbar"]:
            content_cache.store(content_cache.cache_dir(db_path.parent), key, released, suppressed, attack)
    released["dim_suppression_rule"] = suppression_rule_labels()
    manifest = {
        "release_id": release_id,
        "zeitpunkt": now.isoformat(timespec="seconds"),
        "code_version": code_version(),
        "dagster_run_id": run_id,
        "eingaben_fingerabdruck": fingerprint,
        "vorheriges_release": previous_id,
        "lieferungen": json.loads(deliveries.to_json(orient="records", date_format="iso")),
        "pruefungen": json.loads(quality.to_json(orient="records", date_format="iso")),
        "geheimhaltung": {
            "inhalt_fingerabdruck": key,
            "wiederverwendet": cached is not None,   # computed for an earlier release with the same content
            "regeln": rules.__dict__,
            "gesperrte_zellen_je_regel": {k: int(v) for k, v in suppressed.suppression_rule.value_counts().items()},
            "regeln_de": RULE_LABELS_DE,
        },
        "tabellen": {name: int(len(frame)) for name, frame in sorted(released.items())},
        "angreiferpruefung": attack,
        "lieferkalender": delivery_calendar(raw_dir_of_database(db_path), today(), first_year()),
    }
    if attack["rueckrechenbar"]:
        # the attacker's audit is part of the gate: an exposed primary cell stops the release
        refused = refuse_release(store, release_id, manifest, quality)
        raise ReleaseRefused(
            f"Release nicht freigegeben: die Angreiferprüfung findet {attack['rueckrechenbar']} gesperrte Zellen, "
            f"die sich aus den veröffentlichten Zahlen zurückrechnen ließen (z. B. {_example(attack)}). "
            f"Release {previous_id or '–'} bleibt aktuell. Bericht: {refused}")
    staging = store.staging_folder(release_id)
    postgres_switched = False
    try:
        _write_release_folder(staging, release_id, released, candidate, quality, deliveries, suppressed, manifest,
                              previous, store.database(previous_id) if previous_id else None)
        write_auditor_files(auditor_dir(db_path.parent), release_id, suppressed)
        folder = store.seal(staging, release_id)
        if postgres_url:
            from dagster_project.release.postgres import publish_to_postgres

            # when it fails, PostgreSQL still shows the previous release and the new schema is gone
            publish_to_postgres(postgres_url, folder / DATABASE, release_id,
                                keep=[*store.release_ids()[-keep:], *([previous_id] if previous_id else [])])
            postgres_switched = True
        current = store.switch_current(release_id)
    except BaseException:
        if postgres_switched:   # PostgreSQL already shows the new release: back, so both agree
            from dagster_project.release.postgres import undo_switch

            undo_switch(postgres_url, release_id, previous_id, store.database(previous_id) if previous_id else None)
        store.discard(release_id, staging)   # never current: nothing points to it
        shutil.rmtree(auditor_dir(db_path.parent) / release_id, ignore_errors=True)
        raise
    store.prune(keep)
    return Release(release_id, True, folder, current, folder / "parquet", manifest,
                   f"Release {release_id} freigegeben: {current / DATABASE}", cleaned)


def _write_release_folder(staging: Path, release_id: str, released: dict, candidate: CandidateColumns,
                          quality: pd.DataFrame, deliveries: pd.DataFrame, suppressed: pd.DataFrame,
                          manifest: dict, previous: dict | None, previous_database: Path | None) -> None:
    """The release's files into the staging folder: database, Parquet, manifest, reports, notes."""
    database = staging / DATABASE
    out = duckdb.connect(str(database))
    try:
        out.execute("CREATE SCHEMA marts")
        out.execute("CREATE SCHEMA audit")
        writer = MartWriter(out, candidate)
        # label tables first: the facts are rounded and named with their help
        for name in sorted(released, key=lambda n: (not n.startswith("dim_"), n)):
            writer.write(name, released[name])
        problems = label_violations(out)
        if problems:
            raise RuntimeError("Release abgebrochen, Kodes ohne Bezeichnung: " + "; ".join(problems))
        for name in released:
            writer.write_parquet(name, staging / "parquet" / f"{name}.parquet", release_id)
        for name, frame in (("dq_results", quality), ("deliveries", deliveries),
                            ("suppressed_cells", suppressed.drop(columns=["suppression_rule"]))):
            writer.write_audit(name, frame)
        manifest["spalten"] = {name: texts for name, texts in writer.descriptions.items()}
        writer.write_audit("manifest", pd.DataFrame({"release_id": [release_id],
                                                     "manifest": [json.dumps(manifest, ensure_ascii=False)]}))
        out.execute("CHECKPOINT")
    finally:
        out.close()
    (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str),
                                           encoding="utf-8")
    from dagster_project.release.audit_report import write_audit_report
    from dagster_project.release.release_notes import write_release_notes

    write_audit_report(staging / "pruefbericht.html", manifest, quality)
    (staging / "LIESMICH.txt").write_text(readme_text(release_id), encoding="utf-8")
    write_release_notes(staging, manifest, previous, previous_database, database)
