"""Render one frame of an oracle approach-and-grasp on DexVLG-PartGrasp-v0 with the meshed
Shadow Hand (640 x 480): ``python scripts/render_dexvlg_frame.py GRASP_SET_DIR OUT.png
[--category block] [--seed 1]``; GRASP_SET_DIR ``library``: the shipped grasp library. The
frame is the middle of the recorded episode (the close)."""

import argparse

import imageio.v2 as imageio

from vlgsim.envs.dexvlg_part_grasp import DexVLGPartGraspEnv
from vlgsim.policies.dex_oracle import DexOraclePolicy

p = argparse.ArgumentParser()
p.add_argument("grasp_dir")
p.add_argument("out")
p.add_argument("--category", default="block")
p.add_argument("--seed", type=int, default=1)
a = p.parse_args()
env = DexVLGPartGraspEnv(categories=[a.category], image_size=(640, 480))
oracle = DexOraclePolicy(None if a.grasp_dir == "library" else a.grasp_dir)
obs, info = env.reset(seed=a.seed)
oracle.reset(obs["instruction"], info)
env.record_frames = True
_, reward, _, _, step_info = env.step(oracle.act(obs))
imageio.imwrite(a.out, env.last_frames[len(env.last_frames) // 2])
print(f"{obs['instruction']!r}: success {bool(reward)}, {len(env.last_frames)} frames, approach {step_info.get('approach')}; "
      f"wrote {a.out}")
