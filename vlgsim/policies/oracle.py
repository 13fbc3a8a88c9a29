"""Privileged oracle: executes a ground-truth grasp of the target.

It reads the episode's ground truth (``info["grasp_rects"]``, best first, or
``info["contact_points"]``) at reset; with no label it answers the target's box centre.
``oracle`` takes the best label; ``oracle:any`` a uniformly random one (seeded by the
episode seed), which checks that the labels in general, not just the best, are executable.
"""

from __future__ import annotations

import numpy as np

from vlgsim.policies.base import register_policy


def _n_labels(info: dict, key: str) -> int:
    """Labels in ``info[key]``: its first ``info["n_grasps"]`` rows when the env pads them."""
    return min(len(info.get(key, [])), int(info.get("n_grasps", len(info.get(key, [])))))


class OraclePolicy:
    name = "oracle"

    def __init__(self, action_mode: str = "grasp_rect", pick: str = "best"):
        if pick not in ("best", "any"):
            raise ValueError(f"oracle:{pick}; rule: oracle, oracle:best or oracle:any")
        self.action_mode, self.pick = action_mode, pick
        self._action = None

    def _choose(self, labels, info) -> int:
        if self.pick == "best":
            return 0
        return int(np.random.default_rng(info.get("episode_seed", 0)).integers(len(labels)))

    def reset(self, instruction: str, info: dict) -> None:
        if "target_boxes" in info:  # grounding: the target's box in the first view that shows it
            view = int(np.argmax(info["target_visible"]))
            self._action = np.r_[view, info["target_boxes"][view]].astype(np.float32)
        elif self.action_mode == "contact_points" and _n_labels(info, "contact_points"):
            cps = info["contact_points"][: _n_labels(info, "contact_points")]
            self._action = np.asarray(cps[self._choose(cps, info)], dtype=np.float32)
        elif _n_labels(info, "grasp_rects"):
            rects = info["grasp_rects"][: _n_labels(info, "grasp_rects")]
            self._action = np.asarray(rects[self._choose(rects, info)][:4], dtype=np.float32)
        else:
            b = np.asarray(info["bbox"], dtype=np.float32)
            self._action = np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, 0.0, 40.0], dtype=np.float32)

    def act(self, observation: dict) -> np.ndarray:
        return self._action


@register_policy("oracle")
def _make_oracle(env, arg=None, seed=0):
    if getattr(env.unwrapped, "task_family", "") == "dexvlg":  # oracle[:GRASP_SET_DIR]
        from vlgsim.policies.dex_oracle import DexOraclePolicy

        return DexOraclePolicy(arg)
    return OraclePolicy(getattr(env.unwrapped, "action_mode", "grasp_rect"), pick=arg or "best")
