"""The benchmark's floor (one DuckDB SQL script) and pandas peer compute the same indicator fact
as the warehouse, from the same delivery files (a clean sample); the pandas peer's primary
suppression is part of what the release suppresses."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from benchmarks.floor import floor_indicator_values
from benchmarks.pandas_peer import pandas_indicator_values
from tests.conftest import FIRST_RELEASE_COPY

KEYS = ["indicator_id", "area_level", "area_code", "reference_year"]


@pytest.fixture(scope="module")
def warehouse_values(released_warehouse):
    """The candidate's numbers (before disclosure control) and the first release's suppression
    flags, both of the shared warehouse's run over the default sample."""
    root = released_warehouse[0]
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        values = con.execute(f"SELECT {', '.join(KEYS)}, numerator, denominator FROM marts.fct_indicator_values").df()
    with duckdb.connect(str(FIRST_RELEASE_COPY["folder"] / "warehouse.duckdb"), read_only=True) as con:
        released = con.execute(f"SELECT {', '.join(KEYS)}, is_suppressed FROM marts.fct_indicator_values").df()
    return root / "inbox", values, released


@pytest.fixture(scope="module")
def pandas_values(warehouse_values):
    return pandas_indicator_values(warehouse_values[0])


def _same_numbers(expected: pd.DataFrame, actual: pd.DataFrame) -> None:
    merged = expected.merge(actual, on=KEYS, how="outer", suffixes=("_warehouse", "_peer"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()
    assert len(merged) == len(expected) > 1000
    for column in ("numerator", "denominator"):
        pd.testing.assert_series_equal(merged[f"{column}_warehouse"], merged[f"{column}_peer"],
                                       check_names=False, check_dtype=False)


def test_floor_gives_the_same_numbers_as_the_warehouse(warehouse_values):
    inbox, expected, _ = warehouse_values
    _same_numbers(expected, floor_indicator_values(inbox))


def test_pandas_peer_gives_the_same_numbers_as_the_warehouse(warehouse_values, pandas_values):
    _same_numbers(warehouse_values[1], pandas_values[KEYS + ["numerator", "denominator"]])


def test_pandas_peer_suppresses_what_the_release_suppresses_at_least(warehouse_values, pandas_values):
    """Primary suppression only: every cell the peer suppresses is suppressed in the release (which
    adds secondary suppression), and the peer publishes no value for it."""
    released = warehouse_values[2]
    merged = pandas_values.merge(released, on=KEYS, how="inner")
    assert len(merged) == len(released)
    assert merged.suppressed.sum() > 50            # the sample has small cells: the rule has work to do
    assert not (merged.suppressed & ~merged.is_suppressed).any(), \
        merged[merged.suppressed & ~merged.is_suppressed][KEYS].head()
    assert merged.loc[merged.suppressed, "value"].isna().all()
    assert merged.loc[~merged.suppressed & merged.denominator.isna(), "value"].notna().all()
    # the release suppresses more (secondary cells), never fewer
    assert merged.is_suppressed.sum() >= merged.suppressed.sum()
