"""Simulation of a city's population register, year by year, vectorised with numpy.

The state is one row per person ever registered. Each simulated year applies deaths, births,
moves out, moves in (calibrated so that the city total and the EU2 residents hit their targets)
and moves within the city (households move together; young adults leave home). Every change is
recorded as a movement, so that each extract equals the previous one plus births and moves in,
minus deaths and moves out, and moves within the city change districts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sample_deliveries import calibration as cal

EPOCH = np.datetime64("1970-01-01", "D")
NO_DATE = np.iinfo(np.int32).min  # "no date" (e.g. no move into the city: born here)

# person groups (drive behaviour and welfare receipt; not written to any file)
GERMAN, FOREIGN, EU2, REFUGEE, UKRAINE = range(5)
GROUP_NAMES = ("german", "foreign", "eu2", "refugee", "ukraine")

OTHER_FOREIGN_MIX = {
    163: .28, 152: .10, 137: .05, 134: .06, 150: .04, 170: .04, 160: .03, 252: .04, 161: .02,
    153: .02, 130: .03, 122: .03, 144: .03, 436: .04, 479: .03, 432: .02, 238: .02, 285: .02,
    121: .02, 165: .02, 148: .01, 451: .03, 287: .02, 129: .01, 168: .01,
}
REFUGEE_MIX = {475: .55, 423: .15, 438: .15, 439: .04, 224: .04, 273: .03, 232: .04}
ABROAD_GERMAN_DESTINATIONS = [129, 148, 151, 158, 168, 368, 161, 152]

# persons per year at scale 1 (synthetic, shaped like Dortmund's migration history)
REFUGEE_ARRIVALS = {2014: 1500, 2015: 6000, 2016: 3500, 2017: 1500, 2018: 1000, 2019: 900,
                    2020: 600, 2021: 900, 2022: 1500, 2023: 2500, 2024: 2000}
UKRAINE_ARRIVALS = {2022: 7000, 2023: 1200, 2024: 800}
OTHER_FOREIGN_ARRIVALS = 5000
GERMAN_ABROAD_ARRIVALS = 1500
INLAND_ARRIVALS = 17000
SECONDARY_RESIDENCE_SHARE = 0.012

# Share of a group's arrivals that come from elsewhere in Germany rather than straight from abroad
# (synthetic assumptions; reasons in docs/methodology.md "Beispiel-Lieferungen"). Asylum seekers
# first live in a reception centre of the Land and are then allocated to a municipality, which the
# register records as a move from the rest of Germany; EU citizens and Ukrainians mostly come
# straight from abroad, some after a first address elsewhere in Germany.
INLAND_ARRIVAL_SHARE = {EU2: {"default": .25}, REFUGEE: {"default": .60, 2015: .45},
                        UKRAINE: {"default": .40, 2022: .15}}

# household types: single, couple, couple with children, single parent, other
HOUSEHOLD_MIX = {
    "german_initial": (.42, .27, .18, .055, .075),
    "foreign_initial": (.30, .20, .33, .07, .10),
    "inland": (.55, .18, .18, .05, .04),
    "foreign_arrival": (.55, .15, .20, .05, .05),
    "eu2": (.38, .18, .34, .06, .04),
    "refugee": (.45, .05, .33, .13, .04),
    "ukraine": (.22, .05, .10, .50, .13),
}


def to_days(year: int, month: int = 1, day: int = 1) -> int:
    return int((np.datetime64(f"{year:04d}-{month:02d}-{day:02d}", "D") - EPOCH).astype(int))


@dataclass
class Events:
    """Movements of one year, as parallel lists of arrays (concatenated when written)."""

    parts: list[dict[str, np.ndarray]] = field(default_factory=list)

    def add(self, kind: str, person: np.ndarray, date: np.ndarray, von: np.ndarray,
            nach: np.ndarray, country: np.ndarray) -> None:
        n = len(person)
        if n:
            self.parts.append({"kind": np.full(n, kind, dtype=object), "person": person,
                               "date": date.astype(np.int32), "von": von.astype(np.int16),
                               "nach": nach.astype(np.int16), "country": country.astype(np.int16)})

    def frame(self) -> dict[str, np.ndarray]:
        keys = ("kind", "person", "date", "von", "nach", "country")
        if not self.parts:
            return {k: np.array([]) for k in keys}
        return {k: np.concatenate([p[k] for p in self.parts]) for k in keys}


class Population:
    """Column store of every person ever registered; `present` marks the current residents."""

    COLUMNS = {
        "birth": np.int32, "sex": np.int8, "nat1": np.int16, "nat2": np.int16,
        "birth_country": np.int16, "status": np.int8, "district": np.int16,
        "household": np.int32, "zuzug": np.int32, "einzug": np.int32, "present": bool,
        "group": np.int8, "first_name": np.int16, "surname": np.int16, "street": np.int16,
        "house_no": np.int16,
    }

    def __init__(self) -> None:
        self.data = {name: np.empty(0, dtype=dtype) for name, dtype in self.COLUMNS.items()}
        self.next_household = 0

    def __len__(self) -> int:
        return len(self.data["birth"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.data[name]

    def add(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        start = len(self)
        n = len(columns["birth"])
        for name, dtype in self.COLUMNS.items():
            self.data[name] = np.concatenate([self.data[name], columns[name].astype(dtype)])
        return np.arange(start, start + n)

    def new_households(self, n: int) -> np.ndarray:
        ids = np.arange(self.next_household, self.next_household + n)
        self.next_household += n
        if self.next_household >= 2**31:   # household numbers are stored as int32
            raise ValueError("Zu viele Haushalte für den Beispieldaten-Generator (Maßstab zu groß)")
        return ids


class Simulation:
    def __init__(self, scale: float, seed: int) -> None:
        self.scale = scale
        self.rng = np.random.default_rng(seed)
        self.districts = cal.districts()
        self.n_districts = len(self.districts.codes)
        self.city_path = cal.city_total_path()
        self.eu2_path = cal.eu2_paths()
        self.pop = Population()
        from sample_deliveries import names

        self.streets = names.street_table(self.rng, self.n_districts)
        self.n_surnames = {g: len(names.SURNAMES[g]) for g in GROUP_NAMES}
        self.n_first = (len(names.FIRST_NAMES_M), len(names.FIRST_NAMES_W))
        self.surname_offset = {}
        offset = 0
        for g in GROUP_NAMES:
            self.surname_offset[g] = offset
            offset += self.n_surnames[g]
        self.year = cal.FIRST_SIMULATED_YEAR
        self._initial_population()

    # ---------------------------------------------------------------- helpers
    def _n(self, persons_at_scale_1: float) -> int:
        return int(round(persons_at_scale_1 * self.scale))

    def _ages(self, on_day: int, idx: np.ndarray | None = None) -> np.ndarray:
        birth = self.pop["birth"] if idx is None else self.pop["birth"][idx]
        return ((on_day - birth) / 365.25).astype(np.int32)

    def _choice(self, mix: dict[int, float], n: int) -> np.ndarray:
        codes = np.array(list(mix))
        p = np.array(list(mix.values()), dtype=float)
        return self.rng.choice(codes, size=n, p=p / p.sum())

    def _district_weights(self, group: int, year: int) -> np.ndarray:
        """Where a household of the group settles: the group's pattern, pulled toward each
        district's target size for the year."""
        d = self.districts
        if group == EU2:
            base = d.eu2_share.copy()
        elif group == GERMAN:
            base = d.share * (1 - d.foreign_share)
        else:
            base = d.share * d.foreign_share
        target = d.share * self.city_path[year] * self.scale
        residents = self._residents_per_district()
        ratio = np.clip(target / np.maximum(residents, 1), 0.25, 4.0) ** 10
        w = base * ratio
        return w / w.sum()

    def _residents_per_district(self) -> np.ndarray:
        mask = self.pop["present"] & (self.pop["status"] == 0)
        return np.bincount(self.pop["district"][mask], minlength=self.n_districts)

    # Adults on 31.12.2013 by age (relative weights; synthetic, shaped like a Ruhr city with the
    # baby boomers aged 45-60)
    ADULT_AGE_WEIGHTS = [(18, 1.15), (30, 1.05), (40, 1.30), (45, 1.70), (52, 2.10), (60, 2.20), (64, 2.30),
                         (72, 2.45), (80, 1.85), (88, 0.90), (95, 0.16), (101, 0.0)]

    def _adult_ages(self, n: int, minimum: int = 18) -> np.ndarray:
        ages = np.arange(18, 101)
        knots = np.array([a for a, _ in self.ADULT_AGE_WEIGHTS])
        values = np.array([w for _, w in self.ADULT_AGE_WEIGHTS])
        weights = np.interp(ages, knots, values) * (ages >= minimum)
        return self.rng.choice(ages, n, p=weights / weights.sum()) + self.rng.random(n)

    # ----------------------------------------------------- household builder
    def _households(self, n_persons: int, kind: str, group: int, on_day: int,
                    nationality: np.ndarray | None = None, young: bool = False) -> dict:
        """Households with exactly n_persons members. Returns person columns (without
        district/household ids, which the caller assigns) plus 'hh' (0-based household index)."""
        rng = self.rng
        if n_persons <= 0:
            return {"hh": np.empty(0, dtype=np.int64)}
        mix = np.array(HOUSEHOLD_MIX[kind])
        n_hh = max(1, int(n_persons / 1.9) + 10)
        types = rng.choice(5, size=n_hh, p=mix / mix.sum())
        n_adults = np.select([types == 0, types == 1, types == 2, types == 3],
                             [1, 2, 2, 1], default=2 + (rng.random(n_hh) < .3))
        n_kids = np.where((types == 2) | (types == 3), 1 + rng.choice(3, n_hh, p=[.45, .38, .17]), 0)
        n_kids = np.where((types == 4) & (rng.random(n_hh) < .4), 1 + rng.integers(0, 2, n_hh), n_kids)
        size = n_adults + n_kids
        cum = np.cumsum(size)
        last = int(np.searchsorted(cum, n_persons))
        if last >= n_hh:  # rare: top up with singles
            extra = n_persons - int(cum[-1])
            types = np.concatenate([types, np.zeros(extra, dtype=types.dtype)])
            n_adults = np.concatenate([n_adults, np.ones(extra, dtype=n_adults.dtype)])
            n_kids = np.concatenate([n_kids, np.zeros(extra, dtype=n_kids.dtype)])
        else:
            types, n_adults, n_kids = types[:last + 1], n_adults[:last + 1], n_kids[:last + 1]
            over = int(np.cumsum(n_adults + n_kids)[-1]) - n_persons
            while over > 0:  # shrink the last household
                if n_kids[-1] > 0:
                    n_kids[-1] -= 1
                elif n_adults[-1] > 1:
                    n_adults[-1] -= 1
                over -= 1
        n_hh = len(types)
        # age of the first adult
        if young:
            head_age = np.clip(rng.gamma(4.0, 4.2, n_hh) + 17, 18, 75)
        else:
            head_age = self._adult_ages(n_hh)
            couple = types == 1  # couples without children at home: mostly older
            head_age = np.where(couple & (head_age < 45) & (rng.random(n_hh) < .5),
                                self._adult_ages(n_hh, minimum=45), head_age)
        head_age = np.where((types == 2) | (types == 3), rng.uniform(24, 54, n_hh), head_age)
        head_age = np.clip(head_age, 18, 102)
        # persons
        hh_adult = np.repeat(np.arange(n_hh), n_adults)
        hh_kid = np.repeat(np.arange(n_hh), n_kids)
        first_adult = np.r_[True, np.diff(hh_adult) != 0]
        adult_age = head_age[hh_adult] + np.where(first_adult, 0, rng.normal(-1.5, 3.5, len(hh_adult)))
        adult_age = np.where((types[hh_adult] == 4) & ~first_adult, rng.uniform(18, 85, len(hh_adult)), adult_age)
        adult_age = np.clip(adult_age, 18, 102)
        kid_age = np.minimum(rng.uniform(0, 18, len(hh_kid)), head_age[hh_kid] - 18)
        kid_age = np.clip(kid_age, 0, 17.99)
        hh = np.concatenate([hh_adult, hh_kid])
        age = np.concatenate([adult_age, kid_age])
        is_adult = np.r_[np.ones(len(hh_adult), bool), np.zeros(len(hh_kid), bool)]
        order = np.argsort(hh, kind="stable")
        hh, age, is_adult = hh[order], age[order], is_adult[order]
        first = np.r_[True, np.diff(hh) != 0]
        n = len(hh)
        htype = types[hh]
        sex = (rng.random(n) < .5).astype(np.int8)
        sex = np.where(is_adult & (htype == 1) & first, 0, sex)
        sex = np.where(is_adult & (htype == 1) & ~first, 1, sex)
        sex = np.where(is_adult & (htype == 3), (rng.random(n) < .88).astype(np.int8), sex)
        sex = np.where(is_adult & (htype == 0) & (age > 70), (rng.random(n) < .68).astype(np.int8), sex)
        rare = rng.random(n)
        sex = np.where(rare < .0005, 2, np.where(rare < .0007, 3, sex))
        birth = (on_day - age * 365.25).astype(np.int32)
        # nationality
        if nationality is None:
            nationality = np.zeros(n_hh, dtype=np.int16)
        nat1 = nationality[hh].astype(np.int16)
        nat2 = np.full(n, -1, dtype=np.int16)
        birth_country = nat1.copy()
        if group != GERMAN:
            # children born here: many are German (ius soli) with the parents' second nationality
            kid_here = ~is_adult & (rng.random(n) < (0.55 if kind.endswith("initial") else 0.15))
            german_kid = kid_here & (rng.random(n) < .45)
            nat2 = np.where(german_kid, nat1, nat2)
            nat1 = np.where(german_kid, 0, nat1)
            birth_country = np.where(kid_here, 0, birth_country)
        else:
            # Germans born abroad (Aussiedler) and Germans with a second nationality
            aussiedler = rng.random(n_hh) < .06
            dual = rng.random(n_hh) < .04
            birth_country = np.where(aussiedler[hh] & is_adult,
                                     rng.choice([160, 152, 444, 165], n), 0).astype(np.int16)
            nat2 = np.where(dual[hh], rng.choice([163, 152, 160, 137, 134], n), -1).astype(np.int16)
        gname = GROUP_NAMES[group]
        surname = (self.surname_offset[gname] + rng.integers(0, self.n_surnames[gname], n_hh))[hh]
        first_name = np.where(sex == 1, rng.integers(0, self.n_first[1], n),
                              rng.integers(0, self.n_first[0], n))
        return {"hh": hh, "birth": birth, "sex": sex, "nat1": nat1, "nat2": nat2,
                "birth_country": birth_country, "is_adult": is_adult, "n_households": n_hh,
                "surname": surname, "first_name": first_name}

    def _register(self, people: dict, group: int, status: int, district_of_hh: np.ndarray,
                  zuzug: np.ndarray, einzug: np.ndarray) -> np.ndarray:
        """Add built households to the register: household ids, addresses, person columns."""
        n_hh = people["n_households"]
        hh = people["hh"]
        household_ids = self.pop.new_households(n_hh)
        return self.pop.add({
            "birth": people["birth"], "sex": people["sex"], "nat1": people["nat1"],
            "nat2": people["nat2"], "birth_country": people["birth_country"],
            "status": np.full(len(hh), status), "district": district_of_hh[hh],
            "household": household_ids[hh], "zuzug": zuzug, "einzug": einzug,
            "present": np.ones(len(hh), bool), "group": np.full(len(hh), group),
            "first_name": people["first_name"], "surname": people["surname"],
            "street": self.rng.integers(0, self.streets.shape[1], n_hh)[hh],
            "house_no": self.rng.integers(1, 140, n_hh)[hh],
        })

    def _settle(self, people: dict, group: int, year: int, arrival_day: np.ndarray | int,
                status: int = 0) -> np.ndarray:
        """Households moving in: districts by the year's weights; nobody arrives before birth."""
        n_hh = people["n_households"]
        district_of_hh = self.rng.choice(self.n_districts, size=n_hh, p=self._district_weights(group, year))
        arrival = np.broadcast_to(np.asarray(arrival_day), (n_hh,))[people["hh"]]
        arrival = np.maximum(arrival, people["birth"])
        return self._register(people, group, status, district_of_hh, arrival, arrival)

    # ----------------------------------------------------- initial stock 2013
    def _initial_population(self) -> None:
        year = cal.FIRST_SIMULATED_YEAR
        day = to_days(year, 12, 31)
        total = self._n(self.city_path[year])
        d = self.districts
        # EU2
        for code in (125, 154):
            n = self._n(self.eu2_path[code][year])
            people = self._households(n, "eu2", EU2, day, np.full(n, code, dtype=np.int16))
            self._initial_settle(people, EU2, day)
        n_eu2 = int(self.pop["present"].sum())
        # other foreigners: 78 % of the 2023 foreign share, district by district
        foreign_share_2013 = 0.72 * d.foreign_share
        n_foreign = self._n(self.city_path[year] * float(np.sum(d.share * foreign_share_2013))) - n_eu2
        nat = self._choice(OTHER_FOREIGN_MIX, n_foreign)
        people = self._households(n_foreign, "foreign_initial", FOREIGN, day, nat)
        self._initial_settle(people, FOREIGN, day)
        n_german = total - int(self.pop["present"].sum())
        people = self._households(n_german, "german_initial", GERMAN, day)
        self._initial_settle(people, GERMAN, day)
        # secondary residences (students, commuters): single households, status N
        n_sec = self._n(self.city_path[year] * SECONDARY_RESIDENCE_SHARE)
        people = self._households(n_sec, "inland", GERMAN, day, young=True)
        self._initial_settle(people, GERMAN, day, status=1)

    def _initial_settle(self, people: dict, group: int, day: int, status: int = 0) -> None:
        rng = self.rng
        n_hh = people["n_households"]
        if group == EU2:
            p = self.districts.eu2_share
        elif group == GERMAN:
            p = self.districts.share * (1 - self.districts.foreign_share * .72)
        else:
            p = self.districts.share * self.districts.foreign_share
        district = rng.choice(self.n_districts, size=n_hh, p=p / p.sum())
        # years at the dwelling and in the city (before 31.12.2013)
        years_in_city = rng.exponential(25 if group == GERMAN else 9, n_hh)
        hh = people["hh"]
        oldest_birth = np.full(n_hh, day, dtype=np.int64)
        np.minimum.at(oldest_birth, hh, people["birth"])
        zuzug_hh = np.maximum(day - years_in_city * 365.25, oldest_birth + 18 * 365.25).astype(np.int64)
        einzug_hh = np.maximum(day - rng.exponential(9, n_hh) * 365.25, zuzug_hh).astype(np.int64)
        einzug_hh = np.minimum(einzug_hh, day - 1)
        born_here_hh = (rng.random(n_hh) < (.55 if group == GERMAN else .05)) | (zuzug_hh >= day)
        born_here = born_here_hh[hh] | (people["birth"] > zuzug_hh[hh])
        zuzug = np.where(born_here, NO_DATE, zuzug_hh[hh])
        einzug = np.maximum(einzug_hh[hh], people["birth"])
        self._register(people, group, status, district, zuzug, einzug)

    # ---------------------------------------------------------- one year
    def step(self) -> dict[str, np.ndarray]:
        """Simulate the next calendar year; returns its movements."""
        self.year += 1
        year = self.year
        rng = self.rng
        pop = self.pop
        start, end = to_days(year, 1, 1), to_days(year, 12, 31)
        days_in_year = end - start + 1
        ev = Events()
        present = pop["present"]
        idx = np.flatnonzero(present)
        age = self._ages(start + 182, idx)

        # deaths
        p_death = np.minimum(0.5, np.exp(-11.1 + 0.097 * age))
        dead = idx[rng.random(len(idx)) < p_death]
        death_day = start + rng.integers(0, days_in_year, len(dead))
        pop["present"][dead] = False
        ev.add("TOD", dead, death_day, pop["district"][dead], np.full(len(dead), -1), np.full(len(dead), -1))

        # births (mothers: women 15-49 with main residence)
        idx = np.flatnonzero(pop["present"] & (pop["status"] == 0) & (pop["sex"] == 1))
        age = self._ages(start + 182, idx)
        fert = 0.135 * np.exp(-(((age - 31) / 6.0) ** 2)) * np.where(pop["nat1"][idx] != 0, 1.3, 1.0)
        fert = np.where((age < 15) | (age > 49), 0, fert)
        mothers = idx[rng.random(len(idx)) < fert]
        self._births(mothers, start, days_in_year, ev)

        # EU2: high turnover (moves out), then arrivals to reach the year's target
        self._moves_out_households(EU2, 0.13, start, days_in_year, ev, abroad_share=.75)
        for code in (125, 154):
            current = int(np.sum(pop["present"] & (pop["status"] == 0) & (pop["nat1"] == code)))
            need = self._n(self.eu2_path[code][year]) - current
            if need > 0:
                people = self._households(need, "eu2", EU2, start, np.full(need, code, np.int16), young=True)
                self._arrive(people, EU2, year, "ZUZUG_AUSLAND", start, days_in_year, ev)

        # arrivals of fixed size: refugees, Ukraine, other foreigners, Germans from abroad, inland
        arrivals = [
            ("refugee", REFUGEE, self._n(REFUGEE_ARRIVALS.get(year, 0)), "ZUZUG_AUSLAND"),
            ("ukraine", UKRAINE, self._n(UKRAINE_ARRIVALS.get(year, 0)), "ZUZUG_AUSLAND"),
            ("foreign_arrival", FOREIGN, self._n(OTHER_FOREIGN_ARRIVALS), "ZUZUG_AUSLAND"),
            ("inland", GERMAN, self._n(GERMAN_ABROAD_ARRIVALS), "ZUZUG_AUSLAND"),
            ("inland", GERMAN, self._n(INLAND_ARRIVALS * .78), "ZUZUG_INLAND"),
            ("foreign_arrival", FOREIGN, self._n(INLAND_ARRIVALS * .22), "ZUZUG_INLAND"),
        ]
        for kind, group, n, event in arrivals:
            if n <= 0:
                continue
            if group == REFUGEE:
                nat = self._choice(REFUGEE_MIX, n)
            elif group == UKRAINE:
                nat = np.full(n, 166, np.int16)
            elif group == FOREIGN:
                nat = self._choice(OTHER_FOREIGN_MIX, n)
            else:
                nat = np.zeros(n, np.int16)
            people = self._households(n, kind, group, start, nat, young=True)
            self._arrive(people, group, year, event, start, days_in_year, ev)

        # moves out of all other households: as many as it takes to reach the year's total
        residents = int(np.sum(pop["present"] & (pop["status"] == 0)))
        surplus = residents - self._n(self.city_path[year])
        if surplus > 0:
            moved = self._moves_out_count(surplus, start, days_in_year, ev)
            shortfall = surplus - moved  # negative: moved more than needed
            if shortfall < 0:
                people = self._households(-shortfall, "inland", GERMAN, start, young=True)
                self._arrive(people, GERMAN, year, "ZUZUG_INLAND", start, days_in_year, ev)
        elif surplus < 0:
            people = self._households(-surplus, "inland", GERMAN, start, young=True)
            self._arrive(people, GERMAN, year, "ZUZUG_INLAND", start, days_in_year, ev)

        # secondary residences: a quarter leaves, as many arrive
        self._secondary_turnover(start, days_in_year, ev)
        # moves within the city
        self._moves_within(year, start, days_in_year, ev)
        return ev.frame()

    def _births(self, mothers: np.ndarray, start: int, days_in_year: int, ev: Events) -> None:
        rng, pop = self.rng, self.pop
        n = len(mothers)
        if not n:
            return
        day = start + rng.integers(0, days_in_year, n)
        mother_nat = pop["nat1"][mothers]
        german_child = (mother_nat == 0) | (rng.random(n) < .45)
        nat1 = np.where(german_child, 0, mother_nat)
        nat2 = np.where(german_child & (mother_nat != 0), mother_nat, -1)
        sex = (rng.random(n) < .487).astype(np.int8)
        first = np.where(sex == 1, rng.integers(0, self.n_first[1], n), rng.integers(0, self.n_first[0], n))
        ids = pop.add({
            "birth": day, "sex": sex, "nat1": nat1, "nat2": nat2, "birth_country": np.zeros(n),
            "status": np.zeros(n), "district": pop["district"][mothers],
            "household": pop["household"][mothers], "zuzug": np.full(n, NO_DATE), "einzug": day,
            "present": np.ones(n, bool), "group": pop["group"][mothers],
            "first_name": first, "surname": pop["surname"][mothers],
            "street": pop["street"][mothers], "house_no": pop["house_no"][mothers],
        })
        ev.add("GEBURT", ids, day, np.full(n, -1), pop["district"][ids], np.full(n, -1))

    def _arrive(self, people: dict, group: int, year: int, event: str, start: int,
                days_in_year: int, ev: Events) -> None:
        rng = self.rng
        n_hh = people["n_households"]
        if group == UKRAINE and year == 2022:
            day = np.where(rng.random(n_hh) < .8, to_days(2022, 3, 1) + rng.integers(0, 92, n_hh),
                           to_days(2022, 6, 1) + rng.integers(0, 213, n_hh))
        elif group == REFUGEE and year == 2015:
            day = to_days(2015, 7, 1) + rng.integers(0, 184, n_hh)
        else:
            day = start + rng.integers(0, days_in_year, n_hh)
        ids = self._settle(people, group, year, day)
        pop = self.pop
        if event != "ZUZUG_AUSLAND":
            ev.add(event, ids, pop["zuzug"][ids], np.full(len(ids), -1), pop["district"][ids],
                   np.zeros(len(ids)))
            return
        # a household moves together: from abroad or from elsewhere in Germany
        shares = INLAND_ARRIVAL_SHARE.get(group, {})
        inland_hh = rng.random(n_hh) < shares.get(year, shares.get("default", 0.0))
        inland = inland_hh[people["hh"]]
        country = np.where(pop["nat1"][ids] == 0, rng.choice(ABROAD_GERMAN_DESTINATIONS, len(ids)),
                           pop["nat1"][ids])
        for kind, mask in (("ZUZUG_AUSLAND", ~inland), ("ZUZUG_INLAND", inland)):
            chosen = ids[mask]
            ev.add(kind, chosen, pop["zuzug"][chosen], np.full(len(chosen), -1),
                   pop["district"][chosen], np.where(mask, country, 0)[mask])

    def _leave(self, persons: np.ndarray, day_of_household: np.ndarray, abroad: np.ndarray,
               ev: Events) -> None:
        pop, rng = self.pop, self.rng
        day = np.maximum(day_of_household, pop["einzug"][persons])
        pop["present"][persons] = False
        nat = pop["nat1"][persons]
        country = np.where(abroad, np.where(nat == 0, rng.choice(ABROAD_GERMAN_DESTINATIONS, len(persons)), nat), 0)
        for kind, mask in (("FORTZUG_AUSLAND", abroad), ("FORTZUG_INLAND", ~abroad)):
            p = persons[mask]
            ev.add(kind, p, day[mask], pop["district"][p], np.full(len(p), -1), country[mask])

    def _household_members(self, households: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Present persons (within mask) belonging to the given household ids."""
        pop = self.pop
        chosen = np.zeros(self.pop.next_household, dtype=bool)
        chosen[households] = True
        return np.flatnonzero(mask & chosen[pop["household"]])

    def _moves_out_households(self, group: int, p: float, start: int, days_in_year: int,
                              ev: Events, abroad_share: float) -> None:
        pop, rng = self.pop, self.rng
        mask = pop["present"] & (pop["status"] == 0) & (pop["group"] == group) & (pop["einzug"] < start)
        households = np.unique(pop["household"][mask])
        leaving = households[rng.random(len(households)) < p]
        members = self._household_members(leaving, mask)
        hh_day = start + rng.integers(0, days_in_year, pop.next_household)
        hh_abroad = rng.random(pop.next_household) < abroad_share
        hh = pop["household"][members]
        self._leave(members, hh_day[hh], hh_abroad[hh], ev)

    def _moves_out_count(self, n_persons: int, start: int, days_in_year: int, ev: Events) -> int:
        """Households (not EU2, not arrived this year) move out until n_persons have left."""
        pop, rng = self.pop, self.rng
        mask = pop["present"] & (pop["status"] == 0) & (pop["group"] != EU2) & (pop["einzug"] < start)
        hh_all = pop["household"][mask]
        households, first, size = np.unique(hh_all, return_index=True, return_counts=True)
        group = pop["group"][np.flatnonzero(mask)[first]]
        weight = np.choose(group, [1.0, 2.0, 2.0, 1.3, 3.0 if self.year >= 2023 else 0.3])
        weight = weight / np.sqrt(size)  # large families move less often
        # young adults move most, the old least
        head_age = self._ages(start, np.flatnonzero(mask)[first])
        weight = weight * np.select([head_age < 35, head_age < 65], [3.0, 1.0], 0.25)
        # districts above their target lose more
        d = self.districts
        pressure = (self._residents_per_district()
                    / (d.share * self.city_path[self.year] * self.scale)) ** 8
        weight = weight * pressure[pop["district"][np.flatnonzero(mask)[first]]]
        keys = rng.random(len(households)) ** (1.0 / weight)
        order = np.argsort(-keys)
        cum = np.cumsum(size[order])
        take = order[: int(np.searchsorted(cum, n_persons)) + 1]
        leaving = households[take]
        members = self._household_members(leaving, mask)
        hh_day = start + rng.integers(0, days_in_year, pop.next_household)
        abroad_share = np.choose(group, [.12, .45, .75, .35, .6])
        hh_abroad = np.zeros(pop.next_household, dtype=bool)
        hh_abroad[households] = rng.random(len(households)) < abroad_share
        hh = pop["household"][members]
        self._leave(members, hh_day[hh], hh_abroad[hh], ev)
        return len(members)

    def _secondary_turnover(self, start: int, days_in_year: int, ev: Events) -> None:
        pop, rng = self.pop, self.rng
        idx = np.flatnonzero(pop["present"] & (pop["status"] == 1) & (pop["einzug"] < start))
        leaving = idx[rng.random(len(idx)) < .25]
        self._leave(leaving, start + rng.integers(0, days_in_year, len(leaving)),
                    np.zeros(len(leaving), bool), ev)
        people = self._households(len(leaving), "inland", GERMAN, start, young=True)
        if len(leaving):
            people["n_households"] = int(people["hh"].max()) + 1
            day = start + rng.integers(0, days_in_year, people["n_households"])
            ids = self._settle(people, GERMAN, self.year, day, status=1)
            ev.add("ZUZUG_INLAND", ids, pop["zuzug"][ids], np.full(len(ids), -1),
                   pop["district"][ids], np.zeros(len(ids)))

    def _moves_within(self, year: int, start: int, days_in_year: int, ev: Events) -> None:
        """Households move within the city; young adults leave their parents' household."""
        pop, rng = self.pop, self.rng
        mask = pop["present"] & (pop["status"] == 0) & (pop["einzug"] < start)
        # young adults leaving home: 18-27, in a household of two or more
        idx = np.flatnonzero(mask)
        size = np.bincount(pop["household"][idx], minlength=pop.next_household)
        age = self._ages(start + 182, idx)
        leavers = idx[(age >= 18) & (age <= 27) & (size[pop["household"][idx]] >= 3)
                      & (rng.random(len(idx)) < .10)]
        pop["household"][leavers] = pop.new_households(len(leavers))
        households = np.unique(pop["household"][idx])
        movers_hh = households[rng.random(len(households)) < .075]
        moving_hh = np.union1d(movers_hh, pop["household"][leavers])
        # every member moves, also those who joined the household this year (a newborn): a
        # household lives in one district (the warehouse's household rule, docs/methodology.md)
        members = self._household_members(moving_hh, pop["present"] & (pop["status"] == 0))
        if not len(members):
            return
        hh = pop["household"][members]
        hh_ids, inverse = np.unique(hh, return_inverse=True)
        first = np.zeros(len(hh_ids), dtype=np.int64)
        first[inverse[::-1]] = members[::-1]
        old_district = pop["district"][first]
        group = pop["group"][first]
        new_district = old_district.copy()
        far = rng.random(len(hh_ids)) >= .35  # 35 % stay in their district
        for g in range(5):
            sel = far & (group == g)
            if sel.any():
                new_district[sel] = rng.choice(self.n_districts, sel.sum(), p=self._district_weights(g, year))
        day = start + rng.integers(0, days_in_year, len(hh_ids))
        # a household moves after its newest member joined it (a child is born, then the family
        # moves: the move is the child's last event of the year); born on 31 December: next year
        latest_join = np.full(len(hh_ids), np.iinfo(np.int64).min)
        np.maximum.at(latest_join, inverse, pop["einzug"][members].astype(np.int64))
        hh_day = np.maximum(day, latest_join + 1)
        moving = (hh_day <= start + days_in_year - 1)[inverse]
        members, inverse = members[moving], inverse[moving]
        move_day = hh_day[inverse]
        von = pop["district"][members].copy()
        pop["district"][members] = new_district[inverse]
        pop["street"][members] = rng.integers(0, self.streets.shape[1], len(hh_ids))[inverse]
        pop["house_no"][members] = rng.integers(1, 140, len(hh_ids))[inverse]
        pop["einzug"][members] = move_day
        ev.add("UMZUG", members, move_day, von, pop["district"][members], np.full(len(members), -1))
