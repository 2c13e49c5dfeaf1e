"""Release notes for auditors (Änderungsnachweis): what changed against the previous release.

Deliveries added, replaced or dropped; row counts per table; released indicator values that
changed by more than the threshold (revisions of values already published; the largest listed);
cells suppressed now that were released before; warnings of the gate. Written as
`aenderungsnachweis.json` (machine-readable) and `aenderungsnachweis.html` (German, offline).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from dagster_project.html_report import Number, german_datetime, page, table, verdict

# A released value counts as changed when it moved by more than this share of its previous value
# (in %), or from or to zero.
CHANGE_THRESHOLD_PCT = 5.0
TOP_CHANGES = 25
KEY = ("indicator_id", "area_level", "area_code", "reference_year")


def _delivery_changes(new: dict, old: dict | None) -> dict[str, list]:
    before = {(d["register"], d["period"]): d for d in (old or {}).get("lieferungen", [])}
    after = {(d["register"], d["period"]): d for d in new["lieferungen"]}
    return {
        "neu": [after[k] for k in sorted(after.keys() - before.keys())],
        "ersetzt": [after[k] for k in sorted(after.keys() & before.keys())
                    if after[k]["file_sha256"] != before[k]["file_sha256"]],
        "entfallen": [before[k] for k in sorted(before.keys() - after.keys())],
    }


def _value_changes(previous_db: Path, new_db: Path) -> tuple[list[dict], int, list[dict]]:
    """(largest changes, number of changes, newly suppressed cells) of the indicator fact."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{previous_db}' AS alt (READ_ONLY)")
        con.execute(f"ATTACH '{new_db}' AS neu (READ_ONLY)")
        join = " AND ".join(f"n.{k} = a.{k}" for k in KEY)
        changed = f"""
            SELECT n.indicator_id, n.area_level, n.area_code, n.area_name, n.reference_year,
                   a.indicator_value AS alt, n.indicator_value AS neu,
                   CASE WHEN a.indicator_value <> 0
                        THEN 100 * (n.indicator_value - a.indicator_value) / abs(a.indicator_value) END AS aenderung_pct
            FROM neu.marts.fct_indicator_values AS n JOIN alt.marts.fct_indicator_values AS a ON {join}
            WHERE NOT n.is_suppressed AND NOT a.is_suppressed
              AND n.indicator_value IS DISTINCT FROM a.indicator_value
              AND (a.indicator_value = 0 OR n.indicator_value = 0
                   OR abs(n.indicator_value - a.indicator_value) > {CHANGE_THRESHOLD_PCT} / 100 * abs(a.indicator_value))"""
        count = con.execute(f"SELECT count(*) FROM ({changed})").fetchone()[0]
        top = con.execute(f"SELECT * FROM ({changed}) ORDER BY abs(aenderung_pct) DESC NULLS FIRST, indicator_id, "
                          f"area_code LIMIT {TOP_CHANGES}").df()
        newly = con.execute(f"""
            SELECT n.indicator_id, n.area_level, n.area_code, n.area_name, n.reference_year
            FROM neu.marts.fct_indicator_values AS n JOIN alt.marts.fct_indicator_values AS a ON {join}
            WHERE n.is_suppressed AND NOT a.is_suppressed
            ORDER BY n.indicator_id, n.area_level, n.area_code, n.reference_year""").df()
    finally:
        con.close()
    return (json.loads(top.to_json(orient="records")), int(count), json.loads(newly.to_json(orient="records")))


def release_notes(manifest: dict, previous: dict | None, previous_db: Path | None, new_db: Path) -> dict:
    comparable = previous is not None and previous_db is not None and previous_db.exists()
    changes, count, newly = _value_changes(previous_db, new_db) if comparable else ([], 0, [])
    old_tables = (previous or {}).get("tabellen", {})
    return {
        "release_id": manifest["release_id"],
        "vorheriges_release": previous["release_id"] if previous else None,
        "zeitpunkt": manifest["zeitpunkt"],
        "lieferungen": _delivery_changes(manifest, previous),
        "zeilen": [{"tabelle": name, "vorher": old_tables.get(name), "jetzt": rows}
                   for name, rows in sorted(manifest["tabellen"].items())],
        "schwelle_pct": CHANGE_THRESHOLD_PCT,
        "geaenderte_werte_anzahl": count,
        "geaenderte_werte": changes,
        "neu_gesperrte_zellen": newly,
        "warnungen": [{"datenbestand": r["asset"], "erwartung": r["beschreibung"]}
                      for r in manifest["pruefungen"] if not r["success"] and r["severity"] != "critical"],
    }


def _html(notes: dict) -> str:
    deliveries = notes["lieferungen"]
    body = [
        verdict("ok", f"Release {notes['release_id']} vom {german_datetime(notes['zeitpunkt'])}: "
                      + (f"Änderungen gegenüber Release {notes['vorheriges_release']}." if notes["vorheriges_release"]
                         else "erstes Release, kein Vergleich möglich.")),
        "<h2>Lieferungen</h2>",
        table(["Änderung", "Register", "Zeitraum", "Datei", "Zeilen gelesen", "in Quarantäne"],
              [[kind, d["register"], d["period"], d["file_name"], d["rows_read"], d["rows_quarantined"]]
               for kind, label in (("neu", "neu"), ("ersetzt", "ersetzt"), ("entfallen", "entfallen"))
               for d in deliveries[label]] or [["keine", "–", "–", "–", "–", "–"]]),
        "<h2>Zeilen je Tabelle</h2>",
        table(["Tabelle", "vorher", "jetzt"], [[z["tabelle"], "–" if z["vorher"] is None else z["vorher"], z["jetzt"]]
                                               for z in notes["zeilen"]]),
        f"<h2>Geänderte Werte (mehr als {Number(notes['schwelle_pct'], 1)} %)</h2>",
        f"<p>{Number(notes['geaenderte_werte_anzahl'])} bereits veröffentlichte Indikatorwerte haben sich um mehr als "
        f"die Schwelle geändert; die {Number(len(notes['geaenderte_werte']))} größten Änderungen:</p>",
        table(["Indikator", "Gebiet", "Jahr", "vorher", "jetzt", "Änderung"],
              [[c["indicator_id"], f"{c['area_name']} ({c['area_code']})", str(c["reference_year"]),
                Number(c["alt"], 2), Number(c["neu"], 2), Number(c["aenderung_pct"], 1, "%")]
               for c in notes["geaenderte_werte"]] or [["–", "–", "–", "–", "–", "–"]]),
        "<h2>Neu gesperrte Zellen</h2>",
        table(["Indikator", "Gebiet", "Jahr"],
              [[c["indicator_id"], f"{c['area_name']} ({c['area_code']})", str(c["reference_year"])]
               for c in notes["neu_gesperrte_zellen"]] or [["keine", "–", "–"]]),
        "<h2>Warnungen der Freigabeprüfung</h2>",
        table(["Datenbestand", "Erwartung"], [[w["datenbestand"], w["erwartung"]] for w in notes["warnungen"]]
              or [["keine", "–"]]),
    ]
    return page(f"Änderungsnachweis zum Release {notes['release_id']}", "".join(body))


def write_release_notes(folder: Path, manifest: dict, previous: dict | None, previous_db: Path | None,
                        new_db: Path) -> dict:
    notes = release_notes(manifest, previous, previous_db, new_db)
    (folder / "aenderungsnachweis.json").write_text(json.dumps(notes, ensure_ascii=False, indent=2), encoding="utf-8")
    (folder / "aenderungsnachweis.html").write_text(_html(notes), encoding="utf-8")
    return notes
