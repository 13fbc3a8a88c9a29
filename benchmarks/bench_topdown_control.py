"""Steps/s of the PPO task (``GraspStateTopDown`` on RealVLG-Grasp-v0, one object, grasp_state obs)
with the top-down DLS controller (``control_mode="pd_joint_pos"``) against ManiSkill's
``pd_ee_delta_pose`` IK (the reference), both measured in this run, in alternating blocks of the
same seeds and random 4-D actions (load-robust ratio). Prints one JSON line last.

    python benchmarks/bench_topdown_control.py            # 5 rounds x 2 episodes x 100 steps each, < 1 min quiet
"""

from __future__ import annotations

import argparse
import json
import os
import time

import gymnasium as gym
import numpy as np

import vlgsim  # noqa: F401
from vlgsim.envs.wrappers import GraspStateTopDown


def make(control_mode: str):
    return GraspStateTopDown(gym.make("RealVLG-Grasp-v0", obs_mode="grasp_state", control_mode=control_mode,
                                      n_objects=[1, 1], reach_point="center", ground_truth=False,
                                      max_episode_steps=10_000))


def block(env, seeds, steps) -> tuple[int, float]:
    n, t = 0, 0.0
    for s in seeds:
        env.reset(seed=int(s))
        rng = np.random.default_rng(int(s))
        t0 = time.perf_counter()
        for _ in range(steps):
            env.step(rng.uniform(-1, 1, 4).astype(np.float32))
        t += time.perf_counter() - t0
        n += steps
    return n, t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--episodes", type=int, default=2)
    ap.add_argument("--steps", type=int, default=100)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    envs = {"pd_ee_delta_pose": make("pd_ee_delta_pose"), "dls_pd_joint_pos": make("pd_joint_pos")}
    for env in envs.values():
        block(env, [0], 5)  # warm-up
    tot = {k: [0, 0.0] for k in envs}
    for r in range(args.rounds):
        for k, env in envs.items():
            n, t = block(env, range(100 + r * args.episodes, 100 + (r + 1) * args.episodes), args.steps)
            tot[k][0] += n
            tot[k][1] += t
    rate = {k: n / t for k, (n, t) in tot.items()}
    print(json.dumps(dict(steps_per_s={k: round(v, 1) for k, v in rate.items()},
                          ratio_dls_over_ee=round(rate["dls_pd_joint_pos"] / rate["pd_ee_delta_pose"], 2),
                          steps_each=tot["pd_ee_delta_pose"][0], loadavg=os.getloadavg())))


if __name__ == "__main__":
    main()
