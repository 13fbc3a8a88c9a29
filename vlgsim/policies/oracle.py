"""Privileged oracle: executes the best ground-truth grasp of the target.

It reads the episode's ground truth (``info["grasp_rects"]``, best first, or
``info["contact_points"]``) at reset; with no label it answers the target's box centre.
"""

from __future__ import annotations

import numpy as np

from vlgsim.policies.base import register_policy


class OraclePolicy:
    name = "oracle"

    def __init__(self, action_mode: str = "grasp_rect"):
        self.action_mode = action_mode
        self._action = None

    def reset(self, instruction: str, info: dict) -> None:
        if self.action_mode == "contact_points" and len(info.get("contact_points", [])):
            self._action = np.asarray(info["contact_points"][0], dtype=np.float32)
        elif len(info.get("grasp_rects", [])):
            self._action = np.asarray(info["grasp_rects"][0][:4], dtype=np.float32)
        else:
            b = np.asarray(info["bbox"], dtype=np.float32)
            self._action = np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, 0.0, 40.0], dtype=np.float32)

    def act(self, observation: dict) -> np.ndarray:
        return self._action


@register_policy("oracle")
def _make_oracle(env, arg=None, seed=0):
    return OraclePolicy(getattr(env.unwrapped, "action_mode", "grasp_rect"))
