"""The attacker's audit: for every suppressed cell, the interval of values that everything published
allows (linear programming with HiGHS, through highspy).

The published figures are modelled as *counts*: each released numerator or denominator is one
count of a concept (e.g. `residents`, `residents|EU2`) in an area and year. Counts of the same
concept, area and year are the same unknown wherever they are published (a count in two marts, a
denominator published as another measure's numerator). Relations between counts are linear
equalities:

- hierarchy: the count of a parent area equals the sum over its child areas (additive concepts);
- partition: a whole equals the sum of its parts (the monitoring groups add up to the residents);
- flow: a change equals the stock of the year minus the stock of the year before;
- rate: a published rate v with numerator n and denominator d gives n − v/multiplier · d = 0.

A suppressed count whose concept-cell is published nowhere is an unknown; every relation with at
least one unknown constrains the unknowns. For each primary suppressed count, the audit minimises
and maximises it subject to all relations of its connected component and to non-negativity (signed
concepts, such as changes, are free). The cell is protected when its protection range lies inside
that interval (see `protection_range`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

Key = tuple[str, str, str, int]          # concept, area level, area code, year

# How far a primary count must be able to move (τ-ARGUS-style protection levels). A count of 1 or 2
# must be able to lie anywhere from 0 to at least 3 above its value; any other primary count (the
# numerator of a rate on a small base) must not be recoverable (an interval of at least one unit).
# Zeros are not sensitive (zeros stay zeros) and need no protection.
SMALL_COUNT = 3
UPPER_MARGIN_SMALL = 3
MIN_WIDTH_OTHER = 1.0


@dataclass(frozen=True)
class Relation:
    kind: str                              # hierarchy, partition, flow
    terms: tuple[tuple[Key, float], ...]   # sum of coefficient × count = 0


@dataclass
class AuditResult:
    cells: pd.DataFrame                    # one row per primary unknown: key, value, low, high, required, protected
    relations_used: int
    unknowns: int
    components: int
    exposing_relations: dict[Key, list[str]] = field(default_factory=dict)
    invalid_relations: list[Relation] = field(default_factory=list)   # claimed, but not true of the data

    @property
    def exposed(self) -> pd.DataFrame:
        return self.cells[~self.cells.protected]


def protection_range(value: float) -> tuple[float, float] | None:
    """The interval a primary count must be able to lie in (None: nothing to protect)."""
    size = abs(value)
    if size == 0:
        return None
    if 0 < size < SMALL_COUNT:
        return (0.0, value + UPPER_MARGIN_SMALL) if value > 0 else (value - UPPER_MARGIN_SMALL, 0.0)
    return value - MIN_WIDTH_OTHER / 2, value + MIN_WIDTH_OTHER / 2


def hierarchy_relations(concepts: list[str], areas: pd.DataFrame, years: list[int]) -> list[Relation]:
    """Parent = sum of children, for every additive concept, year and parent area."""
    children = areas[areas.parent_area_level.notna()]
    groups = [((level, code), list(zip(part.area_level, part.area_code)))
              for (level, code), part in children.groupby(["parent_area_level", "parent_area_code"])]
    return [Relation("hierarchy", (((concept, level, code, year), 1.0),
                                   *(((concept, child_level, child_code, year), -1.0)
                                     for child_level, child_code in kids)))
            for concept in concepts for year in years for (level, code), kids in groups]


def partition_relations(whole: str, parts: list[str], areas: pd.DataFrame, years: list[int]) -> list[Relation]:
    """Whole = sum of its parts in every area and year."""
    return [Relation("partition", (((whole, level, code, year), 1.0),
                                   *(((part, level, code, year), -1.0) for part in parts)))
            for level, code in zip(areas.area_level, areas.area_code) for year in years]


def flow_relations(change: str, stock: str, areas: pd.DataFrame, years: list[int]) -> list[Relation]:
    """Change in year Y = stock in Y minus stock in Y-1."""
    return [Relation("flow", (((change, level, code, year), 1.0), ((stock, level, code, year), -1.0),
                              ((stock, level, code, year - 1), 1.0)))
            for level, code in zip(areas.area_level, areas.area_code) for year in years]


def rate_relation(numerator: Key, denominator: Key, value: float, multiplier: float) -> Relation:
    """A published rate ties its numerator to its denominator: n = value / multiplier × d."""
    return Relation("rate", ((numerator, 1.0), (denominator, -value / multiplier)))


def audit(counts: pd.DataFrame, relations: list[Relation], signed_concepts: set[str] = frozenset()) -> AuditResult:
    """`counts`: one row per published or suppressed count with columns concept, area_level,
    area_code, reference_year, value (the true value), published (bool), primary (bool)."""
    keyed = counts.assign(key=list(zip(counts.concept, counts.area_level, counts.area_code,
                                       counts.reference_year.astype(int))))
    by_key = keyed.groupby("key", sort=False).agg(value=("value", "first"), published=("published", "any"),
                                                  primary=("primary", "any"))
    known = by_key[by_key.published].value.to_dict()
    truth = by_key.value.to_dict()
    unknown_keys = list(by_key.index[~by_key.published])
    index = {k: i for i, k in enumerate(unknown_keys)}
    rows, cols, data, rhs, kinds, invalid = [], [], [], [], [], []
    for relation in relations:
        if any(k not in truth for k, _ in relation.terms):
            continue   # a relation over a count that is not published at all tells the reader nothing
        if abs(sum(c * truth[k] for k, c in relation.terms)) > 1e-6:
            invalid.append(relation)   # the model claims a relation the data do not satisfy
            continue
        unknown_terms = [(index[k], c) for k, c in relation.terms if k in index]
        if not unknown_terms:
            continue
        row = len(rhs)
        for column, coefficient in unknown_terms:
            rows.append(row)
            cols.append(column)
            data.append(coefficient)
        rhs.append(-sum(c * known[k] for k, c in relation.terms if k in known))
        kinds.append(relation.kind)
    n = len(unknown_keys)
    matrix = coo_matrix((data, (rows, cols)), shape=(len(rhs), n)).tocsr()
    # unknowns that share a relation belong to one component
    incidence = (matrix.T @ matrix) if len(rhs) else coo_matrix((n, n)).tocsr()
    components, labels = connected_components(incidence != 0, directed=False) if n else (0, np.array([], int))
    values = by_key.value.reindex(unknown_keys).to_numpy(dtype=float)
    primary = by_key.primary.reindex(unknown_keys).to_numpy(dtype=bool)
    results, exposing = [], {}
    # a primary count that is published elsewhere (the same count in another mart) is exposed outright
    for key, row in by_key[by_key.primary & by_key.published].iterrows():
        needed = protection_range(row.value)
        if needed is not None:
            results.append((*key, row.value, row.value, row.value, *needed, False))
            exposing[key] = ["gleiche Zahl anderswo veröffentlicht"]
    for component in range(components):
        members = np.flatnonzero(labels == component)
        targets = [m for m in members if primary[m] and protection_range(values[m]) is not None]
        if not targets:
            continue
        equations = np.unique(matrix[:, members].nonzero()[0])
        sub = matrix[equations][:, members]
        bounds = [(None, None) if unknown_keys[m][0] in signed_concepts else (0, None) for m in members]
        positions = [int(np.flatnonzero(members == t)[0]) for t in targets]
        intervals = _intervals(sub, np.asarray(rhs)[equations], bounds, positions)
        for target, position, (low, high) in zip(targets, positions, intervals):
            low = -np.inf if low is None else low
            high = np.inf if high is None else high
            if bounds[position][0] == 0:
                low = max(low, 0.0)
            need_low, need_high = protection_range(values[target])
            protected = low <= need_low + 1e-6 and high >= need_high - 1e-6
            key = unknown_keys[target]
            results.append((*key, values[target], low, high, need_low, need_high, protected))
            if not protected:
                exposing[key] = sorted({kinds[e] for e in equations})
    cells = pd.DataFrame(results, columns=["concept", "area_level", "area_code", "reference_year", "value", "low",
                                           "high", "required_low", "required_high", "protected"])
    return AuditResult(cells, len(rhs), n, components, exposing, invalid)


def _intervals(a_eq, b_eq, bounds, targets: list[int]) -> list[tuple[float | None, float | None]]:
    """Minimum and maximum of each target column subject to A x = b and the bounds (None where
    unbounded). One HiGHS model per component; only the objective changes between the solves, so
    each solve starts from the last basis."""
    if a_eq.shape[0] == 0:
        return [(None, None)] * len(targets)
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a_eq.shape[1], a_eq.shape[0]
    lp.col_cost_ = np.zeros(a_eq.shape[1])
    lp.col_lower_ = np.array([-highspy.kHighsInf if b[0] is None else b[0] for b in bounds], dtype=float)
    lp.col_upper_ = np.array([highspy.kHighsInf if b[1] is None else b[1] for b in bounds], dtype=float)
    lp.row_lower_ = lp.row_upper_ = np.asarray(b_eq, dtype=float)
    matrix = a_eq.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = matrix.indptr, matrix.indices, matrix.data
    highs.passModel(lp)
    out = []
    for target in targets:
        highs.changeColCost(target, 1.0)
        ends = []
        for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
            highs.changeObjectiveSense(sense)
            highs.run()
            status = highs.getModelStatus()
            if status == highspy.HighsModelStatus.kOptimal:
                ends.append(highs.getInfo().objective_function_value)
            elif status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
                ends.append(None)
            else:
                raise RuntimeError(f"Angreiferprüfung: lineares Programm nicht lösbar ({highs.modelStatusToString(status)})")
        highs.changeColCost(target, 0.0)
        out.append((ends[0], ends[1]))
    return out
