"""A behaviour-cloned action-chunking policy (``vlgsim train bc``): ``bc:PATH`` with PATH the
folder holding ``bc.pt`` (or the file).

**Observation** (:func:`bc_features`, all world frame, metres / radians): the robot's
proprioception (qpos 9, qvel 9, TCP pose 7) from the task's ``state`` vector; the instructed
object's position relative to the TCP and its rise above its start (read from the privileged
``state``: its one-hot target slot is the *grounding* of the instruction); the first
ground-truth grasp of that object (``info["grasp_world"]`` at reset) relative to the TCP and
the wrist rotation still needed to align the jaws with it (a rotation vector); and a hashed
bag-of-words embedding of the instruction. This is a privileged-state policy: a deployed
stack would get the target and grasp from a grounding / grasp model (``vlg:PATH``).

**Action**: the model predicts the next ``chunk`` actions (ACT-style chunking). By default it
re-plans every step and executes the *temporal ensemble* of all chunks predicted for the
current step, weighted ``exp(-k i)`` with ``i = 0`` the oldest (ACT, Zhao et al. 2023, k=0.01);
``bc:PATH@K`` instead runs K actions of each chunk open loop (no ensembling). The gripper
command is binarised (+1 open, -1 close) as in the demonstrations.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation
from torch import nn

from vlgsim.envs.wrappers import target_of_state
from vlgsim.policies.base import register_policy
from vlgsim.policies.scripted import TCP, target_grasps, wrist_rotation

TEXT_DIM = 64
ROBOT = slice(0, 25)
"""qpos 9, qvel 9, TCP pose 7 in the RealVLG ``state`` vector."""
FEATURE_DIM = 25 + 3 + 1 + 3 + 3 + 1 + TEXT_DIM
ENSEMBLE_K = 0.01


def embed_instruction(text: str, dim: int = TEXT_DIM) -> np.ndarray:
    """Hashed bag of words (crc32 buckets), L2-normalised: a download-free text feature."""
    v = np.zeros(dim, np.float32)
    for w in re.findall(r"[a-z]+", text.lower()):
        v[zlib.crc32(w.encode()) % dim] += 1.0
    n = np.linalg.norm(v)
    return v / n if n else v


def bc_features(state: np.ndarray, grasp: np.ndarray, text: np.ndarray) -> np.ndarray:
    """(FEATURE_DIM,) float32 policy input; ``grasp`` [x, y, z, axis_angle_rad, opening_m] world (TCP)."""
    state = np.asarray(state, np.float64)
    tcp = state[TCP]
    target, rise = target_of_state(state)
    w, x, y, z = tcp[3:]
    rot_err = (wrist_rotation(grasp[3]) * Rotation.from_quat([x, y, z, w]).inv()).as_rotvec()
    return np.r_[state[ROBOT], target - tcp[:3], rise, grasp[:3] - tcp[:3], rot_err, grasp[4], text].astype(np.float32)


class ChunkedMLP(nn.Module):
    """Features -> the next ``chunk`` actions in [-1, 1] (tanh), as (B, chunk, action_dim)."""

    def __init__(self, in_dim: int, action_dim: int, chunk: int, hidden: int, layers: int = 3):
        super().__init__()
        self.action_dim, self.chunk = action_dim, chunk
        mods, d = [], in_dim
        for _ in range(layers):
            mods += [nn.Linear(d, hidden), nn.GELU()]
            d = hidden
        self.net = nn.Sequential(*mods, nn.Linear(d, action_dim * chunk))

    def forward(self, x):
        return torch.tanh(self.net(x)).view(-1, self.chunk, self.action_dim)


def load_bc(path: str | Path) -> tuple[ChunkedMLP, dict]:
    """The model and its checkpoint dict (normalisation ``mu``/``sd``, ``config``)."""
    path = Path(path)
    path = path / "bc.pt" if path.is_dir() else path
    if not path.exists():
        raise FileNotFoundError(f"bc model {path} not found; rule: bc:PATH with PATH a bc.pt or its folder")
    ck = torch.load(path, map_location="cpu", weights_only=False)
    cfg = ck["config"]
    model = ChunkedMLP(ck["in_dim"], ck["action_dim"], cfg["chunk"], cfg["hidden"], cfg.get("layers", 3))
    model.load_state_dict(ck["state_dict"])
    model.eval()
    return model, ck


class BCPolicy:
    name = "bc"

    def __init__(self, path: str | Path, execute_steps: int = 0, env=None):
        """``execute_steps``: 0 = temporal ensembling (predict every step); K = run K actions of each chunk."""
        self.model, ck = load_bc(path)
        self.mu, self.sd = ck["mu"], ck["sd"]
        self.chunk = ck["config"]["chunk"]
        self.execute_steps, self.env = int(execute_steps), env
        self.text, self.grasp = np.zeros(TEXT_DIM, np.float32), np.zeros(5)
        self._history: list[np.ndarray] = []

    def reset(self, instruction: str, info: dict) -> None:
        self.text = embed_instruction(instruction)
        g = target_grasps(info, self.env)
        self.grasp = g[0] if len(g) else np.zeros(5)  # no grasp known: the policy still acts (and likely fails)
        self._history = []

    def predict_chunk(self, observation: dict) -> np.ndarray:
        """(chunk, A) actions predicted from this observation."""
        x = (bc_features(observation["state"], self.grasp, self.text) - self.mu) / self.sd
        with torch.no_grad():
            return self.model(torch.as_tensor(x[None], dtype=torch.float32))[0].numpy()

    def act(self, observation: dict) -> np.ndarray:
        chunk = self.predict_chunk(observation)
        if self.execute_steps:
            out = _binary_gripper(chunk[:self.execute_steps])
        else:
            self._history = (self._history + [chunk])[-self.chunk:]
            # the prediction for this step from the chunk made i steps ago is its row i
            preds = np.stack([c[len(self._history) - 1 - j] for j, c in enumerate(self._history)])  # oldest first
            w = np.exp(-ENSEMBLE_K * np.arange(len(preds)))
            out = _binary_gripper((w[:, None] * preds).sum(0) / w.sum())
        return out


def _binary_gripper(actions: np.ndarray) -> np.ndarray:
    """The gripper command (last entry) as the demonstrations give it: +1 open, -1 close. An average of
    'open' and 'close' predictions would half-close the jaws on nothing."""
    out = np.array(actions, np.float32, copy=True)
    out[..., -1] = np.where(out[..., -1] >= 0, 1.0, -1.0)
    return out


@register_policy("bc")
def _make_bc(env, arg=None, seed=0):
    if not arg:
        raise ValueError("bc needs a path; rule: bc:PATH")
    path, _, k = arg.partition("@")
    return BCPolicy(path, execute_steps=int(k) if k else 0, env=env)
