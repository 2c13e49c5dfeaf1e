"""Row rules of a contract, as SQL over the delivery's lines.

`split_fields` turns the lines into one text column per contract column; `violations_sql`
returns one row per broken rule (line, column, rule, German message, value). Values of direct
identifiers and of columns that are pseudonymised are never copied into the quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from dagster_project import city_profile
from dagster_project.contracts import Column, Contract, reference_codes
from dagster_project.ingest.delivery_file import Delivery
from dagster_project.sql_quoting import literal, quote

EARLIEST_DATE = "1890-01-01"
DATE_PATTERN = r"^[0-9]{2}\.[0-9]{2}\.[0-9]{4}$"
REFERENCE_LABEL_DE = {
    "nationality": "Staatsangehörigkeitsschlüssel (Destatis)",
    "area": "Gebietsverzeichnis der Stadt (unterste Ebene, Stadtprofil)",
    "field_of_action": "Verzeichnis der Handlungsfelder",
}



def _headers(contract: Contract, names) -> list[str]:
    """Contract columns as the delivery names them (the city profile may map them)."""
    profile = city_profile.current()
    return [profile.delivery_header(contract.register, name) for name in names]


def first_time_on_connection(con: duckdb.DuckDBPyConnection, marker: str) -> bool:
    """True the first time it is asked for `marker` on this connection (a TEMP marker table)."""
    table = f"dft_done_{marker}"
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?",
                   [table]).fetchone()[0]:
        return False
    con.execute(f"CREATE TEMP TABLE {table} (done BOOLEAN)")
    return True


def register_reference_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Temp tables ref_<name> (code) of the code lists, once per connection."""
    if not first_time_on_connection(con, "reference_tables"):
        return
    for name, codes in reference_codes().items():
        values = ", ".join(f"({literal(c)})" for c in sorted(codes))
        con.execute(f"CREATE OR REPLACE TEMP TABLE ref_{name} (code VARCHAR PRIMARY KEY)")
        con.execute(f"INSERT INTO ref_{name} VALUES {values}")


def _reference_list(name: str) -> str:
    """The code list as a literal list (one hash lookup per value, no join)."""
    return "[" + ", ".join(literal(c) for c in sorted(reference_codes()[name])) + "]"


def _needed_columns(contract: Contract) -> list[Column]:
    """The columns that are kept or checked; dropped columns without any rule are never read."""
    mentioned = " ".join([r.violation_sql for r in contract.row_rules] + list(contract.unique_key)
                         + [contract.period_check.get("column", "")])
    return [c for c in contract.columns
            if c.handling != "drop" or c.required or c.pattern or c.codes or c.reference or c.type == "date"
            or c.name in mentioned]


def _field(index: int) -> str:
    """Field `index` of the split line, surrounding blanks and quotes removed (only where there
    are any: the common case costs a prefix and suffix test, not a copy)."""
    f = f"f[{index}]"
    return f"CASE WHEN {f} LIKE ' %' OR {f} LIKE '% ' OR {f} LIKE '\"%' THEN trim({f}, ' \"') ELSE {f} END"


def split_fields(con: duckdb.DuckDBPyConnection, delivery: Delivery) -> int:
    """Temp table `delivery_fields` (line_no, n_fields and one text column per needed contract
    column) for every line, filled slice by slice from the delivery's lines, and the view
    `delivery_rows` of the lines with the right field count. Returns the number of lines."""
    positions = {c.name: i for i, c in enumerate(delivery.contract.columns, start=1)}
    columns = ", ".join(f"{_field(positions[c.name])} AS {quote(c.name)}" for c in _needed_columns(delivery.contract))
    select = (f"SELECT line_no, len(f) AS n_fields, {columns} FROM (SELECT line_no, "
              f"string_split(raw_line, {literal(delivery.separator)}) AS f FROM delivery_lines)")
    lines = 0
    for number, table in enumerate(delivery.lines):
        con.register("delivery_lines", table)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE delivery_fields AS {select}" if number == 0
                        else f"INSERT INTO delivery_fields {select}")
        finally:
            con.unregister("delivery_lines")
        lines += table.num_rows
    con.execute(f"CREATE OR REPLACE TEMP VIEW delivery_rows AS SELECT * FROM delivery_fields "
                f"WHERE n_fields = {len(delivery.contract.columns)}")
    return lines


def _shown_value(column: Column) -> str:
    """The value kept in the quarantine: never an identifier."""
    if column.handling in ("drop", "pseudonymise"):
        return "NULL"
    return quote(column.name)


@dataclass(frozen=True)
class _Check:
    """One row rule: the rows where `condition` is true break it. `suspect`: what the one pass over
    all lines tests instead (None: the condition itself); the suspects of a column's checks
    together must cover every row that breaks one of them."""
    select_list: str     # line_no, column_name, rule, message_de, value
    condition: str
    suspect: str | None = None

    def sql(self, rows: str) -> str:
        return f"SELECT {self.select_list} FROM {rows} WHERE {self.condition}"

    @property
    def suspect_condition(self) -> str:
        return self.condition if self.suspect is None else self.suspect


def _violation(column: Column | None, rule: str, message_sql: str, condition: str,
               value_sql: str | None = None, suspect: str | None = None) -> _Check:
    name = literal(column.name) if column else "NULL"
    value = value_sql if value_sql is not None else (_shown_value(column) if column else "NULL")
    return _Check(f"line_no, {name} AS column_name, {literal(rule)} AS rule, "
                  f"{message_sql} AS message_de, CAST({value} AS VARCHAR) AS value", condition, suspect)


def _column_checks(column: Column, delivery: Delivery) -> list[_Check]:
    col = quote(column.name)
    checks = []
    present = f"{col} <> ''"
    if column.required:
        checks.append(_violation(column, "pflichtfeld", literal("Pflichtfeld ist leer"), f"{col} = ''"))
    if column.pattern:
        checks.append(_violation(
            column, "format", literal(f"Wert entspricht nicht dem Format {column.pattern}"),
            f"{present} AND NOT regexp_full_match({col}, {literal(column.pattern)})"))
    if column.codes:
        allowed = ", ".join(literal(c) for c in column.codes)
        checks.append(_violation(
            column, "codeliste", literal(f"Wert nicht in der Codeliste ({', '.join(column.codes)})"),
            f"{present} AND {col} NOT IN ({allowed})"))
    if column.reference:
        label = REFERENCE_LABEL_DE[column.reference]
        checks.append(_violation(
            column, "unbekannter_code", literal(f"Code nicht im {label}"),
            f"{present} AND NOT list_contains({_reference_list(column.reference)}, {col})"))
    if column.type == "date":
        parsed = f"try_strptime({col}, '%d.%m.%Y')"
        invalid = f"NOT regexp_full_match({col}, {literal(DATE_PATTERN)}) OR {parsed} IS NULL"
        end = delivery.period.end if column.not_after_period_end else None
        # one parse per value finds the suspects of all three date rules
        latest = f" AND {parsed} <= DATE {literal(end.isoformat())}" if end else ""
        suspect = (f"{present} AND NOT coalesce(regexp_full_match({col}, {literal(DATE_PATTERN)}) AND "
                   f"{parsed} >= DATE {literal(EARLIEST_DATE)}{latest}, false)")
        checks.append(_violation(
            column, "datum", literal("Kein gültiges Datum der Form TT.MM.JJJJ"),
            f"{present} AND ({invalid})", suspect=suspect))
        checks.append(_violation(
            column, "datum_zu_frueh", literal(f"Datum vor dem {EARLIEST_DATE[8:]}.{EARLIEST_DATE[5:7]}.{EARLIEST_DATE[:4]}"),
            f"{present} AND NOT ({invalid}) AND {parsed} < DATE {literal(EARLIEST_DATE)}", suspect="false"))
        if end:
            checks.append(_violation(
                column, "datum_nach_zeitraum",
                literal(f"Datum liegt nach dem Ende des Lieferzeitraums ({end:%d.%m.%Y})"),
                f"{present} AND NOT ({invalid}) AND {parsed} > DATE {literal(end.isoformat())}", suspect="false"))
    return checks


def violations_sql(delivery: Delivery) -> str:
    """One row per broken rule: line_no, column_name, rule, message_de, value.

    Most lines break no rule. One pass over all lines finds the suspect lines (any rule broken);
    only those are checked rule by rule. Duplicates need all lines and are checked on all."""
    contract: Contract = delivery.contract
    n = len(contract.columns)
    checks: list[_Check] = []
    for column in contract.columns:
        checks.extend(_column_checks(column, delivery))
    for rule in contract.row_rules:
        checks.append(_violation(contract.column(rule.column), rule.rule, literal(rule.message_de),
                                 f"({rule.violation_sql})"))
    period_check = contract.period_check
    if period_check:
        column = contract.column(period_check["column"])
        col = quote(column.name)
        parsed = f"try_strptime({col}, '%d.%m.%Y')"
        start, end = delivery.period.start, delivery.period.end
        lower = (f"{parsed} < DATE {literal(start.isoformat())} OR "
                 if period_check["rule"] == "within_period" else "")
        checks.append(_violation(
            column, "ausserhalb_zeitraum",
            literal(f"Datum liegt außerhalb des Lieferzeitraums {delivery.period.label}"),
            f"{parsed} IS NOT NULL AND ({lower}{parsed} > DATE {literal(end.isoformat())})"))
    parts = [
        f"SELECT line_no, NULL AS column_name, 'spaltenzahl' AS rule, "
        f"'Falsche Spaltenzahl: ' || n_fields || ' statt {n}' AS message_de, NULL AS value "
        f"FROM delivery_fields WHERE n_fields <> {n}"
    ]
    parts.extend(check.sql("suspect_rows") for check in checks)
    if contract.unique_key:
        key = ", ".join(quote(c) for c in contract.unique_key)
        first = contract.column(contract.unique_key[0])
        parts.append(_violation(
            first, "duplikat",
            literal(f"Schlüssel mehrfach in der Lieferung ({', '.join(_headers(contract, contract.unique_key))}); "
                    "alle Zeilen mit diesem Schlüssel sind in Quarantäne"),
            f"line_no IN (SELECT line_no FROM (SELECT line_no, count(*) OVER (PARTITION BY {key}) AS n "
            f"FROM delivery_rows) WHERE n > 1)").sql("delivery_rows"))
    any_broken = " OR ".join(f"coalesce(({check.suspect_condition}), false)" for check in checks
                             if check.suspect_condition != "false") or "false"
    return (f"WITH suspect_rows AS MATERIALIZED (SELECT * FROM delivery_rows WHERE {any_broken})\n"
            + "\nUNION ALL\n".join(parts))
