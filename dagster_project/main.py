"""`make run`: sample deliveries if the inbox is empty, the main job end to end, a short summary.

    python -m dagster_project.main [--scale 1.0] [--years 2014-2024]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from dagster import DagsterInstance

from dagster_project.file_access import secure_umask
from dagster_project.instance import ensure_dagster_home
from dagster_project.html_report import german_number
from dagster_project import city_profile
from dagster_project.inbox import inbox_is_empty
from dagster_project.ingest.load import AUDIT_SCHEMA, REFUSAL_LOG
from dagster_project.quality.run_report import finish_run
from dagster_project.release.store import DATABASE, ReleaseStore
from dagster_project.run_recovery import WriterBusyError, wait_for_writer
from sample_deliveries.__main__ import generate, parse_years
from dagster_project.settings import (PseudonymKeyError, SettingError, WarehousePaths,
                                      pseudonym_key_from_environment)
from dagster_project.warehouse_lock import connect_when_free


def summary(paths: WarehousePaths) -> str:
    """German/English summary of what is in the warehouse after a run."""
    con = connect_when_free(paths.db_path)
    try:
        rows = con.execute(f"""
            WITH latest AS (
                SELECT *, row_number() OVER (PARTITION BY register, period ORDER BY finished_at DESC) AS rn
                FROM {AUDIT_SCHEMA}.load_log WHERE status = 'geladen')
            SELECT register, count(*) AS deliveries, sum(rows_read), sum(rows_accepted), sum(rows_quarantined),
                   min(period), max(period)
            FROM latest WHERE rn = 1 GROUP BY register ORDER BY register
        """).fetchall()
        marts = con.execute("""
            SELECT table_name, estimated_size FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1
        """).fetchall()
        years = con.execute(
            "SELECT min(reference_year), max(reference_year) FROM marts.fct_indicator_values"
        ).fetchone() if marts else None
    finally:
        con.close()
    lines = ["", "Zusammenfassung / Summary", "=" * 25,
             f"{'Register':<12}{'Lieferungen':>12}{'Zeilen':>14}{'geladen':>14}{'Quarantäne':>12}  Zeitraum"]
    for register, n, read, accepted, quarantined, first, last in rows:
        lines.append(f"{register:<12}{german_number(n):>12}{german_number(read):>14}{german_number(accepted):>14}"
                     f"{german_number(quarantined):>12}  {first} … {last}")
    if marts:
        lines += ["", f"Marts (Schema marts, Jahre {years[0]}-{years[1]}): "
                  + ", ".join(f"{name} ({german_number(rows)} Zeilen)" for name, rows in marts)]
    refusal_log = paths.quarantine_dir / REFUSAL_LOG
    lines += [
        "",
        f"Datenbank / database:        {paths.db_path}",
        f"Quarantäne / quarantine:     {paths.quarantine_dir} (Tabelle audit.quarantine)",
        "Ladeprotokoll / load log:    Tabelle audit.load_log",
    ]
    if refusal_log.exists():
        lines.append(f"Abgelehnte Lieferungen:      {refusal_log}")
    store = ReleaseStore(paths.release_dir)
    release_id = store.current_id()
    if release_id:
        current = store.current_link
        lines += [
            f"Release {release_id} (für BI, nur lesen / read-only, docs/bi.md): {current / DATABASE}",
            f"Parquet je Mart:             {current / 'parquet'}",
            f"Manifest:                    {current / 'manifest.json'}",
            f"Prüfbericht / audit report:  {current / 'pruefbericht.html'}",
            f"Änderungsnachweis:           {current / 'aenderungsnachweis.html'}",
        ]
        if (current / "bericht" / "index.html").exists():
            lines.append(f"Bericht zur sozialen Lage:   {current / 'bericht' / 'index.html'} (make report)")
    lines.append(f"Data Docs (Qualitätsprüfung): {paths.reports_dir / 'data_docs' / 'index.html'}")
    lines.append(f"Laufhistorie / run history:  {paths.reports_dir / 'data_docs' / 'laufhistorie.html'}")
    lines.append("Dagster-Oberfläche / UI:     make ui  ->  http://127.0.0.1:3000")
    return "\n".join(lines)


def run_years(paths: WarehousePaths) -> list[int]:
    """The reference years a run of `make run` covers: those of the deliveries in the inbox (the
    ingest skips files it has loaded before, dbt rebuilds only changed years), or the current year
    when the inbox is empty."""
    from dagster_project.contracts import load_contracts
    from dagster_project.defs.partitions import inbox_years
    from dagster_project.settings import today

    return inbox_years(paths.inbox_dir, load_contracts()) or [today().year]


def execute_warehouse_job(instance, run_config: dict | None = None, years: list[int] | None = None,
                          rebuild: bool = False):
    """Run the main job for the reference years `years` (default: those of the inbox) in this
    process (DuckDB has one writer) and write its final reports; returns the run's result and its
    entry in the run history. `rebuild=True` recomputes every one of those years (a backfill)."""
    from dagster_project.definitions import defs  # after DAGSTER_HOME is set
    from dagster_project.defs.partitions import run_tags

    tags = run_tags(years or run_years(WarehousePaths.from_environment()), rebuild=rebuild)
    # a run killed before (kill -9, reboot) is marked failed and frees the writer; a live one is waited for
    for dead_run_id in wait_for_writer(instance, log=lambda line: print(line, flush=True)):
        finish_run(instance, dead_run_id)   # the aborted run in the run history, too
    result = defs.resolve_job_def("warehouse_job").execute_in_process(
        instance=instance, raise_on_error=False, run_config=run_config or {}, tags=tags)
    return result, finish_run(instance, result.run_id)


def log_level() -> str:
    """What the console shows of the run (DFT_LOG_LEVEL): INFO, or DEBUG with every step's start."""
    level = os.environ.get("DFT_LOG_LEVEL", "INFO").strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingError(f"DFT_LOG_LEVEL muss DEBUG, INFO, WARNING oder ERROR sein, nicht {level!r}.")
    return level


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dagster_project.main")
    parser.add_argument("--scale", type=float, default=1.0, help="Maßstab der Beispieldaten")
    parser.add_argument("--years", default="2014-2024", help="Jahre der Beispieldaten")
    args = parser.parse_args(argv)
    secure_umask()
    paths = WarehousePaths.from_environment()
    try:
        key = pseudonym_key_from_environment()
    except PseudonymKeyError as error:
        print(f"FEHLER: {error}", file=sys.stderr)
        return 2
    if key.mode == "demo":
        print("DEMO-MODUS: Pseudonyme mit einem öffentlichen Demo-Schlüssel; nur für Beispieldaten, "
              "niemals für echte Registerdaten. / DEMO MODE: public demo key, sample data only.")
    try:
        city_profile.claim_warehouse(paths.warehouse_dir)
    except city_profile.CityProfileError as error:
        print(f"FEHLER: {error}", file=sys.stderr)
        return 2
    if inbox_is_empty(paths.inbox_dir):
        if key.mode != "demo":
            print(f"Eingang {paths.inbox_dir} ist leer: keine Lieferungen zu laden. Beispieldaten werden nur "
                  "im Demo-Modus erzeugt. / The inbox is empty; sample data only in demo mode.")
        else:
            print(f"Eingang {paths.inbox_dir} ist leer: Beispiel-Lieferungen werden erzeugt "
                  f"(synthetisch, Stadtprofil {city_profile.current().name}).")
            generate(paths.inbox_dir, parse_years(args.years), args.scale)
    ensure_dagster_home()
    started = time.perf_counter()
    try:
        years = run_years(paths)
        print(f"Hauptlauf / main job: warehouse_job, Berichtsjahre {years[0]}–{years[-1]} …")
        with DagsterInstance.get() as instance:
            result, entry = execute_warehouse_job(
                instance, {"loggers": {"console": {"config": {"log_level": log_level()}}}}, years)
    except SettingError as error:
        print(f"FEHLER: {error}", file=sys.stderr)
        return 2
    except WriterBusyError as error:
        print(f"FEHLER: {error}", file=sys.stderr)
        return 3
    print(summary(paths))
    print(f"Status des Laufs / run status: {entry['status']}. {entry.get('freigabe') or ''}")
    print(f"\nLaufzeit / run time: {time.perf_counter() - started:.0f} s")
    if not result.success:
        failures = [e for e in result.all_events if e.is_step_failure]
        for event in failures:
            print(f"\nFEHLER in {event.step_key}: {event.event_specific_data.error.message}", file=sys.stderr)
        gate_failed = [e for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                       and not e.event_specific_data.passed
                       and e.event_specific_data.severity.value == "ERROR"]
        if gate_failed:
            print("\nFREIGABE GESPERRT: Die Qualitätsprüfung hat Fehler gefunden; das bisherige Release bleibt "
                  f"unverändert. Bericht: {paths.reports_dir / 'data_docs' / 'index.html'}\n"
                  "RELEASE BLOCKED: the quality gate failed; the previous release is unchanged. See the report above.",
                  file=sys.stderr)
        print("Der Lauf ist fehlgeschlagen (siehe oben und `make ui`). / The run failed.", file=sys.stderr)
        return 1
    print("Lauf erfolgreich. / Run succeeded.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
