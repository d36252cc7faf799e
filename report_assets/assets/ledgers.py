"""``funds_ledger`` and ``fees_ledger``: one row per entry, one partition per ledger-day.

One step fetches both (when both are selected) over one pool of connections, so a backfill of a
year of ten ledgers is one run with one simulator or one set of production connections.
"""


from collections.abc import Iterator

import dagster as dg

from report_assets.assets.partitions import LedgerDay, ledger_day_partitions
from report_assets.ingestion import TABLE_OF_TOPIC, FetchedDay, IngestOptions, ingest
from report_assets.resources import SIMULATOR, DataDirResource, ReportApiResource
from report_assets.storage.schema import dagster_table_schema

DESCRIPTIONS = {
    "funds": "The funds ledger: what Vipps MobilePay owes the merchant. Captures, refunds, fees retained, "
             "disputes, corrections and the scheduled payouts, one row per entry, amounts in minor units.",
    "fees": "The fees ledger: what the merchant owes Vipps MobilePay. Capture fees, service fees, credit notes, "
            "and the retained or invoiced totals, one row per entry, amounts in minor units.",
}


def ledger_spec(topic: str) -> dg.AssetSpec:
    table = TABLE_OF_TOPIC[topic]
    return dg.AssetSpec(
        key=table,
        description=DESCRIPTIONS[topic],
        partitions_def=ledger_day_partitions,
        skippable=True,
        group_name="ledgers",
        kinds={"parquet", "duckdb"},
        metadata={
            "dagster/column_schema": dagster_table_schema(include_gdpr=False),
            "dagster/table_name": f"warehouse.main.{table}",
        },
    )


def materialization(fetched: FetchedDay, source: str, include_gdpr: bool) -> dg.AssetMaterialization:
    table = TABLE_OF_TOPIC[fetched.topic]
    amounts = dict(sorted(fetched.amount_by_entry_type.items()))
    return dg.AssetMaterialization(
        asset_key=table,
        partition=fetched.day.key,
        description=f"{'OPEN, incomplete' if fetched.is_open else 'closed'} ledger date, from the {source}",
        metadata={
            "dagster/row_count": fetched.rows,
            "dagster/table_name": f"warehouse.main.{table}",
            "is_open": fetched.is_open,
            "ledger_date_status": "open (more can land; fetched again later)" if fetched.is_open else "closed",
            "source": source,
            "pages_fetched": fetched.pages,
            "bytes_fetched": fetched.bytes_fetched,
            "currency": fetched.currency or "",
            "amount_total": sum(amounts.values()),
            "amount_by_entry_type": dg.MetadataValue.json(amounts),
            "opening_balance": fetched.opening_balance if fetched.opening_balance is not None else 0,
            "closing_balance": fetched.closing_balance if fetched.closing_balance is not None else 0,
            "unknown_entry_types": dg.MetadataValue.json(fetched.unknown_entry_types),
            "parquet_path": dg.MetadataValue.path(str(fetched.path)),
        },
    )


@dg.multi_asset(
    name="ledger_entries",
    specs=[ledger_spec("funds"), ledger_spec("fees")],
    can_subset=True,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def ledger_entries(context: dg.AssetExecutionContext, report_api: ReportApiResource,
                   data_dir: DataDirResource) -> Iterator[dg.Output]:
    topics = [t for t, table in TABLE_OF_TOPIC.items() if dg.AssetKey(table) in context.selected_asset_keys]
    days = sorted(LedgerDay.from_key(key) for key in context.partition_keys)
    source = report_api.source
    if source == SIMULATOR:
        context.log.warning("No Report API credentials are set: fetching from the SIMULATOR, not production.")
    context.log.info(f"Fetching {len(topics)} topic(s) x {len(days)} ledger-day(s) with "
                     f"{report_api.max_connections} connections from the {source}")

    def on_written(fetched: FetchedDay) -> None:
        context.log_event(materialization(fetched, source, report_api.include_gdpr_data))

    options = IngestOptions(source=source, include_gdpr=report_api.include_gdpr_data,
                            workers=report_api.max_connections)
    with report_api.client() as client:
        failed = ingest(client, data_dir.data_dir(), topics, days, options, context.log.warning, on_written)
    if failed:
        lines = [f"{TABLE_OF_TOPIC[f.topic]} {f.day.key}: {f.error}" for f in failed[:20]]
        raise dg.Failure(
            description=f"{len(failed)} ledger-day(s) failed and were not stored; the others were. "
                        "Re-run the failed partitions. First failures:\n" + "\n".join(lines),
            metadata={"failed_partitions": dg.MetadataValue.json(sorted({f.day.key for f in failed}))},
        )
    # No outputs: each ledger-day logged its own materialization, with its own metadata, once stored.
    yield from ()
