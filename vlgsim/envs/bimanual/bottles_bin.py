"""Bimanual-BottlesBin-v0 (RoboTwin ``put_bottles_dustbin``): a red bottle on the left,
a blue bottle on the right and a bin at the far middle; put both bottles into the bin,
the instructed arm's bottle first.

Factor ``order`` (left / right: the arm whose bottle goes in first; each arm takes the
bottle on its side). Goal: both bottles inside the bin's walls, resting. Measured: the
side of the bottle that was inside the bin first. Expert: both arms pick their bottles
from above; the first arm lowers its bottle into its half of the bin and withdraws, then
the other arm does the same.
"""

from __future__ import annotations

from vlgsim.envs.bimanual.base import BimanualTask, first_inside, register_bimanual
from vlgsim.scenes.bimanual import PlanStep, TaskPlan, add_body, jitter

BOTTLE_HALF = (0.02, 0.02, 0.05)
BIN_HALF = (0.09, 0.11, 0.035)
BOTTLE = {"left": "red bottle", "right": "blue bottle"}


@register_bimanual("Bimanual-BottlesBin-v0")
class BottlesBin(BimanualTask):
    factor = "order"
    variants = ("left", "right")
    max_steps = 200
    goal_words = "put both bottles into the bin"

    def build_scene(self, sc, rng):
        add_body(sc, rng, "grey bin", "bin", BIN_HALF, "grey", jitter(rng, (0.15, 0.0), 0.015))
        for arm, y, color in (("left", 0.17, "red"), ("right", -0.17, "blue")):
            add_body(sc, rng, BOTTLE[arm], "pillar", BOTTLE_HALF, color, jitter(rng, (-0.06, y), 0.025),
                     float(rng.uniform(-0.4, 0.4)), pose="standing")

    def raw_instructions(self, sc):
        return ["Put the bottles in the bin.", "Throw both bottles into the grey bin.", "Clear the bottles into the bin."]

    def final_state(self, sc):
        return (f"both bottles lie in the grey bin; the {BOTTLE[sc.variant]} went in first, "
                f"the other one after it")

    def expert_plan(self, sc, variant):
        first, second = variant, ("right" if variant == "left" else "left")
        b = sc.body("grey bin").xyz
        z = sc.table_z + 0.012 + BOTTLE_HALF[2] + 0.006
        dy = lambda arm: 0.045 if arm == "left" else -0.045  # noqa: E731  (each bottle in its own half)
        return TaskPlan([
            PlanStep(arm=first, skill="pick", obj=BOTTLE[first], lift_m=0.08),
            PlanStep(arm=second, skill="pick", obj=BOTTLE[second], lift_m=0.08),
            PlanStep(arm=first, skill="place", obj=BOTTLE[first], place_xyz=(b[0], b[1] + dy(first), z),
                     label="first in"),
            PlanStep(arm=second, skill="place", obj=BOTTLE[second], place_xyz=(b[0], b[1] + dy(second), z),
                     wait_for="first in"),
        ])

    def subgoals(self, sc):
        bin_ = self.tray("grey bin")
        names = list(BOTTLE.values())
        return [("grasp a bottle", lambda st: any(st.held_by(n) for n in names)),
                ("one bottle in the bin", lambda st: any(st.inside(n, bin_) for n in names)),
                ("both bottles in the bin, released", lambda st: all(st.inside(n, bin_) and st.resting(n) for n in names))]

    def measure_factor(self, sc, rec):
        first = first_inside(rec, list(BOTTLE.values()), self.tray("grey bin"))
        return {v: k for k, v in BOTTLE.items()}.get(first, "")
