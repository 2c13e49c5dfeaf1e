"""Data Docs of the release gate, in German and fully offline.

GX's own Data Docs load Bootstrap, jQuery and fonts from CDNs, which a statistics office's closed
network cannot reach; these pages render the same validation results from audit.dq_results with
inline CSS only. One page per run, plus index.html for the latest run.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from dagster_project.html_report import page, status, table

SEVERITY_DE = {"critical": "Fehler", "warning": "Warnung", "info": "Hinweis"}


def write_data_docs(con: duckdb.DuckDBPyConnection, run_id: str, folder: Path) -> Path:
    rows = con.execute("""
        SELECT suite, asset, expectation_type, beschreibung, severity, success, observed, kwargs, checked_at
        FROM audit.dq_results WHERE run_id = ? ORDER BY asset, suite, checked_at""", [run_id]).fetchall()
    failed_critical = sum(1 for r in rows if not r[5] and r[4] == "critical")
    failed_warning = sum(1 for r in rows if not r[5] and r[4] != "critical")
    verdict = ("<p class='fehler'>Die Prüfung ist nicht bestanden: mindestens ein Fehler sperrt die Freigabe.</p>"
               if failed_critical else "<p class='ok'>Die Prüfung ist bestanden: keine Fehler.</p>")
    body = [
        f"<p>Lauf <b>{run_id}</b>: {len(rows)} Erwartungen geprüft, {failed_critical} Fehler, "
        f"{failed_warning} Warnungen.</p>", verdict,
        "<p class='klein'>Fehler sperren die Freigabe; Warnungen werden freigegeben und berichtet. "
        "Geprüft mit Great Expectations; die Erwartungen stehen im Ordner expectations/ des Repositorys.</p>",
    ]
    table_rows = []
    for suite, asset, kind, text, severity, success, observed, kwargs, _ in rows:
        table_rows.append([asset, suite, text, SEVERITY_DE.get(severity, severity), status(success, severity),
                           _observed_de(observed), f"{kind} {kwargs}"])
    body.append(table(["Datenbestand", "Prüfgruppe", "Erwartung", "Schwere", "Ergebnis", "Beobachtet", "Technisch"],
                      table_rows, raw_columns={4}))
    html = page("Datenqualität: Prüfbericht der Freigabeprüfung", "".join(body))
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"lauf_{run_id}.html"
    target.write_text(html, encoding="utf-8")
    (folder / "index.html").write_text(html, encoding="utf-8")
    return target


def _observed_de(observed: str) -> str:
    data = json.loads(observed or "{}")
    parts = []
    if "fehler" in data:
        parts.append(f"Prüfung konnte nicht laufen: {data['fehler']}")
    if "observed_value" in data:
        parts.append(f"beobachtet: {data['observed_value']}")
    if "element_count" in data:
        parts.append(f"{data['element_count']} Zeilen geprüft")
    if data.get("unexpected_count"):
        parts.append(f"{data['unexpected_count']} abweichend, z. B. {data.get('partial_unexpected_list', [])[:5]}")
    return "; ".join(parts) or "–"
