"""What goes into a release: the candidate marts after disclosure control.

The long marts that show counts (indicator fact, immigration monitoring, retention) get primary
suppression by the rules of disclosure.py, then secondary suppression across every relation
between them (secondary_suppression.py) until the attacker's audit finds no primary cell
exposed. The marts that show cells of the indicator fact follow it (the wide profile, goals and
gaps; the social index by its own rule, released_social_index). Marts without person counts
(label tables, the comparison with published INKAR values, overlaps, funding) pass unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dagster_project import city_profile
from dagster_project.release.attacker_audit import AuditResult, audit
from dagster_project.release.disclosure import RULE_SECONDARY, DisclosureRules, apply_disclosure_control
from dagster_project.release.accounting import accounting_problems
from dagster_project.release.published_model import (DisclosureModelIncomplete, PublishedModel, build_model,
                                                     check_relations, relations_config)
from dagster_project.release.secondary_suppression import Protection, protect

PROFILE_KEYS = ["area_level", "area_code", "reference_year"]
SUPPRESSED_SUFFIX = "_is_suppressed"


def released_profile(values: pd.DataFrame, profile: pd.DataFrame) -> pd.DataFrame:
    """The wide profile rebuilt from the released long fact, so both show the same cells, with a
    suppression flag per indicator column (`<indicator>_is_suppressed`)."""
    wide = values.pivot_table(index=PROFILE_KEYS, columns="indicator_id", values="indicator_value",
                              aggfunc="first", dropna=False)
    flags = values.pivot_table(index=PROFILE_KEYS, columns="indicator_id", values="is_suppressed",
                               aggfunc="first", dropna=False)
    top = city_profile.current().top
    indicators = [c for c in profile.columns if c not in {"area_name", top.code_column, top.name_column, *PROFILE_KEYS}]
    flags = flags.reindex(columns=indicators).rename(columns=lambda c: c + SUPPRESSED_SUFFIX)
    out = profile[["area_name", top.code_column, top.name_column, *PROFILE_KEYS]].merge(
        wide.reset_index(), on=PROFILE_KEYS, how="left").merge(flags.reset_index(), on=PROFILE_KEYS, how="left")
    # no cell for an indicator (not delivered that year) is not a suppression
    for column in flags.columns:
        out[column] = out[column].astype("boolean").fillna(False).astype(bool)
    return out.reindex(columns=[*profile.columns, *flags.columns])


# Not released: from two published pairs (rate, z-value) a reader gets the mean and standard
# deviation of the year, and with them the sum and the sum of squares of the suppressed rates (a
# differencing attack the linear audit cannot bound). Classes and rates are released.
SOCIAL_INDEX_UNRELEASED = ["z_s1", "z_s2", "z_s3", "z_d1", "z_d2", "z_d3", "status_index", "dynamics_index"]


def social_index_cells(index: pd.DataFrame) -> pd.DataFrame:
    """S2 (transfer receipt per 100 residents) as a long mart of its own for disclosure control:
    its numerator, the transfer recipients, is published nowhere else, so S2 is a cell of the
    published model (numerator from the rate and the residents, denominator the residents)."""
    lowest = city_profile.current().lowest
    out = index[[lowest.code_column, "reference_year", "residents", "s2_transfer_rate"]].reset_index(drop=True)
    return pd.DataFrame({
        "measure": "s2_transfer_rate", "area_level": lowest.id,
        "area_code": out[lowest.code_column], "reference_year": out.reference_year,
        "numerator": (out.s2_transfer_rate * out.residents / 100).round(),
        "denominator": out.residents.astype(float), "s2_transfer_rate": out.s2_transfer_rate})


def released_social_index(index: pd.DataFrame, values: pd.DataFrame, rules: DisclosureRules,
                          s2_cells: pd.DataFrame | None = None) -> pd.DataFrame:
    """The social index as released: the residents, S1 and S3 follow the indicator cells they are;
    S2 is a cell of the published model (`s2_cells`, after disclosure control); a change D is
    suppressed where the rate of either year is; z-values and index values are not released."""
    out = index.copy().reset_index(drop=True)
    cells = values.set_index(["indicator_id", "area_level", "area_code", "reference_year"])
    lowest = city_profile.current().lowest
    district, codes = [lowest.id] * len(out), out[lowest.code_column]

    def fact(indicator: str, column: str, offset: int = 0) -> pd.Series:
        keys = list(zip([indicator] * len(out), district, codes, out.reference_year + offset))
        return cells[column].reindex(keys).reset_index(drop=True)

    for indicator, rate, change in (("unemployment_sgb2_rate", "s1_unemployment_sgb2_rate", "d1_change_unemployment_pp"),
                                    ("sgb2_child_rate", "s3_sgb2_child_rate", "d3_change_child_rate_pp")):
        hidden_now = fact(indicator, "is_suppressed").fillna(False).astype(bool)
        hidden_before = fact(indicator, "is_suppressed", -2).fillna(False).astype(bool)
        out.loc[hidden_now, rate] = None
        out.loc[hidden_now | hidden_before, change] = None
    if s2_cells is not None:
        hidden = s2_cells.set_index(["area_code", "reference_year"]).is_suppressed.astype(bool)
        now = hidden.reindex(list(zip(codes, out.reference_year))).to_numpy()
        before = hidden.reindex(list(zip(codes, out.reference_year - 2)))
        out.loc[now == True, "s2_transfer_rate"] = None   # noqa: E712 (NaN: no such row)
        # a change with a year two before that is not released itself falls back to the rule below
        out.loc[(now == True) | (before == True).to_numpy(), "d2_change_transfer_pp"] = None   # noqa: E712
        unreleased_before = before.isna().to_numpy()
    else:
        unreleased_before = np.ones(len(out), dtype=bool)
    # transfer recipients now and two years before, from the unrounded rates and the residents
    residents_before = fact("residents", "numerator", -2)
    recipients_now = (out.s2_transfer_rate * out.residents / 100).round()
    recipients_before = ((out.s2_transfer_rate - out.d2_change_transfer_pp) * residents_before / 100).round()
    sensitive_now = (out.residents < rules.min_rate_denominator) | recipients_now.between(1, rules.min_count - 1)
    sensitive_before = (residents_before < rules.min_rate_denominator) | \
        recipients_before.between(1, rules.min_count - 1) | residents_before.isna()
    out.loc[sensitive_now, "s2_transfer_rate"] = None
    out.loc[sensitive_now | (sensitive_before & unreleased_before), "d2_change_transfer_pp"] = None
    # the residents are the fact's residents cell (the same count: hidden with it)
    out.loc[fact("residents", "is_suppressed").fillna(False).astype(bool).to_numpy(), "residents"] = None
    return out.drop(columns=SOCIAL_INDEX_UNRELEASED)


def _suppress_long(frame: pd.DataFrame, measure: pd.Series, value_column: str, year_column: str,
                   rules: DisclosureRules) -> pd.DataFrame:
    """Primary suppression of a long mart other than the indicator fact, by the same rules."""
    work = pd.DataFrame({
        "indicator_id": measure.to_numpy(), "area_level": frame.area_level.to_numpy(),
        "area_code": frame.area_code.to_numpy(), "reference_year": frame[year_column].to_numpy(),
        "numerator": frame.numerator.to_numpy(), "denominator": frame.denominator.to_numpy(),
        "indicator_value": frame[value_column].to_numpy(),
    })
    released, _ = apply_disclosure_control(work, rules)
    out = frame.copy().reset_index(drop=True)
    out[["numerator", "denominator", value_column]] = released[["numerator", "denominator", "indicator_value"]]
    out["is_suppressed"] = released.is_suppressed.to_numpy()
    out["suppression_rule"] = released.suppression_rule.to_numpy()
    return out


LONG_MARTS = {   # long marts whose cells show counts, with the column of their value
    "fct_indicator_values": "indicator_value",
    "fct_immigration_monitoring": "measure_value",
    "fct_immigration_retention": "retention_share",
    "fct_measure_coverage": "budget_per_target_resident_eur",
    "fct_social_index": "s2_transfer_rate",
}
# Retention is released at the levels where it carries information, every level above the lowest:
# at the lowest (Dortmund: statistical districts) nearly every cohort is a count of 1 or 2
# (docs/methodology.md, "Geheimhaltung").
def retention_levels() -> tuple[str, ...]:
    return city_profile.current().level_ids[1:]


RETENTION_COUNTS = {"cohort_size": "denominator", "retained": "numerator"}


@dataclass
class ReleasedContent:
    marts: dict[str, pd.DataFrame]      # every mart as released
    suppressed: pd.DataFrame            # every suppressed cell: mart, key, rule
    model: PublishedModel               # the counts (published after protection) and relations
    audit: AuditResult                  # the attacker's audit of what is released
    protection: Protection | None       # the secondary suppression across relations (None: switched off)
    loss: pd.DataFrame                  # information loss per mart and area level: primary only, after protection
    search: object = None               # the relation search over the true counts (relation_search.py)


def _long_candidates(marts: dict) -> dict[str, pd.DataFrame]:
    """The long marts that show counts, before disclosure control, in one layout: area_level,
    area_code, numerator, denominator (retention's retained / cohort_size; coverage's target-group
    size, a count of the fact: residents, 0-17, ...)."""
    coverage = marts["fct_measure_coverage"].reset_index(drop=True)
    retention = marts["fct_immigration_retention"]
    retention = retention[retention.area_level.isin(retention_levels())]
    lowest = city_profile.current().lowest
    return {
        "fct_indicator_values": marts["fct_indicator_values"].reset_index(drop=True),
        "fct_immigration_monitoring": marts["fct_immigration_monitoring"].reset_index(drop=True),
        "fct_immigration_retention": retention.rename(columns=RETENTION_COUNTS).reset_index(drop=True),
        "fct_measure_coverage": coverage.assign(area_level=lowest.id,
                                                area_code=coverage[lowest.code_column],
                                                numerator=coverage.target_group_size, denominator=np.nan),
        "fct_social_index": social_index_cells(marts["fct_social_index"]),
    }


def _suppressed_long(candidates: dict[str, pd.DataFrame], rules: DisclosureRules) -> dict[str, pd.DataFrame]:
    """The long marts after primary suppression (measure and year columns as in disclosure_relations.yml)."""
    layouts = relations_config()["marts"]
    out = {"fct_indicator_values": apply_disclosure_control(candidates["fct_indicator_values"], rules)[0]}
    for mart, frame in candidates.items():
        if mart not in out:
            layout = layouts[mart]
            out[mart] = _suppress_long(frame, frame[layout["measure"]], LONG_MARTS[mart], layout["year"], rules)
    return out


def _coverage_as_released(coverage: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = coverage.assign(target_group_size=coverage.numerator)
    return out[[*columns, "is_suppressed"]]


def _hide(frames: dict[str, pd.DataFrame], cells: set) -> None:
    """Suppress the given (mart, row) cells in place, as secondary suppressions of the audit."""
    for mart, value_column in LONG_MARTS.items():
        rows = sorted(i for m, i in cells if m == mart)
        if not rows:
            continue
        frame = frames[mart]
        newly = [i for i in rows if not frame.at[i, "is_suppressed"]]
        frame.loc[newly, "suppression_rule"] = RULE_SECONDARY
        frame.loc[rows, "is_suppressed"] = True
        frame.loc[rows, ["numerator", "denominator", value_column]] = np.nan


def information_loss(candidates: dict[str, pd.DataFrame], frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per long mart and area level (and per mart over all levels, area_level "alle"): cells,
    suppressed by a primary rule, suppressed in all (with secondary); the shares of cells and the
    shares of the count they show (each cell weighted by its larger count, numerator or
    denominator, before suppression: hiding a total weighs more than hiding a small cell)."""
    rows = []
    for mart, frame in frames.items():
        truth = candidates[mart]
        weight = np.fmax(truth.numerator.abs().to_numpy(dtype=float), truth.denominator.abs().to_numpy(dtype=float))
        weight = np.nan_to_num(weight)
        hidden = frame.is_suppressed.astype(bool).to_numpy()
        primary = hidden & (frame.suppression_rule != RULE_SECONDARY).to_numpy()
        levels = frame.area_level.to_numpy()
        for level in ["alle", *sorted(set(levels))]:
            at = np.ones(len(frame), dtype=bool) if level == "alle" else levels == level
            total = weight[at].sum()
            rows.append({"mart": mart, "area_level": level, "zellen": int(at.sum()),
                         "primaer": int(primary[at].sum()), "gesperrt": int(hidden[at].sum()),
                         "gewicht_anteil_primaer": weight[at & primary].sum() / total if total else None,
                         "gewicht_anteil_gesperrt": weight[at & hidden].sum() / total if total else None})
    loss = pd.DataFrame(rows)
    loss["anteil_primaer"] = loss.primaer / loss.zellen.where(loss.zellen > 0)
    loss["anteil_gesperrt"] = loss.gesperrt / loss.zellen.where(loss.zellen > 0)
    return loss


def _released_planning(marts: dict, values: pd.DataFrame) -> dict:
    """The planning marts that follow the indicator fact on their way into the release."""
    # goals: no actual value where the indicator cell is suppressed
    hidden = set(zip(*[values.loc[values.is_suppressed, c] for c in
                       ("indicator_id", "area_level", "area_code", "reference_year")]))
    goals = marts["fct_goal_achievement"].copy()
    mask = [k in hidden for k in zip(goals.indicator_id, goals.area_level, goals.area_code, goals.reference_year)]
    goals.loc[mask, ["actual_value", "progress_pct"]] = None
    goals.loc[mask, "goal_status"] = "keine Daten"
    # the baseline is the cell of the baseline year: hidden with it, and with it the progress and
    # the status, from which it could be worked back (the decided baseline stays)
    base = [k in hidden for k in zip(goals.indicator_id, goals.area_level, goals.area_code, goals.baseline_year)]
    goals.loc[base, ["baseline_value", "progress_pct"]] = None
    goals.loc[base, "goal_status"] = "keine Daten"
    gaps = marts["fct_measure_gaps"].copy()
    lowest = city_profile.current().lowest
    hidden_need = [k in hidden for k in zip(gaps.need_indicator_id, [lowest.id] * len(gaps),
                                            gaps[lowest.code_column], gaps.reference_year)]
    # the quartile and the gap flag of a suppressed need would tell where its value lies
    gaps.loc[hidden_need, ["need_value", "need_quartile"]] = None
    gaps["is_gap"] = gaps.is_gap.astype("boolean")
    gaps.loc[hidden_need, "is_gap"] = pd.NA
    return {"fct_goal_achievement": goals, "fct_measure_gaps": gaps}


def released_marts(marts: dict[str, pd.DataFrame], rules: DisclosureRules) -> ReleasedContent:
    """Every mart as it is released: the rules, then secondary suppression across every relation a
    reader can combine until the attacker's audit finds no primary cell exposed, then the marts
    that follow the indicator fact."""
    candidates = _long_candidates(marts)
    long = _suppressed_long(candidates, rules)
    model = build_model(candidates, long, marts["dim_area"])
    search = model.search_relations(marts["dim_area"])
    check_relations(search)
    model.add_found(search.incidental, marts["dim_area"])
    levels = rules.protection_levels()
    protection = None
    if rules.secondary_suppression:
        protection = protect(model.counts, model.relations, model.signed, levels)
        _hide(long, protection.hidden_cells)
        model.counts["published"] = model.counts.published & ~model.counts.cell.isin(protection.hidden_cells)
        result = protection.audit
    else:
        result = audit(model.counts, model.relations, model.signed, levels=levels)
    values = long["fct_indicator_values"]
    released = {
        **marts,  # label tables and marts without person counts pass unchanged
        **long,
        "fct_immigration_retention": long["fct_immigration_retention"].rename(
            columns={v: k for k, v in RETENTION_COUNTS.items()}),
        "fct_measure_coverage": _coverage_as_released(long["fct_measure_coverage"],
                                                      list(marts["fct_measure_coverage"].columns)),
        "fct_area_profile": released_profile(values, marts["fct_area_profile"]),
        "fct_social_index": released_social_index(marts["fct_social_index"], values, rules,
                                                  long["fct_social_index"]),
        **_released_planning(marts, values),
    }
    logs = []
    for mart, frame in long.items():
        layout = relations_config()["marts"][mart]
        hidden = frame[frame.is_suppressed.astype(bool)]
        log = pd.DataFrame({
            "indicator_id": ("retention_" if mart == "fct_immigration_retention" else "")
            + hidden[layout["measure"]].astype(str) + (
                "|" + hidden.monitoring_group if "monitoring_group" in hidden
                else "|" + hidden.field_of_action_id.astype(str) if "field_of_action_id" in hidden else ""),
            "area_level": hidden.area_level, "area_code": hidden.area_code,
            "reference_year": hidden[layout["year"]],
            "suppression_rule": hidden.suppression_rule, "mart": mart})
        logs.append(log)
    # one neutral mark for every suppressed cell: the rule of a cell stays in the suppressed log
    released = {name: frame.drop(columns=["suppression_rule"], errors="ignore") for name, frame in released.items()}
    problems = accounting_problems(released)
    if problems:
        raise DisclosureModelIncomplete("Nicht jede veröffentlichte Zahl ist im Geheimhaltungsmodell erfasst: "
                                        + "; ".join(problems) + ".")
    return ReleasedContent(released, pd.concat(logs, ignore_index=True), model, result, protection,
                           information_loss(candidates, long), search)
