"""Calibration targets of the sample registers, for the city profile DFT_CITY selects.

The areas come from the profile (cities/<name>/seeds/ref_areas.csv). The reference city's
calibration (``sample: {calibration: dortmund}``) uses its real published figures from the
profile's ``ref_published_figures.csv`` (each row with its source). Everything else here is a
*synthetic* assumption, chosen to look like Dortmund, and marked as such: the district social rank,
the city-district totals that were not published, the year path of the city total between
published years, and the EU2 path between the published years 2015, 2018 and 2023.

Any other profile is calibrated from its ``sample`` entry (``calibration: synthetic``): the city's
residents, foreign share and SGB II rate in 2023; every year's path has the shape of Dortmund's,
and each lowest-level area gets a size and a social rank drawn once from its code (synthetic).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from functools import cache

import numpy as np

from dagster_project import city_profile

FIRST_SIMULATED_YEAR = 2013  # the generator starts from a synthetic stock on 31.12.2013


@cache
def published_figures() -> dict[tuple[str, str, str], float]:
    """(reference_date, area_code, measure) -> value, from the published-figures seed."""
    with (DORTMUND_DIR / "seeds" / "ref_published_figures.csv").open(encoding="utf-8", newline="") as handle:
        return {
            (row["reference_date"], row["area_code"], row["measure"]): float(row["value"])
            for row in csv.DictReader(handle)
        }


def _published(year: int, area: str, measure: str) -> float:
    return published_figures()[(f"{year}-12-31", area, measure)]


CITY_AGS = "05913000"
# the reference city's profile: its published figures shape every city's year paths
DORTMUND_DIR = city_profile.CITIES_DIR / "dortmund"


def _profile() -> city_profile.CityProfile:
    return city_profile.current()


def _is_dortmund() -> bool:
    return _profile().sample.get("calibration", "synthetic") == "dortmund"


def _size_factor() -> float:
    """A synthetic city's residents in 2023 relative to Dortmund's (1 for Dortmund)."""
    if _is_dortmund():
        return 1.0
    return float(_profile().sample["residents_2023"]) / _published(2023, CITY_AGS, "residents_main_residence")

# City residents (main residence) on 31.12.: 2022 and 2023 published, the rest synthetic.
def city_total_path() -> dict[int, float]:
    path = {
        2013: 580_500, 2014: 584_000, 2015: 592_500, 2016: 596_600, 2017: 599_000,
        2018: 601_200, 2019: 603_400, 2020: 603_000, 2021: 603_500, 2024: 613_500,
    }
    path[2022] = _published(2022, CITY_AGS, "residents_main_residence")
    path[2023] = _published(2023, CITY_AGS, "residents_main_residence")
    factor = _size_factor()
    return {year: value * factor for year, value in sorted(path.items())}


# Bulgarian (125) and Romanian (154) residents on 31.12.: 2015, 2018 and the EU2 sum 2023 are
# published; the split of 2023 and all other years are synthetic interpolations.
def eu2_paths() -> dict[int, dict[int, float]]:
    bg = {2013: 2000, 2014: 2500, 2016: 3350, 2017: 3650, 2019: 4200, 2020: 4450,
          2021: 4700, 2022: 4900, 2023: 5100, 2024: 5250}
    ro = {2013: 3300, 2014: 4200, 2016: 5000, 2017: 5060, 2019: 5600, 2020: 6000,
          2021: 6350, 2022: 6650, 2024: 7150}
    for year in (2015, 2018):
        bg[year] = _published(year, CITY_AGS, "residents_bulgarian")
        ro[year] = _published(year, CITY_AGS, "residents_romanian")
    ro[2023] = _published(2023, CITY_AGS, "residents_eu2") - bg[2023]
    factor = _size_factor()
    return {125: {y: v * factor for y, v in sorted(bg.items())}, 154: {y: v * factor for y, v in sorted(ro.items())}}


# City-district residents 2023: 02, 03, 09, 11 published; the others synthetic, so that the sum
# is the published city total.
SYNTHETIC_CITY_DISTRICT_2023 = {
    "01": 53_500, "04": 39_500, "05": 46_000, "06": 57_500, "07": 57_000, "08": 55_500,
    "10": 49_000, "12": 40_035,
}
PUBLISHED_CITY_DISTRICTS = ("02", "03", "09", "11")

# Synthetic: each statistical district's weight within its city district (thousands of residents,
# roughly) and its social rank (0 = most deprived, 1 = most affluent).
DISTRICT_PROFILE = {
    "000": (8, .35), "010": (13, .55), "020": (13, .20), "030": (18, .30),
    "040": (17.5, .04), "050": (24.5, .0), "060": (19, .06),
    "070": (20, .45), "080": (20, .75), "090": (18.5, .70),
    "110": (9, .70), "120": (14, .20), "130": (3.5, .60), "140": (10, .15),
    "210": (6.5, .35), "220": (4, .45), "230": (3.5, .50), "240": (7, .65), "250": (5, .40),
    "260": (7.5, .35), "270": (12, .10),
    "310": (10, .70), "320": (20, .70), "330": (9, .60), "340": (17.5, .55),
    "410": (22, .80), "420": (11, .80), "430": (10, .70), "440": (6, .75), "450": (7.5, 1.0),
    "510": (9, .60), "520": (3, .80), "530": (21, .30), "540": (8, .90), "550": (2.5, .95),
    "560": (7, .80), "570": (5, .90),
    "610": (10, .55), "620": (3, .98), "630": (6, .85), "640": (8, .80), "650": (13, .65),
    "660": (4, .90), "670": (8, .95), "680": (3, .97), "690": (2.4, .75),
    "710": (4.5, .35), "720": (3, .80), "730": (18, .50), "740": (10, .25), "750": (6.5, .55),
    "760": (6.5, .40),
    "810": (2.5, .50), "820": (14, .35), "830": (8, .60), "840": (12, .55),
    "910": (4, .60), "920": (11, .55), "930": (7, .45), "940": (5, .55), "950": (2.5, .75),
    "960": (9.5, .15),
}

# Synthetic: where EU2 residents live (share of the city's EU2 residents); the rest is spread
# over all districts by size and social rank. Nordmarkt ~29 %, Innenstadt-Nord ~53 % (2018 press).
EU2_DISTRICT_SHARE = {
    "050": .32, "040": .12, "060": .11, "020": .05, "000": .03, "070": .03, "120": .04,
    "140": .03, "270": .04, "960": .04, "740": .02, "530": .02,
}

TARGET_CITY_FOREIGN_SHARE = 0.215   # synthetic, plausible for Dortmund 2023
TARGET_CITY_SGB2_RATE = 0.175       # SGB II recipients < 65 per residents < 65 (Dortmund ~17-18 %)
SGB2_RATE_RANGE = (0.03, 0.43)      # most affluent / most deprived district
SGB2_YEAR_FACTOR = {2014: 1.05, 2015: 1.05, 2016: 1.06, 2017: 1.05, 2018: 1.02, 2019: 0.98,
                    2020: 1.0, 2021: 0.99, 2022: 1.0, 2023: 1.0, 2024: 1.01}


@dataclass(frozen=True)
class Districts:
    codes: np.ndarray          # '000', ... (62)
    city_district: np.ndarray  # '01', ...
    share: np.ndarray          # share of city residents (sums to 1)
    rank: np.ndarray           # social rank 0..1
    foreign_share: np.ndarray  # target foreign share 2023
    sgb2_rate: np.ndarray      # target SGB II rate (< 65) 2023
    eu2_share: np.ndarray      # share of the city's EU2 residents

    def index(self, code: str) -> int:
        return int(np.flatnonzero(self.codes == code)[0])


def target_sgb2_rate() -> float:
    """The city's SGB II rate (< 65) the sample aims at in 2023."""
    return TARGET_CITY_SGB2_RATE if _is_dortmund() else float(_profile().sample.get("sgb2_rate_2023", TARGET_CITY_SGB2_RATE))


def _solve_exponent(weights: np.ndarray, rank: np.ndarray, low: float, high: float,
                    target: float) -> np.ndarray:
    """Values low + (high - low) * (1 - rank)^k with the weighted mean `target` (bisection on k)."""
    lo_k, hi_k = 0.05, 20.0
    for _ in range(60):
        k = (lo_k + hi_k) / 2
        values = low + (high - low) * (1 - rank) ** k
        if np.average(values, weights=weights) > target:
            lo_k = k
        else:
            hi_k = k
    return low + (high - low) * (1 - rank) ** ((lo_k + hi_k) / 2)


def districts() -> Districts:
    """The lowest-level areas of the selected city profile with their calibration targets."""
    profile = _profile()
    return _dortmund_districts(profile) if _is_dortmund() else _synthetic_districts(profile)


def _lowest_areas(profile: city_profile.CityProfile) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the lowest-level areas and of their area on the top level."""
    chains = profile.ancestors()
    codes = np.array(list(chains))
    top = np.array([chains[c][profile.top.id] for c in codes])
    return codes, top


@cache
def _synthetic_districts(profile: city_profile.CityProfile) -> Districts:
    """Synthetic calibration of any city: sizes and social ranks drawn from each area's code (the
    same code always gets the same draw), rates as in Dortmund around the profile's city values."""
    codes, top = _lowest_areas(profile)
    sample = profile.sample
    seeds = [int.from_bytes(hashlib.sha256(c.encode()).digest()[:8], "little") for c in codes]
    draws = np.array([np.random.default_rng(s).random(2) for s in seeds])
    weight = 0.3 + 1.7 * draws[:, 0]
    # areas of one top-level area resemble each other: half of the rank is the top area's
    top_rank = {t: np.random.default_rng(int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")).random()
                for t in set(top)}
    rank = 0.5 * draws[:, 1] + 0.5 * np.array([top_rank[t] for t in top])
    share = weight / weight.sum()
    foreign = _solve_exponent(share, rank, 0.04, 0.55, float(sample.get("foreign_share_2023", TARGET_CITY_FOREIGN_SHARE)))
    sgb2 = _solve_exponent(share, rank, *SGB2_RATE_RANGE, float(sample.get("sgb2_rate_2023", TARGET_CITY_SGB2_RATE)))
    eu2 = share * (1 - rank) ** 3
    return Districts(codes, top, share, rank, foreign, sgb2, eu2 / eu2.sum())


@cache
def _dortmund_districts(profile: city_profile.CityProfile) -> Districts:
    codes, city = _lowest_areas(profile)
    weight = np.array([DISTRICT_PROFILE[c][0] for c in codes], dtype=float)
    rank = np.array([DISTRICT_PROFILE[c][1] for c in codes], dtype=float)
    totals = dict(SYNTHETIC_CITY_DISTRICT_2023)
    for code in PUBLISHED_CITY_DISTRICTS:
        totals[code] = _published(2023, code, "residents_main_residence")
    residents = np.array([
        totals[cd] * w / weight[city == cd].sum() for cd, w in zip(city, weight)
    ])
    share = residents / residents.sum()
    nordmarkt = _published(2023, "050", "share_foreign_pct") / 100
    soelderholz = _published(2023, "450", "share_foreign_pct") / 100
    foreign = _solve_exponent(share, rank, soelderholz, nordmarkt, TARGET_CITY_FOREIGN_SHARE)
    sgb2 = _solve_exponent(share, rank, *SGB2_RATE_RANGE, TARGET_CITY_SGB2_RATE)
    eu2 = np.array([EU2_DISTRICT_SHARE.get(c, 0.0) for c in codes])
    rest = np.where(eu2 > 0, 0, share * (1 - rank) ** 2)
    eu2 = eu2 + (1 - eu2.sum()) * rest / rest.sum()
    return Districts(codes, city, share, rank, foreign, sgb2, eu2)
