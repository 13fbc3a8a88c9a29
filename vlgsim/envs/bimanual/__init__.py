"""Bimanual RoboTwin-style tasks with raw and fine-grained instructions (one module per
task; importing this package registers every ``Bimanual-*-v0`` id)."""

import importlib
import pkgutil

from vlgsim.envs.bimanual.base import BIMANUAL_TASKS, BimanualTask

for _m in pkgutil.iter_modules(__path__):
    if _m.name != "base":
        importlib.import_module(f"{__name__}.{_m.name}")

__all__ = ["BIMANUAL_TASKS", "BimanualTask"]
