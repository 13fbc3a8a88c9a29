"""Bimanual-ArmChoice-v0: one block in the middle of the table, within reach of both arms;
pick it up with the instructed arm.

Factor ``arm`` (left / right). Goal: the block lifted 5 cm in a gripper. Measured: the
arm whose fingers touched the block first.
"""

from __future__ import annotations

from vlgsim.envs.bimanual.base import BLOCK_HALF, BimanualTask, pick_subgoals, register_bimanual
from vlgsim.scenes.bimanual import PlanStep, TaskPlan, add_body, jitter
from vlgsim.sim_eval.steerability import first_arm_touching


@register_bimanual("Bimanual-ArmChoice-v0")
class ArmChoice(BimanualTask):
    factor = "arm"
    variants = ("left", "right")
    max_steps = 80
    goal_words = "pick up the block"

    def build_scene(self, sc, rng):
        add_body(sc, rng, "green block", "block", BLOCK_HALF, "green", jitter(rng, (0.0, 0.0), 0.03),
                 float(rng.uniform(-0.4, 0.4)))

    def raw_instructions(self, sc):
        return ["Pick up the block.", "Lift the green block.", "Raise the block off the table."]

    def final_state(self, sc):
        return f"the green block is held about 10 cm above the table by the {sc.variant} gripper"

    def expert_plan(self, sc, variant):
        return TaskPlan([PlanStep(arm=variant, skill="pick", obj="green block")])

    def subgoals(self, sc):
        return pick_subgoals(["green block"], "block")

    def measure_factor(self, sc, rec):
        return first_arm_touching(rec, "green block")
