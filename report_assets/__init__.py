"""Vipps MobilePay settlement reports as Dagster assets.

The packages, from the bottom up, as the data flows (each imports only those below it; ``make lint`` checks it):
``core``, ``report_api``, ``lake``, ``warehouse``, ``transforms``, ``books``, ``pipeline``, then ``settings`` (read
once per process), the Dagster layer ``defs`` and the entry points (``definitions``, ``main_job``, ``export``,
``load_warehouse``). ``simulator`` stands beside them, for the Dagster layer and the entry points only.
"""

__version__ = "0.1.0"
