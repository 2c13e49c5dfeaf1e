"""Ingest: broken deliveries are refused whole, bad rows are quarantined with their rule,
re-deliveries replace their period."""

from __future__ import annotations

import duckdb
import pytest

from dagster_project.ingest.errors import DeliveryRefused
from dagster_project.ingest.load import load_delivery
from tests.conftest import SPEC_HEADERS, TEST_KEY, table_hashes, write_file

HEADER = SPEC_HEADERS["einwohner"]
GOOD_ROWS = [
    "0000000001;Müller;Anna;01.02.1980;W;000;;000;H;Schulstraße;12;050;HH000000001;;15.03.2010",
    "0000000002;Yilmaz;Mehmet;03.04.1975;M;163;;163;H;Schulstraße;12;050;HH000000002;01.06.2005;01.06.2005",
    "0000000003;Popescu;Ion;05.06.2001;M;154;;154;H;Hafenweg;3;040;HH000000003;10.10.2023;10.10.2023",
    "0000000004;Weiß;Jürgen;07.08.1950;M;000;163;000;N;Hafenweg;5;040;HH000000004;;01.01.2000",
]


@pytest.fixture
def loaded(warehouse):
    """A warehouse with one valid delivery loaded; returns (inbox, db path, connection factory)."""
    inbox = warehouse / "inbox"
    path = write_file(inbox, "einwohner", "einwohner_2023-12-31.csv", [HEADER, *GOOD_ROWS])
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"))
    result = load_delivery(con, path, TEST_KEY, warehouse / "quarantine")
    assert (result.rows_read, result.rows_accepted, result.rows_quarantined) == (4, 4, 0)
    yield inbox, warehouse / "warehouse.duckdb", con
    con.close()


def refuse(con, path, warehouse):
    with pytest.raises(DeliveryRefused) as caught:
        load_delivery(con, path, TEST_KEY, warehouse / "quarantine")
    return caught.value.refusal


BROKEN = {
    # name: (file name, register, writer kwargs / lines transform, rule, line, column)
    "header_differs": ("einwohner_2023-12-31.csv", lambda: [HEADER.replace("VORNAMEN", "VORNAME"), *GOOD_ROWS],
                       {}, "kopfzeile", 1, "VORNAMEN"),
    "column_missing": ("einwohner_2023-12-31.csv", lambda: [HEADER.replace(";HAUSHALT", ""), *GOOD_ROWS],
                       {}, "kopfzeile", 1, "HAUSHALT"),
    "truncated": ("einwohner_2023-12-31.csv", lambda: [HEADER, *GOOD_ROWS[:3], GOOD_ROWS[3][:40]],
                  {"final_newline": False}, "abgeschnitten", 5, None),
    "empty": ("einwohner_2023-12-31.csv", lambda: [], {"final_newline": False}, "leere_datei", 1, None),
    "header_only": ("einwohner_2023-12-31.csv", lambda: [HEADER], {}, "keine_daten", 2, None),
    "period_format": ("einwohner_2023-06-30.csv", lambda: [HEADER, *GOOD_ROWS], {}, "zeitraum_im_namen", None, None),
    "period_not_content": ("einwohner_2024-12-31.csv", lambda: [HEADER, *GOOD_ROWS], {},
                           "zeitraum_passt_nicht", None, "EINZUG_WOHNUNG"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_delivery_is_refused_and_database_unchanged(loaded, warehouse, case):
    inbox, db_path, con = loaded
    before = table_hashes(con)
    name, lines, kwargs, rule, line, column = BROKEN[case]
    path = write_file(inbox, "einwohner", name, lines(), **kwargs)
    refusal = refuse(con, path, warehouse)
    assert refusal.rule == rule
    assert refusal.file == name
    assert refusal.line == line
    assert refusal.column == column
    assert name in str(refusal) and f"Regel: {rule}" in str(refusal)
    assert table_hashes(con) == before


def test_unreadable_encoding_is_refused_with_its_line(loaded, warehouse):
    inbox, _, con = loaded
    before = table_hashes(con)
    path = inbox / "einwohner" / "einwohner_2023-12-31.csv"
    body = ("\n".join([HEADER, *GOOD_ROWS[:2]]) + "\n").encode("utf-8")
    # a byte that is neither UTF-8 nor defined in Windows-1252, in line 4
    path.write_bytes(body + b"0000000009;M\x81ller" + GOOD_ROWS[2][18:].encode() + b"\n")
    refusal = refuse(con, path, warehouse)
    assert (refusal.rule, refusal.line) == ("kodierung", 4)
    assert "0x81" in refusal.message_de
    # BOM announces UTF-8, but the content is Windows-1252
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join([HEADER, *GOOD_ROWS]) + "\n").encode("cp1252"))
    assert refuse(con, path, warehouse).rule == "kodierung"
    # binary data
    path.write_bytes(("\n".join([HEADER, *GOOD_ROWS]) + "\n").encode("utf-8") + b"\x00\x00\x01\n")
    assert refuse(con, path, warehouse).rule == "kodierung"
    assert table_hashes(con) == before


def test_movements_with_dates_of_another_year_are_refused(warehouse):
    inbox = warehouse / "inbox"
    rows = [f"00000000{i:02d};UMZUG;0{1 + i % 9}.03.2023;01.01.1990;W;000;050;040;" for i in range(10)]
    path = write_file(inbox, "bewegungen", "bewegungen_2022.csv", [SPEC_HEADERS["bewegungen"], *rows])
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"))
    refusal = refuse(con, path, warehouse)
    assert refusal.rule == "zeitraum_passt_nicht" and refusal.column == "DATUM"
    assert table_hashes(con) == {}


def test_windows_1252_with_crlf_is_read(warehouse):
    inbox = warehouse / "inbox"
    path = write_file(inbox, "einwohner", "einwohner_2023-12-31.csv", [HEADER, *GOOD_ROWS],
                      encoding="cp1252", newline="\r\n")
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"))
    result = load_delivery(con, path, TEST_KEY, warehouse / "quarantine")
    assert (result.rows_accepted, result.rows_quarantined) == (4, 0)
    assert con.execute("SELECT encoding FROM audit.load_log").fetchone()[0] == "cp1252"
    # no stray carriage return in the last column
    assert con.execute("SELECT max(EINZUG_WOHNUNG) FROM raw.einwohner").fetchone()[0] == "15.03.2010"


def test_bad_rows_are_quarantined_with_their_rule(warehouse):
    inbox = warehouse / "inbox"
    bad = [
        "0000000011;A;B;01.02.1980;W;000;;000;H;X;1;999;HH000000011;;15.03.2010",        # unknown district
        "0000000012;A;B;31.02.1980;W;000;;000;H;X;1;050;HH000000012;;15.03.2010",        # impossible date
        "0000000013;A;B;01.02.1980;W;996;;000;H;X;1;050;HH000000013;;15.03.2010",        # unknown nationality
        "0000000001;A;B;01.02.1990;M;000;;000;H;X;1;050;HH000000014;;15.03.2015",        # duplicate of line 2
        "0000000015;A;B;01.02.1980;W;000;;000;H;X;1;050;HH000000015;;15.03.2010;extra",  # 16 fields
        "0000000016;A;B;01.02.1980;Q;000;;000;H;X;1;050;HH000000016;;15.03.2010",        # sex not in code list
    ]
    path = write_file(inbox, "einwohner", "einwohner_2023-12-31.csv", [HEADER, *GOOD_ROWS, *bad])
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"))
    result = load_delivery(con, path, TEST_KEY, warehouse / "quarantine")
    assert (result.rows_read, result.rows_accepted, result.rows_quarantined) == (10, 3, 7)
    found = set(con.execute("SELECT line_no, column_name, rule FROM audit.quarantine").fetchall())
    assert found == {
        (6, "STAT_BEZIRK", "unbekannter_code"),
        (7, "GEBURTSDATUM", "datum"),
        (8, "STAATSANGEHOERIGKEIT_1", "unbekannter_code"),
        (2, "ORDNUNGSMERKMAL", "duplikat"),
        (9, "ORDNUNGSMERKMAL", "duplikat"),
        (10, None, "spaltenzahl"),
        (11, "GESCHLECHT", "codeliste"),
    }
    # values of ordinary columns are kept, identifiers are not
    values = dict(((r[0], r[1]), r[2]) for r in con.execute(
        "SELECT line_no, rule, value FROM audit.quarantine").fetchall())
    assert values[(6, "unbekannter_code")] == "999"
    assert values[(2, "duplikat")] is None
    messages = con.execute("SELECT message_de FROM audit.quarantine WHERE rule='spaltenzahl'").fetchone()[0]
    assert "16 statt 15" in messages
    # the engineer's quarantine file names line, column, rule
    qfile = warehouse / "quarantine" / "einwohner" / "einwohner_2023-12-31.quarantaene.csv"
    text = qfile.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "ZEILE;SPALTE;REGEL;MELDUNG;WERT"
    assert "6;STAT_BEZIRK;unbekannter_code" in text
    # the accepted rows are in raw, the quarantined ones are not
    lines = sorted(r[0] for r in con.execute("SELECT _line_no FROM raw.einwohner").fetchall())
    assert lines == [3, 4, 5]


def test_reloading_the_same_delivery_changes_no_counts(loaded, warehouse):
    inbox, _, con = loaded
    path = inbox / "einwohner" / "einwohner_2023-12-31.csv"
    counts = lambda: con.execute(  # noqa: E731
        "SELECT (SELECT count(*) FROM raw.einwohner), (SELECT count(*) FROM audit.quarantine)").fetchone()
    before = counts()
    assert load_delivery(con, path, TEST_KEY, warehouse / "quarantine").status == "unveraendert"
    assert load_delivery(con, path, TEST_KEY, warehouse / "quarantine", force=True).status == "geladen"
    assert counts() == before == (4, 0)


def test_redelivery_replaces_its_period_only(loaded, warehouse):
    inbox, _, con = loaded
    other = write_file(inbox, "einwohner", "einwohner_2022-12-31.csv",
                       [HEADER, GOOD_ROWS[0], GOOD_ROWS[1].replace("2005", "2022")])
    load_delivery(con, other, TEST_KEY, warehouse / "quarantine")
    corrected = write_file(inbox, "einwohner", "einwohner_2023-12-31.csv", [HEADER, *GOOD_ROWS[:3]])
    load_delivery(con, corrected, TEST_KEY, warehouse / "quarantine")
    per_period = dict(con.execute("SELECT _period, count(*) FROM raw.einwohner GROUP BY 1").fetchall())
    assert per_period == {"2022-12-31": 2, "2023-12-31": 3}
    logged = con.execute("SELECT count(*) FROM audit.load_log WHERE period = '2023-12-31'").fetchone()[0]
    assert logged == 2  # both loads stay in the load log


def test_quoted_fields_and_blanks_are_read(warehouse):
    quoted = ['"0000000021";"Meier";"Eva";"01.02.1980";"W";"000";"";"000";"H";"Weg";"1";" 050 ";"HH21";"";"15.03.2023"']
    path = write_file(warehouse / "inbox", "einwohner", "einwohner_2023-12-31.csv", [HEADER, *quoted])
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"))
    result = load_delivery(con, path, TEST_KEY, warehouse / "quarantine")
    assert (result.rows_accepted, result.rows_quarantined) == (1, 0)
    assert con.execute("SELECT STAT_BEZIRK, GESCHLECHT FROM raw.einwohner").fetchone() == ("050", "W")
