"""The published model is complete: every leak an outside reviewer found in a release that passed
its own audit is a fixture here, caught by the model as it is now (declared relations, the
relation search, the accounting of every released number) and fixed by the gate.

Each fixture is hand-made and small; the expected intervals are worked out in the comments."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

from dagster_project.release import published_model
from dagster_project.release.accounting import accounting_problems
from dagster_project.release.attacker_audit import audit, flow_relations, hierarchy_relations, identity_relations
from dagster_project.release.content import released_social_index
from dagster_project.release.disclosure import DisclosureRules
from dagster_project.release.published_model import DeclaredModel, parse_identity
from dagster_project.release.relation_search import search
from dagster_project.release.secondary_suppression import protect
from tests.test_attacker_audit import AREAS

GROUPS = ["DEUTSCH", "EU2", "SONSTIGE"]


def _counts(rows):
    """rows: (cell, concept, area code, year, value, state) with state published / primary."""
    level = {"A": "city_district"}
    return pd.DataFrame([{"cell": cell, "concept": c, "area_level": level.get(a, "statistical_district"),
                          "area_code": a, "reference_year": y, "value": v, "published": s == "published",
                          "primary": s == "primary"} for cell, c, a, y, v, s in rows])


def _declared_relations(concepts: list[str], years: list[int]):
    """The relations the model declares today (disclosure_relations.yml), for these concepts."""
    declared = DeclaredModel.of(GROUPS)
    relations = hierarchy_relations(sorted(set(concepts) - declared.not_additive), AREAS, years)
    for terms in declared.identities:
        if all(name in concepts for name, _ in terms):
            relations += identity_relations(terms, AREAS, years)
    for change, stock in declared.flows:
        if change in concepts and stock in concepts:
            relations += flow_relations(change, stock, AREAS, years)
    return relations, declared.signed


def _protected(counts, relations, signed):
    """Secondary suppression, then an independent audit of what it publishes: nothing exposed."""
    protection = protect(counts, relations, set(signed))
    after = counts.assign(published=counts.published & ~counts.cell.isin(protection.hidden_cells))
    check = audit(after, relations, set(signed), hidden_cells=protection.hidden_cells)
    assert check.exposed.empty, check.exposed
    return protection.hidden_cells


def test_age_ratio_parts_add_up_to_the_residents():
    # district 950, 2024 of the reviewed release: residents hidden (secondary), the age ratios'
    # numerators 526 (0-17) and 525 (65+) and their denominator 1,515 (18-64) published
    rows = [("r", "residents", "a1", 2024, 2566, "primary"), ("u", "residents_0_17", "a1", 2024, 526, "published"),
            ("m", "residents_18_64", "a1", 2024, 1515, "published"),
            ("o", "residents_65_plus", "a1", 2024, 525, "published"),
            ("u65", "residents_under_65", "a1", 2024, 2041, "published")]
    counts = _counts(rows)
    relations, signed = _declared_relations(list(counts.concept), [2024])
    assert any(r.kind == "identity" for r in relations)
    result = audit(counts, relations, signed)
    assert not result.exposed.empty                        # 526 + 1515 + 525 = 2566 exactly
    hidden = _protected(counts, relations, signed)
    assert hidden & {"u", "m", "o", "u65"}                 # one more part hidden with it


def test_net_migration_is_additive_over_the_hierarchy_with_signs():
    # city district A publishes net migration 352, the districts a2, a3 publish 290 and 60: the hidden
    # net migration of a1 (2) is their difference; the same for a negative value
    for hidden_value, a2 in ((2, 290), (-2, 294)):
        rows = [("a1", "net_moves", "a1", 2023, hidden_value, "primary"), ("a2", "net_moves", "a2", 2023, a2, "published"),
                ("a3", "net_moves", "a3", 2023, 60, "published"),
                ("A", "net_moves", "A", 2023, hidden_value + a2 + 60, "published")]
        counts = _counts(rows)
        relations, signed = _declared_relations(["net_moves"], [2023])
        assert "net_moves" in signed and relations            # additive and signed in the model
        result = audit(counts, relations, signed)
        row = result.cells.iloc[0]
        assert row.low == row.high == hidden_value             # recovered exactly, sign and all
        _protected(counts, relations, signed)
        # once protected, the interval has negative room: a net migration of -2 is protected like +2
        protection = protect(counts, relations, set(signed))
        check = audit(counts.assign(published=counts.published & ~counts.cell.isin(protection.hidden_cells)),
                      relations, set(signed))
        low, high = check.cells.iloc[0][["low", "high"]]
        assert low <= min(0, hidden_value - 3) and high >= max(0, hidden_value + 3)


def test_turnover_of_a_group_is_additive():
    # group SONSTIGE, district 450, 2019: turnover 0 hidden, recovered from its city district
    rows = [("a1", "turnover|SONSTIGE", "a1", 2019, 1, "primary"),
            ("a2", "turnover|SONSTIGE", "a2", 2019, 14, "published"),
            ("a3", "turnover|SONSTIGE", "a3", 2019, 9, "published"),
            ("A", "turnover|SONSTIGE", "A", 2019, 24, "published")]
    counts = _counts(rows)
    relations, signed = _declared_relations(list(counts.concept), [2019])
    assert not audit(counts, relations, signed).exposed.empty
    _protected(counts, relations, signed)


def test_net_migration_is_moves_in_minus_moves_out_within_a_row():
    # district 080, 2024, EU2: net -5, out-moves 7 and 0, in-moves from Germany 0: the hidden in-moves
    # from abroad are 2 (= -5 + 7 + 0 - 0)
    concept = {"net": "net_migration|EU2", "ia": "moves_in_abroad|EU2", "ig": "moves_in_germany|EU2",
               "oa": "moves_out_abroad|EU2", "og": "moves_out_germany|EU2", "t": "turnover|EU2"}
    values = {"net": -5, "ia": 2, "ig": 0, "oa": 7, "og": 0, "t": 9}
    rows = [(name, concept[name], "a1", 2024, values[name], "primary" if name == "ia" else "published")
            for name in concept]
    counts = _counts(rows)
    relations, signed = _declared_relations(list(counts.concept), [2024])
    result = audit(counts, relations, signed)
    row = result.cells.iloc[0]
    assert row.low == row.high == 2
    _protected(counts, relations, signed)


def test_the_social_index_shows_no_residents_of_a_suppressed_cell():
    # the fact's residents of district 950 in 2024 are suppressed; the social index printed them
    fact = pd.DataFrame({
        "indicator_id": ["residents", "unemployment_sgb2_rate", "sgb2_child_rate", "residents"],
        "area_level": "statistical_district", "area_code": ["950", "950", "950", "950"],
        "reference_year": [2024, 2024, 2024, 2022], "numerator": [np.nan, 40.0, 30.0, 2500.0],
        "denominator": [np.nan, 1600.0, 300.0, np.nan], "indicator_value": [np.nan, 2.5, 10.0, 2500.0],
        "is_suppressed": [True, False, False, False]})
    index = pd.DataFrame({"statistical_district_code": ["950"], "reference_year": [2024], "residents": [2566],
                          "s1_unemployment_sgb2_rate": [2.5], "s2_transfer_rate": [5.0], "s3_sgb2_child_rate": [10.0],
                          "d1_change_unemployment_pp": [0.1], "d2_change_transfer_pp": [0.2],
                          "d3_change_child_rate_pp": [0.3], **{z: [0.0] for z in
                          ["z_s1", "z_s2", "z_s3", "z_d1", "z_d2", "z_d3", "status_index", "dynamics_index"]},
                          "is_classified": [True], "status_class": ["mittel"], "dynamics_class": ["stabil"],
                          "index_class": ["mittel / stabil"]})
    leaky = index.drop(columns=["z_s1", "z_s2", "z_s3", "z_d1", "z_d2", "z_d3", "status_index", "dynamics_index"])
    released = {"fct_indicator_values": fact, "dim_indicator": pd.DataFrame({"indicator_id": ["residents"]}),
                "fct_social_index": leaky}
    problems = accounting_problems(released)
    assert any("fct_social_index.residents" in p and "gesperrt" in p for p in problems)     # caught
    released["fct_social_index"] = released_social_index(index, fact, DisclosureRules.load())
    assert pd.isna(released["fct_social_index"].residents.iloc[0])
    assert not accounting_problems(released)                                              # fixed


def test_a_goal_baseline_from_a_suppressed_year_is_caught_and_hidden():
    """A goal's baseline is the indicator cell of its baseline year: where that cell is suppressed,
    the baseline (and the progress worked from it) must not be released; the decided value may."""
    from dagster_project.release.content import _released_planning

    fact = pd.DataFrame({"indicator_id": "eu2_sgb2_rate", "area_level": "statistical_district", "area_code": "450",
                         "reference_year": [2018, 2024], "indicator_value": [np.nan, 11.0],
                         "is_suppressed": [True, False]})
    goals = pd.DataFrame({"goal_id": ["Z12"], "indicator_id": ["eu2_sgb2_rate"], "area_level": ["statistical_district"],
                          "area_code": ["450"], "baseline_year": [2018], "baseline_value": [12.7],
                          "baseline_value_decided": [12.0], "target_year": [2030], "target_value": [10.0],
                          "reference_year": [2024], "actual_value": [11.0], "progress_pct": [63.0],
                          "period_elapsed_pct": [50.0], "goal_status": ["auf Kurs"]})
    gaps = pd.DataFrame(columns=["need_indicator_id", "statistical_district_code", "reference_year", "need_value",
                                 "need_quartile", "is_gap"])
    released = {"fct_indicator_values": fact, "dim_indicator": pd.DataFrame({"indicator_id": ["eu2_sgb2_rate"]}),
                "fct_goal_achievement": goals}
    problems = accounting_problems(released)
    assert any("fct_goal_achievement.baseline_value" in p and "gesperrt" in p for p in problems)   # caught
    assert any("fct_goal_achievement.progress_pct" in p for p in problems)
    released["fct_goal_achievement"] = _released_planning(
        {"fct_goal_achievement": goals, "fct_measure_gaps": gaps}, fact)["fct_goal_achievement"]
    hidden = released["fct_goal_achievement"].iloc[0]
    assert pd.isna(hidden.baseline_value) and pd.isna(hidden.progress_pct) and hidden.goal_status == "keine Daten"
    assert hidden.baseline_value_decided == 12.0 and hidden.actual_value == 11.0
    assert not accounting_problems(released)                                                       # fixed


def test_a_new_numeric_column_stops_the_release(released_warehouse, tmp_path, monkeypatch):
    """A mart grows a numeric column nobody declared: the release is refused, naming it."""
    from dagster_project.release import publish
    from dagster_project.release.publish import ReleaseRefused, publish_release
    from dagster_project.release.store import ReleaseStore

    root, _ = released_warehouse
    shutil.copy(root / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    shutil.copytree(root / "release", tmp_path / "release", symlinks=True)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("ALTER TABLE marts.fct_immigration_monitoring ADD COLUMN persons_checked INTEGER DEFAULT 7")
    con.close()
    store = ReleaseStore(tmp_path / "release")
    before = store.current_id()
    # a changed dbt model changes the inputs' fingerprint; here the column was added by hand
    monkeypatch.setattr(publish, "input_fingerprint", lambda *args, **kwargs: "neue Spalte")
    with pytest.raises(ReleaseRefused) as refused:
        publish_release(tmp_path / "warehouse.duckdb", tmp_path / "release", "neue-spalte")
    message = str(refused.value)
    assert "Tabelle fct_immigration_monitoring, Spalte persons_checked" in message
    assert "published_numbers.yml" in message and f"Release {before} bleibt aktuell" in message
    assert store.current_id() == before


def test_identity_text_is_parsed():
    assert parse_identity("net = a + b - c") == [("net", 1.0), ("a", -1.0), ("b", -1.0), ("c", 1.0)]


def _table_counts(rng: np.random.Generator, areas: int = 30, years=range(2018, 2024)) -> pd.DataFrame:
    """Counts with an age partition, a stock and its change, and a free count, over the hierarchy."""
    rows = []
    for year in years:
        for area in range(areas):
            young, middle, old, other = (int(x) for x in rng.integers(0, 500, size=4))
            rows.append({"area_code": f"{area:03d}", "reference_year": year, "residents_0_17": young,
                         "residents_18_64": middle, "residents_65_plus": old, "households": other,
                         "residents": young + middle + old})
    frame = pd.DataFrame(rows).sort_values(["area_code", "reference_year"])
    frame["residents_change"] = frame.groupby("area_code").residents.diff()
    long = frame.melt(id_vars=["area_code", "reference_year"], var_name="concept").dropna()
    return long.assign(area_level="statistical_district")


def test_the_relation_search_finds_what_nobody_declared():
    counts = _table_counts(np.random.default_rng(5))
    areas = pd.DataFrame({"area_level": "statistical_district", "area_code": sorted(counts.area_code.unique()),
                          "parent_area_level": None, "parent_area_code": None})
    result = search(counts, areas, [], set(), set())
    texts = {r.text() for r in result.undeclared}
    assert "residents = residents_0_17 + residents_18_64 + residents_65_plus" in texts
    assert "residents_change = residents (Jahr) − residents (Vorjahr)" in texts
    assert not any("households" in t for t in texts)          # a free count relates to nothing
    declared = [{"residents": 1, "residents_0_17": -1, "residents_18_64": -1, "residents_65_plus": -1}]
    quiet = search(counts, areas, declared, set(), {("residents_change", "residents")})
    assert not quiet.undeclared


def _sample_marts(root):
    from dagster_project.release.publish import candidate_marts

    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return candidate_marts(con)
    finally:
        con.close()


def _without(monkeypatch, change) -> dict:
    config = change(dict(published_model.relations_config()))
    monkeypatch.setattr(published_model, "relations_config", lambda: config)
    monkeypatch.setattr("dagster_project.release.content.relations_config", lambda: config)
    return config


def test_the_search_stops_a_release_whose_model_lacks_the_age_partition(released_warehouse, monkeypatch):
    """On the sample (two years): remove 'residents = under 65 + 65 and older' from the declared
    model, and the relation search finds it by itself and refuses the release, naming it."""
    from dagster_project.release.content import released_marts

    root, _ = released_warehouse
    marts = _sample_marts(root)
    _without(monkeypatch, lambda c: {**c, "identities": [i for i in c["identities"] if not i.startswith("residents = ")]})
    with pytest.raises(published_model.DisclosureModelIncomplete) as refused:
        released_marts(marts, DisclosureRules.load())
    message = str(refused.value)
    assert "residents = residents_65_plus + residents_under_65" in message
    assert "disclosure_relations.yml" in message


def test_the_search_finds_the_stock_flow_identity_when_it_is_not_declared(released_warehouse, monkeypatch):
    """The sample has two years, so a change is seen in one year only: without the declared
    stock/flow relation the search finds it, and the audit of this release uses it (a relation seen
    in one year may belong to that year's data; seen in two or more it stops the release, as in
    test_the_relation_search_finds_what_nobody_declared)."""
    from dagster_project.release.content import _long_candidates, _suppressed_long
    from dagster_project.release.published_model import build_model

    root, _ = released_warehouse
    marts = _sample_marts(root)
    _without(monkeypatch, lambda c: {**c, "flows": [f for f in c["flows"] if f["change"] != "residents_change"]})
    candidates = _long_candidates(marts)
    model = build_model(candidates, _suppressed_long(candidates, DisclosureRules.load()), marts["dim_area"])
    assert not any(r.kind == "flow" and r.terms[0][0][0] == "residents_change" for r in model.relations)
    result = model.search_relations(marts["dim_area"])
    expected = "residents_change = residents (Jahr) − residents (Vorjahr)"
    assert expected in {r.text() for r in result.incidental}
    model.add_found(result.incidental, marts["dim_area"])
    assert any(r.kind == "flow" and r.terms[0][0][0] == "residents_change" for r in model.relations)


# the rules' names and identifiers (general notes may say that secondary suppression exists)
RULE_WORDS = ("1 oder 2", "Zähler 1", "Nenner unter 100", "zaehlwert", "zaehler_1", "nenner_unter", "sekundaer")


def test_no_reader_sees_why_a_cell_is_suppressed(report_site):
    """The rule of a suppressed cell tells its value ("1 oder 2"). Read as a reader would, without
    the model: the release file (every table and column but the general rules table), every page
    but the methods page (which explains the rules in general), every download."""
    import openpyxl

    folder = report_site.parent
    con = duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True)
    try:
        columns = con.execute("SELECT schema_name, table_name, column_name FROM duckdb_columns() "
                              "WHERE database_name = current_database() AND data_type = 'VARCHAR'").fetchall()
        for schema, table, column in columns:
            if table in ("dim_suppression_rule", "manifest"):
                continue   # the rules in general; the manifest's totals per rule (no cell)
            assert "rule" not in column, f"{schema}.{table}.{column}"
            for word in RULE_WORDS:
                hits = con.execute(f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}" ILIKE ?',
                                   [f"%{word}%"]).fetchone()[0]
                assert not hits, f"{schema}.{table}.{column} nennt '{word}'"
    finally:
        con.close()
    texts = {p: p.read_text(encoding="utf-8-sig") for p in report_site.rglob("*") if p.suffix in (".html", ".csv")
             and p.name != "methodik.html"}
    for path in report_site.rglob("*.xlsx"):
        book = openpyxl.load_workbook(path, read_only=True)
        texts[path] = " ".join(str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row
                               if v is not None)
    assert texts
    for path, text in texts.items():
        for word in RULE_WORDS:
            assert word not in text, f"{path.relative_to(report_site)} nennt '{word}'"
    pages = [t for p, t in texts.items() if p.suffix == ".html" and "fussnote-1" in t]
    assert pages and all("gesperrt: der Wert wird zum Schutz von Einzelangaben nicht veröffentlicht" in t
                         for t in pages)
