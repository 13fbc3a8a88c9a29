"""Hold rules side by side on the same grasps: optimise N grasps of one part (the pipeline's first
batch, seed [0, k]; kept in runs/hold_diag_{object}_{part}.npz as scripts/dex_hold_diag.py does,
REOPT=1 optimises again), then for each finger drive in DRIVES ("k,d,f;k,d,f": stiffness N m/rad,
damping N m s/rad, force limit N m; default the current dex_hand constants) settle, squeeze and
hold under gravity along every axis (all six run, no early stop), and count the grasps that pass
  drift   : the object's footprint origin moves < 2 cm in every direction (vlgsim's rule before
            session 9),
  contact : the hand still touches the object after the 100 steps in every direction
            (DexGraspNet's rule: ``isaac_validator.py`` ``run_sim`` + ``validate_grasps.py``,
            ``sum(result[6 i: 6 i + 6]) == 6``),
each on top of no penetration, part alignment and >= 2 touching fingers.

    python scripts/dex_hold_rules.py bottle neck 8
    DRIVES='200,5,20;1000,0,100' python scripts/dex_hold_rules.py bottle neck 8
"""

import os
import sys
import time

import numpy as np

from vlgsim.assets.shadow_hand import FINGERS
from vlgsim.grasp import dex_validate as V
from vlgsim.grasp.dex_pipeline import ObjectSetup
from vlgsim.sim import dex_hand

from dex_diag_grasps import first_batch

MAX_DRIFT_M = 0.02  # the drift rule of sessions 1-8
cat, part, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = ObjectSetup(cat, 1.0, 0, "cpu")
grasps, pen, spen = first_batch(s, cat, part, n)
sim = s.validator.sim
default = f"{dex_hand.FINGER_STIFFNESS},{dex_hand.FINGER_DAMPING},{dex_hand.FINGER_FORCE}"
for drive in os.environ.get("DRIVES", default).split(";"):
    kd, dd, fd = (float(v) for v in drive.split(","))
    for j in sim.hand_art.get_active_joints():
        if not j.name.startswith("wrist_"):
            j.set_drive_property(kd, dd, fd)
    count = {"drift": 0, "contact": 0, "both": 0}
    t = time.time()
    for i, g in enumerate(grasps):
        qpos, squeeze = s.validator.settle(g)
        contacts = sim.hand_contacts()
        fingers = {sim.link_finger[nm] for nm, _ in contacts} & set(FINGERS)
        aligned = V.links_nearer_part(s.obj, contacts, part)
        ok = pen[i] <= V.PENETRATION_TOL_M and spen[i] <= V.PENETRATION_TOL_M and aligned and len(fingers) >= 2
        drift, touch = [], []
        for direction in V.DIRECTIONS:
            s.validator.settle(g, (qpos, squeeze))
            p0 = sim.object_pose[:3, 3].copy()
            sim.step(V.HOLD_STEPS * V.PHYSX_SUBSTEPS, object_force=direction * 9.81 * s.validator.mass)
            drift.append(np.linalg.norm(sim.object_pose[:3, 3] - p0))
            touch.append(bool(sim.hand_contacts()))
        r_drift, r_contact = ok and max(drift) < MAX_DRIFT_M, ok and all(touch)
        count["drift"] += r_drift
        count["contact"] += r_contact
        count["both"] += r_drift and r_contact
        print(f"  drive {drive} grasp {i}: pen {1000 * pen[i]:.1f} mm aligned {aligned} fingers {sorted(fingers)} "
              f"drift cm {' '.join(f'{100 * d:.1f}' for d in drift)} contact {''.join(str(int(c)) for c in touch)}",
              flush=True)
    print(f"{cat} {part} drive {drive}: valid under drift {count['drift']}/{n}, under contact {count['contact']}/{n} "
          f"({time.time() - t:.0f} s)", flush=True)
