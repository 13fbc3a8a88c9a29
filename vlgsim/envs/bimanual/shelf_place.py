"""Bimanual-ShelfPlace-v0 (after RoboTwin ``put_object_cabinet`` / ``place_object_stand``):
a block in the near middle, a low (8 cm) and a high (14 cm) shelf at the far corners;
put the block on the instructed shelf.

Factor ``height`` (low / high). Goal: the block resting on either shelf's board. Measured:
the shelf it rests on at the end. Expert: the arm on the instructed shelf's side picks the
block and sets it on that shelf.
"""

from __future__ import annotations

from vlgsim.envs.bimanual.base import BLOCK_HALF, BimanualTask, arm_on_side, pick_subgoals, register_bimanual
from vlgsim.scenes.bimanual import PlanStep, TaskPlan, add_body, jitter

SHELF_HALF = {"low": (0.06, 0.07, 0.04), "high": (0.06, 0.07, 0.07)}


@register_bimanual("Bimanual-ShelfPlace-v0")
class ShelfPlace(BimanualTask):
    factor = "height"
    variants = ("low", "high")
    max_steps = 150
    goal_words = "put the block on the shelf"

    def build_scene(self, sc, rng):
        y_low = float(rng.choice([0.14, -0.14]))
        for h, y, color in (("low", y_low, "white"), ("high", -y_low, "brown")):
            add_body(sc, rng, f"{h} shelf", "shelf", SHELF_HALF[h], color, jitter(rng, (0.16, y), 0.015))
        add_body(sc, rng, "green block", "block", BLOCK_HALF, "green", jitter(rng, (-0.07, 0.0), 0.025),
                 float(rng.uniform(-0.4, 0.4)))

    def raw_instructions(self, sc):
        return ["Put the block on the shelf.", "Place the green block on a shelf.", "Store the block on the shelf."]

    def final_state(self, sc):
        return f"the green block stands on the {sc.variant} shelf's board"

    def expert_plan(self, sc, variant):
        s = sc.body(f"{variant} shelf")
        z = sc.table_z + 2 * SHELF_HALF[variant][2] + BLOCK_HALF[2] + 0.004
        arm = arm_on_side(s.xyz[1])
        return TaskPlan([PlanStep(arm=arm, skill="pick", obj="green block"),
                         PlanStep(arm=arm, skill="place", obj="green block", place_xyz=(s.xyz[0], s.xyz[1], z))])

    def _on(self, p, h: str) -> bool:
        s = self.scene_spec.body(f"{h} shelf")
        top = self.scene_spec.table_z + 2 * SHELF_HALF[h][2]
        return (abs(p[0] - s.xyz[0]) < SHELF_HALF[h][0] and abs(p[1] - s.xyz[1]) < SHELF_HALF[h][1]
                and abs(p[2] - top - BLOCK_HALF[2]) < 0.012)

    def subgoals(self, sc):
        on_any = lambda st: any(self._on(st.pose["green block"][:3], h) for h in SHELF_HALF)  # noqa: E731
        return pick_subgoals(["green block"], "block") + [
            ("block on a shelf, released", lambda st: on_any(st) and st.resting("green block"))]

    def measure_factor(self, sc, rec):
        p = rec.body_pose[-1, rec.k("green block"), :3]
        return next((h for h in SHELF_HALF if self._on(p, h)), "")
