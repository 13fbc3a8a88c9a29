"""Bimanual-LeftArmRightBowl-v0 (OOD probe): a block in the middle, a bowl on each side;
"use the left arm to place the block into the right bowl", an actor-target pairing that
the ID tasks never show (there each arm serves the bowl on its own side).

Factor ``arm``: instructed ``left`` (``variant="right"`` gives the in-distribution twin).
Goal: the block resting inside the right bowl. Measured: the arm that touched the block
first. Expert: the instructed arm picks the block and places it into the right bowl.
"""

from __future__ import annotations

from vlgsim.envs.bimanual.base import BLOCK_HALF, BimanualTask, pick_subgoals, register_bimanual
from vlgsim.scenes.bimanual import PlanStep, TaskPlan, add_body, jitter
from vlgsim.sim_eval.steerability import first_arm_touching

BOWL_HALF = (0.065, 0.065, 0.03)


@register_bimanual("Bimanual-LeftArmRightBowl-v0")
class LeftArmRightBowl(BimanualTask):
    factor = "arm"
    variants = ("left",)
    extra_variants = ("right",)
    max_steps = 120
    goal_words = "put the block into the right bowl"

    def build_scene(self, sc, rng):
        add_body(sc, rng, "left bowl", "tray", BOWL_HALF, "white", jitter(rng, (0.13, 0.13), 0.01))
        add_body(sc, rng, "right bowl", "tray", BOWL_HALF, "white", jitter(rng, (0.13, -0.13), 0.01))
        add_body(sc, rng, "green block", "block", BLOCK_HALF, "green", jitter(rng, (-0.06, 0.0), 0.02),
                 float(rng.uniform(-0.4, 0.4)))

    def raw_instructions(self, sc):
        return ["Put the block into the right bowl.", "Place the green block in the bowl on the right.",
                "Drop the block into the right-hand bowl."]

    def final_state(self, sc):
        return "the green block lies inside the right bowl; the left bowl stays empty"

    def expert_plan(self, sc, variant):
        bowl = sc.body("right bowl").xyz
        return TaskPlan([PlanStep(arm=variant, skill="pick", obj="green block"),
                         PlanStep(arm=variant, skill="place", obj="green block",
                                  place_xyz=(bowl[0], bowl[1], sc.table_z + 0.008 + 0.025))])

    def subgoals(self, sc):
        bowl = self.tray("right bowl")
        return pick_subgoals(["green block"], "block") + [
            ("block in the right bowl, released", lambda st: st.inside("green block", bowl) and st.resting("green block"))]

    def measure_factor(self, sc, rec):
        return first_arm_touching(rec, "green block")
