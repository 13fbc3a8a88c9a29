"""Bimanual-PlaceBasket-v0 (RoboTwin ``place_object_basket``): a block in the near middle
of the table, a deep basket at the far middle; put the block into the basket with the
instructed arm.

Factor ``arm`` (left / right). Goal: the block inside the basket's walls, resting (no
gripper on it). Measured: the arm whose fingers touched the block first. Expert: the
instructed arm picks the block from above and lowers it into the basket.
"""

from __future__ import annotations

from vlgsim.envs.bimanual.base import BLOCK_HALF, BimanualTask, pick_subgoals, register_bimanual
from vlgsim.scenes.bimanual import PlanStep, TaskPlan, add_body, jitter
from vlgsim.sim_eval.steerability import first_arm_touching

BASKET_HALF = (0.08, 0.10, 0.035)
"""7 cm deep; far enough from the block that the hand (20 cm across) clears its wall."""


@register_bimanual("Bimanual-PlaceBasket-v0")
class PlaceBasket(BimanualTask):
    factor = "arm"
    variants = ("left", "right")
    max_steps = 120
    goal_words = "put the block into the basket"

    def build_scene(self, sc, rng):
        add_body(sc, rng, "brown basket", "bin", BASKET_HALF, "brown", jitter(rng, (0.20, 0.0), 0.015))
        add_body(sc, rng, "green block", "block", BLOCK_HALF, "green", jitter(rng, (-0.05, 0.0), 0.025),
                 float(rng.uniform(-0.4, 0.4)))

    def raw_instructions(self, sc):
        return ["Put the block into the basket.", "Place the green block in the brown basket.",
                "Drop the block into the basket."]

    def final_state(self, sc):
        return "the green block lies on the floor of the brown basket, the gripper open above it"

    def expert_plan(self, sc, variant):
        b = sc.body("brown basket").xyz
        return TaskPlan([PlanStep(arm=variant, skill="pick", obj="green block"),
                         PlanStep(arm=variant, skill="place", obj="green block",
                                  place_xyz=(b[0], b[1], sc.table_z + 0.036))])

    def subgoals(self, sc):
        basket = self.tray("brown basket")
        return pick_subgoals(["green block"], "block") + [
            ("block in the basket, released", lambda st: st.inside("green block", basket) and st.resting("green block"))]

    def measure_factor(self, sc, rec):
        return first_arm_touching(rec, "green block")
