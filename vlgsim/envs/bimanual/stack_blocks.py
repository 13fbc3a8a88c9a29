"""Bimanual-StackBlocks-v0: a red block on the left, a blue block on the right; stack the
red block on the blue one in the middle of the table.

No instructed factor. Goal: the red block resting on the blue block (centres within
2.5 cm horizontally, one block height apart), neither touched by a gripper. Expert: the
right arm places the blue block at the centre and withdraws; then the left arm, already
holding the red block, sets it on top.
"""

from __future__ import annotations

import numpy as np

from vlgsim.envs.bimanual.base import BLOCK_HALF, BimanualTask, register_bimanual
from vlgsim.scenes.bimanual import PlanStep, TaskPlan, add_body, jitter

CENTRE_XY = (0.05, 0.0)


@register_bimanual("Bimanual-StackBlocks-v0")
class StackBlocks(BimanualTask):
    max_steps = 150
    goal_words = "stack the red block on the blue block"

    def build_scene(self, sc, rng):
        add_body(sc, rng, "red block", "block", BLOCK_HALF, "red", jitter(rng, (-0.05, 0.17), 0.03),
                 float(rng.uniform(-0.4, 0.4)))
        add_body(sc, rng, "blue block", "block", BLOCK_HALF, "blue", jitter(rng, (-0.05, -0.17), 0.03),
                 float(rng.uniform(-0.4, 0.4)))

    def raw_instructions(self, sc):
        return ["Stack the red block on the blue block.", "Put the red block on top of the blue one.",
                "Build a tower: blue block at the bottom, red block on top."]

    def final_state(self, sc):
        return "the blue block rests in the middle of the table with the red block on top of it"

    def expert_plan(self, sc, variant):
        z = sc.table_z
        return TaskPlan([
            PlanStep(arm="right", skill="pick", obj="blue block"),
            PlanStep(arm="right", skill="place", obj="blue block", place_xyz=(*CENTRE_XY, z + 0.022), label="base"),
            PlanStep(arm="left", skill="pick", obj="red block"),
            PlanStep(arm="left", skill="place", obj="red block", place_xyz=(*CENTRE_XY, z + 0.063), wait_for="base"),
        ])

    def subgoals(self, sc):
        def stacked(st):
            r, b = st.pose["red block"][:3], st.pose["blue block"][:3]
            return np.hypot(*(r[:2] - b[:2])) < 0.025 and 0.03 < r[2] - b[2] < 0.05

        return [("grasp the red block", lambda st: bool(st.held_by("red block"))),
                ("lift the red block", lambda st: st.lifted("red block")),
                ("red block on the blue block", stacked),
                ("released, tower standing", lambda st: stacked(st) and st.resting("red block")
                 and st.resting("blue block"))]
