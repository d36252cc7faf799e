"""The code location: the project's Definitions from the settings in the environment, read once when it loads.

With no Report API credentials in the environment the code location reads the embedded simulator;
with all of them it reads production; with some of them, or a bad ``REPORT_ASSETS_*`` setting, it
refuses to load and says what is wrong. Loading writes nothing anywhere.
"""

from __future__ import annotations

import dagster as dg

from report_assets.defs.project import project_definitions
from report_assets.settings import load_settings, said_first


@dg.definitions
def defs() -> dg.Definitions:
    return said_first(lambda: project_definitions(load_settings()))
