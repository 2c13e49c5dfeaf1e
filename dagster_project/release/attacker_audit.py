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
CELL = "@zelle"                          # (CELL, cell): a cell to hide, as candidate of a cut

# How far a primary count must be able to move (τ-ARGUS-style protection levels). A count of 1 or 2
# must be able to lie anywhere from 0 to at least 3 above its value; any other primary count (the
# numerator of a rate on a small base) must not be recoverable (an interval of at least one unit).
# Zeros are not sensitive (zeros stay zeros) and need no protection.
SMALL_COUNT = 3
UPPER_MARGIN_SMALL = 3
MIN_WIDTH_OTHER = 1.0


@dataclass(frozen=True)
class Relation:
    kind: str                              # hierarchy, partition, flow, rate
    terms: tuple[tuple[Key, float], ...]   # lower <= sum of coefficient × count <= upper
    lower: float = 0.0
    upper: float = 0.0
    cell: object = None                    # the published cell the relation comes from (a rate), if any


@dataclass(frozen=True)
class Cut:
    """An exposed primary count and the published counts that pin the failing end of its interval
    (from the duals of the attacker's linear program), each with the share of the gap that hiding
    it closes at most: together the hidden ones must close it."""
    target: Key
    weights: tuple                 # ((count or (CELL, cell), share), ...)

    @classmethod
    def of(cls, target: Key, weights: dict) -> "Cut":
        return cls(target, tuple(sorted(weights.items(), key=lambda kv: str(kv[0]))))

    @property
    def candidates(self) -> frozenset:
        return frozenset(key for key, _ in self.weights)


@dataclass
class AuditResult:
    cells: pd.DataFrame                    # one row per primary unknown: key, value, low, high, required, protected
    relations_used: int
    unknowns: int
    components: int
    exposing_relations: dict[Key, list[str]] = field(default_factory=dict)
    invalid_relations: list[Relation] = field(default_factory=list)   # claimed, but not true of the data
    cuts: list[Cut] = field(default_factory=list)

    @property
    def exposed(self) -> pd.DataFrame:
        return self.cells[~self.cells.protected]


@dataclass(frozen=True)
class ProtectionLevels:
    """How far a primary count must be able to move (settings: disclosure_rules.yml)."""
    small_count: int = SMALL_COUNT                   # counts 1 .. small_count-1 are "small"
    small_upper_margin: float = UPPER_MARGIN_SMALL   # a small count must reach 0 and value + margin
    other_width: float = MIN_WIDTH_OTHER             # any other primary: an interval at least this wide

    def required(self, value: float) -> tuple[float, float] | None:
        """The interval a primary count must be able to lie in (None: nothing to protect)."""
        size = abs(value)
        if size == 0:
            return None
        if size < self.small_count:
            return (0.0, value + self.small_upper_margin) if value > 0 else (value - self.small_upper_margin, 0.0)
        return value - self.other_width / 2, value + self.other_width / 2


def protection_range(value: float) -> tuple[float, float] | None:
    """The interval a primary count must be able to lie in, at the default levels."""
    return ProtectionLevels().required(value)


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


def identity_relations(terms: list[tuple[str, float]], areas: pd.DataFrame, years: list[int]) -> list[Relation]:
    """A declared linear identity between concepts (sum of coefficient x count = 0) in every area and year."""
    return [Relation("identity", tuple(((concept, level, code, year), float(c)) for concept, c in terms))
            for level, code in zip(areas.area_level, areas.area_code) for year in years]


def flow_relations(change: str, stock: str, areas: pd.DataFrame, years: list[int]) -> list[Relation]:
    """Change in year Y = stock in Y minus stock in Y-1."""
    return [Relation("flow", (((change, level, code, year), 1.0), ((stock, level, code, year), -1.0),
                              ((stock, level, code, year - 1), 1.0)))
            for level, code in zip(areas.area_level, areas.area_code) for year in years]


def rate_relation(numerator: Key, denominator: Key, value: float, multiplier: float, cell=None) -> Relation:
    """A published rate ties its numerator to its denominator: n = value / multiplier × d (`cell`:
    the cell that shows the rate; hiding it removes the relation)."""
    return Relation("rate", ((numerator, 1.0), (denominator, -value / multiplier)), cell=cell)


@dataclass
class CompiledModel:
    """The counts by key and the valid relations as one sparse matrix (built once per release;
    the audit of another suppression pattern only changes which keys are published)."""
    keys: list[Key]
    values: np.ndarray            # true value per key
    primary: np.ndarray           # per key
    key_of_row: np.ndarray        # per row of `counts`: its key's position
    full: object                  # relations x keys (CSR)
    lower: np.ndarray
    upper: np.ndarray
    kinds: np.ndarray
    row_cells: list                # per row: the cell it comes from, or None
    invalid: list[Relation]
    known: np.ndarray | None = None   # per key: known to a reader even when hidden (a count that is 0 everywhere)

    def published(self, counts: pd.DataFrame) -> np.ndarray:
        """Per key: published anywhere (any of its rows), or known without being published."""
        out = np.zeros(len(self.keys), dtype=bool)
        np.logical_or.at(out, self.key_of_row, counts.published.to_numpy(dtype=bool))
        return out if self.known is None else out | self.known


def compile_model(counts: pd.DataFrame, relations: list[Relation]) -> CompiledModel:
    key_series = pd.Series(list(zip(counts.concept, counts.area_level, counts.area_code,
                                    counts.reference_year.astype(int))))
    codes, uniques = pd.factorize(key_series, sort=False)
    keys = list(uniques)
    values = np.full(len(keys), np.nan)
    values[codes[::-1]] = counts.value.to_numpy(dtype=float)[::-1]          # the first row's value
    primary = np.zeros(len(keys), dtype=bool)
    np.logical_or.at(primary, codes, counts.primary.to_numpy(dtype=bool))
    column = {k: i for i, k in enumerate(keys)}
    rows, cols, data, lower, upper, kinds, invalid, row_cells = [], [], [], [], [], [], [], []
    for relation in relations:
        positions = [column.get(k) for k, _ in relation.terms]
        if any(p is None for p in positions):
            continue   # a relation over a count that is not published at all tells the reader nothing
        total = sum(c * values[p] for p, (_, c) in zip(positions, relation.terms))
        if total < relation.lower - 1e-6 or total > relation.upper + 1e-6:
            invalid.append(relation)   # the model claims a relation the data do not satisfy
            continue
        row = len(kinds)
        rows.extend([row] * len(positions))
        cols.extend(positions)
        data.extend(c for _, c in relation.terms)
        lower.append(relation.lower)
        upper.append(relation.upper)
        kinds.append(relation.kind)
        row_cells.append(relation.cell)
    known = np.zeros(len(keys), dtype=bool)
    if "known" in counts:   # a reader who sees a count be 0 wherever it is published takes it for 0
        np.logical_or.at(known, codes, counts.known.to_numpy(dtype=bool))
    full = coo_matrix((data, (rows, cols)), shape=(len(kinds), len(keys))).tocsr()
    full.sum_duplicates()
    full.eliminate_zeros()   # a count on both sides of a relation (two names of one count) cancels
    return CompiledModel(keys, values, primary, codes, full, np.asarray(lower, dtype=float),
                         np.asarray(upper, dtype=float), np.asarray(kinds, dtype=object), row_cells, invalid, known)


def audit(counts: pd.DataFrame, relations: list[Relation], signed_concepts: set[str] = frozenset(),
          targets: set[Key] | None = None, levels: ProtectionLevels | None = None,
          compiled: CompiledModel | None = None, hidden_cells: set = frozenset()) -> AuditResult:
    """`counts`: one row per published or suppressed count with columns concept, area_level,
    area_code, reference_year, value (the true value), published (bool), primary (bool). A count
    is published when any of its rows is. `targets`: audit only these primary counts (the others
    were protected before, and hiding more can only widen their intervals). `compiled`: the
    model compiled once for these counts and relations. `hidden_cells`: cells not published; a
    relation that comes from one of them (a suppressed rate) tells the reader nothing."""
    levels = levels or ProtectionLevels()
    model = compiled or compile_model(counts, relations)
    keys, values_all = model.keys, model.values
    is_published = model.published(counts)
    known_cols, unknown_cols = np.flatnonzero(is_published), np.flatnonzero(~is_published)
    # relations with at least one unknown constrain the unknowns
    unknown_per_row = model.full[:, unknown_cols].getnnz(axis=1)
    shown = np.array([c is None or c not in hidden_cells for c in model.row_cells], dtype=bool)
    used = np.flatnonzero((unknown_per_row > 0) & shown)
    full = model.full[used]
    kinds = model.kinds[used]
    row_cells = [model.row_cells[i] for i in used]
    lower, upper = model.lower[used], model.upper[used]
    known_part = full[:, known_cols] @ values_all[known_cols] if len(used) else np.zeros(0)
    matrix = full[:, unknown_cols].tocsr()
    known_matrix = full[:, known_cols].tocsr()
    unknown_keys = [keys[i] for i in unknown_cols]
    n = len(unknown_keys)
    pattern = abs(matrix)   # by the pattern: with signed coefficients two relations' products could cancel
    incidence = (pattern.T @ pattern) if len(used) else coo_matrix((n, n)).tocsr()
    components, labels = connected_components(incidence != 0, directed=False) if n else (0, np.array([], int))
    values = values_all[unknown_cols]
    primary = model.primary[unknown_cols]
    wanted = (lambda key: True) if targets is None else (lambda key: key in targets)
    results, exposing, cuts = [], {}, []
    # a primary count that is published elsewhere (the same count in another mart) is exposed outright
    for position in np.flatnonzero(model.primary & is_published):
        key, value = keys[position], values_all[position]
        needed = levels.required(value)
        if needed is not None and wanted(key):
            results.append((*key, value, value, value, *needed, False))
            exposing[key] = ["gleiche Zahl anderswo veröffentlicht"]
            cuts.append(Cut.of(key, {key: 1.0}))
    unknown_bounds = [(None, None) if key[0] in signed_concepts else (0, None) for key in unknown_keys]
    # unknowns and relations by component, grouped once (slicing per component would cost O(components x size))
    order = np.argsort(labels, kind="stable")
    member_groups = np.split(order, np.flatnonzero(np.diff(labels[order])) + 1) if n else []
    row_component = labels[matrix.indices[matrix.indptr[:-1]]] if len(kinds) else np.array([], int)
    row_order = np.argsort(row_component, kind="stable")
    row_starts = np.searchsorted(row_component[row_order], np.arange(components + 1))
    for members in member_groups:
        component = labels[members[0]]
        component_targets = [m for m in members if primary[m] and wanted(unknown_keys[m])
                             and levels.required(values[m]) is not None]
        if not component_targets:
            continue
        equations = np.sort(row_order[row_starts[component]:row_starts[component + 1]])
        sub = matrix[equations][:, members]
        bounds = [unknown_bounds[m] for m in members]
        position_of = {m: i for i, m in enumerate(members)}
        positions = [position_of[t] for t in component_targets]
        solved = _intervals(sub, lower[equations] - known_part[equations], upper[equations] - known_part[equations],
                            bounds, positions, [levels.required(values[t]) for t in component_targets])
        for target, position, ((low, high), (low_dual, high_dual)) in zip(component_targets, positions, solved):
            low = -np.inf if low is None else low
            high = np.inf if high is None else high
            if bounds[position][0] == 0:
                low = max(low, 0.0)
            need_low, need_high = levels.required(values[target])
            low_ok, high_ok = low <= need_low + 1e-6, high >= need_high - 1e-6
            key = unknown_keys[target]
            results.append((*key, values[target], low, high, need_low, need_high, low_ok and high_ok))
            if low_ok and high_ok:
                continue
            binding = set()
            for upward, ok, duals, gap in ((False, low_ok, low_dual, low - need_low),
                                           (True, high_ok, high_dual, need_high - high)):
                if ok:
                    continue
                active = np.abs(duals) > 1e-9
                binding |= {kinds[e] for e in equations[active]}
                cuts.append(_cut(key, upward, gap, equations[active], duals[active], known_matrix, known_cols, keys,
                                 values_all, signed_concepts, equations, row_cells, model.known))
            exposing[key] = sorted(binding or {kinds[e] for e in equations})
    cells = pd.DataFrame(results, columns=["concept", "area_level", "area_code", "reference_year", "value", "low",
                                           "high", "required_low", "required_high", "protected"])
    return AuditResult(cells, len(kinds), n, components, exposing, model.invalid, cuts)


def _cut(target: Key, upward: bool, gap: float, rows, duals, known_matrix, known_cols, keys, values, signed,
         all_rows, row_cells, fixed=None) -> Cut:
    """Which published counts pin the failing end of the target's interval, and how far hiding each
    would let it move (first order, from the duals: d end / d count = -(y' A)); a count that can
    move without limit in the helpful direction could close the whole gap. A binding relation that
    comes from a published cell (a rate) goes away when that cell is hidden."""
    sensitivity = -(known_matrix[rows].T @ duals)
    weights = {}
    for i in np.flatnonzero(np.abs(sensitivity) > 1e-9):
        if fixed is not None and fixed[known_cols[i]]:
            continue   # hiding it would not make it unknown
        key = keys[known_cols[i]]
        slope = sensitivity[i] if upward else -sensitivity[i]      # > 0: raising the count helps
        if slope > 0 or key[0] in signed:
            weights[key] = 1.0
        else:   # lowering it helps, down to zero
            weights[key] = min(1.0, -slope * abs(values[known_cols[i]]) / max(gap, 1e-9))
    weights = {k: w for k, w in weights.items() if w > 1e-9}
    if not weights:   # pinned by bounds alone: any published count of the component's relations
        touching = known_matrix[all_rows].nonzero()[1]
        weights = {keys[known_cols[i]]: 1.0 for i in np.unique(touching)
                   if fixed is None or not fixed[known_cols[i]]}
    weights |= {(CELL, row_cells[e]): 1.0 for e in rows if row_cells[e] is not None}
    return Cut.of(target, weights)


Interval = tuple[float | None, float | None]


def _intervals(a, row_low, row_high, bounds, targets: list[int],
               needs: list[tuple[float, float]] | None = None) -> list[tuple[Interval, tuple[np.ndarray, np.ndarray]]]:
    """Minimum and maximum of each target column subject to row_low <= A x <= row_high and the
    bounds (None where unbounded), with the row duals of both solves. One HiGHS model per
    component; only the objective changes between the solves, so each solve starts from the last
    basis.

    With `needs` (the interval each target must be able to reach), an end is only solved for when
    no feasible point found so far reaches it: every solution of the component is a point the
    reader cannot exclude, so a target seen at or beyond its required end is protected there (its
    reported end is then the furthest seen, an inner bound of the true interval). Two solves that
    push all targets at once seed these points; in a large component most ends need no solve."""
    if a.shape[0] == 0:
        return [((None, None), (np.zeros(0), np.zeros(0)))] * len(targets)
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_ = np.zeros(a.shape[1])
    lp.col_lower_ = np.array([-highspy.kHighsInf if b[0] is None else b[0] for b in bounds], dtype=float)
    lp.col_upper_ = np.array([highspy.kHighsInf if b[1] is None else b[1] for b in bounds], dtype=float)
    lp.row_lower_ = np.asarray(row_low, dtype=float)
    lp.row_upper_ = np.asarray(row_high, dtype=float)
    matrix = a.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = matrix.indptr, matrix.indices, matrix.data
    highs.passModel(lp)
    seen_low, seen_high = np.full(a.shape[1], np.inf), np.full(a.shape[1], -np.inf)
    no_duals = np.zeros(a.shape[0])

    def solve(sense) -> object:
        highs.changeObjectiveSense(sense)
        highs.run()
        status = highs.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            x = np.asarray(highs.getSolution().col_value, dtype=float)
            np.minimum(seen_low, x, out=seen_low)
            np.maximum(seen_high, x, out=seen_high)
        elif status not in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            raise RuntimeError(f"Angreiferprüfung: lineares Programm nicht lösbar ({highs.modelStatusToString(status)})")
        return status

    if needs is not None and len(targets) > 2:
        index = np.asarray(targets, dtype=np.int32)
        highs.changeColsCost(len(index), index, np.ones(len(index)))
        for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
            solve(sense)
        highs.changeColsCost(len(index), index, np.zeros(len(index)))
    out = []
    for number, target in enumerate(targets):
        need = needs[number] if needs is not None else None
        highs.changeColCost(target, 1.0)
        ends, duals = [], []
        for end, sense in enumerate((highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize)):
            if need is not None and (seen_low[target] <= need[0] + 1e-6 if end == 0
                                     else seen_high[target] >= need[1] - 1e-6):
                ends.append(float(seen_low[target] if end == 0 else seen_high[target]))
                duals.append(no_duals)
                continue
            status = solve(sense)
            if status == highspy.HighsModelStatus.kOptimal:
                ends.append(highs.getInfo().objective_function_value)
                duals.append(np.asarray(highs.getSolution().row_dual, dtype=float))
            else:
                ends.append(None)
                duals.append(no_duals)
        highs.changeColCost(target, 0.0)
        out.append(((ends[0], ends[1]), (duals[0], duals[1])))
    return out
