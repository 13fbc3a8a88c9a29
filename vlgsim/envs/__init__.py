"""Gymnasium envs: scene spec + backend + task logic. Importing registers every task."""

import importlib
import pkgutil

from vlgsim.envs.registration import TASKS, make_task, register_task

for _m in pkgutil.iter_modules(__path__):
    if _m.name not in ("registration", "wrappers"):
        importlib.import_module(f"{__name__}.{_m.name}")

__all__ = ["TASKS", "make_task", "register_task"]
