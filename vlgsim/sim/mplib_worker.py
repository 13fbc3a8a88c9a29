"""mplib planning worker: runs in the mplib side venv (``scripts/setup_mplib_venv.sh``), not
in the main one, and imports nothing from vlgsim (only numpy, mplib, json).

Protocol: one JSON object per line on stdin, one JSON answer per line on the original stdout
(everything else the process prints, mplib's and OMPL's logs included, goes to stderr).

- ``{"op": "add_arm", "key", "urdf", "srdf", "move_group", "link_names", "joint_names",
  "n_arm", "vel", "acc"}`` -> ``{"ok": true}``
- ``{"op": "plan", "key", "qpos", "goal" (7: xyz + wxyz, base frame), "points" (N x 3, base
  frame), "radius", "dt", "screw_first", "planning_time", "turn_deg" (optional)}`` -> ``{"ok":
  true, "method", "positions" (T x n_arm), "rejected"}``; method ``failed`` with empty
  positions when nothing worked. With a non-zero ``turn_deg`` (the instructed turn of the end
  link about the base's z axis, degrees, + counter-clockwise seen from above) a path is
  accepted only if that turn, unwrapped along the path (forward kinematics of every sample),
  never goes against the instructed sense by more than ``TURN_SLACK_DEG``, never overshoots by
  more than that and ends within it of ``turn_deg``; RRT-Connect is tried up to ``RRT_TRIES``
  times, and ``rejected`` counts the refused paths.
- ``{"op": "seed", "seed"}`` -> ``{"ok": true, "ompl": bool}``: seeds every random source a plan
  draws from: OMPL's seed generator (RRT-Connect's samplers; mplib 0.1.1 has no binding for it,
  so ``ompl::RNG::setSeed`` is called in mplib's bundled libompl through ctypes; ``ompl`` says
  whether it was found), the C library's ``rand`` (pinocchio's random IK restarts) and numpy's.
  OMPL's generator restarts from its first seed whenever it is seeded again, so seeding at every
  episode makes an episode's plans repeat, given the same calls (an RRT search that runs out of
  ``planning_time`` on a loaded machine can still differ).
"""

import ctypes
import glob
import json
import os
import sys


TURN_SLACK_DEG = 20.0
RRT_TRIES = 4


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
            elif msg["op"] == "seed":
                ans = seed_all(int(msg["seed"]), np, mplib)
            else:
                ans = {"ok": False, "error": f"op {msg['op']!r}; rule: add_arm or plan"}
        except Exception as e:  # answered, the worker keeps serving
            ans = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(ans) + "\n")


def seed_all(seed: int, np, mplib) -> dict:
    seed = seed % (2**31 - 1) + 1  # OMPL: a seed of 0 means "from the clock"
    np.random.seed(seed)
    ctypes.CDLL(None).srand(ctypes.c_uint(seed))
    libs = glob.glob(os.path.join(os.path.dirname(mplib.__file__), os.pardir, "mplib.libs", "libompl*.so*"))
    found = False
    for lib in libs:
        try:
            set_seed = getattr(ctypes.CDLL(lib), "_ZN4ompl3RNG7setSeedEm")  # static ompl::RNG::setSeed(ulong)
        except (OSError, AttributeError):
            continue
        set_seed.argtypes, set_seed.restype = [ctypes.c_ulong], None
        set_seed(seed)
        found = True
    return {"ok": True, "ompl": found}


def plan(entry, msg, np) -> dict:
    p, n_arm = entry
    pts = np.asarray(msg["points"], float).reshape(-1, 3)
    p.update_point_cloud(pts if len(pts) else np.array([[0.0, 0.0, -10.0]]), msg["radius"])
    q = np.asarray(msg["qpos"], float)
    goal = np.asarray(msg["goal"], float)
    turn = float(msg.get("turn_deg") or 0.0)
    rrt = [("rrt", True)] * (RRT_TRIES if turn else 1)
    attempts = ([("screw", True)] if msg["screw_first"] else []) + rrt + [("screw_contact", False)]
    rejected = 0
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
            path = np.asarray(res["position"])[:, :n_arm]
            if turn and not turns_as_instructed(p, q, path, turn, np):
                rejected += 1
                continue
            return {"ok": True, "method": method, "positions": path.tolist(), "rejected": rejected}
    return {"ok": True, "method": "failed", "positions": [], "rejected": rejected}


def turns_as_instructed(p, q, path, turn_deg: float, np) -> bool:
    """Whether the end link's turn about the base z axis along ``path`` follows ``turn_deg``
    (see the module docstring)."""
    idx = p.move_group_joint_indices
    link = p.link_name_2_idx[p.move_group]
    full = np.asarray(q, float).copy()
    yaws = []
    for row in np.vstack([full[idx][None], path]):
        full[idx] = row
        p.pinocchio_model.compute_forward_kinematics(full)
        w, x, y, z = p.pinocchio_model.get_link_pose(link)[3:]
        R = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                      [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                      [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])
        if not yaws:
            R0 = R
        rel = R @ R0.T  # the turn since the start, in the base frame
        yaws.append(np.arctan2(rel[1, 0], rel[0, 0]))
    d = np.rad2deg(np.unwrap(np.asarray(yaws))) * np.sign(turn_deg)  # along the instructed sense
    want = abs(turn_deg)
    return bool(d.min() > -TURN_SLACK_DEG and d.max() < want + TURN_SLACK_DEG and abs(d[-1] - want) < TURN_SLACK_DEG)


if __name__ == "__main__":
    main()
