"""Bimanual-SlideLid-v0 (a drawer-like box, after RoboTwin ``open_microwave`` /
``open_laptop``): a box at the far middle is closed by a lid that slides along two rails
towards either arm; open it by sliding the lid to the instructed side.

Factor ``direction`` (left / right: where the lid goes, as the head camera sees it).
Goal: the lid slid 4.5 cm or more along the rails, still lying on the box, released.
Measured: the sign of the lid's sideways travel (3 cm or more). Expert: the arm on the
instructed side grasps the knob from above, drags the lid 6.5 cm towards itself without
lifting it, lets go and goes home.
"""

from __future__ import annotations

from vlgsim.envs.bimanual.base import BimanualTask, register_bimanual, tilt_deg
from vlgsim.scenes.bimanual import CASE_RAIL_M, PlanStep, TaskPlan, add_body, jitter

CASE_HALF = (0.075, 0.08, 0.04)
"""8 cm tall including the 8 mm rails along its x edges."""
LID_HALF = (CASE_HALF[0] - CASE_RAIL_M[1] - 0.002, CASE_HALF[1], 0.0225)
"""A 1 cm plate with a 3.5 cm knob, resting on the box's walls between the rails (2 mm play per side)."""
SLIDE_M = 0.065
OPEN_M = 0.045
MOVED_M = 0.03


@register_bimanual("Bimanual-SlideLid-v0")
class SlideLid(BimanualTask):
    factor = "direction"
    variants = ("left", "right")
    max_steps = 110
    goal_words = "open the box by sliding its lid"

    def build_scene(self, sc, rng):
        case = add_body(sc, rng, "grey box", "case", CASE_HALF, "grey", jitter(rng, (0.08, 0.0), 0.015))
        lid = add_body(sc, rng, "yellow lid", "lid", LID_HALF, "yellow", case.xyz[:2])
        # on the box's walls, between the rails
        lid.xyz = (case.xyz[0], case.xyz[1], sc.table_z + 2 * CASE_HALF[2] - CASE_RAIL_M[0] + LID_HALF[2] + 0.0005)

    def raw_instructions(self, sc):
        return ["Open the box.", "Slide the lid off the opening of the grey box.", "Open the box by sliding its lid."]

    def final_state(self, sc):
        return f"the yellow lid lies on the grey box pushed {100 * SLIDE_M:.0f} cm to the {sc.variant}, the box half open"

    def expert_plan(self, sc, variant):
        lid = sc.body("yellow lid").xyz
        dy = SLIDE_M if variant == "left" else -SLIDE_M
        return TaskPlan([PlanStep(arm=variant, skill="pick", obj="yellow lid", lift_m=0.0),
                         PlanStep(arm=variant, skill="slide", obj="yellow lid", place_xyz=(lid[0], lid[1] + dy, lid[2]))])

    def subgoals(self, sc):
        def on_box(st):
            p, p0 = st.pose["yellow lid"], st.start["yellow lid"]
            return abs(p[2] - p0[2]) < 0.01 and abs(p[0] - p0[0]) < 0.02 and tilt_deg(p[3:]) < 10

        slid = lambda st, m: abs(st.pose["yellow lid"][1] - st.start["yellow lid"][1]) >= m  # noqa: E731
        return [("grasp the knob", lambda st: bool(st.held_by("yellow lid"))),
                ("lid slid 3 cm", lambda st: slid(st, MOVED_M) and on_box(st)),
                ("lid slid open, released", lambda st: slid(st, OPEN_M) and on_box(st) and st.resting("yellow lid"))]

    def measure_factor(self, sc, rec):
        y = rec.body_pose[:, rec.k("yellow lid"), 1]
        d = float(y[-1] - y[0])
        return "left" if d >= MOVED_M else "right" if d <= -MOVED_M else ""
