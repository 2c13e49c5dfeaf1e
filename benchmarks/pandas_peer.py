"""The pandas peer: the long indicator fact as an analyst would compute it with pandas from the
delivery CSVs (clean sample), for comparison with the pipeline and the DuckDB floor.

It does the work the pipeline does that a comparison needs: it reads every delivery the pipeline
reads (all monthly files of the welfare registers, not only December's; the stocks are then taken
at the year's end, as the warehouse takes them) and applies the primary suppression rule of the
release (small counts, rates on small numerators or denominators). It does not check rows,
pseudonymise, suppress secondarily or audit: those are the pipeline's extra work."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from dagster_project.contracts import SEED_DIR
from dagster_project.release.disclosure import RULES_FILE

CITY_AGS = "05913000"


def _read(path: Path, columns: list[str] | None) -> pd.DataFrame:
    encoding = "utf-8-sig" if path.read_bytes()[:3] == b"\xef\xbb\xbf" else "cp1252"
    return pd.read_csv(path, sep=";", dtype=str, usecols=columns, encoding=encoding, keep_default_na=False)


def _year(path: Path) -> int:
    return int(re.search(r"(\d{4})", path.stem).group(1))


def _by_area(frame: pd.DataFrame, districts: pd.DataFrame, values: dict[str, pd.Series]) -> pd.DataFrame:
    """Sum boolean/int columns per statistical district, city district and the city."""
    data = pd.DataFrame(values)
    data["y"] = frame["y"].to_numpy()
    data["sd"] = frame["sd"].to_numpy()
    data = data.merge(districts, on="sd")
    columns = list(values)
    out = []
    for level, keys in (("statistical_district", ["y", "sd"]), ("city_district", ["y", "cd"]), ("city", ["y"])):
        part = data.groupby(keys)[columns].sum().reset_index()
        part["lvl"] = level
        part["code"] = part[keys[1]] if len(keys) == 2 else CITY_AGS
        out.append(part[["lvl", "code", "y", *columns]])
    return pd.concat(out, ignore_index=True)


def pandas_indicator_values(inbox: Path) -> pd.DataFrame:
    from benchmarks.floor import DORTMUND_AREAS

    areas = pd.read_csv(DORTMUND_AREAS, dtype=str)
    districts = areas[areas.area_level == "statistical_district"][["area_code", "parent_area_code"]].rename(
        columns={"area_code": "sd", "parent_area_code": "cd"})

    # residents
    frames = []
    for path in sorted((inbox / "einwohner").glob("*.csv")):
        frame = _read(path, ["ORDNUNGSMERKMAL", "HAUSHALT", "GEBURTSDATUM", "STAATSANGEHOERIGKEIT_1",
                             "STAATSANGEHOERIGKEIT_2", "GEBURTSSTAAT", "WOHNUNGSSTATUS", "STAT_BEZIRK", "EINZUG_WOHNUNG"])
        frame = frame[frame.WOHNUNGSSTATUS == "H"].copy()
        frame["y"] = _year(path)
        frames.append(frame)
    r = pd.concat(frames, ignore_index=True).rename(columns={"STAT_BEZIRK": "sd", "HAUSHALT": "hh"})
    r["age"] = r.y - r.GEBURTSDATUM.str[-4:].astype(int)
    n1, n2 = r.STAATSANGEHOERIGKEIT_1, r.STAATSANGEHOERIGKEIT_2
    foreign = (n1 != "000") & (n2 != "000")
    own = foreign | ((n2 != "") & (n2 != n1)) | (r.GEBURTSSTAAT != "000")
    adult_mb = own[r.age >= 18].groupby([r.y[r.age >= 18], r.hh[r.age >= 18]]).any()
    household_mb = pd.Series(list(zip(r.y, r.hh))).map(adult_mb.to_dict()).fillna(False).astype(bool).to_numpy()
    mb = own | ((r.age < 18) & household_mb)
    eu2 = foreign & n1.isin(["125", "154"])
    einzug = pd.to_datetime(r.EINZUG_WOHNUNG, format="%d.%m.%Y")
    five_years = einzug <= pd.to_datetime((r.y - 5).astype(str) + "-12-31")
    res = _by_area(r, districts, {
        "res": np.ones(len(r), int), "r017": r.age <= 17, "r1864": r.age.between(18, 64), "r65": r.age >= 65,
        "ru65": r.age < 65, "r014": r.age <= 14, "r1564": r.age.between(15, 64), "rfor": foreign, "rmb": mb,
        "reu2": eu2, "reu2u65": eu2 & (r.age < 65), "r5y": five_years})

    # households
    h = r.groupby(["y", "hh"]).agg(sd=("sd", "min"), adults=("age", lambda a: int((a >= 18).sum())),
                                   minors=("age", lambda a: int((a < 18).sum()))).reset_index()
    hh = _by_area(h, districts, {"hmin": h.minors > 0, "hsp": (h.minors > 0) & (h.adults == 1)})

    # welfare: every monthly delivery is read, the stock on 31 December counts
    parts = []
    for register in ("sgb2", "sgb12", "asylblg"):
        months = [_read(path, None).assign(reg=register, y=_year(path), m=int(path.stem[-2:]))
                  for path in sorted((inbox / register).glob("*.csv"))]
        register_frame = pd.concat(months, ignore_index=True)
        parts.append(register_frame[register_frame.m == 12])
    w = pd.concat(parts, ignore_index=True).rename(columns={"STAT_BEZIRK": "sd"})
    w["age"] = w.y - w.GEBURTSDATUM.str[-4:].astype(int)
    s2 = w.reg == "sgb2"
    s12 = w.reg == "sgb12"
    outside = w.get("EINRICHTUNG", pd.Series("", index=w.index)) != "J"
    welfare = _by_area(w, districts, {
        "s2u65": s2 & (w.age < 65), "s2014": s2 & (w.age <= 14),
        "elb": s2 & (w.LEISTUNGSSTATUS == "ELB") & w.age.between(15, 64), "s2al": s2 & (w.ARBEITSLOS == "J"),
        "s2": s2, "s2eu2": s2 & w.STAATSANGEHOERIGKEIT.isin(["125", "154"]) & (w.age < 65),
        "grusi": s12 & (w.KAPITEL == "4") & (w.age >= 65) & outside, "s12": s12 & outside,
        "asyl": w.reg == "asylblg"})

    # moves across area boundaries
    parts = []
    for path in sorted((inbox / "bewegungen").glob("*.csv")):
        frame = _read(path, ["EREIGNIS", "STAT_BEZIRK_VON", "STAT_BEZIRK_NACH"])
        frame["y"] = _year(path)
        parts.append(frame)
    m = pd.concat(parts, ignore_index=True)
    m = m[m.EREIGNIS.isin(["ZUZUG_AUSLAND", "ZUZUG_INLAND", "FORTZUG_AUSLAND", "FORTZUG_INLAND", "UMZUG"])]
    cd_of = dict(zip(districts.sd, districts.cd))
    flows = []
    for level, von, nach in (
        ("statistical_district", m.STAT_BEZIRK_VON, m.STAT_BEZIRK_NACH),
        ("city_district", m.STAT_BEZIRK_VON.map(cd_of), m.STAT_BEZIRK_NACH.map(cd_of)),
        ("city", m.STAT_BEZIRK_VON.where(m.STAT_BEZIRK_VON == "", CITY_AGS).replace("", None),
         m.STAT_BEZIRK_NACH.where(m.STAT_BEZIRK_NACH == "", CITY_AGS).replace("", None)),
    ):
        von = von.replace("", None)
        nach = nach.replace("", None)
        crossing = von.fillna("-") != nach.fillna("-")
        into = pd.DataFrame({"y": m.y, "code": nach, "moves_in": 1, "moves_out": 0})[crossing & nach.notna()]
        out_of = pd.DataFrame({"y": m.y, "code": von, "moves_in": 0, "moves_out": 1})[crossing & von.notna()]
        part = pd.concat([into, out_of]).groupby(["y", "code"]).sum().reset_index()
        part["lvl"] = level
        flows.append(part)
    moves = pd.concat(flows, ignore_index=True)

    keys = ["lvl", "code", "y"]
    c = res.merge(hh, on=keys, how="left").merge(welfare, on=keys, how="left").merge(moves, on=keys, how="left")
    previous = res[keys + ["res"]].assign(y=res.y + 1).rename(columns={"res": "res_prev"})
    c = c.merge(previous, on=keys, how="left")
    movement_years = set(moves.y)
    for column in ("moves_in", "moves_out"):
        c[column] = np.where(c.y.isin(movement_years), c[column].fillna(0), np.nan)
    for column in ("s2u65", "s2014", "elb", "s2al", "s2", "s2eu2", "grusi", "s12", "asyl"):
        c[column] = c[column].fillna(0)
    definitions = {
        "residents": ("res", None), "share_under_18": ("r017", "res"), "share_65_plus": ("r65", "res"),
        "youth_dependency_ratio": ("r017", "r1864"), "old_age_dependency_ratio": ("r65", "r1864"),
        "share_foreign": ("rfor", "res"), "share_migration_background": ("rmb", "res"), "share_eu2": ("reu2", "res"),
        "share_single_parent_households": ("hsp", "hmin"),
        "population_change_pct": (c.res - c.res_prev, "res_prev"),
        "net_migration_rate": (c.moves_in - c.moves_out, "res"), "mobility_rate": (c.moves_in + c.moves_out, "res"),
        "share_residence_5y": ("r5y", "res"), "sgb2_rate": ("s2u65", "ru65"), "sgb2_child_rate": ("s2014", "r014"),
        "elb_rate": ("elb", "r1564"), "unemployment_sgb2_rate": ("s2al", "r1564"),
        "grusi_old_age_rate": ("grusi", "r65"), "min_income_rate": (c.s2 + c.s12 + c.asyl, "res"),
        "eu2_sgb2_rate": ("s2eu2", "reu2u65"),
    }
    out = []
    for indicator, (numerator, denominator) in definitions.items():
        num = c[numerator] if isinstance(numerator, str) else numerator
        den = c[denominator] if denominator else pd.Series(np.nan, index=c.index)
        part = pd.DataFrame({"indicator_id": indicator, "area_level": c.lvl, "area_code": c.code,
                             "reference_year": c.y, "numerator": num.astype(float), "denominator": den.astype(float)})
        keep = part.numerator.notna() & (part.denominator.notna() if denominator else True)
        out.append(part[keep])
    return primary_suppression(pd.concat(out, ignore_index=True))


def primary_suppression(values: pd.DataFrame) -> pd.DataFrame:
    """`suppressed`: the cell breaks a primary rule of the release's rules file (written out here
    as an analyst would, not taken from the warehouse's code); `value` is the published value,
    missing where suppressed. Numerator and denominator stay for the comparison."""
    rules = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    catalogue = pd.read_csv(SEED_DIR.parent / "catalogue" / "indicator_catalogue.csv", usecols=["indicator_id", "multiplier"])
    multiplier = values.indicator_id.map(dict(zip(catalogue.indicator_id, catalogue.multiplier)))
    size = values.numerator.abs()
    is_count = values.denominator.isna()
    small_count = is_count & (size > 0) & (size < rules["min_count"])
    small_rate = ~is_count & (((size > 0) & (size < rules["min_rate_numerator"]))
                              | (values.denominator < rules["min_rate_denominator"]))
    suppressed = small_count | small_rate
    value = values.numerator.where(is_count, multiplier * values.numerator / values.denominator.where(values.denominator != 0))
    return values.assign(value=value.where(~suppressed), suppressed=suppressed)
