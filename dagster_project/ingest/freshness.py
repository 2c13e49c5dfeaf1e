"""The delivery calendar: which register's next delivery is overdue.

Each contract states its cadence (monthly, yearly, on change) and when a period's delivery is due
(`due_days` after the period's end) and how long that may slip (`grace_days`). The newest period
of a register is the newest file of its raw layer (`raw/<register>/<period>.parquet`): reading
file names needs no database, so the check also runs while a pipeline run holds the DuckDB file.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from dagster_project.contracts import Contract, load_contracts
from dagster_project.ingest.load import REFUSAL_LOG
from dagster_project.ingest.raw_layer import register_files


@dataclass(frozen=True)
class DeliveryStatus:
    register: str
    title_de: str
    cadence_de: str
    newest_period: str | None
    next_period: str | None
    due: dt.date | None          # the next period's due date
    overdue_since: dt.date | None  # due + grace; None: not overdue
    refused: dict | None = None  # the next period's file arrived but was refused (refusal log entry)

    @property
    def overdue(self) -> bool:
        return self.overdue_since is not None

    @property
    def message_de(self) -> str:
        if self.next_period is None:
            return f"{self.title_de}: wird {self.cadence_de} geliefert, nie überfällig."
        newest = f"neueste Lieferung {self.newest_period}" if self.newest_period else "noch keine Lieferung"
        refused = (f"; eingegangen, aber abgelehnt am {dt.datetime.fromisoformat(self.refused['zeit']):%d.%m.%Y} "
                   f"(Regel {self.refused['rule']}): korrigierte Lieferung anfordern") if self.refused else ""
        if self.overdue:
            return (f"{self.register} ({self.title_de}): Lieferung {self.next_period} ÜBERFÄLLIG, fällig am "
                    f"{self.due:%d.%m.%Y} ({newest}{refused}).")
        return f"{self.register}: {newest}; nächste ({self.next_period}) fällig am {self.due:%d.%m.%Y}."


def _period_end(period: str) -> dt.date:
    year = int(period[:4])
    if len(period) == 7:    # YYYY-MM
        month = int(period[5:7])
        return dt.date(year, month, calendar.monthrange(year, month)[1])
    return dt.date(year, 12, 31)


def _next_period(period: str, contract: Contract) -> str:
    year = int(period[:4])
    if contract.delivery.cadence == "monthly":
        month = int(period[5:7])
        return f"{year + month // 12}-{month % 12 + 1:02d}"
    return {"stichtag": f"{year + 1}-12-31", "year": f"{year + 1}"}.get(contract.period_kind, f"{year + 1}")


def _first_period(contract: Contract, first_year: int) -> str:
    if contract.delivery.cadence == "monthly":
        return f"{first_year}-01"
    return f"{first_year}-12-31" if contract.period_kind == "stichtag" else f"{first_year}"


def latest_refusals(quarantine_dir: Path | None) -> dict[str, dict]:
    """file name -> its latest entry in the refusal log (quarantine/abgelehnte_lieferungen.jsonl)."""
    path = quarantine_dir / REFUSAL_LOG if quarantine_dir else None
    if path is None or not path.is_file():
        return {}
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {entry["file"]: entry for entry in entries}


def delivery_status(contract: Contract, raw_dir: Path, today: dt.date, first_year: int,
                    refusals: dict[str, dict] | None = None) -> DeliveryStatus:
    """Where a register stands in its delivery calendar on `today` (with `refusals`: whether the
    next period's file came and was refused)."""
    files = register_files(raw_dir, contract.register)
    newest = files[-1].stem if files else None
    calendar_ = contract.delivery
    if calendar_.cadence == "on_change":
        return DeliveryStatus(contract.register, contract.title_de, calendar_.cadence_de, newest, None, None, None)
    expected = _next_period(newest, contract) if newest else _first_period(contract, first_year)
    due = _period_end(expected) + dt.timedelta(days=calendar_.due_days)
    late = due + dt.timedelta(days=calendar_.grace_days)
    refused = (refusals or {}).get(f"{contract.register}_{expected}.{contract.file_extension}")
    return DeliveryStatus(contract.register, contract.title_de, calendar_.cadence_de, newest, expected, due,
                          late if today > late else None, refused)


def delivery_calendar(raw_dir: Path, today: dt.date, first_year: int, quarantine_dir: Path | None = None) -> list[dict]:
    """Every register's place in its calendar on `today`, as records (for the manifest and the
    audit reports), overdue ones first."""
    refusals = latest_refusals(quarantine_dir)
    states = [delivery_status(c, raw_dir, today, first_year, refusals) for c in load_contracts().values()]
    return [{"register": s.register, "lieferung": s.cadence_de, "neuester_zeitraum": s.newest_period,
             "naechster_zeitraum": s.next_period, "faellig_am": s.due.isoformat() if s.due else None,
             "ueberfaellig": s.overdue, "abgelehnt": s.refused["rule"] if s.refused else None,
             "stand": today.isoformat()}
            for s in sorted(states, key=lambda s: (not s.overdue, s.register))]
