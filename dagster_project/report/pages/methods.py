"""Methodik: where the numbers come from, what `•` means, how the maps are drawn."""

from __future__ import annotations

TITLE = "Methodik"


def build(site) -> None:
    data = site.data
    rules = data.marts["dim_suppression_rule"].to_dict("records")
    breaks = [b | {"affected_de": site.indicator_names(b["affected_indicator_ids"])}
              for b in data.marts["dim_time_series_break"].to_dict("records")]
    h = data.hierarchy
    levels = []
    for level in h.level_ids[:-1][::-1]:
        areas = h.of_level(level)
        example = areas[0]
        levels.append({"label": h.label(level), "plural": h.plural(level), "count": len(areas),
                       "digits": sorted({len(a["area_code"]) for a in areas}),
                       "example": f"{example['area_code']} {example['area_name']}",
                       "parent": h.label(h.parent_level(level)) if h.parent_level(level) != "city" else "Stadt"})
    site.write_page("methodik.html", "methods.html.j2", "Methodik und Hinweise", site.footnotes(), "methodik.html",
                    None, rules=rules, breaks=breaks, schematic=site.map.schematic,
                    indicators=data.indicators.to_dict("records"), levels=levels)
