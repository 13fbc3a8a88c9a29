"""The lazy id index agrees with the task modules, and ``import vlgsim`` stays light."""

import subprocess
import sys

import gymnasium as gym
import pytest

from vlgsim.envs import import_all
from vlgsim.envs.index import ENV_INDEX
from vlgsim.envs.registration import make_task


def test_index_matches_every_registered_task():
    tasks = import_all()
    assert set(tasks) == set(ENV_INDEX), "add new task ids to vlgsim/envs/index.py"
    for env_id, entry in tasks.items():
        assert ENV_INDEX[env_id] == (entry.cls.__module__, entry.max_episode_steps), env_id


def test_every_indexed_id_is_registered_with_its_time_limit():
    for env_id, entry in ENV_INDEX.items():
        spec = gym.spec(env_id)
        assert spec.max_episode_steps == (None if entry.max_episode_steps == 1 else entry.max_episode_steps)


def test_import_vlgsim_registers_ids_without_loading_simulators():
    code = ("import sys, gymnasium as gym, vlgsim; from vlgsim.envs.index import ENV_INDEX;"
            "missing = [i for i in ENV_INDEX if i not in gym.registry];"
            "heavy = [m for m in ('sapien', 'mani_skill', 'warp', 'torch') if m in sys.modules];"
            "print(missing, heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] []"


def test_unknown_id_names_the_known_ones():
    with pytest.raises(KeyError, match="RealVLG-Grasp-v0"):
        make_task("RealVLG-Nope-v0")
