"""Bimanual task speed as a ratio against ManiSkill3 ``TwoRobotPickCube-v1`` measured in
the same run (target >= 1.0).

Both: one CPU env, state observations, random actions, two Pandas at 20 Hz control /
100 Hz physics; ours in ``pd_ee_delta_pose`` (IK every step, as the expert uses it) with
the per-step steerability bookkeeping (subgoals, contacts near the TCPs) switched on,
TwoRobotPickCube in ``pd_ee_delta_pose`` too (so both pay for IK) with its dense reward.
Steps/s counts step() calls only; resets (our tasks rebuild the scene per episode) are
reported separately.

    python benchmarks/bench_bimanual.py [--steps 400] [--task Bimanual-PickColor-v0]
"""

from __future__ import annotations

import os

os.environ.setdefault("LP_NUM_THREADS", "1")

import argparse
import json
import time

import gymnasium as gym
import mani_skill.envs  # noqa: F401  (registers TwoRobotPickCube-v1)
import numpy as np
import torch

import vlgsim  # noqa: F401


def steps_per_s(env, n: int, flat_action=None) -> tuple[float, float]:
    env.reset(seed=0)
    env.action_space.seed(0)
    sample = flat_action or env.action_space.sample
    for _ in range(10):
        env.step(sample())
    stepping, resets = 0.0, []
    for _ in range(n):
        a = sample()
        t = time.perf_counter()
        _, _, term, trunc, _ = env.step(a)
        stepping += time.perf_counter() - t
        if bool(torch.as_tensor(term).any()) or bool(torch.as_tensor(trunc).any()):
            t = time.perf_counter()
            env.reset()
            resets.append(time.perf_counter() - t)
    return n / stepping, float(np.mean(resets)) if resets else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--task", default="Bimanual-PickColor-v0")
    a = ap.parse_args()
    torch.set_num_threads(1)
    ref = gym.make("TwoRobotPickCube-v1", obs_mode="state", control_mode="pd_ee_delta_pose", render_backend="none",
                   sim_backend="cpu", max_episode_steps=100)
    ours = gym.make(a.task, split="easy", obs_mode="state")
    rows = {}
    for rep in range(2):  # interleaved twice: drifting machine load hits both
        r_ref, _ = steps_per_s(ref, a.steps)
        r_ours, reset_s = steps_per_s(ours, a.steps)
        rows[rep] = dict(ref_steps_per_s=r_ref, ours_steps_per_s=r_ours, ours_reset_s=reset_s)
    ref_sps = float(np.median([r["ref_steps_per_s"] for r in rows.values()]))
    ours_sps = float(np.median([r["ours_steps_per_s"] for r in rows.values()]))
    out = dict(task=a.task, reference="TwoRobotPickCube-v1", steps=a.steps, ours_steps_per_s=round(ours_sps, 1),
               reference_steps_per_s=round(ref_sps, 1), ratio=round(ours_sps / ref_sps, 3),
               ours_reset_s=round(float(np.mean([r["ours_reset_s"] for r in rows.values()])), 3), target=1.0)
    print(json.dumps(out, indent=1))
    ref.close()
    ours.close()


if __name__ == "__main__":
    main()
