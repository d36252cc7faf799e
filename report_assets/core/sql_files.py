"""SQL lives in .sql files in a ``sql`` folder beside the code that runs it; identifiers are formatted in, values
are bound."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from pathlib import Path


@cache
def sql_text(name: str, directory: Path) -> str:
    return (directory / f"{name}.sql").read_text()


def sql(name: str, directory: Path, **identifiers: str) -> str:
    """The SQL file ``name`` of ``directory``, with ``identifiers`` formatted in."""
    return sql_text(name, directory).format(**identifiers)


def sql_in(module_file: str) -> Callable[..., str]:
    """``sql(name, **identifiers)`` over the ``sql`` folder beside ``module_file`` (pass ``__file__``)."""
    return partial(sql, directory=Path(module_file).with_name("sql"))


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
