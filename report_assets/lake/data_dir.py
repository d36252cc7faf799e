"""The data directory: the Parquet lake, the warehouse, the status file and the lake views, and which world
filled it.

Simulator and production data must never meet in one directory, nor two simulator worlds (another seed or
other ledger options), nor two sets of production keys: the first write claims the directory for its source
and world, and every later write checks the claim.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pyarrow as pa

from report_assets.core.setting_names import ENV_DATA_DIR, ENV_LAKE_URL
from report_assets.lake.lake_status import LakeDayStatus
from report_assets.lake.parquet_lake import ParquetLake
from report_assets.lake.status import DayStatus, LedgerDayStatus
from report_assets.lake.store import open_store

SOURCE_MARKER = ".source"
WORLD_MARKER = ".world.json"  # the simulator's seed and data options, or a fingerprint of the production keys
LAKE_CLAIM = "_claim"  # a lake in an object store: its source and world, as the two markers are for the directory


class MixedSourcesError(RuntimeError):
    """Writing simulator data into production's directory, or the other way round."""


@dataclass(frozen=True)
class DataDir:
    root: Path
    lake_url: str = ""  # an object store's URL for the lake; empty: the lake is lake_dir
    lake_retry_seconds: float = 180.0

    @property
    def lake_dir(self) -> Path:
        return self.root / "lake"

    @cached_property
    def lake(self) -> ParquetLake:
        return ParquetLake(open_store(self.lake_url, self.lake_dir, self.lake_retry_seconds))

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def lake_views(self) -> Path:
        return self.root / "lake_views.duckdb"

    @property
    def lake_views_script(self) -> Path:
        """For a lake in an object store: the SQL that builds the lake views on an analyst's machine."""
        return self.root / "lake_views.sql"

    @property
    def status(self) -> DayStatus:
        """A SQLite file here; in the lake when that is in an object store, which other machines share."""
        if self.lake.is_local:
            return LedgerDayStatus(self.root / "ledger_days.sqlite3")
        return LakeDayStatus(self.lake)

    def claimed_source(self) -> str | None:
        marker = self.root / SOURCE_MARKER
        return marker.read_text().strip() if marker.exists() else None

    def claimed_world(self) -> dict[str, object] | None:
        marker = self.root / WORLD_MARKER
        return json.loads(marker.read_text()) if marker.exists() else None

    def claim(self, source: str, world: Mapping[str, object] | None = None) -> None:
        """Marks the directory as holding ``source`` data of ``world``, refusing if it holds the other source,
        another world, or the layout of ledger-day files that came before one file per date."""
        if (self.lake_dir / "funds").is_dir() and any((self.lake_dir / "funds").glob("ledger_id=*")):
            raise MixedSourcesError(
                f"{self.root} holds data in the old layout (one file per ledger-day); this version keeps one file "
                f"per ledger date. Move it away or point {ENV_DATA_DIR} at a new directory, then re-run.")
        if not self.lake.is_local:
            self.claim_lake(source, world)
        claimed = self.claimed_source()
        if claimed is None:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / SOURCE_MARKER).write_text(source + "\n")
        elif claimed != source:
            raise MixedSourcesError(
                f"{self.root} holds {claimed} data; refusing to write {source} data into it. "
                f"Point {ENV_DATA_DIR} at another directory for {source} data (or move the old one away)."
            )
        if world is None:
            return
        stored = self.claimed_world()
        if stored is None:
            (self.root / WORLD_MARKER).write_text(json.dumps(dict(world), sort_keys=True) + "\n")
        elif stored != dict(world):
            raise MixedSourcesError(
                f"{self.root} holds {source} data of another world ({describe_world(stored)}); this run reads "
                f"{describe_world(world)}. Their rows must not mix: point {ENV_DATA_DIR} at another directory "
                f"(e.g. {self.root}-{world_suffix(world)}), or move {self.root} away. Nothing was written."
            )


    def claim_lake(self, source: str, world: Mapping[str, object] | None) -> None:
        """The same claim on a lake in an object store, which machines with data directories of their own share:
        its first writer records its source and world there (a conditional PUT, so two first writers cannot both
        win), and a machine of another source or world is refused before it writes anything."""
        wanted = json.dumps(dict(world), sort_keys=True) if world is not None else ""

        def keep_or_claim(old: pa.Table | None) -> pa.Table:
            row = old.to_pylist()[0] if old is not None else {"source": source, "world": ""}
            return pa.table({"source": [row["source"]], "world": [row["world"] or wanted]})

        key = ParquetLake.table_key(LAKE_CLAIM)
        stored = self.lake.store.read(key)
        row = stored.to_pylist()[0] if stored is not None else None
        if row is None or (wanted and not row["world"]):
            row = self.lake.store.update(key, keep_or_claim).to_pylist()[0]
        where = f"The lake {self.lake.location} (shared by every machine that writes it)"
        if row["source"] != source:
            raise MixedSourcesError(
                f"{where} holds {row['source']} data; refusing to write {source} data into it. Point {ENV_LAKE_URL} "
                f"at another prefix for {source} data. Nothing was written.")
        if wanted and row["world"] != wanted:
            raise MixedSourcesError(
                f"{where} holds {source} data of another world ({describe_world(json.loads(row['world']))}); this "
                f"run reads {describe_world(dict(world or {}))}. Their rows must not mix: point {ENV_LAKE_URL} at "
                "another prefix. Nothing was written.")


def describe_world(world: Mapping[str, object]) -> str:
    names = sorted(world, key=lambda name: (name != "seed", name))  # the seed first: what people set
    return ", ".join(f"{name.replace('_', ' ')} {world[name]}" for name in names)


def world_suffix(world: Mapping[str, object]) -> str:
    return f"seed{world['seed']}" if "seed" in world else f"keys{world.get('keys', '')}"
