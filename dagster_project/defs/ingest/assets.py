"""One Dagster asset per register: loads its new or changed deliveries of the run's reference
years from the inbox into the raw layer (one Parquet file per delivery period, replaced on
re-delivery; view raw.<register>), several deliveries at a time."""

import time

from dagster import (AssetExecutionContext, AssetKey, AssetsDefinition, Definitions, Failure, MaterializeResult,
                     MetadataValue, asset)

from dagster_project.contracts import Contract, load_contracts
from dagster_project.disk_space import reporting_full_disk
from dagster_project.file_access import restrict_installation
from dagster_project.inbox import delivery_files
from dagster_project.ingest.batch import Outcome, load_deliveries
from dagster_project.ingest.load import LoadResult, log_refusal
from dagster_project.ingest.raw_layer import raw_dir_of_database, register_files
from dagster_project.ingest.recovery import recover_quarantine_folder, recover_raw_layer
from dagster_project.defs.partitions import reference_years, single_run, year_of_file
from dagster_project.defs.resources import WAREHOUSE_WRITER_POOL, WarehouseResource
from dagster_project.settings import WarehousePaths

INGEST_GROUP = "ingest"


def raw_asset_key(register: str) -> AssetKey:
    return AssetKey(["raw", register])


def _raw_register_asset(contract: Contract) -> AssetsDefinition:
    @asset(
        key=raw_asset_key(contract.register),
        group_name=INGEST_GROUP,
        description=f"{contract.title_de}: Lieferungen aus dem Eingang, geprüft, pseudonymisiert "
                    f"(Rohdatenschicht raw/{contract.register}/, Sicht raw.{contract.raw_table}).",
        kinds={"duckdb", "python"},
        partitions_def=reference_years,
        backfill_policy=single_run,
        pool=WAREHOUSE_WRITER_POOL,
    )
    def load_register(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
        started = time.perf_counter()
        tightened = restrict_installation(WarehousePaths.from_environment(),
                                          [warehouse.database, warehouse.inbox, warehouse.quarantine])
        if tightened.changed:
            context.log.warning(tightened.message())
        key = warehouse.pseudonym_key()
        if key.mode == "demo":
            context.log.warning("DEMO-MODUS: öffentlicher Demo-Schlüssel, nur für Beispieldaten.")
        years = {int(k) for k in context.partition_keys}
        # a file without a year in its name is in every run: the ingest refuses it with its rule
        files = [p for p in delivery_files(warehouse.inbox, contract.register) if year_of_file(p) in years | {None}]
        results: list[LoadResult] = []
        refusals = []

        def report(number: int, outcome: Outcome) -> None:
            if outcome.refusal:
                refusals.append(outcome.refusal)
                log_refusal(warehouse.quarantine, outcome.refusal, None)
                context.log.error(str(outcome.refusal))
                return
            result = outcome.result
            results.append(result)
            if result.status == "geladen":
                context.log.info(
                    f"[{number}/{len(files)}] {outcome.path.name}: {result.rows_read:,} Zeilen gelesen, "
                    f"{result.rows_quarantined:,} in Quarantäne ({result.seconds:.1f} s)")

        with reporting_full_disk(f"Laden {contract.register}", warehouse.database.parent), warehouse.connect() as con:
            raw_dir = raw_dir_of_database(warehouse.database)
            for done in (recover_raw_layer(con, raw_dir, contract.register)
                         + recover_quarantine_folder(con, warehouse.quarantine, contract.register)):
                context.log.warning(f"Nach einem abgebrochenen Lauf: {done}")
            load_deliveries(con, files, key, warehouse.quarantine, on_outcome=report)
        loaded = [r for r in results if r.status == "geladen"]
        raw_folder = raw_dir_of_database(warehouse.database) / contract.register
        newest = register_files(raw_folder.parent, contract.register)
        metadata = {
            "jahre": MetadataValue.text(f"{min(years)}–{max(years)}" if len(years) > 1 else str(min(years))),
            "lieferungen_im_eingang": len(files),
            "neu_geladen": len(loaded),
            "unveraendert": len(results) - len(loaded),
            "abgelehnt": len(refusals),
            "zeilen_gelesen": sum(r.rows_read for r in loaded),
            "zeilen_geladen": sum(r.rows_accepted for r in loaded),
            "zeilen_quarantaene": sum(r.rows_quarantined for r in loaded),
            "neuester_zeitraum": MetadataValue.text(newest[-1].stem if newest else "–"),
            "dauer_s": round(time.perf_counter() - started, 2),
            "raw_tabelle": MetadataValue.text(f"raw.{contract.raw_table}"),
            "rohdaten_ordner": MetadataValue.path(str(raw_folder)),
        }
        if refusals:
            raise Failure(
                description=(f"{len(refusals)} Lieferung(en) {contract.register} abgelehnt / "
                             f"{len(refusals)} delivery(ies) refused:\n"
                             + "\n".join(str(r) for r in refusals)),
                metadata={**metadata, "ablehnungen": MetadataValue.json([r.as_dict() for r in refusals])},
            )
        return MaterializeResult(metadata=metadata)

    return load_register


raw_register_assets = [_raw_register_asset(c) for c in load_contracts().values()]

defs = Definitions(assets=raw_register_assets)
