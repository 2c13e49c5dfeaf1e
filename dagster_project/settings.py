"""Where the warehouse lives and how it is keyed, read from the environment.

Every path has a default inside the repository's ``warehouse/`` folder, so that a fresh clone
runs without configuration; a deployment points the variables elsewhere.

| variable                   | meaning                                            | default                      |
|----------------------------|----------------------------------------------------|------------------------------|
| DFT_CITY                   | the city profile: a name under cities/ or a path   | dortmund                     |
| DFT_WAREHOUSE_DIR          | root of all generated data                         | <repo>/warehouse (other cities: <repo>/warehouse-<name>) |
| DFT_DB_PATH                | the DuckDB file the pipeline writes; the raw layer (Parquet) is raw/ beside it | $DFT_WAREHOUSE_DIR/warehouse.duckdb |
| DFT_INBOX_DIR              | register deliveries, one folder per register       | $DFT_WAREHOUSE_DIR/inbox     |
| DFT_QUARANTINE_DIR         | quarantine files and the refusal log               | $DFT_WAREHOUSE_DIR/quarantine|
| DFT_RELEASE_DIR            | releases; current/ points to the newest            | $DFT_WAREHOUSE_DIR/release   |
| DFT_REPORTS_DIR            | Data Docs and audit reports (offline HTML)         | $DFT_WAREHOUSE_DIR/reports   |
| DFT_PSEUDONYM_KEY          | HMAC key for person numbers (text, >= 32 chars)    | -                            |
| DFT_PSEUDONYM_KEY_FILE     | file holding that key, outside the repository      | -                            |
| DFT_DEMO_MODE              | 1: run with a public demo key (never for real data) | off                         |
| DFT_RELEASE_KEEP           | number of releases kept (the current one always)   | 5                            |
| DFT_RELEASE_POSTGRES_URL   | also publish each release into this PostgreSQL     | -                            |
| DFT_RELEASE_POSTGRES_READER_ROLE | the PostgreSQL role BI logins belong to      | dft_bi_leser                 |
| DFT_RELEASE_POSTGRES_LOCK_TIMEOUT_S | how long the switch waits for BI readers  | 30                           |
| DFT_RELEASE_GROUP          | the group that may read the release (alle: everyone); all else is owner-only | the account's group |
| DFT_BI_THREADS, DFT_BI_MEMORY_LIMIT | threads and memory of a BI connection (connect_release) | 2, 1GB      |
| DFT_REPORT                 | 0: the main job makes no planners' report          | 1                            |
| DFT_REPORT_BOUNDARIES      | district boundaries (GeoJSON) for the report's maps | - (schematic tile map)      |
| DFT_REPORT_WORKERS         | processes drawing the report's pages               | cores, at most 4             |
| DFT_INGEST_WORKERS         | deliveries loaded at once                          | cores, at most 4             |
| DFT_DUCKDB_MEMORY_LIMIT    | memory DuckDB may use in the pipeline and in dbt; beyond it, it spills to <database>.tmp/ | 3GB |
| DFT_FIRST_YEAR             | first reference year (partition) of the warehouse  | 2014                         |
| DFT_TODAY                  | the day the delivery calendar is checked against (YYYY-MM-DD) | today             |
| DFT_LOG_LEVEL              | what `make run` prints of the run: INFO, or DEBUG (each step's start and end) | INFO |
| DFT_WRITER_WAIT_S          | how long a run waits for another run that writes the warehouse, then gives up | 7200 |
| DFT_ENGINE                 | duckdb or spark: which engine builds the dbt project (docs/spark.md) | duckdb     |
| DFT_SPARK_CORES            | cores of the local Spark session                   | all                          |
| DFT_SPARK_DRIVER_MEMORY    | memory of the local Spark session (its JVM)        | 4g                           |
| DFT_SPARK_SHUFFLE_PARTITIONS | Spark's partitions after a shuffle               | 8                            |
| DFT_SPARK_RAW_ROOT         | where Spark reads the raw layer (a cluster: object storage) | warehouse/raw/      |
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

TELEMETRY_OFF = {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "GX_ANALYTICS_ENABLED": "False",
    "DAGSTER_DISABLE_TELEMETRY": "1",
}

DEMO_KEY = "daten-fuer-taten-DEMO-key-not-for-real-register-data"
MIN_KEY_LENGTH = 32


def disable_telemetry() -> None:
    """Switch off the usage statistics of dbt, Dagster and GX for this process and its children."""
    for name, value in TELEMETRY_OFF.items():
        os.environ[name] = value


class PseudonymKeyError(RuntimeError):
    """No usable pseudonymisation key: the pipeline refuses to run on register data."""


@dataclass(frozen=True)
class PseudonymKey:
    key: bytes
    mode: str  # "environment", "key_file" or "demo"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def default_warehouse_dir() -> Path:
    """<repo>/warehouse for the default city profile (Dortmund), <repo>/warehouse-<name> for any
    other (DFT_CITY): a warehouse belongs to one city (docs/operations.md)."""
    from dagster_project.city_profile import DEFAULT_CITY

    chosen = os.environ.get("DFT_CITY", "").strip()
    if not chosen or chosen == DEFAULT_CITY:
        return REPO_ROOT / "warehouse"
    return REPO_ROOT / f"warehouse-{Path(chosen).name}"


@dataclass(frozen=True)
class WarehousePaths:
    warehouse_dir: Path
    db_path: Path
    inbox_dir: Path
    quarantine_dir: Path
    release_dir: Path
    reports_dir: Path

    @classmethod
    def from_environment(cls) -> "WarehousePaths":
        warehouse_dir = _env_path("DFT_WAREHOUSE_DIR", default_warehouse_dir())
        return cls(
            warehouse_dir=warehouse_dir,
            db_path=_env_path("DFT_DB_PATH", warehouse_dir / "warehouse.duckdb"),
            inbox_dir=_env_path("DFT_INBOX_DIR", warehouse_dir / "inbox"),
            quarantine_dir=_env_path("DFT_QUARANTINE_DIR", warehouse_dir / "quarantine"),
            release_dir=_env_path("DFT_RELEASE_DIR", warehouse_dir / "release"),
            reports_dir=_env_path("DFT_REPORTS_DIR", warehouse_dir / "reports"),
        )


DEFAULT_MEMORY_LIMIT = "3GB"
_MEMORY_LIMIT = re.compile(r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


def switch(name: str, meaning: str) -> bool:
    """A setting that is on unless set to 0 (also nein/false/no); `meaning`: what 1 does, for the
    error message on any other value."""
    value = os.environ.get(name, "1").strip().lower()
    if value not in {"0", "1", "nein", "ja", "false", "true", "no", "yes", ""}:
        raise ValueError(f"{name}={value!r}: erwartet wird 1 ({meaning}) oder 0.")
    return value not in {"0", "nein", "false", "no"}


def duckdb_memory_limit() -> str:
    """DuckDB's memory limit for the pipeline's connections and dbt (DFT_DUCKDB_MEMORY_LIMIT).

    Without it DuckDB takes up to 80 % of the machine's memory; with it, joins, sorts and
    aggregations beyond the limit spill to the temporary folder beside the database file."""
    value = os.environ.get("DFT_DUCKDB_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT).strip()
    if not _MEMORY_LIMIT.match(value):
        raise ValueError(
            f"DFT_DUCKDB_MEMORY_LIMIT muss eine Speichergröße wie 4GB oder 512MB sein, nicht {value!r}.")
    return value.replace(" ", "")


def duckdb_config() -> dict[str, str]:
    """Settings of every DuckDB connection the pipeline writes with."""
    return {"memory_limit": duckdb_memory_limit()}


def release_keep() -> int:
    """How many releases to keep (DFT_RELEASE_KEEP, default 5); the current one is always kept."""
    value = os.environ.get("DFT_RELEASE_KEEP", "5").strip()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"DFT_RELEASE_KEEP muss eine ganze Zahl ab 1 sein, nicht {value!r}.")
    return int(value)


def release_postgres_url() -> str | None:
    """PostgreSQL connection URL to publish each release into as well (DFT_RELEASE_POSTGRES_URL)."""
    return os.environ.get("DFT_RELEASE_POSTGRES_URL") or None


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def pseudonym_key_from_environment() -> PseudonymKey:
    """The HMAC key: DFT_PSEUDONYM_KEY, else DFT_PSEUDONYM_KEY_FILE, else demo mode if asked for."""
    text = os.environ.get("DFT_PSEUDONYM_KEY")
    mode = "environment"
    key_file = os.environ.get("DFT_PSEUDONYM_KEY_FILE")
    if not text and key_file:
        path = Path(key_file).expanduser()
        if _is_inside(path, REPO_ROOT):
            raise PseudonymKeyError(
                f"Die Schlüsseldatei {path} liegt im Repository. Der Pseudonymisierungsschlüssel "
                "muss außerhalb des Repositorys liegen (DFT_PSEUDONYM_KEY_FILE)."
            )
        if not path.is_file():
            raise PseudonymKeyError(f"Schlüsseldatei {path} (DFT_PSEUDONYM_KEY_FILE) nicht gefunden.")
        text = path.read_text(encoding="utf-8").strip()
        mode = "key_file"
    if text:
        if len(text) < MIN_KEY_LENGTH:
            raise PseudonymKeyError(
                f"Der Pseudonymisierungsschlüssel ist zu kurz ({len(text)} Zeichen, mindestens "
                f"{MIN_KEY_LENGTH})."
            )
        return PseudonymKey(key=text.encode("utf-8"), mode=mode)
    if os.environ.get("DFT_DEMO_MODE", "").strip().lower() in {"1", "true", "yes", "ja"}:
        return PseudonymKey(key=DEMO_KEY.encode("utf-8"), mode="demo")
    raise PseudonymKeyError(
        "Kein Pseudonymisierungsschlüssel: setzen Sie DFT_PSEUDONYM_KEY oder "
        "DFT_PSEUDONYM_KEY_FILE (Datei außerhalb des Repositorys). Nur für Beispieldaten: "
        "DFT_DEMO_MODE=1. / No pseudonymisation key: set DFT_PSEUDONYM_KEY or "
        "DFT_PSEUDONYM_KEY_FILE; DFT_DEMO_MODE=1 for sample data only."
    )


def today() -> dt.date:
    """Today's date, or `DFT_TODAY` (YYYY-MM-DD) to see the delivery calendar as of another day
    (tests, or checking what will be overdue)."""
    value = os.environ.get("DFT_TODAY", "").strip()
    if not value:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"DFT_TODAY='{value}' ist kein Datum der Form JJJJ-MM-TT.") from None


DEFAULT_FIRST_YEAR = 2014


class SettingError(ValueError):
    """A setting (environment variable) has a value the warehouse cannot use; the message says which."""


class PartitionSettingError(SettingError):
    pass


def first_year() -> int:
    """The first reference year of the warehouse (`DFT_FIRST_YEAR`): its first partition, and
    where the delivery calendar starts for a register never delivered."""
    value = os.environ.get("DFT_FIRST_YEAR", str(DEFAULT_FIRST_YEAR)).strip()
    if not value.isdigit() or not 1990 <= int(value) <= 2100:
        raise PartitionSettingError(
            f"DFT_FIRST_YEAR='{value}' ist kein Jahr zwischen 1990 und 2100 (erstes Berichtsjahr des Warehouse).")
    return int(value)
