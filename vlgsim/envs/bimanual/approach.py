"""Bimanual-Approach-v0: one tall box stands on the table; pick it up approaching from the
instructed direction.

Factor ``approach`` (above / side). Goal: the box lifted 5 cm in a gripper. Measured:
the direction of the gripper's path over its last 5 cm before it touched the box. Expert:
the arm on the box's side with the gripper pointing down; ``above``: it descends onto
the box; ``side``: it comes down beside the box and slides in horizontally at grasp height
(the open fingers straddle the box).
"""

from __future__ import annotations

from vlgsim.envs.bimanual.base import BimanualTask, arm_on_side, pick_subgoals, register_bimanual
from vlgsim.scenes.bimanual import PlanStep, TaskPlan, add_body, jitter
from vlgsim.sim_eval.steerability import approach_direction

BOX_HALF = (0.02, 0.02, 0.06)


@register_bimanual("Bimanual-Approach-v0")
class Approach(BimanualTask):
    factor = "approach"
    variants = ("above", "side")
    max_steps = 90
    goal_words = "pick up the tall box"

    def build_scene(self, sc, rng):
        y = float(rng.choice([0.1, -0.1]))
        add_body(sc, rng, "orange box", "pillar", BOX_HALF, "orange", jitter(rng, (0.0, y), 0.02),
                 float(rng.uniform(-0.3, 0.3)), pose="standing")

    def raw_instructions(self, sc):
        return ["Pick up the orange box.", "Lift the tall box.", "Grab the orange box and raise it."]

    def final_state(self, sc):
        return "the orange box is held about 8 cm above where it stood, still upright"

    def expert_plan(self, sc, variant):
        b = sc.body("orange box")
        return TaskPlan([PlanStep(arm=arm_on_side(b.xyz[1]), skill="pick", obj=b.name, approach=variant, lift_m=0.08)])

    def subgoals(self, sc):
        return pick_subgoals(["orange box"], "box")

    def measure_factor(self, sc, rec):
        return approach_direction(rec, "orange box")
