"""Bimanual-HangRing-v0 (after RoboTwin ``hanging_mug``, with a ring and an upright peg in
place of a mug and a rack): a square ring lies on one side of the table, a peg stands at
the far middle; hang the ring on the peg.

No instructed factor. Goal: the ring around the peg (its centre within 3 cm of the peg's
axis, below the peg's top) and released. Expert: the arm on the ring's side grasps the
ring's far bar from above, carries it over the peg, lowers it to just above the peg's top
(the inner finger would hit the post lower down) and lets it drop around the peg.
"""

from __future__ import annotations

import numpy as np

from vlgsim.envs.bimanual.base import BimanualTask, arm_on_side, register_bimanual
from vlgsim.scenes.bimanual import PlanStep, TaskPlan, add_body, jitter

RING_HALF = (0.045, 0.055, 0.015)
RING_BAR_M = 0.012
PEG_HALF = (0.025, 0.025, 0.07)
"""14 cm tall; a 2.4 cm post on a 5 cm foot."""


@register_bimanual("Bimanual-HangRing-v0")
class HangRing(BimanualTask):
    max_steps = 130
    goal_words = "hang the ring on the peg"

    def build_scene(self, sc, rng):
        add_body(sc, rng, "white peg", "peg", PEG_HALF, "white", jitter(rng, (0.14, 0.0), 0.02))
        y = float(rng.choice([0.15, -0.15]))
        add_body(sc, rng, "orange ring", "ring", RING_HALF, "orange", jitter(rng, (-0.06, y), 0.02),
                 float(rng.uniform(-0.3, 0.3)))

    def raw_instructions(self, sc):
        return ["Hang the ring on the peg.", "Put the orange ring over the white peg.", "Slip the ring onto the peg."]

    def final_state(self, sc):
        return "the orange ring hangs around the white peg, resting near its foot"

    def expert_plan(self, sc, variant):
        ring, peg = sc.body("orange ring"), sc.body("white peg")
        arm = arm_on_side(ring.xyz[1])
        return TaskPlan([
            PlanStep(arm=arm, skill="pick", obj=ring.name, grasp_offset_m=RING_HALF[0] - RING_BAR_M / 2, lift_m=0.08),
            PlanStep(arm=arm, skill="place", obj=ring.name,
                     place_xyz=(peg.xyz[0], peg.xyz[1], sc.table_z + 2 * PEG_HALF[2] + RING_HALF[2] + 0.012)),
        ])

    def subgoals(self, sc):
        peg = sc.body("white peg")
        top = sc.table_z + 2 * PEG_HALF[2]

        def around(st):
            p = st.pose["orange ring"][:3]
            return np.hypot(p[0] - peg.xyz[0], p[1] - peg.xyz[1]) < 0.03 and p[2] < top - 0.02

        return [("grasp the ring", lambda st: bool(st.held_by("orange ring"))),
                ("lift the ring", lambda st: st.lifted("orange ring")),
                ("ring around the peg", around),
                ("ring hanging on the peg, released", lambda st: around(st) and st.resting("orange ring"))]
