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

import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from vlgsim.assets.objects import GRASPABLE_PARTS
from vlgsim.assets.shadow_hand import FINGERS
from vlgsim.grasp import dex_validate as V
from vlgsim.grasp.dex_energy import GraspEnergy
from vlgsim.grasp.dex_pipeline import ObjectSetup
from vlgsim.grasp.dex_synthesis import SynthesisConfig, initial_grasps, optimize
from vlgsim.sim import dex_hand

MAX_DRIFT_M = 0.02  # the drift rule of sessions 1-8
cat, part, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = ObjectSetup(cat, 1.0, 0, "cpu")
k = GRASPABLE_PARTS[cat].index(part)
path = Path(f"runs/hold_diag_{cat}_{part}.npz")
if path.exists() and not os.environ.get("REOPT") and len(np.load(path)["grasps"]) >= n:
    z = np.load(path)
    grasps, pen, spen = z["grasps"][:n], z["pen"][:n], z["spen"][:n] if "spen" in z else np.zeros(n)
else:
    cfg = replace(SynthesisConfig(), **json.loads(os.environ.get("CFG", "{}")))
    e = GraspEnergy(s.hand, s.obj, part, n, contacts_on_part=cfg.contacts_on_part)
    rng = np.random.default_rng([0, k])
    t = time.time()
    x0, act = initial_grasps(s.hand, s.asset.part(part).mesh, n, rng, cfg, s.obj.surface_points[s.obj.surface_part != k])
    res = optimize(e, x0, act, cfg, rng)
    ev = e.evaluate(res.grasps, res.active)
    grasps, pen, spen = res.grasps, ev["pen_depth"], ev["spen_depth"]
    print(f"optimised {n} grasps in {time.time() - t:.0f} s", flush=True)
    path.parent.mkdir(exist_ok=True)
    np.savez(path, grasps=grasps, pen=pen, spen=spen)
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
