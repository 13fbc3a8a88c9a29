"""Where the ``dexvlg:`` model's grasps miss: per object, the wrist position (cm), rotation (deg)
and joint (rad) error of the predicted grasp against the nearest valid library grasp of the
instructed part (with its copies under the object's symmetry), over held-out seeds; no physics.

    python scripts/dexvlg_errors.py runs/dexvlg11@1@0 --seeds 100000:100050 [--grasp-dir DIR] [--objects a,b]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import asdict

import numpy as np

from vlgsim.policies import make_policy
from vlgsim.training.dexvlg import held_out_errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="PATH[@K[@T]] as for --policy dexvlg:")
    ap.add_argument("--seeds", default="100000:100050", help="first:end (end excluded)")
    ap.add_argument("--grasp-dir", default="", help="grasp sets (default: the shipped library)")
    ap.add_argument("--objects", default="", help="comma-separated categories (default: all with a set)")
    ap.add_argument("--json", default="", help="write the per-seed rows here")
    a = ap.parse_args()
    lo, hi = (int(x) for x in a.seeds.split(":"))
    cats = tuple(o for o in a.objects.split(",") if o)
    rows = held_out_errors(make_policy(f"dexvlg:{a.model}", env=None, seed=0), range(lo, hi), cats, a.grasp_dir)
    by = defaultdict(list)
    for r in rows:
        by[r.category].append(r)
    print(f"{'object':12s} {'n':>3s} {'pos cm (median)':>16s} {'<1 cm':>6s} {'rot deg':>8s} {'joints rad':>10s}")
    for c in sorted(by) + ["all"]:
        rs = rows if c == "all" else by[c]
        p = np.array([r.position_m for r in rs]) * 100
        print(f"{c:12s} {len(rs):3d} {np.median(p):16.2f} {np.mean(p < 1):6.0%} "
              f"{np.degrees(np.median([r.rotation_rad for r in rs])):8.1f} {np.median([r.joints_rad for r in rs]):10.3f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump([asdict(r) for r in rows], f, indent=1)


if __name__ == "__main__":
    main()
