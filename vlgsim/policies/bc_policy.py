"""A behaviour-cloned chunked MLP (``vlgsim train bc``) as a policy: ``bc:PATH`` with PATH
the folder holding ``bc.pt`` (or the file). Acts on ``state`` + the instruction, returns
the whole predicted chunk (T, A) by default; ``bc:PATH@K`` executes only its first K
actions before predicting again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vlgsim.policies.base import register_policy


class BCPolicy:
    name = "bc"

    def __init__(self, path: str | Path, execute_steps: int = 0):
        """``execute_steps``: actions of each predicted chunk to run before predicting again (0 = all)."""
        from vlgsim.training.bc import ChunkedMLP

        path = Path(path)
        path = path / "bc.pt" if path.is_dir() else path
        if not path.exists():
            raise FileNotFoundError(f"bc model {path} not found; rule: bc:PATH with PATH a bc.pt or its folder")
        ck = torch.load(path, map_location="cpu", weights_only=False)
        cfg = ck["config"]
        self.model = ChunkedMLP(ck["in_dim"], ck["action_dim"], cfg["chunk"], cfg["hidden"])
        self.model.load_state_dict(ck["state_dict"])
        self.model.eval()
        self.mu, self.sd = ck["mu"], ck["sd"]
        self.text = np.zeros(0, np.float32)
        self.execute_steps = int(execute_steps) or cfg["chunk"]

    def reset(self, instruction: str, info: dict) -> None:
        from vlgsim.training.bc import embed_instruction

        self.text = embed_instruction(instruction)

    def act(self, observation: dict) -> np.ndarray:
        x = (np.r_[np.asarray(observation["state"], np.float32), self.text] - self.mu) / self.sd
        with torch.no_grad():
            return self.model(torch.as_tensor(x[None], dtype=torch.float32))[0, :self.execute_steps].numpy()


@register_policy("bc")
def _make_bc(env, arg=None, seed=0):
    if not arg:
        raise ValueError("bc needs a path; rule: bc:PATH")
    path, _, k = arg.partition("@")
    return BCPolicy(path, execute_steps=int(k) if k else 0)
