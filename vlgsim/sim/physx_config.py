"""SAPIEN's PhysX defaults, applied while our own (non-ManiSkill) scenes are built.

PhysX scene, body and shape settings are process-global in SAPIEN, read when a system,
body or shape is created, and every ManiSkill env overwrites them (e.g. contact offset
0.02 m instead of 0.01 m, 15 solver position iterations instead of 10). A grasp validated
after a ManiSkill env was built in the same process would otherwise settle differently from
one validated in a fresh process (seen as a library grasp re-validated "not held" in a long
test run, and as different contact fingers between local and Ray workers).
"""

from __future__ import annotations

from contextlib import contextmanager

import sapien

DEFAULT_CONTACT_OFFSET_M = 0.01
DEFAULT_POSITION_ITERATIONS = 10
DEFAULT_VELOCITY_ITERATIONS = 1
DEFAULT_SLEEP_THRESHOLD = 0.005
"""SAPIEN 3.0.3's own defaults (``sapien.physx.get_*_config()`` in a fresh process)."""


@contextmanager
def sapien_physx_defaults():
    """Within the block, new PhysX systems, bodies and shapes get SAPIEN's defaults; the
    previous (e.g. ManiSkill's) settings are restored afterwards."""
    px = sapien.physx
    saved = px.get_scene_config(), px.get_shape_config(), px.get_body_config()
    px.set_scene_config()  # every argument at its default
    px.set_shape_config(contact_offset=DEFAULT_CONTACT_OFFSET_M, rest_offset=0.0)
    px.set_body_config(solver_position_iterations=DEFAULT_POSITION_ITERATIONS,
                       solver_velocity_iterations=DEFAULT_VELOCITY_ITERATIONS, sleep_threshold=DEFAULT_SLEEP_THRESHOLD)
    try:
        yield
    finally:
        px.set_scene_config(saved[0])
        px.set_shape_config(saved[1])
        px.set_body_config(saved[2])
