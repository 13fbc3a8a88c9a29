"""mplib planning worker: runs in the mplib side venv (``scripts/setup_mplib_venv.sh``), not
in the main one, and imports nothing from vlgsim (only numpy, mplib, json).

Protocol: one JSON object per line on stdin, one JSON answer per line on the original stdout
(everything else the process prints, mplib's and OMPL's logs included, goes to stderr).

- ``{"op": "add_arm", "key", "urdf", "srdf", "move_group", "link_names", "joint_names",
  "n_arm", "vel", "acc"}`` -> ``{"ok": true}``
- ``{"op": "plan", "key", "qpos", "goal" (7: xyz + wxyz, base frame), "points" (N x 3, base
  frame), "radius", "dt", "screw_first", "planning_time"}`` -> ``{"ok": true, "method",
  "positions" (T x n_arm)}``; method ``failed`` with empty positions when nothing worked.
"""

import json
import os
import sys


def main() -> None:
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints (mplib, OMPL, TOPP-RA) to stderr
    sys.stdout = sys.stderr
    import numpy as np
    import mplib

    planners = {}
    for line in sys.stdin:
        msg = json.loads(line)
        try:
            if msg["op"] == "add_arm":
                p = mplib.Planner(urdf=msg["urdf"], srdf=msg["srdf"], move_group=msg["move_group"],
                                  user_link_names=msg["link_names"], user_joint_names=msg["joint_names"],
                                  joint_vel_limits=np.full(msg["n_arm"], msg["vel"]),
                                  joint_acc_limits=np.full(msg["n_arm"], msg["acc"]))
                planners[msg["key"]] = (p, msg["n_arm"])
                ans = {"ok": True}
            elif msg["op"] == "plan":
                ans = plan(planners[msg["key"]], msg, np)
            else:
                ans = {"ok": False, "error": f"op {msg['op']!r}; rule: add_arm or plan"}
        except Exception as e:  # answered, the worker keeps serving
            ans = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(ans) + "\n")


def plan(entry, msg, np) -> dict:
    p, n_arm = entry
    pts = np.asarray(msg["points"], float).reshape(-1, 3)
    p.update_point_cloud(pts if len(pts) else np.array([[0.0, 0.0, -10.0]]), msg["radius"])
    q = np.asarray(msg["qpos"], float)
    goal = np.asarray(msg["goal"], float)
    attempts = ([("screw", True)] if msg["screw_first"] else []) + [("rrt", True), ("screw_contact", False)]
    for method, obstacles in attempts:
        try:
            if method.startswith("screw"):
                res = p.plan_screw(goal, q.copy(), time_step=msg["dt"], use_point_cloud=obstacles, wrt_world=False)
            else:
                res = p.plan_qpos_to_pose(goal, q.copy(), time_step=msg["dt"], use_point_cloud=True,
                                          planning_time=msg["planning_time"], wrt_world=False)
        except Exception:  # noqa: BLE001 (an mplib failure means: try the next method)
            continue
        if res.get("status") == "Success" and len(res["position"]):
            return {"ok": True, "method": method, "positions": np.asarray(res["position"])[:, :n_arm].tolist()}
    return {"ok": True, "method": "failed", "positions": []}


if __name__ == "__main__":
    main()
