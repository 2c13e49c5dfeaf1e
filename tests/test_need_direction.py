"""Which end of an indicator is high need: declared once in the catalogue (need_direction) and
followed by the offer-gap rule; read here from the seed and from a real release, without the
models' SQL (the rule itself is unit-tested in dbt/models/marts/measures/_measures__unit_tests.yml
on hand-made rows for a higher, a lower and a neutral indicator)."""

from __future__ import annotations

import csv

import duckdb
import pandas as pd

from dagster_project.settings import REPO_ROOT

CATALOGUE = REPO_ROOT / "dbt" / "seeds" / "catalogue" / "indicator_catalogue.csv"


def test_every_indicator_declares_its_need_direction_with_a_german_reason():
    rows = list(csv.DictReader(CATALOGUE.open(encoding="utf-8")))
    assert rows
    for row in rows:
        assert row["need_direction"] in {"higher", "lower", "neutral"}, row["indicator_id"]
        assert len(row["need_direction_de"]) > 15, row["indicator_id"]
    directions = {row["indicator_id"]: row["need_direction"] for row in rows}
    # a low share of long-standing residents is the need of "Sozialraum und Nachbarschaft"
    assert directions["share_residence_5y"] == "lower"
    assert directions["sgb2_child_rate"] == "higher" and directions["residents"] == "neutral"


def _release(released_warehouse):
    root, _ = released_warehouse
    con = duckdb.connect(str(root / "release" / "current" / "warehouse.duckdb"), read_only=True)
    try:
        return (con.execute("SELECT * FROM marts.fct_measure_gaps").df(),
                con.execute("SELECT indicator_id, area_code, reference_year, indicator_value, is_suppressed "
                            "FROM marts.fct_indicator_values WHERE area_level = 'statistical_district'").df(),
                con.execute("SELECT indicator_id, need_direction FROM marts.dim_indicator").df())
    finally:
        con.close()


def test_gaps_lie_at_the_needy_end_of_their_indicator_in_the_release(released_warehouse):
    gaps, values, directions = _release(released_warehouse)
    direction = dict(zip(directions.indicator_id, directions.need_direction))
    shown = gaps[gaps.need_value.notna()]
    assert len(shown) and shown.is_gap.fillna(False).astype(bool).any()
    for (indicator, year), group in shown.groupby(["need_indicator_id", "reference_year"]):
        top = group[group.need_quartile == 1].need_value
        rest = group[group.need_quartile > 1].need_value
        if top.empty or rest.empty:
            continue
        if direction[indicator] == "lower":      # e.g. the least stable neighbourhoods
            assert top.max() <= rest.min(), (indicator, year)
        else:
            assert top.min() >= rest.max(), (indicator, year)


def test_no_suppressed_need_places_a_district_in_a_quartile_or_a_gap(released_warehouse):
    gaps, values, _ = _release(released_warehouse)
    hidden = values[values.is_suppressed.astype(bool)][["indicator_id", "area_code", "reference_year"]]
    joined = gaps.merge(hidden, left_on=["need_indicator_id", "statistical_district_code", "reference_year"],
                        right_on=["indicator_id", "area_code", "reference_year"])
    assert len(joined), "the sample has suppressed need values"
    assert joined.need_value.isna().all() and joined.need_quartile.isna().all()
    assert not joined.is_gap.fillna(False).astype(bool).any()
    assert pd.isna(joined.is_gap).all()
