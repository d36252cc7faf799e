"""Ledger discovery: the ledger IDs these keys may read become partitions."""


import dagster as dg

from report_assets.assets.partitions import LEDGER_PARTITIONS_NAME, allowed_ledgers
from report_assets.resources import ReportApiResource


def discover_ledgers(report_api: ReportApiResource, known: list[str]) -> tuple[list[str], list[str]]:
    """(new ledger IDs to add, known ledger IDs no longer listed)."""
    with report_api.client() as client:
        listed = allowed_ledgers([ledger.ledger_id for ledger in client.list_ledgers()])
    return [i for i in listed if i not in known], [i for i in known if i not in listed]


@dg.sensor(minimum_interval_seconds=3600, default_status=dg.DefaultSensorStatus.RUNNING)
def ledger_discovery_sensor(context: dg.SensorEvaluationContext, report_api: ReportApiResource) -> dg.SensorResult:
    """Re-polls GET /settlement/v1/ledgers: ledgers appear as merchants grant access."""
    known = list(context.instance.get_dynamic_partitions(LEDGER_PARTITIONS_NAME))
    new, withdrawn = discover_ledgers(report_api, known)
    for ledger_id in withdrawn:
        context.log.warning(f"Ledger {ledger_id} is no longer listed for these keys: its stored data is kept, "
                            "but it cannot be fetched until access is granted again.")
    requests = [dg.AddDynamicPartitionsRequest(LEDGER_PARTITIONS_NAME, new)] if new else []
    if new:
        context.log.info(f"New ledgers: {', '.join(new)}")
    return dg.SensorResult(dynamic_partitions_requests=requests)
