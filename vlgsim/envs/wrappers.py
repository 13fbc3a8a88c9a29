"""Wrappers between batched ManiSkill tensors and the plain Gymnasium API."""

from __future__ import annotations

import copy
import string

import gymnasium as gym
import numpy as np
import torch

from vlgsim.sim.topdown_control import TOPDOWN_QUAT  # the top-down TCP frame, re-exported

INSTRUCTION_CHARSET = string.ascii_letters + string.digits + string.punctuation + " "
INSTRUCTION_MAX_LEN = 256


def _np(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return x


class NumpySingleEnv(gym.Wrapper):
    """One sub-scene, numpy in and out. Observations: the task's arrays unbatched plus
    ``instruction`` (text). Info: plain python/numpy, ground truth of the target at top level."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}
    """Only what works headless (ManiSkill's ``human`` viewer needs a display)."""

    def __init__(self, env):
        super().__init__(env)
        base = env.unwrapped
        self.metadata = dict(self.metadata, render_fps=int(getattr(base, "control_freq", 20) or 20))
        if base.num_envs != 1:
            raise ValueError(f"NumpySingleEnv needs num_envs == 1, got {base.num_envs}")
        self.action_space = base.single_action_space
        spaces = {}
        H, W = base.camera_spec.height, base.camera_spec.width
        mode = base.vlg_obs_mode
        if "rgbd" in mode:
            spaces["rgb"] = gym.spaces.Box(0, 255, (H, W, 3), np.uint8)
            spaces["depth"] = gym.spaces.Box(0.0, np.float32(base.camera_spec.far_m), (H, W), np.float32)
            spaces["intrinsic"] = gym.spaces.Box(-np.inf, np.inf, (3, 3), np.float32)
            spaces["extrinsic"] = gym.spaces.Box(-np.inf, np.inf, (4, 4), np.float32)
        if mode in ("state", "rgbd+state"):
            n = base.state_vector().shape[-1]
            spaces["state"] = gym.spaces.Box(-np.inf, np.inf, (n,), np.float32)
        if mode == "grasp_state":
            spaces["grasp_state"] = gym.spaces.Box(-np.inf, np.inf, (base.grasp_state().shape[-1],), np.float32)
        spaces["instruction"] = gym.spaces.Text(INSTRUCTION_MAX_LEN, charset=INSTRUCTION_CHARSET)
        self.observation_space = gym.spaces.Dict(spaces)

    def _obs(self, obs):
        out = {k: _np(v)[0] for k, v in obs.items()}
        if "depth" in out:
            out["depth"] = np.clip(out["depth"], 0.0, self.observation_space["depth"].high[0, 0]).astype(np.float32)
        out["instruction"] = self.env.unwrapped.scenes[0].instruction
        return out

    def _info(self, info):
        out = {}
        for k, v in info.items():
            if k == "ground_truth":
                out.update(copy.deepcopy(v[0]))  # every call returns fresh data
            elif isinstance(v, list):
                out[k] = v[0]
            else:
                v = _np(v)
                out[k] = v[0].item() if isinstance(v, np.ndarray) and v.ndim == 1 else v
        return out

    def reset(self, *, seed=None, options=None):
        obs, info = self.env.reset(seed=seed, options=options)
        return self._obs(obs), self._info(info)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return (self._obs(obs), float(_np(reward)[0]), bool(_np(terminated)[0]), bool(_np(truncated)[0]),
                self._info(info))

    def render(self):
        return _np(self.env.unwrapped.capture()[0])[0]

    @property
    def render_mode(self):
        return "rgb_array"


def _observation_key_space(env, key: str, wrapper: str) -> gym.Space:
    """The space of ``key`` in ``env``'s Dict observation; a ``ValueError`` naming the rule otherwise."""
    space = env.observation_space
    if not isinstance(space, gym.spaces.Dict) or key not in space.spaces:
        raise ValueError(f"{wrapper} needs a Dict observation with '{key}', got {space}; rule: make the env "
                         f"with obs_mode='{key}'")
    return space[key]


class SeedEachReset(gym.Wrapper):
    """Every unseeded reset uses the next seed of ``first_seed, first_seed + 1, ...``: a new scene each
    episode from a known, documented seed range (training envs use ranges that never hold the held-out
    evaluation seeds; the env's own unseeded reset draws its seed from its main RNG). A seeded reset
    uses its seed and does not move the sequence."""

    def __init__(self, env, first_seed: int):
        super().__init__(env)
        self.next_seed = int(first_seed)

    def reset(self, *, seed=None, options=None):
        if seed is None:
            seed, self.next_seed = self.next_seed, self.next_seed + 1
        return self.env.reset(seed=seed, options=options)


class StateOnly(gym.ObservationWrapper):
    """Only the flat privileged ``state`` vector of a vlgsim observation (a plain ``Box``, as
    stable-baselines3's ``check_env`` and MLP policies want): wrap an env made with
    ``obs_mode="state"``, e.g. ``StateOnly(gym.make("vlgsim:RealVLG-Grasp-v0", obs_mode="state",
    control_mode="pd_ee_delta_pose"))``. The instruction text is dropped (the state marks the target)."""

    def __init__(self, env):
        super().__init__(env)
        self.observation_space = _observation_key_space(env, "state", "StateOnly")

    def observation(self, obs):
        return obs["state"]


def target_of_state(state) -> tuple[np.ndarray, float]:
    """(instructed object's position (3,) world m, its rise above its start m) from a RealVLG
    ``state`` vector of any object count: [qpos 9 | qvel 9 | TCP pose 7 | M poses x 7 | one-hot M | rise]."""
    state = np.asarray(state, np.float64)
    if state.ndim != 1 or not np.all(np.isfinite(state)):
        raise ValueError(f"state of shape {state.shape} (finite: {bool(np.all(np.isfinite(state)))}); "
                         "rule: one finite RealVLG state vector")
    M = (len(state) - 26) // 8
    if M < 1 or len(state) != 26 + 8 * M:
        raise ValueError(f"state of length {len(state)}; rule: 26 + 8 * max_objects (the RealVLG state vector)")
    poses = state[25:25 + 7 * M].reshape(M, 7)
    return poses[int(np.argmax(state[25 + 7 * M:25 + 8 * M])), :3], float(state[-1])


TARGET_STATE_DIM = 25 + 3 + 1


def target_state(state) -> np.ndarray:
    """(29,) float32 observation in the style of ManiSkill's PickCube-v1 state: qpos 9, qvel 9,
    TCP pose 7, instructed object's position relative to the TCP (3, world frame, m), its rise (m).
    Independent of the scene's object count (the one-hot target slot picks the object)."""
    state = np.asarray(state, np.float64)
    target, rise = target_of_state(state)
    return np.r_[state[:25], target - state[18:21], rise].astype(np.float32)


class TargetState(gym.ObservationWrapper):
    """:func:`target_state` of a vlgsim ``state`` observation as a plain ``Box`` (for SB3):
    the robot plus the instructed object relative to the gripper, whatever the object count."""

    def __init__(self, env):
        super().__init__(env)
        _observation_key_space(env, "state", "TargetState")
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (TARGET_STATE_DIM,), np.float32)

    def observation(self, obs):
        return target_state(obs["state"])


TOPDOWN_ROT_GAIN = -1.0 / 0.1
"""Normalised ``pd_ee_delta_pose`` rotation action per radian of orientation error: the Panda's
controller turns at most 0.1 rad a step, and ManiSkill scales the normalised rotation by
``rot_lower`` (-0.1), hence the sign."""


def topdown_action(action, tcp_quat) -> np.ndarray:
    """A 4-D action [dx, dy, dz, gripper] in [-1, 1] (normalised ``pd_ee_delta_pose`` translation, world
    frame; gripper -1 closed, 1 open) as the 7-D ``pd_ee_delta_pose`` action whose rotation part turns the
    TCP (quaternion ``tcp_quat`` [qw, qx, qy, qz], world) back to :data:`TOPDOWN_QUAT`: the agent
    moves a gripper that keeps pointing down at a fixed yaw."""
    from scipy.spatial.transform import Rotation

    a = np.asarray(action, np.float64).reshape(-1)
    q = np.asarray(tcp_quat, np.float64).reshape(-1)
    if a.shape != (4,) or not np.all(np.isfinite(a)):
        raise ValueError(f"top-down action {a[:8]} of shape {a.shape}; rule: 4 finite numbers [dx, dy, dz, gripper]")
    if q.shape != (4,) or not np.all(np.isfinite(q)) or np.linalg.norm(q) < 1e-6:
        raise ValueError(f"TCP quaternion {q}; rule: 4 finite numbers [qw, qx, qy, qz], not all zero")
    cur, goal = Rotation.from_quat(q[[1, 2, 3, 0]]), Rotation.from_quat(TOPDOWN_QUAT[[1, 2, 3, 0]])
    rot = (goal * cur.inv()).as_rotvec() * TOPDOWN_ROT_GAIN
    n = np.linalg.norm(rot)
    rot = rot / n if n > 1 else rot
    return np.r_[np.clip(a[:3], -1, 1), rot, np.clip(a[3], -1, 1)].astype(np.float32)


def topdown_joint_action(controller, action, grasp_state) -> np.ndarray:
    """A top-down action [dx, dy, dz, gripper] or [dx, dy, dz, dyaw, gripper] in [-1, 1] (translation
    normalised by :data:`vlgsim.sim.topdown_control.POS_STEP_M`, world frame; yaw turn normalised by
    ``YAW_STEP_RAD``, about world z; gripper -1 closed, 1 open) as the 8-D ``pd_joint_pos`` action of
    ``controller`` (:class:`~vlgsim.sim.topdown_control.TopDownDLSController`) at the robot state of a
    ``grasp_state`` vector. Without a yaw the TCP is held at yaw 0 (:data:`TOPDOWN_QUAT`); with one, the
    goal yaw is the current yaw plus the turn, kept within [-pi/2, pi/2] (a parallel gripper's range)."""
    from vlgsim.sim.topdown_control import POS_STEP_M, YAW_STEP_RAD, topdown_yaw

    a = np.asarray(action, np.float64).reshape(-1)
    x = np.asarray(grasp_state, np.float64).reshape(-1)
    if a.shape not in ((4,), (5,)) or not np.all(np.isfinite(a)):
        raise ValueError(f"top-down action {a[:8]} of shape {a.shape}; rule: 4 or 5 finite numbers "
                         "[dx, dy, dz, (dyaw,) gripper]")
    a = np.clip(a, -1, 1)
    yaw = float(np.clip(topdown_yaw(x[21:25]) + a[3] * YAW_STEP_RAD, -np.pi / 2, np.pi / 2)) if len(a) == 5 else 0.0
    return controller.joint_action(x[:9], a[:3] * POS_STEP_M, yaw, a[-1])


def topdown_env_action(controller, action, grasp_state) -> np.ndarray:
    """The env action of a top-down action at a ``grasp_state`` vector: :func:`topdown_joint_action`
    with a DLS ``controller`` (``pd_joint_pos`` envs), else :func:`topdown_action` (``pd_ee_delta_pose``)."""
    if controller is not None:
        return topdown_joint_action(controller, action, grasp_state)
    return topdown_action(action, np.asarray(grasp_state).reshape(-1)[21:25])


class GraspStateTopDown(gym.Wrapper):
    """The RL task of ``vlgsim train sb3 --obs grasp``: observation the env's ``grasp_state``
    (a plain ``Box``, see :meth:`RealVLGGraspEnv.grasp_state`), action 4-D [dx, dy, dz, gripper]
    (the TCP is held pointing down at a fixed yaw) or, with ``yaw=True``, 5-D [dx, dy, dz, dyaw, gripper].
    Wrap an env made with ``obs_mode="grasp_state"`` and ``control_mode="pd_joint_pos"`` (one DLS step on
    the Jacobian, :func:`topdown_joint_action`) or ``control_mode="pd_ee_delta_pose"`` (ManiSkill's IK,
    :func:`topdown_action`; 4-D only)."""

    def __init__(self, env, yaw: bool = False):
        super().__init__(env)
        space = _observation_key_space(env, "grasp_state", "GraspStateTopDown")
        mode = getattr(env.unwrapped, "control_mode", None)
        self.controller = None
        if mode == "pd_joint_pos":
            from vlgsim.sim.topdown_control import TopDownDLSController

            self.controller = TopDownDLSController.for_env(env)
        elif env.action_space.shape[-1] != 7 or yaw:
            raise ValueError(f"GraspStateTopDown on control_mode {mode!r} (action {env.action_space}, yaw={yaw}); rule: "
                             "control_mode 'pd_joint_pos', or 'pd_ee_delta_pose' without yaw")
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, space.shape[-1:], np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (5 if yaw else 4,), np.float32)
        self._x = None

    def _obs(self, obs):
        self._x = np.asarray(_np(obs["grasp_state"]), np.float32).reshape(-1)
        return self._x

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return self._obs(obs), info

    def step(self, action):
        obs, r, te, tr, info = self.env.step(topdown_env_action(self.controller, action, self._x))
        return self._obs(obs), r, te, tr, info
