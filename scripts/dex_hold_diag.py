"""Why grasps of one part are not held: optimise N grasps (the pipeline's first batch, seed
[0, k]), then for each one the touching links and the part each is nearest, and under gravity
along each of the six axes the drift of the object's origin (footprint) and of its centre of
mass (cm) and the turn (degrees), every direction run (no early stop). The grasps are kept in
runs/hold_diag_{object}_{part}.npz and reused (REOPT=1 optimises again).

    python scripts/dex_hold_diag.py bottle neck 8
    CFG='{"pinch_share": 1.0}' REOPT=1 python scripts/dex_hold_diag.py bottle neck 8   # a SynthesisConfig override
"""

import sys

import numpy as np

from vlgsim.grasp import dex_validate as V
from vlgsim.grasp.dex_pipeline import ObjectSetup

from dex_diag_grasps import first_batch

cat, part, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = ObjectSetup(cat, 1.0, 0, "cpu")
grasps, pen, _ = first_batch(s, cat, part, n)
sim = s.validator.sim
com = np.r_[np.asarray(sim.body.cmass_local_pose.p, float), 1.0]  # centre of mass, object frame (homogeneous)
print(f"{cat} mass {s.validator.mass:.3f} kg, centre of mass {np.round(com[:3], 3)} m (object frame)")
for i, g in enumerate(grasps):
    qpos, squeeze = s.validator.settle(g)
    contacts = sim.hand_contacts()
    nearest = {}
    if contacts:
        d = s.obj.part_distances(np.array([p for _, p in contacts]))
        for (name, _), row in zip(contacts, d):
            nearest.setdefault(name, set()).add(s.obj.part_names[int(np.argmin(row))])
    drift = []
    for direction in V.DIRECTIONS:
        s.validator.settle(g, (qpos, squeeze))
        P0 = sim.object_pose.copy()
        sim.step(V.HOLD_STEPS * V.PHYSX_SUBSTEPS, object_force=direction * 9.81 * s.validator.mass)
        P1 = sim.object_pose
        turn = np.degrees(np.arccos(np.clip((np.trace(P1[:3, :3] @ P0[:3, :3].T) - 1) / 2, -1, 1)))
        drift.append(f"{100 * np.linalg.norm(P1[:3, 3] - P0[:3, 3]):.1f}/{100 * np.linalg.norm((P1 @ com - P0 @ com)[:3]):.1f}cm/{turn:.0f}deg")
    print(i, f"pen {1000 * pen[i]:.1f} mm", {n_: sorted(v) for n_, v in nearest.items()}, "origin/com/turn per +x -x +y -y +z -z:",
          " ".join(drift), flush=True)
