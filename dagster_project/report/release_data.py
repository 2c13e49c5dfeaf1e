"""What the planners' report reads: one release folder, nothing else.

The report never opens the internal warehouse: every number it shows comes from the released marts
(`warehouse.duckdb` of the release, opened read-only), so it has passed the quality gate and
statistical disclosure control. `ReleaseData` holds the marts the pages need as DataFrames, the
manifest (release id, date, gate status) and a few lookups.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import duckdb
import pandas as pd

from dagster_project.report.hierarchy import Hierarchy

MARTS = (
    "dim_area", "dim_indicator", "dim_time_series_break", "dim_suppression_rule", "dim_monitoring_measure",
    "dim_monitoring_group", "dim_field_of_action", "dim_goal", "dim_measure", "dim_target_group", "dim_funder",
    "fct_indicator_values", "fct_area_profile", "fct_social_index", "fct_immigration_monitoring", "fct_immigration_retention",
    "fct_municipal_comparison", "fct_goal_achievement", "fct_measure_coverage", "fct_measure_gaps",
    "fct_measure_overlaps", "fct_funding_programmes",
)
# code column of an export -> (label table, its code column, its German name column)
CODE_NAMES = {
    "field_of_action_id": ("dim_field_of_action", "field_of_action_id", "field_of_action_de"),
    "target_group": ("dim_target_group", "target_group", "target_group_de"),
    "funder": ("dim_funder", "funder", "funder_de"),
    "indicator_id": ("dim_indicator", "indicator_id", "label_de"),
    "need_indicator_id": ("dim_indicator", "indicator_id", "label_de"),
}


class ReleaseNotReadable(RuntimeError):
    """The folder is not a published release (or lacks a mart the report needs)."""


@dataclass
class ReleaseData:
    folder: Path
    manifest: dict
    marts: dict[str, pd.DataFrame]

    @classmethod
    def open(cls, folder: Path) -> "ReleaseData":
        folder = Path(folder)
        database, manifest_file = folder / "warehouse.duckdb", folder / "manifest.json"
        if not database.is_file() or not manifest_file.is_file():
            raise ReleaseNotReadable(f"{folder}: kein Release (warehouse.duckdb und manifest.json fehlen). "
                                     "Erst `make run` ausführen.")
        con = duckdb.connect(str(database), read_only=True)
        try:
            present = {r[0] for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()}
            missing = [m for m in MARTS if m not in present]
            if missing:
                raise ReleaseNotReadable(f"{database}: dem Release fehlen Marts für den Bericht: {', '.join(missing)}")
            marts = {name: con.execute(f'SELECT * FROM marts."{name}"').df() for name in MARTS}
        finally:
            con.close()
        return cls(folder, json.loads(manifest_file.read_text(encoding="utf-8")), marts)

    # -- lookups ----------------------------------------------------------------------------
    @property
    def release_id(self) -> str:
        return self.manifest["release_id"]

    @property
    def values(self) -> pd.DataFrame:
        return self.marts["fct_indicator_values"]

    @cached_property
    def series_index(self) -> dict[tuple[str, str, str], pd.DataFrame]:
        """Every time series of the indicator mart by (indicator, area level, area code), by year."""
        ordered = self.values.sort_values("reference_year")
        return {key: frame.set_index("reference_year", drop=False)
                for key, frame in ordered.groupby(["indicator_id", "area_level", "area_code"], sort=False)}

    @cached_property
    def level_index(self) -> dict[tuple[str, str, int], pd.DataFrame]:
        """Every indicator's values of one area level in one year, by (indicator, level, year)."""
        return {(i, level, int(year)): frame for (i, level, year), frame
                in self.values.groupby(["indicator_id", "area_level", "reference_year"], sort=False)}

    def cross_section(self, indicator_id: str, level: str, year: int) -> pd.DataFrame:
        """All areas of `level` for one indicator and year (empty if none)."""
        return self.level_index.get((indicator_id, level, int(year)), self.values.iloc[0:0])

    def published(self, indicator_id: str, level: str, year: int) -> tuple[dict[str, float], frozenset[str], int]:
        """One indicator and year at one level: the published values by area code, the codes whose
        value is suppressed, and how many areas the level has values for (cached: the profiles ask
        for the same cross-section 75 times)."""
        key = (indicator_id, level, int(year))
        cache = self.__dict__.setdefault("_published", {})
        if key not in cache:
            peers = self.cross_section(*key)
            hidden = peers.is_suppressed.astype(bool)
            shown = peers[~hidden & peers.indicator_value.notna()]
            cache[key] = (dict(zip(shown.area_code, shown.indicator_value.astype(float))),
                          frozenset(peers.area_code[hidden]), len(peers))
        return cache[key]

    def series(self, indicator_id: str, level: str, code: str) -> pd.DataFrame:
        """One area's values of one indicator, indexed by reference year (empty if none)."""
        found = self.series_index.get((indicator_id, level, code))
        return found if found is not None else self._no_series

    @cached_property
    def _no_series(self) -> pd.DataFrame:
        return self.values.iloc[0:0].set_index("reference_year", drop=False)

    def with_names(self, table):
        """`table` (exports.Table) with code columns replaced by the German names of the label tables."""
        from dataclasses import replace

        frame = table.frame.copy()
        for column, (mart, code, name) in CODE_NAMES.items():
            if column in frame.columns and mart in self.marts:
                names = dict(zip(self.marts[mart][code], self.marts[mart][name]))
                frame[column] = frame[column].map(lambda value: names.get(value, value))
        return replace(table, frame=frame)

    @property
    def latest_year(self) -> int:
        return int(self.values.reference_year.max())

    @property
    def years(self) -> list[int]:
        return sorted(int(y) for y in self.values.reference_year.unique())

    @property
    def indicators(self) -> pd.DataFrame:
        return self.marts["dim_indicator"]

    def indicator(self, indicator_id: str) -> dict:
        return self.indicators.set_index("indicator_id").loc[indicator_id].to_dict() | {"indicator_id": indicator_id}

    @cached_property
    def hierarchy(self) -> Hierarchy:
        """The levels of the city profile and the released areas (report/hierarchy.py)."""
        return Hierarchy(self.marts["dim_area"])

    @cached_property
    def areas(self) -> pd.DataFrame:
        """dim_area ordered from the city down to the lowest level, by code within a level; sorted
        once (it is read hundreds of times a report)."""
        areas = self.marts["dim_area"]
        return areas.assign(_order=areas.area_level.map(self.hierarchy.order)).sort_values(
            ["_order", "area_code"]).drop(columns="_order").reset_index(drop=True)

    def city(self) -> dict:
        return self.areas[self.areas.area_level == "city"].iloc[0].to_dict()

    @property
    def social_index_year(self) -> int:
        index = self.marts["fct_social_index"]
        return int(index.reference_year.max()) if len(index) else self.latest_year

    @cached_property
    def social_index_latest(self) -> pd.DataFrame:
        """The social index of its latest year, one row per lowest-level area (unclassified where
        the index has no row, e.g. in the first year of the deliveries: no change to a year before),
        its code in the column `area_code`."""
        index = self.marts["fct_social_index"]
        year = self.social_index_year
        lowest = self.hierarchy.lowest
        districts = self.areas[self.areas.area_level == lowest][["area_code", "area_name"]]
        rows = index[index.reference_year == year].drop(columns=["area_name"]).rename(
            columns={self.hierarchy.code_column(lowest): "area_code"})
        out = districts.merge(rows, on="area_code", how="left")
        out["reference_year"] = year
        out["is_classified"] = out.is_classified.fillna(False).astype(bool)
        return out.sort_values("area_code").reset_index(drop=True)

    def gate_passed(self) -> bool:
        checks = self.manifest.get("pruefungen") or []
        return all(c.get("success") or c.get("severity") != "critical" for c in checks)

    def breaks_for(self, indicator_id: str) -> pd.DataFrame:
        breaks = self.marts["dim_time_series_break"]
        hit = breaks.affected_indicator_ids.fillna("").map(
            lambda ids: indicator_id in [i.strip() for i in ids.split(",")])
        return breaks[hit]
