"""Every released number accounted for (published_numbers.yml).

The attacker's audit can only protect what its model knows. Before a release is written, every
numeric column of every released table must be declared: a count or value of the published model
(the audit sees it), a column that shows a modelled cell (then it must be empty wherever that cell
is suppressed, and equal to it where a value is named: checked here on the released tables), or a
number that is not disclosive, with the reason. A new numeric column that nobody declared stops
the release with a message naming table and column.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from dagster_project import city_profile

NUMBERS_FILE = Path(__file__).with_name("published_numbers.yml")
FACT = "fct_indicator_values"
FACT_KEY = ["indicator_id", "area_level", "area_code", "reference_year"]


@cache
def published_numbers() -> dict:
    return yaml.safe_load(city_profile.render(NUMBERS_FILE.read_text(encoding="utf-8")))


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """Columns holding numbers (not flags), also numbers kept as Python objects (e.g. decimals)."""
    out = []
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series):
            continue
        if pd.api.types.is_numeric_dtype(series):
            out.append(column)
        elif series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in (
                "integer", "floating", "decimal", "mixed-integer-float"):
            out.append(column)
    return out


def _declaration(table: str, column: str, declared: dict, indicators: set[str]) -> dict | None:
    entry = declared.get(table) or {}
    if column in entry:
        return entry[column]
    if "indicator_columns" in entry and column in indicators:
        return entry["indicator_columns"]
    return None


def _hidden_cells(released: dict[str, pd.DataFrame]) -> set:
    fact = released[FACT]
    hidden = fact[fact.is_suppressed.astype(bool)]
    return set(zip(hidden.indicator_id, hidden.area_level, hidden.area_code, hidden.reference_year.astype(int)))


def _follow_problems(table: str, column: str, rule: dict, frame: pd.DataFrame,
                     released: dict[str, pd.DataFrame], hidden: set) -> list[str]:
    """Where the followed cell is suppressed the column must be empty (and, with `value`, equal
    to the cell where it is published)."""
    if "area" in rule:
        levels = pd.Series([city_profile.current().lowest.id] * len(frame), index=frame.index)
        codes = frame[rule["area"]]
    else:
        levels, codes = frame.area_level, frame.area_code
    # the year of the followed cell: reference_year, or another column (a goal's baseline_year), or
    # several (a value that depends on the cells of both years)
    year_columns = rule.get("year", "reference_year")
    year_columns = [year_columns] if isinstance(year_columns, str) else list(year_columns)
    years = frame[year_columns[0]].astype(int)
    offsets = rule.get("year_offsets", [0])
    if "mart" in rule:   # a cell of another released table: hidden where its column is empty
        other = released[rule["mart"]]
        source = rule["column_of"]
        present = other.set_index([rule.get("area", "area_code"), "reference_year"])[source]
        must_hide = np.zeros(len(frame), dtype=bool)
        for offset in offsets:
            shown = present.reindex(list(zip(codes, years + offset)))
            must_hide |= (shown.isna() & shown.index.isin(present.index)).to_numpy()
    else:
        if rule.get("column"):
            indicator = pd.Series([column] * len(frame), index=frame.index)
        elif "indicator_column" in rule:
            indicator = frame[rule["indicator_column"]]
        else:
            indicator = pd.Series([rule["indicator"]] * len(frame), index=frame.index)
        must_hide = np.zeros(len(frame), dtype=bool)
        for year_column in year_columns:
            for offset in offsets:
                at = frame[year_column].astype(int) + offset
                must_hide |= np.array([k in hidden for k in zip(indicator, levels, codes, at)], dtype=bool)
    shown_anyway = must_hide & frame[column].notna().to_numpy()
    problems = []
    if shown_anyway.any():
        problems.append(f"{table}.{column}: {int(shown_anyway.sum())} Werte veröffentlicht, deren Zelle gesperrt ist")
    if "value" in rule or rule.get("column"):
        fact = released[FACT].set_index(FACT_KEY)[rule.get("value", "indicator_value")]
        expected = fact.reindex(list(zip(indicator, levels, codes, years))).to_numpy(dtype=float)
        actual = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        both = ~np.isnan(expected) & ~np.isnan(actual)
        differs = both & ~np.isclose(actual, expected, rtol=1e-9, atol=1e-9)
        if differs.any():
            problems.append(f"{table}.{column}: {int(differs.sum())} Werte weichen von der Zelle ab, der sie folgen "
                            "sollen (published_numbers.yml)")
    return problems


def accounting_problems(released: dict[str, pd.DataFrame]) -> list[str]:
    """Every numeric column of every released table that is not accounted for, and every column
    that shows a suppressed cell it declares to follow (German, naming table and column)."""
    declared = published_numbers()
    indicators = set(released[FACT].indicator_id)   # the indicators whose cells the wide profile shows
    if "dim_indicator" in released:
        indicators |= set(released["dim_indicator"].indicator_id)
    hidden = _hidden_cells(released)
    problems = []
    for table in sorted(released):
        frame = released[table]
        for column in numeric_columns(frame):
            rule = _declaration(table, column, declared, indicators)
            if rule is None:
                problems.append(f"Tabelle {table}, Spalte {column}: veröffentlichte Zahl ohne Eintrag im "
                                "Geheimhaltungsmodell (dagster_project/release/published_numbers.yml)")
            elif "follows" in rule:
                problems += _follow_problems(table, column, rule["follows"], frame, released, hidden)
            elif "model" not in rule and "not_disclosive" not in rule:
                problems.append(f"Tabelle {table}, Spalte {column}: Eintrag ohne model, follows oder not_disclosive")
    return problems
