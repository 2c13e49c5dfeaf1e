"""How a release presents the marts to BI tools, so that every released table explains itself.

- Types: every column keeps the candidate's DuckDB type (DATE stays DATE); counts are BIGINT (a
  non-integral count stops the release); every DOUBLE is rounded to its declared decimals (the
  indicator catalogue's `decimals` column, or release_schema.yml; a DOUBLE without a rule stops
  the release).
- Meaning: marts with a reference year carry `stichtag`; marts with an area code carry the area
  name and level; every code column has a label table (`dim_*`) in which each value is found.
- Descriptions: every column carries its dbt description (the candidate's column comments, which
  dbt's persist_docs writes) or the release's own (release_schema.yml), as DuckDB `COMMENT ON` and
  as Parquet field metadata (`description`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from dagster_project import city_profile
from dagster_project.release.content import SUPPRESSED_SUFFIX
from dagster_project.release.disclosure import RULE_EXPLANATIONS_DE, RULE_LABELS_DE
from dagster_project.sql_quoting import literal, quote

SCHEMA_FILE = Path(__file__).with_name("release_schema.yml")
# A column whose name looks like this holds codes and must have a label table.
CODE_COLUMN = re.compile(r"(_id|_ids|_code|_level|_rule|_id_a|_id_b)$"
                         r"|^(ags|funder|measures_ending|monitoring_group|comparison_group|target_group)$")


class ReleaseSchemaError(RuntimeError):
    """The release would carry a column without type, rounding, description or label table."""


@cache
def release_schema() -> dict:
    return yaml.safe_load(city_profile.render(SCHEMA_FILE.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class CandidateColumns:
    """Types and comments of the candidate marts, read from the pipeline's DuckDB file."""

    types: dict[tuple[str, str], str]
    comments: dict[tuple[str, str], str]
    table_comments: dict[str, str]

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection, schema: str = "marts") -> "CandidateColumns":
        rows = con.execute("SELECT table_name, column_name, data_type, comment FROM duckdb_columns() "
                           "WHERE schema_name = ?", [schema]).fetchall()
        tables = con.execute("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = ?",
                             [schema]).fetchall()
        return cls({(t, c): d for t, c, d, _ in rows}, {(t, c): (m or "").strip() for t, c, _, m in rows},
                   {t: (m or "").strip() for t, m in tables})


def suppression_rule_labels() -> pd.DataFrame:
    """The rules of disclosure control in general (dim_suppression_rule). No released cell names
    its rule: that would tell its value."""
    return pd.DataFrame({"suppression_rule": list(RULE_LABELS_DE),
                         "suppression_rule_de": list(RULE_LABELS_DE.values()),
                         "erlaeuterung": [RULE_EXPLANATIONS_DE[r] for r in RULE_LABELS_DE]})


SUPPRESSION_RULE_TABLE = {
    "_table": "Die Regeln der statistischen Geheimhaltung im Allgemeinen. Jede gesperrte Zelle trägt nur das "
              "neutrale Kennzeichen is_suppressed; welche Regel sie sperrt, wird nicht veröffentlicht.",
    "suppression_rule": "Kennung der Regel.",
    "suppression_rule_de": "Deutsche Bezeichnung der Regel.",
    "erlaeuterung": "Was die Regel allgemein bedeutet.",
}


class MartWriter:
    """Writes the released marts into the release database, typed, rounded, labelled, described."""

    def __init__(self, con: duckdb.DuckDBPyConnection, candidate: CandidateColumns):
        self.con = con
        self.candidate = candidate
        self.schema = release_schema()
        self.descriptions: dict[str, dict[str, str]] = {}

    # -- descriptions -------------------------------------------------------------------------
    def _description(self, mart: str, column: str) -> str:
        text = self.candidate.comments.get((mart, column), "")
        if text:
            return text
        added = self.schema["added_columns"]
        if column in added:
            return added[column]
        if column.endswith(SUPPRESSED_SUFFIX):
            return added["indicator_suppressed"].format(indicator=column[: -len(SUPPRESSED_SUFFIX)])
        if mart == "dim_suppression_rule":
            return SUPPRESSION_RULE_TABLE[column]
        raise ReleaseSchemaError(f"Spalte {mart}.{column} hat keine Beschreibung (dbt-YAML oder release_schema.yml).")

    # -- one mart -----------------------------------------------------------------------------
    def _type(self, mart: str, column: str, arrow_type: pa.DataType) -> str:
        declared = self.candidate.types.get((mart, column))
        if declared:
            return declared
        if pa.types.is_boolean(arrow_type) or column.endswith(SUPPRESSED_SUFFIX) or column == "is_suppressed":
            return "BOOLEAN"
        return "VARCHAR"

    def _rounding(self, mart: str, column: str) -> tuple[str, str] | None:
        """(expression for the decimals, join clause or '') for a DOUBLE column."""
        rules = self.schema["decimals"].get(mart)
        if rules == "indicator_columns":
            row = self.con.execute("SELECT decimals FROM marts.dim_indicator WHERE indicator_id = ?", [column]).fetchone()
            return (str(row[0]), "") if row else None
        rule = (rules or {}).get(column)
        if rule is None:
            return None
        if isinstance(rule, int):
            return str(rule), ""
        alias = f"d_{column}"
        join = (f" LEFT JOIN marts.{rule['table']} AS {alias} "
                f"ON {alias}.{quote(rule['key'])} = f.{quote(rule['by'])}")
        return f"{alias}.decimals", join

    def write(self, mart: str, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)  # NaN becomes NULL here
        self.con.register("frame", table)
        try:
            select, joins = [], []
            counts = set(self.schema["counts"].get(mart, []))
            names = list(table.column_names)
            for field in table.schema:
                column, quoted = field.name, quote(field.name)
                kind = self._type(mart, column, field.type)
                if column in counts:
                    bad = self.con.execute(f"SELECT count(*) FROM frame WHERE {quoted} <> round({quoted})").fetchone()[0]
                    if bad:
                        raise ReleaseSchemaError(f"{mart}.{column}: {bad} nicht ganzzahlige Werte in einer Anzahl.")
                    select.append(f"CAST(f.{quoted} AS BIGINT) AS {quoted}")
                elif kind == "DOUBLE":
                    rounding = self._rounding(mart, column)
                    if rounding is None:
                        raise ReleaseSchemaError(f"{mart}.{column}: keine Nachkommastellen festgelegt "
                                                 "(release_schema.yml, decimals).")
                    digits, join = rounding
                    joins.append(join)
                    select.append(f"round(CAST(f.{quoted} AS DOUBLE), {digits}) AS {quoted}")
                else:
                    select.append(f"CAST(f.{quoted} AS {kind}) AS {quoted}")
                select.extend(self._added_after(mart, column, names))
            self.con.execute(f"CREATE TABLE marts.{quote(mart)} AS SELECT {', '.join(select)} "
                             f"FROM frame AS f{''.join(joins)}")
        finally:
            self.con.unregister("frame")
        self._comment(mart)

    def _added_after(self, mart: str, column: str, names: list[str]) -> list[str]:
        """Columns the release adds right after `column`: stichtag, area name and level."""
        added = []
        if column == "reference_year" and mart not in self.schema["stichtag"]:
            added.append("make_date(f.reference_year, 12, 31) AS stichtag")
        if column == "years_after" and mart in self.schema["stichtag"]:
            added.append(f"{self.schema['stichtag'][mart]} AS stichtag")
        if column == "area_code" and "area_name" not in names and "area_level" in names:
            added.append("(SELECT a.area_name FROM marts.dim_area AS a WHERE a.area_level = f.area_level "
                         "AND a.area_code = f.area_code) AS area_name")
        lowest = city_profile.current().lowest
        if column == lowest.code_column and "area_code" not in names and not mart.startswith("dim_"):
            added.append(f"'{lowest.id}' AS area_level")
            added.append(f"(SELECT a.area_name FROM marts.dim_area AS a WHERE a.area_level = '{lowest.id}' "
                         f"AND a.area_code = f.{lowest.code_column}) AS area_name")
        return added

    def _comment(self, mart: str) -> None:
        table_text = self.candidate.table_comments.get(mart) or (
            SUPPRESSION_RULE_TABLE["_table"] if mart == "dim_suppression_rule" else "")
        if not table_text:
            raise ReleaseSchemaError(f"Tabelle {mart} hat keine Beschreibung.")
        self.con.execute(f"COMMENT ON TABLE marts.{quote(mart)} IS {literal(table_text)}")
        columns = [r[0] for r in self.con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' AND table_name = ? "
            "ORDER BY column_index", [mart]).fetchall()]
        described = {"_table": table_text}
        for column in columns:
            text = self._description(mart, column)
            described[column] = text
            self.con.execute(f"COMMENT ON COLUMN marts.{quote(mart)}.{quote(column)} IS {literal(text)}")
        self.descriptions[mart] = described

    def write_audit(self, name: str, frame: pd.DataFrame) -> None:
        texts = self.schema["audit_tables"][name]
        self.con.register("frame", pa.Table.from_pandas(frame, preserve_index=False))
        try:
            self.con.execute(f"CREATE TABLE audit.{quote(name)} AS SELECT * FROM frame")
        finally:
            self.con.unregister("frame")
        self.con.execute(f"COMMENT ON TABLE audit.{quote(name)} IS {literal(texts['_table'])}")
        for column in frame.columns:
            if column not in texts:
                raise ReleaseSchemaError(f"Spalte audit.{name}.{column} hat keine Beschreibung (release_schema.yml).")
            self.con.execute(f"COMMENT ON COLUMN audit.{quote(name)}.{quote(column)} IS {literal(texts[column])}")

    def write_parquet(self, mart: str, target: Path, release_id: str) -> None:
        """One Parquet file (zstd) with the column descriptions as field metadata."""
        table = self.con.execute(f"SELECT * FROM marts.{quote(mart)}").to_arrow_table()
        texts = self.descriptions[mart]
        fields = [field.with_metadata({"description": texts[field.name]}) for field in table.schema]
        schema = pa.schema(fields, metadata={"description": texts["_table"], "table": mart, "release_id": release_id})
        pq.write_table(table.cast(schema), target, compression="zstd")


def label_rule(mart: str, column: str) -> dict | None:
    rule = release_schema()["label_tables"].get(column)
    if rule and "by_mart" in rule:
        return rule["by_mart"].get(mart)
    return rule


def label_violations(con: duckdb.DuckDBPyConnection, schema: str = "marts") -> list[str]:
    """Every code column without a label table, and every code value its label table lacks."""
    problems = []
    columns = con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = ? "
                          "ORDER BY table_name, column_index", [schema]).fetchall()
    for mart, column in columns:
        rule = label_rule(mart, column)
        if rule is None:
            if CODE_COLUMN.search(column):
                problems.append(f"{mart}.{column}: Kodespalte ohne Bezeichnungstabelle")
            continue
        if rule["table"] == mart and rule["key"] == column:
            continue  # the key of a label table itself
        value = f"trim(unnest(string_split(f.{quote(column)}, ',')))" if rule.get("list") else f"f.{quote(column)}"
        condition = f"l.{quote(rule['key'])} = v.code"
        source = f"SELECT {value} AS code" + (f", f.{quote(rule['with'])} AS with_value" if "with" in rule else "")
        source += f" FROM {schema}.{quote(mart)} AS f"
        if "with" in rule:
            condition += f" AND l.{quote(rule.get('with_key', rule['with']))} = v.with_value"
        if "where" in rule:
            condition += f" AND l.{rule['where']}"
        missing = con.execute(
            f"SELECT DISTINCT v.code FROM ({source}) AS v WHERE v.code IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {schema}.{quote(rule['table'])} AS l WHERE {condition}) LIMIT 5").fetchall()
        if missing:
            problems.append(f"{mart}.{column}: nicht in {rule['table']}: {[m[0] for m in missing]}")
    return problems
