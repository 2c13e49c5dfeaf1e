"""What goes into a release: the candidate marts after disclosure control.

The indicator fact is suppressed by the rules in disclosure.py; every other mart follows it (the
wide profile and the social index show exactly the released cells of the fact, goals show no
actual value where the indicator cell is hidden) or is suppressed like it (the immigration
monitoring and retention, treated as additive measures per group). Marts without person counts
(label tables, the comparison with published INKAR values, overlaps, funding) pass unchanged.
"""

from __future__ import annotations

import pandas as pd

from dagster_project.release.disclosure import DisclosureRules, apply_disclosure_control

# The count each monitoring measure has as its numerator (cells with the same numerator are
# suppressed together).
MONITORING_NUMERATOR = {
    "stock": "residents", "stock_change": "stock_change", "moves_in_abroad": "moves_in_abroad",
    "moves_out_abroad": "moves_out_abroad", "moves_in_germany": "moves_in_germany",
    "moves_out_germany": "moves_out_germany", "net_migration": "net_migration", "turnover_rate": "turnover",
    "share_minors": "minors", "share_school_age": "school_age", "sgb2_rate": "sgb2_under_65",
}
PROFILE_KEYS = ["area_level", "area_code", "reference_year"]
SUPPRESSED_SUFFIX = "_is_suppressed"


def released_profile(values: pd.DataFrame, profile: pd.DataFrame) -> pd.DataFrame:
    """The wide profile rebuilt from the released long fact, so both show the same cells, with a
    suppression flag per indicator column (`<indicator>_is_suppressed`)."""
    wide = values.pivot_table(index=PROFILE_KEYS, columns="indicator_id", values="indicator_value",
                              aggfunc="first", dropna=False)
    flags = values.pivot_table(index=PROFILE_KEYS, columns="indicator_id", values="is_suppressed",
                               aggfunc="first", dropna=False)
    indicators = [c for c in profile.columns if c not in {"area_name", "city_district_code", "city_district_name",
                                                           *PROFILE_KEYS}]
    flags = flags.reindex(columns=indicators).rename(columns=lambda c: c + SUPPRESSED_SUFFIX)
    out = profile[["area_name", "city_district_code", "city_district_name", *PROFILE_KEYS]].merge(
        wide.reset_index(), on=PROFILE_KEYS, how="left").merge(flags.reset_index(), on=PROFILE_KEYS, how="left")
    # no cell for an indicator (not delivered that year) is not a suppression
    for column in flags.columns:
        out[column] = out[column].astype("boolean").fillna(False).astype(bool)
    return out.reindex(columns=[*profile.columns, *flags.columns])


def released_social_index(index: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """Rates of the social index follow the suppression of the matching indicator cells."""
    out = index.copy()
    hidden = values[values.is_suppressed & (values.area_level == "statistical_district")]
    for indicator, columns in (("unemployment_sgb2_rate", ["s1_unemployment_sgb2_rate", "z_s1"]),
                               ("sgb2_child_rate", ["s3_sgb2_child_rate", "z_s3"])):
        keys = set(zip(hidden.loc[hidden.indicator_id == indicator, "area_code"],
                       hidden.loc[hidden.indicator_id == indicator, "reference_year"]))
        mask = [(c, y) in keys for c, y in zip(out.statistical_district_code, out.reference_year)]
        out.loc[mask, columns] = None
    small = out.residents < 100
    out.loc[small, ["s2_transfer_rate", "z_s2", "d2_change_transfer_pp", "z_d2"]] = None
    return out


def _suppress_long(frame: pd.DataFrame, measure: pd.Series, numerator_id: pd.Series, value_column: str,
                   year_column: str, areas: pd.DataFrame, rules: DisclosureRules) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Disclosure control for a long mart other than the indicator fact: each (measure) is treated
    like an additive indicator whose numerator is `numerator_id`."""
    work = pd.DataFrame({
        "indicator_id": measure.to_numpy(), "area_level": frame.area_level.to_numpy(),
        "area_code": frame.area_code.to_numpy(), "reference_year": frame[year_column].to_numpy(),
        "numerator": frame.numerator.to_numpy(), "denominator": frame.denominator.to_numpy(),
        "indicator_value": frame[value_column].to_numpy(),
    })
    catalogue = pd.DataFrame({"indicator_id": measure.unique()})
    numerator_of = dict(zip(measure, numerator_id))
    catalogue["numerator_de"] = catalogue.indicator_id.map(numerator_of)
    catalogue["is_additive"] = True
    released, log = apply_disclosure_control(work, areas, catalogue, rules)
    out = frame.copy().reset_index(drop=True)
    out[["numerator", "denominator", value_column]] = released[["numerator", "denominator", "indicator_value"]]
    out["is_suppressed"] = released.is_suppressed.to_numpy()
    out["suppression_rule"] = released.suppression_rule.to_numpy()
    return out, log


def _released_planning(marts: dict, values: pd.DataFrame, rules: DisclosureRules) -> tuple[dict, list]:
    """The planning marts on their way into the release."""
    areas = marts["dim_area"]
    monitoring = marts["fct_immigration_monitoring"].reset_index(drop=True)
    group = monitoring.monitoring_group
    monitoring, log_monitoring = _suppress_long(
        monitoring, monitoring.measure_id + "|" + group, monitoring.measure_id.map(MONITORING_NUMERATOR) + "|" + group,
        "measure_value", "reference_year", areas, rules)
    retention = marts["fct_immigration_retention"].rename(columns={"cohort_size": "denominator", "retained": "numerator"})
    key = "retention_" + retention.years_after.astype(str) + "|" + retention.monitoring_group
    retention, log_retention = _suppress_long(retention, key, key, "retention_share", "cohort_year", areas, rules)
    retention = retention.rename(columns={"denominator": "cohort_size", "numerator": "retained"})
    # goals: no actual value where the indicator cell is suppressed
    hidden = set(zip(*[values.loc[values.is_suppressed, c] for c in
                       ("indicator_id", "area_level", "area_code", "reference_year")]))
    goals = marts["fct_goal_achievement"].copy()
    mask = [k in hidden for k in zip(goals.indicator_id, goals.area_level, goals.area_code, goals.reference_year)]
    goals.loc[mask, ["actual_value", "progress_pct"]] = None
    goals.loc[mask, "goal_status"] = "keine Daten"
    # coverage: target groups of 1 or 2 persons are not shown, nor the budget per person then
    coverage = marts["fct_measure_coverage"].copy()
    small = coverage.target_group_size.between(1, rules.min_count - 1)
    coverage.loc[small, ["target_group_size", "budget_per_target_resident_eur"]] = None
    gaps = marts["fct_measure_gaps"].copy()
    hidden_need = [k in hidden for k in zip(gaps.need_indicator_id, ["statistical_district"] * len(gaps),
                                            gaps.statistical_district_code, gaps.reference_year)]
    gaps.loc[hidden_need, "need_value"] = None
    released = {
        "fct_immigration_monitoring": monitoring, "fct_immigration_retention": retention,
        "fct_goal_achievement": goals, "fct_measure_coverage": coverage, "fct_measure_gaps": gaps,
    }
    log_monitoring["mart"] = "fct_immigration_monitoring"
    log_retention["mart"] = "fct_immigration_retention"
    return released, [log_monitoring, log_retention]


def released_marts(marts: dict[str, pd.DataFrame], catalogue: pd.DataFrame,
                   rules: DisclosureRules) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Every mart as it is released, and the log of every suppressed cell (mart, key, rule)."""
    values, suppressed = apply_disclosure_control(marts["fct_indicator_values"], marts["dim_area"], catalogue, rules)
    planning, planning_logs = _released_planning(marts, values, rules)
    released = {
        **marts,  # label tables and marts without person counts pass unchanged
        "fct_indicator_values": values,
        "fct_area_profile": released_profile(values, marts["fct_area_profile"]),
        "fct_social_index": released_social_index(marts["fct_social_index"], values),
        **planning,
    }
    suppressed["mart"] = "fct_indicator_values"
    return released, pd.concat([suppressed, *planning_logs], ignore_index=True)
