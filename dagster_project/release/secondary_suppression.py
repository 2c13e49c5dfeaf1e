"""Secondary suppression across every published relation, iterated with the attacker's audit.

The method is the cutting-plane scheme of Fischetti and Salazar-González ("Models and algorithms
for optimizing cell suppression in tabular data with linear constraints", JASA 2000), with the
attacker's linear programs as separation step and a set-covering master problem:

1. Start from primary suppression (disclosure.py) and close it under the necessary condition across
   every relation at once: no relation may contain exactly one suppressed non-zero count
   (`close_singletons`).
2. Audit (attacker_audit.py): for every primary count, the interval that everything published
   allows. For each end of an interval that is too narrow, the duals of the attacker's linear
   program name the published counts that pin it and how much of the gap hiding each would close
   (a cut: the hidden ones must close it together).
3. Master problem: choose the counts to hide so that every cut is met at the least information
   loss, as a 0-1 integer program solved with HiGHS. Hiding a count hides every cell that shows
   it (as numerator or denominator), in every mart; the loss of a cell is 1 + ln(1 + its count),
   so small cells go before large ones and totals stay published where anything else will do.
4. Hide them and audit the cells that were exposed again (hiding more can only widen the other
   intervals). Repeat until no primary count is exposed.

Every round hides at least one more published count, so the loop ends; it stops with the cells
still exposed when `max_rounds` is reached, and the gate then refuses the release. Finally, hidden
secondary cells that a reader can compute exactly are published again (`determined_cells`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd

from dagster_project.release.attacker_audit import (CELL, AuditResult, Cut, Key, ProtectionLevels, Relation, audit,
                                                    compile_model)

MAX_ROUNDS = 100  # Dortmund scale needs 24-26 rounds; each takes about half a second
MIP_SECONDS = 20.0


@dataclass
class Protection:
    hidden_cells: set             # cells hidden by this step (beyond the starting pattern)
    audit: AuditResult            # the audit of the final pattern, every primary count
    rounds: int
    seconds: float


def protect(counts: pd.DataFrame, relations: list[Relation], signed: set[str],
            levels: ProtectionLevels | None = None, max_rounds: int = MAX_ROUNDS,
            hidden_relation_cells: set = frozenset()) -> Protection:
    """`counts` as for `audit`, plus a column `cell` (any hashable id of the mart cell that shows
    the count; a cell shows its numerator and denominator). Relations may come from a cell (a
    published rate); `hidden_relation_cells`: such cells suppressed already. Returns the cells to
    hide as well."""
    started = time.perf_counter()
    levels = levels or ProtectionLevels()
    work = counts.copy()
    compiled = compile_model(work, relations)
    work["key"] = pd.Series(compiled.keys, dtype=object).to_numpy()[compiled.key_of_row]
    cell_codes, cells = pd.factorize(work.cell, sort=False)
    largest = np.zeros(len(cells))
    np.maximum.at(largest, cell_codes, np.abs(np.nan_to_num(work.value.to_numpy(dtype=float))))
    loss = dict(zip(cells, 1.0 + np.log1p(largest)))
    pairs = pd.DataFrame({"key": compiled.key_of_row, "cell": cell_codes}).drop_duplicates().sort_values("key")
    bounds = np.flatnonzero(np.diff(pairs.key.to_numpy())) + 1
    cells_of = {compiled.keys[group[0]]: {cells[c] for c in cell_group}
                for group, cell_group in zip(np.split(pairs.key.to_numpy(), bounds),
                                             np.split(pairs.cell.to_numpy(), bounds))}
    for relation in relations:   # a rate's cell can be hidden to remove its relation
        if relation.cell is not None:
            cells_of.setdefault((CELL, relation.cell), {relation.cell})
            loss.setdefault(relation.cell, 1.0)
    hidden_before = set(work.cell[~work.published]) | set(hidden_relation_cells)
    hidden = close_singletons(work, relations, cells_of, loss, hidden_before)
    work["published"] = ~work.cell.isin(hidden_before | hidden)
    result = audit(work, relations, signed, levels=levels, compiled=compiled, hidden_cells=hidden_before | hidden)
    final_cells = result.cells.set_index(["concept", "area_level", "area_code", "reference_year"])
    exposing = dict(result.exposing_relations)
    rounds = 0
    while result.cuts and rounds < max_rounds:
        rounds += 1
        chosen = cover(result.cuts, lambda key: sum(loss[c] for c in cells_of[key] if c not in hidden
                                                    and c not in hidden_before))
        for key in chosen:
            hidden |= cells_of[key] - hidden_before
        work["published"] = ~work.cell.isin(hidden_before | hidden)
        again = {cut.target for cut in result.cuts}
        result = audit(work, relations, signed, targets=again, levels=levels, compiled=compiled,
                       hidden_cells=hidden_before | hidden)
        redone = result.cells.set_index(["concept", "area_level", "area_code", "reference_year"])
        final_cells.loc[redone.index] = redone
        for key in again:
            exposing.pop(key, None)
        exposing.update(result.exposing_relations)
    if not result.cuts:
        hidden -= determined_cells(work, relations, hidden, hidden_before | hidden)
    final = AuditResult(final_cells.reset_index(), result.relations_used, result.unknowns, result.components,
                        exposing, result.invalid_relations, result.cuts)
    return Protection(hidden, final, rounds, time.perf_counter() - started)


def determined_cells(work: pd.DataFrame, relations: list[Relation], candidates: set, all_hidden: set) -> set:
    """Secondary cells a reader can compute exactly from what is published (every count they show
    is published elsewhere, or the last unknown of an equation whose other counts are published or
    computed before): hiding them protects nothing, so they are published again. Publishing a value
    that is already determined leaves every interval as it was, so all can go back at once."""
    published = set(work.key[work.published | work.get("known", False)])
    relations_of: dict = {}
    usable = [r for r in relations if r.lower == r.upper and (r.cell is None or r.cell not in all_hidden)]
    for number, relation in enumerate(usable):
        for key, _ in relation.terms:
            relations_of.setdefault(key, []).append(number)
    known = set(published)
    queue = {n for key in set(work.key) - published for n in relations_of.get(key, [])}
    while queue:
        terms = usable[queue.pop()].terms
        unknown = [k for k, _ in terms if k not in known]
        if len(unknown) == 1:
            known.add(unknown[0])
            queue.update(relations_of.get(unknown[0], []))
    shown_by = work[work.cell.isin(candidates)]
    free = shown_by.groupby("cell").key.agg(lambda keys: all(k in known for k in keys))
    primary_cells = set(work.cell[work.primary])
    return {cell for cell, ok in free.items() if ok and cell not in primary_cells}


def close_singletons(work: pd.DataFrame, relations: list[Relation], cells_of: dict, loss: dict,
                     hidden_before: set) -> set:
    """The necessary condition, across every relation at once: a relation that contains exactly one
    suppressed non-zero count gives it away (it is the published rest), so one more of its counts is
    hidden, the cheapest non-zero one (what is not a zero has a loss; a hidden zero pins the others).
    Repeated until no relation has a lone suppressed count; the audit then checks what this cannot
    see (relations that pin a cell only in combination)."""
    shows: dict = {}
    for key, cells in cells_of.items():
        for cell in cells:
            shows.setdefault(cell, []).append(key)
    value = dict(zip(work.key, work.value))
    hidden_cells = set(hidden_before)
    published_cells = {key: len(cells - hidden_cells) for key, cells in cells_of.items()}
    relations_of: dict = {}
    for number, relation in enumerate(relations):
        if all(k in cells_of for k, _ in relation.terms):
            for key, _ in relation.terms:
                relations_of.setdefault(key, []).append(number)
    queue = {n for key, count in published_cells.items() if count == 0 for n in relations_of.get(key, [])}
    added: set = set()

    def hide(cell) -> None:
        hidden_cells.add(cell)
        added.add(cell)
        for key in shows.get(cell, []):
            published_cells[key] -= 1
            if published_cells[key] == 0:
                queue.update(relations_of.get(key, []))

    while queue:
        relation = relations[queue.pop()]
        if relation.cell is not None and relation.cell in hidden_cells:
            continue
        keys = [k for k, _ in relation.terms]
        unknown = [k for k in keys if published_cells[k] == 0]
        if len(unknown) != 1 or value[unknown[0]] == 0:
            continue
        if relation.cell is not None:   # a rate that gives its numerator away is hidden itself
            hide(relation.cell)
            continue
        choices = [k for k in keys if published_cells[k] > 0 and value[k] != 0] or \
                  [k for k in keys if published_cells[k] > 0]
        if not choices:
            continue
        chosen = min(choices, key=lambda k: (sum(loss[c] for c in cells_of[k] if c not in hidden_cells), str(k)))
        for cell in cells_of[chosen] - hidden_cells:
            hide(cell)
    return added


def cover(cuts: list[Cut], cost) -> set[Key]:
    """The cheapest set of counts that meets every cut: a 0-1 covering program (each cut: the shares
    of the gap that the hidden counts close add up to at least 1), solved with HiGHS; the greedy
    cover if the solver finds nothing in time."""
    candidates = sorted({key for cut in cuts for key in cut.candidates}, key=str)
    index = {key: i for i, key in enumerate(candidates)}
    costs = np.array([max(cost(key), 1e-3) for key in candidates], dtype=float)
    rows = sorted({tuple(sorted((index[k], round(w, 6)) for k, w in cut.weights)) for cut in cuts})
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", MIP_SECONDS)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(candidates), len(rows)
    lp.col_cost_ = costs
    lp.col_lower_ = np.zeros(len(candidates))
    lp.col_upper_ = np.ones(len(candidates))
    # a cut whose counts cannot close the gap together asks for all of them (the next audit goes on)
    lp.row_lower_ = np.array([min(1.0, sum(w for _, w in row)) - 1e-9 for row in rows])
    lp.row_upper_ = np.full(len(rows), highspy.kHighsInf)
    starts, indices, coefficients = [0], [], []
    for row in rows:
        indices.extend(i for i, _ in row)
        coefficients.extend(w for _, w in row)
        starts.append(len(indices))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(indices, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(coefficients, dtype=float)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * len(candidates)
    highs.passModel(lp)
    highs.run()
    solution = highs.getSolution()
    if solution.value_valid:
        chosen = {candidates[i] for i, x in enumerate(solution.col_value) if x > 0.5}
        if chosen:
            return chosen
    return _greedy_cover([tuple(i for i, _ in row) for row in rows], costs, candidates)


def _greedy_cover(cuts: list[tuple[int, ...]], costs: np.ndarray, candidates: list) -> set:
    open_cuts, chosen = set(range(len(cuts))), set()
    members_of: dict[int, set[int]] = {}
    for number, members in enumerate(cuts):
        for m in members:
            members_of.setdefault(m, set()).add(number)
    while open_cuts:
        best = min(members_of, key=lambda m: costs[m] / max(len(members_of[m] & open_cuts), 1e-9))
        chosen.add(candidates[best])
        open_cuts -= members_of.pop(best)
    return chosen
