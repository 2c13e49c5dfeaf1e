"""Monthly welfare deliveries (SGB II, SGB XII, AsylbLG) drawn from the simulated residents.

Recipients are residents of the matching district, age and nationality. The December delivery of
a year is calibrated per district (SGB II rate of the under-65s); the other months of the year are
the same households with a small monthly turnover, and only persons already living in the city
at the end of that month. Refugees receive AsylbLG in their first months; refugees from Ukraine
receive AsylbLG until May 2022 and SGB II from June 2022 (Rechtskreiswechsel).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from sample_deliveries import calibration as cal
from sample_deliveries.population import NO_DATE, REFUGEE, UKRAINE, to_days

MONTH = 30.44
MONTHLY_TURNOVER = 0.04
DRAW_CHUNK = 4_000_000


@dataclass
class MonthlyRecords:
    """Person-level rows of one monthly delivery (indices into the year's extract)."""

    sgb2: dict[str, np.ndarray]
    sgb12: dict[str, np.ndarray]
    asylblg: dict[str, np.ndarray]


def birth_year(days: np.ndarray) -> np.ndarray:
    """Calendar year of a day count since 1970-01-01 (age on 31.12. = year - birth year)."""
    return (np.datetime64("1970-01-01") + days.astype("timedelta64[D]")).astype("datetime64[Y]").astype(int) + 1970


def running_number(sorted_keys: np.ndarray) -> np.ndarray:
    """1, 2, 3, ... within each run of equal keys (the keys must be sorted)."""
    if not len(sorted_keys):
        return np.zeros(0, dtype=np.int64)
    first = np.r_[True, np.diff(sorted_keys) != 0]
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(sorted_keys)), 0))
    return np.arange(len(sorted_keys)) - group_start + 1


# what the welfare model and the welfare deliveries read of a resident
WELFARE_COLUMNS = ("person", "household", "birth", "sex", "nat1", "district", "group", "zuzug", "status")


def main_residence(extract: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The columns of WELFARE_COLUMNS for the residents with their main residence (the extract's
    own arrays if it has no others): a state's extract has 18 M rows, each column kept costs."""
    main = extract["status"] == 0
    if main.all():
        return {k: extract[k] for k in WELFARE_COLUMNS}
    return {k: extract[k][main] for k in WELFARE_COLUMNS}


def _redraw(state: dict, skip: int, wanted: np.ndarray, order: np.ndarray, draw) -> np.ndarray:
    """Draws number `wanted` (an array of positions; `order` sorts it) of the stream
    `draw(generator, n)` makes from the bit generator `state` after `skip` steps, drawn again in
    chunks: the stream itself is never held in memory (a state's population: gigabytes of draws)."""
    positions = wanted[order]
    values = np.empty(len(wanted))
    bits = np.random.PCG64()
    bits.state = state
    bits.advance(skip)
    generator = np.random.Generator(bits)
    limit = int(positions[-1]) + 1 if len(positions) else 0
    for start in range(0, limit, DRAW_CHUNK):
        block = draw(generator, min(DRAW_CHUNK, limit - start))
        lo, hi = np.searchsorted(positions, [start, start + len(block)])
        values[order[lo:hi]] = block[positions[lo:hi] - start]
    return values


class WelfareModel:
    """Stable draws per household and per person, so that receipt persists over time: the model's
    generator first makes ``normal(size=capacity * 2)`` (household noise), then
    ``random((4, capacity * 2))`` (four uniforms per person), then the monthly turnover. The first
    two are not kept but drawn again for the households and persons of each year."""

    def __init__(self, seed: int, capacity: int) -> None:
        rng = np.random.default_rng(seed + 7919)
        self.width = capacity * 2
        self.noise_state = rng.bit_generator.state
        for start in range(0, self.width, DRAW_CHUNK):  # a normal takes a varying number of steps
            rng.normal(size=min(DRAW_CHUNK, self.width - start))
        self.person_draw_state = rng.bit_generator.state
        rng.bit_generator.advance(4 * self.width)  # a uniform takes one step
        self.rng = rng
        self.districts = cal.districts()

    def household_noise(self, household: np.ndarray) -> np.ndarray:
        """The household's normal draw (a household number beyond the capacity wraps around)."""
        wanted = household % self.width
        return _redraw(self.noise_state, 0, wanted, np.argsort(wanted, kind="stable"),
                       lambda gen, n: gen.normal(size=n))

    def person_draws(self, person: np.ndarray) -> np.ndarray:
        """The four stable uniform draws of each person (array of shape (4, len(person))), equal
        to rows 0-3 of ``rng.random((4, capacity * 2))[:, person]`` at the model's start."""
        order = self._person_order(person)
        return np.stack([self.person_draw(person, row, order) for row in range(4)])

    def _person_order(self, person: np.ndarray) -> np.ndarray:
        if len(person) and (person.min() < 0 or person.max() >= self.width):
            raise ValueError("Person außerhalb der Kapazität des Wohlfahrtsmodells")
        return np.argsort(person, kind="stable")

    def person_draw(self, person: np.ndarray, row: int, order: np.ndarray | None = None) -> np.ndarray:
        """Row `row` (0-3) of the persons' stable uniform draws, one row at a time: a state's four
        rows of float64 together are gigabytes, and each row is needed only for a few tests."""
        order = self._person_order(person) if order is None else order
        return _redraw(self.person_draw_state, row * self.width, person, order, lambda gen, n: gen.random(n))

    def year(self, extract: dict[str, np.ndarray], year: int) -> Iterator[MonthlyRecords]:
        """The twelve monthly deliveries of `year`, one at a time (a state's month is large)."""
        rng = self.rng
        d = self.districts
        ex = main_residence(extract)
        n = len(ex["person"])
        # per person only what the rules below need, in the narrowest type that holds it (a
        # state's residents: each byte per person is 18 MB); the same numbers as before
        age = (year - birth_year(ex["birth"])).astype(np.int16)
        person = ex["person"]
        household = ex["household"]
        district = ex["district"]
        group = ex["group"]
        arrived = np.where(ex["zuzug"] != NO_DATE, ex["zuzug"], ex["birth"])
        # the persons' four stable uniform draws, drawn one row at a time and kept only as the
        # comparisons the rules below make with them
        order = self._person_order(person)
        social = d.sgb2_rate[district] / cal.target_sgb2_rate()
        u2 = self.person_draw(person, 2, order)
        ch4_old = (age >= 65) & (u2 < 0.2 * d.sgb2_rate[district] + 0.01)
        ch4_em = (age >= 18) & (age < 65) & (u2 < 0.010 * social)
        del u2
        u3 = self.person_draw(person, 3, order)
        ch3 = (age >= 18) & (age < 65) & ~ch4_em & (u3 < 0.003 * social)
        employable_draw = u3 >= .05
        del u3, social
        p_inst = np.where(age >= 65, .10 + .25 * (age >= 85), np.where(ch4_em, .25, .10))
        u1 = self.person_draw(person, 1, order)
        analog_draw, unemployed_draw, institution = u1 < .3, u1 < .38, u1 < p_inst
        del u1, p_inst
        refugee_draw = self.person_draw(person, 0, order) < .7
        del order

        # household composition
        hh_ids, hh_inv = np.unique(household, return_inverse=True)
        hh_inv = hh_inv.astype(np.int32 if len(hh_ids) < 2**31 else np.int64)
        adults = np.bincount(hh_inv, weights=age >= 18)
        kids = np.bincount(hh_inv, weights=age < 18)
        hh_group = np.zeros(len(hh_ids), dtype=np.int8)
        hh_group[hh_inv] = group
        single_parent = (adults == 1) & (kids >= 1)
        score = (self.household_noise(hh_ids)
                 + 1.3 * single_parent + 0.6 * ((adults >= 2) & (kids >= 3))
                 + np.choose(hh_group, [0.0, 0.7, 1.0, 1.8, 2.5]))
        del adults, kids, hh_group, single_parent

        def asylum(month_end: int) -> tuple[np.ndarray, np.ndarray]:
            """AsylbLG receipt at a month's end: (mask, analog) per person."""
            since = (month_end - arrived) / MONTH
            here = arrived <= month_end
            refugee = (group == REFUGEE) & here & refugee_draw
            grund = refugee & (since < 18)
            analog = refugee & (since >= 18) & (since < 36) & analog_draw
            ukraine_early = ((group == UKRAINE) & here & (month_end < to_days(2022, 6, 1))
                             & (arrived >= to_days(2022, 1, 1)))
            return grund | analog | ukraine_early, analog

        dec_end = to_days(year, 12, 31)
        asyl_dec, _ = asylum(dec_end)
        # SGB II, December: per district, households by descending score until the target rate
        factor = cal.SGB2_YEAR_FACTOR.get(year, 1.0)
        candidate = (age < 65) & ~asyl_dec
        cand_u65 = np.bincount(hh_inv, weights=candidate)
        residents_u65 = np.bincount(district, weights=age < 65, minlength=len(d.codes))
        target = d.sgb2_rate * factor * residents_u65
        hh_district = np.zeros(len(hh_ids), dtype=np.int16)
        hh_district[hh_inv] = district
        order = np.lexsort((-score, hh_district))
        del score
        # the household arrays hold 9 M households at a state's scale: each is freed when done
        district_sorted = hh_district[order]
        del hh_district
        cand_sorted = cand_u65[order]
        del cand_u65
        cum = np.cumsum(cand_sorted)
        start_of = np.searchsorted(district_sorted, np.arange(len(d.codes)))
        before = np.where(start_of > 0, cum[np.maximum(start_of - 1, 0)], 0)
        within = cum - before[district_sorted]
        del cum
        selected_hh = np.zeros(len(hh_ids), dtype=bool)
        selected_hh[order] = (within - cand_sorted) < target[district_sorted]
        del order, district_sorted, cand_sorted, within
        sgb2_year = selected_hh[hh_inv] & candidate
        del selected_hh, candidate

        # SGB XII (stable per person), exclusive of SGB II
        sgb12_year = (ch4_old | ch4_em | ch3) & ~sgb2_year & ~asyl_dec
        del ch4_old, ch4_em

        for month in range(1, 13):
            end = to_days(year, 12, 31) if month == 12 else to_days(year, month + 1, 1) - 1
            here = arrived <= end
            asyl, analog = asylum(end)
            stay = np.ones(len(hh_ids), dtype=bool) if month == 12 else rng.random(len(hh_ids)) >= MONTHLY_TURNOVER
            in_sgb2 = sgb2_year & here & ~asyl & stay[hh_inv]
            if year == 2022 and month < 6:
                in_sgb2 &= group != UKRAINE
            keep12 = np.ones(n, bool) if month == 12 else rng.random(n) >= MONTHLY_TURNOVER / 2
            in_sgb12 = sgb12_year & here & keep12
            yield MonthlyRecords(
                sgb2=self._sgb2_rows(np.flatnonzero(in_sgb2), ex, age, hh_inv, hh_ids, employable_draw,
                                     unemployed_draw),
                sgb12={"row": np.flatnonzero(in_sgb12),
                       "chapter": np.where(ch3[in_sgb12], "3", "4"), "institution": institution[in_sgb12]},
                asylblg=self._asyl_rows(np.flatnonzero(asyl), household, analog),
            )

    def _sgb2_rows(self, rows: np.ndarray, ex: dict, age: np.ndarray, hh_inv: np.ndarray,
                   hh_ids: np.ndarray, employable_draw: np.ndarray,
                   unemployed_draw: np.ndarray) -> dict[str, np.ndarray]:
        rows = rows[np.argsort(ex["household"][rows], kind="stable")]
        hh = ex["household"][rows]
        lfd = running_number(hh)
        a = age[rows]
        adults = np.bincount(hh_inv[rows], weights=a >= 18, minlength=len(hh_ids))[hh_inv[rows]]
        kids = np.bincount(hh_inv[rows], weights=a < 18, minlength=len(hh_ids))[hh_inv[rows]]
        bg_type = np.select(
            [(adults == 1) & (kids == 0), (adults == 1) & (kids > 0),
             (adults == 2) & (kids == 0), (adults == 2) & (kids > 0)],
            ["SINGLE", "ALLEINERZIEHEND", "PAAR_OHNE_KINDER", "PAAR_MIT_KINDERN"], "SONSTIGE")
        employable = (a >= 15) & (a < 65) & employable_draw[rows]
        unemployed = employable & unemployed_draw[rows]
        return {"row": rows, "lfd": lfd, "elb": employable, "unemployed": unemployed,
                "bg_type": bg_type}

    @staticmethod
    def _asyl_rows(rows: np.ndarray, household: np.ndarray, analog: np.ndarray) -> dict[str, np.ndarray]:
        rows = rows[np.argsort(household[rows], kind="stable")]
        hh = household[rows]
        return {"row": rows, "lfd": running_number(hh), "analog": analog[rows]}

