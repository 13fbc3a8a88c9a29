"""DexVLG grasps replayed on the Shadow Hand stand-in through the Robot protocol (ROS joint
names, approach path) against the env's own execution (hand placed at the grasp), over the
valid grasps of a grasp set and several seeds.

Usage: python scripts/shadow_replay_success.py --grasp-dir runs/grasp_sets_v4 --category block --seeds 5
(a missing set is synthesised into --grasp-dir with --per-part grasps per part)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import gymnasium as gym
import numpy as np

import vlgsim  # noqa: F401
from vlgsim.envs.dexvlg_part_grasp import SUCCESS_LIFT_M
from vlgsim.grasp.dexterous import transform_grasp
from vlgsim.policies.dex_oracle import DexOraclePolicy
from vlgsim.real2sim.shadow_replay import plan_dex_grasp_replay, replay
from vlgsim.real2sim.shadow_sim import ShadowHandSim


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--grasp-dir", type=Path, default=Path("runs/grasp_sets_shadow"))
    ap.add_argument("--category", default="block")
    ap.add_argument("--per-part", type=int, default=8)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    env = gym.make("vlgsim:DexVLG-PartGrasp-v0", categories=[a.category], obs_mode="state", with_fingers=False)
    u = env.unwrapped
    _, info = env.reset(seed=0)
    gs = DexOraclePolicy(str(a.grasp_dir), per_part=a.per_part).grasp_set(a.category, float(info["scale"]))
    rows = []
    for seed in range(a.seeds):
        for gi in np.nonzero(gs.valid)[0]:
            _, info = env.reset(seed=seed)
            T = np.asarray(info["object_pose"])
            g = transform_grasp(gs.grasps[gi], T)
            plan = plan_dex_grasp_replay(u.hand, g, T, u.field.mesh)
            with ShadowHandSim(u.sim) as robot:
                replay(robot, plan)
            lift_replay = float(u.sim.object_pose[2, 3] - T[2, 3])
            _, info = env.reset(seed=seed)
            _, _, _, _, step_info = env.step(g.astype(np.float32))
            lift_env = float(u.sim.object_pose[2, 3] - T[2, 3])
            rows.append(dict(seed=seed, grasp=int(gi), lift_replay_m=lift_replay, lift_env_m=lift_env,
                             replay_success=lift_replay >= SUCCESS_LIFT_M, env_success=bool(step_info["success"])))
            print(json.dumps(rows[-1]))
    n = len(rows)
    rep = sum(r["replay_success"] for r in rows)
    envs = sum(r["env_success"] for r in rows)
    print(f"{a.category}: {n} grasp replays ({len(rows) // max(a.seeds, 1)} valid grasps x {a.seeds} seeds): "
          f"stand-in replay {rep}/{n} = {100 * rep / n:.0f} %, env execution {envs}/{n} = {100 * envs / n:.0f} %")
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
