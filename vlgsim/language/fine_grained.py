"""Raw goal instructions and FineVLA-style fine-grained instructions for bimanual episodes.

A **raw** instruction says *what* to achieve, in one of several phrasings per task. A
**fine-grained** instruction says *how*, generated from the episode's privileged scene
and the expert's plan along FineVLA's ten dimensions (Table 9): action sequence, active
actor, target object, initial configuration, final configuration, contact and approach,
trajectory and orientation, object interaction, failure and recovery, body motion.

Training data mixes both with an FG:Raw ratio (the probability of the fine-grained one
per sample is FG / (FG + Raw); FineVLA found 1:1 best). Pure python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vlgsim.scenes.bimanual import CONTAINER_KINDS, BimanualScene, PlanStep, TaskPlan

DIMENSIONS = ("action_sequence", "active_actor", "target_object", "initial_configuration", "final_configuration",
              "contact_and_approach", "trajectory_and_orientation", "object_interaction", "failure_and_recovery",
              "body_motion")
INSTRUCTION_TYPES = ("raw", "fine", "mixed")


@dataclass
class FineInstruction:
    dimensions: dict[str, str]
    """One sentence (or more) per FineVLA dimension, keys in :data:`DIMENSIONS` order."""

    @property
    def text(self) -> str:
        return " ".join(self.dimensions[d] for d in DIMENSIONS)


def parse_fg_raw(ratio: str) -> float:
    """``"FG:RAW"`` (e.g. ``"1:1"``, ``"1:2"``) -> probability of a fine-grained instruction."""
    try:
        fg, raw = (float(x) for x in str(ratio).split(":"))
    except ValueError:
        raise ValueError(f"FG:Raw ratio {ratio!r}; rule: two non-negative numbers 'FG:RAW', e.g. '1:1'") from None
    if fg < 0 or raw < 0 or fg + raw <= 0:
        raise ValueError(f"FG:Raw ratio {ratio!r}; rule: non-negative, not both zero")
    return fg / (fg + raw)


def choose_instruction_type(instruction_type: str, fg_raw: str, rng: np.random.Generator) -> str:
    """``raw`` / ``fine`` as asked, or for ``mixed`` one drawn with the FG:Raw ratio."""
    if instruction_type not in INSTRUCTION_TYPES:
        raise ValueError(f"instruction_type {instruction_type!r}; rule: one of {INSTRUCTION_TYPES}")
    if instruction_type != "mixed":
        return instruction_type
    return "fine" if rng.random() < parse_fg_raw(fg_raw) else "raw"


# ---------------------------------------------------------------------------- describing things
def where(scene: BimanualScene, xy) -> str:
    """Place on the table as the head camera sees it (+y is left, +x is far)."""
    x, y = xy[0], xy[1]
    lr = "left" if y > 0.06 else "right" if y < -0.06 else "middle"
    fb = "far" if x > 0.06 else "near" if x < -0.06 else "centre"
    if lr == "middle" and fb == "centre":
        return "the centre of the table"
    if lr == "middle":
        return f"the {fb} middle of the table"
    if fb == "centre":
        return f"the {lr} side of the table"
    return f"the {fb} {lr} part of the table"


def describe(scene: BimanualScene, name: str) -> str:
    b = scene.body(name)
    size_cm = 2 * 100 * np.array(b.half_size)
    shape = {"block": f"{size_cm[0]:.0f} cm cube", "bar": f"{size_cm[0]:.0f} cm long bar",
             "pillar": f"{max(size_cm):.0f} cm tall box" if b.pose == "standing" else f"{max(size_cm):.0f} cm box",
             "tray": f"{size_cm[0]:.0f} by {size_cm[1]:.0f} cm tray",
             "bin": f"{size_cm[0]:.0f} by {size_cm[1]:.0f} cm bin, {size_cm[2] / 2:.0f} cm deep",
             "bowl": f"{size_cm[0]:.0f} by {size_cm[1]:.0f} cm square bowl",
             "pot": f"{size_cm[0]:.0f} cm wide pot with two handles",
             "ring": f"{size_cm[0]:.0f} cm square ring",
             "peg": f"{size_cm[2]:.0f} cm tall peg",
             "shelf": f"{size_cm[2]:.0f} cm high shelf",
             "case": f"{size_cm[0]:.0f} by {size_cm[1]:.0f} cm box",
             "bead": f"{size_cm[0]:.1f} cm ball",
             "lid": f"{size_cm[0]:.0f} by {size_cm[1]:.0f} cm lid with a knob"}[b.kind]
    return f"the {name} ({shape})"


def _verb(step: PlanStep, scene: BimanualScene) -> str:
    arm = f"the {step.arm} arm"
    if step.skill == "pick":
        how = "from directly above" if step.approach == "above" else "from the side, sliding in horizontally"
        return f"{arm} reaches {how} to the {step.obj}, closes its gripper on it and lifts it {100 * step.lift_m:.0f} cm"
    if step.skill == "place":
        return f"{arm} carries the {step.obj} over {_target_words(scene, step)}, lowers it and opens the gripper"
    if step.skill == "rotate":
        sense = "counter-clockwise" if step.rotate_deg > 0 else "clockwise"
        return (f"{arm} turns the {step.obj} {abs(step.rotate_deg):.0f} degrees {sense} (seen from above), sets it "
                f"down and opens the gripper")
    if step.skill == "give" and step.rotate_deg:
        sense = "counter-clockwise" if step.rotate_deg > 0 else "clockwise"
        return (f"{arm} raises the {step.obj} to the middle of the workspace, turns it {abs(step.rotate_deg):.0f} "
                f"degrees {sense} (seen from above) and holds it there")
    if step.skill == "give":
        return f"{arm} raises the {step.obj} to the middle of the workspace and holds it there"
    if step.skill == "lift":
        return f"{arm} raises the {step.obj} {100 * step.lift_m:.0f} cm straight up and holds it there"
    if step.skill == "slide":
        return (f"{arm} drags the {step.obj} sideways to {where(scene, step.place_xyz)} without lifting it, "
                "then opens the gripper")
    if step.skill == "tilt":
        return (f"{arm} tips the {step.obj} {abs(step.tilt_deg):.0f} degrees over, holds it there, "
                "then sets it upright again")
    if step.skill == "take":
        return f"{arm} grasps the free end of the {step.obj} from above"
    if step.skill == "release":
        return f"{arm} opens its gripper and lets go of the {step.obj}"
    return f"{arm} moves back to its rest pose"


def _target_words(scene: BimanualScene, step: PlanStep) -> str:
    if step.place_xyz is None:
        return "its goal"
    for b in scene.bodies:
        if b.kind in CONTAINER_KINDS and b.name != step.obj and np.hypot(b.xyz[0] - step.place_xyz[0], b.xyz[1] - step.place_xyz[1]) < 0.03:
            return f"the {b.name}"
        if b.role == "object" and b.name != step.obj and np.hypot(b.xyz[0] - step.place_xyz[0],
                                                                  b.xyz[1] - step.place_xyz[1]) < 0.03:
            return f"the {b.name}"
    return where(scene, step.place_xyz)


def fine_grained_instruction(scene: BimanualScene, plan: TaskPlan, goal: str, final_state: str) -> FineInstruction:
    """The ten-dimension instruction of an episode from its scene and the expert's plan.

    ``goal``: the raw goal in a few words; ``final_state``: the final configuration the
    task's success predicate checks, in words."""
    steps = [s for s in plan.steps if s.skill != "retreat"]
    arms = plan.arms_used()
    targets = list(dict.fromkeys(s.obj for s in steps if s.obj))
    others = [b.name for b in scene.task_bodies if b.name not in targets and not b.static]
    trays = [b.name for b in scene.task_bodies if b.static]
    seq = "; then ".join(_verb(s, scene) for s in steps)
    d = {}
    d["action_sequence"] = f"Goal: {goal}. Steps: first {seq}."
    idle = [a for a in ("left", "right") if a not in arms]
    d["active_actor"] = ("Active actor: " + (" and ".join(f"the {a} arm" for a in arms) + (" work" if len(arms) > 1 else " works"))
                         + (f"; the {idle[0]} arm stays at rest." if idle else " in turn, one after the other."))
    d["target_object"] = ("Target object: " + ", ".join(describe(scene, t) for t in targets)
                          + (f"; do not move the {', the '.join(others)}." if others else "."))
    d["initial_configuration"] = ("Initial configuration: " + "; ".join(
        f"the {b.name} {'stands upright' if b.pose == 'standing' else 'lies flat' if b.pose == 'lying' else 'sits'}"
        f" on {where(scene, b.xyz)}" for b in scene.task_bodies) + "; both grippers are open at their rest poses.")
    d["final_configuration"] = f"Final configuration: {final_state}."
    approach = []
    for s in steps:
        if s.skill in ("pick", "take"):
            if s.approach == "side":
                approach.append(f"the {s.arm} gripper comes down beside the {s.obj}, then slides in horizontally from "
                                "its own side with the open fingers straddling it, and closes on two vertical faces 3 cm "
                                "below its top")
            else:
                approach.append(f"the {s.arm} gripper approaches the {s.obj} vertically from above and closes on two "
                                f"opposite side faces{' near one end' if s.grasp_offset_m else ''}")
    d["contact_and_approach"] = "Contact and approach: " + ("; ".join(approach) or "no contact is needed") + "."
    rot = [s for s in steps if s.skill == "rotate"]
    orient = "the gripper points straight down, its fingers aligned with the object's sides"
    traj = "moves in straight segments: up, across at about 18 cm above the table, then straight down"
    if rot:
        r = rot[0]
        traj += (f"; the wrist turns {'counter-clockwise' if r.rotate_deg > 0 else 'clockwise'} about the vertical "
                 f"axis by {abs(r.rotate_deg):.0f} degrees while the object is held just above the table")
    d["trajectory_and_orientation"] = f"Trajectory and orientation: {orient}; the hand {traj}."
    inter = []
    for s in steps:
        if s.skill == "place":
            inter.append(f"the {s.obj} is set down on {_target_words(scene, s)}")
        if s.skill == "take":
            inter.append(f"the {s.obj} is passed between the grippers, held by both for a moment")
        if s.skill == "rotate":
            inter.append(f"the {s.obj} pivots in the gripper's grasp without sliding on the table")
    if trays and not inter:
        inter.append(f"the {trays[0]} is not touched")
    d["object_interaction"] = "Object interaction: " + ("; ".join(inter) or "grasp and lift only, nothing else is touched") + "."
    d["failure_and_recovery"] = ("Failure and recovery: if the object slips out of the gripper, open it, move back "
                                 "above the object and grasp it again; never push other objects aside.")
    d["body_motion"] = ("Body motion: only the arms move; both bases stay fixed, the "
                        + (f"{arms[0]} arm does the work" if len(arms) == 1 else "two arms take turns so they never collide")
                        + ".")
    return FineInstruction(d)


def pick_raw(phrasings: list[str], rng: np.random.Generator) -> str:
    return phrasings[int(rng.integers(len(phrasings)))]
