"""An outsider's attack on a published release: what can a reader with SQL and an LP solver recover?

The attack reads nothing but the release's own DuckDB file (tables, columns, types, comments). It
knows none of the producer's disclosure rules or relation files; every relation it uses is
*discovered from the published numbers* and kept only where it holds on every instance on which all
of its terms are published (with at least `MIN_SUPPORT` such instances):

* ``same_number``   the same number in two series or tables (equal wherever both are published)
* ``lagged_same``   the same number one year later (``B(y) = A(y-1)``, e.g. a denominator "last year's residents")
* ``hierarchy``     parent area = sum of its child areas, per series
* ``identity``      a linear identity with coefficients +-1 between up to 5 series in one (area, year),
                    found by meet-in-the-middle over fingerprints of a few sampled rows
* ``partition``     a total = the sum of a series over every value of one key column (e.g. all groups)
* ``stock_flow``    ``A(y) - A(y-1) = B(y)``
* ``rate``          a published (rounded) rate or value column with its numerator / denominator:
                    ``m*N - (v+h)*D <= 0 <= m*N - (v-h)*D``, linear even where N and D are both hidden;
                    a published number rounded to a count (``v-h <= N <= v+h``) is the case D = 1

Small releases publish few complete instances per series, so evidence is pooled where a reader would
pool it: a published column is additive over the area hierarchy if every one of its series is wherever
checkable (together on MIN_SUPPORT instances), and an identity or stock/flow relation found for one
value of a key column (say the group DEUTSCH) is believed for the other values (every group) if it
holds wherever checkable for all of them, together on MIN_SUPPORT instances. Support counts only
instances with a term of at least MIN_TERM, so that series of ones and zeros do not "relate" by chance.

Every suppressed count becomes an unknown, >= 0 unless its series is negative somewhere it is
published or most of its sibling series (the same measure of the other groups) are. Unknowns that a
relation fixes alone are substituted; for every other one HiGHS gives the minimum and the maximum over
the linear system of its connected component (primal simplex, warm-started from the last basis).

``python -m tests.release_attack <release.duckdb> [--truth <warehouse.duckdb>]`` prints the result
per table; with the unpublished truth it also judges every hidden cell against the protection the
release promises (a hidden 1 or 2 must keep every value in [0, v+3] possible, a hidden -1/-2 every
value in [v-3, 0]; every other primary-suppressed number must stay at least one unit wide).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import highspy
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

MIN_SUPPORT = 10            # instances on which a relation must hold, fully published, to be believed
MIN_TERM = 5                # ... counted only where a term is at least this large (no coincidences of ones)
MAX_IDENTITY_TERMS = 5
MULTIPLIERS = (1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0)
INT_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
             "UBIGINT"}
FLOAT_TYPES = {"DOUBLE", "FLOAT", "REAL"}
P1, P2 = 2147483647, 2147483629   # two primes below 2**31: fingerprints in 62 bits, integer arithmetic
NO_YEAR = -1                       # the "year" of tables without one


def _is_int(t: str) -> bool:
    return t.upper() in INT_TYPES


def _is_float(t: str) -> bool:
    t = t.upper()
    return t in FLOAT_TYPES or t.startswith("DECIMAL") or t.startswith("NUMERIC")


# --------------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------------

@dataclass
class CellInterval:
    """One hidden count and what the attack knows about it."""
    table: str
    column: str
    key: tuple                      # ((key column, value), ...) besides area and year
    area_level: str | None
    area_code: str
    year: int | None
    lo: float                       # integer bounds (ceil of the LP minimum, floor of the maximum)
    hi: float
    via: frozenset = frozenset()    # kinds of relations that bound it
    solved: bool = True             # False when the time limit stopped the solver first
    evidence: tuple = ()            # some of the relations (or the published copy) that give it away

    @property
    def exact(self) -> bool:
        return self.solved and math.isfinite(self.lo) and self.lo == self.hi

    @property
    def width(self) -> float:
        return self.hi - self.lo

    def label(self) -> str:
        key = ", ".join(f"{k}={v}" for k, v in self.key)
        return (f"{self.table}.{self.column}[{key}{', ' if key else ''}{self.area_level}/{self.area_code}, "
                f"{self.year}]")


@dataclass
class Relation:
    kind: str
    text: str
    support: int
    instances: int = 0              # constraint rows it contributed (instances with a hidden term)
    detail: dict = field(default_factory=dict)


@dataclass
class AttackResult:
    cells: list[CellInterval]
    relations: list[Relation]
    tables: dict[str, dict]         # table -> what was discovered (area, year, key columns, counts)
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def relations_by_kind(self) -> Counter:
        return Counter(r.kind for r in self.relations)

    def rows_by_kind(self) -> Counter:
        c: Counter = Counter()
        for r in self.relations:
            c[r.kind] += r.instances
        return c

    def exact(self) -> list[CellInterval]:
        return [c for c in self.cells if c.exact]

    def narrowest(self) -> CellInterval | None:
        solved = [c for c in self.cells if c.solved]
        return min(solved, key=lambda c: (c.width, c.lo), default=None)


# --------------------------------------------------------------------------------------------------
# discovery of the release's structure
# --------------------------------------------------------------------------------------------------

@dataclass
class Areas:
    table: str
    code_col: str
    level_col: str | None
    parent: dict                    # (level, code) -> (level, code)
    levels_of_code: dict            # code -> set of levels
    all: list                       # [(level, code)]

    @property
    def codes(self) -> set:
        return set(self.levels_of_code)

    @property
    def levels(self) -> set:
        return {lvl for lvl, _ in self.all}


@dataclass
class TableInfo:
    name: str
    comment: str | None
    code_col: str
    level_col: str | None
    year_col: str | None
    dims: list[str]
    count_cols: list[str]
    float_cols: list[str]
    flags: dict                     # measure column -> flag column (or None)
    rows: int = 0
    hidden_counts: int = 0


def _columns(con) -> pd.DataFrame:
    return con.execute(
        "SELECT schema_name, table_name, column_name, data_type, comment FROM duckdb_columns() "
        "WHERE database_name = current_database() AND NOT internal "
        "AND schema_name NOT IN ('information_schema', 'pg_catalog') ORDER BY schema_name, table_name, "
        "column_index").df()


def _tables(con) -> pd.DataFrame:
    return con.execute(
        "SELECT schema_name, table_name, comment FROM duckdb_tables() WHERE database_name = current_database() "
        "AND NOT internal AND schema_name NOT IN ('information_schema', 'pg_catalog') "
        "UNION ALL SELECT schema_name, view_name, comment FROM duckdb_views() "
        "WHERE database_name = current_database() AND NOT internal "
        "AND schema_name NOT IN ('information_schema', 'pg_catalog') ORDER BY 1, 2").df()


def _read(con, qualified: str) -> pd.DataFrame:
    schema, table = qualified.split(".", 1)
    return con.execute(f'SELECT * FROM "{schema}"."{table}"').df()


def _find_areas(con, cols: pd.DataFrame) -> Areas | None:
    """The area dimension: the table with a column X and a column parent_X (code and level)."""
    best = None
    for (schema, table), g in cols.groupby(["schema_name", "table_name"]):
        names = list(g.column_name)
        pairs = [c for c in names if f"parent_{c}" in names]
        if not pairs:
            continue
        df = _read(con, f"{schema}.{table}")
        def codeness(c):       # the code has the most distinct values; names break ties (one area)
            hint = any(w in c.lower() for w in ("code", "id", "key", "schluessel", "nr"))
            hint -= any(w in c.lower() for w in ("level", "ebene", "type", "typ"))
            return df[c].nunique(), hint
        ranked = sorted(pairs, key=codeness, reverse=True)
        code, level = ranked[0], (ranked[1] if len(ranked) > 1 else None)
        if best is None or len(df) > len(best[1]):
            best = (f"{schema}.{table}", df, code, level)
    if best is None:
        return None
    name, df, code, level = best
    parent, levels_of_code, allareas = {}, defaultdict(set), []
    for row in df.itertuples(index=False):
        r = row._asdict()
        lvl = r[level] if level else None
        me = (lvl, str(r[code]))
        allareas.append(me)
        levels_of_code[me[1]].add(lvl)
        pc = r[f"parent_{code}"]
        if pc is not None and not (isinstance(pc, float) and math.isnan(pc)):
            plvl = r[f"parent_{level}"] if level else None
            if plvl is None and level:
                continue
            parent[me] = (plvl, str(pc))
    return Areas(name, code, level, parent, dict(levels_of_code), allareas)


def _analyse(name: str, comment, df: pd.DataFrame, types: dict, areas: Areas) -> TableInfo | None:
    flags = [c for c, t in types.items() if t.upper() == "BOOLEAN" and (c == "is_suppressed"
                                                                          or c.endswith("_is_suppressed"))]
    text = [c for c, t in types.items() if t.upper() == "VARCHAR" and not c.startswith("parent_")]
    code_col, level_col = None, None
    best = 0
    for c in text:
        vals = set(df[c].dropna().astype(str))
        if vals and vals <= areas.codes and len(vals) > best:
            code_col, best = c, len(vals)
    if code_col is None:
        return None
    for c in text:
        if c != code_col:
            vals = set(df[c].dropna().astype(str))
            if vals and vals <= areas.levels:
                level_col = c
                break
    if level_col is None and any(len(v) > 1 for v in areas.levels_of_code.values()):
        return None
    years = []
    for c, t in types.items():
        if _is_int(t) and ("year" in c.lower() or "jahr" in c.lower()):
            v = df[c].dropna()
            if len(v) and v.between(1800, 2200).all():
                years.append(c)
    year_col = None
    if years:
        year_col = sorted(years, key=lambda c: (df[c].nunique(), c == "reference_year"), reverse=True)[0]
    key = [c for c in (level_col, code_col, year_col) if c]
    tiers = [
        [c for c in text if c not in (code_col, level_col)]
        + [c for c, t in types.items() if t.upper() == "BOOLEAN" and c not in flags],
        [c for c, t in types.items() if _is_int(t) and c != year_col and df[c].notna().all()
         and df[c].nunique() <= 50],
    ]
    dims: list[str] = []
    if len(df):
        current = df.groupby(key, dropna=False).ngroups if key else 1
        while current < len(df):
            chosen = None
            for tier in tiers:
                scored = [(df.groupby(key + dims + [c], dropna=False).ngroups, c) for c in tier
                          if c not in dims]
                scored = [s for s in scored if s[0] > current]
                if scored:
                    chosen = max(scored, key=lambda s: (s[0], -df[s[1]].nunique()))
                    break
            if chosen is None:
                return None
            current, c = chosen
            dims.append(c)
    counts = [c for c, t in types.items() if _is_int(t) and c != year_col and c not in dims and c not in years]
    floats = [c for c, t in types.items() if _is_float(t) and c not in dims]
    if not counts and not floats:
        return None
    names = set(types)
    flag_of = {c: (f"{c}_is_suppressed" if f"{c}_is_suppressed" in names
                   else ("is_suppressed" if "is_suppressed" in names else None)) for c in counts + floats}
    return TableInfo(name, comment, code_col, level_col, year_col, dims, counts, floats, flag_of, len(df))


# --------------------------------------------------------------------------------------------------
# series
# --------------------------------------------------------------------------------------------------

@dataclass
class SeriesMeta:
    table: str
    column: str
    key: tuple
    is_count: bool
    decimals: int = 0
    signed: bool = False            # may be negative (an unknown of it is free, not >= 0)


class Universe:
    """Instances (area level, area code, year) and the series over them as dense matrices."""

    def __init__(self, areas: Areas, years: list[int]):
        self.areas = areas
        self.years = sorted(years)
        self.inst = [(lvl, code, y) for (lvl, code) in areas.all for y in self.years]
        self.index = {t: i for i, t in enumerate(self.inst)}
        n = len(self.inst)
        self.prev = np.full(n, -1)
        for i, (lvl, code, y) in enumerate(self.inst):
            if y != NO_YEAR:
                self.prev[i] = self.index.get((lvl, code, y - 1), -1)
        # hierarchy: parent instance -> child instances, per (child level, parent level)
        children = defaultdict(list)
        for a, p in areas.parent.items():
            children[p].append(a)
        self.family: dict[tuple, list[tuple[int, list[int]]]] = defaultdict(list)
        for p, kids in children.items():
            pair = (kids[0][0], p[0])
            for y in self.years:
                pi = self.index.get((p[0], p[1], y))
                ki = [self.index.get((k[0], k[1], y)) for k in kids]
                if pi is not None and all(k is not None for k in ki):
                    self.family[pair].append((pi, ki))
        self.meta: list[SeriesMeta] = []
        self._v: list[np.ndarray] = []
        self._h: list[np.ndarray] = []

    def add(self, meta: SeriesMeta, idx: np.ndarray, values: np.ndarray, hidden: np.ndarray) -> None:
        v = np.full(len(self.inst), np.nan)
        h = np.zeros(len(self.inst), bool)
        v[idx] = values
        h[idx] = hidden
        self.meta.append(meta)
        self._v.append(v)
        self._h.append(h)

    def freeze(self) -> None:
        n = len(self.inst)
        self.V = np.vstack(self._v) if self._v else np.zeros((0, n))
        self.H = np.vstack(self._h) if self._h else np.zeros((0, n), bool)
        self.P = ~np.isnan(self.V)
        del self._v, self._h


def _decimals(values: np.ndarray) -> int:
    v = values[~np.isnan(values)]
    for d in range(0, 7):
        s = v * 10 ** d
        if np.all(np.abs(s - np.round(s)) < 1e-6 * np.maximum(1, np.abs(s)) + 1e-9):
            return d
    return 7


def load_release(con) -> tuple[Universe | None, dict[str, TableInfo], list[str]]:
    notes: list[str] = []
    cols = _columns(con)
    tabs = _tables(con)
    areas = _find_areas(con, cols)
    if areas is None:
        return None, {}, ["keine Gebietsdimension (Spalten X und parent_X) gefunden"]
    infos: dict[str, TableInfo] = {}
    frames: dict[str, pd.DataFrame] = {}
    years: set[int] = set()
    for row in tabs.itertuples(index=False):
        name = f"{row.schema_name}.{row.table_name}"
        if name == areas.table:
            continue
        g = cols[(cols.schema_name == row.schema_name) & (cols.table_name == row.table_name)]
        types = dict(zip(g.column_name, g.data_type))
        if not any(_is_int(t) or _is_float(t) for t in types.values()):
            continue
        df = _read(con, name)
        info = _analyse(name, row.comment, df, types, areas)
        if info is None:
            continue
        infos[name] = info
        frames[name] = df
        if info.year_col:
            years |= set(int(y) for y in df[info.year_col].dropna())
        else:
            years.add(NO_YEAR)
    if not years:
        years = {NO_YEAR}
    uni = Universe(areas, sorted(years))
    for name, info in infos.items():
        df = frames[name]
        codes = df[info.code_col].astype(str)
        if info.level_col:
            levels = df[info.level_col].astype(str)
        else:
            levels = codes.map(lambda c: next(iter(areas.levels_of_code.get(c, {None}))))
        yrs = df[info.year_col].astype("Int64") if info.year_col else pd.Series([NO_YEAR] * len(df))
        inst = np.array([uni.index.get((l, c, (NO_YEAR if pd.isna(y) else int(y))), -1)
                         for l, c, y in zip(levels, codes, yrs)], dtype=int)
        keep = inst >= 0
        if not keep.all():
            notes.append(f"{name}: {int((~keep).sum())} Zeilen ohne bekanntes Gebiet/Jahr ignoriert")
        groups = (df.groupby(info.dims, dropna=False, sort=True).indices if info.dims
                  else {(): np.arange(len(df))})
        for col in info.count_cols + info.float_cols:
            values = df[col].to_numpy(dtype=float, na_value=np.nan)
            flag = info.flags[col]
            flagged = (df[flag].fillna(False).to_numpy(dtype=bool) if flag else np.zeros(len(df), bool))
            hidden = np.isnan(values) & flagged
            for gkey, rows in groups.items():
                rows = rows[keep[rows]]
                if not len(rows):
                    continue
                gk = gkey if isinstance(gkey, tuple) else (gkey,)
                v = values[rows]
                if np.isnan(v).all():       # never published: the column does not apply here
                    continue
                is_count = col in info.count_cols
                meta = SeriesMeta(name, col, tuple(zip(info.dims, gk)), is_count)
                if not is_count:
                    meta.decimals = _decimals(v)
                uni.add(meta, inst[rows], v, hidden[rows])
                if is_count:
                    info.hidden_counts += int(hidden[rows].sum())
    uni.freeze()
    _signedness(uni)
    return uni, infos, notes


def _signedness(uni: Universe) -> None:
    """A series is signed if it is negative somewhere it is published, or if most of its siblings are
    (the same measure of the other groups: a net flow that happens to be positive wherever a small
    group's is published is still a net flow)."""
    for s, m in enumerate(uni.meta):
        m.signed = bool((uni.V[s, uni.P[s]] < 0).any())
    negative = [m.signed for m in uni.meta]
    families = defaultdict(list)
    for s, m in enumerate(uni.meta):
        for d in range(len(m.key)):
            families[(m.table, m.column, d, m.key[:d] + m.key[d + 1:])].append(s)
    for members in families.values():
        if len(members) >= 3:
            for s in members:
                others = [negative[o] for o in members if o != s]
                if sum(others) > 0.5 * len(others):
                    uni.meta[s].signed = True


# --------------------------------------------------------------------------------------------------
# relation discovery (from published numbers only)
# --------------------------------------------------------------------------------------------------

class UnionFind:
    def __init__(self, n):
        self.p = list(range(n))

    def find(self, a):
        while self.p[a] != a:
            self.p[a] = self.p[self.p[a]]
            a = self.p[a]
        return a

    def union(self, a, b):
        a, b = self.find(a), self.find(b)
        if a != b:
            self.p[max(a, b)] = min(a, b)


def _equal_rows(A: np.ndarray, B: np.ndarray, min_support: int, skip_diagonal=False):
    """Pairs (i, j): A[i] == B[j] wherever both are published, on >= min_support nonzero instances."""
    PA, PB = ~np.isnan(A), ~np.isnan(B)
    nzB = PB & (np.abs(B) >= MIN_TERM)
    out = []
    for i in range(len(A)):
        both = PA[i] & PB
        if not both.any():
            continue
        support = (both & nzB).sum(1)
        cand = np.nonzero(support >= min_support)[0]
        if not len(cand):
            continue
        diff = np.where(both[cand], np.abs(A[i] - B[cand]), 0.0)
        ok = cand[(diff < 1e-9).all(1)]
        for j in ok:
            if skip_diagonal and j == i:
                continue
            # informative: the common values vary (two series of ones are not the same number)
            if len(np.unique(B[j, both[j]])) < 3:
                continue
            out.append((i, int(j), int(support[j])))
    return out


class Model:
    """Classes of series (the same number), relations over them, and the constraint rows."""

    def __init__(self, uni: Universe, min_support: int = MIN_SUPPORT):
        self.uni = uni
        self.ms = min_support
        self.relations: list[Relation] = []
        self.rows: list[tuple] = []     # (kind, relation index, [(cell, coef)], const, lo, hi)
        self.cell_edges: list[tuple[int, int, int]] = []   # (cell a, cell b, relation index)

    # ---- same number --------------------------------------------------------------------------
    def merge_same_numbers(self):
        u = self.uni
        counts = np.array([m.is_count for m in u.meta], bool)
        self.count_ids = np.nonzero(counts)[0]
        self.float_ids = np.nonzero(~counts)[0]
        V = u.V[self.count_ids]
        uf = UnionFind(len(self.count_ids))
        for i, j, s in _equal_rows(V, V, self.ms):
            if i < j:
                uf.union(i, j)
                a, b = u.meta[self.count_ids[i]], u.meta[self.count_ids[j]]
                self.relations.append(Relation("same_number", f"{_name(a)} = {_name(b)}", s))
        roots = sorted({uf.find(i) for i in range(len(self.count_ids))})
        pos = {r: k for k, r in enumerate(roots)}
        self.class_of_series = {int(self.count_ids[i]): pos[uf.find(i)] for i in range(len(self.count_ids))}
        C, n = len(roots), len(u.inst)
        self.members = defaultdict(list)
        for s, k in self.class_of_series.items():
            self.members[k].append(s)
        self.CV = np.full((C, n), np.nan)
        self.CH = np.zeros((C, n), bool)
        self.CPr = np.zeros((C, n), bool)
        self.signed = np.zeros(C, bool)
        for s, k in self.class_of_series.items():
            pub = u.P[s]
            self.CV[k, pub] = u.V[s, pub]
            self.CPr[k] |= pub | u.H[s]
            self.signed[k] |= u.meta[s].signed
        self.CP = ~np.isnan(self.CV)
        self.CH = self.CPr & ~self.CP
        self.C = C
        self.class_name = {}
        for k, mem in self.members.items():
            names = sorted({_name(u.meta[s]) for s in mem}, key=lambda x: (len(x), x))
            self.class_name[k] = names[0] + (f" (= {len(names) - 1} weitere)" if len(names) > 1 else "")

    def cell(self, k: int, i: int) -> int:
        return k * len(self.uni.inst) + i

    def _lagged(self, M):
        prev = self.uni.prev
        L = np.full_like(M, np.nan)
        ok = prev >= 0
        L[:, ok] = M[:, prev[ok]]
        return L

    def _add(self, kind, text, support) -> int:
        self.relations.append(Relation(kind, text, support))
        return len(self.relations) - 1

    # ---- one year later ------------------------------------------------------------------------
    def lagged_same(self):
        L = self._lagged(self.CV)
        prev = self.uni.prev
        for k, j, s in _equal_rows(L, self.CV, self.ms, skip_diagonal=True):
            r = self._add("lagged_same", f"{self.class_name[j]} (y) = {self.class_name[k]} (y-1)", s)
            for i in np.nonzero((prev >= 0) & self.CPr[j])[0]:
                if self.CPr[k, prev[i]] and (self.CH[j, i] or self.CH[k, prev[i]]):
                    self.cell_edges.append((self.cell(k, prev[i]), self.cell(j, i), r))

    # ---- stock and flow ------------------------------------------------------------------------
    def stock_flow(self):
        L = self._lagged(self.CV)
        D = self.CV - L                    # NaN unless both years published
        prev = self.uni.prev
        found = []
        for sign in (1, -1):
            for k, j, s in _equal_rows(sign * D, self.CV, self.ms):
                if k != j:
                    found.append((k, j, sign, s))
        # the same for the other values of a key column (every group), on MIN_SUPPORT instances together
        def check(k, j, sign):
            both = ~np.isnan(D[k]) & self.CP[j]
            if np.any(np.abs(sign * D[k, both] - self.CV[j, both]) > 1e-9):
                return -1
            return int((both & (np.abs(self.CV[j]) >= MIN_TERM)).sum())
        have = {(k, j, sign) for k, j, sign, _ in found}
        for k, j, sign, s in list(found):
            for anchor, variants in self._siblings([(k, 1), (j, 1)]).items():
                checked = [((v[0][0], v[1][0]), check(v[0][0], v[1][0], sign)) for v in variants]
                if any(sup < 0 for _, sup in checked) or s + sum(sup for _, sup in checked) < self.ms:
                    continue
                for (k2, j2), _ in checked:
                    if (k2, j2, sign) not in have:
                        have.add((k2, j2, sign))
                        found.append((k2, j2, sign, s + sum(sup for _, sup in checked)))
        for k, j, sign, s in found:
            r = self._add("stock_flow", f"{self.class_name[k]} (y) - (y-1) = {'' if sign > 0 else '-'}"
                          f"{self.class_name[j]} (y)", s)
            for i in np.nonzero((prev >= 0) & self.CPr[j] & self.CPr[k])[0]:
                p = prev[i]
                if not self.CPr[k, p]:
                    continue
                if self.CH[j, i] or self.CH[k, i] or self.CH[k, p]:
                    self._row("stock_flow", r, [(self.cell(k, i), sign), (self.cell(k, p), -sign),
                                                (self.cell(j, i), -1)])

    def _row(self, kind, rel, terms, lo=0.0, hi=0.0):
        self.rows.append((kind, rel, terms, lo, hi))
        self.relations[rel].instances += 1

    # ---- area hierarchy --------------------------------------------------------------------------
    def _hierarchy_check(self, k, fam, missing_is_zero):
        """(violations, support) of parent = sum of children for class k over one pair of levels."""
        viol = supp = 0
        for pi, kids in fam:
            if not self.CP[k, pi]:
                continue
            vals = []
            for c in kids:
                if self.CP[k, c]:
                    vals.append(self.CV[k, c])
                elif not self.CPr[k, c] and missing_is_zero:
                    vals.append(0.0)
                else:
                    break
            else:
                if abs(sum(vals) - self.CV[k, pi]) > 1e-9:
                    viol += 1
                elif abs(self.CV[k, pi]) >= MIN_TERM and sum(1 for x in vals if x) >= 2:
                    supp += 1
        return viol, supp

    def hierarchy(self):
        """parent = sum of children, per class and pair of levels. Believed where the class itself has
        MIN_SUPPORT checkable instances without a violation, or where every class of one published
        column (e.g. all groups of a measure) is additive wherever checkable, with that support together."""
        u = self.uni
        status = {}         # (class, pair) -> (missing_is_zero, support) ; absent: violated
        for k in range(self.C):
            for pair, fam in u.family.items():
                for missing_is_zero in (True, False):
                    viol, supp = self._hierarchy_check(k, fam, missing_is_zero)
                    if viol == 0:
                        status[(k, pair)] = (missing_is_zero, supp)
                        break
        pairs = list(u.family)
        accepted: dict[tuple, int] = {}
        for k in range(self.C):
            total = sum(status[(k, p)][1] for p in pairs if (k, p) in status)
            if total >= self.ms:
                for p in pairs:
                    if (k, p) in status and status[(k, p)][1] >= 1:
                        accepted[(k, p)] = total
        columns = defaultdict(set)
        for s, k in self.class_of_series.items():
            columns[(u.meta[s].table, u.meta[s].column)].add(k)
        for col, ks in columns.items():
            for p in pairs:
                if any((k, p) not in status for k in ks):
                    continue        # some class of this column is not additive here
                pooled = sum(status[(k, p)][1] for k in ks)
                if pooled >= self.ms:
                    for k in ks:
                        accepted.setdefault((k, p), pooled)
        for (k, pair), support in sorted(accepted.items(), key=lambda x: (x[0][0], pairs.index(x[0][1]))):
            missing_is_zero = status[(k, pair)][0]
            r = self._add("hierarchy", f"{self.class_name[k]}: {pair[1]} = sum of {pair[0]}", support)
            for pi, kids in u.family[pair]:
                if not self.CPr[k, pi]:
                    continue
                if not all(self.CPr[k, c] or missing_is_zero for c in kids):
                    continue
                terms = [(self.cell(k, pi), 1.0)] + [(self.cell(k, c), -1.0) for c in kids if self.CPr[k, c]]
                if any(self.CH[k, i] for i in [pi] + kids if self.CPr[k, i]):
                    self._row("hierarchy", r, terms)

    # ---- identities within one (area, year) ------------------------------------------------------
    def _verify(self, terms, min_instances: int | None = None) -> int:
        """Support of sum(coef * class) = 0 on fully published instances; -1 if violated anywhere."""
        ks = [k for k, _ in terms]
        allpub = self.CP[ks].all(0)
        if allpub.sum() < (self.ms if min_instances is None else min_instances):
            return -1
        tot = sum(c * self.CV[k, allpub] for k, c in terms)
        if np.any(np.abs(tot) > 1e-9):
            return -1
        vals = np.vstack([self.CV[k, allpub] for k in ks])
        nz = ((vals != 0).sum(0) >= 2) & (np.abs(vals).max(0) >= MIN_TERM)
        return int(nz.sum())

    def _identity_rows(self, kind, terms, text, support):
        r = self._add(kind, text, support)
        ks = [k for k, _ in terms]
        pres = self.CPr[ks].all(0)
        hid = self.CH[ks].any(0)
        for i in np.nonzero(pres & hid)[0]:
            self._row(kind, r, [(self.cell(k, i), float(c)) for k, c in terms])

    def identities(self, rng: np.random.Generator, rounds: int = 16, probes: int = 4, time_budget: float = 60.0):
        t0 = time.time()
        basis = _ModBasis(self.C)
        found = []
        informative = (self.CP.sum(1) >= self.ms) & ((self.CP & (self.CV != 0)).sum(1) >= 3)
        uncovered = informative.copy()
        seen_probe_sets = set()
        for rnd in range(rounds):
            if time.time() - t0 > time_budget or not uncovered.any():
                break
            # probe rows: instances where many classes are published, above all classes no earlier
            # round could fingerprint
            chosen: list[int] = []
            alive = informative.copy()
            for _ in range(probes):
                score = 8.0 * self.CP[alive & uncovered].sum(0) + self.CP[alive].sum(0)
                score = score.astype(float) + rng.random(score.shape[0]) * 0.5
                score[chosen] = -1
                i = int(np.argmax(score))
                if score[i] < 1:
                    break
                chosen.append(i)
                alive &= self.CP[:, i]
            key = tuple(sorted(chosen))
            if len(chosen) < 3 or key in seen_probe_sets or not (alive & uncovered).any():
                break
            seen_probe_sets.add(key)
            cls = np.nonzero(alive)[0]
            X = self.CV[np.ix_(cls, chosen)].astype(np.int64)
            nonconst = ~(X == 0).all(1)
            cls, X = cls[nonconst], X[nonconst]
            uncovered[cls] = False
            if len(cls) < 2:
                continue
            r1 = rng.integers(1, P1, size=len(chosen), dtype=np.int64)
            r2 = rng.integers(1, P2, size=len(chosen), dtype=np.int64)
            h1 = ((X % P1) * r1 % P1).sum(1) % P1
            h2 = ((X % P2) * r2 % P2).sum(1) % P2
            for terms in _mitm(h1, h2, MAX_IDENTITY_TERMS):
                t = [(int(cls[a]), s) for a, s in terms]
                found.append(t)
        # verify on all rows, smallest first; keep those not implied by the ones already kept
        found.sort(key=len)
        done = set()
        accepted: list[dict] = []
        for t in found:
            key = tuple(sorted(t))
            if key in done:
                continue
            done.add(key)
            # an identity that contains a smaller one (e.g. a true one plus a chance equality of two
            # small series) stands only through its remainder
            td = dict(t)
            for a in accepted:
                for sign in (1, -1):
                    if len(a) < len(td) and all(td.get(k) == sign * c for k, c in a.items()):
                        td = {k: c for k, c in td.items() if k not in a}
                        break
            t = sorted(td.items())
            if len(t) < 2 or not basis.independent(t):
                continue
            s = self._verify(t)
            if s < self.ms:
                continue
            accepted.append(dict(t))
            basis.add(t)
            self._identity_rows("identity", t, self._identity_text(t), s)
        # the same identity for the other values of a key column (e.g. every group), believed where it
        # holds wherever checkable for every value and on MIN_SUPPORT instances together
        for t in [sorted(a.items()) for a in accepted]:
            for anchor, variants in self._siblings(t).items():
                checked = [(v, self._verify(v, 0)) for v in variants]
                if any(sup < 0 for _, sup in checked):
                    continue
                pooled = self._verify(t, 0) + sum(sup for _, sup in checked)
                if pooled < self.ms:
                    continue
                for v, _ in checked:
                    v = [(k, c) for k, c in v if c]
                    if len(v) >= 2 and basis.independent(v):
                        basis.add(v)
                        self._identity_rows("identity", v, self._identity_text(v) + f" (wie für {anchor})",
                                            pooled)
        self.identity_basis = basis

    def _identity_text(self, t) -> str:
        return " ".join(f"{'+' if c > 0 else '-'} {self.class_name[k]}" for k, c in t) + " = 0"

    def _siblings(self, terms) -> dict:
        """Variants of a relation between classes: one key column's value changed in every term (the
        terms being series of one table that share that value). {anchor: [variant terms, ...]}"""
        u = self.uni
        if not hasattr(self, "_series_index"):
            self._series_index = {(m.table, m.column, m.key): s for s, m in enumerate(u.meta)}
            self._dim_values = defaultdict(set)
            for m in u.meta:
                for name, val in m.key:
                    self._dim_values[(m.table, name)].add(val)
        per_term = []
        for k, _ in terms:
            opts = {}
            for s in self.members.get(k, []):
                m = u.meta[s]
                for name, val in m.key:
                    opts.setdefault((m.table, name, val), s)
            per_term.append(opts)
        if not per_term:
            return {}
        common = set(per_term[0]).intersection(*per_term[1:])
        out = {}
        for table, name, val in sorted(common, key=str):
            variants = []
            for v2 in sorted(self._dim_values[(table, name)] - {val}, key=str):
                new = []
                for (k, c), opts in zip(terms, per_term):
                    m = u.meta[opts[(table, name, val)]]
                    key2 = tuple((n, v2 if n == name else v) for n, v in m.key)
                    s2 = self._series_index.get((m.table, m.column, key2))
                    if s2 is None or s2 not in self.class_of_series:
                        break
                    new.append((self.class_of_series[s2], c))
                else:
                    merged = defaultdict(float)
                    for k2, c in new:
                        merged[k2] += c
                    if len(set(k for k, _ in new)) == len(new):
                        variants.append(new)
            if variants:
                out[f"{table.split('.')[-1]}.{name}={val}"] = variants
        return out

    def partitions(self):
        """A total equals the sum of one key column's series over all its values (e.g. all groups)."""
        u = self.uni
        basis = getattr(self, "identity_basis", _ModBasis(self.C))
        by_table = defaultdict(list)
        for s, k in self.class_of_series.items():
            m = u.meta[s]
            by_table[(m.table, m.column)].append((s, k))
        cand_sums, cand_terms = [], []
        for (table, col), items in by_table.items():
            if not items or not u.meta[items[0][0]].key:
                continue
            dims = [d for d, _ in u.meta[items[0][0]].key]
            for d in range(len(dims)):
                groups = defaultdict(list)
                for s, k in items:
                    key = u.meta[s].key
                    groups[key[:d] + key[d + 1:]].append((s, k))
                for rest, mem in groups.items():
                    if len(mem) < 2:
                        continue
                    V = np.vstack([u.V[s] for s, _ in mem])
                    present = np.vstack([u.P[s] | u.H[s] for s, _ in mem])
                    # missing rows count as zero; instances with a hidden member are unknown
                    full = ~np.vstack([u.H[s] for s, _ in mem]).any(0) & present.any(0)
                    tot = np.where(full, np.nansum(V, 0), np.nan)
                    cand_sums.append(tot)
                    coef = Counter(k for _, k in mem)
                    cand_terms.append(coef)
        if not cand_sums:
            return
        S = np.vstack(cand_sums)
        for g, k, s in _equal_rows(S, self.CV, self.ms):
            coef = cand_terms[g]
            if k in coef:
                continue
            terms = [(k, 1.0)] + [(m, -float(c)) for m, c in coef.items()]
            if not basis.independent(terms):
                continue
            basis.add(terms)
            text = f"{self.class_name[k]} = sum over " + ", ".join(self.class_name[m][:50] for m in coef)
            self._identity_rows("partition", terms, text[:300], s)

    # ---- rates and rounded values --------------------------------------------------------------
    def rates(self):
        u = self.uni
        n = len(u.inst)
        # numerator / denominator pairs within one row of a table (same table and key values)
        by_row = defaultdict(dict)
        for s, m in enumerate(u.meta):
            by_row[(m.table, m.key)][m.column] = s
        templates = []       # (numerator source, denominator class) ; numerator: ("c", class) or ("f", series)
        seen = set()
        for (table, key), cols in by_row.items():
            for nc, ns in cols.items():
                for dc, ds in cols.items():
                    if ds == ns or not u.meta[ds].is_count:
                        continue
                    num = ("c", self.class_of_series[ns]) if u.meta[ns].is_count else ("f", ns)
                    t = (num, self.class_of_series[ds])
                    if t not in seen and t[0] != ("c", t[1]):
                        seen.add(t)
                        templates.append(t)
        def numvals(src):
            return self.CV[src[1]] if src[0] == "c" else u.V[src[1]]
        R = np.vstack([numvals(a) / np.where(self.CV[d] == 0, np.nan, self.CV[d]) for a, d in templates]) \
            if templates else np.zeros((0, n))
        NZ = np.vstack([np.abs(numvals(a)) >= MIN_TERM for a, _ in templates]) if templates \
            else np.zeros((0, n), bool)
        PR = ~np.isnan(R)
        found = []
        for f in self.float_ids:
            F = u.V[f]
            fm = u.meta[f]
            pf = ~np.isnan(F)
            informative = pf & (np.abs(F) > 0)
            if informative.sum() < self.ms or len(np.unique(F[pf])) < 3:
                continue
            h = 0.5 * 10.0 ** (-fm.decimals) + 1e-9
            tol = h * (1 + 1e-9) + 1e-9 * np.abs(F)
            # a value that is a count, rounded (D = 1)
            both = pf & self.CP
            supp = (both & (np.abs(self.CV) >= MIN_TERM) & informative).sum(1)
            for k in np.nonzero(supp >= self.ms)[0]:
                b = both[k]
                if np.all(np.abs(F[b] - self.CV[k, b]) <= tol[b]):
                    found.append((f, ("c", int(k)), None, 1.0, h, int(supp[k])))
            if not len(templates):
                continue
            both = PR & pf
            supp = (both & NZ & informative).sum(1)
            for t in np.nonzero(supp >= self.ms)[0]:
                num, d = templates[t]
                if num[0] == "f" and (u.meta[num[1]].table, u.meta[num[1]].key) != (fm.table, fm.key):
                    continue        # a published non-count numerator only within its own row
                b = both[t]
                for m in MULTIPLIERS:
                    if np.all(np.abs(F[b] - m * R[t, b]) <= tol[b]):
                        found.append((f, num, d, m, h, int(supp[t])))
                        break
        for f, num, d, m, h, s in found:
            nm = self.class_name[num[1]] if num[0] == "c" else _name(u.meta[num[1]])
            text = (f"{_name(u.meta[f])} = round({m:g} * {nm} / {self.class_name[d]}, {u.meta[f].decimals})"
                    if d is not None else f"{_name(u.meta[f])} = round({nm}, {u.meta[f].decimals})")
            r = self._add("rate", text, s)
            fm = u.meta[f]
            for ns in ([num[1]] if num[0] == "f" else self.members[num[1]]):
                for ds in (self.members[d] if d is not None else []):
                    a, b = u.meta[ns], u.meta[ds]
                    if a.table == b.table == fm.table and a.key == b.key == fm.key:
                        self.relations[r].detail = {"table": fm.table, "key": fm.key, "num": a.column,
                                                    "den": b.column}
            F = u.V[f]
            for i in np.nonzero(~np.isnan(F))[0]:
                v = F[i]
                if num[0] == "c":
                    if not self.CPr[num[1], i]:
                        continue
                    nterm = (self.cell(num[1], i), m)
                    nh = self.CH[num[1], i]
                else:
                    if np.isnan(u.V[num[1], i]):
                        continue
                    nterm = (None, m * u.V[num[1], i])
                    nh = False
                if d is None:
                    if nh:
                        self._row("rate", r, [nterm], v - h, v + h)
                    continue
                if not self.CPr[d, i] or not (nh or self.CH[d, i]):
                    continue
                # m*N - (v+h)*D <= 0  and  m*N - (v-h)*D >= 0
                self._row("rate", r, [nterm, (self.cell(d, i), -(v + h))], -np.inf, 0.0)
                self._row("rate", r, [nterm, (self.cell(d, i), -(v - h))], 0.0, np.inf)


class _ModBasis:
    """Linear independence of coefficient vectors over the classes, exactly (mod a prime)."""

    def __init__(self, n):
        self.rows: dict[int, dict[int, int]] = {}    # pivot -> row

    def _reduce(self, terms):
        v = {}
        for k, c in terms:
            v[k] = (v.get(k, 0) + int(round(c))) % P1
        v = {k: c for k, c in v.items() if c}
        while v:
            piv = min(v)
            if piv not in self.rows:
                return v
            row = self.rows[piv]
            f = v[piv] * pow(row[piv], P1 - 2, P1) % P1
            for k, c in row.items():
                v[k] = (v.get(k, 0) - f * c) % P1
                if not v[k]:
                    del v[k]
        return v

    def independent(self, terms) -> bool:
        return bool(self._reduce(terms))

    def add(self, terms):
        v = self._reduce(terms)
        if v:
            self.rows[min(v)] = v


def _mitm(h1: np.ndarray, h2: np.ndarray, max_terms: int):
    """Signed subsets T (|T| <= max_terms, first sign +) with sum(s * h) = 0 (mod P1, P2) on both hashes.

    Split T (sorted) into a left part (first |T|-r indices) and a right part (last r = min(2, |T|-1)):
    all right parts are tabulated, every left part looks up the negative of its sum."""
    n = len(h1)
    key = lambda a, b: a * (1 << 31) + b
    # right parts: singles and pairs, both signs
    rk, rj, rl, rsj, rsl = [], [], [], [], []
    idx = np.arange(n)
    for s in (1, -1):
        rk.append(key((s * h1) % P1, (s * h2) % P2)); rj.append(idx); rl.append(np.full(n, -1))
        rsj.append(np.full(n, s)); rsl.append(np.zeros(n, int))
    if max_terms >= 3:
        J, L = np.triu_indices(n, 1)
        for s1 in (1, -1):
            for s2 in (1, -1):
                rk.append(key((s1 * h1[J] + s2 * h1[L]) % P1, (s1 * h2[J] + s2 * h2[L]) % P2))
                rj.append(J); rl.append(L); rsj.append(np.full(len(J), s1)); rsl.append(np.full(len(J), s2))
    rk = np.concatenate(rk); rj = np.concatenate(rj); rl = np.concatenate(rl)
    rsj = np.concatenate(rsj); rsl = np.concatenate(rsl)
    order = np.argsort(rk, kind="stable")
    rk, rj, rl, rsj, rsl = rk[order], rj[order], rl[order], rsj[order], rsl[order]
    rsize = np.where(rl >= 0, 2, 1)

    def lookup(l1, l2, left_terms_fn, max_left_index, left_size):
        q = key((-l1) % P1, (-l2) % P2)
        lo = np.searchsorted(rk, q, "left")
        hi = np.searchsorted(rk, q, "right")
        for a in np.nonzero(hi > lo)[0]:
            for b in range(lo[a], min(hi[a], lo[a] + 50)):
                total = left_size + rsize[b]
                if total > max_terms:
                    continue
                want_right = min(2, total - 1)
                if rsize[b] != want_right or rj[b] <= max_left_index[a]:
                    continue
                terms = left_terms_fn(a) + [(int(rj[b]), int(rsj[b]))]
                if rl[b] >= 0:
                    terms.append((int(rl[b]), int(rsl[b])))
                yield terms

    # left singles
    yield from lookup(h1 % P1, h2 % P2, lambda a: [(int(a), 1)], np.arange(n), 1)
    # left pairs (+i +-j)
    if max_terms >= 4:
        I, J = np.triu_indices(n, 1)
        for s in (1, -1):
            yield from lookup((h1[I] + s * h1[J]) % P1, (h2[I] + s * h2[J]) % P2,
                              lambda a, s=s: [(int(I[a]), 1), (int(J[a]), s)], J, 2)
    # left triples (+i +-j +-k), per first index to bound memory
    if max_terms >= 5:
        for i in range(n - 2):
            J, K = np.triu_indices(n - i - 1, 1)
            J, K = J + i + 1, K + i + 1
            for s1 in (1, -1):
                for s2 in (1, -1):
                    yield from lookup((h1[i] + s1 * h1[J] + s2 * h1[K]) % P1,
                                      (h2[i] + s1 * h2[J] + s2 * h2[K]) % P2,
                                      lambda a, s1=s1, s2=s2, J=J, K=K, i=i: [(i, 1), (int(J[a]), s1),
                                                                              (int(K[a]), s2)],
                                      K, 3)


def _name(m: SeriesMeta) -> str:
    key = ",".join(str(v) for _, v in m.key)
    t = m.table.split(".")[-1]
    return f"{t}.{m.column}" + (f"[{key}]" if key else "")


# --------------------------------------------------------------------------------------------------
# solving: propagation, then min and max per connected component with HiGHS
# --------------------------------------------------------------------------------------------------

def _solve(model: Model, deadline: float, stats: dict):
    uni = model.uni
    n_i = len(uni.inst)
    n_cells = model.C * n_i
    # cells joined by "one year later" equalities
    if model.cell_edges:
        a = np.array([e[0] for e in model.cell_edges]); b = np.array([e[1] for e in model.cell_edges])
        g = coo_matrix((np.ones(len(a)), (a, b)), shape=(n_cells, n_cells))
        _, comp = connected_components(g, directed=False)
    else:
        comp = np.arange(n_cells)
    flatV = model.CV.ravel(); flatH = model.CH.ravel(); flatPr = model.CPr.ravel()
    known: dict[int, float] = {}
    known_via: dict[int, set] = {}
    for c in np.nonzero(model.CP.ravel())[0]:
        known.setdefault(int(comp[c]), float(flatV[c]))
    edge_rels = defaultdict(set)
    for a, b, r in model.cell_edges:
        edge_rels[int(comp[a])].add(r)
    var_of: dict[int, int] = {}
    var_comp: list[int] = []
    for c in np.nonzero(flatH)[0]:
        cc = int(comp[c])
        if cc in known:
            if cc in edge_rels:
                known_via[cc] = edge_rels[cc]
            continue
        if cc not in var_of:
            var_of[cc] = len(var_comp)
            var_comp.append(cc)
    nv = len(var_comp)
    lb = np.zeros(nv); ub = np.full(nv, np.inf)
    signed_comp = set()
    for c in np.nonzero(flatPr)[0]:
        if model.signed[c // n_i]:
            signed_comp.add(int(comp[c]))
    for v, cc in enumerate(var_comp):
        if cc in signed_comp:
            lb[v] = -np.inf
    via = [set() for _ in range(nv)]
    # rows in terms of variables
    rows = []      # [dict var->coef, lo, hi, kind]
    for kind, rel, terms, lo, hi in model.rows:
        coefs: dict[int, float] = {}
        const = 0.0
        for cell, c in terms:
            if cell is None:
                const += c
                continue
            cc = int(comp[cell])
            if cc in known:
                const += c * known[cc]
            else:
                v = var_of[cc]
                coefs[v] = coefs.get(v, 0.0) + c
        coefs = {v: c for v, c in coefs.items() if abs(c) > 1e-12}
        if not coefs:
            continue
        rows.append([coefs, lo - const, hi - const, kind, rel])
    # propagation of singletons
    fixed: dict[int, float] = {}
    var_rows = defaultdict(list)
    for r, row in enumerate(rows):
        for v in row[0]:
            var_rows[v].append(r)
    queue = [r for r, row in enumerate(rows) if len(row[0]) == 1]
    while queue:
        r = queue.pop()
        coefs, lo, hi, kind, rel = rows[r]
        if len(coefs) != 1:
            continue
        (v, c), = coefs.items()
        a, b = lo / c, hi / c
        if c < 0:
            a, b = b, a
        changed = False
        if a > ub[v] + 1e-6 or b < lb[v] - 1e-6:
            stats["inconsistent"] = stats.get("inconsistent", 0) + 1
            if abs(a - b) < 1e-9:       # an equality contradicting a bound: believe the equality
                lb[v] = ub[v] = a
        if a > lb[v] + 1e-9:
            lb[v] = a; changed = True
        if b < ub[v] - 1e-9:
            ub[v] = b; changed = True
        if changed:
            via[v].add(rel)
        rows[r][0] = {}
        if ub[v] - lb[v] < 1e-6 and v not in fixed:
            val = 0.5 * (lb[v] + ub[v])
            fixed[v] = val
            for r2 in var_rows[v]:
                cf = rows[r2][0].pop(v, None)
                if cf is None:
                    continue
                rows[r2][1] -= cf * val; rows[r2][2] -= cf * val
                if len(rows[r2][0]) == 1:
                    queue.append(r2)
                    # kinds travel with the value
                    (w, _), = rows[r2][0].items()
                    via[w] |= via[v]
    lo_out = lb.copy(); hi_out = ub.copy()
    solved = np.ones(nv, bool)
    live = [row for row in rows if len(row[0]) >= 2]
    if live:
        # components of the remaining system
        ri, vi = [], []
        for r, row in enumerate(live):
            for v in row[0]:
                ri.append(r); vi.append(v)
        g = coo_matrix((np.ones(len(ri)), (np.array(vi), np.array(ri) + nv)), shape=(nv + len(live),) * 2)
        _, lab = connected_components(g, directed=False)
        comp_vars = defaultdict(list)
        comp_rows = defaultdict(list)
        for v in range(nv):
            if v not in fixed:
                comp_vars[lab[v]].append(v)
        for r in range(len(live)):
            comp_rows[lab[r + nv]].append(r)
        for cid, rs in sorted(comp_rows.items(), key=lambda x: len(comp_vars[x[0]])):
            vs = comp_vars[cid]
            if time.time() > deadline:
                for v in vs:
                    solved[v] = False
                continue
            lo_c, hi_c, via_c, ok = _lp_component(vs, [live[r] for r in rs], lb, ub, deadline, stats)
            stats["lp_components"] = stats.get("lp_components", 0) + 1
            stats["largest_component"] = max(stats.get("largest_component", 0), len(vs))
            for v in vs:
                lo_out[v], hi_out[v] = lo_c[v], hi_c[v]
                via[v] |= via_c.get(v, set())
                solved[v] = ok.get(v, False)
    for v, val in fixed.items():
        lo_out[v] = hi_out[v] = val
    stats["unknowns"] = nv
    stats["fixed_by_substitution"] = len(fixed)
    return comp, known, known_via, var_of, lo_out, hi_out, via, solved


def _lp_component(vs, rows, lb, ub, deadline, stats):
    local = {v: j for j, v in enumerate(vs)}
    n = len(vs)
    ri, ci, val = [], [], []
    rlo, rhi = [], []
    for r, (coefs, lo, hi, kind, *_) in enumerate(rows):
        for v, c in coefs.items():
            ri.append(r); ci.append(local[v]); val.append(c)
        rlo.append(lo); rhi.append(hi)
    A = coo_matrix((val, (ri, ci)), shape=(len(rows), n)).tocsc()
    inf = highspy.kHighsInf
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(rows)
    lp.col_cost_ = np.zeros(n)
    lp.col_lower_ = np.array([max(lb[v], -inf) for v in vs], float)
    lp.col_upper_ = np.array([min(ub[v], inf) for v in vs], float)
    lp.row_lower_ = np.maximum(np.array(rlo, float), -inf)
    lp.row_upper_ = np.minimum(np.array(rhi, float), inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    h.passModel(lp)
    h.run()
    h.setOptionValue("presolve", "off")     # later solves start from the last basis
    h.setOptionValue("simplex_strategy", 4)  # primal simplex: the last basis stays feasible
    lo, hi, via, ok = {}, {}, defaultdict(set), {}
    st = h.getModelStatus()
    if st != highspy.HighsModelStatus.kOptimal:
        stats.setdefault("lp_failures", Counter())["first: " + h.modelStatusToString(st)] += 1
        for v in vs:
            lo[v], hi[v], ok[v] = lb[v], ub[v], False
        return lo, hi, via, ok
    seen_lo = np.array(h.getSolution().col_value)
    seen_hi = seen_lo.copy()
    rels = [row[4] for row in rows]
    last = None
    for v in vs:
        j = local[v]
        res = {}
        for sense in (1, -1):
            if time.time() > deadline:
                break
            if sense == 1 and lb[v] > -inf and seen_lo[j] <= lb[v] + 1e-9:
                res[sense] = lb[v]
                continue
            if last is not None:
                h.changeColCost(last, 0.0)
            h.changeColCost(j, float(sense))
            last = j
            h.run()
            stats["lp_solves"] = stats.get("lp_solves", 0) + 1
            st = h.getModelStatus()
            if st not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kUnbounded):
                h.clearSolver()                      # numerical trouble from the warm start: afresh
                h.run()
                st = h.getModelStatus()
            if st == highspy.HighsModelStatus.kOptimal:
                sol = h.getSolution()
                x = np.array(sol.col_value)
                np.minimum(seen_lo, x, out=seen_lo); np.maximum(seen_hi, x, out=seen_hi)
                res[sense] = x[j]
                duals = np.abs(np.array(sol.row_dual)) > 1e-9
                for r in np.nonzero(duals)[0]:
                    via[v].add(rels[r])
            elif st in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
                res[sense] = -np.inf if sense == 1 else np.inf
            else:
                stats.setdefault("lp_failures", Counter())[h.modelStatusToString(st)] += 1
                break
        if len(res) == 2:
            lo[v], hi[v], ok[v] = res[1], res[-1], True
        else:
            lo[v], hi[v], ok[v] = lb[v], ub[v], False
    return lo, hi, via, ok


def _int_bounds(lo: float, hi: float) -> tuple[float, float]:
    def tol(x):
        return 1e-6 + min(0.05, 1e-7 * abs(x))
    a = math.ceil(lo - tol(lo)) if math.isfinite(lo) else -math.inf
    b = math.floor(hi + tol(hi)) if math.isfinite(hi) else math.inf
    return float(a), float(b)


# --------------------------------------------------------------------------------------------------
# the attack
# --------------------------------------------------------------------------------------------------

def attack(release_db: Path, time_limit_s: float = 240.0, min_support: int = MIN_SUPPORT,
           seed: int = 20240601) -> AttackResult:
    t0 = time.time()
    deadline = t0 + time_limit_s
    timings = {}
    con = duckdb.connect(str(release_db), read_only=True)
    try:
        uni, infos, notes = load_release(con)
    finally:
        con.close()
    timings["read"] = time.time() - t0
    tables = {name: {"area": (i.level_col, i.code_col), "year": i.year_col, "keys": i.dims,
                     "counts": i.count_cols, "values": i.float_cols, "rows": i.rows, "hidden_counts": i.hidden_counts}
              for name, i in infos.items()}
    if uni is None or not len(uni.meta):
        return AttackResult([], [], tables, time.time() - t0, timings, notes)
    model = Model(uni, min_support)
    t = time.time()
    model.merge_same_numbers(); timings["same_number"] = time.time() - t
    t = time.time(); model.lagged_same(); timings["lagged_same"] = time.time() - t
    t = time.time(); model.hierarchy(); timings["hierarchy"] = time.time() - t
    t = time.time()
    model.identities(np.random.default_rng(seed), time_budget=max(5.0, 0.25 * time_limit_s))
    timings["identity"] = time.time() - t
    t = time.time(); model.partitions(); timings["partition"] = time.time() - t
    t = time.time(); model.stock_flow(); timings["stock_flow"] = time.time() - t
    t = time.time(); model.rates(); timings["rate"] = time.time() - t
    t = time.time()
    stats: dict = {}
    comp, known, known_via, var_of, lo, hi, via, solved = _solve(model, deadline, stats)
    timings["solve"] = time.time() - t
    notes.append("Unbekannte (verschiedene Zahlen): {unknowns}, durch Einsetzen bestimmt: {fixed_by_substitution}, "
                 "LP-Komponenten: {lp_components}, größte: {largest_component} Unbekannte, LPs gelöst: {lp_solves}, "
                 "Widersprüche: {inconsistent}".format(**{**dict.fromkeys(
                     ["unknowns", "fixed_by_substitution", "lp_components", "largest_component", "lp_solves",
                      "inconsistent"], 0), **stats}))
    if stats.get("lp_failures"):
        notes.append(f"LP ohne Ergebnis: {dict(stats['lp_failures'])}")
    # every hidden count of every table gets its interval
    cells = []
    for s, m in enumerate(uni.meta):
        if not m.is_count:
            continue
        k = model.class_of_series[s]
        others_pub = model.CP[k]
        for i in np.nonzero(uni.H[s])[0]:
            lvl, code, y = uni.inst[i]
            c = model.cell(k, i)
            cc = int(comp[c])
            if cc in known:
                val = known[cc]
                if others_pub[i]:
                    copy = next(_name(uni.meta[o]) for o in model.members[k] if uni.P[o, i])
                    kinds, evidence = {"same_number"}, (f"veröffentlicht als {copy}",)
                else:
                    rels = known_via.get(cc, set())
                    kinds = {model.relations[r].kind for r in rels} or {"lagged_same"}
                    evidence = tuple(model.relations[r].text for r in sorted(rels)[:3])
                cells.append(CellInterval(m.table, m.column, m.key, lvl, code, None if y == NO_YEAR else y,
                                          float(round(val)), float(round(val)), frozenset(kinds), True, evidence))
                continue
            v = var_of[cc]
            a, b = _int_bounds(lo[v], hi[v])
            rels = sorted(via[v], key=lambda r: (model.relations[r].kind, r))
            cells.append(CellInterval(m.table, m.column, m.key, lvl, code, None if y == NO_YEAR else y, a, b,
                                      frozenset(model.relations[r].kind for r in rels), bool(solved[v]),
                                      tuple(model.relations[r].text for r in rels[:4])))
    return AttackResult(cells, model.relations, tables, time.time() - t0, timings, notes)


# --------------------------------------------------------------------------------------------------
# judging with the truth (only to evaluate the attack, never to build it)
# --------------------------------------------------------------------------------------------------

@dataclass
class Judged:
    cell: CellInterval
    truth: float
    # "count": a hidden 1/2 or -1/-2; "rate": the numerator of a rate with a denominator below 100 or a
    # numerator of 1 or 2; "rate_denominator": that rate's denominator (not itself a primary cell);
    # None: a secondary suppression
    primary: str | None
    narrowed: bool                  # interval narrower than the protection range
    outside: bool                   # truth outside the interval (a false relation)


def judge(result: AttackResult, release_db: Path, truth_db: Path) -> list[Judged]:
    """Compare every hidden cell's interval with the unpublished value."""
    rel = duckdb.connect(str(release_db), read_only=True)
    con = duckdb.connect(str(truth_db), read_only=True)
    try:
        truth_tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                                   "WHERE database_name = current_database()").df()
        cols = _columns(rel)
        rates_by_table = _rate_columns(result)
        by_table = defaultdict(list)
        for c in result.cells:
            by_table[c.table].append(c)
        out = []
        for table, cells in by_table.items():
            info = result.tables[table]
            schema, name = table.split(".", 1)
            cand = truth_tables[truth_tables.table_name == name]
            if not len(cand):
                continue
            tschema = schema if schema in set(cand.schema_name) else cand.schema_name.iloc[0]
            df = con.execute(f'SELECT * FROM "{tschema}"."{name}"').df()
            level_col, code_col = info["area"]
            if level_col not in df.columns:
                level_col = None          # the truth may lack the derived level column
            keycols = [c for c in (level_col, code_col, info["year"]) if c] + info["keys"]
            if any(c not in df.columns for c in keycols):
                continue
            df = df.drop_duplicates(keycols)
            index = {}
            for row in df[keycols].itertuples(index=False):
                index[tuple(_norm(x) for x in row)] = len(index)
            arrays = {c: df[c].to_numpy(dtype=float, na_value=np.nan) for c in set(info["counts"]) if c in df}
            for cell in cells:
                key = []
                if level_col:
                    key.append(cell.area_level)
                key.append(cell.area_code)
                if info["year"]:
                    key.append(cell.year)
                key += [v for _, v in cell.key]
                r = index.get(tuple(_norm(x) for x in key))
                if r is None or cell.column not in arrays:
                    continue
                v = arrays[cell.column][r]
                if np.isnan(v):
                    continue
                v = float(round(v))
                primary = None
                if v in (1, 2, -1, -2):
                    primary = "count"
                elif v == 0:
                    primary = None    # zeros are published by the rules: a hidden 0 is never confidential
                else:
                    for num, den in rates_by_table.get((table, cell.key), []):
                        if cell.column in (num, den) and num in arrays and den in arrays:
                            nv, dv = arrays[num][r], arrays[den][r]
                            if (not np.isnan(dv) and dv < 100) or (not np.isnan(nv) and abs(nv) in (1, 2)):
                                # the rule protects the numerator of a rate on a small population; its
                                # denominator (a population) is reported, but counts as a primary cell
                                # only when it is itself 1 or 2
                                primary = "rate" if cell.column == num else (primary or "rate_denominator")
                narrowed = False
                if cell.solved and primary == "count":
                    need_lo, need_hi = (0.0, v + 3) if v > 0 else (v - 3, 0.0)
                    narrowed = cell.lo > need_lo or cell.hi < need_hi
                elif cell.solved and primary == "rate":
                    narrowed = cell.width < 1
                outside = cell.solved and not (cell.lo - 1e-6 <= v <= cell.hi + 1e-6)
                out.append(Judged(cell, v, primary, narrowed, outside))
        return out
    finally:
        con.close()
        rel.close()


def _norm(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, float) and x.is_integer():
        return int(x)
    if hasattr(x, "item"):
        return x.item()
    return x


def _rate_columns(result: AttackResult) -> dict:
    """(table, key) -> [(numerator column, denominator column)] of the rate relations found within a row."""
    out = defaultdict(set)
    for r in result.relations:
        d = r.detail
        if r.kind == "rate" and d.get("num"):
            out[(d["table"], d["key"])].add((d["num"], d["den"]))
    return {k: sorted(v) for k, v in out.items()}


# --------------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------------

def _cell_line(j_or_c, truth=None) -> str:
    c = j_or_c
    rng = f"[{c.lo:g}, {c.hi:g}]" if c.solved else "(ungelöst)"
    t = "" if truth is None else f", wahr {truth:g}"
    return f"{c.label()}: {rng}{t}; über {', '.join(sorted(c.via)) or '-'}"


def report(result: AttackResult, judged: list[Judged] | None = None, out=sys.stdout, examples: int = 6) -> None:
    """What the attack found, per table; with the truth, judged against the promised protection."""
    p = lambda *a: print(*a, file=out)
    p(f"Angriff auf das Release: {result.seconds:.1f} s "
      f"({', '.join(f'{k} {v:.1f}' for k, v in result.timings.items())})")
    for n in result.notes:
        p("  Hinweis:", n)
    p("Gefundene Beziehungen (Art: Beziehungen / Zeilen mit gesperrten Zellen):")
    rk, rr = result.relations_by_kind(), result.rows_by_kind()
    for kind in sorted(rk):
        p(f"  {kind:12s} {rk[kind]:6d} / {rr[kind]:7d}")
    hidden_by = Counter(c.table for c in result.cells)
    exact_by = Counter(c.table for c in result.cells if c.exact)
    thin_by = Counter(c.table for c in result.cells if c.solved and c.width < 4)
    unsolved_by = Counter(c.table for c in result.cells if not c.solved)
    primary_by, narrowed_by, outside_by, exact_primary_by = Counter(), Counter(), Counter(), Counter()
    den_by = Counter()
    for j in judged or []:
        is_primary = j.primary in ("count", "rate")
        primary_by[j.cell.table] += is_primary
        narrowed_by[j.cell.table] += j.narrowed
        outside_by[j.cell.table] += j.outside
        exact_primary_by[j.cell.table] += is_primary and j.cell.exact
        den_by[j.cell.table] += j.primary == "rate_denominator" and j.cell.exact
    head = f"  {'Tabelle':38s} {'gesperrt':>8s} {'exakt':>7s} {'Breite<4':>8s} {'ungelöst':>8s}"
    if judged is not None:
        head += f" {'Erstsp.':>8s} {'exakt':>7s} {'zu eng':>7s} {'Nenner exakt':>12s} {'falsch':>6s}"
    p("Gesperrte Zählwerte je Tabelle (Erstsperrungen, exakt, zu eng und falsch: geprüft an der Wahrheit):")
    p(head)
    for table in sorted(hidden_by):
        line = (f"  {table:38s} {hidden_by[table]:8d} {exact_by[table]:7d} {thin_by[table]:8d} "
                f"{unsolved_by[table]:8d}")
        if judged is not None:
            line += (f" {primary_by[table]:8d} {exact_primary_by[table]:7d} {narrowed_by[table]:7d} "
                     f"{den_by[table]:12d} {outside_by[table]:6d}")
        p(line)
    nar = result.narrowest()
    if nar:
        p(f"Engstes Intervall einer gesperrten Zahl: {_cell_line(nar)}")
    if judged is None:
        return
    primaries = [j for j in judged if j.primary in ("count", "rate") and j.cell.solved]
    if primaries:
        j = min(primaries, key=lambda j: (j.cell.width, j.cell.lo))
        p(f"Engstes Intervall einer Erstsperrung: {_cell_line(j.cell, j.truth)}")
    bad = sorted((j for j in judged if j.narrowed), key=lambda j: (j.cell.width, j.cell.table, j.cell.label()))
    p(f"Erstsperrungen unter ihrem Schutzbereich: {len(bad)}; nach Beziehungsarten: "
      + ", ".join(f"{'+'.join(sorted(k))}: {n}" for k, n in Counter(j.cell.via for j in bad).most_common(8)))
    shown = set()
    for j in bad:
        key = (j.cell.table, j.cell.via, j.primary)
        if key in shown:
            continue
        shown.add(key)
        p(f"  {_cell_line(j.cell, j.truth)} ({j.primary})")
        for e in j.cell.evidence[:3]:
            p(f"      {e[:240]}")
        if len(shown) >= examples:
            break
    exact = [j for j in judged if j.cell.exact]
    p(f"Exakt zurückgerechnet: {len(exact)}, davon richtig {sum(j.cell.lo == j.truth for j in exact)}; "
      + ", ".join(f"{k or 'Sekundärsperrung'}: {n}" for k, n in Counter(j.primary for j in exact).most_common()))
    p("  nach Beziehungsarten: " + ", ".join(f"{'+'.join(sorted(k))}: {n}"
                                            for k, n in Counter(j.cell.via for j in exact).most_common(8)))
    outside = [j for j in judged if j.outside]
    p(f"Wahrheit außerhalb des Intervalls (eine falsche Beziehung): {len(outside)}")
    for j in outside[:5]:
        p(f"  {_cell_line(j.cell, j.truth)}")
        for e in j.cell.evidence[:3]:
            p(f"      {e[:240]}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.release_attack", description=__doc__.split("\n")[0])
    ap.add_argument("release", type=Path)
    ap.add_argument("--truth", type=Path)
    ap.add_argument("--time-limit", type=float, default=240.0)
    ap.add_argument("--relations", action="store_true", help="alle gefundenen Beziehungen ausgeben")
    args = ap.parse_args(argv)
    result = attack(args.release, args.time_limit)
    judged = judge(result, args.release, args.truth) if args.truth else None
    report(result, judged)
    if args.relations:
        for r in result.relations:
            print(f"  [{r.kind}] {r.text} (Stützung {r.support}, Zeilen {r.instances})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
