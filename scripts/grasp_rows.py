"""Oracle eval rows of RealVLG-Grasp-v0 for a seed range, one JSON list per line:
[seed, instruction, target_id, action, success, failure_mode, error]; CPU seconds on stderr.

Runs whatever vlgsim is first on PYTHONPATH, so two checkouts can be compared row by row:

    PYTHONPATH=/path/to/old python scripts/grasp_rows.py 1000 1100 > old.jsonl
    python scripts/grasp_rows.py 1000 1100 '{"scene_reuse": true}' > new.jsonl && cmp old.jsonl new.jsonl

``--builtin-ik`` hides the ``pinocchio`` package so SAPIEN (and ManiSkill's IK) use SAPIEN's
built-in solver, as code before ``scene_reuse`` did on machines without ``pin``.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main():
    args = [a for a in sys.argv[1:] if a != "--builtin-ik"]
    if "--builtin-ik" in sys.argv:
        sys.modules["pinocchio"] = None  # import fails -> SAPIEN falls back to its built-in pinocchio
    os.environ.setdefault("LP_NUM_THREADS", "1")
    import gymnasium as gym
    import torch

    torch.set_num_threads(1)
    import vlgsim  # noqa: F401
    from vlgsim.policies import make_policy
    from vlgsim.sim_eval.rollout import run_episode

    seeds = range(int(args[0]), int(args[1]))
    env = gym.make("vlgsim:RealVLG-Grasp-v0", **(json.loads(args[2]) if len(args) > 2 else {}))
    policy = make_policy("oracle", env, seed=0)
    c0 = time.process_time()
    for i, s in enumerate(seeds):
        r, _ = run_episode(env, policy, i, s)
        print(json.dumps([r.seed, r.instruction, r.extra.get("target_id"), r.action, r.success, r.failure_mode,
                          r.error]), flush=True)
    print(f"{vlgsim.__file__}: {time.process_time() - c0:.1f} s CPU for {len(seeds)} episodes", file=sys.stderr)
    env.close()


if __name__ == "__main__":
    main()
