"""The Shadow Hand stand-in (SAPIEN) behind the Robot protocol: a DexVLG-PartGrasp-v0 grasp
from a grasp set, chosen by the oracle, replayed through ROS joint names behind the safety
layer (SafeRobot, hand-on-arm limits with palm pose passthrough), holds the object."""

import gymnasium as gym
import numpy as np
import pytest

from vlgsim.data.grasp_sets import save_grasp_set
from vlgsim.grasp.dex_pipeline import synthesize_grasp_set
from vlgsim.policies.dex_oracle import DexOraclePolicy
from vlgsim.real2sim import CartesianCommand, GripperCommand, JointCommand, Robot
from vlgsim.real2sim.limits.shadow import shadow_hand_on_arm_limits
from vlgsim.real2sim.safety import SafeRobot
from vlgsim.real2sim.shadow_joints import ROS_JOINT_NAMES, model_to_ros, ros_to_model
from vlgsim.real2sim.shadow_replay import plan_dex_grasp_replay, replay, split_joint_command, split_palm_command
from vlgsim.real2sim.shadow_sim import ShadowHandSim

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def block_grasps(tmp_path_factory):
    out = tmp_path_factory.mktemp("grasp_sets")
    save_grasp_set(synthesize_grasp_set("block", 1.0, per_part=8, device="cpu", seed=0), out)
    return out


@pytest.fixture(scope="module")
def env():
    e = gym.make("vlgsim:DexVLG-PartGrasp-v0", categories=["block"], obs_mode="state", with_fingers=False)
    yield e
    e.close()


def test_oracle_grasp_replays_through_the_safety_layer_and_holds(env, block_grasps):
    u = env.unwrapped
    obs, info = env.reset(seed=1)
    oracle = DexOraclePolicy(str(block_grasps))
    oracle.reset(info["instruction"], info)
    g = oracle.act(obs)
    T = np.asarray(info["object_pose"])
    plan = plan_dex_grasp_replay(u.hand, g, T, u.field.mesh)
    assert [s.phase for s in plan.steps] == ["pre-shape", "above", "approach", "reach", "close", "squeeze", "lift",
                                             "hold"]
    for s in plan.steps:
        if isinstance(s.command, JointCommand):
            assert s.command.positions.shape == (24,) and np.all(s.command.positions[-2:] == 0.0)
    traj = plan.hand_trajectory()  # what the real hand's trajectory controller would get
    assert traj.joint_names == ROS_JOINT_NAMES and len(traj.points) == 4
    assert np.all(np.diff([p.time_from_start_s for p in traj.points]) > 0)
    assert np.allclose(ros_to_model(traj.points[-1].positions), ros_to_model(plan.steps[-1].command.positions))

    z0 = u.sim.object_pose[2, 3]
    limits = shadow_hand_on_arm_limits()
    assert limits.joint_names == ROS_JOINT_NAMES and limits.pose_passthrough
    robot = ShadowHandSim(u.sim)
    with SafeRobot(robot, limits, execute=True) as safe:
        assert isinstance(safe, Robot) and robot.joint_names == ROS_JOINT_NAMES
        log = replay(safe, plan, limits)
        events = safe.clear_events()
    states = dict(log)
    # nothing was rejected or stopped (the stop on leaving the with block comes after); clamps are reported
    assert [e for e in events if e.kind in ("reject", "stop")] == [], [e.message for e in events if e.kind != "clamp"]
    clamps = [e for e in events if e.kind == "clamp"]
    print(f"safety clamps: {len(clamps)}, rules {sorted({e.rule for e in clamps})}; watchdog stops "
          f"{sum(e.kind == 'watchdog' for e in events)}; commands sent {len(robot.sent)}")
    # the pieces were inside every step cap: only the joint margin may clamp (grasp shapes at a joint stop)
    assert {e.rule for e in clamps} <= {"joint_limit"}, [e.message for e in clamps]
    # every palm pose the stand-in got is inside the palm box and each one within the step caps of the last
    poses = [c.pose for c in robot.sent if isinstance(c, CartesianCommand)]
    assert len(poses) > 4
    for a, b in zip(poses, poses[1:]):
        assert np.all(b[:3] >= limits.workspace_lower_m) and np.all(b[:3] <= limits.workspace_upper_m)
        assert np.linalg.norm(b[:3] - a[:3]) <= limits.ee_step_max_m + 1e-9
    # the pre-shape happens in free space: every ROS-named joint reaches its commanded value
    pre = plan.steps[0].command.positions
    pre = np.clip(pre, limits.safe_lower, limits.safe_upper)  # the margin keeps joints 0.05 rad off their stops
    assert np.abs(states["pre-shape"].joint_positions - pre).max() < 0.05
    assert states["pre-shape"].joint_names == ROS_JOINT_NAMES
    # the palm follows the Cartesian commands (within 5 mm at the grasp) and rises with the lift
    assert np.linalg.norm(states["reach"].ee_pose[:3] - g[:3]) < 0.005
    assert states["hold"].ee_pose[2] - states["squeeze"].ee_pose[2] > 0.035
    lifted = u.sim.object_pose[2, 3] - z0
    assert lifted >= 0.03, f"object rose {lifted:.3f} m"
    assert all(isinstance(c, (JointCommand, CartesianCommand)) for c in robot.sent)


def test_split_commands_stay_inside_the_caps():
    limits = shadow_hand_on_arm_limits()
    q0 = np.clip(np.zeros(24), limits.safe_lower, limits.safe_upper)
    pieces = split_joint_command(JointCommand(limits.safe_upper, 0.1), q0, limits)
    assert np.allclose(pieces[-1].positions, limits.safe_upper)
    prev = q0
    for c in pieces:
        assert np.all(np.abs(c.positions - prev) <= 0.9 * limits.joint_step_cap_rad(c.duration_s) + 1e-12)
        prev = c.positions
    pose0 = np.r_[0.0, 0.0, 0.5, 1.0, 0, 0, 0]
    goal = np.r_[0.3, -0.2, 0.1, 0.0, 1.0, 0, 0]  # 0.54 m away, turned by pi
    palm = split_palm_command(CartesianCommand(goal, 1.0), pose0, limits)
    assert np.allclose(palm[-1].pose[:3], goal[:3]) and abs(abs(palm[-1].pose[4]) - 1.0) < 1e-9
    assert len(palm) == int(np.ceil(np.pi / (0.9 * limits.ee_rotation_step_max_rad)))


def test_stand_in_rejects_what_the_hand_cannot_do(env):
    u = env.unwrapped
    env.reset(seed=0)
    robot = ShadowHandSim(u.sim)
    with pytest.raises(RuntimeError, match="before connect"):
        robot.command(JointCommand(np.zeros(24)))
    with robot:
        q = model_to_ros(np.zeros(22))
        q[ROS_JOINT_NAMES.index("rh_WRJ1")] = 0.2
        with pytest.raises(ValueError, match="rh_WRJ1, rh_WRJ2 = \\[0.2, 0.0\\]; rule: 0 on the stand-in"):
            robot.command(JointCommand(q))
        with pytest.raises(ValueError, match="NaN/inf"):
            robot.command(JointCommand(np.full(24, np.nan)))
        with pytest.raises(ValueError, match="shape \\(22,\\); rule: 24"):
            robot.command(JointCommand(np.zeros(22)))
        with pytest.raises(TypeError, match="GripperCommand; rule: the Shadow Hand takes JointCommand"):
            robot.command(GripperCommand(0.05))
        with pytest.raises(ValueError, match="rule: 7 finite values"):
            robot.command(CartesianCommand(np.r_[0.0, 0.0, np.inf, 1.0, 0, 0, 0]))
        with pytest.raises(ValueError, match="quaternion.*non-zero"):
            robot.command(CartesianCommand(np.r_[0.0, 0.0, 0.5, 0.0, 0, 0, 0]))
        with pytest.raises(ValueError, match="duration_s"):
            robot.command(JointCommand(np.zeros(24), duration_s=float("nan")))
        assert robot.sent == []
        # a valid command moves the hand; stop() holds where it is
        robot.command(CartesianCommand(np.r_[0.0, 0.0, 0.6, 0.0, 1.0, 0.0, 0.0], 1.0))
        robot.stop()
        before = robot.observe()
        u.sim.step(60)
        after = robot.observe()
        assert np.allclose(before.ee_pose[:3], after.ee_pose[:3], atol=2e-3)
        assert after.ee_pose[2] == pytest.approx(0.6, abs=0.01)


def test_real_run_robot_shadow_replays_oracle_grasps_through_the_safety_layer(block_grasps, tmp_path):
    import json

    from typer.testing import CliRunner

    from vlgsim.cli import app

    res = CliRunner().invoke(app, ["real", "run", "--robot", "shadow", "--policy", f"oracle:{block_grasps}",
                                   "--episodes", "1", "--seed", "1", "--execute", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "report.json").read_text())
    row = report["rows"][0]
    assert report["robot"] == "shadow" and report["episodes"] == 1
    assert row["failure_mode"] == "none" and row["rejections"] == 0 and row["steps"] == 8, row["error"]
    assert row["outcome"] == "success" and row["outcome_source"] == "detected" and row["target_rise_m"] >= 0.03
    assert row["clamps"] == sum(e["kind"] == "clamp" for e in row["safety_events"])
    bad = CliRunner().invoke(app, ["real", "run", "--robot", "shadow", "--policy", "random", "--out", str(tmp_path)])
    assert bad.exit_code != 0 and "rule: oracle[:GRASP_SET_DIR]" in str(bad.exception)
