"""The benchmark's floor (one DuckDB SQL script) and pandas peer compute the same indicator fact
as the warehouse, from the same delivery files (a clean sample)."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest

from benchmarks.floor import floor_indicator_values
from benchmarks.pandas_peer import pandas_indicator_values
from tests.conftest import run_pipeline, step_failures

KEYS = ["indicator_id", "area_level", "area_code", "reference_year"]


@pytest.fixture(scope="module")
def warehouse_values(tmp_path_factory, sample_inbox):
    root = tmp_path_factory.mktemp("peers") / "warehouse"
    shutil.copytree(sample_inbox, root / "inbox")
    result = run_pipeline(root)
    assert result.success, step_failures(result)
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        values = con.execute(f"SELECT {', '.join(KEYS)}, numerator, denominator FROM marts.fct_indicator_values").df()
    return root / "inbox", values


@pytest.mark.parametrize("peer", [floor_indicator_values, pandas_indicator_values], ids=["floor", "pandas"])
def test_peer_gives_the_same_numbers_as_the_warehouse(warehouse_values, peer):
    inbox, expected = warehouse_values
    actual = peer(inbox)
    merged = expected.merge(actual, on=KEYS, how="outer", suffixes=("_warehouse", "_peer"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()
    assert len(merged) == len(expected) > 1000
    for column in ("numerator", "denominator"):
        pd.testing.assert_series_equal(merged[f"{column}_warehouse"], merged[f"{column}_peer"],
                                       check_names=False, check_dtype=False)
