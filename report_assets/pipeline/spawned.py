"""What a process a run spawns needs from it: the client's settings sent safely, errors sent whole, and death
with its spawner, so that no orphan outlives a crashed run."""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
from dataclasses import fields
from typing import Any

from report_assets.report_api import ApiSettings, Secret

PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


def settings_recipe(settings: ApiSettings) -> dict[str, Any]:
    """The client's settings for a child: a ``Secret`` refuses pickling, so its value travels bare over the
    pipe to our own child and is wrapped again there; it is never logged or stored."""
    recipe = {f.name: getattr(settings, f.name) for f in fields(settings)}
    for name, value in recipe.items():
        if isinstance(value, Secret):
            recipe[name] = ("secret", value.reveal())
    return recipe


def settings_from_recipe(recipe: dict[str, Any]) -> ApiSettings:
    values = {name: Secret(value[1]) if isinstance(value, tuple) and value[:1] == ("secret",) else value
              for name, value in recipe.items()}
    return ApiSettings(**values)


def sendable(exc: BaseException) -> BaseException:
    """The error itself when it survives pickling (the caller tells retryable errors by type), else its text."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def die_with(parent: int) -> None:
    """A child must not outlive a parent that crashed or was killed: a run re-tried at once would otherwise
    race an orphan. On Linux the kernel kills it with its parent (every write is crash-safe); elsewhere the
    child's own watcher stops it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # died before the line above took effect
        os._exit(1)
