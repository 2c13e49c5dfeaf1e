"""Freshness: one asset check per register that says whether its next delivery is overdue
(the delivery calendar of its contract; dagster_project/ingest/freshness.py). A late delivery is a
warning, it blocks nothing: the warehouse keeps publishing what it has."""

from dagster import (AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, AssetChecksDefinition,
                     Definitions, MetadataValue, asset_check)

from dagster_project.contracts import Contract, load_contracts
from dagster_project.defs.ingest.assets import raw_asset_key
from dagster_project.defs.resources import WarehouseResource
from dagster_project.ingest.freshness import delivery_status, latest_refusals
from dagster_project.ingest.raw_layer import raw_dir_of_database
from dagster_project.settings import first_year, today

FRESHNESS_CHECK = "lieferung_rechtzeitig"


def _freshness_check(contract: Contract) -> AssetChecksDefinition:
    @asset_check(
        asset=raw_asset_key(contract.register),
        name=FRESHNESS_CHECK,
        description=f"Lieferkalender: {contract.delivery.description_de} "
                    f"(Toleranz {contract.delivery.grace_days} Tage).",
    )
    def delivery_on_time(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
        status = delivery_status(contract, raw_dir_of_database(warehouse.database), today(), first_year(),
                                 latest_refusals(warehouse.quarantine))
        if status.overdue:
            context.log.warning(status.message_de)
        return AssetCheckResult(
            passed=not status.overdue,
            severity=AssetCheckSeverity.WARN,
            description=status.message_de,
            metadata={
                "neuester_zeitraum": MetadataValue.text(status.newest_period or "–"),
                "naechster_zeitraum": MetadataValue.text(status.next_period or "–"),
                "faellig_am": MetadataValue.text(f"{status.due:%d.%m.%Y}" if status.due else "–"),
                "ueberfaellig": status.overdue,
            },
        )

    return delivery_on_time


freshness_checks = [_freshness_check(c) for c in load_contracts().values()]

defs = Definitions(asset_checks=freshness_checks)
