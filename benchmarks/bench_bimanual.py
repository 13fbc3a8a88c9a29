"""Bimanual task speed as a ratio against ManiSkill3 ``TwoRobotPickCube-v1`` measured in
the same run: state observations (target >= 1.0) and RGB-D from three 128x128 cameras
(target >= 3.0).

Same work on both sides: one CPU env, two arms (ours: the default ALOHA ViperX pair, or
``--embodiment panda``; the reference: two Pandas), 20 Hz control / 100 Hz physics,
``pd_ee_delta_pose`` (an IK solve per arm and step), random actions. ManiSkill's IK is
built on SAPIEN's own pinocchio for both envs (``builtin_pinocchio``): with the ``pin``
package installed SAPIEN otherwise switches to a Python wrapper about 50x slower, which
would slow down only the reference. Ours pays for its per-step steerability bookkeeping
(subgoals, contacts near the TCPs); TwoRobotPickCube for its dense reward.

- state: ours ``obs_mode="state"``; reference ``obs_mode="state"``.
- RGB-D: ours ``obs_mode="rgbd+state"``, ``cameras=("head", "left_wrist", "right_wrist")``
  (ALOHA's ``cam_high`` and the two wrist cameras, 128x128, rgb + depth); reference
  ``obs_mode="rgb+depth"`` with the same three cameras (a head camera and one camera on each
  Panda hand, 128x128; ``TwoRobotPickCube3Cam``, registered here), no segmentation on either
  side, ManiSkill's "minimal" shader on both. ``rgbd_4cam`` (information, no target): ours
  with all four ALOHA cameras (``cam_low`` added) against the same reference runs.

Rendering on SAPIEN's CPU path is geometry-bound. Our camera path renders each camera
without the robot links wholly outside its frustum (``BimanualBackendEnv._capture_culled``:
same pixels), and the ViperX visual meshes are decimated to 15k triangles per arm
(:data:`vlgsim.assets.viperx.VISUAL_CELL_M`; < 1 % of pixels change); the Panda meshes of
the reference have ~135k per arm. Steps/s counts ``step()`` calls only (observation included); resets (our tasks rebuild
the scene per episode) are reported separately. Each pair is measured twice, interleaved.
The last line printed is one JSON object.

    python benchmarks/bench_bimanual.py [--steps 300] [--rgbd-steps 100] [--task Bimanual-PickColor-v0]
                                        [--embodiment aloha|panda]
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
import sapien
import torch
from mani_skill.envs.tasks.tabletop.two_robot_pick_cube import TwoRobotPickCube
from mani_skill.sensors.camera import CameraConfig
from mani_skill.utils import sapien_utils
from mani_skill.utils.registration import register_env
from transforms3d.euler import euler2quat

import vlgsim  # noqa: F401
from vlgsim.sim.maniskill_env import builtin_pinocchio

IMAGE = 128
THREE_CAMERAS = ("head", "left_wrist", "right_wrist")


@register_env("TwoRobotPickCube3Cam-v1", max_episode_steps=100)
class TwoRobotPickCube3Cam(TwoRobotPickCube):
    """TwoRobotPickCube-v1 with our camera set: a head camera and a camera on each hand
    (plain ``panda`` arms: ``panda_wristcam`` would add two more hand cameras)."""

    SUPPORTED_ROBOTS = [("panda", "panda")]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, robot_uids=("panda", "panda"), **kwargs)

    @property
    def _default_sensor_configs(self):
        head = sapien_utils.look_at([1.0, 0, 0.75], [0.0, 0.0, 0.25])
        wrist = sapien.Pose(p=[0.065, 0.0, 0.03], q=euler2quat(0, -np.pi / 2 - 0.3, 0))
        cfgs = [CameraConfig("head", head, IMAGE, IMAGE, 1.0, 0.01, 10)]
        for i, agent in enumerate(self.agent.agents):
            cfgs.append(CameraConfig(f"wrist_{i}", wrist, IMAGE, IMAGE, 1.3, 0.01, 10,
                                     mount=agent.robot.links_map["panda_hand"]))
        return cfgs


def steps_per_s(env, n: int) -> tuple[float, float]:
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(5):
        env.step(env.action_space.sample())
    stepping, resets = 0.0, []
    for _ in range(n):
        a = env.action_space.sample()
        t = time.perf_counter()
        _, _, term, trunc, _ = env.step(a)
        stepping += time.perf_counter() - t
        if bool(torch.as_tensor(term).any()) or bool(torch.as_tensor(trunc).any()):
            t = time.perf_counter()
            env.reset()
            resets.append(time.perf_counter() - t)
    return n / stepping, float(np.mean(resets)) if resets else None


def compare(ref, ours: list, n: int) -> list[dict]:
    """One dict per env of ``ours``, each against the same reference runs."""
    rows = []
    for _ in range(2):  # interleaved twice: drifting machine load hits both
        rows.append([steps_per_s(ref, n)] + [steps_per_s(env, n) for env in ours])
    ref_sps = float(np.median([r[0][0] for r in rows]))
    out = []
    for i in range(1, len(ours) + 1):
        ours_sps = float(np.median([r[i][0] for r in rows]))
        resets = [r[i][1] for r in rows if r[i][1] is not None]
        out.append(dict(ours_steps_per_s=round(ours_sps, 1), reference_steps_per_s=round(ref_sps, 1),
                        ratio=round(ours_sps / ref_sps, 3),
                        ours_reset_s=round(float(np.mean(resets)), 3) if resets else None))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--rgbd-steps", type=int, default=100)
    ap.add_argument("--task", default="Bimanual-PickColor-v0")
    ap.add_argument("--embodiment", default="aloha", choices=("aloha", "panda"))
    a = ap.parse_args()
    torch.set_num_threads(1)
    out = dict(task=a.task, reference="TwoRobotPickCube-v1", ik="SAPIEN built-in pinocchio on both sides")
    with builtin_pinocchio():
        ref = gym.make("TwoRobotPickCube-v1", obs_mode="state", control_mode="pd_ee_delta_pose",
                       render_backend="none", sim_backend="cpu", max_episode_steps=100)
    ours = gym.make(a.task, split="easy", obs_mode="state", embodiment=a.embodiment)
    out["state"] = dict(compare(ref, [ours], a.steps)[0], steps=a.steps, target=1.0,
                        embodiment=ours.unwrapped.embodiment)
    print("state", out["state"], flush=True)
    ref.close()
    ours.close()
    with builtin_pinocchio():
        ref = gym.make("TwoRobotPickCube3Cam-v1", obs_mode="rgb+depth", control_mode="pd_ee_delta_pose",
                       render_backend="cpu", sim_backend="cpu", max_episode_steps=100)
    kw = dict(split="easy", obs_mode="rgbd+state", image_size=(IMAGE, IMAGE), embodiment=a.embodiment)
    envs = {"rgbd": gym.make(a.task, cameras=THREE_CAMERAS, **kw)}
    if a.embodiment == "aloha":  # Panda has only these three
        envs["rgbd_4cam"] = gym.make(a.task, **kw)
    r, _ = ref.reset(seed=0)
    ref_cams = sorted(f"{c}_{m}" for c, d in r["sensor_data"].items() for m in d)
    results = compare(ref, list(envs.values()), a.rgbd_steps)
    for (key, env), res in zip(envs.items(), results):
        target = 3.0 if key == "rgbd" else None
        o, _ = env.reset(seed=0)
        out[key] = dict(res, steps=a.rgbd_steps, target=target, embodiment=env.unwrapped.embodiment,
                        ours_images=sorted(k for k in o if k.endswith("_rgb") or k.endswith("_depth")),
                        reference_images=ref_cams, image_size=IMAGE)
        print(key, out[key], flush=True)
        env.close()
    ref.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
