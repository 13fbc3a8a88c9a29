"""Gymnasium envs: scene spec + backend + task logic.

Importing this package is cheap: ``import vlgsim`` registers every built-in id from
:mod:`vlgsim.envs.index` and ``gym.make`` imports only the task module it builds.
``vlgsim.envs.TASKS`` (every task class) imports all task modules on first access.
"""

import importlib
import pkgutil

from vlgsim.envs.registration import make_task, register_task

_NOT_TASKS = ("registration", "wrappers", "index", "action_checks", "subprocess_env")


def import_all() -> dict:
    """Import every task module in this package; returns the filled task registry."""
    from vlgsim.envs.registration import TASKS

    for m in pkgutil.iter_modules(__path__):
        if m.name not in _NOT_TASKS:
            importlib.import_module(f"{__name__}.{m.name}")
    return TASKS


def __getattr__(name):
    if name == "TASKS":
        return import_all()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["TASKS", "import_all", "make_task", "register_task"]
