"""The lake's stores against each other: one date's file replaced (read, merge, write) and read back, on local
disk and in an S3-compatible object store (a SeaweedFS server on loopback, as the tests start it), through
obstore (what the lake uses) and, for reads, through pyarrow's S3 filesystem (the alternative considered).

Prints the median of the repeats for each, and each as a ratio to the local store measured in the same run.

    python benchmarks/bench_lake_store.py [--ledgers 2000] [--entries 50] [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from report_assets.lake.parquet_lake import ParquetLake
from report_assets.lake.store import LocalStore, ObjectStore
from report_assets.simulator.object_store import BUCKET, seaweed_s3

DATE = "2026-11-18"


def date_rows(ledgers: int, entries: int, seed: int) -> pa.Table:
    """A date's ledger rows of the lake's shape: IDs, positions, references, amounts and balances."""
    n = ledgers * entries
    draw = random.Random(seed)  # references and amounts as varied as real ones: they do not compress away
    return pa.table({
        "ledger_id": pa.array([f"{300000 + i // entries}" for i in range(n)]),
        "position": pa.array([i % entries + 1 for i in range(n)], pa.int32()),
        "psp_reference": pa.array([f"{draw.getrandbits(64):020d}" for _ in range(n)]),
        "entry_type": pa.array([draw.choice(("capture", "capture", "capture", "refund", "capture-fee"))
                                for _ in range(n)]),
        "time": pa.array([1_795_000_000_000_000 + draw.randrange(86_400_000_000) for _ in range(n)],
                         pa.timestamp("us", "UTC")),
        "amount": pa.array([draw.randrange(-50_000, 500_000) for _ in range(n)], pa.int64()),
        "balance_after": pa.array([draw.randrange(10**9) for _ in range(n)], pa.int64()),
    })


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ledgers", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    whole = date_rows(args.ledgers, args.entries, seed=1)
    tenth = date_rows(max(1, args.ledgers // 10), args.entries, seed=2)  # a run storing a tenth of the ledgers
    replaced = sorted(set(tenth.column("ledger_id").to_pylist()))
    with tempfile.TemporaryDirectory() as scratch, seaweed_s3(Path(scratch) / "seaweedfs") as s3:
        os.environ.update(s3.env())
        lakes = {"local disk": ParquetLake(LocalStore(Path(scratch) / "lake")),
                 "object store (obstore)": ParquetLake(ObjectStore(f"s3://{BUCKET}/bench", 60))}
        results: dict[str, tuple[float, float]] = {}
        for name, lake in lakes.items():
            lake.replace_ledgers("funds", DATE, whole.column("ledger_id").unique().to_pylist(), whole,
                                 ("ledger_id", "position"))
            write = median_seconds(lambda lake=lake: lake.replace_ledgers(
                "funds", DATE, replaced, tenth, ("ledger_id", "position")), args.repeats)
            read = median_seconds(lambda lake=lake: lake.read_date("funds", DATE), args.repeats)
            results[name] = (write, read)
        key = f"{BUCKET}/bench/{ParquetLake.date_key('funds', DATE)}"
        filesystem = s3.filesystem()

        def pyarrow_read() -> pa.Table:
            with filesystem.open_input_file(key) as handle:
                return pq.read_table(handle)

        results["object store (pyarrow S3)"] = (float("nan"), median_seconds(pyarrow_read, args.repeats))
        size = filesystem.get_file_info(key).size
    base_write, base_read = results["local disk"]
    print(f"One date's file: {args.ledgers} ledgers x {args.entries} entries = {whole.num_rows} rows, "
          f"{size / 1e6:.1f} MB; a run replaces {len(replaced)} ledgers of it. Medians of {args.repeats}.")
    print(f"{'store':28} {'replace (read+merge+write)':>28} {'ratio':>7} {'read':>10} {'ratio':>7}")
    for name, (write, read) in results.items():
        print(f"{name:28} {write * 1000:>25.1f} ms {write / base_write:>7.2f} {read * 1000:>7.1f} ms "
              f"{read / base_read:>7.2f}")


if __name__ == "__main__":
    main()
