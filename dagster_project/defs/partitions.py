"""The warehouse's one partitioning: the reference year (Berichtsjahr).

Every register asset and every dbt asset is partitioned by reference year; a run covers a range of
years (one run, `BackfillPolicy.single_run`: DuckDB has one writer). Why years and not months or
one partition per delivery is explained in docs/architecture.md ("Partitionen"): the marts are
rebuilt by reference year (dbt/macros/incremental_by_year.sql), the monthly registers enter the
marts through their December stock, and a delivery's year is in its file name.

The first year is `DFT_FIRST_YEAR` (default 2014); the last is the current calendar year, so the
deliveries of the running year have a partition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from dagster import BackfillPolicy, TimeWindowPartitionsDefinition

from dagster_project.inbox import delivery_files
from dagster_project.settings import PartitionSettingError, first_year

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
REBUILD_TAG = "dft/neu_berechnen"       # "ja": dbt rebuilds every year of the run, changed or not
BACKFILL_TAG = "dagster/backfill"       # set by Dagster on every run of a backfill
_YEAR_IN_NAME = re.compile(r"^[a-z0-9]+_(?P<year>\d{4})(-[0-9-]*)?\.[a-z]+$")


reference_years = TimeWindowPartitionsDefinition(
    start=str(first_year()), cron_schedule="0 0 1 1 *", fmt="%Y", end_offset=1, timezone="Europe/Berlin")

# a backfill of many years is one run: the raw layer and dbt work on all its years at once
single_run = BackfillPolicy.single_run()


def year_of_file(path: Path) -> int | None:
    """The reference year in a delivery's file name (`sgb2_2024-03.csv` -> 2024); None when the
    name has none (such a file is refused by the ingest, in every run, with its rule)."""
    match = _YEAR_IN_NAME.match(path.name)
    return int(match["year"]) if match else None


def inbox_years(inbox: Path, registers: Iterable[str]) -> list[int]:
    """The reference years of the deliveries waiting in the inbox."""
    years = {year_of_file(p) for register in registers for p in delivery_files(inbox, register)}
    return sorted(y for y in years if y is not None)


def partition_keys() -> list[str]:
    return reference_years.get_partition_keys()


def run_tags(years: Iterable[int], rebuild: bool = False) -> dict[str, str]:
    """The tags of a run over the years `years` (their whole range), e.g. for `make run` or a
    sensor. Years outside the partitions are an error that names the setting."""
    years = sorted(set(years))
    keys = partition_keys()
    outside = [y for y in years if str(y) not in keys]
    if outside:
        raise PartitionSettingError(
            f"Lieferungen für {', '.join(map(str, outside))} liegen außerhalb der Berichtsjahre "
            f"{keys[0]}–{keys[-1]}; für frühere Jahre DFT_FIRST_YEAR setzen (docs/operations.md).")
    tags = {RANGE_START_TAG: str(years[0]), RANGE_END_TAG: str(years[-1])}
    if rebuild:
        tags[REBUILD_TAG] = "ja"
    return tags


def run_rebuilds_its_years(tags: dict[str, str]) -> bool:
    """A backfill (or a run tagged dft/neu_berechnen=ja) rebuilds every year it covers; any other
    run rebuilds only the years of its range with new or changed deliveries."""
    return BACKFILL_TAG in tags or tags.get(REBUILD_TAG) == "ja"
