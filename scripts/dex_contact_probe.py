"""Which links carry a grasp: the contact force (N) per hand link after the validator's squeeze
and every 20 steps under gravity along +x, with the drift of the object's footprint origin, for
grasp I of runs/hold_diag_{object}_{part}.npz (written by scripts/dex_hold_diag.py). STIFF="k,d,f"
sets the finger drives (stiffness N m/rad, damping, force limit N m) on the validator's hand
first; ALL=1 then validates every grasp of the file with those drives.

    CFG='{"pinch_share": 1.0}' REOPT=1 python scripts/dex_hold_diag.py bottle neck 8
    python scripts/dex_contact_probe.py bottle neck 1
    STIFF=1000,5,100 ALL=1 python scripts/dex_contact_probe.py bottle neck 1
"""

import os
import sys

import numpy as np

from vlgsim.grasp import dex_validate as V
from vlgsim.grasp.dex_pipeline import ObjectSetup

cat, part, i = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = ObjectSetup(cat, 1.0, 0, "cpu")
z = np.load(f"runs/hold_diag_{cat}_{part}.npz")
sim = s.validator.sim
if os.environ.get("STIFF"):
    k, d, f = (float(v) for v in os.environ["STIFF"].split(","))
    for j in sim.hand_art.get_active_joints():
        if not j.name.startswith("wrist_"):
            j.set_drive_property(k, d, f)


def forces() -> dict[str, float]:
    out: dict[str, float] = {}
    for c in sim.scene.get_contacts():
        names = [b.entity.name for b in c.bodies]
        if "object" in names:
            link = names[1 - names.index("object")]
            impulse = sum(np.linalg.norm(p.impulse) for p in c.points)
            out[link] = out.get(link, 0.0) + round(float(impulse) / (V.HOLD_DT / V.PHYSX_SUBSTEPS), 2)
    return {k: v for k, v in out.items() if v > 0}


g = z["grasps"][i]
s.validator.settle(g)
print("after the squeeze, contact force per link (N):", forces())
P0 = sim.object_pose.copy()
for t in range(5):
    sim.step(20 * V.PHYSX_SUBSTEPS, object_force=np.array([1.0, 0.0, 0.0]) * 9.81 * s.validator.mass)
    drift = 100 * np.linalg.norm(sim.object_pose[:3, 3] - P0[:3, 3])
    print(f"+x gravity, step {20 * (t + 1)}: drift {drift:.1f} cm, contact force per link (N): {forces()}")
if os.environ.get("ALL"):
    for j, gj in enumerate(z["grasps"]):
        v = s.validator.validate(gj, part, float(z["pen"][j]), 0.0)
        print(j, "valid", v.valid, "held per direction", v.held.astype(int).tolist(), "aligned", v.part_aligned,
              "fingers", v.contact_fingers)
