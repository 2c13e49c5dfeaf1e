"""Reports never claim a success the run did not have, keep a run history, and print numbers in
German."""

from __future__ import annotations

import html
import json
import re

from dagster_project.html_report import german_number
from tests.conftest import SPEC_HEADERS, run_pipeline, write_file

GERMAN_NUMBER = re.compile(r"^(–|•|-?\d{1,3}(\.\d{3})*(,\d+)?( (%|‰|€|Prozentpunkte))?)$")


def _verdict(page: str) -> tuple[str, str]:
    match = re.search(r'<p class="urteil (\w+)" id="urteil">([^<]*)</p>', page)
    assert match, "Seite ohne Urteil"
    return match.group(1), html.unescape(match.group(2))


def test_after_a_refused_delivery_no_page_states_success(released_warehouse_copy):
    root = released_warehouse_copy
    write_file(root / "inbox", "sgb12", "sgb12_2024-02.csv",
               [SPEC_HEADERS["sgb12"].replace("KAPITEL", "KAP"), "F1;01.01.1950;W;000;050;4;N"])
    result = run_pipeline(root)
    assert not result.success
    reports = root / "reports"
    pages = {name: (reports / name).read_text(encoding="utf-8") for name in (
        "data_docs/index.html", f"data_docs/lauf_{result.run_id}.html", "data_docs/laufhistorie.html",
        "pruefbericht_aktuell.html")}
    for name, page in pages.items():
        kind, text = _verdict(page)
        assert kind == "fehler", (name, text)
        assert "bestanden" not in text.lower().replace("nicht bestanden", ""), (name, text)
    index = pages["data_docs/index.html"]
    assert "NICHT BESTANDEN" in index and "Nicht gelaufene Prüfungen" in index
    assert "der Schritt raw__sgb12 ist fehlgeschlagen" in index       # the refused register's own check
    assert "ein vorgelagerter Schritt ist fehlgeschlagen" in index    # the marts' checks
    assert "sgb12_2024-02.csv" in index                               # the refusal, with its file
    history = [json.loads(line) for line in
               (reports / "data_docs" / "laufhistorie.jsonl").read_text(encoding="utf-8").splitlines()]
    assert history[-1]["run_id"] == result.run_id and history[-1]["status"] == "fehlgeschlagen"
    assert result.run_id in pages["data_docs/laufhistorie.html"]
    assert "gültig bleibt Release" in pages["pruefbericht_aktuell.html"]


def _number_cells(page: str) -> list[str]:
    return [html.unescape(c).strip() for c in re.findall(r'<td class="zahl">([^<]*)</td>', page)]


def _text_outside_code(page: str) -> str:
    page = re.sub(r"<style>.*?</style>|<code>.*?</code>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_german_number_is_written_as_cldr_de_de_writes_it():
    """The reports' own number format against babel's (CLDR de_DE, pattern #,##0.0…) on values of
    every kind the marts hold: floats near a rounding edge, ints, numpy scalars, decimals."""
    import random
    from decimal import Decimal

    import numpy as np
    from babel.numbers import format_decimal

    def cldr(value, decimals: int) -> str:
        value = round(value, decimals) + 0 if isinstance(value, float) else value
        text = format_decimal(abs(value), format="#,##0" + ("." + "0" * decimals if decimals else ""), locale="de_DE")
        return "\u2212" + text if value < 0 else text

    rng = random.Random(7)
    values = [0.05, 0.15, 0.25, 2.5, -0.04, -0.05, 1e15, 999.995, 1234567.5, 0, -3]
    values += [rng.uniform(-1e7, 1e7) for _ in range(3000)] + [round(rng.uniform(-100, 100), 3) for _ in range(3000)]
    values += [np.float64(rng.uniform(-1e4, 1e4)) for _ in range(500)] + [np.int64(rng.randint(-10**6, 10**6)) for _ in range(500)]
    values += [Decimal(str(round(rng.uniform(-1e4, 1e4), 4))) for _ in range(500)]
    differing = [(v, d, german_number(v, d), cldr(v, d)) for v in values for d in range(4) if german_number(v, d) != cldr(v, d)]
    assert not differing, differing[:5]
    assert german_number(-0.04, 1) == "0,0" and german_number(1234.5, 1, "%") == "1.234,5 %"


def test_german_pages_print_german_numbers_only(released_warehouse):
    root, _ = released_warehouse
    current = root / "release" / "current"
    manifest = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
    pages = [current / "pruefbericht.html", current / "aenderungsnachweis.html",
             root / "reports" / "data_docs" / "laufhistorie.html", root / "reports" / "pruefbericht_aktuell.html"]
    checked = 0
    for path in pages:
        page = path.read_text(encoding="utf-8")
        cells = _number_cells(page)
        assert all(GERMAN_NUMBER.match(c) for c in cells), (path.name, [c for c in cells if not GERMAN_NUMBER.match(c)])
        checked += len(cells)
        text = re.sub(r"\b\d{1,2}\.\d{1,2}\.(\d{4})?", " ", _text_outside_code(page))   # dates
        english = re.findall(r"\b\d+\.\d{1,2}\b(?!\.)|\b\d{1,3}(?:,\d{3}){2,}\b", text)
        assert not english, (path.name, english[:5])
    assert checked > 50
    # a known count in the audit report, as a German reader expects it
    delivery = max(manifest["lieferungen"], key=lambda d: d["rows_read"])
    assert delivery["rows_read"] >= 1000
    report = (current / "pruefbericht.html").read_text(encoding="utf-8")
    assert f'<td class="zahl">{german_number(delivery["rows_read"])}</td>' in report
    assert "." in german_number(delivery["rows_read"])
    assert german_number(17.8, 1, "%") == "17,8 %" and german_number(1234.5, 1) == "1.234,5"
