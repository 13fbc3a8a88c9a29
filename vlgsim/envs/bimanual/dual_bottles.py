"""Bimanual-PickDualBottles-v0 (RoboTwin ``pick_dual_bottles``): a red bottle on the left
and a blue bottle on the right; lift both at the same time, one in each gripper.

No instructed factor. Goal: both bottles 5 cm or more above where they stood at the same
step, the red one in the left gripper and the blue one in the right. Expert: both arms
grasp their bottle from above at once and lift it 10 cm.
"""

from __future__ import annotations

from vlgsim.envs.bimanual.base import BimanualTask, register_bimanual
from vlgsim.scenes.bimanual import PlanStep, TaskPlan, add_body, jitter

BOTTLE_HALF = (0.02, 0.02, 0.055)


@register_bimanual("Bimanual-PickDualBottles-v0")
class PickDualBottles(BimanualTask):
    max_steps = 90
    goal_words = "pick up both bottles"

    def build_scene(self, sc, rng):
        for y, color in ((0.14, "red"), (-0.14, "blue")):
            add_body(sc, rng, f"{color} bottle", "pillar", BOTTLE_HALF, color, jitter(rng, (0.02, y), 0.03),
                     float(rng.uniform(-0.4, 0.4)), pose="standing")

    def raw_instructions(self, sc):
        return ["Pick up both bottles.", "Lift the two bottles at the same time.", "Grab a bottle in each hand."]

    def final_state(self, sc):
        return "the red bottle is held 10 cm up in the left gripper and the blue bottle in the right gripper"

    def expert_plan(self, sc, variant):
        return TaskPlan([PlanStep(arm="left", skill="pick", obj="red bottle"),
                         PlanStep(arm="right", skill="pick", obj="blue bottle")])

    def subgoals(self, sc):
        held = lambda st, n, arm: st.held_by(n) == [arm]  # noqa: E731
        return [("one bottle in its gripper", lambda st: held(st, "red bottle", "left") or held(st, "blue bottle", "right")),
                ("both bottles in their grippers", lambda st: held(st, "red bottle", "left") and held(st, "blue bottle", "right")),
                ("both bottles lifted 5 cm", lambda st: held(st, "red bottle", "left") and held(st, "blue bottle", "right")
                 and st.rise("red bottle") >= 0.05 and st.rise("blue bottle") >= 0.05)]
