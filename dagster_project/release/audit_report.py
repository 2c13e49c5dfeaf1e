"""The German audit report of a release (HTML, offline): what was delivered, what was rejected,
which checks ran with which outcome, what was released and what was suppressed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dagster_project import city_profile
from dagster_project.html_report import Number, german_datetime, page, status, table, verdict
from dagster_project.quality.data_docs import SEVERITY_DE, observed_de


def audit_report_body(manifest: dict, quality: pd.DataFrame) -> str:
    deliveries = manifest["lieferungen"]
    secrecy = manifest["geheimhaltung"]
    rules = secrecy["regeln"]
    warnings = int(((~quality.success.astype(bool)) & (quality.severity != "critical")).sum()) if len(quality) else 0
    exposed = (manifest.get("angreiferpruefung") or {}).get("rueckrechenbar", 0)
    return "".join([
        verdict("fehler", f"Release NICHT freigegeben: die Angreiferprüfung findet {Number(exposed)} gesperrte "
                          "Zellen, die sich aus den veröffentlichten Zahlen zurückrechnen oder zu eng eingrenzen "
                          "ließen (siehe Angreiferprüfung unten). Das bisherige Release bleibt aktuell.")
        if exposed else
        verdict("ok" if not warnings else "warnung",
                f"Freigabeprüfung bestanden: {len(quality)} Erwartungen geprüft, keine Fehler"
                + (f", {warnings} {'Warnung' if warnings == 1 else 'Warnungen'} (freigegeben und unten aufgeführt)"
                   if warnings else "") + "; Angreiferprüfung bestanden."),
        "<h2>Freigabe</h2>",
        table(["Angabe", "Wert"], [
            ["Release-Kennung", manifest["release_id"]],
            ["Zeitpunkt", german_datetime(manifest["zeitpunkt"])],
            ["Codeversion (git)", manifest["code_version"]],
            ["Dagster-Lauf", manifest["dagster_run_id"]],
            ["Vorheriges Release", manifest.get("vorheriges_release") or "–"],
        ]),
        "<p><a href='aenderungsnachweis.html'>Änderungsnachweis gegenüber dem vorherigen Release</a></p>",
        "<h2>Freigegebene Tabellen</h2>",
        table(["Tabelle", "Zeilen"], sorted(manifest["tabellen"].items())),
        delivery_calendar_section(manifest["lieferkalender"], "Lieferkalender zum Zeitpunkt der Freigabe")
        if manifest.get("lieferkalender") else "",
        "<h2>Lieferungen im Release</h2>",
        "<p class='klein'>Je Register und Zeitraum die zuletzt geladene Lieferung mit Prüfsumme (SHA-256); "
        "Zeilen in Quarantäne stehen mit Regel und Zeilennummer in der Quarantäne des Warehouse.</p>",
        table(["Register", "Zeitraum", "Datei", "SHA-256", "Zeilen gelesen", "in Quarantäne"],
              [[d["register"], d["period"], d["file_name"], d["file_sha256"][:16] + "…", d["rows_read"],
                d["rows_quarantined"]] for d in deliveries]),
        "<h2>Qualitätsprüfungen (Great Expectations)</h2>",
        table(["Datenbestand", "Erwartung", "Schwere", "Ergebnis", "Beobachtet (bei Abweichung)"],
              [[r.asset, r.beschreibung, SEVERITY_DE.get(r.severity, r.severity), status(bool(r.success), r.severity),
                "–" if r.success else observed_de(r.observed)]
               for r in quality.itertuples()], raw_columns={3, 4}),
        "<h2>Statistische Geheimhaltung</h2>",
        f"<p>Regeln: Fallzahlen unter {rules['min_count']} (außer 0) werden gesperrt; Quoten nur bei einem Nenner "
        f"ab {Number(rules['min_rate_denominator'])} und einem Zähler von 0 oder ab {rules['min_rate_numerator']}; "
        "Sekundärsperrung gegen Rückrechnung über Summen. Gesperrte Zellen sind im Release leer und mit "
        "is_suppressed und suppression_rule gekennzeichnet (Bezeichnungen in dim_suppression_rule).</p>",
        table(["Regel", "gesperrte Zellen"],
              [[secrecy["regeln_de"].get(rule, rule), count]
               for rule, count in sorted(secrecy["gesperrte_zellen_je_regel"].items())] or [["–", 0]]),
        "<p class='klein'>Personenbezogene Daten enthält das Release nicht: nur Summen je Gebiet und Jahr.</p>",
        _attack_section(manifest.get("angreiferpruefung")),
    ])


RELATIONS_DE = {"hierarchy": "Gebietshierarchie", "partition": "Aufteilung nach Gruppen", "flow": "Bestand und Bewegung",
                "rate": "Quote mit bekanntem Nenner",
                "identity": "Summe oder Differenz (Altersgruppen, Gruppen, Zu- und Fortzüge)"}


def level_de(level: str) -> str:
    """The level's German name from the city profile (Gesamtstadt for city)."""
    try:
        return city_profile.current().label_de(level)
    except KeyError:
        return level


def _share(value) -> str:
    return "–" if value is None else f"{Number(100 * value, 1)} %"


def _attack_section(attack: dict | None) -> str:
    """The attacker's audit: which suppressed counts the published figures still pin down, and
    what secondary suppression cost (shares of suppressed cells before and after)."""
    if not attack:
        return ""
    width = attack["engstes_intervall"]
    secondary = attack.get("sekundaer_ueber_relationen")
    return "".join([
        "<h2 id='angreiferpruefung'>Angreiferprüfung (Rückrechnung gesperrter Zellen)</h2>",
        f"<p class='{'fehler' if attack['rueckrechenbar'] else 'ok'}'>"
        f"{Number(attack['rueckrechenbar'])} von {Number(attack['geprueft'])} geprüften Erstsperrungen lassen sich "
        f"aus den veröffentlichten Zahlen über {Number(attack['relationen'])} Relationen (Gebietshierarchie, Gruppen, "
        "Altersgruppen, Zu- und Fortzüge, Bestand und Bewegung, dieselbe Zahl in zwei Tabellen) enger eingrenzen als der Schutzbereich erlaubt"
        + (f"; engstes Intervall einer Erstsperrung: {Number(width, 1)}" if width is not None else "") + ". "
        + ("Eine rückrechenbare Zelle sperrt die Freigabe." if attack["rueckrechenbar"] else "") + "</p>",
        (f"<p>Beziehungssuche in den wahren Zahlen: {Number(sum(search['gefunden'].values()))} exakte Beziehungen "
         f"gefunden ({Number(search['gefunden']['identity'])} innerhalb eines Gebiets und Jahres, "
         f"{Number(search['gefunden']['hierarchy'])} Zahlen, die sich über die Gebietshierarchie summieren, "
         f"{Number(search['gefunden']['flow'])} Bestand-Bewegung-Paare), {Number(search['nicht_im_modell'])} davon "
         f"nicht im Modell, {Number(search['sekunden'], 1)} s.</p>" if (search := attack.get("beziehungssuche")) else ""),
        (f"<p>Sekundärsperrung über alle Relationen: {Number(secondary['zusaetzlich_gesperrt'])} Zellen zusätzlich "
         f"gesperrt, in {secondary['runden']} Runden mit der Angreiferprüfung, {Number(secondary['sekunden'], 1)} s.</p>"
         if secondary else "<p>Sekundärsperrung ist in den Regeln ausgeschaltet.</p>"),
        table(["Mart", "Zellen", "gesperrt nur Erstsperrung", "gesperrt mit Sekundärsperrung", "gesperrte Zellen",
               "geprüfte Erstsperrungen", "rückrechenbar", "engstes Intervall"],
              [[mart, "–" if s.get("zellen") is None else s["zellen"], _share(s.get("anteil_primaer")),
                _share(s.get("anteil_gesperrt")), s["gesperrt"], s["geprueft"], s["rueckrechenbar"],
                "–" if s["engstes_intervall"] is None else Number(s["engstes_intervall"], 1)]
               for mart, s in sorted(attack["je_mart"].items())]),
        "<h3>Informationsverlust je Gebietsebene</h3>",
        table(["Mart", "Gebietsebene", "Zellen", "gesperrt nur Erstsperrung", "gesperrt mit Sekundärsperrung",
               "Anteil der Fallzahl gesperrt, nur Erstsperrung", "mit Sekundärsperrung"],
              [[r["mart"], level_de(r["area_level"]), r["zellen"], _share(r.get("anteil_primaer")),
                _share(r.get("anteil_gesperrt")), _share(r.get("gewicht_anteil_primaer")),
                _share(r.get("gewicht_anteil_gesperrt"))]
               for r in attack.get("informationsverlust", [])] or [["–"] * 7]),
        "<p class='klein'>Anteil der Fallzahl: jede Zelle gewichtet mit ihrer größeren Zahl (Zähler oder Nenner) vor "
        "der Sperrung. Der Verbleib wird nur oberhalb der untersten Ebene "
        f"({city_profile.current().lowest.plural_de}) veröffentlicht.</p>",
        "<p class='klein'>Schutzbereich: eine Fallzahl von 1 oder 2 muss zwischen 0 und mindestens 3 über ihrem Wert "
        "liegen können; jede andere Erstsperrung darf nicht eindeutig rückrechenbar sein (Einstellungen in "
        "disclosure_rules.yml). Rückrechenbare Zellen (ohne Werte):</p>",
        table(["Zahl", "Gebietsebene", "Gebiet", "Jahr", "aufgedeckt durch"],
              [[b["kennzahl"], b["area_level"], b["area_code"], str(b["reference_year"]),
                ", ".join(RELATIONS_DE.get(r, r) for r in b["relationen"])]
               for b in attack["beispiele"]] or [["–", "–", "–", "–", "–"]]),
    ])


def write_audit_report(target: Path, manifest: dict, quality: pd.DataFrame) -> Path:
    target.write_text(page(f"Prüfbericht zum Release {manifest['release_id']}", audit_report_body(manifest, quality)),
                      encoding="utf-8")
    return target


def delivery_calendar_section(records: list[dict], title: str) -> str:
    """The delivery calendar (dagster_project/ingest/freshness.py) as a section: overdue registers
    named in the verdict, then every register's newest and next period."""
    import datetime as dt

    overdue = [r["register"] for r in records if r["ueberfaellig"]]
    head = (verdict("warnung", f"{len(overdue)} Register mit überfälliger Lieferung: {', '.join(overdue)}.")
            if overdue else verdict("ok", "Keine Lieferung ist überfällig."))
    rows = [[r["register"], r["lieferung"], r["neuester_zeitraum"] or "–", r["naechster_zeitraum"] or "–",
             f"{dt.date.fromisoformat(r['faellig_am']):%d.%m.%Y}" if r["faellig_am"] else "–",
             ("ÜBERFÄLLIG" if r["ueberfaellig"] else "rechtzeitig")
             + (f" (Lieferung abgelehnt, Regel {r['abgelehnt']})" if r.get("abgelehnt") else "")] for r in records]
    return (f"<h2 id='lieferkalender'>{title}</h2>" + head
            + table(["Register", "Lieferung", "neuester Zeitraum", "nächster Zeitraum", "fällig am", "Stand"], rows))
