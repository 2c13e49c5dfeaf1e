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
MARTS = ("fct_indicator_values", "fct_area_profile", "fct_social_index", "dim_area", "dim_indicator",
         "fct_immigration_monitoring", "fct_immigration_retention", "fct_goal_achievement",
         "fct_municipal_comparison", "fct_measure_coverage", "fct_measure_gaps", "fct_measure_overlaps",
         "fct_funding_programmes")
# The count each monitoring measure has as its numerator (cells with the same numerator are
# suppressed together).
MONITORING_NUMERATOR = {
    "stock": "residents", "stock_change": "stock_change", "moves_in_abroad": "moves_in_abroad",
    "moves_out_abroad": "moves_out_abroad", "moves_in_germany": "moves_in_germany",
    "moves_out_germany": "moves_out_germany", "net_migration": "net_migration", "turnover_rate": "turnover",
    "share_minors": "minors", "share_school_age": "school_age", "sgb2_rate": "sgb2_under_65",
}


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
    return out.reindex(columns=profile.columns)  # indicators without values stay empty columns


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


def _suppress_long(frame: pd.DataFrame, measure: pd.Series, numerator_id: pd.Series, value_column: str,
                   year_column: str, areas: pd.DataFrame, rules: DisclosureRules) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Disclosure control for a long mart other than the indicator fact: each (measure) is treated
    like an additive indicator whose numerator is `numerator_id`."""
    work = pd.DataFrame({
        "indicator_id": measure.to_numpy(), "area_level": frame.area_level.to_numpy(),
        "area_code": frame.area_code.to_numpy(), "reference_year": frame[year_column].to_numpy(),
        "numerator": frame.numerator.to_numpy(), "denominator": frame.denominator.to_numpy(),
        "indicator_value": frame[value_column].to_numpy(),
    })
    catalogue = pd.DataFrame({"indicator_id": measure.unique()})
    numerator_of = dict(zip(measure, numerator_id))
    catalogue["numerator_de"] = catalogue.indicator_id.map(numerator_of)
    catalogue["is_additive"] = True
    released, log = apply_disclosure_control(work, areas, catalogue, rules)
    out = frame.copy().reset_index(drop=True)
    out[["numerator", "denominator", value_column]] = released[["numerator", "denominator", "indicator_value"]]
    out["is_suppressed"] = released.is_suppressed.to_numpy()
    out["suppression_rule"] = released.suppression_rule.to_numpy()
    return out, log


def _released_planning(marts: dict, values: pd.DataFrame, rules: DisclosureRules) -> tuple[dict, list]:
    """The planning marts on their way into the release."""
    areas = marts["dim_area"]
    monitoring = marts["fct_immigration_monitoring"].reset_index(drop=True)
    group = monitoring.monitoring_group
    monitoring, log_monitoring = _suppress_long(
        monitoring, monitoring.measure_id + "|" + group, monitoring.measure_id.map(MONITORING_NUMERATOR) + "|" + group,
        "measure_value", "reference_year", areas, rules)
    retention = marts["fct_immigration_retention"].rename(columns={"cohort_size": "denominator", "retained": "numerator"})
    key = "retention_" + retention.years_after.astype(str) + "|" + retention.monitoring_group
    retention, log_retention = _suppress_long(retention, key, key, "retention_share", "cohort_year", areas, rules)
    retention = retention.rename(columns={"denominator": "cohort_size", "numerator": "retained"})
    # goals: no actual value where the indicator cell is suppressed
    hidden = set(zip(*[values.loc[values.is_suppressed, c] for c in
                       ("indicator_id", "area_level", "area_code", "reference_year")]))
    goals = marts["fct_goal_achievement"].copy()
    mask = [k in hidden for k in zip(goals.indicator_id, goals.area_level, goals.area_code, goals.reference_year)]
    goals.loc[mask, ["actual_value", "progress_pct"]] = None
    goals.loc[mask, "goal_status"] = "keine Daten"
    # coverage: target groups of 1 or 2 persons are not shown, nor the budget per person then
    coverage = marts["fct_measure_coverage"].copy()
    small = coverage.target_group_size.between(1, rules.min_count - 1)
    coverage.loc[small, ["target_group_size", "budget_per_target_resident_eur"]] = None
    gaps = marts["fct_measure_gaps"].copy()
    hidden_need = [k in hidden for k in zip(gaps.need_indicator_id, ["statistical_district"] * len(gaps),
                                            gaps.statistical_district_code, gaps.reference_year)]
    gaps.loc[hidden_need, "need_value"] = None
    released = {
        "fct_immigration_monitoring": monitoring, "fct_immigration_retention": retention,
        "fct_goal_achievement": goals, "fct_measure_coverage": coverage, "fct_measure_gaps": gaps,
        "fct_municipal_comparison": marts["fct_municipal_comparison"],
        "fct_measure_overlaps": marts["fct_measure_overlaps"], "fct_funding_programmes": marts["fct_funding_programmes"],
    }
    log_monitoring["mart"] = "fct_immigration_monitoring"
    log_retention["mart"] = "fct_immigration_retention"
    return released, [log_monitoring, log_retention]


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
    planning, planning_logs = _released_planning(marts, values, rules)
    released = {
        "fct_indicator_values": values,
        "fct_area_profile": _released_profile(values, marts["fct_area_profile"]),
        "fct_social_index": _released_social_index(marts["fct_social_index"], values),
        "dim_area": marts["dim_area"],
        "dim_indicator": marts["dim_indicator"],
        **planning,
    }
    suppressed["mart"] = "fct_indicator_values"
    suppressed = pd.concat([suppressed, *planning_logs], ignore_index=True)
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
