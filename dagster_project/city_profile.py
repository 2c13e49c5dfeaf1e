"""The city profile: the one place a city is described (docs/operations.md, "Eine neue Stadt
einrichten").

A profile is a folder ``cities/<name>/`` (or any folder named by DFT_CITY as a path):

- ``city.yml``: name and AGS, the area levels from the top (just below the whole city) down to the
  lowest level the registers name, each with its German label and code format; the social index's
  minimum residents, the comparison group, optional column-name mappings of the deliveries and
  the sample's calibration;
- ``seeds/``: dbt seeds of this city (dbt reads them as a second seed folder): ``ref_areas.csv``
  (every area of every level but the city: code, name, parent, centroid, area), ``goals.csv`` and
  ``ref_published_figures.csv``;
- optionally ``boundaries.geojson`` (the areas' outlines for the report's maps).

DFT_CITY selects the profile (default: dortmund). Everything else reads the hierarchy from here:
the dbt project through the environment variables of ``dbt_environment`` (dbt cannot read files
itself), the ingest, the sample generator, the gate, the release and the report.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
CITIES_DIR = REPO_ROOT / "cities"
DBT_PROJECT_DIR = REPO_ROOT / "dbt"
DEFAULT_CITY = "dortmund"

# the whole city is the top of every hierarchy; its level is always called so
CITY_LEVEL = "city"
CITY_LEVEL_LABEL_DE = "Gesamtstadt"
LEVEL_ID = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
MIN_LEVELS, MAX_LEVELS = 2, 5  # including the whole city
AREA_COLUMNS = ("area_level", "area_code", "area_name", "parent_area_code", "centroid_lat", "centroid_lon",
                "area_km2")


class CityProfileError(ValueError):
    """The city profile cannot be used; the message names the file, line and rule (in German)."""


@dataclass(frozen=True)
class AreaLevel:
    id: str                 # snake_case, English: the value of area_level in every mart
    label_de: str           # "Statistischer Bezirk"
    plural_de: str          # "Statistische Bezirke"
    code_pattern: str       # regular expression every code of the level matches
    slug: str               # the report's file prefix of the level ("bezirk")
    in_de: str = ""         # "im Stadtbezirk", "in der Bezirksregion"
    of_de: str = ""         # "des Stadtbezirks", "der Bezirksregion"
    plural_dative_de: str = ""   # "Stadtbezirken" (unter den ..., nach ...)

    @property
    def code_column(self) -> str:
        """The column that holds an area's code of this level (e.g. statistical_district_code)."""
        return f"{self.id}_code"

    @property
    def name_column(self) -> str:
        return f"{self.id}_name"


@dataclass(frozen=True)
class Area:
    level: str
    code: str
    name: str
    parent_code: str | None
    centroid_lat: float | None
    centroid_lon: float | None
    area_km2: float | None


@dataclass(frozen=True, eq=False)  # hashed by identity: one object per loaded profile
class CityProfile:
    key: str
    directory: Path
    name: str
    ags: str
    levels: tuple[AreaLevel, ...]  # from just below the city down to the lowest level
    social_index_min_residents: int
    comparison_group: str | None
    column_names: dict[str, dict[str, str]] = field(default_factory=dict)  # register -> contract -> header
    sample: dict = field(default_factory=dict)
    run_dbt_unit_tests: bool = False  # the dbt unit tests' fixtures use this profile's column names

    # --- the hierarchy -------------------------------------------------------------------------
    @property
    def lowest(self) -> AreaLevel:
        return self.levels[-1]

    @property
    def top(self) -> AreaLevel:
        """The level just below the whole city (Dortmund: Stadtbezirk, Berlin: Bezirk)."""
        return self.levels[0]

    @property
    def level_ids(self) -> tuple[str, ...]:
        """Every level from the lowest up to the city."""
        return (*[lv.id for lv in reversed(self.levels)], CITY_LEVEL)

    def level(self, level_id: str) -> AreaLevel:
        for lv in self.levels:
            if lv.id == level_id:
                return lv
        raise KeyError(level_id)

    def label_de(self, level_id: str) -> str:
        return CITY_LEVEL_LABEL_DE if level_id == CITY_LEVEL else self.level(level_id).label_de

    def plural_de(self, level_id: str) -> str:
        return CITY_LEVEL_LABEL_DE if level_id == CITY_LEVEL else self.level(level_id).plural_de

    def parent_level(self, level_id: str) -> str | None:
        """The level above ``level_id`` (the city above the top level; none above the city)."""
        ids = self.level_ids
        position = ids.index(level_id)
        return ids[position + 1] if position + 1 < len(ids) else None

    # --- the areas -----------------------------------------------------------------------------
    @property
    def seed_dir(self) -> Path:
        return self.directory / "seeds"

    @property
    def areas_file(self) -> Path:
        return self.seed_dir / "ref_areas.csv"

    def areas(self, level_id: str | None = None) -> list[Area]:
        found = _areas(self)
        return [a for a in found if level_id is None or a.level == level_id]

    def lowest_codes(self) -> frozenset[str]:
        return frozenset(a.code for a in self.areas(self.lowest.id))

    def ancestors(self) -> dict[str, dict[str, str]]:
        """Lowest-level code -> {level id: code of its area on that level} (itself included)."""
        parent = {(a.level, a.code): a.parent_code for a in self.areas()}
        out: dict[str, dict[str, str]] = {}
        for area in self.areas(self.lowest.id):
            chain, code = {self.lowest.id: area.code}, area.code
            for upper, lower in zip(self.level_ids[1:-1], self.level_ids[:-2]):
                code = parent[(lower, code)]
                chain[upper] = code
            out[area.code] = chain
        return out

    @property
    def boundaries_file(self) -> Path | None:
        path = self.directory / "boundaries.geojson"
        return path if path.exists() else None

    # --- for dbt and other processes -------------------------------------------------------------
    def dbt_environment(self) -> dict[str, str]:
        """What the dbt project reads of the profile (dbt/macros/area_levels.sql), as environment
        variables: dbt cannot read a file of its own, and it reparses what an env_var changed."""
        return {
            "DFT_CITY_SEEDS": str(self.dbt_seed_copy.relative_to(DBT_PROJECT_DIR)),
            "DFT_CITY_AGS": self.ags,
            "DFT_CITY_NAME": self.name,
            "DFT_CITY_LOWEST_LEVEL": self.lowest.id,
            "DFT_CITY_TOP_LEVEL": self.top.id,
            "DFT_CITY_LEVELS": json.dumps([{"id": lv.id, "label_de": lv.label_de} for lv in self.levels],
                                          ensure_ascii=False),
            "DFT_SOCIAL_INDEX_MIN_RESIDENTS": str(self.social_index_min_residents),
            "DFT_COMPARISON_GROUP": self.comparison_group or "",
        }

    @property
    def dbt_seed_copy(self) -> Path:
        """Where dbt reads the profile's seeds: a copy inside the dbt project (dbt/city_seeds/<key>),
        never the profile's own folder. dbt writes each seed's SQL to target/run/<seed path>, which
        for a seed folder outside the project would be the seed file itself."""
        return DBT_PROJECT_DIR / "city_seeds" / self.key

    def copy_seeds_for_dbt(self) -> None:
        """Bring dbt's copy of the seeds up to date (each file replaced whole, files gone removed)."""
        target = self.dbt_seed_copy
        target.mkdir(parents=True, exist_ok=True)
        wanted = {p.name: p.read_bytes() for p in sorted(self.seed_dir.iterdir()) if p.is_file()}
        for path in target.iterdir():
            if path.is_file() and path.name not in wanted:
                path.unlink()
        for name, content in wanted.items():
            path = target / name
            if not path.exists() or path.read_bytes() != content:
                temporary = path.with_name(f".{name}.{os.getpid()}.tmp")
                temporary.write_bytes(content)
                os.replace(temporary, path)

    def delivery_header(self, register: str, contract_column: str) -> str:
        """The header the city's delivery uses for a contract column (the contract's name unless
        the profile maps it)."""
        return self.column_names.get(register, {}).get(contract_column, contract_column)


def _fail(path: Path, message: str, line: int | None = None) -> CityProfileError:
    where = f"{path}" + (f", Zeile {line}" if line else "")
    return CityProfileError(f"Stadtprofil {where}: {message}")


def profile_directory(selection: str | None = None) -> Path:
    """The profile's folder: DFT_CITY as a name under cities/ or as a path."""
    chosen = (selection if selection is not None else os.environ.get("DFT_CITY", "")).strip() or DEFAULT_CITY
    path = Path(chosen)
    if "/" not in chosen and not path.is_absolute():
        path = CITIES_DIR / chosen
    if not (path / "city.yml").exists():
        known = ", ".join(sorted(p.name for p in CITIES_DIR.iterdir() if (p / "city.yml").exists()))
        raise CityProfileError(f"DFT_CITY={chosen}: kein Stadtprofil (city.yml) in {path}. "
                               f"Vorhanden: {known}")
    return path.resolve()


def _level(raw: dict, path: Path, position: int) -> AreaLevel:
    missing = [k for k in ("id", "label_de", "plural_de", "plural_dative_de", "in_de", "of_de", "code_pattern", "slug")
               if not raw.get(k)]
    if missing:
        raise _fail(path, f"Ebene {position}: es fehlt {', '.join(missing)}")
    if not LEVEL_ID.match(raw["id"]) or raw["id"] == CITY_LEVEL:
        raise _fail(path, f"Ebene {position}: Kennung {raw['id']!r} ungültig (Kleinbuchstaben und _, nicht 'city')")
    try:
        re.compile(raw["code_pattern"])
    except re.error as error:
        raise _fail(path, f"Ebene {raw['id']}: code_pattern ist kein regulärer Ausdruck ({error})") from None
    return AreaLevel(id=raw["id"], label_de=raw["label_de"], plural_de=raw["plural_de"],
                     code_pattern=raw["code_pattern"], slug=raw["slug"], in_de=raw["in_de"], of_de=raw["of_de"],
                     plural_dative_de=raw["plural_dative_de"])


@cache
def load_profile(directory: Path) -> CityProfile:
    path = directory / "city.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for key in ("name", "ags", "levels", "social_index_min_residents"):
        if key not in data:
            raise _fail(path, f"es fehlt der Eintrag {key!r}")
    if not re.fullmatch(r"\d{8}", str(data["ags"])):
        raise _fail(path, f"ags {data['ags']!r} ist kein achtstelliger Gemeindeschlüssel")
    levels = tuple(_level(raw, path, i) for i, raw in enumerate(data["levels"], start=1))
    if not MIN_LEVELS <= len(levels) + 1 <= MAX_LEVELS:
        raise _fail(path, f"{len(levels)} Ebenen unter der Gesamtstadt; erlaubt sind {MIN_LEVELS - 1} bis "
                          f"{MAX_LEVELS - 1}")
    for attribute in ("id", "slug"):
        values = [getattr(lv, attribute) for lv in levels]
        if len(set(values)) != len(values):
            raise _fail(path, f"Ebenen: {attribute} doppelt ({', '.join(values)})")
    columns = data.get("column_names") or {}
    for register, mapping in columns.items():
        headers = list(mapping.values())
        if len(set(headers)) != len(headers):
            raise _fail(path, f"column_names.{register}: eine Kopfzeilen-Spalte ist doppelt vergeben")
    profile = CityProfile(
        key=directory.name, directory=directory, name=str(data["name"]), ags=str(data["ags"]), levels=levels,
        social_index_min_residents=int(data["social_index_min_residents"]),
        comparison_group=data.get("comparison_group") or None, column_names=columns,
        sample=data.get("sample") or {}, run_dbt_unit_tests=bool(data.get("run_dbt_unit_tests", False)),
    )
    _areas(profile)  # checked once, when the profile is loaded
    return profile


def _number(text: str, path: Path, line: int, column: str) -> float | None:
    if text.strip() == "":
        return None
    try:
        return float(text)
    except ValueError:
        raise _fail(path, f"Spalte {column}: {text!r} ist keine Zahl", line) from None


@cache
def _areas(profile: CityProfile) -> tuple[Area, ...]:
    path = profile.areas_file
    if not path.exists():
        raise _fail(path, "die Gebietsliste ref_areas.csv fehlt")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != AREA_COLUMNS:
            raise _fail(path, f"Kopfzeile muss {','.join(AREA_COLUMNS)} sein", 1)
        rows = list(enumerate(reader, start=2))
    levels = {lv.id: lv for lv in profile.levels}
    seen: dict[tuple[str, str], int] = {}
    areas = []
    for line, row in rows:
        level = levels.get(row["area_level"])
        if level is None:
            raise _fail(path, f"Spalte area_level: unbekannte Ebene {row['area_level']!r} "
                              f"(city.yml kennt {', '.join(levels)})", line)
        code = row["area_code"]
        if not re.fullmatch(level.code_pattern, code):
            raise _fail(path, f"Spalte area_code: {code!r} passt nicht zum Format {level.code_pattern} "
                              f"der Ebene {level.id}", line)
        if (level.id, code) in seen:
            raise _fail(path, f"Spalte area_code: {code} ({level.id}) schon in Zeile {seen[(level.id, code)]}", line)
        seen[(level.id, code)] = line
        if not row["area_name"].strip():
            raise _fail(path, "Spalte area_name: leer", line)
        lat = _number(row["centroid_lat"], path, line, "centroid_lat")
        lon = _number(row["centroid_lon"], path, line, "centroid_lon")
        km2 = _number(row["area_km2"], path, line, "area_km2")
        if level.id == profile.lowest.id and (lat is None or lon is None or km2 is None):
            raise _fail(path, "Gebiete der untersten Ebene brauchen centroid_lat, centroid_lon und area_km2", line)
        areas.append(Area(level.id, code, row["area_name"], row["parent_area_code"] or None, lat, lon, km2))
    # every parent exists on the level above; the top level's parent is the city (empty)
    for (line, row), area in zip(rows, areas):
        parent_level = profile.parent_level(area.level)
        if parent_level == CITY_LEVEL:
            if area.parent_code not in (None, profile.ags):
                raise _fail(path, f"Spalte parent_area_code: die oberste Ebene gehört zur Gesamtstadt "
                                  f"(leer oder {profile.ags}), nicht {area.parent_code!r}", line)
        elif (parent_level, area.parent_code) not in seen:
            raise _fail(path, f"Spalte parent_area_code: {area.parent_code!r} ist kein Gebiet der Ebene "
                              f"{parent_level}", line)
    for lv in profile.levels:
        if not any(a.level == lv.id for a in areas):
            raise _fail(path, f"keine Gebiete der Ebene {lv.id}")
    children = {(profile.parent_level(a.level), a.parent_code) for a in areas}
    for area in areas:
        if area.level != profile.lowest.id and (area.level, area.code) not in children:
            raise _fail(path, f"Gebiet {area.code} ({area.level}) hat keine Teilgebiete", seen[(area.level, area.code)])
    return tuple(areas)


def render(text: str) -> str:
    """A configuration file (expectations/*.yml, the release's YAML) as a Jinja template over the
    selected profile: `lowest` (the lowest level: id, label_de, plural_de, code_column), `upper`
    (the levels above it, top first), `levels` (every level below the city, top first) and `city`
    (ags, name)."""
    import jinja2

    profile = current()
    return jinja2.Template(text, undefined=jinja2.StrictUndefined, keep_trailing_newline=True).render(
        lowest=profile.lowest, upper=list(profile.levels[:-1]), levels=list(profile.levels),
        city={"ags": profile.ags, "name": profile.name})


WAREHOUSE_MARK = "stadtprofil.txt"


def claim_warehouse(folder: Path, profile: CityProfile | None = None) -> None:
    """A warehouse belongs to one city: the first run writes the profile's name into
    <warehouse>/stadtprofil.txt, a run with another profile stops here and says so."""
    profile = profile or current()
    mark = folder / WAREHOUSE_MARK
    if mark.exists():
        owner = mark.read_text(encoding="utf-8").strip()
        if owner != profile.key:
            raise CityProfileError(
                f"Das Warehouse {folder} gehört zum Stadtprofil {owner!r}, gewählt ist {profile.key!r} "
                f"(DFT_CITY). Für eine zweite Stadt ein eigenes DFT_WAREHOUSE_DIR setzen (docs/operations.md, "
                "„Eine neue Stadt einrichten“).")
        return
    folder.mkdir(parents=True, exist_ok=True)
    mark.write_text(profile.key + "\n", encoding="utf-8")


def current() -> CityProfile:
    """The profile DFT_CITY selects."""
    return load_profile(profile_directory())


def check_column_names(profile: CityProfile) -> None:
    """Every mapped column is a column of a register's contract (a typo would leave the delivery's
    header unmapped and every delivery refused)."""
    from dagster_project.contracts import load_contracts

    contracts = load_contracts()
    path = profile.directory / "city.yml"
    for register, mapping in profile.column_names.items():
        if register not in contracts:
            raise _fail(path, f"column_names: kein Register {register!r} (Verträge: {', '.join(sorted(contracts))})")
        known = {c.name for c in contracts[register].columns}
        for column, header in mapping.items():
            if column not in known:
                raise _fail(path, f"column_names.{register}: {column!r} ist keine Spalte des Vertrags")
            if header in known and header != column:
                raise _fail(path, f"column_names.{register}: {header!r} ist schon eine andere Spalte des Vertrags")


def export_to_environment() -> CityProfile:
    """Put the selected profile where dbt (a subprocess) finds it; returns the profile."""
    profile = current()
    check_column_names(profile)
    profile.copy_seeds_for_dbt()
    os.environ.update(profile.dbt_environment())
    return profile
