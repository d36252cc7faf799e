"""Which ledger-days are stored and closed, from the Dagster instance (no lock on the warehouse)."""

import dagster as dg

RAW_ASSETS = ("funds_ledger", "fees_ledger")


def closed_ledger_days(instance: dg.DagsterInstance, keys: list[str]) -> set[str]:
    """Partition keys whose latest materialization of both ledgers says the ledger date was closed."""
    closed: set[str] | None = None
    for asset in RAW_ASSETS:
        latest: dict[str, bool] = {}
        cursor = None
        while len(latest) < len(keys):  # newest first; an open day may have been fetched many times
            result = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=keys), limit=1000, cursor=cursor)
            for record in result.records:
                materialization = record.asset_materialization
                if materialization is not None and materialization.partition not in latest:
                    value = materialization.metadata.get("is_open")
                    latest[str(materialization.partition)] = bool(value.value) if value is not None else True
            if not result.has_more:
                break
            cursor = result.cursor
        done = {key for key, is_open in latest.items() if not is_open}
        closed = done if closed is None else closed & done
    return closed or set()
