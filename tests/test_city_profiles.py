"""Any city without code changes (docs/operations.md, "Eine neue Stadt einrichten"): the city
profiles load and are checked, and no code outside a profile names a city's levels.

The grep test reads the code as an outsider would: it does not ask the profile module which names
are forbidden, it lists the level names of both shipped profiles from their city.yml files and looks
for them (and for Dortmund's German level words) in the dbt models, macros and tests, the gate's
expectations, the release and disclosure code and the report. Only the profiles, the docs and the
dbt unit tests' fixtures (written in the reference profile's column names) may name them.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import duckdb
import pytest
import yaml

from dagster_project import city_profile

REPO = Path(__file__).resolve().parent.parent
SCANNED = ["dbt/models", "dbt/macros", "dbt/tests", "expectations", "dagster_project/release",
           "dagster_project/report", "dagster_project/quality", "dagster_project/contracts"]
CODE_SUFFIXES = {".sql", ".py", ".yml", ".j2"}
# fixtures of the dbt unit tests: written in the reference profile's column names, run under it
ALLOWED = re.compile(r"_unit_tests\.yml$")


def _level_ids() -> set[str]:
    ids = set()
    for path in (REPO / "cities").glob("*/city.yml"):
        ids |= {level["id"] for level in yaml.safe_load(path.read_text(encoding="utf-8"))["levels"]}
    return ids


def test_no_level_is_named_outside_the_profiles():
    ids = _level_ids()
    assert {"statistical_district", "city_district", "planning_area", "borough"} <= ids
    words = re.compile(r"\b(" + "|".join(sorted(ids)) + r")(_code|_name)?\b"
                       r"|Stadtbezirk|[Ss]tatistische[nrs]? Bezirk|Planungsr[aä]um|Prognoser[aä]um|Bezirksregion")
    found = []
    for folder in SCANNED:
        for path in sorted((REPO / folder).rglob("*")):
            if path.suffix not in CODE_SUFFIXES or ALLOWED.search(path.name) or "__pycache__" in path.parts:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if words.search(line):
                    found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()[:120]}")
    assert not found, "Ebenen fest im Code statt aus dem Stadtprofil:\n" + "\n".join(found)


def test_the_grep_finds_a_level_name_where_one_is_planted(tmp_path):
    """The scan above is not vacuous: the same pattern finds a hard-coded level in a model."""
    ids = _level_ids()
    words = re.compile(r"\b(" + "|".join(sorted(ids)) + r")(_code|_name)?\b")
    planted = "select * from x where area_level = 'statistical_district'"
    assert words.search(planted)
    assert not words.search("select * from x where area_level = '{{ lowest_level() }}'")


@pytest.mark.parametrize("name", ["dortmund", "lor_beispiel"])
def test_shipped_profiles_load(name):
    profile = city_profile.load_profile(city_profile.profile_directory(name))
    assert profile.level_ids[-1] == "city"
    chains = profile.ancestors()
    # every lowest-level area reaches the top level through one parent per level
    assert all(set(chain) == set(profile.level_ids[:-1]) for chain in chains.values())
    assert len(profile.levels) == (2 if name == "dortmund" else 4)


def test_the_lor_example_is_four_levels_with_eight_digit_codes():
    profile = city_profile.load_profile(city_profile.profile_directory("lor_beispiel"))
    counts = {level.id: len(profile.areas(level.id)) for level in profile.levels}
    assert counts == {"borough": 4, "forecast_area": 19, "district_region": 45, "planning_area": 179}
    assert all(re.fullmatch(r"\d{8}", code) for code in profile.lowest_codes())
    # the LOR code carries its parents: Bezirksregion = first 6 digits, Prognoseraum = first 4, Bezirk = 2
    for code, chain in profile.ancestors().items():
        assert chain["district_region"] == code[:6] and chain["forecast_area"] == code[:4]
        assert chain["borough"] == code[:2]


def _profile_copy(tmp_path: Path, name: str = "dortmund") -> Path:
    target = tmp_path / "stadt"
    source = city_profile.CITIES_DIR / name
    (target / "seeds").mkdir(parents=True)
    (target / "city.yml").write_bytes((source / "city.yml").read_bytes())
    for path in (source / "seeds").iterdir():
        (target / "seeds" / path.name).write_bytes(path.read_bytes())
    return target


def _load(folder: Path):
    city_profile.load_profile.cache_clear()
    city_profile._areas.cache_clear()
    return city_profile.load_profile(folder)


def test_a_broken_area_list_is_refused_with_file_line_and_rule(tmp_path):
    folder = _profile_copy(tmp_path)
    areas = folder / "seeds" / "ref_areas.csv"
    lines = areas.read_text(encoding="utf-8").splitlines()
    # line 20 of the file: a statistical district whose city district does not exist
    fields = lines[19].split(",")
    fields[3] = "99"
    lines[19] = ",".join(fields)
    areas.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(city_profile.CityProfileError, match=r"ref_areas.csv, Zeile 20: Spalte parent_area_code"):
        _load(folder)


def test_a_code_in_the_wrong_format_is_refused(tmp_path):
    folder = _profile_copy(tmp_path)
    areas = folder / "seeds" / "ref_areas.csv"
    text = areas.read_text(encoding="utf-8").replace("statistical_district,010,", "statistical_district,0100,", 1)
    areas.write_text(text, encoding="utf-8")
    with pytest.raises(city_profile.CityProfileError, match=r"Zeile \d+: Spalte area_code: '0100' passt nicht"):
        _load(folder)


def test_too_many_levels_are_refused(tmp_path):
    folder = _profile_copy(tmp_path)
    data = yaml.safe_load((folder / "city.yml").read_text(encoding="utf-8"))
    data["levels"] = [dict(data["levels"][0], id=f"level_{i}", slug=f"ebene{i}") for i in range(5)]
    (folder / "city.yml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(city_profile.CityProfileError, match="5 Ebenen unter der Gesamtstadt"):
        _load(folder)


def test_an_unknown_city_names_the_profiles_there_are(monkeypatch):
    with pytest.raises(city_profile.CityProfileError, match="Vorhanden: dortmund, lor_beispiel"):
        city_profile.profile_directory("hamburg")


def test_dbt_reads_the_profile_it_is_given(tmp_path):
    """dbt compiles the hierarchy macros for the LOR example's four levels: a rollup over four code columns
    and a level for each (an outsider's look at the compiled SQL, not at the macro)."""
    import os
    import sys

    berlin = city_profile.load_profile(city_profile.profile_directory("lor_beispiel"))
    berlin.copy_seeds_for_dbt()
    env = {**os.environ, **berlin.dbt_environment(), "DFT_CITY": "lor_beispiel", "DFT_DB_PATH": str(tmp_path / "x.duckdb")}
    done = subprocess.run([str(Path(sys.executable).parent / "dbt"), "compile", "--quiet", "--project-dir",
                           str(REPO / "dbt"), "--profiles-dir", str(REPO / "dbt"), "--target-path",
                           str(tmp_path / "target"), "--select", "int_indicators__base_counts dim_area"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    compiled = next((tmp_path / "target" / "compiled").rglob("int_indicators__base_counts.sql")).read_text()
    assert re.search(r"rollup\s*\(\s*borough_code,\s*forecast_area_code,\s*district_region_code,\s*planning_area_code\s*\)",
                     compiled)
    for level in ("planning_area", "district_region", "forecast_area", "borough"):
        assert f"then '{level}'" in compiled
    dim_area = next((tmp_path / "target" / "compiled").rglob("dim_area.sql")).read_text()
    assert "'Prognoseraum' as area_level_label_de" in dim_area


def test_a_delivery_with_the_contract_header_is_refused_naming_the_citys_header(monkeypatch):
    """The LOR example maps STAT_BEZIRK to PLR_ID: a delivery with the contract's own header is
    refused at the first differing column, and the message names the header the city uses."""
    from dagster_project.contracts import load_contracts
    from dagster_project.ingest.delivery_file import DeliveryRefused, _check_header

    monkeypatch.setenv("DFT_CITY", "lor_beispiel")
    contract = load_contracts()["einwohner"]
    assert contract.header[0] == "PERSONEN_ID" and "PLR_ID" in contract.header
    with pytest.raises(DeliveryRefused) as refused:
        _check_header([c.name for c in contract.columns], contract, "einwohner_2024-12-31.csv")
    assert refused.value.refusal.line == 1
    assert "erwartet 'PERSONEN_ID', gefunden 'ORDNUNGSMERKMAL'" in refused.value.refusal.message_de
    _check_header(contract.header, contract, "einwohner_2024-12-31.csv")   # the city's own header passes
    monkeypatch.setenv("DFT_CITY", "dortmund")
    assert load_contracts()["einwohner"].header[0] == "ORDNUNGSMERKMAL"


def test_a_mapping_to_a_column_the_contract_does_not_have_is_refused(tmp_path):
    folder = _profile_copy(tmp_path, "lor_beispiel")
    text = (folder / "city.yml").read_text(encoding="utf-8").replace("STAT_BEZIRK: PLR_ID", "STAT_BEZRK: PLR_ID")
    (folder / "city.yml").write_text(text, encoding="utf-8")
    with pytest.raises(city_profile.CityProfileError, match="'STAT_BEZRK' ist keine Spalte des Vertrags"):
        city_profile.check_column_names(_load(folder))


def test_a_quarantine_file_rewritten_after_a_crash_keeps_the_citys_headers(tmp_path, monkeypatch):
    """After a kill the quarantine file is rewritten from audit.quarantine (contract names): it
    must name the columns as the city's delivery does, like the file of the normal load."""
    from dagster_project.ingest.recovery import recover_quarantine_folder

    monkeypatch.setenv("DFT_CITY", "lor_beispiel")
    con = duckdb.connect()
    con.execute("CREATE SCHEMA audit; CREATE TABLE audit.quarantine (register VARCHAR, period VARCHAR, "
                "file_name VARCHAR, file_sha256 VARCHAR, line_no BIGINT, column_name VARCHAR, rule VARCHAR, "
                "message_de VARCHAR, value VARCHAR)")
    con.execute("INSERT INTO audit.quarantine VALUES ('einwohner', '2024-12-31', 'einwohner_2024-12-31.csv', "
                "'x', 7, 'STAT_BEZIRK', 'area_code', 'unbekanntes Gebiet', '99999999')")
    recover_quarantine_folder(con, tmp_path, "einwohner")
    text = (tmp_path / "einwohner" / "einwohner_2024-12-31.quarantaene.csv").read_text(encoding="utf-8-sig")
    assert text.splitlines()[1].split(";")[:2] == ["7", "PLR_ID"]
    assert recover_quarantine_folder(con, tmp_path, "einwohner") == []   # now in line: nothing to do


def _data_tests(node):
    """Every data test entry below a model or column entry of a dbt YAML file."""
    for entry in node.get("data_tests") or []:
        yield entry
    for column in node.get("columns") or []:
        yield from _data_tests(column)


def test_a_dbt_test_with_a_profile_value_in_its_arguments_has_a_name_of_its_own():
    """dbt names a test from its raw YAML: one with `{{ env_var(...) }}` in its arguments would
    carry Jinja in its name, and the name is the asset check's name the quality reports show."""
    unnamed = []
    for path in sorted((REPO / "dbt" / "models").rglob("*.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models") or []:
            for entry in _data_tests(model):
                if isinstance(entry, dict):
                    (test, config), = entry.items()
                    if "{{" in str(config) and not (isinstance(config, dict) and config.get("name")):
                        unnamed.append(f"{path.relative_to(REPO)}: {model['name']} {test}")
    assert not unnamed, unnamed
