"""Sample register deliveries: ``python -m sample_deliveries``.

Writes every register (dagster_project/contracts/) for the chosen years into ``<out>/<register>/``, in the exact
formats of the contracts, with a small documented share of realistic defects (see DEFECTS), which
``--clean`` turns off. Deterministic for a given seed and scale.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import duckdb
import numpy as np

from sample_deliveries import calibration as cal
from sample_deliveries.names import FIRST_NAMES_M, FIRST_NAMES_W, SURNAMES
from sample_deliveries.population import GROUP_NAMES, Simulation
from sample_deliveries.welfare import WELFARE_COLUMNS, WelfareModel
from sample_deliveries.writer import CHUNK_ROWS, CP1252, UTF8_BOM, Coded, PerSlice, write_delivery

REGISTERS = ("einwohner", "bewegungen", "sgb2", "sgb12", "asylblg", "massnahmen")

# Share of rows per delivery with a defect (0 with --clean); documented in the README.
DEFECTS = {
    "einwohner": {"unbekannter Bezirk": 1e-4, "unmögliches Geburtsdatum": 1e-4,
                  "doppeltes Ordnungsmerkmal": 1e-4, "unbekannte Staatsangehörigkeit": 5e-5},
    "bewegungen": {"unbekannte Staatsangehörigkeit": 1e-4, "unbekannter Bezirk": 5e-5},
    "sgb2": {"unbekannter Bezirk": 5e-5, "unmögliches Geburtsdatum": 5e-5},
    "sgb12": {"unbekannter Bezirk": 2e-4},
    "asylblg": {"unmögliches Geburtsdatum": 2e-4},
}
DEFECT_CODES = {"unbekannter Bezirk": 1, "unmögliches Geburtsdatum": 2,
                "unbekannte Staatsangehörigkeit": 3}


def encoding_for(register: str, year: int) -> str:
    """The population register changed its export in 2019 (Windows-1252 -> UTF-8 with BOM);
    the Jobcenter exports Windows-1252, the social welfare office UTF-8 with BOM."""
    if register in ("einwohner", "bewegungen"):
        return CP1252 if year <= 2018 else UTF8_BOM
    return CP1252 if register == "sgb2" else UTF8_BOM


def parse_years(text: str) -> list[int]:
    years: list[int] = []
    for part in text.split(","):
        if "-" in part:
            first, last = (int(x) for x in part.split("-"))
            years.extend(range(first, last + 1))
        else:
            years.append(int(part))
    if min(years) <= cal.FIRST_SIMULATED_YEAR or max(years) > max(cal.city_total_path()):
        raise SystemExit(f"--years: nur {cal.FIRST_SIMULATED_YEAR + 1}-{max(cal.city_total_path())} möglich")
    return sorted(set(years))


class SampleWriter:
    def __init__(self, out: Path, seed: int, clean: bool, registers: set[str], streets: np.ndarray) -> None:
        self.out = out
        self.streets = streets  # (district, street index) -> street name, from the simulation
        self.clean = clean
        self.registers = registers
        self.rng = np.random.default_rng(seed + 104729)
        self.con = duckdb.connect()
        self.district_codes = cal.districts().codes
        self.surnames = [s for g in GROUP_NAMES for s in SURNAMES[g]]
        self.first_names = (FIRST_NAMES_M, FIRST_NAMES_W)
        self.counts: dict[str, int] = {}
        self.defects: dict[str, int] = {}

    def _defects(self, register: str, n: int) -> np.ndarray:
        defect = np.zeros(n, dtype=np.int8)
        if self.clean or not n:
            return defect
        for name, share in DEFECTS[register].items():
            if name in DEFECT_CODES:
                k = self.rng.binomial(n, share)
                defect[self.rng.choice(n, k, replace=False)] = DEFECT_CODES[name]
                self.defects[f"{register}: {name}"] = self.defects.get(f"{register}: {name}", 0) + k
        return defect

    def _write(self, register: str, period: str, year: int, columns: dict) -> None:
        if register not in self.registers:
            return
        n = len(next(iter(columns.values())))
        columns["defect"] = self._defects(register, n)
        path = self.out / register / f"{register}_{period}.csv"
        rows = write_delivery(self.con, register, columns, path, encoding_for(register, year))
        if rows > CHUNK_ROWS:  # DuckDB keeps the memory it once used until its connection closes
            self.con.close()
            self.con = duckdb.connect()
        self.counts[register] = self.counts.get(register, 0) + rows

    def population(self, year: int, pop, present: np.ndarray) -> None:
        """The extract of the persons at positions `present` of the population: each column is
        gathered slice by slice as it is written (a state's extract is never held whole)."""
        n = len(present)
        person = present.astype(np.int32 if len(pop) < 2**31 else np.int64)
        if not self.clean and "einwohner" in self.registers:
            k = self.rng.binomial(len(person), DEFECTS["einwohner"]["doppeltes Ordnungsmerkmal"])
            a, b = self.rng.choice(len(person), (2, k), replace=False)
            person[a] = person[b]
            self.defects["einwohner: doppeltes Ordnungsmerkmal"] = (
                self.defects.get("einwohner: doppeltes Ordnungsmerkmal", 0) + k)
        male, female = self.first_names
        first_name, surname = Coded.coder(male + female), Coded.coder(self.surnames)
        street, district_code = Coded.coder(self.streets), Coded.coder(self.district_codes)
        streets_per_district = self.streets.shape[1]

        def column(name: str) -> PerSlice:
            return PerSlice(n, lambda rows: pop[name][present[rows]])

        def names(rows: slice) -> Coded:
            sex, first = pop["sex"][present[rows]], pop["first_name"][present[rows]]
            return first_name(np.where(sex == 1, len(male) + first % len(female), first % len(male)))

        def addresses(rows: slice) -> Coded:
            at = present[rows]
            return street(pop["district"][at].astype(np.int64) * streets_per_district + pop["street"][at])

        self._write("einwohner", f"{year}-12-31", year, {
            "person": person, "surname": PerSlice(n, lambda rows: surname(pop["surname"][present[rows]])),
            "first_name": PerSlice(n, names),
            "birth": column("birth"), "sex": column("sex"), "nat1": column("nat1"), "nat2": column("nat2"),
            "birth_country": column("birth_country"), "status": column("status"),
            "street": PerSlice(n, addresses), "house_no": column("house_no"),
            "district_code": PerSlice(n, lambda rows: district_code(pop["district"][present[rows]])),
            "household": column("household"), "zuzug": column("zuzug"), "einzug": column("einzug"),
        })

    def movements(self, year: int, ev: dict, pop) -> None:
        person = ev["person"].astype(np.int64)
        order = np.argsort(ev["date"], kind="stable")
        self._write("bewegungen", str(year), year, {
            "person": person[order], "kind": ev["kind"][order], "date": ev["date"][order],
            "birth": pop["birth"][person][order], "sex": pop["sex"][person][order],
            "nat1": pop["nat1"][person][order], "von_code": Coded.of(ev["von"][order], self.district_codes),
            "nach_code": Coded.of(ev["nach"][order], self.district_codes),
            "country": np.where(ev["country"] >= 0, ev["country"], -1)[order],
        })

    def welfare(self, year: int, e: dict, months) -> None:
        """The monthly deliveries of a year; `e`: the residents with their main residence."""
        for month, rec in enumerate(months, start=1):
            period = f"{year}-{month:02d}"
            r = rec.sgb2["row"]
            self._write("sgb2", period, year, {
                "household": e["household"][r], "lfd": rec.sgb2["lfd"], "birth": e["birth"][r],
                "sex": e["sex"][r], "nat1": e["nat1"][r],
                "district_code": Coded.of(e["district"][r], self.district_codes), "elb": rec.sgb2["elb"],
                "unemployed": rec.sgb2["unemployed"], "bg_type": rec.sgb2["bg_type"],
            })
            r = rec.sgb12["row"]
            self._write("sgb12", period, year, {
                "person": e["person"][r], "birth": e["birth"][r], "sex": e["sex"][r],
                "nat1": e["nat1"][r], "district_code": Coded.of(e["district"][r], self.district_codes),
                "chapter": rec.sgb12["chapter"], "institution": rec.sgb12["institution"],
            })
            r = rec.asylblg["row"]
            self._write("asylblg", period, year, {
                "household": e["household"][r], "lfd": rec.asylblg["lfd"], "birth": e["birth"][r],
                "sex": e["sex"][r], "nat1": e["nat1"][r],
                "district_code": Coded.of(e["district"][r], self.district_codes), "analog": rec.asylblg["analog"],
            })


def _return_freed_arrays_to_the_system() -> None:
    """glibc raises its threshold for memory-mapped allocations up to 32 MB after an array is
    freed, so later arrays of a few megabytes come from the heap, which keeps what was freed:
    at a state's scale that is hundreds of megabytes. A fixed threshold of 1 MB gives every
    larger array back when it is freed. Without glibc (another C library, another system) the
    generator runs as before."""
    import ctypes
    import ctypes.util

    m_mmap_threshold = -3
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(m_mmap_threshold, 1024 * 1024)
    except (OSError, AttributeError):
        pass


def generate(out: Path, years: list[int], scale: float = 1.0, seed: int = 42, clean: bool = False,
             registers: set[str] | None = None, progress=print) -> dict:
    """Simulate from 31.12.2013 to the last requested year and write the requested deliveries."""
    registers = set(registers or REGISTERS)
    _return_freed_arrays_to_the_system()
    started = time.perf_counter()
    sim = Simulation(scale, seed)
    writer = SampleWriter(out, seed, clean, registers, sim.streets)
    welfare = None
    for year in range(cal.FIRST_SIMULATED_YEAR + 1, max(years) + 1):
        events = sim.step()
        if year not in years:
            continue
        present = np.flatnonzero(sim.pop["present"])
        writer.population(year, sim.pop, present)
        writer.movements(year, events, sim.pop)
        moves = len(events["person"])
        del events
        # the welfare registers need only the residents with their main residence, and only the
        # columns in WELFARE_COLUMNS: the full extract is never made
        main = present[sim.pop["status"][present] == 0]
        del present
        ex = {name: sim.pop[name][main] for name in WELFARE_COLUMNS if name != "person"}
        ex["person"] = main.astype(np.int32 if len(sim.pop) < 2**31 else np.int64)
        del main
        if registers & {"sgb2", "sgb12", "asylblg"}:
            welfare = welfare or WelfareModel(seed, capacity=len(sim.pop) * 2)
            writer.welfare(year, ex, welfare.year(ex, year))
        progress(f"  {year}: {len(ex['person']):,} Einwohner (Hauptwohnsitz), "
                 f"{moves:,} Bewegungen  [{time.perf_counter() - started:.1f} s]")
        del ex   # not while the next year is simulated
    if "massnahmen" in registers:
        from sample_deliveries.measures import write_measures

        _, rows = write_measures(out, f"{max(years)}-12", seed)
        writer.counts["massnahmen"] = rows
    report = {
        "jahre": years, "massstab": scale, "seed": seed, "ohne_fehler": clean,
        "zeilen": writer.counts, "eingebaute_fehler": writer.defects,
        "sekunden": round(time.perf_counter() - started, 1),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "BEISPIELDATEN.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sample_deliveries",
        description="Beispiel-Lieferungen der Register schreiben (synthetisch, kalibriert auf Dortmund).")
    parser.add_argument("--years", default="2014-2024", help="Jahre, z. B. 2014-2024 oder 2022,2023")
    parser.add_argument("--scale", type=float, default=1.0, help="Maßstab (1 = Dortmund, 30 ~ NRW)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("warehouse/inbox"))
    parser.add_argument("--clean", action="store_true", help="ohne eingebaute Fehler")
    parser.add_argument("--registers", default=",".join(REGISTERS),
                        help="Register, kommagetrennt (Standard: alle)")
    args = parser.parse_args(argv)
    registers = {r.strip() for r in args.registers.split(",") if r.strip()}
    unknown = registers - set(REGISTERS)
    if unknown:
        parser.error(f"unbekannte Register: {', '.join(sorted(unknown))}")
    years = parse_years(args.years)
    os.umask(0o077)   # deliveries hold (synthetic) personal data: owner-only, like the warehouse
    print(f"Beispieldaten: Jahre {years[0]}-{years[-1]}, Maßstab {args.scale}, Seed {args.seed} -> {args.out}")
    report = generate(args.out, years, args.scale, args.seed, args.clean, registers)
    print(f"Fertig in {report['sekunden']} s: " + ", ".join(f"{k} {v:,} Zeilen" for k, v in report["zeilen"].items()))
    if report["eingebaute_fehler"]:
        print("Eingebaute Fehler (für die Quarantäne): " + ", ".join(f"{k}: {v}" for k, v in report["eingebaute_fehler"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
