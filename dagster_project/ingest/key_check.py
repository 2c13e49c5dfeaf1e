"""The warehouse remembers which pseudonymisation key it was loaded with.

Pseudonyms made with two keys do not match: a person would become two, and links over the years
(cohort retention, moves) would break without any error. So the first load records a fingerprint
of the key (an HMAC of a fixed text with the key: it reveals neither the key nor any pseudonym) in
`audit.pseudonym_key`, and every later load compares. A different key stops the ingest with the
way to rotate a key (docs/operations.md, "Schlüsselwechsel"): every delivery loaded anew into an
empty warehouse."""

from __future__ import annotations

import datetime as dt

import duckdb

from dagster_project.ingest.pseudonymise import hmac_hex
from dagster_project.settings import PseudonymKey

KEY_TABLE = "audit.pseudonym_key"
FINGERPRINT_TEXT = "daten-fuer-taten/schluesselpruefung"


class PseudonymKeyChanged(RuntimeError):
    pass


def key_fingerprint(key: PseudonymKey) -> str:
    return hmac_hex(key.key, FINGERPRINT_TEXT)[:16]


def check_pseudonym_key(con: duckdb.DuckDBPyConnection, key: PseudonymKey) -> None:
    """Record the key's fingerprint on the first load; refuse a load with another key."""
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    con.execute(f"CREATE TABLE IF NOT EXISTS {KEY_TABLE} (fingerprint VARCHAR NOT NULL, key_mode VARCHAR, "
                "recorded_at TIMESTAMP NOT NULL)")
    row = con.execute(f"SELECT fingerprint, key_mode, recorded_at FROM {KEY_TABLE} ORDER BY recorded_at LIMIT 1").fetchone()
    fingerprint = key_fingerprint(key)
    if row is None:
        con.execute(f"INSERT INTO {KEY_TABLE} VALUES (?, ?, ?)", [fingerprint, key.mode, dt.datetime.now()])
        return
    if row[0] != fingerprint:
        raise PseudonymKeyChanged(
            f"Der Pseudonymisierungsschlüssel ({key.mode}) ist nicht der, mit dem dieses Warehouse geladen wurde "
            f"({row[1]}, seit {row[2]:%d.%m.%Y}): mit ihm entstünden andere Pseudonyme für dieselben Personen. "
            "Nichts wurde geladen. Richtigen Schlüssel setzen – oder für einen Schlüsselwechsel alle Lieferungen "
            "in ein leeres Warehouse neu laden (docs/operations.md, „Schlüsselwechsel“). / The pseudonym key "
            "differs from the one this warehouse was loaded with; nothing was loaded.")
