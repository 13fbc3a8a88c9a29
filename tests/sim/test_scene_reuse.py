"""Scene reuse at reset (RealVLG-Grasp-v0, CPU backend): same rows, images, physics and labels
as rebuilding the scene, on real SAPIEN physics and lavapipe rendering."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import vlgsim  # noqa: F401
from vlgsim.policies import make_policy
from vlgsim.sim.grasp_primitive import DirectPoseControl, tcp_euler_xyz
from vlgsim.sim_eval.rollout import run_episode

pytestmark = pytest.mark.sim

SEEDS = [2000, 2558, 2750, 2813, 2860, 2868, 2872, 2879, 2888, 2898]
"""Chosen so that later scenes hold objects of the category and size of earlier ones in other
colours: reuse then takes pooled entities and recolours them."""


def _episodes(env, seeds):
    """Per seed: the eval row plus the reset images, labels and the final simulator state."""
    base, policy = env.unwrapped, make_policy("oracle", env, seed=0)
    out = []
    for i, s in enumerate(seeds):
        captured = {}
        reset = base.reset

        def spy_reset(*a, **k):
            obs, info = reset(*a, **k)
            captured.update(rgb=obs["rgb"].numpy().copy(), depth=obs["depth"].numpy().copy(),
                            rects=np.array(info["ground_truth"][0]["grasp_rects"]))
            return obs, info

        base.reset = spy_reset
        try:
            r, _ = run_episode(env, policy, i, s)
        finally:
            del base.reset
        row = (r.seed, r.instruction, r.extra.get("target_id"), r.action, r.success, r.failure_mode, r.error)
        state = (base.object_poses().numpy().copy(), base.agent.robot.get_qpos().numpy().copy())
        out.append((row, captured, state))
    return out


@pytest.fixture(scope="module")
def both_modes():
    runs = {}
    for reuse in (False, True):
        env = gym.make("vlgsim:RealVLG-Grasp-v0", scene_reuse=reuse)
        try:
            assert env.unwrapped.scene_reuse is reuse
            runs[reuse] = _episodes(env, SEEDS)
            if reuse:
                assert env.unwrapped.object_pool.reused >= 10  # the comparison covers pooled, recoloured objects
        finally:
            env.close()
    return runs


def test_rows_are_identical_with_and_without_scene_reuse(both_modes):
    rows = {m: [e[0] for e in both_modes[m]] for m in both_modes}
    assert rows[True] == rows[False]
    assert sum(r[4] for r in rows[True]) >= 5  # the oracle grasps succeed: the comparison is not vacuous
    assert all(r[5] != "error" for r in rows[True]), rows[True]


def test_images_labels_and_physics_are_bit_identical(both_modes):
    for (row, cap_a, (poses_a, q_a)), (_, cap_b, (poses_b, q_b)) in zip(both_modes[False], both_modes[True]):
        for k in ("rgb", "depth", "rects"):
            assert np.array_equal(cap_a[k], cap_b[k]), (row[0], k)
        assert np.array_equal(poses_a, poses_b), row[0]  # every object after the grasp, to the last bit
        assert np.array_equal(q_a, q_b), row[0]


def test_reuse_keeps_the_scene_pools_objects_and_leaks_nothing():
    env = gym.make("vlgsim:RealVLG-Grasp-v0")  # scene_reuse is the default
    try:
        base = env.unwrapped
        env.reset(seed=5)
        scene, agent = base.scene, base.agent
        counts = []
        for seed in (6, 7, 5, 5):
            obs, info = env.reset(seed=seed)
            assert base.scene is scene and base.agent is agent  # nothing rebuilt ...
            n = len(base.scenes[0].objects)
            assert len(base.object_slots) == n and base.n_objects[0] == n
            names = [e.name for e in scene.sub_scenes[0].entities]
            assert sum(x.startswith("scene-0_obj") for x in names) == n  # ... no object left behind
            counts.append(len(names) - n)
            assert obs["instruction"] == base.scenes[0].instruction
        assert len(set(counts)) == 1  # robot, table, ground, lights, cameras: same set every time
        built = base.object_pool.built
        env.reset(seed=5)  # the same scene again: every object comes from the pool
        assert base.object_pool.built == built and base.object_pool.reused >= len(base.scenes[0].objects)
    finally:
        env.close()


def test_reuse_off_rebuilds_the_scene_every_reset():
    env = gym.make("vlgsim:RealVLG-Grasp-v0", scene_reuse=False)
    try:
        env.reset(seed=1)
        scene = env.unwrapped.scene
        env.reset(seed=2)
        assert env.unwrapped.scene is not scene and not env.unwrapped.direct_control
    finally:
        env.close()


def test_direct_pose_control_sets_the_targets_maniskill_sets():
    env = gym.make("vlgsim:RealVLG-Grasp-v0")
    try:
        base = env.unwrapped
        rng = np.random.default_rng(0)
        joints = [j._objs[0] for j in base.agent.robot.active_joints]
        for _ in range(5):
            env.reset(seed=int(rng.integers(100)))
            base_xyz = base.agent.robot.pose.p.numpy()
            pos = np.array([[rng.uniform(0.4, 0.7), rng.uniform(-0.2, 0.2), rng.uniform(0.02, 0.3)]]) - base_xyz
            angle, grip = rng.uniform(-np.pi, np.pi, 1), rng.uniform(-1, 1, 1)
            euler = tcp_euler_xyz(angle)
            action = np.concatenate([pos, euler, grip[:, None]], 1).astype(np.float32)
            base.agent.set_action(torch.as_tensor(action))
            expected = [j.drive_target.copy() for j in joints]
            for j in joints:  # scramble, so the direct path must set every target itself
                j.drive_target = np.array([0.123], np.float32)
            control = DirectPoseControl(base.agent, euler)
            control.set_targets(pos, grip)  # first call for this gripper value: ManiSkill's own mimic math
            control.set_targets(pos, grip)  # second: the cached gripper targets
            assert all(np.array_equal(j.drive_target, e) for j, e in zip(joints, expected))
    finally:
        env.close()


def test_ik_runs_on_sapiens_builtin_pinocchio():
    from sapien.pysapien_pinocchio import PinocchioModel

    env = gym.make("vlgsim:RealVLG-Grasp-v0", scene_reuse=False)
    try:
        assert isinstance(env.unwrapped.agent.controller.controllers["arm"].kinematics.pmodel, PinocchioModel)
    finally:
        env.close()
    env = gym.make("vlgsim:Bimanual-PickColor-v0")
    try:
        for arm in env.unwrapped.backend.arms.values():
            assert isinstance(arm.controller.controllers["arm"].kinematics.pmodel, PinocchioModel)
    finally:
        env.close()


def test_closed_loop_episodes_are_identical_with_and_without_reuse():
    traces = {}
    for reuse in (False, True):
        env = gym.make("vlgsim:RealVLG-Grasp-v0", obs_mode="state", control_mode="pd_ee_delta_pose",
                       scene_reuse=reuse)
        try:
            rng = np.random.default_rng(3)
            out = []
            for seed in (40, 41):
                obs, _ = env.reset(seed=seed)
                out.append(np.asarray(obs["state"]).copy())
                for _ in range(15):
                    obs, reward, *_ = env.step(rng.uniform(-1, 1, 7).astype(np.float32))
                    out.append(np.asarray(obs["state"]).copy())
            traces[reuse] = out
        finally:
            env.close()
    assert all(np.array_equal(a, b) for a, b in zip(traces[False], traces[True]))
    assert not np.array_equal(traces[True][0], traces[True][15])  # the arm moved


def test_renderer_with_pooled_objects_gives_the_same_images():
    from vlgsim.envs.realvlg_ground import extra_views
    from vlgsim.scenes import CameraSpec, sample_tabletop_scene
    from vlgsim.sim.sapien_render import TabletopRenderer

    cam = CameraSpec.d435(160, 120)
    pooled, fresh = TabletopRenderer(reuse_objects=True), TabletopRenderer(reuse_objects=False)
    for seed in SEEDS + SEEDS[:3]:
        sc = sample_tabletop_scene(seed, camera=cam)
        cams = [cam] + extra_views(np.random.default_rng(seed), 1, cam)
        for a, b in zip(pooled.render(sc, cams), fresh.render(sc, cams)):
            assert np.array_equal(a.rgb, b.rgb) and np.array_equal(a.depth, b.depth), seed
            assert np.array_equal(a.object_index, b.object_index), seed
    assert pooled._pool.reused >= 10 and fresh._pool.built == 0


def test_direct_grasp_leaves_the_controllers_step_counts_of_maniskills_hooks(grasp_env):
    """The direct primitive steps PhysX without the controllers' per-step hook (it only counts
    steps without interpolation); the counts it leaves are the ones the hook would have."""
    env = grasp_env
    base, policy = env.unwrapped, make_policy("oracle", env, seed=0)
    assert base.direct_control
    calls = []

    class CountingPx:  # counts PhysX steps, passes everything else through
        def __init__(self, px):
            self.px = px

        def __getattr__(self, name):
            return getattr(self.px, name)

        def step(self):
            calls.append(1)
            self.px.step()

    obs, info = env.reset(seed=2000)
    policy.reset(obs["instruction"], dict(info, episode_seed=2000))
    px = base.scene.px
    base.scene.px = CountingPx(px)
    try:
        env.step(policy.act(obs))
    finally:
        base.scene.px = px
    arm, gripper = (base.agent.controller.controllers[k] for k in ("arm", "gripper"))
    assert len(calls) == 102 * base._sim_steps_per_control
    assert arm._step == len(calls)  # the arm's set_action is never called: every step counts
    assert 0 < gripper._step < len(calls)  # steps since the gripper's last new target (close)


def test_unseeded_resets_draw_the_same_new_scenes_as_rebuilding():
    """After a seeded reset, each unseeded reset is a new scene (a training env must not repeat one
    scene), and the same one with and without scene reuse."""
    seeds = {}
    for reuse in (False, True):
        env = gym.make("vlgsim:RealVLG-Grasp-v0", scene_reuse=reuse, obs_mode="state",
                       control_mode="pd_ee_delta_pose", ground_truth=False)
        try:
            env.reset(seed=31)
            seeds[reuse] = []
            for _ in range(3):
                env.reset()
                base = env.unwrapped
                seeds[reuse].append((int(base._episode_seed[0]), [o.spec for o in base.scenes[0].objects]))
        finally:
            env.close()
    assert [s for s, _ in seeds[True]] == [s for s, _ in seeds[False]]
    assert len({s for s, _ in seeds[True]}) == 3 and 31 not in {s for s, _ in seeds[True]}
    assert [o for _, o in seeds[True]] == [o for _, o in seeds[False]]
