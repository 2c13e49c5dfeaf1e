"""The attacker's audit on hand-made fixtures: one per kind of relation a reader can combine. Each
has a naive suppression that is recoverable (the audit must catch it) and one that protects the
primary cell (the audit must pass it). The intervals are worked out by hand in the comments."""

from __future__ import annotations

import pandas as pd
import pytest

from dagster_project.release.attacker_audit import (audit, flow_relations, hierarchy_relations, partition_relations,
                                                    protection_range, rate_relation)

AREAS = pd.DataFrame([
    ("statistical_district", "a1", "city_district", "A"),
    ("statistical_district", "a2", "city_district", "A"),
    ("statistical_district", "a3", "city_district", "A"),
    ("city_district", "A", None, None),
], columns=["area_level", "area_code", "parent_area_level", "parent_area_code"])


def _counts(rows):
    """rows: (concept, area code, year, value, state) with state published / primary / secondary."""
    level = {"A": "city_district"}
    return pd.DataFrame([{"concept": c, "area_level": level.get(a, "statistical_district"), "area_code": a,
                          "reference_year": y, "value": v, "published": s == "published", "primary": s == "primary"}
                         for c, a, y, v, s in rows])


def _interval(result, concept, area):
    row = result.cells[(result.cells.concept == concept) & (result.cells.area_code == area)].iloc[0]
    return row.low, row.high, bool(row.protected)


def test_protection_range():
    assert protection_range(2) == (0.0, 5.0) and protection_range(1) == (0.0, 4.0)
    assert protection_range(-2) == (-5.0, 0.0)
    assert protection_range(40) == (39.5, 40.5)
    assert protection_range(0) is None


def test_hierarchy():
    relations = hierarchy_relations(["x"], AREAS, [2023])
    # naive: a1 = 2 hidden, A = 51, a2 = 40, a3 = 9 shown -> a1 = 51 - 40 - 9 = 2 exactly
    naive = audit(_counts([("x", "a1", 2023, 2, "primary"), ("x", "a2", 2023, 40, "published"),
                           ("x", "a3", 2023, 9, "published"), ("x", "A", 2023, 51, "published")]), relations)
    assert _interval(naive, "x", "a1") == (2, 2, False)
    assert naive.exposing_relations[("x", "statistical_district", "a1", 2023)] == ["hierarchy"]
    # a3 hidden as well: a1 + a3 = 11, so a1 can be anything from 0 to 11 (needs 0 to 5)
    fixed = audit(_counts([("x", "a1", 2023, 2, "primary"), ("x", "a2", 2023, 40, "published"),
                           ("x", "a3", 2023, 9, "secondary"), ("x", "A", 2023, 51, "published")]), relations)
    assert _interval(fixed, "x", "a1") == (0, 11, True)


def test_group_partition():
    relations = partition_relations("residents", ["residents|EU2", "residents|OTHER"], AREAS, [2023])
    # the groups add up to the residents: EU2 = 100 - 98
    naive = audit(_counts([("residents", "a1", 2023, 100, "published"), ("residents|EU2", "a1", 2023, 2, "primary"),
                           ("residents|OTHER", "a1", 2023, 98, "published")]), relations)
    assert _interval(naive, "residents|EU2", "a1") == (2, 2, False)
    assert naive.exposing_relations[("residents|EU2", "statistical_district", "a1", 2023)] == ["partition"]
    # the total hidden too: EU2 + OTHER = residents, each free -> [0, inf)
    fixed = audit(_counts([("residents", "a1", 2023, 100, "secondary"), ("residents|EU2", "a1", 2023, 2, "primary"),
                           ("residents|OTHER", "a1", 2023, 98, "published")]), relations)
    low, high, protected = _interval(fixed, "residents|EU2", "a1")
    assert low == 0 and high == float("inf") and protected


def test_rate_with_a_published_denominator():
    # share = 4.0 % is shown, its numerator hidden, the denominator (50) is published as a count elsewhere
    relations = [rate_relation(("sgb2", "statistical_district", "a1", 2023),
                               ("residents_u65", "statistical_district", "a1", 2023), 4.0, 100)]
    naive = audit(_counts([("sgb2", "a1", 2023, 2, "primary"), ("residents_u65", "a1", 2023, 50, "published")]),
                  relations)
    assert _interval(naive, "sgb2", "a1") == (2, 2, False)
    # the rate hidden with it: no relation left, the numerator is free
    fixed = audit(_counts([("sgb2", "a1", 2023, 2, "primary"), ("residents_u65", "a1", 2023, 50, "published")]), [])
    assert _interval(fixed, "sgb2", "a1")[2]


def test_a_count_published_in_two_marts():
    # residents|EU2 of a1 hidden in the monitoring, but the same count is the published numerator of share_eu2
    counts = pd.concat([_counts([("residents|EU2", "a1", 2023, 2, "primary")]).assign(mart="monitoring"),
                        _counts([("residents|EU2", "a1", 2023, 2, "published")]).assign(mart="indicators")])
    naive = audit(counts, [])
    assert _interval(naive, "residents|EU2", "a1") == (2, 2, False)
    assert naive.exposing_relations[("residents|EU2", "statistical_district", "a1", 2023)] == \
        ["gleiche Zahl anderswo veröffentlicht"]
    fixed = audit(_counts([("residents|EU2", "a1", 2023, 2, "primary")]), [])
    assert _interval(fixed, "residents|EU2", "a1")[2]


def test_stock_and_flow():
    relations = flow_relations("change", "stock", AREAS, [2023])
    # change = stock 2023 - stock 2022 = 12 - 10 = 2
    naive = audit(_counts([("change", "a1", 2023, 2, "primary"), ("stock", "a1", 2023, 12, "published"),
                           ("stock", "a1", 2022, 10, "published")]), relations, signed_concepts={"change"})
    assert _interval(naive, "change", "a1") == (2, 2, False)
    assert naive.exposing_relations[("change", "statistical_district", "a1", 2023)] == ["flow"]
    # the new stock hidden too: change = stock - 10 with stock >= 0 -> change in [-10, inf)
    fixed = audit(_counts([("change", "a1", 2023, 2, "primary"), ("stock", "a1", 2023, 12, "secondary"),
                           ("stock", "a1", 2022, 10, "published")]), relations, signed_concepts={"change"})
    low, high, protected = _interval(fixed, "change", "a1")
    assert low == -10 and high == float("inf") and protected


def test_relations_combine_across_kinds():
    """Hierarchy and partition together: each alone leaves a1's EU2 count open, together they pin it."""
    relations = [*hierarchy_relations(["residents|EU2", "residents|OTHER", "residents"], AREAS, [2023]),
                 *partition_relations("residents", ["residents|EU2", "residents|OTHER"], AREAS, [2023])]
    rows = [("residents|EU2", "a1", 2023, 2, "primary"), ("residents|EU2", "a2", 2023, 5, "secondary"),
            ("residents|EU2", "a3", 2023, 4, "published"), ("residents|EU2", "A", 2023, 11, "published"),
            ("residents|OTHER", "a1", 2023, 98, "secondary"), ("residents|OTHER", "a2", 2023, 95, "published"),
            ("residents|OTHER", "a3", 2023, 96, "published"), ("residents|OTHER", "A", 2023, 289, "published"),
            ("residents", "a1", 2023, 100, "published"), ("residents", "a2", 2023, 100, "published"),
            ("residents", "a3", 2023, 100, "published"), ("residents", "A", 2023, 300, "published")]
    # residents a2 = 100 and OTHER a2 = 95 give EU2 a2 = 5, and then A = 11 gives EU2 a1 = 11 - 5 - 4 = 2
    result = audit(_counts(rows), relations)
    assert _interval(result, "residents|EU2", "a1") == (2, 2, False)
    assert result.exposing_relations[("residents|EU2", "statistical_district", "a1", 2023)] == \
        ["hierarchy", "partition"]


@pytest.mark.parametrize("value", [1, 2])
def test_a_lone_primary_cell_without_relations_is_protected(value):
    result = audit(_counts([("x", "a1", 2023, value, "primary")]), [])
    assert _interval(result, "x", "a1") == (0, float("inf"), True)


def test_the_model_of_a_real_release_claims_only_relations_the_data_satisfy(released_warehouse):
    """Every relation disclosure_relations.yml declares (partitions, identities, flows, hierarchy) holds on the
    true counts of the sample, and the audit covers every suppressed non-zero numerator."""
    import duckdb

    from dagster_project.release.content import released_marts
    from dagster_project.release.disclosure import DisclosureRules

    root, _ = released_warehouse
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        marts = {n: con.execute(f"SELECT * FROM marts.{n}").df() for n in (
            "fct_indicator_values", "fct_immigration_monitoring", "dim_area", "fct_area_profile", "fct_social_index",
            "fct_immigration_retention", "fct_goal_achievement", "fct_measure_coverage", "fct_measure_gaps")}
    content = released_marts(marts, DisclosureRules.load())
    model = content.model
    kinds = {r.kind for r in model.relations}
    assert kinds == {"hierarchy", "identity", "flow"}
    # the social index needs the year two before: a sample of two years has none
    assert set(model.counts.mart) == {"fct_indicator_values", "fct_immigration_monitoring",
                                      "fct_immigration_retention", "fct_measure_coverage",
                                      *(["fct_social_index"] if len(marts["fct_social_index"]) else [])}
    result = model.audit()
    assert result.exposed.empty and content.audit.exposed.empty
    assert result.invalid_relations == []
    primaries = model.counts[model.counts.primary & (model.counts.value != 0)]
    audited = set(zip(result.cells.concept, result.cells.area_code, result.cells.reference_year))
    assert set(zip(primaries.concept, primaries.area_code, primaries.reference_year)) <= audited
    assert (result.cells.low <= result.cells.value + 1e-6).all() and (result.cells.high >= result.cells.value - 1e-6).all()


def test_every_release_reports_the_audit_without_disclosing_values(released_warehouse):
    import json

    root, _ = released_warehouse
    current = root / "release" / "current"
    attack = json.loads((current / "manifest.json").read_text(encoding="utf-8"))["angreiferpruefung"]
    assert attack["geprueft"] > 0 and attack["relationen"] > 0
    assert set(attack["je_mart"]) >= {"fct_indicator_values", "fct_immigration_monitoring"}
    for example in attack["beispiele"]:   # keys and relations only: a bound would disclose the hidden value
        assert set(example) == {"kennzahl", "area_level", "area_code", "reference_year", "relationen"}
    report = (current / "pruefbericht.html").read_text(encoding="utf-8")
    assert "Angreiferprüfung (Rückrechnung gesperrter Zellen)" in report
