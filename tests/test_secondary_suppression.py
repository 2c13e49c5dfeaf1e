"""Secondary suppression across relations: on hand-made fixtures, one per kind of relation, a naive
suppression that the audit catches is fixed; on random small tables with a hierarchy and a group
partition (Hypothesis), every primary cell ends up protected and no published figure changes."""

from __future__ import annotations

import itertools

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dagster_project.release.attacker_audit import (audit, flow_relations, hierarchy_relations, partition_relations,
                                                    protection_range, rate_relation)
from dagster_project.release.secondary_suppression import protect
from tests.test_attacker_audit import AREAS

LEVEL = {"A": "city_district"}


def _counts(rows):
    """rows: (cell, concept, area code, year, value, state) with state published / primary."""
    return pd.DataFrame([{"cell": cell, "concept": c, "area_level": LEVEL.get(a, "statistical_district"),
                          "area_code": a, "reference_year": y, "value": v, "published": s == "published",
                          "primary": s == "primary"} for cell, c, a, y, v, s in rows])


def _fixed(counts, relations, signed=frozenset(), **kwargs):
    """Protect, then audit the result independently: no primary count may be exposed."""
    protection = protect(counts, relations, set(signed), **kwargs)
    after = counts.assign(published=counts.published & ~counts.cell.isin(protection.hidden_cells))
    hidden_relations = protection.hidden_cells | kwargs.get("hidden_relation_cells", set())
    check = audit(after, relations, set(signed), hidden_cells=hidden_relations)
    assert check.exposed.empty, check.exposed
    return protection.hidden_cells, check


def test_hierarchy_is_fixed_by_hiding_a_sibling():
    relations = hierarchy_relations(["x"], AREAS, [2023])
    counts = _counts([("x-a1", "x", "a1", 2023, 2, "primary"), ("x-a2", "x", "a2", 2023, 40, "published"),
                      ("x-a3", "x", "a3", 2023, 9, "published"), ("x-A", "x", "A", 2023, 51, "published")])
    assert not audit(counts, relations).exposed.empty          # naive: a1 = 51 - 40 - 9
    hidden, _ = _fixed(counts, relations)
    assert hidden == {"x-a3"}                                  # the smaller sibling, not the total


def test_group_partition_is_fixed_by_hiding_another_group():
    relations = partition_relations("residents", ["residents|EU2", "residents|UA", "residents|OTHER"], AREAS, [2023])
    counts = _counts([("r", "residents", "a1", 2023, 100, "published"),
                      ("eu2", "residents|EU2", "a1", 2023, 2, "primary"),
                      ("ua", "residents|UA", "a1", 2023, 8, "published"),
                      ("other", "residents|OTHER", "a1", 2023, 90, "published")])
    assert not audit(counts, relations).exposed.empty          # naive: EU2 = 100 - 8 - 90
    hidden, _ = _fixed(counts, relations)
    assert hidden == {"ua"}


def test_rate_with_a_published_denominator_is_fixed_by_hiding_the_rate():
    # the share 4.0 % is shown, its numerator hidden, the denominator 50 published as a count elsewhere
    relations = [rate_relation(("sgb2", "statistical_district", "a1", 2023),
                               ("residents_u65", "statistical_district", "a1", 2023), 4.0, 100, cell="share-a1")]
    counts = _counts([("sgb2-a1", "sgb2", "a1", 2023, 2, "primary"),
                      ("u65-a1", "residents_u65", "a1", 2023, 50, "published")])
    assert not audit(counts, relations).exposed.empty          # naive: 4 % of 50 = 2
    hidden, check = _fixed(counts, relations)
    assert hidden == {"share-a1"} and check.relations_used == 0


def test_a_count_in_two_marts_is_hidden_in_both():
    counts = _counts([("monitoring-stock", "residents|EU2", "a1", 2023, 2, "primary"),
                      ("indicators-share_eu2", "residents|EU2", "a1", 2023, 2, "published"),
                      ("indicators-share_eu2", "residents", "a1", 2023, 400, "published"),
                      ("indicators-residents", "residents", "a1", 2023, 400, "published")])
    assert not audit(counts, []).exposed.empty
    hidden, check = _fixed(counts, [])
    # the share (which shows the count as its numerator) goes; the residents stay published elsewhere
    assert hidden == {"indicators-share_eu2"}


def test_stock_and_flow_is_fixed():
    relations = flow_relations("change", "stock", AREAS, [2023])
    counts = _counts([("change", "change", "a1", 2023, 2, "primary"), ("stock23", "stock", "a1", 2023, 12, "published"),
                      ("stock22", "stock", "a1", 2022, 10, "published")])
    assert not audit(counts, relations, {"change"}).exposed.empty   # naive: 12 - 10
    hidden, _ = _fixed(counts, relations, {"change"})
    assert len(hidden) == 1 and hidden <= {"stock23", "stock22"}


def test_relations_combine_and_are_fixed_together():
    """A small table of districts x groups with totals both ways: the protection must hide a
    rectangle (a sibling in the same group and the matching cells of another group), not just one
    cell per relation."""
    relations = [*hierarchy_relations(["g1", "g2", "t"], AREAS, [2023]),
                 *partition_relations("t", ["g1", "g2"], AREAS, [2023])]
    table = {"a1": (2, 30), "a2": (20, 25), "a3": (15, 40)}
    rows = []
    for area, (g1, g2) in table.items():
        rows += [(f"g1-{area}", "g1", area, 2023, g1, "primary" if g1 < 3 else "published"),
                 (f"g2-{area}", "g2", area, 2023, g2, "published"), (f"t-{area}", "t", area, 2023, g1 + g2, "published")]
    rows += [("g1-A", "g1", "A", 2023, 37, "published"), ("g2-A", "g2", "A", 2023, 95, "published"),
             ("t-A", "t", "A", 2023, 132, "published")]
    hidden, check = _fixed(_counts(rows), relations)
    assert len(hidden) >= 3 and check.cells.protected.all()


# -- property: random small tables with a hierarchy and a group partition ---------------------------

GROUPS = ["g1", "g2", "g3"]


@st.composite
def tables(draw):
    """Two city districts with two or three statistical districts each, three groups; leaf counts
    drawn small (so primaries are common), totals added up."""
    sizes = [draw(st.integers(2, 3)), draw(st.integers(2, 3))]
    leaves = {}
    for d, size in enumerate(sizes):
        for s in range(size):
            for g in GROUPS:
                leaves[(f"s{d}{s}", g)] = draw(st.integers(0, 12))
    return sizes, leaves


def _table(sizes, leaves):
    areas = [("city", "C", None, None)]
    for d, size in enumerate(sizes):
        areas.append(("city_district", f"d{d}", "city", "C"))
        areas += [("statistical_district", f"s{d}{s}", "city_district", f"d{d}") for s in range(size)]
    areas = pd.DataFrame(areas, columns=["area_level", "area_code", "parent_area_level", "parent_area_code"])
    level = dict(zip(areas.area_code, areas.area_level))
    value = dict(leaves)
    for d, size in enumerate(sizes):
        for g in GROUPS:
            value[(f"d{d}", g)] = sum(leaves[(f"s{d}{s}", g)] for s in range(size))
    for g in GROUPS:
        value[("C", g)] = sum(value[(f"d{d}", g)] for d in range(len(sizes)))
    for area in areas.area_code:
        value[(area, "total")] = sum(value[(area, g)] for g in GROUPS)
    counts = pd.DataFrame([{"cell": f"{concept}-{area}", "concept": concept, "area_level": level[area],
                            "area_code": area, "reference_year": 2023, "value": v,
                            "published": not (0 < v < 3), "primary": 0 < v < 3}
                           for (area, concept), v in value.items()])
    relations = [*hierarchy_relations([*GROUPS, "total"], areas, [2023]),
                 *partition_relations("total", GROUPS, areas, [2023])]
    return counts, relations


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_after_protection_every_primary_cell_is_protected_and_no_published_figure_changes(table):
    counts, relations = _table(*table)
    protection = protect(counts, relations, set())
    released = counts.assign(published=counts.published & ~counts.cell.isin(protection.hidden_cells))
    # every primary cell's interval, from an independent audit of what is released, meets its range
    check = audit(released, relations, set())
    for row in check.cells.itertuples():
        low, high = protection_range(row.value)
        assert row.low <= low + 1e-6 and row.high >= high - 1e-6, row
    assert set(check.cells.concept + "-" + check.cells.area_code) == \
        set(counts.cell[counts.primary])                           # every primary cell was audited
    # suppression only hides: what is published is the true figure, and primaries stay hidden
    shown = released[released.published]
    assert (shown.value == counts.loc[shown.index, "value"]).all()
    assert not released.published[released.primary].any()
    # every total of the hierarchy still adds up over what it is made of (nothing was altered)
    value = dict(zip(zip(counts.area_code, counts.concept), counts.value))
    for relation in relations:
        assert abs(sum(c * value[(k[2], k[0])] for k, c in relation.terms)) < 1e-9


def test_protection_does_not_hide_what_needs_no_protection():
    """Without primary cells nothing is hidden; with one, far less than the whole table."""
    sizes, leaves = [3, 3], {(f"s{d}{s}", g): 10 + d + s for d, s, g in itertools.product(range(2), range(3), GROUPS)}
    counts, relations = _table(sizes, leaves)
    assert protect(counts, relations, set()).hidden_cells == set()
    leaves[("s00", "g1")] = 1
    counts, relations = _table(sizes, leaves)
    hidden = protect(counts, relations, set()).hidden_cells
    assert 3 <= len(hidden) <= 8 < len(counts)


def test_a_candidate_that_fails_the_audit_is_not_published(released_warehouse, tmp_path):
    """Rules without secondary suppression leave primary cells recoverable: the release is refused,
    `current` stays the last good release, and the German report in release/abgelehnt/ says why."""
    import json
    import shutil

    import pytest

    from dagster_project.release.disclosure import DisclosureRules
    from dagster_project.release.publish import ReleaseRefused, publish_release
    from dagster_project.release.store import ReleaseStore

    root, _ = released_warehouse
    shutil.copy(root / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    shutil.copytree(root / "release", tmp_path / "release", symlinks=True)
    store = ReleaseStore(tmp_path / "release")
    before, releases = store.current_id(), store.release_ids()
    naive = DisclosureRules(**{**DisclosureRules.load().__dict__, "secondary_suppression": False})
    with pytest.raises(ReleaseRefused) as refused:
        publish_release(tmp_path / "warehouse.duckdb", tmp_path / "release", "abgelehnt-test", rules=naive)
    message = str(refused.value)
    assert message.startswith("Release nicht freigegeben: die Angreiferprüfung findet")
    assert f"Release {before} bleibt aktuell" in message
    assert store.current_id() == before and store.release_ids() == releases
    [folder] = (tmp_path / "release" / "abgelehnt").iterdir()
    report = (folder / "pruefbericht.html").read_text(encoding="utf-8")
    assert "Release NICHT freigegeben" in report and "aufgedeckt durch" in report
    attack = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["angreiferpruefung"]
    assert attack["rueckrechenbar"] > 0 and attack["beispiele"]
    # the audit of the release that is current found nothing
    current = json.loads((store.folder(before) / "manifest.json").read_text(encoding="utf-8"))
    assert current["angreiferpruefung"]["rueckrechenbar"] == 0
