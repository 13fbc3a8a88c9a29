"""Bimanual-HandoverRotate-v0 (RoboTwin ``handover_block`` / ``handover_mic`` with a turn):
a long bar lies on one side of the table, front to back (along world x); the arm on that
side lifts it to the middle, turns it a quarter turn in the instructed sense (seen from
above), so that it points across the table at the other arm, and hands it over; the other
arm ends up holding it alone.

Factor ``rotation`` (clockwise / counter-clockwise). Goal: the bar held by the other arm
alone, 5 cm or more above the table, its yaw changed by 60 degrees or more. Measured: the
sign of the bar's unwrapped yaw change. Expert: the giver grasps from above the end of the
bar that the turn swings towards the other arm (its wrist pre-turned half the other way),
raises it to 20 cm, turns its wrist by 90 degrees so that the bar ends up across the table,
centred on it; the taker grasps the free end from above; the giver lets go.

Layout: the bar starts front to back so that, turned, it lies across the table like the
plain hand-over's bar, both grasp points 0.37 m from their arm's base. (Starting across
the table, the turned bar would lie front to back with both grasp points at the same y,
0.47 m or more from one base: beyond where a ViperX can point its gripper down.)
"""

from __future__ import annotations

import numpy as np

from vlgsim.envs.bimanual.base import BimanualTask, arm_on_side, register_bimanual
from vlgsim.scenes.bimanual import PlanStep, TaskPlan, add_body, jitter
from vlgsim.sim_eval.steerability import rotation_sense, yaw_of

BAR_HALF = (0.14, 0.016, 0.016)
END_M = 0.10
"""Grasp points 20 cm apart: the two hands (7 cm thick along the bar once it is turned) keep clear."""


@register_bimanual("Bimanual-HandoverRotate-v0")
class HandoverRotate(BimanualTask):
    factor = "rotation"
    variants = ("clockwise", "counter-clockwise")
    max_steps = 260
    """13 s at 20 Hz: pick, carry, turn, take and let go; a Panda's motion-planned expert needs up to ~200 steps."""
    goal_words = "turn the bar a quarter turn while handing it over to the other arm"

    def build_scene(self, sc, rng):
        y = float(rng.choice([0.12, -0.12]))
        # front to back (yaw ~ 0): the bar's +x end points away from the head camera
        add_body(sc, rng, "blue bar", "bar", BAR_HALF, "blue", jitter(rng, (0.0, y), 0.02),
                 float(rng.uniform(-0.2, 0.2)))

    def raw_instructions(self, sc):
        return ["Turn the bar and hand it to the other arm.", "Rotate the blue bar a quarter turn while passing it over.",
                "Pass the bar to the other hand, turning it 90 degrees."]

    def final_state(self, sc):
        taker = "right" if arm_on_side(sc.body("blue bar").xyz[1]) == "left" else "left"
        return (f"the blue bar, turned 90 degrees {sc.variant} (seen from above), is held about 20 cm above the "
                f"table by the {taker} gripper alone")

    def expert_plan(self, sc, variant):
        giver = arm_on_side(sc.body("blue bar").xyz[1])
        taker = "right" if giver == "left" else "left"
        deg = 90.0 if variant == "counter-clockwise" else -90.0
        g, sense = (1.0 if giver == "left" else -1.0), (1.0 if deg > 0 else -1.0)
        # the giver's end (bar x, ~world x): turning by deg about the TCP swings the centre, END_M
        # behind the TCP along x, to END_M from it towards the taker (-g along world y)
        end = sense * g * END_M
        # before the turn the centre is END_M behind the TCP along x; aim so that the turned bar is
        # centred on the table: the giver's TCP at y = g * END_M, the taker's grasp at -g * END_M
        give_xyz = (-end, g * END_M, sc.table_z + 0.20)
        return TaskPlan([
            PlanStep(arm=giver, skill="pick", obj="blue bar", grasp_offset_m=end, lift_m=0.06, rotate_deg=deg),
            PlanStep(arm=giver, skill="give", obj="blue bar", place_xyz=give_xyz, rotate_deg=deg, label="give"),
            PlanStep(arm=taker, skill="take", obj="blue bar", grasp_offset_m=-end, wait_for="give", label="take"),
            PlanStep(arm=giver, skill="release", obj="blue bar", wait_for="take"),
        ])

    def subgoals(self, sc):
        giver = arm_on_side(sc.body("blue bar").xyz[1])
        taker = "right" if giver == "left" else "left"

        def turned(st, deg):
            d = yaw_of(st.pose["blue bar"][3:]) - yaw_of(st.start["blue bar"][3:])
            return abs((d + np.pi) % (2 * np.pi) - np.pi) >= np.deg2rad(deg)

        return [("the arm on the bar's side grasps it", lambda st: st.held_by("blue bar") == [giver]),
                ("lift the bar 5 cm", lambda st: st.lifted("blue bar")),
                ("bar turned 60 degrees in the air", lambda st: turned(st, 60) and st.rise("blue bar") >= 0.05),
                ("both arms hold the bar", lambda st: len(st.held_by("blue bar")) == 2),
                ("the other arm holds it alone, turned", lambda st: st.held_by("blue bar") == [taker]
                 and not st.touch.get((giver, "blue bar")) and st.rise("blue bar") >= 0.05 and turned(st, 60))]

    def measure_factor(self, sc, rec):
        return rotation_sense(rec, "blue bar")
