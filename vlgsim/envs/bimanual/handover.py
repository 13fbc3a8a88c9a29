"""Bimanual-Handover-v0: a long bar lies on one arm's side; that arm lifts it to the middle
and hands it over to the other arm, which ends up holding it alone.

Factor ``giver`` (left / right: the arm that hands over). Goal: the bar held by one arm
only, 5 cm or more above the table, after the other arm touched it first. Measured: the
arm that touched the bar first. Expert: the giver grasps its own end from above and
raises the bar to 20 cm; the taker grasps the other end from above; the giver lets go.
"""

from __future__ import annotations

import numpy as np

from vlgsim.envs.bimanual.base import BimanualTask, register_bimanual
from vlgsim.scenes.bimanual import PlanStep, TaskPlan, add_body, jitter
from vlgsim.sim_eval.steerability import first_arm_touching

BAR_HALF = (0.11, 0.016, 0.016)
END_M = 0.065
"""Grasp points: this far from the bar's centre along it, one per arm."""


@register_bimanual("Bimanual-Handover-v0")
class Handover(BimanualTask):
    factor = "giver"
    variants = ("left", "right")
    max_steps = 150
    goal_words = "hand the bar over to the other arm"

    def build_scene(self, sc, rng):
        y = 0.12 if sc.variant != "right" else -0.12
        # along y, so each arm has its own end; yaw pi/2 puts the bar's +x end on the left
        add_body(sc, rng, "yellow bar", "bar", BAR_HALF, "yellow", jitter(rng, (0.0, y), 0.02),
                 float(np.pi / 2 + rng.uniform(-0.2, 0.2)))

    def raw_instructions(self, sc):
        return ["Hand the bar over to the other arm.", "Pass the yellow bar from one hand to the other.",
                "Transfer the bar between the arms."]

    def final_state(self, sc):
        taker = "right" if sc.variant == "left" else "left"
        return f"the yellow bar is held about 20 cm above the centre of the table by the {taker} gripper alone"

    def expert_plan(self, sc, variant):
        giver, taker = variant, ("right" if variant == "left" else "left")
        end = lambda arm: END_M if arm == "left" else -END_M  # noqa: E731  (the bar's +x end points left)
        give_xyz = (0.0, 0.0, sc.table_z + 0.20)
        return TaskPlan([
            PlanStep(arm=giver, skill="pick", obj="yellow bar", grasp_offset_m=end(giver), lift_m=0.06),
            PlanStep(arm=giver, skill="give", obj="yellow bar", place_xyz=give_xyz, label="give"),
            PlanStep(arm=taker, skill="take", obj="yellow bar", grasp_offset_m=end(taker), wait_for="give",
                     label="take"),
            PlanStep(arm=giver, skill="release", obj="yellow bar", wait_for="take"),
        ])

    def subgoals(self, sc):
        state = {"first": ""}

        def first(st):
            if not state["first"] and st.touched_by("yellow bar"):
                state["first"] = st.touched_by("yellow bar")[0]
            return bool(state["first"])

        def handed(st):
            held = st.held_by("yellow bar")
            return (len(held) == 1 and held[0] != state["first"] and not st.touch.get((state["first"], "yellow bar"))
                    and st.rise("yellow bar") >= 0.05)

        return [("one arm grasps the bar", lambda st: first(st) and bool(st.held_by("yellow bar"))),
                ("lift the bar 5 cm", lambda st: st.lifted("yellow bar")),
                ("both arms hold the bar", lambda st: len(st.held_by("yellow bar")) == 2),
                ("the other arm holds it alone", handed)]

    def measure_factor(self, sc, rec):
        return first_arm_touching(rec, "yellow bar")
