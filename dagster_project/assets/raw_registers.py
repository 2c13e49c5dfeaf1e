"""One Dagster asset per register: loads its new or changed deliveries from the inbox into
raw.<register> (one partition per delivery period, replaced on re-delivery)."""


from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, Failure, MaterializeResult, MetadataValue, asset

from dagster_project.contracts import Contract, load_contracts
from dagster_project.inbox import delivery_files
from dagster_project.ingest.errors import DeliveryRefused
from dagster_project.ingest.load import LoadResult, load_delivery, log_refusal
from dagster_project.resources import WarehouseResource

INGEST_GROUP = "ingest"


def raw_asset_key(register: str) -> AssetKey:
    return AssetKey(["raw", register])


def _raw_register_asset(contract: Contract) -> AssetsDefinition:
    @asset(
        key=raw_asset_key(contract.register),
        group_name=INGEST_GROUP,
        description=f"{contract.title_de}: Lieferungen aus dem Eingang, geprüft, pseudonymisiert "
                    f"(raw.{contract.raw_table}).",
        kinds={"duckdb", "python"},
    )
    def load_register(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
        key = warehouse.pseudonym_key()
        if key.mode == "demo":
            context.log.warning("DEMO-MODUS: öffentlicher Demo-Schlüssel, nur für Beispieldaten.")
        files = delivery_files(warehouse.inbox, contract.register)
        results: list[LoadResult] = []
        refusals = []
        with warehouse.connect() as con:
            for number, path in enumerate(files, start=1):
                try:
                    result = load_delivery(con, path, key, warehouse.quarantine)
                except DeliveryRefused as refused:
                    refusals.append(refused.refusal)
                    log_refusal(warehouse.quarantine, refused.refusal, None)
                    context.log.error(str(refused))
                    continue
                results.append(result)
                if result.status == "geladen":
                    context.log.info(
                        f"[{number}/{len(files)}] {path.name}: {result.rows_read:,} Zeilen gelesen, "
                        f"{result.rows_quarantined:,} in Quarantäne ({result.seconds:.1f} s)")
        loaded = [r for r in results if r.status == "geladen"]
        metadata = {
            "lieferungen_im_eingang": len(files),
            "neu_geladen": len(loaded),
            "unveraendert": len(results) - len(loaded),
            "abgelehnt": len(refusals),
            "zeilen_gelesen": sum(r.rows_read for r in loaded),
            "zeilen_quarantaene": sum(r.rows_quarantined for r in loaded),
            "raw_tabelle": MetadataValue.text(f"raw.{contract.raw_table}"),
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
