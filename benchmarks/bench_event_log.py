"""What one event costs in Dagster's SQLite event log, and where that cost is: issue 22's question.

A run of the ledger step writes, per ledger date, six materializations and up to twenty check evaluations; at
W1's 365 dates that is up to 9,490 events, each written by ``SqliteEventLogStorage.store_event``. This measures,
in one invocation, the time per event of a toy step that logs N materializations (with metadata like a date's)
and N check evaluations, on three event-log storages:

- ``dagster``: Dagster's own ``SqliteEventLogStorage``, as every instance here uses it (a new SQLAlchemy engine
  and a new SQLite connection for every write, two for an asset event: the run's shard and the index);
- ``engine-kept``: the same, but each shard's engine kept (NullPool still: a new connection per write);
- ``connection-kept, FULL``: each shard's engine and connection kept (one per thread), which saves opening the
  file, with SQLite's default ``synchronous=FULL`` (a commit waits for the disk);
- ``connection-kept``: the same with ``synchronous=NORMAL``: the project's storage (``report_assets/defs/event_log.py``,
  named in dagster.yaml), whose docstring says what that costs in durability.

The engine-kept storage uses ``NORMAL`` too.

    python benchmarks/bench_event_log.py [--events 400] [--rounds 3]
"""

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from sqlalchemy.pool import NullPool

from report_assets.defs.event_log import KeptConnectionSqliteEventLogStorage


class EngineKeptStorage(KeptConnectionSqliteEventLogStorage):
    """The project's storage with only the engines kept: a new connection for every write, as Dagster's."""

    pool = NullPool


STORAGES: dict[str, tuple[type[SqliteEventLogStorage] | None, dict[str, str]]] = {
    "dagster": (None, {}), "engine-kept": (EngineKeptStorage, {}),
    "connection-kept, FULL": (KeptConnectionSqliteEventLogStorage, {"synchronous": "FULL"}),
    "connection-kept": (KeptConnectionSqliteEventLogStorage, {})}
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}  # the storage's cost, not the console's


def toy_step(events: int) -> dg.AssetsDefinition:
    """Logs ``events`` materializations and ``events`` check evaluations, as the ledger step does per date."""

    @dg.multi_asset(specs=[dg.AssetSpec("funds_ledger", skippable=True)], can_subset=True,
                    check_specs=[dg.AssetCheckSpec("balance_arithmetic", asset="funds_ledger")])
    def step(context: dg.AssetExecutionContext) -> Iterator[dg.AssetMaterialization]:
        for n in range(events):
            yield dg.AssetMaterialization("funds_ledger", metadata={
                "dagster/row_count": 1000 + n, "ledgers_stored_closed": 10, "captured_NOK": 12345.67,
                "path": dg.MetadataValue.path(f"/data/lake/funds/ledger_date={n}/part-0.parquet")})
            context.log_event(dg.AssetCheckEvaluation(
                asset_key=dg.AssetKey("funds_ledger"), check_name="balance_arithmetic", passed=True,
                metadata={"ledgers_checked": 10}))

    return step


def seconds_per_event(storage: type[SqliteEventLogStorage] | None, config: dict[str, str], events: int) -> float:
    """The extra time of a run logging ``2 * events`` events over one logging none, per event."""
    with tempfile.TemporaryDirectory() as scratch:
        overrides = {} if storage is None else {"event_log_storage": {
            "module": storage.__module__, "class": storage.__name__,
            "config": {"base_dir": f"{scratch}/events", **config}}}
        with dg.instance_for_test(temp_dir=scratch, overrides=overrides) as instance:
            dg.materialize([toy_step(1)], instance=instance, run_config=QUIET)  # warm: shards made, code imported
            started = time.perf_counter()
            dg.materialize([toy_step(0)], instance=instance, selection=["funds_ledger"], run_config=QUIET)
            empty = time.perf_counter() - started
            started = time.perf_counter()
            dg.materialize([toy_step(events)], instance=instance, run_config=QUIET)
            full = time.perf_counter() - started
            assert len(instance.fetch_materializations(dg.AssetKey("funds_ledger"), limit=events * 3).records) \
                == events + 1
    return (full - empty) / (2 * events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400, help="materializations (and as many evaluations)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    figures: dict[str, list[float]] = {name: [] for name in STORAGES}
    for _ in range(args.rounds):  # interleaved, so that noise falls on each alike
        for name, (storage, config) in STORAGES.items():
            figures[name].append(seconds_per_event(storage, config, args.events))
    baseline = statistics.median(figures["dagster"])
    print(f"{2 * args.events} events a run (materializations and check evaluations), {args.rounds} rounds:")
    for name, found in figures.items():
        median = statistics.median(found)
        print(f"  {name:22s} median {median * 1000:6.2f} ms an event ({', '.join(f'{f * 1000:.2f}' for f in found)})"
              f"; {median / baseline:.2f} of Dagster's")


if __name__ == "__main__":
    main()
