"""Kill the main job with `kill -9` at random moments and check that the next run recovers by itself.

    python -m tests.crash_harness --kills 50            # make chaos: a new seed, printed
    python -m tests.crash_harness --kills 3 --seed 123  # the same kills again

Each kill starts from a fresh warehouse folder with the same inbox (a small clean sample), starts
`python -m dagster_project.main` in its own process group, waits until the run reaches the kill's
phase (ingest, dbt, gate, release or report: the first step of that phase starts), waits a random
part of that phase's length, kills the whole process group, and then starts the next run, which
must complete without help. Its warehouse is then compared with that of an uninterrupted run:
every mart cell, every raw file, the quarantine, the load log and the release's content, EXCEPT ALL
both ways; and no leftovers (temporary files, staging folders, dbt's temporary tables).

This file reads the warehouse as an outsider: files, the DuckDB catalogs and the release folder;
it does not import the pipeline's code.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
PHASES = ("ingest", "dbt", "gate", "release", "report")
STEP_START = re.compile(r' - ([a-z0-9_]+) - STEP_START - ')
RUN_END = re.compile(r" - RUN_(?:SUCCESS|FAILURE) - ")
RUN_TIMEOUT_S = 600
# Columns that name a run or a moment, not content: they differ between any two runs ("stand": the
# day the delivery calendar in a release's manifest was read, which changes at midnight between
# the reference run and a later one).
VOLATILE_COLUMNS = {"load_id", "started_at", "finished_at", "loaded_at", "built_at", "created_at", "checked_at",
                    "release_id", "run_id", "dagster_run_id", "seconds", "sekunden", "published_at",
                    "veroeffentlicht_am", "zeit", "zeitpunkt", "stand"}
JSON_COLUMNS = {"manifest"}   # compared as JSON without the run's times and ids
LEFTOVER = re.compile(r"(\.tmp|\.bak|\.im_aufbau|\.neu|\.partial)$|^\.current\.|__dbt_(tmp|backup)")


def phase_of(step_key: str) -> str:
    if step_key.startswith("raw__"):
        return "ingest"
    if step_key == "warehouse_dbt_models" or step_key.startswith("dbt"):
        return "dbt"
    if step_key == "release__warehouse_release":
        return "release"
    if step_key == "release__planners_report":
        return "report"
    return "gate"


def environment(root: Path, report: bool = True, pdf: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DFT_") and k != "DAGSTER_HOME"}
    env.update({"DFT_WAREHOUSE_DIR": str(root / "warehouse"), "DAGSTER_HOME": str(root / "dagster_home"),
                "DFT_DEMO_MODE": "1", "DFT_REPORT": "1" if report else "0", "DFT_REPORT_PDF": "1" if pdf else "0",
                "DFT_LOG_LEVEL": "DEBUG", "PYTHONPATH": str(REPO),
                "DFT_WRITER_WAIT_S": "60", "PYTHONUNBUFFERED": "1"})
    return env


def fresh_workspace(root: Path, inbox: Path) -> Path:
    if root.exists():
        shutil.rmtree(root)
    (root / "warehouse").mkdir(parents=True)
    shutil.copytree(inbox, root / "warehouse" / "inbox")
    return root


@dataclass
class RunOutcome:
    returncode: int | None
    seconds: float
    phase_starts: dict[str, float] = field(default_factory=dict)   # seconds after start
    last_step: str | None = None
    killed_at: float | None = None
    log: str = ""

    @property
    def run_ended(self) -> bool:
        """Dagster recorded the end of the run before the kill: the kill hit the process's last
        steps after the run (final reports, exit), and there is no dead run to find."""
        return RUN_END.search(self.log) is not None


def run_main(root: Path, kill_phase: str | None = None, kill_delay: float = 0.0,
             timeout: float = RUN_TIMEOUT_S, report: bool = True, pdf: bool = True) -> RunOutcome:
    """Run the main job on `root`; with `kill_phase`, kill its process group `kill_delay` seconds
    after the first step of that phase started (if the run gets there)."""
    log_path = root / f"lauf_{time.time_ns()}.log"
    started = time.monotonic()
    outcome = RunOutcome(None, 0.0)
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen([sys.executable, "-m", "dagster_project.main"], cwd=REPO, env=environment(root, report, pdf),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
        timer: threading.Timer | None = None

        def kill() -> None:
            outcome.killed_at = time.monotonic() - started
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                outcome.killed_at = None

        try:
            for line in process.stdout:
                log.write(line)
                match = STEP_START.search(line)
                if match:
                    outcome.last_step = match.group(1)
                    phase = phase_of(match.group(1))
                    outcome.phase_starts.setdefault(phase, time.monotonic() - started)
                    if phase == kill_phase and timer is None:
                        timer = threading.Timer(kill_delay, kill)
                        timer.start()
                if time.monotonic() - started > timeout:
                    kill()
                    raise TimeoutError(f"Lauf nach {timeout} s nicht fertig: {log_path}")
            outcome.returncode = process.wait(timeout=timeout)
        finally:
            if timer is not None:
                timer.cancel()
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    try:   # children of the killed group (report workers, dbt threads) must be gone
        os.killpg(process.pid, 0)
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    outcome.seconds = time.monotonic() - started
    outcome.log = log_path.read_text(encoding="utf-8")
    if outcome.killed_at is None and kill_phase is None:
        log_path.unlink()
    return outcome


def phase_lengths(outcome: RunOutcome) -> dict[str, tuple[float, float]]:
    """(start, length) of each phase of an uninterrupted run, from its step starts."""
    starts = sorted((t, p) for p, t in outcome.phase_starts.items())
    result = {}
    for i, (start, phase) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else outcome.seconds
        result[phase] = (start, max(end - start, 0.5))
    return result


# ---------------------------------------------------------------- comparing two warehouses

def _columns(con, database: str, schema: str, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND table_name = ? "
        "ORDER BY column_index", [database, schema, table]).fetchall()]


def _tables(con, database: str, schemas: tuple[str, ...]) -> set[tuple[str, str]]:
    return {(s, t) for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?", [database]).fetchall()
        if s in schemas}


def _except_all(con, left: str, right: str, columns: list[str]) -> tuple[int, int]:
    if not columns:
        return 0, 0
    cols = ", ".join(f'"{c}"' for c in columns)
    one = con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM {left} EXCEPT ALL SELECT {cols} FROM {right})").fetchone()[0]
    two = con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM {right} EXCEPT ALL SELECT {cols} FROM {left})").fetchone()[0]
    return one, two


def _without_volatile(value):
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in sorted(value.items()) if k not in VOLATILE_COLUMNS}
    if isinstance(value, list):
        return [_without_volatile(v) for v in value]
    return value


def compare_databases(reference: Path, got: Path, schemas: tuple[str, ...], what: str) -> list[str]:
    differences = []
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{reference}' AS ref (READ_ONLY)")
        con.execute(f"ATTACH '{got}' AS got (READ_ONLY)")
        ref_tables, got_tables = _tables(con, "ref", schemas), _tables(con, "got", schemas)
        if ref_tables != got_tables:
            differences.append(f"{what}: Tabellen verschieden: nur Referenz {sorted(ref_tables - got_tables)}, "
                               f"nur nach Abbruch {sorted(got_tables - ref_tables)}")
        for schema, table in sorted(ref_tables & got_tables):
            all_columns = _columns(con, "ref", schema, table)
            columns = [c for c in all_columns if c not in VOLATILE_COLUMNS | JSON_COLUMNS]
            one, two = _except_all(con, f'ref."{schema}"."{table}"', f'got."{schema}"."{table}"', columns)
            if one or two:
                differences.append(f"{what} {schema}.{table}: {one} Zeilen nur in der Referenz, {two} nur nach Abbruch")
            for column in JSON_COLUMNS & set(all_columns):
                left, right = ([_without_volatile(json.loads(v)) for (v,) in con.execute(
                    f'SELECT "{column}" FROM {side}."{schema}"."{table}"').fetchall()] for side in ("ref", "got"))
                if sorted(map(json.dumps, left)) != sorted(map(json.dumps, right)):
                    differences.append(f"{what} {schema}.{table}.{column}: Inhalt verschieden")
    finally:
        con.close()
    return differences


def compare_parquet_folders(reference: Path, got: Path, what: str) -> list[str]:
    ref_files = {p.relative_to(reference) for p in reference.rglob("*.parquet")}
    got_files = {p.relative_to(got) for p in got.rglob("*.parquet")}
    differences = []
    if ref_files != got_files:
        differences.append(f"{what}: Dateien verschieden: nur Referenz {sorted(map(str, ref_files - got_files))}, "
                           f"nur nach Abbruch {sorted(map(str, got_files - ref_files))}")
    con = duckdb.connect()
    try:
        for name in sorted(ref_files & got_files):
            left, right = f"read_parquet('{reference / name}')", f"read_parquet('{got / name}')"
            columns = [c for c in con.execute(f"DESCRIBE SELECT * FROM {left}").fetchnumpy()["column_name"]
                       if c not in VOLATILE_COLUMNS]
            one, two = _except_all(con, left, right, columns)
            if one or two:
                differences.append(f"{what} {name}: {one} Zeilen nur in der Referenz, {two} nur nach Abbruch")
    finally:
        con.close()
    return differences


def compare_text_files(reference: Path, got: Path, pattern: str, what: str) -> list[str]:
    ref = {p.relative_to(reference): p.read_bytes() for p in reference.rglob(pattern) if p.is_file()}
    new = {p.relative_to(got): p.read_bytes() for p in got.rglob(pattern) if p.is_file()}
    if ref.keys() != new.keys():
        return [f"{what}: Dateien verschieden: {sorted(map(str, ref.keys() ^ new.keys()))}"]
    return [f"{what} {name}: Inhalt verschieden" for name in sorted(ref) if ref[name] != new[name]]


def refusals(folder: Path) -> list[dict]:
    log = folder / "abgelehnte_lieferungen.jsonl"
    if not log.exists():
        return []
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    return sorted((json.dumps({k: v for k, v in e.items() if k not in VOLATILE_COLUMNS}, sort_keys=True)
                   for e in entries))


def current_release(warehouse: Path) -> Path:
    return (warehouse / "release" / "current").resolve()


def compare_warehouses(reference: Path, got: Path) -> list[str]:
    """Everything a kill could have lost or doubled, as German lines (empty: equal). The report's
    files are compared when the reference has a report; else `got`'s current release must have a
    whole one (its stamp, written last)."""
    ref_wh, got_wh = reference / "warehouse", got / "warehouse"
    differences = compare_databases(ref_wh / "warehouse.duckdb", got_wh / "warehouse.duckdb",
                                    ("marts",), "Marts")
    differences += _compare_audit(ref_wh / "warehouse.duckdb", got_wh / "warehouse.duckdb")
    differences += compare_parquet_folders(ref_wh / "raw", got_wh / "raw", "Rohdatenschicht")
    differences += compare_text_files(ref_wh / "quarantine", got_wh / "quarantine", "*.csv", "Quarantänedateien")
    if refusals(ref_wh / "quarantine") != refusals(got_wh / "quarantine"):
        differences.append("Protokoll abgelehnter Lieferungen verschieden")
    ref_release, got_release = current_release(ref_wh), current_release(got_wh)
    differences += compare_databases(ref_release / "warehouse.duckdb", got_release / "warehouse.duckdb",
                                     _schemas_of(ref_release / "warehouse.duckdb"), "Release")
    differences += compare_parquet_folders(ref_release / "parquet", got_release / "parquet", "Release-Parquet")
    ref_report = {p.relative_to(ref_release) for p in (ref_release / "bericht").rglob("*")}
    got_report = {p.relative_to(got_release) for p in (got_release / "bericht").rglob("*")}
    if not ref_report:
        if not (got_release / "bericht" / "erzeugung.json").is_file():
            differences.append("Bericht: das aktuelle Release hat keinen vollständigen Bericht (erzeugung.json fehlt)")
    elif ref_report != got_report:
        differences.append(f"Bericht: Dateien verschieden ({len(ref_report ^ got_report)}, "
                           f"z. B. {sorted(map(str, ref_report ^ got_report))[:3]})")
    return differences


def _schemas_of(database: Path) -> tuple[str, ...]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return tuple(r[0] for r in con.execute(
            "SELECT DISTINCT schema_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall())
    finally:
        con.close()


def _compare_audit(reference: Path, got: Path) -> list[str]:
    """The quarantine table and the deliveries the load log says are loaded (the newest entry per
    register and period: a killed run may add attempts, never change what counts)."""
    con = duckdb.connect()
    differences = []
    try:
        con.execute(f"ATTACH '{reference}' AS ref (READ_ONLY)")
        con.execute(f"ATTACH '{got}' AS got (READ_ONLY)")
        columns = [c for c in _columns(con, "ref", "audit", "quarantine") if c not in VOLATILE_COLUMNS]
        one, two = _except_all(con, "ref.audit.quarantine", "got.audit.quarantine", columns)
        if one or two:
            differences.append(f"audit.quarantine: {one} Zeilen nur in der Referenz, {two} nur nach Abbruch")
        latest = ("(SELECT register, period, file_name, file_sha256, rows_read, rows_accepted, rows_quarantined FROM {db}.audit.load_log "
                  "WHERE status = 'geladen' QUALIFY row_number() OVER (PARTITION BY register, period ORDER BY finished_at DESC) = 1)")
        one, two = _except_all(con, latest.format(db="ref"), latest.format(db="got"),
                               ["register", "period", "file_name", "file_sha256", "rows_read", "rows_accepted", "rows_quarantined"])
        if one or two:
            differences.append(f"audit.load_log (geladene Lieferungen): {one} nur in der Referenz, {two} nur nach Abbruch")
    finally:
        con.close()
    return differences


def leftovers(root: Path) -> list[str]:
    """Temporary files, staging folders and dbt's temporary tables a finished run must not leave."""
    warehouse = root / "warehouse"
    spill = warehouse / "warehouse.duckdb.tmp"
    found = [str(p.relative_to(warehouse)) for p in warehouse.rglob("*")
             if LEFTOVER.search(p.name) and p != spill and "inbox" not in p.relative_to(warehouse).parts]
    if spill.exists() and any(spill.iterdir()):
        found.append(f"{spill.name}/ (Auslagerungsdateien)")
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True)
    try:
        found += [f"Tabelle {s}.{t}" for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() UNION ALL "
            "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal").fetchall()
            if LEFTOVER.search(t)]
    finally:
        con.close()
    releases = warehouse / "release" / "releases"
    if releases.exists():
        found += [f"release/releases/{p.name} ohne Manifest (unvollständig)" for p in releases.iterdir()
                  if p.is_dir() and not (p / "manifest.json").exists()]
    return found


# ---------------------------------------------------------------- the chaos run

@dataclass
class Kill:
    number: int
    phase: str
    delay: float
    hit_phase: str | None = None
    hit_step: str | None = None
    killed: bool = False
    after_run: bool = False
    recovery_seconds: float = 0.0
    differences: list[str] = field(default_factory=list)

    def line(self) -> str:
        where = f"in {self.hit_phase} ({self.hit_step})" if self.killed else "Lauf war schon fertig, kein Abbruch"
        if self.killed and self.after_run:
            where += " nach dem Ende des Dagster-Laufs"
        verdict = "gleich" if not self.differences else f"{len(self.differences)} Abweichungen"
        return (f"Abbruch {self.number:>2}: Phase {self.phase:<7} +{self.delay:5.1f} s -> {where}; "
                f"nächster Lauf fertig in {self.recovery_seconds:.0f} s; Ergebnis {verdict}")


def plan_kills(kills: int, seed: int, lengths: dict[str, tuple[float, float]],
               only: str | None = None) -> list[Kill]:
    """`kills` moments: spread over the phases in turn, or all in the phase `only`; each at a
    random delay within its phase (the same seed, the same plan)."""
    rng = random.Random(seed)
    plan = []
    for i in range(kills):
        if only is not None:
            phase = only
        else:
            phase = PHASES[i % len(PHASES)] if kills >= len(PHASES) else rng.choice(PHASES)
        plan.append(Kill(i + 1, phase, round(rng.uniform(0, lengths[phase][1]), 2)))
    return plan


def chaos(kills: int, seed: int, inbox: Path, workdir: Path, say=print,
          only: str | None = None) -> tuple[list[Kill], float]:
    """Run the uninterrupted reference, then `kills` kills, each followed by a run that must
    complete; returns the kills and the reference run's length."""
    reference = fresh_workspace(workdir / "referenz", inbox)
    ref = run_main(reference)
    if ref.returncode != 0:
        raise AssertionError("Referenzlauf fehlgeschlagen:\n" + ref.log[-3000:])
    lengths = phase_lengths(ref)
    say(f"Referenzlauf {ref.seconds:.0f} s; Phasen: " + ", ".join(
        f"{p} ab {s:.0f} s ({n:.0f} s)" for p, (s, n) in lengths.items()))
    missing = set(PHASES) - lengths.keys()
    if missing:
        raise AssertionError(f"Der Referenzlauf hat die Phasen {sorted(missing)} nicht: {ref.log[-2000:]}")
    plan = plan_kills(kills, seed, lengths, only)
    for kill in plan:
        root = fresh_workspace(workdir / "abbruch", inbox)
        killed = run_main(root, kill.phase, kill.delay)
        kill.killed = killed.killed_at is not None and killed.returncode != 0
        kill.hit_step = killed.last_step
        kill.hit_phase = phase_of(killed.last_step) if killed.last_step else "Start"
        kill.after_run = killed.run_ended
        recovery = run_main(root)
        kill.recovery_seconds = recovery.seconds
        if recovery.returncode != 0:
            kill.differences.append(f"nächster Lauf nicht erfolgreich (rc {recovery.returncode}):\n{recovery.log[-4000:]}")
        else:
            if kill.killed and not killed.run_ended and "abgebrochen: Prozess beendet" not in recovery.log:
                kill.differences.append("der nächste Lauf hat den abgebrochenen Lauf nicht als abgebrochen gemeldet")
            kill.differences += compare_warehouses(reference, root)
            kill.differences += [f"Rest: {name}" for name in leftovers(root)]
        say(kill.line())
        for difference in kill.differences:
            say(f"    {difference}")
    return plan, ref.seconds


# ---------------------------------------------------------------- the daemon path

DAEMON_TIMEOUT_S = 900


@contextmanager
def _instance(home: Path):
    """The Dagster instance in `home`, read with Dagster's own API."""
    from dagster import DagsterInstance

    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        with DagsterInstance.get() as instance:
            yield instance
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous


def _runs(home: Path) -> list:
    """The main job's runs, newest first."""
    with _instance(home) as instance:
        return [r for r in instance.get_runs() if r.job_name == "warehouse_job"]


def _phases_reached(home: Path, run_id: str) -> set[str]:
    from dagster import DagsterEventType

    with _instance(home) as instance:
        return {phase_of(e.step_key) for e in instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
                if e.step_key}


def _start_daemon(root: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([str(Path(sys.executable).parent / "dagster-daemon"), "run", "-m", "dagster_project.definitions"],
                            cwd=REPO, env=environment(root), stdout=log.open("a", encoding="utf-8"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def daemon_cycle(inbox: Path, workdir: Path, reference: Path, kill_phase: str = "dbt", say=print) -> list[str]:
    """The daemon path once: the daemon's inbox sensor starts the main job; daemon, code server and
    run worker are killed with kill -9 while the run is in `kill_phase`; the daemon is started
    again, and its next tick must mark the run failed, start it again and complete it without help.
    Returns the differences (empty: all well), as German lines."""
    root = fresh_workspace(workdir / "daemon", inbox)
    home, log = root / "dagster_home", root / "daemon.log"
    subprocess.run([sys.executable, "-m", "dagster_project.instance"], cwd=REPO, env=environment(root), check=True,
                   capture_output=True)
    daemon = _start_daemon(root, log)
    started, killed_run = time.monotonic(), None
    try:
        while killed_run is None:
            if time.monotonic() - started > DAEMON_TIMEOUT_S:
                return [f"der Sensor hat keinen Lauf bis in die Phase {kill_phase} gebracht: {log}"]
            time.sleep(1)
            runs = [r for r in _runs(home) if r.tags.get("ausloeser") == "eingang"]
            if runs and runs[0].status.value == "STARTED" and kill_phase in _phases_reached(home, runs[0].run_id):
                killed_run = runs[0].run_id
    finally:
        _kill_group(daemon)   # daemon, code server and run worker: one process group
    say(f"Daemon-Pfad: Lauf {killed_run} (vom Sensor gestartet) in Phase {kill_phase} mit kill -9 beendet "
        f"nach {time.monotonic() - started:.0f} s; Daemon neu gestartet")
    daemon = _start_daemon(root, log)
    restarted = time.monotonic()
    try:
        while True:
            if time.monotonic() - restarted > DAEMON_TIMEOUT_S:
                return [f"nach dem Neustart des Daemons kein erfolgreicher Lauf in {DAEMON_TIMEOUT_S} s: {log}"]
            time.sleep(2)
            runs = _runs(home)
            repeated = [r for r in runs if r.tags.get("wiederholt_lauf") == killed_run]
            if repeated and repeated[0].status.value in ("SUCCESS", "FAILURE", "CANCELED"):
                break
    finally:
        _kill_group(daemon)
    differences = []
    dead = next(r for r in runs if r.run_id == killed_run)
    if dead.status.value != "FAILURE":
        differences.append(f"der abgebrochene Lauf steht auf {dead.status.value}, nicht FAILURE")
    if repeated[0].status.value != "SUCCESS":
        differences.append(f"der wiederholte Lauf {repeated[0].run_id} endete mit {repeated[0].status.value}: {log}")
        return differences
    say(f"Daemon-Pfad: wiederholter Lauf {repeated[0].run_id} erfolgreich, {time.monotonic() - restarted:.0f} s "
        "nach dem Neustart")
    differences += compare_warehouses(reference, root)
    differences += [f"Rest: {name}" for name in leftovers(root)]
    return differences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.crash_harness")
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=None, help="ohne: ein neuer, der ausgegeben wird")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/dft_chaos"))
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--phase", choices=PHASES, default=None,
                        help="alle Abbrüche in dieser Phase (etwa report: während der Bericht und seine PDF entstehen)")
    parser.add_argument("--daemon", action="store_true",
                        help="danach einmal der Daemon-Pfad: vom Sensor gestarteter Lauf abgebrochen, Daemon neu gestartet")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**9)
    where = f" in der Phase {args.phase}" if args.phase else ""
    again = f" --phase {args.phase}" if args.phase else ""
    print(f"Chaos-Lauf: {args.kills} Abbrüche mit kill -9{where}, Seed {seed} "
          f"(wiederholen: python -m tests.crash_harness --kills {args.kills}{again} --seed {seed})", flush=True)
    sys.path.insert(0, str(REPO))
    from sample_deliveries.__main__ import generate

    inbox = args.workdir / "eingang"
    if inbox.exists():
        shutil.rmtree(inbox)
    generate(inbox, [2022, 2023], scale=args.scale, seed=7, clean=True, progress=lambda _: None)
    say = lambda line: print(line, flush=True)  # noqa: E731
    plan, _ = chaos(args.kills, seed, inbox, args.workdir, say=say, only=args.phase) if args.kills else ([], 0)
    bad = [k for k in plan if k.differences]
    print(f"\nSeed {seed}: {len(plan)} Abbrüche ({sum(k.killed for k in plan)} getroffen), "
          f"{len(plan) - len(bad)} ohne Abweichung, {len(bad)} mit Abweichungen.")
    daemon_differences = []
    if args.daemon:
        reference = args.workdir / "referenz"
        if not (reference / "warehouse" / "warehouse.duckdb").exists():
            fresh_workspace(reference, inbox)
            if run_main(reference).returncode != 0:
                raise AssertionError("Referenzlauf fehlgeschlagen")
        daemon_differences = daemon_cycle(inbox, args.workdir, reference, say=say)
        print("Daemon-Pfad: " + ("gleich dem ununterbrochenen Lauf, ohne Reste." if not daemon_differences
                                 else "\n    ".join(["Abweichungen:", *daemon_differences])))
    return 1 if bad or daemon_differences else 0


if __name__ == "__main__":
    sys.exit(main())
