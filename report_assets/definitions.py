"""The code location: the project's Definitions from the settings in the environment, read once when it loads.

With no Report API credentials in the environment the code location reads the embedded simulator;
with all of them it reads production; with some of them, or a bad ``REPORT_ASSETS_*`` setting, it
refuses to load and says what is wrong. Loading writes nothing anywhere.
"""

from __future__ import annotations

import atexit
import gc

import dagster as dg

# A full garbage collection walks every object of the oldest generation: all of Dagster's, many times while the
# project's modules load after it, and again now and then in every run. They live as long as the process; frozen,
# no collection walks them again. A run's process reached its first event 1.60 -> 1.48 s (medians of 5).
gc.freeze()

from report_assets.defs.project import project_definitions  # noqa: E402 - after the freeze, on purpose
from report_assets.settings import load_settings, said_first  # noqa: E402


@dg.definitions
def defs() -> dg.Definitions:
    # The interpreter's last garbage collection walks every object Dagster and the project loaded: 0.6 to 0.7 s of
    # a merchant's hourly run of about 4.5 s here (benchmarks/bench_backfill.py). A process that loaded the
    # project ends without it (objects left at exit are freed as modules are cleared, without the cycle search).
    # Everything a run writes is committed and closed by then.
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
    return said_first(lambda: project_definitions(load_settings()))
