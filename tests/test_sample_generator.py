"""The sample generator: exact formats, determinism, and the stock-flow identity."""

from __future__ import annotations

import hashlib

import duckdb

from sample_deliveries.__main__ import generate
from tests.conftest import SPEC_HEADERS


def _read(path) -> str:
    return (f"read_csv('{path}', delim=';', header=true, all_varchar=true, auto_detect=false, "
            f"columns={{{', '.join(repr(c) + ': ' + repr('VARCHAR') for c in _header(path))}}})")


def _header(path) -> list[str]:
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")
    return first.split(";")


def test_every_register_is_written_in_its_exact_format(sample_inbox):
    for register, header in SPEC_HEADERS.items():
        files = sorted((sample_inbox / register).glob("*.csv"))
        assert files, register
        for path in files:
            raw = path.read_bytes()
            if raw.startswith(b"\xef\xbb\xbf"):
                text = raw[3:].decode("utf-8")
                assert "\r\n" not in text
            else:  # Windows-1252 exports with CRLF
                text = raw.decode("cp1252")
                assert text.endswith("\r\n")
            assert text.splitlines()[0] == header, path.name
    months = sorted(p.name for p in (sample_inbox / "sgb2").glob("*.csv"))
    assert months[0] == "sgb2_2022-01.csv" and months[-1] == "sgb2_2023-12.csv" and len(months) == 24
    assert sorted(p.name for p in (sample_inbox / "einwohner").glob("*.csv")) == [
        "einwohner_2022-12-31.csv", "einwohner_2023-12-31.csv"]


def test_dates_are_german_and_names_are_present(sample_inbox):
    con = duckdb.connect()
    path = sample_inbox / "einwohner" / "einwohner_2023-12-31.csv"
    row = con.execute(f"""
        SELECT count(*) FILTER (WHERE NOT regexp_full_match(GEBURTSDATUM, '[0-9]{{2}}\\.[0-9]{{2}}\\.[0-9]{{4}}')),
               count(*) FILTER (WHERE FAMILIENNAME = '' OR FAMILIENNAME IS NULL),
               count(*) FILTER (WHERE STRASSE IS NULL), count(DISTINCT STAT_BEZIRK)
        FROM {_read(path)}""").fetchone()
    assert row == (0, 0, 0, 62)


def test_generation_is_deterministic(tmp_path):
    def digest(folder):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*.csv"))}

    for name in ("a", "b"):
        generate(tmp_path / name, [2016], scale=0.005, seed=3, progress=lambda _: None,
                 registers={"einwohner", "bewegungen", "sgb2"})
    assert digest(tmp_path / "a") == digest(tmp_path / "b")


def test_stock_flow_identity_between_two_years(sample_inbox):
    """Extract 2023 = extract 2022 + births + moves in - deaths - moves out, per person and per
    district, with moves within the city changing districts."""
    con = duckdb.connect()
    e22 = _read(sample_inbox / "einwohner" / "einwohner_2022-12-31.csv")
    e23 = _read(sample_inbox / "einwohner" / "einwohner_2023-12-31.csv")
    b23 = _read(sample_inbox / "bewegungen" / "bewegungen_2023.csv")
    con.execute(f"CREATE TABLE s22 AS SELECT ORDNUNGSMERKMAL AS p, STAT_BEZIRK AS d FROM {e22}")
    con.execute(f"CREATE TABLE s23 AS SELECT ORDNUNGSMERKMAL AS p, STAT_BEZIRK AS d FROM {e23}")
    con.execute(f"CREATE TABLE m AS SELECT ORDNUNGSMERKMAL AS p, EREIGNIS AS e, DATUM AS t, "
                f"STAT_BEZIRK_VON AS von, STAT_BEZIRK_NACH AS nach FROM {b23}")
    # persons: (2022 + entered) - left == 2023, as sets
    entered = "SELECT p FROM m WHERE e IN ('GEBURT', 'ZUZUG_AUSLAND', 'ZUZUG_INLAND')"
    left = "SELECT p FROM m WHERE e IN ('TOD', 'FORTZUG_AUSLAND', 'FORTZUG_INLAND')"
    expected = con.execute(f"SELECT p FROM ((SELECT p FROM s22 UNION ALL {entered}) EXCEPT ALL ({left}))").fetchall()
    actual = con.execute("SELECT p FROM s23").fetchall()
    assert sorted(expected) == sorted(actual)
    assert len(actual) > 10_000
    # districts: stock + inflows - outflows, moves within the city included
    rows = con.execute("""
        WITH flows AS (
            SELECT nach AS d, 1 AS n FROM m WHERE nach IS NOT NULL
            UNION ALL SELECT von AS d, -1 AS n FROM m WHERE von IS NOT NULL
            UNION ALL SELECT d, 1 FROM s22)
        SELECT f.d, sum(n) AS expected, (SELECT count(*) FROM s23 WHERE s23.d = f.d) AS actual
        FROM flows f GROUP BY f.d""").fetchall()
    assert len(rows) == 62
    assert all(expected == actual for _, expected, actual in rows), rows
    # a person's district in 2023 is the last district of their movements in 2023
    mismatched = con.execute("""
        SELECT count(*) FROM s23 JOIN (
            SELECT p, arg_max(nach, strptime(t, '%d.%m.%Y')) AS last_nach FROM m
            WHERE nach IS NOT NULL GROUP BY p) USING (p)
        WHERE s23.d <> last_nach""").fetchone()[0]
    assert mismatched == 0


def test_person_draws_equal_the_full_table_of_draws():
    """The welfare model draws each household's normal and each person's four uniforms again per
    year instead of holding them; they must be the very numbers of the tables drawn at the start,
    and the model's generator must continue as if the tables had been drawn."""
    import numpy as np

    from sample_deliveries.welfare import DRAW_CHUNK, WelfareModel

    capacity = DRAW_CHUNK // 2 + 1234  # more than one chunk of draws per row
    model = WelfareModel(seed=7, capacity=capacity)
    reference = np.random.default_rng(7 + 7919)
    noise = reference.normal(size=capacity * 2)
    table = reference.random((4, capacity * 2))
    person = np.array([capacity * 2 - 1, 0, 5, DRAW_CHUNK, DRAW_CHUNK - 1, 5, 17])
    assert np.array_equal(model.person_draws(person), table[:, person])
    household = np.array([3, capacity * 2 + 3, DRAW_CHUNK + 1, 0, capacity * 2 - 1])
    assert np.array_equal(model.household_noise(household), noise[household % (capacity * 2)])
    assert model.rng.random() == reference.random()


def test_coded_text_columns_reach_duckdb_as_their_texts():
    import numpy as np
    import pyarrow as pa

    from sample_deliveries.writer import Coded

    column = Coded.of(np.array([2, -1, 0, 2, 1]), ["Weg", "Allee", "Weg"])
    con = duckdb.connect()
    con.register("t", pa.table({"street": column[1:].arrow()}))
    assert [r[0] for r in con.execute("SELECT street FROM t").fetchall()] == [None, "Weg", "Weg", "Allee"]
