"""Bimanual-PickColor-v0: a red and a blue block side by side; pick up the instructed colour.

Factor ``color`` (red / blue). The raw goal ("pick up a block") leaves the colour open;
the fine-grained instruction names it. Goal: a block lifted 5 cm in a gripper. Measured:
the colour of the block that was lifted. Expert: the arm on the target's side picks it
from above.
"""

from __future__ import annotations

from vlgsim.envs.bimanual.base import BLOCK_HALF, BimanualTask, arm_on_side, pick_subgoals, register_bimanual
from vlgsim.scenes.bimanual import PlanStep, TaskPlan, jitter
from vlgsim.sim_eval.steerability import moved_object

COLORS = ("red", "blue")


@register_bimanual("Bimanual-PickColor-v0")
class PickColor(BimanualTask):
    factor = "color"
    variants = COLORS
    max_steps = 80
    goal_words = "pick up a block"

    def build_scene(self, sc, rng):
        side = rng.permutation([0.07, -0.07])
        for color, y in zip(COLORS, side):
            sc_xy = jitter(rng, (0.0, y), 0.02 if sc.split == "easy" else 0.03)
            self._add(sc, rng, color, sc_xy)

    @staticmethod
    def _add(sc, rng, color, xy):
        from vlgsim.scenes.bimanual import add_body

        add_body(sc, rng, f"{color} block", "block", BLOCK_HALF, color, xy, float(rng.uniform(-0.4, 0.4)))

    def raw_instructions(self, sc):
        return ["Pick up a block.", "Lift one of the blocks.", "Grab a block and raise it off the table."]

    def final_state(self, sc):
        return f"the {sc.variant} block is held about 10 cm above the table; the other block has not moved"

    def expert_plan(self, sc, variant):
        b = sc.body(f"{variant} block")
        return TaskPlan([PlanStep(arm=arm_on_side(b.xyz[1]), skill="pick", obj=b.name)])

    def subgoals(self, sc):
        return pick_subgoals([f"{c} block" for c in COLORS], "block")

    def measure_factor(self, sc, rec):
        moved = moved_object(rec, [f"{c} block" for c in COLORS])
        return moved.split()[0] if moved else ""
