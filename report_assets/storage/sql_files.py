"""SQL lives in .sql files beside this module; identifiers are formatted in, values are bound."""

from __future__ import annotations

from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).parent / "sql"


@cache
def sql_text(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text()


def sql(name: str, **identifiers: str) -> str:
    return sql_text(name).format(**identifiers)


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
