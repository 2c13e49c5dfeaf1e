"""Publishing a release (write-audit-publish).

The candidate marts in the pipeline's DuckDB file have passed the gate. Disclosure control is
applied on the way out; the released tables, the indicator catalogue, the data-quality results
and the manifest are written to a new DuckDB file in its own release folder, with Parquet per
mart. The new file is copied beside `current.duckdb` and swapped in with one atomic rename: a BI
tool that holds the old file open keeps reading the old release, never half of the new one, and
never blocks the pipeline (it reads the release, never the file the pipeline writes).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from dagster_project.release.disclosure import RULE_LABELS_DE, DisclosureRules, apply_disclosure_control
from dagster_project.settings import REPO_ROOT

CURRENT = "current.duckdb"
KEEP_RELEASES = 5
MARTS = ("fct_indicator_values", "fct_area_profile", "fct_social_index", "dim_area", "dim_indicator")


@dataclass
class Release:
    release_id: str
    folder: Path
    database: Path
    current: Path
    parquet_dir: Path
    manifest: dict


def code_version() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip() or "unbekannt"
    except (OSError, subprocess.SubprocessError):
        return "unbekannt"


def _released_profile(values: pd.DataFrame, profile: pd.DataFrame) -> pd.DataFrame:
    """The wide profile rebuilt from the released long fact, so both show the same cells."""
    wide = values.pivot_table(index=["area_level", "area_code", "reference_year"], columns="indicator_id",
                              values="indicator_value", aggfunc="first", dropna=False)
    keys = ["area_level", "area_code", "reference_year"]
    out = profile[["area_name", "city_district_code", "city_district_name", *keys]].merge(
        wide.reset_index(), on=keys, how="left")
    return out[[c for c in profile.columns]]


def _released_social_index(index: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """Rates of the social index follow the suppression of the matching indicator cells."""
    out = index.copy()
    hidden = values[values.is_suppressed & (values.area_level == "statistical_district")]
    for indicator, columns in (("unemployment_sgb2_rate", ["s1_unemployment_sgb2_rate", "z_s1"]),
                               ("sgb2_child_rate", ["s3_sgb2_child_rate", "z_s3"])):
        keys = set(zip(hidden.loc[hidden.indicator_id == indicator, "area_code"],
                       hidden.loc[hidden.indicator_id == indicator, "reference_year"]))
        mask = [(c, y) in keys for c, y in zip(out.statistical_district_code, out.reference_year)]
        out.loc[mask, columns] = None
    small = out.residents < 100
    out.loc[small, ["s2_transfer_rate", "z_s2", "d2_change_transfer_pp", "z_d2"]] = None
    return out


def publish_release(db_path: Path, release_dir: Path, run_id: str, reports_dir: Path | None = None,
                    rules: DisclosureRules | None = None, keep: int = KEEP_RELEASES) -> Release:
    rules = rules or DisclosureRules.load()
    now = dt.datetime.now()
    release_id = now.strftime("%Y%m%dT%H%M%S%f")[:-3]
    source = duckdb.connect(str(db_path), read_only=True)
    try:
        marts = {name: source.execute(f"SELECT * FROM marts.{name}").df() for name in MARTS}
        catalogue = source.execute("SELECT * FROM reference.indicator_catalogue").df()
        quality = source.execute("SELECT * FROM audit.dq_results WHERE run_id = ?", [run_id]).df()
        deliveries = source.execute("""
            SELECT register, period, file_name, file_sha256, rows_read, rows_quarantined, finished_at AS loaded_at
            FROM (SELECT *, row_number() OVER (PARTITION BY register, period ORDER BY finished_at DESC) AS rn
                  FROM audit.load_log WHERE status = 'geladen')
            WHERE rn = 1 ORDER BY register, period""").df()
    finally:
        source.close()
    values, suppressed = apply_disclosure_control(marts["fct_indicator_values"], marts["dim_area"], catalogue, rules)
    released = {
        "fct_indicator_values": values,
        "fct_area_profile": _released_profile(values, marts["fct_area_profile"]),
        "fct_social_index": _released_social_index(marts["fct_social_index"], values),
        "dim_area": marts["dim_area"],
        "dim_indicator": marts["dim_indicator"],
    }
    suppression_counts = suppressed.suppression_rule.value_counts().to_dict()
    manifest = {
        "release_id": release_id,
        "zeitpunkt": now.isoformat(timespec="seconds"),
        "code_version": code_version(),
        "dagster_run_id": run_id,
        "lieferungen": json.loads(deliveries.to_json(orient="records", date_format="iso")),
        "pruefungen": json.loads(quality.to_json(orient="records", date_format="iso")),
        "geheimhaltung": {
            "regeln": rules.__dict__,
            "gesperrte_zellen_je_regel": {k: int(v) for k, v in suppression_counts.items()},
            "regeln_de": RULE_LABELS_DE,
        },
        "tabellen": {name: int(len(frame)) for name, frame in released.items()},
    }
    folder = release_dir / "releases" / release_id
    parquet_dir = folder / "parquet"
    parquet_dir.mkdir(parents=True)
    database = folder / "release.duckdb"
    out = duckdb.connect(str(database))
    try:
        out.execute("CREATE SCHEMA marts")
        out.execute("CREATE SCHEMA audit")
        for name, frame in released.items():
            out.register("frame", frame)
            out.execute(f"CREATE TABLE marts.{name} AS SELECT * FROM frame")
            out.execute(f"COPY marts.{name} TO '{parquet_dir / (name + '.parquet')}' (FORMAT parquet)")
            out.unregister("frame")
        for name, frame in (("indicator_catalogue", catalogue), ("dq_results", quality),
                            ("deliveries", deliveries), ("suppressed_cells", suppressed)):
            out.register("frame", frame)
            out.execute(f"CREATE TABLE audit.{name} AS SELECT * FROM frame")
            out.unregister("frame")
        out.execute("CREATE TABLE audit.manifest (release_id VARCHAR, manifest JSON)")
        out.execute("INSERT INTO audit.manifest VALUES (?, ?)", [release_id, json.dumps(manifest, ensure_ascii=False)])
        out.execute("CHECKPOINT")
    finally:
        out.close()
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str),
                                          encoding="utf-8")
    from dagster_project.release.audit_report import write_audit_report

    write_audit_report(folder / "pruefbericht.html", manifest, quality)
    current = _swap_in(database, release_dir, release_id)
    _prune(release_dir / "releases", keep)
    if reports_dir is not None:
        reports_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / "pruefbericht.html", reports_dir / "pruefbericht_aktuell.html")
    return Release(release_id, folder, database, current, parquet_dir, manifest)


def _swap_in(database: Path, release_dir: Path, release_id: str) -> Path:
    """Copy the release beside current.duckdb, then rename it over current.duckdb (atomic)."""
    current = release_dir / CURRENT
    staging = release_dir / f".{CURRENT}.{release_id}.tmp"
    shutil.copy2(database, staging)
    with open(staging, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(staging, current)
    return current


def _prune(folder: Path, keep: int) -> None:
    releases = sorted(p for p in folder.iterdir() if p.is_dir())
    for old in releases[:-keep]:
        shutil.rmtree(old)
