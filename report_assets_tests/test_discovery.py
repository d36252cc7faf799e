"""The ledger discovery sensor against the simulator: new ledgers become partitions, withdrawn ones are kept."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from report_assets.assets.partitions import LEDGER_PARTITIONS_NAME
from report_assets.automation.discovery import discover_ledgers, ledger_discovery_sensor
from report_assets.resources import ReportApiResource
from report_assets_tests.conftest import Sim


def tick(instance: dg.DagsterInstance, sim: Sim) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance,
                                      resources={"report_api": ReportApiResource(base_url=sim.base_url)})
    result = ledger_discovery_sensor(context)
    assert isinstance(result, dg.SensorResult)
    for request in result.dynamic_partitions_requests or []:  # as the daemon would apply them
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def test_new_ledgers_become_partitions_and_withdrawn_ones_are_kept(sim: Sim, tmp_path: Path) -> None:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        sim.control(accessible_ledgers=["302321"])
        first = tick(instance, sim)
        assert [list(r.partition_keys) for r in first.dynamic_partitions_requests] == [["302321"]]
        sim.control(accessible_ledgers=["302321", "405512", "517734"])  # a merchant granted access
        second = tick(instance, sim)
        assert [list(r.partition_keys) for r in second.dynamic_partitions_requests] == [["405512", "517734"]]
        assert tick(instance, sim).dynamic_partitions_requests == []  # nothing new: nothing asked
        sim.control(accessible_ledgers=["405512", "517734"])  # access to 302321 withdrawn
        known = list(instance.get_dynamic_partitions(LEDGER_PARTITIONS_NAME))
        assert discover_ledgers(ReportApiResource(base_url=sim.base_url), known) == ([], ["302321"])  # logged
        withdrawn = tick(instance, sim)
        assert withdrawn.dynamic_partitions_requests == []  # never deleted: its data stays reachable
        assert list(instance.get_dynamic_partitions(LEDGER_PARTITIONS_NAME)) == ["302321", "405512", "517734"]
