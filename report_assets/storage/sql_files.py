"""SQL lives in .sql files beside this module; identifiers are formatted in, values are bound."""

from __future__ import annotations

from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).parent / "sql"


@cache
def sql_text(name: str, directory: Path = SQL_DIR) -> str:
    return (directory / f"{name}.sql").read_text()


def sql(name: str, directory: Path = SQL_DIR, **identifiers: str) -> str:
    """The SQL file ``name`` of ``directory`` (each package keeps its SQL beside its code)."""
    return sql_text(name, directory).format(**identifiers)


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
