"""The top-down DLS controller of the PPO task (``control_mode="pd_joint_pos"``): it tracks commanded
TCP motion and yaw on real SAPIEN physics, and hostile actions get a bounded action or a named rule."""

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from vlgsim.envs.wrappers import GraspStateTopDown, topdown_joint_action
from vlgsim.sim.topdown_control import POS_STEP_M, TopDownDLSController, topdown_goal, topdown_yaw

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def env():
    e = GraspStateTopDown(gym.make("RealVLG-Grasp-v0", obs_mode="grasp_state", control_mode="pd_joint_pos",
                                   n_objects=[1, 1], reach_point="center", ground_truth=False, max_episode_steps=500),
                          yaw=True)
    yield e
    e.close()


def test_dls_controller_tracks_commanded_tcp_motion_and_yaw(env):
    """Constant commands along +x, +y, -z and a diagonal for 8 steps each: the TCP moves along the
    command (at least a third of the commanded distance, as the joint PD drives lag like ManiSkill's
    own IK controller does, off-axis drift under 1.5 cm) and keeps pointing down; a yaw command turns
    the TCP about world z by at least a third of the commanded 0.6 rad while the position holds."""
    x, _ = env.reset(seed=1)
    for cmd in ([0.5, 0, 0], [0, 0.5, 0], [0, 0, -0.5], [-0.3, -0.3, 0.3]):
        start = x[18:21].copy()
        for _ in range(8):
            x, *_ = env.step(np.array([*cmd, 0.0, 1.0], np.float32))
        moved, want = x[18:21] - start, np.array(cmd) * POS_STEP_M * 8
        along = moved @ want / np.linalg.norm(want)
        off = np.linalg.norm(moved - along * want / np.linalg.norm(want))
        assert along > np.linalg.norm(want) / 3 and off < 0.015, (cmd, moved)
        assert abs(abs(x[21:25] @ [0, 1, 0, 0]) - 1) < 2e-3, x[21:25]
        assert abs(topdown_yaw(x[21:25])) < 0.02
    p0, yaw0 = x[18:21].copy(), topdown_yaw(x[21:25])
    for _ in range(6):
        x, *_ = env.step(np.array([0, 0, 0, 1.0, 1.0], np.float32))
    assert topdown_yaw(x[21:25]) - yaw0 > 0.6 / 3 and np.linalg.norm(x[18:21] - p0) < 0.01


def test_jaw_features_follow_the_yaw(env):
    """Seed 100002's target is long along one horizontal axis (half extents 0.069 x 0.014 m): turning
    the gripper towards d = 0 (the jaw feature's cos 2d -> 1) narrows the box along the closing axis."""
    x, _ = env.reset(seed=100002)
    w0, c0 = x[39], x[40]
    for _ in range(10):
        x, *_ = env.step(np.array([0, 0, 0, np.sign(x[41]), 1.0], np.float32))
    assert x[40] > max(c0, 0.9) and x[39] < w0 - 0.01, (w0, c0, x[39:42])


def test_grasp_features_name_the_target_grasp_and_follow_the_yaw(env):
    """The grasp features (``grasp_state[42:48]``) at reset are the target's best collision-free grasp label
    relative to the TCP (the scripted expert's first choice); turning the gripper towards the label's jaw
    axis raises cos 2d towards 1; with ``reach_point="grasp"`` the reward rises as the TCP moves to it."""
    from vlgsim.grasp.labels import collision_free_grasps

    x, _ = env.reset(seed=100004)  # a hammer: its label's jaw axis is ~0.9 rad off the TCP's
    sc = env.unwrapped.scenes[0]
    g = collision_free_grasps(sc.objects, sc.target_index)[0]
    assert np.allclose(x[42:45], g.center - x[18:21], atol=1e-4) and abs(x[47] - g.opening_m) < 1e-6
    c0 = x[45]
    assert c0 < 0.5, x[42:48]
    for _ in range(30):  # the wrist turns ~0.04 rad a step (the joint drives lag the DLS targets)
        x, *_ = env.step(np.array([0, 0, 0, np.sign(x[46]), 1.0], np.float32))
    assert x[45] > max(c0 + 0.3, 0.9), (c0, x[42:48])
    e = GraspStateTopDown(gym.make("RealVLG-Grasp-v0", obs_mode="grasp_state", control_mode="pd_joint_pos",
                                   n_objects=[1, 1], reach_point="grasp", ground_truth=False), yaw=True)
    x, _ = e.reset(seed=100004)
    rewards, dists = [], []
    for _ in range(8):
        x, r, *_ = e.step(np.array([*np.clip(x[42:45] / POS_STEP_M, -1, 1), 0, 1.0], np.float32))
        rewards.append(r)
        dists.append(np.linalg.norm(x[42:45]))
    assert dists[-1] < dists[0] - 0.05 and rewards[-1] > rewards[0] + 0.05, (dists, rewards)
    e.close()


def test_controller_names_bad_modes_and_yaw_helpers_agree():
    for yaw in (-1.2, 0.0, 0.7):
        q = topdown_goal(yaw).as_quat()[[3, 0, 1, 2]]
        assert abs(topdown_yaw(q) - yaw) < 1e-9
    e = gym.make("RealVLG-Grasp-v0", obs_mode="grasp_state", control_mode="pd_ee_delta_pose", n_objects=[1, 1],
                 ground_truth=False)
    with pytest.raises(ValueError, match="control_mode='pd_joint_pos'"):
        TopDownDLSController.for_env(e)
    with pytest.raises(ValueError, match="without yaw"):
        GraspStateTopDown(e, yaw=True)
    e.close()


_floats = st.floats(allow_nan=True, allow_infinity=True, width=32)


@settings(max_examples=150, deadline=None)
@given(action=st.lists(_floats, min_size=3, max_size=6), qpos_noise=st.floats(-0.5, 0.5))
def test_joint_action_is_within_limits_or_names_the_rule(env, action, qpos_noise):
    """Any action of any length at a perturbed robot state: an 8-D joint target inside the joint limits with
    the gripper in [-1, 1], or (wrong length, non-finite) a ValueError naming the rule."""
    x, _ = env.reset(seed=0) if env.unwrapped._elapsed_steps > 400 else (env._x, None)
    x = x.copy()
    x[:7] += qpos_noise
    c = env.controller
    try:
        a = topdown_joint_action(c, action, x)
    except ValueError as e:
        assert "rule:" in str(e)
        assert len(action) not in (4, 5) or not np.all(np.isfinite(action))
        return
    assert a.shape == (8,) and np.all(np.isfinite(a))
    assert np.all(a[:7] >= c.q_low - 1e-6) and np.all(a[:7] <= c.q_high + 1e-6) and abs(a[7]) <= 1


def test_seed_each_reset_gives_a_new_scene_per_unseeded_reset(env):
    """SeedEachReset moves to the next seed of its range at each unseeded reset (the training envs'
    scenes), and a seeded reset does not move the sequence."""
    from vlgsim.envs.wrappers import SeedEachReset

    base = env.unwrapped
    base.reset(seed=1100000)
    w = SeedEachReset(env, 1100000)
    seeds, objs = [], []
    for s in (None, None, 7, None):
        x, _ = w.reset(seed=s)
        seeds.append(int(base._episode_seed[0]))
        objs.append(x[29:39].copy())
    assert seeds == [1100000, 1100001, 7, 1100002]
    assert not np.allclose(objs[0], objs[1]) and not np.allclose(objs[1], objs[3])
