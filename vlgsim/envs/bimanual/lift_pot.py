"""Bimanual-LiftPot-v0 (RoboTwin ``lift_pot``): a pot with a handle at each end stands in
the middle of the table, one handle towards each arm; lift it with both arms together.

No instructed factor. Goal: the pot 9 cm or more above where it stood, held by both
grippers, tilted less than 15 degrees. Expert: each arm grasps the handle on its side
from above; once both have closed, both raise 12 cm together (each waits for the other's
grasp).
"""

from __future__ import annotations

import numpy as np

from vlgsim.envs.bimanual.base import BimanualTask, register_bimanual, tilt_deg
from vlgsim.scenes.bimanual import POT_HANDLE_M, PlanStep, TaskPlan, add_body, jitter

POT_HALF = (0.08 + POT_HANDLE_M, 0.065, 0.045)
HANDLE_M = POT_HALF[0] - POT_HANDLE_M / 2
"""Handle centres: this far from the pot's centre along its x axis."""


@register_bimanual("Bimanual-LiftPot-v0")
class LiftPot(BimanualTask):
    max_steps = 120
    goal_words = "lift the pot with both arms"

    def build_scene(self, sc, rng):
        # yaw ~ pi/2: the pot's +x handle points left (+y), towards the left arm
        add_body(sc, rng, "grey pot", "pot", POT_HALF, "grey", jitter(rng, (0.02, 0.0), 0.02),
                 float(np.pi / 2 + rng.uniform(-0.15, 0.15)))

    def raw_instructions(self, sc):
        return ["Lift the pot with both arms.", "Pick up the pot by its two handles.", "Raise the grey pot off the table."]

    def final_state(self, sc):
        return "the grey pot is held level about 12 cm above the table, each gripper on one handle"

    def expert_plan(self, sc, variant):
        return TaskPlan([
            PlanStep(arm="left", skill="pick", obj="grey pot", grasp_offset_m=HANDLE_M, lift_m=0.0, label="left grasp"),
            PlanStep(arm="right", skill="pick", obj="grey pot", grasp_offset_m=-HANDLE_M, lift_m=0.0,
                     label="right grasp"),
            PlanStep(arm="left", skill="lift", obj="grey pot", lift_m=0.12, wait_for="right grasp"),
            PlanStep(arm="right", skill="lift", obj="grey pot", lift_m=0.12, wait_for="left grasp"),
        ])

    def subgoals(self, sc):
        both = lambda st: len(st.held_by("grey pot")) == 2  # noqa: E731
        return [("both grippers on the handles", both),
                ("pot lifted 5 cm by both arms", lambda st: both(st) and st.rise("grey pot") >= 0.05),
                ("pot 9 cm up, level", lambda st: both(st) and st.rise("grey pot") >= 0.09
                 and tilt_deg(st.pose["grey pot"][3:]) < 15)]
