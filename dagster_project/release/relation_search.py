"""The net under the declared model: exact linear relations searched for in the true counts.

The attacker's audit knows the relations declared in disclosure_relations.yml. A relation that a
reader can guess and that holds in the data, but that nobody declared, would let the reader
recover what the audit believes protected. Before the audit, the true counts of the candidate
(before suppression) are searched for three kinds of exact identities:

- within an area and year: a count equals a sum or difference of up to four other counts
  (coefficients ±1), e.g. under-18 + 18–64 + 65+ = residents, or net migration = moves in − moves
  out; searched per family of concepts (those without a group and those of one monitoring group)
  by meet-in-the-middle over integer fingerprints of a few rows, then checked on every row;
- across the area hierarchy: a concept whose parent area equals the sum of its child areas in
  every area and year (it is additive, signed or not);
- across years: a count that equals the change of another from the year before (stock and flow).

An identity that holds on every area and year, in at least MIN_YEARS years and on at least
MIN_SUPPORT instances where one of its counts is STRONG_VALUE or more, and that the declared
relations do not imply, stops the release and is named, so that it can be declared. One seen in a
single year or among small numbers only (e.g. a small group without births, whose stock change
equals its net migration) may be a coincidence of this data: the audit takes it as a relation of
this release (a reader could use it all the same), and the manifest lists it.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MIN_SUPPORT = 20          # instances an identity must hold on (fewer prove nothing)
MIN_YEARS = 2             # an undeclared identity seen in this many years ...
STRONG_VALUE = 100        # ... and on MIN_SUPPORT instances with a count this large is structural: it stops the release
SAMPLE_ROWS = 8           # rows of the fingerprint
MAX_TERMS_SIDE = (2, 3)   # meet in the middle: up to 2 + up to 3 counts, i.e. a count and up to four others


@dataclass(frozen=True)
class FoundRelation:
    kind: str                              # identity, hierarchy, flow
    terms: tuple[tuple[str, int], ...]     # (concept, coefficient); sum of coefficient x count = 0
    support: int                           # instances it holds on
    years: int = 0                         # reference years among them
    strong: int = 0                        # instances with a count of at least STRONG_VALUE among its terms

    @property
    def structural(self) -> bool:
        """Seen in several years and among large numbers: a rule of the data, not a coincidence."""
        return self.years >= MIN_YEARS and self.strong >= MIN_SUPPORT

    def text(self) -> str:
        if self.kind == "hierarchy":
            return f"{self.terms[0][0]}: Summe der Teilgebiete = übergeordnetes Gebiet"
        if self.kind == "flow":
            (change, _), (stock, _) = self.terms
            return f"{change} = {stock} (Jahr) − {stock} (Vorjahr)"
        first, *rest = sorted(self.terms, key=lambda t: (-abs(t[1]), t[1] < 0, t[0]))
        sign = 1 if first[1] > 0 else -1
        right = " ".join(("− " if -sign * c < 0 else "+ ") + name for name, c in rest).lstrip("+ ")
        return f"{first[0]} = {right}"


@dataclass
class SearchResult:
    found: list[FoundRelation]             # every identity found (declared or not)
    undeclared: list[FoundRelation]        # found in several years but not implied by the declared relations
    incidental: list[FoundRelation] = field(default_factory=list)   # undeclared, seen in one year only
    seconds: float = 0.0


def _family_of(concept: str) -> str:
    return concept.split("|", 1)[1] if "|" in concept else ""


def _table(counts: pd.DataFrame) -> pd.DataFrame:
    """Rows (area_level, area_code, reference_year) x concepts, true values as float (NaN: no such count)."""
    first = counts.drop_duplicates(["concept", "area_level", "area_code", "reference_year"])
    return first.pivot(index=["area_level", "area_code", "reference_year"], columns="concept", values="value")


def _row_identities(table: pd.DataFrame, concepts: list[str]) -> set[tuple[tuple[str, int], ...]]:
    """Identities sum(c_i x count_i) = 0 with up to five counts and c_i = ±1 among `concepts`,
    holding on every row where all their counts exist. Concepts that exist on different rows (a
    mart published at some area levels only) are searched in passes over the rows they share."""
    present = table[concepts].notna()
    pending, found = set(concepts), set()
    while pending:
        richness = present[sorted(pending)].sum(axis=1).to_numpy()
        rows = np.flatnonzero(richness == richness.max())
        rows = rows[np.linspace(0, len(rows) - 1, min(SAMPLE_ROWS, len(rows))).astype(int)]
        usable = [c for c in concepts if present[c].to_numpy()[rows].all()]
        if not pending & set(usable):
            break
        pending -= set(usable)
        found |= _identities_on(table, usable, rows)
    return found


def _identities_on(table: pd.DataFrame, usable: list[str], rows: np.ndarray) -> set:
    if len(usable) < 2:
        return set()
    sample = table[usable].to_numpy()[rows].astype(np.int64).T    # concept x sample row
    n = len(usable)
    small: dict[bytes, list] = {}
    for size in range(1, MAX_TERMS_SIDE[1] + 1):
        # every sign pattern of a combination at once: (patterns x size) @ (size x rows)
        patterns = np.array([(1, *signs) for signs in itertools.product((1, -1), repeat=size - 1)], dtype=np.int64)
        for combo in itertools.combinations(range(n), size):
            for coefficients, fingerprint in zip(patterns, patterns @ sample[list(combo)]):
                small.setdefault(fingerprint.tobytes(), []).append(tuple(zip(combo, map(int, coefficients))))
    found = set()
    full = table[usable].to_numpy()
    for size in range(1, MAX_TERMS_SIDE[0] + 1):
        patterns = np.array(list(itertools.product((1, -1), repeat=size)), dtype=np.int64)
        for combo in itertools.combinations(range(n), size):
            for signs, fingerprint in zip(patterns, -(patterns @ sample[list(combo)])):
                signs = tuple(map(int, signs))
                for other in small.get(fingerprint.tobytes(), []):
                    if {i for i, _ in other} & set(combo):
                        continue
                    terms = tuple(sorted([*zip(combo, signs), *other]))
                    if _holds(full, terms):
                        found.add(_normalised(tuple((usable[i], c) for i, c in terms)))
    return found


def _holds(full: np.ndarray, terms) -> bool:
    columns = full[:, [i for i, _ in terms]]
    rows = ~np.isnan(columns).any(axis=1)
    if rows.sum() < MIN_SUPPORT:
        return False
    kept = columns[rows]
    if not kept.any():
        return False
    return bool((kept @ np.array([c for _, c in terms], dtype=float) == 0).all())


def _normalised(terms) -> tuple[tuple[str, int], ...]:
    terms = tuple(sorted(terms))
    return terms if terms[0][1] > 0 else tuple((name, -c) for name, c in terms)


def _support(table: pd.DataFrame, terms) -> tuple[int, int, int]:
    """Instances where all counts of the identity exist, their reference years, and those among
    them with a large count."""
    values = table[[name for name, _ in terms]]
    rows = values.notna().all(axis=1).to_numpy()
    strong = int((values.abs().max(axis=1).to_numpy()[rows] >= STRONG_VALUE).sum())
    return int(rows.sum()), int(table.index.get_level_values("reference_year")[rows].nunique()), strong


def _minimal(identities: set, declared: list[dict[str, float]]) -> list:
    """The identities not implied by the declared ones nor by smaller identities kept before: one
    representative per new direction, smallest first."""
    kept = []
    names = sorted({name for d in declared for name in d} | {name for terms in identities for name, _ in terms})
    column = {name: i for i, name in enumerate(names)}

    def vector(terms) -> np.ndarray:
        v = np.zeros(len(names))
        for name, c in terms:
            v[column[name]] = c
        return v

    matrix = np.array([vector(d.items()) for d in declared]) if declared else np.zeros((0, len(names)))
    rank = np.linalg.matrix_rank(matrix) if len(matrix) else 0
    for terms in sorted(identities, key=lambda t: (len(t), t)):
        extended = np.vstack([matrix, vector(terms)])
        new_rank = np.linalg.matrix_rank(extended)
        if new_rank > rank:
            kept.append(terms)
            matrix, rank = extended, new_rank
    return kept


def row_identities(table: pd.DataFrame) -> set:
    concepts = [c for c in table.columns if (table[c].fillna(0) != 0).any()]   # never-zero-only concepts
    families: dict[str, list[str]] = {}
    for concept in concepts:
        families.setdefault(_family_of(concept), []).append(concept)
    ungrouped = families.pop("", [])
    found = set()
    for family in [ungrouped, *(ungrouped + members for members in families.values())] if families else [ungrouped]:
        found |= _row_identities(table, sorted(family))
    return found


def hierarchy_additive(table: pd.DataFrame, areas: pd.DataFrame) -> dict[str, int]:
    """Concepts whose parent area equals the sum of its children in every area and year where all
    exist: concept -> instances."""
    children = areas[areas.parent_area_level.notna()]
    out = {}
    frame = table.reset_index()
    for concept in table.columns:
        series = frame[["area_level", "area_code", "reference_year", concept]].dropna()
        if series.empty or not (series[concept] != 0).any():
            continue
        kids = children.merge(series, on=["area_level", "area_code"])
        sums = kids.groupby(["parent_area_level", "parent_area_code", "reference_year"]).agg(
            total=(concept, "sum"), n=(concept, "size")).reset_index()
        expected = children.groupby(["parent_area_level", "parent_area_code"]).size().rename("kids").reset_index()
        sums = sums.merge(expected, on=["parent_area_level", "parent_area_code"])
        sums = sums[sums.n == sums.kids].merge(
            series.rename(columns={"area_level": "parent_area_level", "area_code": "parent_area_code",
                                   concept: "parent"}),
            on=["parent_area_level", "parent_area_code", "reference_year"])
        if len(sums) >= MIN_SUPPORT and (sums.total == sums.parent).all():
            out[concept] = (len(sums), int(sums.reference_year.nunique()), int((sums.parent.abs() >= STRONG_VALUE).sum()))
    return out


def flows(table: pd.DataFrame) -> list[tuple[str, str, int, int, int]]:
    """Pairs (change, stock) with change(year) = stock(year) − stock(year before) wherever all exist."""
    frame = table.reset_index().set_index(["area_level", "area_code", "reference_year"]).sort_index()
    before = frame.copy()
    before.index = pd.MultiIndex.from_arrays([before.index.get_level_values(0), before.index.get_level_values(1),
                                              before.index.get_level_values(2) + 1], names=before.index.names)
    before = before.reindex(frame.index)
    concepts = [c for c in frame.columns if (frame[c].fillna(0) != 0).any()]
    now, prior = frame[concepts].to_numpy(), before[concepts].to_numpy()
    year_of = frame.index.get_level_values(2).to_numpy()
    out = []
    for s, stock in enumerate(concepts):
        difference = now[:, s] - prior[:, s]
        for c, change in enumerate(concepts):
            if c == s:
                continue
            rows = ~np.isnan(difference) & ~np.isnan(now[:, c])
            if rows.sum() >= MIN_SUPPORT and (now[rows, c] == difference[rows]).all():
                strong = int((np.abs(now[rows, s]) >= STRONG_VALUE).sum())
                out.append((change, stock, int(rows.sum()), len(set(year_of[rows])), strong))
    return out


def search(counts: pd.DataFrame, areas: pd.DataFrame, declared_identities: list[dict[str, float]],
           declared_additive: set[str], declared_flows: set[tuple[str, str]]) -> SearchResult:
    """`counts`: concept, area_level, area_code, reference_year, value (the true values of every
    count the release shows, as in the published model). `declared_identities`: the declared
    within-row relations as {concept: coefficient}; `declared_additive`: concepts the model adds up
    over the hierarchy; `declared_flows`: (change, stock) pairs."""
    started = time.perf_counter()
    table = _table(counts)
    found: list[FoundRelation] = []
    undeclared: list[FoundRelation] = []
    identities = row_identities(table)
    for terms in identities:
        found.append(FoundRelation("identity", terms, *_support(table, terms)))
    # a count that is zero wherever it exists adds nothing to a relation (the search leaves it out)
    informative = {c for c in table.columns if (table[c].fillna(0) != 0).any()}
    declared = [{name: c for name, c in terms.items() if name in informative} for terms in declared_identities]
    for terms in _minimal(identities, [d for d in declared if d]):
        undeclared.append(FoundRelation("identity", terms, *_support(table, terms)))
    for concept, (support, years, strong) in sorted(hierarchy_additive(table, areas).items()):
        relation = FoundRelation("hierarchy", ((concept, 1),), support, years, strong)
        found.append(relation)
        if concept not in declared_additive:
            undeclared.append(relation)
    for change, stock, support, years, strong in flows(table):
        relation = FoundRelation("flow", ((change, 1), (stock, -1)), support, years, strong)
        found.append(relation)
        if (change, stock) not in declared_flows:
            undeclared.append(relation)
    # seen in a single year or among small numbers only, an identity may be a property of this data
    # (a small group without births): the audit uses it for this release; a structural one must be
    # stated in the model
    structural = [r for r in undeclared if r.structural]
    incidental = [r for r in undeclared if not r.structural]
    return SearchResult(found, structural, incidental, time.perf_counter() - started)
