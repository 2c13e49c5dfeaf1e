"""What a finished run leaves for people to read: the final Data Docs page of the run, an entry in
the run history, and the current audit report (`pruefbericht_aktuell.html`), which says first how
the last run went and only then which release is valid.

Called after every run of the main job: by `make run` (dagster_project.main) and, for runs started
in the UI or by the sensor, by the run-status sensors (dagster_project.defs.automation.sensors).
"""

from __future__ import annotations

import datetime as dt
import sys

import pandas as pd

from dagster_project.disk_space import is_disk_full, path_in
from dagster_project.html_report import german_datetime, page, table, verdict
from dagster_project.ingest.freshness import delivery_calendar
from dagster_project.ingest.raw_layer import raw_dir_of_database
from dagster_project.quality.data_docs import RunState, read_history, record_run
from dagster_project.quality.suites import CHECK_PREFIX
from dagster_project.release.audit_report import audit_report_body, delivery_calendar_section
from dagster_project.release.store import ReleaseStore
from dagster_project.settings import WarehousePaths, first_year, today
from dagster_project.warehouse_lock import connect_when_free
from dagster_project.whole_files import remove_unfinished, replace_text

RELEASE_STEP = "release__warehouse_release"

# what the operator does when a step of this kind failed (docs/operations.md has the details)
ADVICE_DE = {
    "raw__": "Lieferung abgelehnt: Meldung nennt Datei, Zeile, Spalte und Regel. Die Lieferstelle um eine "
             "korrigierte Datei bitten und sie unter demselben Namen in den Eingang legen; der Lauf startet "
             "von selbst (docs/operations.md, „Lieferung abgelehnt“).",
    "warehouse_dbt_models": "dbt-Fehler: Modell und Test stehen in der Meldung, das Protokoll in warehouse/dbt_target/dbt.log. "
                            "Nach der Korrektur im dbt-Projekt den Lauf neu starten (docs/operations.md, „dbt“).",
    "release__": "Freigabe nicht möglich: Prüfbericht und Meldung lesen; das bisherige Release bleibt gültig "
                 "(docs/operations.md, „Freigabe gesperrt“).",
}
GATE_CHECK_MARK = f"_{CHECK_PREFIX}"   # step keys of the gate's asset checks: <asset>_gx_<suite>
GATE_ADVICE_DE = ("Qualitätsprüfung nicht bestanden: die Data Docs nennen jede verletzte Erwartung. Liegt der Fehler "
                  "in einer Lieferung, korrigierte Lieferung anfordern; sonst die Ursache im Code beheben "
                  "(docs/operations.md, „Qualitätsprüfung nicht bestanden“).")


KEY_ADVICE_DE = ("Falscher Pseudonymisierungsschlüssel: den Schlüssel setzen, mit dem das Warehouse geladen wurde; "
                 "ein Schlüsselwechsel heißt, alle Lieferungen in ein leeres Warehouse neu zu laden "
                 "(docs/operations.md, „Schlüsselwechsel“).")


def advice_for(step_key: str, message: str = "") -> str:
    """What to do when this step failed with this message."""
    if "Pseudonymisierungsschlüssel" in message:
        return KEY_ADVICE_DE
    if GATE_CHECK_MARK in step_key:   # a suite of the release gate (its asset check)
        return GATE_ADVICE_DE
    for prefix, text in ADVICE_DE.items():
        if step_key.startswith(prefix):
            return text
    return "Meldung lesen, Ursache beheben, Lauf in der Dagster-Oberfläche neu starten (docs/operations.md)."


def failure_summary(failures: dict[str, str]) -> list[dict]:
    """German summary of a failed run: which step, what it said (the delivery is named there), what to do."""
    return [{"schritt": step, "meldung": message, "was_tun": advice_for(step, message)}
            for step, message in failures.items()]


def delivery_calendar_html(paths: WarehousePaths) -> str:
    """The delivery calendar of every register on today's date, overdue ones first."""
    records = delivery_calendar(raw_dir_of_database(paths.db_path), today(), first_year(), paths.quarantine_dir)
    return delivery_calendar_section(records, f"Lieferkalender (Stand {today():%d.%m.%Y})")


def _release_metadata(instance, run_id: str) -> dict:
    from dagster import DagsterEventType

    for record in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
        materialization = record.dagster_event.event_specific_data.materialization
        if materialization.asset_key.path == ["release", "warehouse_release"]:
            return {k: v.value for k, v in materialization.metadata.items()}
    return {}


def finish_run(instance, run_id: str, paths: WarehousePaths | None = None) -> dict:
    """Write the final reports of a finished run; returns its history entry."""
    paths = paths or WarehousePaths.from_environment()
    folder = paths.reports_dir / "data_docs"
    for unfinished in (folder, paths.reports_dir):   # pages a killed run was writing
        remove_unfinished(unfinished)
    recorded = next((e for e in read_history(folder) if e["run_id"] == run_id), None)
    if recorded is not None:   # already written (by `make run` or by a sensor)
        return recorded
    release = _release_metadata(instance, run_id)
    state = RunState.from_instance(instance, run_id, finished=True, release_message=release.get("meldung", ""))
    run = instance.get_run_record_by_id(run_id)
    started = dt.datetime.fromtimestamp(run.start_time) if run and run.start_time else None
    con = connect_when_free(paths.db_path) if paths.db_path.exists() else None
    try:
        entry = record_run(con, state, folder, started, release.get("release_id"),
                           failure_summary(state.failures))
        write_current_audit_report(paths, entry)
    except OSError as error:
        if not is_disk_full(error):
            raise
        # the run itself is over (its outcome is in Dagster's history): say so, do not crash
        print(f"WARNUNG: Speicherplatz voll: Der Prüfbericht des Laufs {run_id} konnte nicht geschrieben "
              f"werden ({path_in(error) or paths.reports_dir}). Nach dem Freimachen von Platz schreibt ihn "
              "der nächste Lauf nicht nach; sein Ergebnis steht in der Dagster-Oberfläche (make ui).",
              file=sys.stderr)
        entry = {"run_id": run_id, "status": "fehlgeschlagen" if state.failures else "ohne Prüfbericht",
                 "freigabe": state.release_message, "fehlgeschlagene_schritte": state.failures}
    finally:
        if con is not None:
            con.close()
    return entry


def write_current_audit_report(paths: WarehousePaths, entry: dict) -> None:
    """reports/pruefbericht_aktuell.html: the last run's status first, then the valid release."""
    store = ReleaseStore(paths.release_dir)
    current = store.current_id()
    manifest = store.manifest(current)
    failed = entry["status"] != "bestanden"
    if failed:
        head = verdict("fehler" if entry["status"] != "unvollständig" else "warnung",
                       f"Letzter Lauf {entry['run_id']} vom {german_datetime(entry['ende'])}: "
                       f"{entry['status'].upper()}. Es wurde nichts Neues freigegeben"
                       + (f"; gültig bleibt Release {current}." if current else "; es gibt noch kein Release."))
    else:
        head = verdict("ok", f"Letzter Lauf {entry['run_id']} vom {german_datetime(entry['ende'])}: bestanden. "
                             + (entry.get("freigabe") or ""))
    body = [head, "<p><a href='data_docs/index.html'>Data Docs des letzten Laufs</a> · "
                  "<a href='data_docs/laufhistorie.html'>Laufhistorie</a></p>"]
    if entry.get("zusammenfassung"):
        body += ["<h2 id='fehlschlag'>Was ist fehlgeschlagen, was ist zu tun?</h2>",
                 table(["Schritt", "Meldung", "Was tun"],
                       [[f["schritt"], f["meldung"], f["was_tun"]] for f in entry["zusammenfassung"]])]
    body.append(delivery_calendar_html(paths))
    if manifest:
        release_body = audit_report_body(manifest, pd.DataFrame(manifest["pruefungen"]))
        if failed:  # the release's own verdict belongs to an earlier run: not the page's statement
            release_body = release_body.replace('id="urteil"', 'id="urteil-release"').replace(
                'class="urteil ok"', 'class="klein"').replace('class="urteil warnung"', 'class="klein"')
        body += [f"<h2>Gültiges Release {current}</h2>", release_body]
    paths.reports_dir.mkdir(parents=True, exist_ok=True)
    target = paths.reports_dir / "pruefbericht_aktuell.html"
    replace_text(target, page("Prüfbericht: aktueller Stand", "".join(body)))
    target.chmod(0o600)   # for the owner only (dagster_project/file_access.py)
