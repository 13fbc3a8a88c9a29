"""The ceiling of the ``dexvlg:`` training targets: each held-out scene's target grasp (the one
``vlgsim train dexvlg`` would fit, :func:`vlgsim.training.dexvlg.choose_targets`) executed in
``DexVLG-PartGrasp-v0`` (``cloud="object"``, default execution); Suc and PTA by object.

    python scripts/dexvlg_target_ceiling.py [--seeds 100000:100050] [--world-yaw] [--grasp-dir DIR]
"""

from __future__ import annotations

import argparse
import collections

import numpy as np

from vlgsim.envs.dexvlg_part_grasp import DexVLGPartGraspEnv
from vlgsim.training.dexvlg import (available_categories, choose_targets, facing_point, load_training_set,
                                    scene_targets)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="100000:100050", help="first:end (end excluded)")
    ap.add_argument("--grasp-dir", default="", help="grasp sets (default: the shipped library)")
    ap.add_argument("--world-yaw", action="store_true", help="targets as for a --world-yaw model")
    a = ap.parse_args()
    lo, hi = (int(x) for x in a.seeds.split(":"))
    env = DexVLGPartGraspEnv(categories=available_categories(a.grasp_dir), cloud="object")
    by, sets = collections.defaultdict(collections.Counter), {}
    for seed in range(lo, hi):
        obs, info = env.reset(seed=seed)
        key = (info["category"], float(info["scale"]))
        gs = sets.setdefault(key, load_training_set(a.grasp_dir, *key))
        c = by[key[0]]
        c["n"] += 1
        idx = scene_targets(gs, info["part"], tuple(info["fingers"]) or None)
        if not len(idx):
            c["no valid grasp"] += 1
            continue
        face = facing_point(obs["pointcloud"], np.asarray(env.camera.eye), not a.world_yaw)
        t = choose_targets(gs, idx, np.asarray(info["object_pose"]), obs["pointcloud"], face, 1)[0]
        _, _, _, _, si = env.step(t.astype(np.float32))
        c["Suc"] += int(si["metrics"]["Suc"])
        c["PTA"] += int(si["metrics"]["PTA"])
        c[si["failure_mode"]] += 1
    env.close()
    for k in sorted(by):
        print(k, dict(by[k]))
    n = sum(v["n"] for v in by.values())
    print(f"Suc {sum(v['Suc'] for v in by.values()) / n:.0%}  PTA {sum(v['PTA'] for v in by.values()) / n:.0%}  ({n} scenes)")


if __name__ == "__main__":
    main()
