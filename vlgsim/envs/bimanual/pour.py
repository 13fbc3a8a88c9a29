"""Bimanual-Pour-v0 (after RoboTwin ``shake_bottle`` / pouring tasks): a cup with a ball in it
stands on one side of the table, a bowl at the far middle; pour the ball into the bowl and
put the cup back.

No instructed factor. Goal: the ball resting inside the bowl and the cup standing upright
on the table outside the bowl, released. Expert: the arm on the cup's side grasps the cup
by its far wall, lifts it, holds it above the bowl, tips it 120 degrees over (its mouth
towards that arm; in three equal turns), holds it there while the ball falls out, sets it
upright (three turns back) and puts it back where it stood.
"""

from __future__ import annotations

import numpy as np

from vlgsim.envs.bimanual.base import BimanualTask, arm_on_side, register_bimanual, tilt_deg
from vlgsim.scenes.bimanual import WALL_M, PlanStep, TaskPlan, add_body, jitter

CUP_HALF = (0.055, 0.06, 0.045)
BALL_HALF = (0.008, 0.008, 0.008)
BALL_X_M = -0.028
"""The ball sits towards the cup's near wall, clear of the fingers that grasp the far wall."""
TILT_DEG = 120.0
BOWL_HALF = (0.07, 0.07, 0.03)
POUR_Z_M = 0.17
"""Height of the cup's centre above the table while pouring."""


@register_bimanual("Bimanual-Pour-v0")
class Pour(BimanualTask):
    max_steps = 300
    """15 s at 20 Hz: a Panda's motion-planned pour (the tilt in three turns there and back) needs up to ~240 steps."""
    goal_words = "pour the ball from the cup into the bowl"

    def build_scene(self, sc, rng):
        add_body(sc, rng, "white bowl", "tray", BOWL_HALF, "white", jitter(rng, (0.13, 0.0), 0.015))
        y = float(rng.choice([0.15, -0.15]))
        cup = add_body(sc, rng, "blue cup", "bowl", CUP_HALF, "blue", jitter(rng, (-0.04, y), 0.02),
                       float(rng.uniform(-0.25, 0.25)))
        c, s = np.cos(cup.yaw_rad), np.sin(cup.yaw_rad)
        xy = (cup.xyz[0] + c * BALL_X_M, cup.xyz[1] + s * BALL_X_M)
        ball = add_body(sc, rng, "yellow ball", "bead", BALL_HALF, "yellow", xy, cup.yaw_rad)
        ball.xyz = (*xy, sc.table_z + WALL_M + BALL_HALF[2] + 0.001)  # on the cup's floor

    def raw_instructions(self, sc):
        return ["Pour the ball into the bowl.", "Empty the blue cup into the white bowl.",
                "Tip the cup over the bowl so the ball falls in, then put the cup back."]

    def final_state(self, sc):
        return "the yellow ball lies in the white bowl and the empty blue cup stands upright where it was"

    def expert_plan(self, sc, variant):
        cup, bowl = sc.body("blue cup"), sc.body("white bowl")
        arm = arm_on_side(cup.xyz[1])
        return TaskPlan([
            PlanStep(arm=arm, skill="pick", obj=cup.name, grasp_offset_m=CUP_HALF[0] - WALL_M / 2, lift_m=0.08),
            PlanStep(arm=arm, skill="give", obj=cup.name, place_xyz=(bowl.xyz[0], bowl.xyz[1], sc.table_z + POUR_Z_M)),
            PlanStep(arm=arm, skill="tilt", obj=cup.name, tilt_deg=TILT_DEG if arm == "left" else -TILT_DEG),
            PlanStep(arm=arm, skill="place", obj=cup.name,
                     place_xyz=(cup.xyz[0], cup.xyz[1], sc.table_z + CUP_HALF[2] + 0.004)),
        ])

    def subgoals(self, sc):
        bowl = self.tray("white bowl")
        in_bowl = lambda st: st.inside("yellow ball", bowl) and st.resting("yellow ball")  # noqa: E731

        def cup_back(st):
            c = st.pose["blue cup"]
            return (abs(c[2] - st.table_z - CUP_HALF[2]) < 0.01 and tilt_deg(c[3:]) < 10 and not bowl.contains_xy(c)
                    and st.resting("blue cup"))

        return [("grasp the cup", lambda st: bool(st.held_by("blue cup"))),
                ("lift the cup with the ball", lambda st: st.lifted("blue cup") and st.rise("yellow ball") >= 0.05),
                ("ball in the bowl", in_bowl),
                ("cup back upright, released", lambda st: in_bowl(st) and cup_back(st))]
