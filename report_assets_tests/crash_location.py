"""A code location for the crash tests: the project's Definitions with hooks that kill the process at the point of
a write that ``CRASH_AT`` names, to prove that nothing stored is lost. Only the tests load it."""

from __future__ import annotations

import os

import dagster as dg

from report_assets.defs.project import project_definitions
from report_assets.pipeline.ingestion import WriteHooks
from report_assets.settings import load_settings

CRASH_AT = "CRASH_AT"
CRASH_POINTS = ("after-parquet", "inside-duckdb", "after-first-batch")


class CrashAt(WriteHooks):
    """Exits at once, as a killed process would, with no clean-up, when the write reaches ``point``."""

    def __init__(self, point: str) -> None:
        assert point in CRASH_POINTS, point
        self.point = point

    def reached(self, point: str) -> None:
        if point == self.point:
            os._exit(70)


@dg.definitions
def defs() -> dg.Definitions:
    return project_definitions(load_settings(), hooks=CrashAt(os.environ[CRASH_AT]))
