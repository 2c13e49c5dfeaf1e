"""The reference parts of docs/ made from the sources they describe, so they cannot drift:
the indicator list, the immigration-monitoring measures and the time-series breaks (from the
catalogue seeds in dbt/seeds/catalogue/), the register contracts and their delivery calendar
(from dagster_project/contracts/*.yml).

Each part sits in its document between two markers:

    <!-- BEGIN GENERATED: indicators -->
    ...
    <!-- END GENERATED: indicators -->

    python -m dagster_project.reference_docs          # rewrite the parts (make docs does this)
    python -m dagster_project.reference_docs --check  # exit 1 if a part is out of date (a test does this)
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Callable
from pathlib import Path

from dagster_project.contracts import Column, load_contracts
from dagster_project.settings import REPO_ROOT

DOCS_DIR = REPO_ROOT / "docs"
CATALOGUE_DIR = REPO_ROOT / "dbt" / "seeds" / "catalogue"
HANDLING_DE = {"keep": "übernommen", "drop": "nicht eingelesen", "pseudonymise": "pseudonymisiert (HMAC-SHA-256)",
               "birth_year": "nur Geburtsjahr"}
EXAMPLE_PERIOD = {"stichtag": "2024-12-31", "year": "2024", "month": "2024-03"}
PERIOD_DE = {"stichtag": "`JJJJ-12-31`", "year": "`JJJJ`", "month": "`JJJJ-MM`"}
REFERENCE_DE = {"nationality": "Staatsangehörigkeitsschlüssel (ref_nationalities)",
                "area": "Gebiete der untersten Ebene des Stadtprofils (ref_areas)",
                "field_of_action": "Handlungsfelder (fields_of_action)"}


def _rows(file_name: str) -> list[dict[str, str]]:
    with (CATALOGUE_DIR / file_name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip() or "–"


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


NEED_DE = {"higher": "höher = mehr Bedarf", "lower": "niedriger = mehr Bedarf", "neutral": "neutral"}


def indicators() -> str:
    rows = [[f"**{r['label_de']}** (`{r['indicator_id']}`)", r["definition_de"], r["numerator_de"],
             r["denominator_de"], r["unit"] + ("" if r["multiplier"] in ("1", "") else f" (×{r['multiplier']})"),
             r["source_de"], NEED_DE[r["need_direction"]] + ": " + r["need_direction_de"]]
            for r in _rows("indicator_catalogue.csv")]
    return ("Stichtag aller Bestände ist der 31.12. des Berichtsjahres; Bewegungen zählen im Kalenderjahr. "
            "Die Bedarfsrichtung sagt, welches Ende eines Indikators mehr Bedarf bedeutet; Bedarfsquartile, "
            "Angebotslücken, Ränge und Kartenlegenden folgen ihr (neutral: kein Bedarfsmaß).\n\n"
            + _table(["Indikator", "Definition", "Zähler", "Nenner", "Einheit", "Quelle (Register)",
                      "Bedarfsrichtung"], rows))


def monitoring_measures() -> str:
    rows = [[f"**{r['label_de']}** (`{r['measure_id']}`)", r["definition_de"], r["unit"]]
            for r in _rows("monitoring_measures.csv")]
    return _table(["Kennzahl", "Definition", "Einheit"], rows)


def time_series_breaks() -> str:
    rows = [[r["break_date"], r["break_type"], f"`{r['affected_indicator_id']}`", r["description_de"], r["source"]]
            for r in _rows("time_series_breaks.csv")]
    return _table(["ab", "Art", "betrifft", "Beschreibung", "Quelle"], rows)


def _rule(column: Column) -> str:
    rules = []
    if column.required:
        rules.append("Pflicht")
    if column.pattern:
        rules.append(f"Muster `{column.pattern}`")
    if column.codes:
        rules.append("Codes " + ", ".join(f"`{c}`" for c in column.codes))
    if column.reference:
        rules.append(REFERENCE_DE.get(column.reference, column.reference))
    if column.type == "date":
        rules.append("Datum TT.MM.JJJJ" + (", nicht nach dem Zeitraumende" if column.not_after_period_end else ""))
    return "; ".join(rules)


def contracts() -> str:
    parts = []
    for contract in load_contracts().values():
        example = f"{contract.register}_{EXAMPLE_PERIOD[contract.period_kind]}"
        parts.append(
            f"### {contract.title_de} (`{contract.register}`)\n\n"
            f"Datei `inbox/{contract.register}/{example}.{contract.file_extension}`"
            + (f", Blatt `{contract.sheet}`" if contract.sheet else "")
            + f"; {contract.format_de}. Eindeutiger Schlüssel: "
            + (", ".join(f"`{k}`" for k in contract.unique_key) or "–") + ".\n\n"
            + _table(["Spalte", "Regel", "Behandlung", "Bedeutung"],
                     [[f"`{c.name}`", _rule(c), HANDLING_DE[c.handling], c.description_de] for c in contract.columns])
            + ("\n\nZeilenregeln: " + "; ".join(f"{r.message_de} (Regel `{r.rule}`)" for r in contract.row_rules)
               if contract.row_rules else ""))
    return "\n\n".join(parts)


def delivery_calendar() -> str:
    rows = [[f"`{c.register}`", c.title_de, PERIOD_DE[c.period_kind], c.delivery.cadence_de,
             c.delivery.description_de,
             f"{c.delivery.due_days} Tage" if c.delivery.cadence != "on_change" else "–",
             f"{c.delivery.grace_days} Tage" if c.delivery.cadence != "on_change" else "–"]
            for c in load_contracts().values()]
    return _table(["Register", "Inhalt", "Zeitraum im Dateinamen", "Lieferung", "Fälligkeit",
                   "fällig nach Zeitraumende", "Toleranz"], rows)


PARTS: dict[str, tuple[str, Callable[[], str]]] = {
    "indicators": ("methodology.md", indicators),
    "monitoring_measures": ("methodology.md", monitoring_measures),
    "time_series_breaks": ("methodology.md", time_series_breaks),
    "delivery_calendar": ("operations.md", delivery_calendar),
    "contracts": ("operations.md", contracts),
}


def _pattern(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- BEGIN GENERATED: {name} [^\n]*-->\n)(.*?)(<!-- END GENERATED: {name} -->)", re.DOTALL)


def render(text: str, name: str, content: str) -> str:
    """The document `text` with part `name` replaced by `content`; an error if its markers are missing."""
    pattern = _pattern(name)
    if not pattern.search(text):
        raise ValueError(f"Markierungen für den Teil '{name}' fehlen (<!-- BEGIN GENERATED: {name} ... -->).")
    return pattern.sub(lambda m: m.group(1) + content + "\n" + m.group(3), text, count=1)


def updated_documents(docs_dir: Path = DOCS_DIR) -> dict[Path, tuple[str, str]]:
    """path -> (current text, text with every generated part made anew)."""
    documents: dict[Path, tuple[str, str]] = {}
    for name, (file_name, make) in PARTS.items():
        path = docs_dir / file_name
        current, new = documents.get(path, (path.read_text(encoding="utf-8"),) * 2)
        documents[path] = (current, render(new, name, make()))
    return documents


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dagster_project.reference_docs")
    parser.add_argument("--check", action="store_true", help="nur prüfen, ob die erzeugten Teile aktuell sind")
    args = parser.parse_args(argv)
    stale = []
    for path, (current, new) in updated_documents().items():
        if current != new:
            stale.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    if args.check and stale:
        print("Veraltet (make docs schreibt sie neu): " + ", ".join(str(p.relative_to(REPO_ROOT)) for p in stale),
              file=sys.stderr)
        return 1
    print("Erzeugte Teile in docs/ " + ("aktuell." if not stale else "neu geschrieben: "
                                         + ", ".join(p.name for p in stale)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
