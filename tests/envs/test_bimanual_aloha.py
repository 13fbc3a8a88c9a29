"""The ALOHA embodiment (two ViperX 300 from gym-aloha's compiled MJCF) and the mplib
motion-planned expert, on real SAPIEN physics and a real mplib planner (its side venv)."""

import xml.etree.ElementTree as ET
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from scipy.spatial.transform import Rotation

import vlgsim  # noqa: F401
from vlgsim.assets.viperx import FINGER_RANGE_M, HOME_QPOS, viperx_urdf
from vlgsim.policies import make_policy
from vlgsim.sim_eval.rollout import run_episode


def test_viperx_urdf_keeps_the_mjcf_kinematics_limits_and_meshes():
    import mujoco

    from vlgsim.assets.viperx import mjcf_path

    urdf = Path(viperx_urdf())
    root = ET.parse(urdf).getroot()
    joints = {j.get("name"): j for j in root.iter("joint")}
    m = mujoco.MjModel.from_xml_path(mjcf_path())
    for name in ("waist", "shoulder", "elbow", "forearm_roll", "wrist_angle", "wrist_rotate"):
        j, mj = joints[name], m.joint(f"vx300s_left/{name}")
        assert j.get("type") == "revolute"
        lim = j.find("limit")
        np.testing.assert_allclose([float(lim.get("lower")), float(lim.get("upper"))], mj.range, atol=1e-6)
        np.testing.assert_allclose([float(v) for v in j.find("axis").get("xyz").split()], mj.axis, atol=1e-9)
    for name in ("left_finger", "right_finger"):  # both count travel from the centre line
        lim = joints[name].find("limit")
        assert joints[name].get("type") == "prismatic"
        assert (float(lim.get("lower")), float(lim.get("upper"))) == FINGER_RANGE_M
    np.testing.assert_allclose([float(v) for v in joints["elbow"].find("origin").get("xyz").split()], [0.05955, 0, 0.3])
    links = {lk.get("name"): lk for lk in root.iter("link")}
    assert len(links["base_link"].findall("collision")) == 0  # contype 0 in the MJCF
    for name in ("shoulder_link", "upper_arm_link", "gripper_link", "left_finger_link", "right_finger_link"):
        col = links[name].find("collision/geometry/mesh").get("filename")
        assert (urdf.parent / col).stat().st_size > 1000 and (urdf.parent / f"{col}.convex.stl").exists()
        assert float(links[name].find("inertial/mass").get("value")) == pytest.approx(
            m.body_mass[m.body(f"vx300s_left/{name}").id])
    assert "tcp" in links and (urdf.with_suffix(".srdf")).exists()


@pytest.mark.sim
def test_aloha_is_the_default_with_14d_state_and_joint_actions():
    env = gym.make("Bimanual-ArmChoice-v0", control_mode="pd_joint_pos")
    u = env.unwrapped
    assert u.embodiment == "aloha"
    check_env(u, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    s = obs["state"]
    assert s.shape == (14 + 14 + 7 * len(u.body_names),) and env.action_space.shape == (14,)
    grip_open = (HOME_QPOS[6] - FINGER_RANGE_M[0]) / (FINGER_RANGE_M[1] - FINGER_RANGE_M[0])
    np.testing.assert_allclose(s[:14], np.r_[HOME_QPOS[:6], grip_open, HOME_QPOS[:6], grip_open], atol=1e-5)
    assert env.action_space.low[6] == 0 and env.action_space.high[13] == 1  # grippers: open fraction
    # ALOHA joint action: move the left waist 0.3 rad, close the left gripper, keep the right arm
    target = np.r_[HOME_QPOS[:6], 0.0, HOME_QPOS[:6], 1.0].astype(np.float32)
    target[0] = 0.3
    for _ in range(15):
        obs = env.step(target)[0]
    s = obs["state"]
    assert abs(s[0] - 0.3) < 0.02 and s[6] < 0.1 and s[13] > 0.95
    np.testing.assert_allclose(s[7:13], HOME_QPOS[:6], atol=0.02)
    with pytest.raises(ValueError, match="embodiment"):
        gym.make("Bimanual-ArmChoice-v0", embodiment="viperx")
    env.close()


@pytest.mark.sim
def test_aloha_cameras_render_the_arms():
    env = gym.make("Bimanual-ArmChoice-v0", obs_mode="rgb", image_size=(64, 48))
    obs, _ = env.reset(seed=0)
    for cam in ("head", "low", "left_wrist", "right_wrist"):  # cam_high, cam_low, cam_left_wrist, cam_right_wrist
        img = obs[f"{cam}_rgb"]
        assert img.shape == (48, 64, 3) and img.dtype == np.uint8 and img.std() > 5, cam
    assert env.observation_space.contains(obs)
    env.close()


@pytest.mark.sim
@pytest.mark.parametrize("embodiment", ["aloha", "panda"])
def test_motion_planned_side_grasp_is_level(mplib_venv, embodiment):
    env = gym.make("Bimanual-Approach-v0", variant="side", control_mode="pd_joint_pos", embodiment=embodiment)
    pol = make_policy("bimanual_expert", env)
    tilts = []
    obs, info = env.reset(seed=1)
    pol.reset(obs["instruction"], info)
    arm = ("left", "right").index(pol.plan.steps[0].arm)
    done = False
    while not done:
        obs, _, term, trunc, info = env.step(pol.act(obs))
        done = term or trunc
        t = env.unwrapped.backend.tcp_poses()[arm]
        if info["subgoals_met"] >= 1 and not tilts:  # at first reach: the approach axis (TCP z)
            tilts.append(abs(Rotation.from_quat([*t[4:7], t[3]]).as_matrix()[2, 2]))
    assert info["success"] and info["metrics"]["violation"] == 0 and info["factors"]["measured"] == "side"
    assert tilts and min(tilts) < 0.2  # gripper level (approach axis within 12 deg of horizontal)
    stats = {k: sum(p.stats[k] for p in env.unwrapped.backend.arm_planners().values()) for k in ("screw", "rrt")}
    assert stats["screw"] > 0 and stats["rrt"] > 0  # real mplib plans, both kinds
    env.close()


@pytest.mark.sim
def test_planner_goes_around_an_obstacle(mplib_venv):
    env = gym.make("Bimanual-PickColor-v0", control_mode="pd_joint_pos")
    env.reset(seed=0)
    be = env.unwrapped.backend
    pl = be.arm_planners()["left"]
    q = be.qpos()[0].astype(np.float64)
    tcp = be.tcp_poses()[0].astype(np.float64)
    R = Rotation.from_quat([*tcp[4:7], tcp[3]]).as_matrix()
    goal = tcp[:3] + [0.14, 0.0, 0.0]
    free = pl.plan(q, goal, R, np.zeros((0, 3)), start_pos_world=tcp[:3])
    assert free.method == "screw" and len(free.positions) > 1
    # a wall across the straight line: the screw motion is refused, RRT goes around it
    yy, zz = np.meshgrid(np.linspace(tcp[1] - 0.10, tcp[1] + 0.04, 15), np.linspace(0.0, tcp[2] + 0.04, 25))
    wall = np.c_[np.full(yy.size, tcp[0] + 0.05), yy.ravel(), zz.ravel()]
    around = pl.plan(q, goal, R, wall, start_pos_world=tcp[:3])
    assert around.method == "rrt" and len(around.positions) > 1
    agent = be.arms["left"]
    import torch

    for qa in around.positions[:: max(1, len(around.positions) // 20)]:
        agent.robot.set_qpos(torch.tensor(np.r_[qa, q[6:]], dtype=torch.float32)[None])
        p = agent.tcp.pose.raw_pose[0].numpy()[:3]
        assert np.min(np.linalg.norm(wall - p, axis=1)) > 0.01  # the TCP never crosses the wall
    env.close()


@pytest.mark.sim
def test_aloha_demos_follow_the_14d_convention(mplib_venv, tmp_path):
    from vlgsim.data.bimanual_demos import DemoConfig, generate_demos
    from vlgsim.data.lerobot import LeRobotDataset

    generate_demos(DemoConfig(tasks=["Bimanual-PickColor-v0"], episodes=1, image_size=(32, 32)), tmp_path)
    ds = LeRobotDataset(tmp_path)
    assert ds.info["robot_type"] == "aloha"
    ep = ds.episode(0)
    T = len(ep.frames["action"])
    assert ep.frames["observation.state"].shape == (T, 14) and ep.frames["action"].shape == (T, 14)
    assert ds.info["features"]["action"]["names"][6] == "left_gripper"
    grip = ep.frames["action"][:, [6, 13]]
    assert grip.min() >= 0 and grip.max() <= 1 and grip[:, 0].min() == 0  # the left gripper closed on the block
    for cam in ("cam_high", "cam_low", "cam_left_wrist", "cam_right_wrist"):
        assert ds.video(0, f"observation.images.{cam}").shape == (T, 32, 32, 3)
