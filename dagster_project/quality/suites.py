"""The suites of the release gate, read from expectations/*.yml (see expectations/README.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from dagster_project import city_profile
from dagster_project.contracts import load_contracts
from dagster_project.settings import REPO_ROOT

CHECK_PREFIX = "gx_"   # asset check names (and so step keys <asset>_gx_<suite>) of the gate
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
SEVERITIES = ("critical", "warning", "info")


@dataclass(frozen=True)
class ExpectationSpec:
    type: str
    kwargs: dict
    severity: str
    beschreibung: str


@dataclass(frozen=True)
class Suite:
    """One suite, resolved for one asset (per-register suites are resolved per register)."""

    name: str
    title_de: str
    asset: str                  # e.g. "marts/fct_indicator_values" or "raw/einwohner"
    query: str
    expectations: tuple[ExpectationSpec, ...]
    source_file: str = ""
    register: str | None = None
    extra: dict = field(default_factory=dict)
    # a column of the suite's rows holding the delivery period ("2024-03", "2024-12-31"): the
    # rows of a year depend only on that year's deliveries, so a run may check only its years
    scope_column: str | None = None

    @property
    def check_name(self) -> str:
        return f"{CHECK_PREFIX}{self.name}"

    def query_for_years(self, first: int, last: int) -> str:
        """The suite's query limited to the deliveries of the reference years first..last (a range
        on the period text, which DuckDB pushes down to the raw files' row groups)."""
        if not self.scope_column:
            raise ValueError(f"{self.source_file}: die Prüfung {self.name} ist nicht nach Jahren teilbar.")
        column = self.scope_column
        return (f"select * from (\n{self.query}\n) as suite_rows\n"
                f"where {column} >= '{first:04d}' and {column} < '{last + 1:04d}'\norder by {column}")


def _load_file(path: Path) -> list[Suite]:
    data = yaml.safe_load(city_profile.render(path.read_text(encoding="utf-8")))
    expectations = []
    for raw in data["expectations"]:
        if raw["severity"] not in SEVERITIES:
            raise ValueError(f"{path.name}: severity must be one of {SEVERITIES}")
        expectations.append(ExpectationSpec(raw["type"], dict(raw.get("kwargs", {})), raw["severity"],
                                            raw["beschreibung"]))
    base = dict(name=data["name"], title_de=data["title_de"], expectations=tuple(expectations),
                source_file=str(path.relative_to(REPO_ROOT)), scope_column=data.get("scope_column"))
    if not data.get("per_register"):
        return [Suite(asset=data["asset"], query=data["query"], **base)]
    suites = []
    for register in load_contracts():
        params = {"register": register, **data.get("parameters", {}).get(register, {})}
        suites.append(Suite(asset=data["asset"].format(**params), query=data["query"].format(**params),
                            register=register, **base))
    return suites


@cache
def load_suites() -> tuple[Suite, ...]:
    suites: list[Suite] = []
    for path in sorted(EXPECTATIONS_DIR.glob("*.yml")):
        suites.extend(_load_file(path))
    return tuple(suites)
