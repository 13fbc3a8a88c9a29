"""Bimanual-MoveCanPot-v0 (RoboTwin ``move_can_pot``): a pot stands at the far middle, a can
in front of it near the middle of the table; set the can down beside the pot on the
instructed side.

Factor ``side`` (left / right of the pot, as the head camera sees it: +y is left). Goal:
the can standing upright next to the pot (level with it front to back, 9-20 cm to its
side), released. Measured: the side of the pot the can stands on at the end. Expert: the
arm on the instructed side picks the can from above and sets it down 13 cm to that side of
the pot.

Layout: the can starts within 5 cm of the table's centre line, so that either arm can
fetch it (0.52 m or less from a base) and the arm on the instructed side sets it down
0.37 m from its base, the gripper pointing down. (A can starting on one side had to be
carried 0.6 m from the base when the other side was instructed: a ViperX can only reach
that far with its gripper tilted, and the tilted can fell over.)
"""

from __future__ import annotations

import numpy as np

from vlgsim.envs.bimanual.base import BimanualTask, pick_subgoals, register_bimanual, tilt_deg
from vlgsim.scenes.bimanual import POT_HANDLE_M, PlanStep, TaskPlan, add_body, jitter

POT_HALF = (0.07 + POT_HANDLE_M, 0.06, 0.04)
CAN_HALF = (0.022, 0.022, 0.045)
BESIDE_M = 0.13


@register_bimanual("Bimanual-MoveCanPot-v0")
class MoveCanPot(BimanualTask):
    factor = "side"
    variants = ("left", "right")
    max_steps = 140
    goal_words = "move the can next to the pot"

    def build_scene(self, sc, rng):
        # yaw ~ 0: the handles point near and far, the pot's sides face the arms
        add_body(sc, rng, "grey pot", "pot", POT_HALF, "grey", jitter(rng, (0.14, 0.0), 0.015),
                 float(rng.uniform(-0.15, 0.15)))
        y = float(rng.choice([0.03, -0.03]))
        add_body(sc, rng, "red can", "pillar", CAN_HALF, "red", jitter(rng, (-0.08, y), 0.02),
                 float(rng.uniform(-0.4, 0.4)), pose="standing")

    def raw_instructions(self, sc):
        return ["Move the can next to the pot.", "Put the red can beside the pot.", "Place the can by the grey pot."]

    def final_state(self, sc):
        return f"the red can stands upright on the table just {sc.variant} of the grey pot"

    def expert_plan(self, sc, variant):
        can, pot = sc.body("red can"), sc.body("grey pot")
        arm = variant  # the arm on the instructed side (+y is the left)
        y = pot.xyz[1] + (BESIDE_M if variant == "left" else -BESIDE_M)
        return TaskPlan([PlanStep(arm=arm, skill="pick", obj="red can", lift_m=0.08),
                         PlanStep(arm=arm, skill="place", obj="red can",
                                  place_xyz=(pot.xyz[0], y, sc.table_z + CAN_HALF[2] + 0.004))])

    @staticmethod
    def _side(can, pot) -> str:
        dy = can[1] - pot[1]
        if abs(can[0] - pot[0]) > 0.07 or not 0.09 < abs(dy) < 0.20:
            return ""
        return "left" if dy > 0 else "right"

    def subgoals(self, sc):
        def beside(st):
            c = st.pose["red can"]
            return (bool(self._side(c[:3], st.pose["grey pot"][:3])) and tilt_deg(c[3:]) < 15
                    and abs(c[2] - st.table_z - CAN_HALF[2]) < 0.01)

        return pick_subgoals(["red can"], "can") + [
            ("can beside the pot, released", lambda st: beside(st) and st.resting("red can"))]

    def measure_factor(self, sc, rec):
        return self._side(rec.body_pose[-1, rec.k("red can"), :3], rec.body_pose[-1, rec.k("grey pot"), :3])
