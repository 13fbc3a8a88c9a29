"""Bimanual-PickPose-v0: two identical green pillars, one standing, one lying; pick up the
one in the instructed pose.

Factor ``pose`` (standing / lying). Goal: a pillar lifted 5 cm in a gripper. Measured:
the starting pose of the pillar that was lifted. Expert: the arm on the target's side
picks it from above (a standing pillar near its top, a lying one across its middle).
"""

from __future__ import annotations

from vlgsim.envs.bimanual.base import BimanualTask, arm_on_side, pick_subgoals, register_bimanual
from vlgsim.scenes.bimanual import PlanStep, TaskPlan, add_body, jitter
from vlgsim.sim_eval.steerability import moved_object

POSES = ("standing", "lying")
STANDING_HALF = (0.018, 0.018, 0.05)
LYING_HALF = (0.05, 0.018, 0.018)


@register_bimanual("Bimanual-PickPose-v0")
class PickPose(BimanualTask):
    factor = "pose"
    variants = POSES
    max_steps = 80
    goal_words = "pick up a pillar"

    def build_scene(self, sc, rng):
        ys = rng.permutation([0.08, -0.08])
        add_body(sc, rng, "standing pillar", "pillar", STANDING_HALF, "green", jitter(rng, (0.0, ys[0]), 0.02),
                 float(rng.uniform(-0.5, 0.5)), pose="standing")
        add_body(sc, rng, "lying pillar", "pillar", LYING_HALF, "green", jitter(rng, (0.0, ys[1]), 0.02),
                 float(rng.uniform(-0.4, 0.4)), pose="lying")

    def raw_instructions(self, sc):
        return ["Pick up a green pillar.", "Lift one of the pillars.", "Grab a pillar and raise it."]

    def final_state(self, sc):
        return f"the {sc.variant} pillar is held about 10 cm above the table; the other pillar has not moved"

    def expert_plan(self, sc, variant):
        b = sc.body(f"{variant} pillar")
        return TaskPlan([PlanStep(arm=arm_on_side(b.xyz[1]), skill="pick", obj=b.name)])

    def subgoals(self, sc):
        return pick_subgoals([f"{p} pillar" for p in POSES], "pillar")

    def measure_factor(self, sc, rec):
        moved = moved_object(rec, [f"{p} pillar" for p in POSES])
        return sc.body(moved).pose if moved else ""
