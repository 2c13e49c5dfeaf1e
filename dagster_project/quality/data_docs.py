"""Data Docs of the release gate, in German and fully offline, that never claim a success the run
did not have.

GX's own Data Docs load Bootstrap, jQuery and fonts from CDNs, which a statistics office's closed
network cannot reach; these pages render the validation results from audit.dq_results with inline
CSS only. One page per run (`lauf_<run id>.html`), `index.html` for the latest run, and
`laufhistorie.html` with the status of the last runs (from `laufhistorie.jsonl`).

The verdict of a page compares what ran with every check the gate has (expectations/): a run in
which a step failed is *nicht bestanden*; one in which checks did not run (yet) is *unvollständig*
and lists them with the reason; only a run in which every check ran without error is *bestanden*.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import duckdb

from dagster_project.html_report import Number, german_datetime, page, status, table, verdict
from dagster_project.quality.suites import load_suites
from dagster_project.whole_files import append_line, replace_text

SEVERITY_DE = {"critical": "Fehler", "warning": "Warnung", "info": "Hinweis"}
HISTORY_FILE = "laufhistorie.jsonl"
HISTORY_PAGE = "laufhistorie.html"
HISTORY_SHOWN = 100
NAVIGATION = {"Letzter Lauf": "index.html", "Laufhistorie": HISTORY_PAGE}


@dataclass
class RunState:
    """What is known of a Dagster run when a page is written."""

    run_id: str
    finished: bool = False
    failures: dict[str, str] = field(default_factory=dict)   # step key -> error message
    release_message: str = ""

    @classmethod
    def from_instance(cls, instance, run_id: str, finished: bool = False, release_message: str = "") -> "RunState":
        from dagster import DagsterEventType

        failures = {}
        for record in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
            event = record.dagster_event
            lines = [l.strip() for l in event.event_specific_data.error.message.strip().splitlines() if l.strip()]
            failures[event.step_key] = re.sub(r"^[\w.]+(Error|Failure|Exception): ", "", " ".join(lines[:2]))
        return cls(run_id, finished, failures, release_message)


@dataclass
class GateOutcome:
    verdict_kind: str     # ok, fehler, warnung
    verdict_text: str
    status: str           # bestanden, nicht bestanden, unvollständig
    ran: int
    expected: int
    failed_critical: int
    failed_warning: int
    not_run: list[tuple[str, str, str]]   # asset, suite title, reason


def _results(con: duckdb.DuckDBPyConnection | None, run_id: str) -> list[tuple]:
    if con is None:
        return []
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'audit' "
                         "AND table_name = 'dq_results'").fetchone()[0]
    if not exists:
        return []
    return con.execute("""
        SELECT suite, asset, expectation_type, beschreibung, severity, success, observed, kwargs, checked_at
        FROM audit.dq_results WHERE run_id = ? ORDER BY asset, suite, checked_at""", [run_id]).fetchall()


def _reason(asset: str, state: RunState) -> str:
    step = asset.replace("/", "__")
    if step in state.failures:
        return f"nicht gelaufen: der Schritt {step} ist fehlgeschlagen (Meldung oben)"
    if state.failures:
        return f"nicht gelaufen: ein vorgelagerter Schritt ist fehlgeschlagen ({', '.join(state.failures)})"
    if not state.finished:
        return "noch nicht gelaufen: der Lauf ist noch nicht abgeschlossen"
    return "nicht gelaufen: nicht Teil dieses Laufs"


def gate_outcome(rows: list[tuple], state: RunState) -> GateOutcome:
    expected = {(s.name, s.asset): s for s in load_suites()}
    ran_keys = {(r[0], r[1]) for r in rows}
    not_run = [(s.asset, s.title_de, _reason(s.asset, state)) for key, s in sorted(expected.items())
               if key not in ran_keys]
    ran = len(expected) - len(not_run)
    failed_critical = sum(1 for r in rows if not r[5] and r[4] == "critical")
    failed_warning = sum(1 for r in rows if not r[5] and r[4] != "critical")
    counts = (f"{ran} von {len(expected)} Prüfgruppen gelaufen, {failed_critical} Fehler, "
              f"{failed_warning} {'Warnung' if failed_warning == 1 else 'Warnungen'}")
    if failed_critical or state.failures:
        why = "Fehler in der Qualitätsprüfung" if failed_critical else "ein Schritt des Laufs ist fehlgeschlagen"
        return GateOutcome("fehler", f"NICHT BESTANDEN – {why}; nichts wurde freigegeben ({counts}).",
                           "nicht bestanden", ran, len(expected), failed_critical, failed_warning, not_run)
    if not_run:
        return GateOutcome("warnung", f"UNVOLLSTÄNDIG – nicht alle Prüfungen sind gelaufen ({counts}).",
                           "unvollständig", ran, len(expected), failed_critical, failed_warning, not_run)
    return GateOutcome("ok", f"Bestanden – alle Prüfungen sind gelaufen, keine Fehler ({counts}).",
                       "bestanden", ran, len(expected), failed_critical, failed_warning, not_run)


def write_data_docs(con: duckdb.DuckDBPyConnection | None, state: RunState, folder: Path) -> Path:
    """The run's page (and index.html): verdict, checks not run with their reason, every result."""
    rows = _results(con, state.run_id)
    return _write_run_page(rows, gate_outcome(rows, state), state, folder)


def _write_run_page(rows: list[tuple], outcome: GateOutcome, state: RunState, folder: Path) -> Path:
    body = [
        verdict(outcome.verdict_kind, outcome.verdict_text),
        f"<p>Lauf <b>{state.run_id}</b>"
        + (" (abgeschlossen)" if state.finished else " (läuft noch oder wurde abgebrochen)") + ". "
        + (f"Freigabe: {state.release_message}" if state.release_message else "") + "</p>",
    ]
    if state.failures:
        body += ["<h2>Fehlgeschlagene Schritte</h2>",
                 table(["Schritt", "Meldung"], [[step, message] for step, message in state.failures.items()])]
    if outcome.not_run:
        body += ["<h2>Nicht gelaufene Prüfungen</h2>",
                 table(["Datenbestand", "Prüfgruppe", "Grund"], outcome.not_run)]
    body += [
        "<h2>Ergebnisse</h2>",
        "<p class='klein'>Fehler sperren die Freigabe; Warnungen werden freigegeben und berichtet. "
        "Geprüft mit Great Expectations; die Erwartungen stehen im Ordner expectations/ des Repositorys.</p>",
        table(["Datenbestand", "Prüfgruppe", "Erwartung", "Schwere", "Ergebnis", "Beobachtet", "Technisch"],
              [[asset, suite, text, SEVERITY_DE.get(severity, severity), status(success, severity),
                observed_de(observed), f"<code>{escape(kind)} {escape(kwargs)}</code>"]
               for suite, asset, kind, text, severity, success, observed, kwargs, _ in rows]
              or [["–", "–", "keine Prüfung gelaufen", "–", "–", "–", "–"]], raw_columns={4, 5, 6}),
    ]
    html = page("Datenqualität: Prüfbericht der Freigabeprüfung", "".join(body), NAVIGATION)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"lauf_{state.run_id}.html"
    replace_text(target, html)
    replace_text(folder / "index.html", html)
    if not (folder / HISTORY_PAGE).exists():
        write_history_page(folder)
    return target


def record_run(con: duckdb.DuckDBPyConnection | None, state: RunState, folder: Path, started: dt.datetime | None,
               release_id: str | None, failure_summary: list[dict] | None = None) -> dict:
    """The finished run's final page, its entry in the history, and the history page."""
    rows = _results(con, state.run_id)
    outcome = gate_outcome(rows, state)
    _write_run_page(rows, outcome, state, folder)
    status_text = "fehlgeschlagen" if state.failures else outcome.status
    entry = {
        "run_id": state.run_id, "beginn": started.isoformat(timespec="seconds") if started else None,
        "ende": dt.datetime.now().isoformat(timespec="seconds"), "status": status_text,
        "pruefgruppen_gelaufen": outcome.ran, "pruefgruppen_gesamt": outcome.expected,
        "fehler": outcome.failed_critical, "warnungen": outcome.failed_warning,
        "fehlgeschlagene_schritte": state.failures, "release": release_id, "freigabe": state.release_message,
        "zusammenfassung": failure_summary or [],
    }
    folder.mkdir(parents=True, exist_ok=True)
    append_line(folder / HISTORY_FILE, json.dumps(entry, ensure_ascii=False))
    write_history_page(folder)
    return entry


def read_history(folder: Path) -> list[dict]:
    path = folder / HISTORY_FILE
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").split("\n")
    # the last line is torn if a kill or a full disk stopped its write: it is not an entry
    return [json.loads(line) for line in lines[:-1] if line.strip()]


def _failed_steps(entry: dict) -> str:
    """Failed steps with what they said and what to do (the run's German failure summary)."""
    summary = entry.get("zusammenfassung") or [{"schritt": s, "meldung": "", "was_tun": ""}
                                                for s in entry["fehlgeschlagene_schritte"]]
    return "; ".join(f"{f['schritt']}: {f['meldung']} – {f['was_tun']}".rstrip(" –:") for f in summary) or "–"


def write_history_page(folder: Path) -> Path:
    entries = list(reversed(read_history(folder)))[:HISTORY_SHOWN]
    kind = {"bestanden": "ok", "unvollständig": "warnung"}
    rows = [[f'<span class="{kind.get(e["status"], "fehler")}">{e["status"]}</span>',
             german_datetime(e["ende"]), f'<a href="lauf_{escape(e["run_id"])}.html">{escape(e["run_id"][:8])}</a>',
             f'{Number(e["pruefgruppen_gelaufen"])} von {Number(e["pruefgruppen_gesamt"])}',
             Number(e["fehler"]), Number(e["warnungen"]),
             _failed_steps(e), e.get("freigabe") or "–"] for e in entries]
    latest = entries[0]["status"] if entries else None
    summary = (verdict(kind.get(latest, "fehler"), f"Letzter Lauf: {latest}.") if latest
               else verdict("warnung", "Noch kein abgeschlossener Lauf."))
    body = summary + table(["Status", "Ende", "Lauf", "Prüfgruppen", "Fehler", "Warnungen", "Fehlgeschlagene Schritte",
                            "Freigabe"], rows or [["–"] * 8], raw_columns={0, 2})
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / HISTORY_PAGE
    replace_text(target, page("Datenqualität: Laufhistorie", body, NAVIGATION))
    return target


def observed_de(observed: str) -> str:
    """What GX observed, in German (HTML; values that are data, not numbers to read, as code)."""
    data = json.loads(observed or "{}")
    parts = []
    if "fehler" in data:
        parts.append(f"Prüfung konnte nicht laufen: {escape(str(data['fehler']))}")
    if "observed_value" in data:
        value = data["observed_value"]
        shown = (str(Number(value, 2)) if isinstance(value, float)
                 else str(Number(value)) if isinstance(value, int) and not isinstance(value, bool)
                 else f"<code>{escape(str(value))}</code>")
        parts.append(f"beobachtet: {shown}")
    if "element_count" in data:
        parts.append(f"{Number(data['element_count'])} Zeilen geprüft")
    if data.get("unexpected_count"):
        examples = escape(str(data.get("partial_unexpected_list", [])[:5]))
        parts.append(f"{Number(data['unexpected_count'])} abweichend, z. B. <code>{examples}</code>")
    return "; ".join(parts) or "–"
