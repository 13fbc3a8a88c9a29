"""A rendered frame of each bimanual embodiment (small PNGs, committed under benchmarks/results/):
ALOHA's four cameras (cam_high, cam_low, cam_left_wrist, cam_right_wrist) and the Pandas' head
camera, mid-episode of the motion-planned expert on Bimanual-Handover-v0 (both arms at work).

    python benchmarks/render_embodiments.py --out benchmarks/results --steps 45
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym
import imageio.v3 as iio
import numpy as np

import vlgsim  # noqa: F401
from vlgsim.policies import make_policy


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    ap.add_argument("--steps", type=int, default=45)
    ap.add_argument("--task", default="Bimanual-Handover-v0")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    for emb in ("aloha", "panda"):
        env = gym.make(a.task, embodiment=emb, obs_mode="rgb+state", image_size=(256, 192), control_mode="pd_joint_pos")
        pol = make_policy("bimanual_expert", env)
        obs, info = env.reset(seed=0)
        pol.reset(obs["instruction"], info)
        for _ in range(a.steps):
            obs = env.step(pol.act(obs))[0]
        cams = env.unwrapped.camera_names
        names = {"head": "cam_high", "low": "cam_low", "left_wrist": "cam_left_wrist", "right_wrist": "cam_right_wrist"}
        if emb == "aloha":
            grid = np.concatenate([np.concatenate([obs["head_rgb"], obs["low_rgb"]], 1),
                                   np.concatenate([obs["left_wrist_rgb"], obs["right_wrist_rgb"]], 1)], 0)
            iio.imwrite(a.out / "aloha_frame.png", grid)
            print(f"aloha: {a.out / 'aloha_frame.png'} ({', '.join(names[c] for c in cams)}; 2 x 2 grid)")
        else:
            iio.imwrite(a.out / "panda_frame.png", np.concatenate([obs["head_rgb"], obs["left_wrist_rgb"]], 1))
            print(f"panda: {a.out / 'panda_frame.png'} (head, left_wrist)")
        env.close()


if __name__ == "__main__":
    main()
