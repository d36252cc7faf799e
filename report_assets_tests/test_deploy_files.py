"""The deploy files and the READMEs name only settings the code reads: a misspelt or invented variable there is
silently ignored by a running service, which then reads the simulator or a default instead."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from report_assets import settings as project_settings
from report_assets.report_api import settings as api_settings
from report_assets.settings import PROJECT_ROOT

NAME = re.compile(r"\bREPORT_(?:API|ASSETS)_[A-Z0-9_]*[A-Z0-9]\b")
FILES = sorted([*(PROJECT_ROOT / "deploy").rglob("*"), PROJECT_ROOT / "README.md", PROJECT_ROOT / "Makefile"])


def names_the_code_reads() -> set[str]:
    return {value for module in (project_settings, api_settings) for name, value in vars(module).items()
            if name.startswith("ENV_") and isinstance(value, str)}


@pytest.mark.parametrize("path", [p for p in FILES if p.is_file()], ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_setting_a_deploy_file_names_is_one_the_code_reads(path: Path) -> None:
    known = names_the_code_reads()
    named = set(NAME.findall(path.read_text(errors="replace")))
    assert named - known == set(), f"{path.name} names settings nothing reads"


def test_the_check_finds_a_misspelt_name() -> None:
    assert set(NAME.findall("REPORT_API_MSN=1 REPORT_ASSETS_DATA_DIR=/d")) - names_the_code_reads() == \
        {"REPORT_API_MSN"}
