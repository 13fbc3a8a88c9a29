"""Bimanual-Rotate-v0: a bar lies on the table; turn it by about 90 degrees in the
instructed sense (seen from above) and set it down.

Factor ``rotation`` (clockwise / counter-clockwise). Goal: the bar's yaw changed by at
least 60 degrees, the bar back on the table within 6 cm of where it was and released.
Measured: the sign of the bar's unwrapped yaw change. Expert: the arm on the bar's side
grasps it from above, lifts 4 cm, turns its wrist, lowers and releases.
"""

from __future__ import annotations

import numpy as np

from vlgsim.envs.bimanual.base import BimanualTask, arm_on_side, register_bimanual
from vlgsim.scenes.bimanual import PlanStep, TaskPlan, add_body, jitter
from vlgsim.sim_eval.steerability import rotation_sense, yaw_of

BAR_HALF = (0.07, 0.017, 0.017)


@register_bimanual("Bimanual-Rotate-v0")
class Rotate(BimanualTask):
    factor = "rotation"
    variants = ("clockwise", "counter-clockwise")
    max_steps = 150
    goal_words = "turn the bar by a quarter turn"

    def build_scene(self, sc, rng):
        y = float(rng.choice([0.1, -0.1]))
        add_body(sc, rng, "purple bar", "bar", BAR_HALF, "purple", jitter(rng, (0.0, y), 0.025),
                 float(rng.uniform(-0.5, 0.5)))

    def raw_instructions(self, sc):
        return ["Turn the bar by a quarter turn.", "Rotate the purple bar 90 degrees.", "Spin the bar around a quarter turn."]

    def final_state(self, sc):
        return f"the purple bar lies where it was, turned 90 degrees {sc.variant} (seen from above)"

    def expert_plan(self, sc, variant):
        b = sc.body("purple bar")
        deg = 90.0 if variant == "counter-clockwise" else -90.0
        return TaskPlan([PlanStep(arm=arm_on_side(b.xyz[1]), skill="pick", obj=b.name, lift_m=0.04, rotate_deg=deg),
                         PlanStep(arm=arm_on_side(b.xyz[1]), skill="rotate", obj=b.name, rotate_deg=deg, lift_m=0.04)])

    def subgoals(self, sc):
        def turned(st, deg):
            d = yaw_of(st.pose["purple bar"][3:]) - yaw_of(st.start["purple bar"][3:])
            return abs((d + np.pi) % (2 * np.pi) - np.pi) >= np.deg2rad(deg)

        def down(st):
            p, p0 = st.pose["purple bar"][:3], st.start["purple bar"][:3]
            return np.hypot(*(p[:2] - p0[:2])) < 0.06 and abs(p[2] - p0[2]) < 0.01 and st.resting("purple bar")

        return [("grasp the bar", lambda st: bool(st.held_by("purple bar"))),
                ("lift the bar", lambda st: st.lifted("purple bar", 0.02)),
                ("turn the bar 45 degrees", lambda st: turned(st, 45)),
                ("set it down turned 60+ degrees", lambda st: turned(st, 60) and down(st))]

    def measure_factor(self, sc, rec):
        return rotation_sense(rec, "purple bar")
