"""Bimanual-CleanTable-v0: a red block on the left, a blue block on the right and a tray
at the far middle; put both blocks into the tray.

No instructed factor. Goal: both blocks inside the tray's walls, resting (no gripper on
them). Expert: each arm takes the block on its side; the left arm drops its block first,
the right arm waits above until the left arm has withdrawn.
"""

from __future__ import annotations

from vlgsim.envs.bimanual.base import BLOCK_HALF, BimanualTask, register_bimanual
from vlgsim.scenes.bimanual import PlanStep, TaskPlan, add_body, jitter

TRAY_HALF = (0.08, 0.09, 0.03)


@register_bimanual("Bimanual-CleanTable-v0")
class CleanTable(BimanualTask):
    max_steps = 150
    goal_words = "put both blocks into the tray"

    def build_scene(self, sc, rng):
        add_body(sc, rng, "grey tray", "tray", TRAY_HALF, "grey", jitter(rng, (0.14, 0.0), 0.015))
        add_body(sc, rng, "red block", "block", BLOCK_HALF, "red", jitter(rng, (-0.06, 0.16), 0.03),
                 float(rng.uniform(-0.4, 0.4)))
        add_body(sc, rng, "blue block", "block", BLOCK_HALF, "blue", jitter(rng, (-0.06, -0.16), 0.03),
                 float(rng.uniform(-0.4, 0.4)))

    def raw_instructions(self, sc):
        return ["Clean the table.", "Put the blocks into the tray.", "Tidy up: both blocks go in the tray."]

    def final_state(self, sc):
        return "both blocks lie inside the grey tray and the table around it is clear"

    def expert_plan(self, sc, variant):
        t = sc.body("grey tray").xyz
        z = sc.table_z + 0.008 + 0.022
        return TaskPlan([
            PlanStep(arm="left", skill="pick", obj="red block"),
            PlanStep(arm="left", skill="place", obj="red block", place_xyz=(t[0], t[1] + 0.04, z), label="left done"),
            PlanStep(arm="right", skill="pick", obj="blue block"),
            PlanStep(arm="right", skill="place", obj="blue block", place_xyz=(t[0], t[1] - 0.04, z),
                     wait_for="left done"),
        ])

    def subgoals(self, sc):
        tray = self.tray("grey tray")
        return [("grasp a block", lambda st: bool(st.held_by("red block") or st.held_by("blue block"))),
                ("one block in the tray", lambda st: st.inside("red block", tray) or st.inside("blue block", tray)),
                ("both blocks in the tray, released", lambda st: all(st.inside(b, tray) and st.resting(b)
                                                                     for b in ("red block", "blue block")))]
