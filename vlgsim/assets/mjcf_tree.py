"""Kinematic-tree helpers for compiled ``mujoco.MjModel`` s (shared by the hand and arm builders)."""

from __future__ import annotations


def descends(m, body: int, root: int) -> bool:
    """True if ``body`` is ``root`` or lies below it in ``m``'s body tree (body ids)."""
    while body > 0:
        if body == root:
            return True
        body = int(m.body_parentid[body])
    return False
