"""The area hierarchy as the report sees it: the levels of the city profile (cities/<name>/city.yml)
and the released areas (dim_area with its parents). No page names a level itself: it asks here.

Levels run from the lowest (the areas the registers name; Dortmund: statistical districts) up to
the city. Labels and plurals come from the profile, the areas and their parents from the release;
a release whose levels are not the profile's is refused (the report would mislabel it).
"""

from __future__ import annotations

from functools import cached_property

import pandas as pd

from dagster_project import city_profile

CITY = city_profile.CITY_LEVEL
CITY_SLUG = "stadt"
CITY_LABEL_DE = "Stadt"   # the report's word for the city level (dim_area: Gesamtstadt)


class Hierarchy:
    def __init__(self, areas: pd.DataFrame, profile: city_profile.CityProfile | None = None) -> None:
        self.profile = profile or city_profile.current()
        self.areas = areas
        released = set(areas.area_level)
        expected = set(self.profile.level_ids)
        if released != expected:
            raise ValueError(f"Das Release hat die Gebietsebenen {', '.join(sorted(released))}, das Stadtprofil "
                             f"{self.profile.key} aber {', '.join(sorted(expected))}: DFT_CITY passt nicht zum Release.")

    # --- levels ------------------------------------------------------------------------------
    @property
    def level_ids(self) -> tuple[str, ...]:
        """Lowest level first, the city last."""
        return self.profile.level_ids

    @property
    def lowest(self) -> str:
        return self.level_ids[0]

    @property
    def top(self) -> str:
        """The level just below the city."""
        return self.level_ids[-2]

    @property
    def upper(self) -> tuple[str, ...]:
        """The levels between the lowest and the city, top first."""
        return tuple(reversed(self.level_ids[1:-1]))

    def parent_level(self, level: str) -> str | None:
        return self.profile.parent_level(level)

    def order(self, level: str) -> int:
        """0 for the city, 1 for the top level, ... (the order tables list levels in)."""
        return len(self.level_ids) - 1 - self.level_ids.index(level)

    def label(self, level: str) -> str:
        return CITY_LABEL_DE if level == CITY else self.profile.label_de(level)

    def plural(self, level: str) -> str:
        return CITY_LABEL_DE if level == CITY else self.profile.plural_de(level)

    def plural_dative(self, level: str) -> str:
        return CITY_LABEL_DE if level == CITY else self.profile.level(level).plural_dative_de

    def in_(self, level: str) -> str:
        """The level with its preposition and article, e.g. "im …", "in der …" (the profile's in_de)."""
        return "in der Stadt" if level == CITY else self.profile.level(level).in_de

    def of(self, level: str) -> str:
        """The level in the genitive, e.g. "des …s", "der …" (the profile's of_de)."""
        return "der Stadt" if level == CITY else self.profile.level(level).of_de

    def slug(self, level: str) -> str:
        return CITY_SLUG if level == CITY else self.profile.level(level).slug

    def code_column(self, level: str) -> str:
        return self.profile.level(level).code_column

    @cached_property
    def label_map(self) -> dict[str, str]:
        return {level: self.label(level) for level in self.level_ids}

    # --- areas ---------------------------------------------------------------------------------
    @cached_property
    def _by_key(self) -> dict[tuple[str, str], dict]:
        return {(a["area_level"], a["area_code"]): a for a in self.areas.to_dict("records")}

    @cached_property
    def _children(self) -> dict[tuple[str, str], list[dict]]:
        out: dict[tuple[str, str], list[dict]] = {}
        for area in sorted(self._by_key.values(), key=lambda a: a["area_code"]):
            if pd.notna(area.get("parent_area_level")):
                out.setdefault((area["parent_area_level"], area["parent_area_code"]), []).append(area)
        return out

    def of_level(self, level: str) -> list[dict]:
        return sorted((a for a in self._by_key.values() if a["area_level"] == level), key=lambda a: a["area_code"])

    def city(self) -> dict:
        return self.of_level(CITY)[0]

    def area(self, level: str, code: str) -> dict:
        return self._by_key[(level, code)]

    def parent(self, area: dict) -> dict | None:
        if pd.isna(area.get("parent_area_level")) or area.get("parent_area_level") == CITY:
            return None
        return self._by_key[(area["parent_area_level"], area["parent_area_code"])]

    def ancestors(self, area: dict) -> list[dict]:
        """The areas above `area` up to the top level (nearest first; the city not included)."""
        out, current = [], self.parent(area)
        while current is not None:
            out.append(current)
            current = self.parent(current)
        return out

    def children(self, area: dict) -> list[dict]:
        if area["area_level"] == CITY:
            return self.of_level(self.top)
        return self._children.get((area["area_level"], area["area_code"]), [])

    def lowest_members(self, area: dict) -> set[str]:
        """The codes of the lowest-level areas `area` consists of (itself, if it is one)."""
        if area["area_level"] == self.lowest:
            return {area["area_code"]}
        if area["area_level"] == CITY:
            return {a["area_code"] for a in self.of_level(self.lowest)}
        out: set[str] = set()
        for child in self.children(area):
            out |= self.lowest_members(child)
        return out

    def descendants(self, area: dict) -> list[tuple[dict, int]]:
        """Every area below `area`, depth first in code order, with its depth below it (1 =
        its children)."""
        out: list[tuple[dict, int]] = []
        for child in self.children(area):
            out.append((child, 1))
            out += [(below, depth + 1) for below, depth in self.descendants(child)]
        return out

    def tree(self) -> list[tuple[dict, int]]:
        """Every area but the city, depth first in code order, with its depth (1 = top level)."""
        return self.descendants({"area_level": CITY, "area_code": None})

    # --- names ---------------------------------------------------------------------------------
    def compared_name(self, area: dict) -> str:
        """An area's name where areas of several levels stand side by side (table headers, chart
        legends): areas often share names with the area above them (Dortmund's district 730
        Lütgendortmund lies in the city district of the same name), so the code or the level tells
        them apart."""
        if area["area_level"] == self.lowest:
            return f"{area['area_code']} {area['area_name']}"
        if area["area_level"] == CITY:
            return area["area_name"]
        return f"{self.label(area['area_level'])} {area['area_name']}"

    def words(self, names: list[str]) -> str:
        """"A, B und C"."""
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " und " + names[-1]

    def title(self, area: dict) -> str:
        if area["area_level"] == CITY:
            return f"Gebietsprofil {area['area_name']} (Gesamtstadt)"
        return f"{self.label(area['area_level'])} {area['area_code']} {area['area_name']}"
