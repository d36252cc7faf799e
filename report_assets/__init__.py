"""Vipps MobilePay settlement reports as Dagster assets.

The packages, from the bottom up, as the data flows (each imports only those below it; ``make lint`` checks it):
``core``, ``report_api``, ``lake``, ``warehouse``, ``transforms``, ``books``, ``pipeline``, then ``settings`` (read
once per process), the Dagster layer ``defs`` and the entry points (``definitions``, ``main_job``, ``export``,
``load_warehouse``). ``simulator`` stands beside them, for the Dagster layer and the entry points only.
"""

import sys

# httpx imports its command-line client whenever rich, pygments and click are installed (Dagster brings them): 32 ms
# of every process's start (the run's, its ingest child's, each fetch process's), for a client nothing here runs.
# None in sys.modules makes that import fail, which httpx takes as "the CLI's extras are not installed".
sys.modules.setdefault("httpx._main", None)  # type: ignore[assignment]

__version__ = "0.1.0"
