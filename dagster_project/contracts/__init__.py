"""The written register contracts (one YAML file per register) and the code lists they refer to."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from dagster_project import city_profile
from dagster_project.settings import REPO_ROOT

CONTRACT_DIR = Path(__file__).resolve().parent
SEED_DIR = REPO_ROOT / "dbt" / "seeds" / "reference"

HANDLINGS = {"keep", "drop", "pseudonymise", "birth_year"}
PERIOD_PATTERNS = {
    "stichtag": re.compile(r"^(\d{4})-12-31$"),
    "year": re.compile(r"^(\d{4})$"),
    "month": re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
}
PERIOD_FORMAT_DE = {"stichtag": "JJJJ-12-31", "year": "JJJJ", "month": "JJJJ-MM"}


@dataclass(frozen=True)
class Column:
    name: str
    description_de: str
    handling: str = "keep"
    required: bool = False
    type: str = "text"
    pattern: str | None = None
    codes: tuple[str, ...] | None = None
    reference: str | None = None
    not_after_period_end: bool = False


@dataclass(frozen=True)
class RowRule:
    rule: str
    column: str
    message_de: str
    violation_sql: str


CADENCES = {"monthly": "monatlich", "yearly": "jährlich", "on_change": "bei Änderung"}


@dataclass(frozen=True)
class DeliveryCalendar:
    """When the next delivery is due: `due_days` after the end of its period, with `grace_days`
    of tolerance before it counts as overdue (dagster_project/ingest/freshness.py)."""
    cadence: str            # monthly, yearly, on_change (never overdue)
    due_days: int = 0
    grace_days: int = 0
    description_de: str = ""

    @property
    def cadence_de(self) -> str:
        return CADENCES[self.cadence]


@dataclass(frozen=True)
class Contract:
    register: str
    title_de: str
    period_kind: str
    raw_table: str
    file_extension: str
    format_de: str
    columns: tuple[Column, ...]
    unique_key: tuple[str, ...] = ()
    row_rules: tuple[RowRule, ...] = ()
    period_check: dict = field(default_factory=dict)
    sheet: str | None = None       # XLSX deliveries: the sheet that holds the table
    delivery: DeliveryCalendar = DeliveryCalendar("on_change")

    @property
    def header(self) -> list[str]:
        """The delivery's header: the contract's column names, or the city's own names where its
        profile maps them (cities/<name>/city.yml, column_names); the columns keep their order."""
        profile = city_profile.current()
        return [profile.delivery_header(self.register, c.name) for c in self.columns]

    @property
    def kept_columns(self) -> list[Column]:
        return [c for c in self.columns if c.handling != "drop"]

    @property
    def dropped_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.handling == "drop"]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _load(path: Path) -> Contract:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    columns = []
    for raw in data["columns"]:
        raw = dict(raw)
        if "codes" in raw:
            raw["codes"] = tuple(str(c) for c in raw["codes"])
        column = Column(**raw)
        if column.handling not in HANDLINGS:
            raise ValueError(f"{path.name}: unknown handling {column.handling!r} for {column.name}")
        columns.append(column)
    if data["period_kind"] not in PERIOD_PATTERNS:
        raise ValueError(f"{path.name}: unknown period_kind {data['period_kind']!r}")
    if "delivery" not in data:
        raise ValueError(f"{path.name}: no delivery calendar (delivery: cadence, due_days, grace_days)")
    delivery = DeliveryCalendar(**data["delivery"])
    if delivery.cadence not in CADENCES:
        raise ValueError(f"{path.name}: unknown delivery cadence {delivery.cadence!r}")
    return Contract(
        register=data["register"],
        title_de=data["title_de"],
        period_kind=data["period_kind"],
        raw_table=data["raw_table"],
        file_extension=data["file_extension"],
        format_de=data["format_de"],
        columns=tuple(columns),
        unique_key=tuple(data.get("unique_key", ())),
        row_rules=tuple(RowRule(**r) for r in data.get("row_rules", ())),
        period_check=data.get("period_check", {}),
        sheet=data.get("sheet"),
        delivery=delivery,
    )


@cache
def load_contracts() -> dict[str, Contract]:
    """All register contracts, keyed by register name (the file prefix of its deliveries)."""
    contracts = {}
    for path in sorted(CONTRACT_DIR.glob("*.yml")):
        contract = _load(path)
        contracts[contract.register] = contract
    return contracts


def _seed_column(file_name: str, column: str) -> frozenset[str]:
    with (SEED_DIR / file_name).open(encoding="utf-8", newline="") as handle:
        return frozenset(row[column] for row in csv.DictReader(handle))


@cache
def reference_codes() -> dict[str, frozenset[str]]:
    """Code lists that contract columns refer to, read from the dbt seeds (one source of truth)."""
    return {
        "nationality": _seed_column("ref_nationalities.csv", "nationality_code"),
        # the lowest-level areas of the city profile DFT_CITY selects (cities/<name>/seeds/ref_areas.csv)
        "area": city_profile.current().lowest_codes(),
        "field_of_action": _seed_column("../planning/fields_of_action.csv", "field_of_action_id"),
    }
