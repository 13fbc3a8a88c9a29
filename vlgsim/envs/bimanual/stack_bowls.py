"""Bimanual-StackBowls-v0 (RoboTwin ``stack_bowls_two``): a large blue bowl on the right,
a small red bowl on the left; nest the small bowl in the large one in the middle of the
table.

No instructed factor. Goal: the red bowl resting inside the blue bowl's walls on its
floor, neither bowl touched. Expert: the right arm grasps the blue bowl by its far wall,
sets it down in the middle and withdraws; the left arm, already holding the red bowl by
its far wall, lowers it into the blue one.
"""

from __future__ import annotations

import numpy as np

from vlgsim.envs.bimanual.base import BimanualTask, register_bimanual
from vlgsim.scenes.bimanual import WALL_M, PlanStep, TaskPlan, add_body, jitter

BIG_HALF = (0.085, 0.09, 0.03)
SMALL_HALF = (0.045, 0.05, 0.022)
CENTRE_XY = (0.06, 0.0)


@register_bimanual("Bimanual-StackBowls-v0")
class StackBowls(BimanualTask):
    max_steps = 170
    goal_words = "stack the small bowl in the large bowl"

    def build_scene(self, sc, rng):
        add_body(sc, rng, "blue bowl", "bowl", BIG_HALF, "blue", jitter(rng, (-0.02, -0.17), 0.02),
                 float(rng.uniform(-0.25, 0.25)))
        add_body(sc, rng, "red bowl", "bowl", SMALL_HALF, "red", jitter(rng, (-0.03, 0.17), 0.02),
                 float(rng.uniform(-0.25, 0.25)))

    def raw_instructions(self, sc):
        return ["Stack the bowls.", "Put the small red bowl into the big blue bowl.", "Nest the red bowl in the blue one."]

    def final_state(self, sc):
        return "the blue bowl stands in the middle of the table with the red bowl nested inside it"

    def expert_plan(self, sc, variant):
        z = sc.table_z
        wall = lambda h: h[0] - WALL_M / 2  # noqa: E731  (grasp the wall at the bowl's +x side)
        return TaskPlan([
            PlanStep(arm="right", skill="pick", obj="blue bowl", grasp_offset_m=wall(BIG_HALF), lift_m=0.08),
            PlanStep(arm="right", skill="place", obj="blue bowl", place_xyz=(*CENTRE_XY, z + BIG_HALF[2] + 0.004),
                     label="base"),
            PlanStep(arm="left", skill="pick", obj="red bowl", grasp_offset_m=wall(SMALL_HALF), lift_m=0.08),
            PlanStep(arm="left", skill="place", obj="red bowl",
                     place_xyz=(*CENTRE_XY, z + WALL_M + SMALL_HALF[2] + 0.006), wait_for="base"),
        ])

    def subgoals(self, sc):
        def nested(st):
            r, b = st.pose["red bowl"][:3], st.pose["blue bowl"][:3]
            room = BIG_HALF[0] - WALL_M  # inner half width of the blue bowl (its smaller side)
            return (np.hypot(*(r[:2] - b[:2])) < room and r[2] - b[2] < SMALL_HALF[2] - BIG_HALF[2] + WALL_M + 0.012)

        return [("grasp the red bowl", lambda st: bool(st.held_by("red bowl"))),
                ("lift the red bowl", lambda st: st.lifted("red bowl")),
                ("red bowl inside the blue bowl", nested),
                ("released, bowls nested", lambda st: nested(st) and st.resting("red bowl") and st.resting("blue bowl"))]
