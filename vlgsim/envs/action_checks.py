"""Validation of raw actions shared by the envs: type, shape, finiteness, magnitude.

Every env turns a bad action into ``info["failure_mode"] = "invalid_action"`` with
``info["error"]`` naming the value and the rule (never a library error from deep inside
the simulator): :func:`numeric_action` is the first gate; each env adds its physical bounds
(grasp width <= the gripper's opening, the hand within reach, ...).
"""

from __future__ import annotations

import reprlib
from typing import Any

import numpy as np

from vlgsim.grasp.image_grasp import InvalidAction

MAX_ABS_ACTION = 1e6
"""No action entry (pixels, metres, radians, degrees) may exceed this magnitude."""

_repr = reprlib.Repr()
_repr.maxlist = _repr.maxtuple = 8
_repr.maxstring = _repr.maxother = 60


def short(x: Any) -> str:
    """A bounded repr of an action (safe on huge or odd objects)."""
    try:
        if isinstance(x, np.ndarray):
            return np.array2string(x.ravel()[:8], precision=4) + ("..." if x.size > 8 else "")
        return _repr.repr(x)
    except Exception:  # noqa: BLE001
        return f"<{type(x).__name__}>"


def numeric_action(action: Any, shape: tuple[int, ...], name: str, max_abs: float = MAX_ABS_ACTION) -> np.ndarray:
    """``action`` as a float64 array of ``shape``, or :class:`InvalidAction` (a ValueError)
    naming the value and the rule it breaks: not numeric, wrong shape, NaN/inf, or an entry
    beyond +-``max_abs``."""
    if isinstance(action, (str, bytes, dict)) or action is None:
        raise InvalidAction(f"{name} action {short(action)} is not numeric; rule: {shape} numbers")
    try:
        a = np.asarray(action.cpu().numpy() if hasattr(action, "cpu") else action, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise InvalidAction(f"{name} action {short(action)} is not numeric; rule: {shape} numbers") from None
    if a.shape != tuple(shape):
        raise InvalidAction(f"{name} action of shape {a.shape}; rule: shape {tuple(shape)}")
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        raise InvalidAction(f"{name} action {short(a)} has NaN/inf at {bad[:8].tolist()}; rule: finite numbers")
    big = np.flatnonzero(np.abs(a) > max_abs)
    if big.size:
        raise InvalidAction(f"{name} action entry {a.ravel()[big[0]]:.3g} at {big[:8].tolist()}; "
                            f"rule: |value| <= {max_abs:g}")
    return a
