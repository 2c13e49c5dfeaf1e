"""Disclosure control for the indicator fact.

Primary suppression: counts of 1 or 2; rates whose denominator is under 100 or whose numerator is
1 or 2 (for differences: their absolute value). Zeros stay zeros. A suppressed cell hides its
value, numerator and denominator.

Secondary suppression, for additive indicators: within every group that adds up to a released
total (the statistical districts of a city district, the city districts of the city), either no
or at least two cells with a non-zero numerator are suppressed; a suppressed total has at least
one suppressed part. The smallest non-zero released sibling is suppressed where needed. A cell
suppressed in one indicator is suppressed in every indicator with the same numerator (so the
count cannot be taken from another indicator). Repeated until nothing changes.

Why no library: the PyPI packages for statistical disclosure control are micro-data tools (or
wrappers of R's sdcMicro / Java's tau-argus, which this closed network cannot run); the rules
here are the office's own and fit in a page that an auditor can read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

RULES_FILE = Path(__file__).with_name("disclosure_rules.yml")

RULE_COUNT = "zaehlwert_1_oder_2"
RULE_DENOMINATOR = "nenner_unter_100"
RULE_NUMERATOR = "zaehler_1_oder_2"
RULE_SECONDARY = "sekundaer"
RULE_SAME_NUMERATOR = "sekundaer_gleicher_zaehler"
RULE_LABELS_DE = {
    RULE_COUNT: "Fallzahl 1 oder 2",
    RULE_DENOMINATOR: "Nenner unter 100",
    RULE_NUMERATOR: "Zähler 1 oder 2",
    RULE_SECONDARY: "Sekundärsperrung (sonst durch Differenzbildung rückrechenbar)",
    RULE_SAME_NUMERATOR: "Sekundärsperrung (gleicher Zähler in einem anderen Indikator gesperrt)",
}


@dataclass(frozen=True)
class DisclosureRules:
    min_count: int = 3
    min_rate_denominator: float = 100
    min_rate_numerator: int = 3
    secondary_suppression: bool = True

    @classmethod
    def load(cls, path: Path = RULES_FILE) -> "DisclosureRules":
        return cls(**yaml.safe_load(path.read_text(encoding="utf-8")))


def primary_rule(numerator: pd.Series, denominator: pd.Series, rules: DisclosureRules) -> np.ndarray:
    """The primary rule each cell breaks, or None (an object array: pandas would turn None into NaN)."""
    size = numerator.abs().to_numpy()
    is_count = denominator.isna().to_numpy()
    small = (size > 0) & (size < rules.min_count)
    small_numerator = (size > 0) & (size < rules.min_rate_numerator)
    small_denominator = ~is_count & (denominator.fillna(0).to_numpy() < rules.min_rate_denominator)
    rule = np.full(len(size), None, dtype=object)
    rule[is_count & small] = RULE_COUNT
    rule[~is_count & small_numerator] = RULE_NUMERATOR
    rule[small_denominator] = RULE_DENOMINATOR
    return rule


def _groups(areas: pd.DataFrame) -> list[tuple[str, str, str, list[str]]]:
    """(parent level, parent code, child level, child codes) for every total in the hierarchy."""
    groups = []
    children = areas[areas.parent_area_level.notna()]
    for (level, code), part in children.groupby(["parent_area_level", "parent_area_code"]):
        child_level = part.area_level.iloc[0]
        groups.append((level, code, child_level, sorted(part.area_code)))
    return groups


def apply_disclosure_control(values: pd.DataFrame, areas: pd.DataFrame, catalogue: pd.DataFrame,
                             rules: DisclosureRules) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Released copy of the indicator fact (suppressed cells nulled and flagged) and the log of
    suppressed cells (indicator, area, year, rule)."""
    df = values.copy().reset_index(drop=True)
    rule = primary_rule(df.numerator, df.denominator, rules)
    if rules.secondary_suppression:
        _secondary(df, rule, areas, catalogue)
    suppressed = pd.Series([r is not None for r in rule], index=df.index)
    df["suppression_rule"] = pd.Series(rule, index=df.index, dtype="object")
    log = df.loc[suppressed, ["indicator_id", "area_level", "area_code", "reference_year", "suppression_rule"]]
    df["is_suppressed"] = suppressed
    for column in ("numerator", "denominator", "indicator_value"):
        df.loc[suppressed, column] = np.nan
    return df, log.reset_index(drop=True)


def _secondary(df: pd.DataFrame, rule: np.ndarray, areas: pd.DataFrame, catalogue: pd.DataFrame) -> None:
    """Adds secondary suppressions to `rule` (in place) until nothing changes."""
    additive = set(catalogue.loc[catalogue.is_additive, "indicator_id"])
    numerator_of = dict(zip(catalogue.indicator_id, catalogue.numerator_de))
    same_numerator = {i: [j for j in numerator_of if numerator_of[j] == numerator_of[i] and j != i]
                      for i in numerator_of}
    groups = _groups(areas)
    index = {key: i for i, key in enumerate(zip(df.indicator_id, df.area_level, df.area_code, df.reference_year))}
    numerator = df.numerator.to_numpy()
    denominator = df.denominator.fillna(0).to_numpy()
    # plain arrays: element access on a Series costs microseconds, and this loop makes many
    indicator_ids, area_levels = df.indicator_id.to_numpy(), df.area_level.to_numpy()
    area_codes, reference_years = df.area_code.to_numpy(), df.reference_year.to_numpy()
    years = sorted(df.reference_year.unique())

    def suppress(i: int, why: str) -> bool:
        if rule[i] is not None:
            return False
        rule[i] = why
        return True

    changed = True
    while changed:
        changed = False
        for indicator in additive:
            for year in years:
                for parent_level, parent_code, child_level, codes in groups:
                    parent = index.get((indicator, parent_level, parent_code, year))
                    rows = [index[k] for k in ((indicator, child_level, c, year) for c in codes) if k in index]
                    if parent is None or not rows:
                        continue
                    hidden = [i for i in rows if rule[i] is not None]
                    hidden_nonzero = [i for i in hidden if numerator[i] != 0]
                    open_nonzero = sorted((i for i in rows if rule[i] is None and numerator[i] != 0),
                                          key=lambda i: (abs(numerator[i]), denominator[i], area_codes[i]))
                    need = (rule[parent] is None and len(hidden_nonzero) == 1) or \
                           (rule[parent] is not None and not hidden and rows)
                    if not need:
                        continue
                    if open_nonzero:
                        changed |= suppress(open_nonzero[0], RULE_SECONDARY)
                    elif rule[parent] is None:
                        changed |= suppress(parent, RULE_SECONDARY)
        # the same count must be hidden wherever it is the numerator
        for i in [i for i, r in enumerate(rule) if r is not None]:
            indicator, level, code, year = indicator_ids[i], area_levels[i], area_codes[i], reference_years[i]
            for other in same_numerator.get(indicator, []):
                j = index.get((other, level, code, year))
                if j is not None and rule[j] is None:
                    changed |= suppress(j, RULE_SAME_NUMERATOR)
