"""The code location: the project's Definitions from the settings in the environment, read once when it loads.

With no Report API credentials in the environment the code location reads the embedded simulator;
with all of them it reads production; with some of them, or a bad ``REPORT_ASSETS_*`` setting, it
refuses to load and says what is wrong. Loading writes nothing anywhere.
"""

from __future__ import annotations

import atexit
import gc

import dagster as dg

from report_assets.defs.project import project_definitions
from report_assets.settings import load_settings, said_first


@dg.definitions
def defs() -> dg.Definitions:
    # The interpreter's last garbage collection walks every object Dagster and the project loaded: 0.6 to 0.7 s of
    # a merchant's hourly run of about 4.5 s here (benchmarks/bench_backfill.py). A process that loaded the
    # project ends without it (objects left at exit are freed as modules are cleared, without the cycle search).
    # Everything a run writes is committed and closed by then.
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
    return said_first(lambda: project_definitions(load_settings()))
