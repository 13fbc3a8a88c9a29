"""Shared base of the bimanual tasks: a plain Gymnasium env (``batched = False``) around
the ManiSkill backend, with instructions, ordered subgoals, success and steerability.

A task module subclasses :class:`BimanualTask` and declares, in one file:
``build_scene`` (scene sampler), ``raw_instructions`` and ``final_state`` (language),
``expert_plan`` (the scripted expert follows it), ``subgoals`` (ordered, goal-level, the
last one is the success predicate) and ``measure_factor`` (steerability factor read from
the recorded state). Registration with :func:`register_bimanual` does the rest.

Embodiment (``embodiment=``, exposed as ``env.unwrapped.embodiment``): ``aloha`` (default,
two ViperX 300 6-DoF arms from gym-aloha's MJCF) or ``panda`` (two Franka Pandas); see
:mod:`vlgsim.sim.bimanual_backend`.

Observation (``obs_mode``): ``state`` -> ``{"state", "instruction"}``; ``rgb`` ->
``{"head_rgb", "left_wrist_rgb", "right_wrist_rgb", "instruction"}`` (+ ``low_rgb`` on aloha;
there ``head`` is ALOHA's ``cam_high``, ``low`` its ``cam_low``); ``rgb+state`` both;
``rgbd`` / ``rgbd+state`` add a ``{cam}_depth`` for every ``{cam}_rgb``: (H, W, 1) uint16
depth along the camera axis in millimetres, 0 where nothing was hit. ``cameras=`` keeps a
subset of the embodiment's cameras (by observation name, e.g. ``("head", "left_wrist",
"right_wrist")``, the set pi0-ALOHA reads); the others are neither built nor rendered.
``state`` = the arms' joint state, their TCP poses (2 x 7), then the pose of every task body
in :attr:`BimanualTask.body_names` order (K x 7); poses in the world frame, metres,
quaternions wxyz. Joint state: aloha 14 = ALOHA's convention, left then right, per arm 6
joint angles (rad) + gripper open fraction (0 closed, 1 open); panda 18 = qpos (7 joints +
2 fingers in m) per arm.

Action (``pd_ee_delta_pose``, default): 14 floats in [-1, 1], per arm (left then right)
``[dx, dy, dz, drx, dry, drz, gripper]``: translation in that arm's base frame (1 = 0.1 m),
rotation (1 = 0.1 rad), gripper +1 open / -1 closed. ``pd_joint_pos``: aloha 14 = ALOHA's
layout, per arm 6 joint targets (rad, within the joint limits) + gripper in [0, 1] (1 open:
finger target 0.057 m; 0 closed: 0.011 m, 1 cm past the closed stop so grasps stay squeezed;
the state's open fraction f is action ``vlgsim.sim.viperx_agent.gripper_action_fraction(f)``);
panda 16 (7 joints + gripper in [-1, 1] per arm). A NaN or wrong-shape action raises ``ValueError``.

Info: ``success``, ``instruction``, ``instruction_raw``, ``instruction_fine``,
``instruction_type``, ``factors`` (factor, instructed, measured), ``subgoals``, and at the
episode's last step (success or ``max_steps``) ``metrics``: score_0_100, goal_reached,
factor_compliant, violation (see :mod:`vlgsim.sim_eval.steerability`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import gymnasium as gym
import numpy as np

from vlgsim.envs.action_checks import InvalidAction, numeric_action
from vlgsim.envs.registration import register_task
from vlgsim.language.fine_grained import (FineInstruction, choose_instruction_type, fine_grained_instruction,
                                          pick_raw)
from vlgsim.scenes.bimanual import ARMS, BimanualScene, TaskPlan, new_scene, add_distractors
from vlgsim.sim_eval.steerability import TrialRecord, TrialScore, score_trial

INSTRUCTION_CHARSET = "".join(chr(c) for c in range(32, 127))
INSTRUCTION_MAX_LEN = 4096
OBS_MODES = ("state", "rgb", "rgb+state", "rgbd", "rgbd+state")
NEAR_M = 0.09
"""Contact queries (costly) only for a body whose centre is this close to a TCP."""
LIFT_M = 0.05
"""An object counts as lifted 5 cm above where it started."""

ALOHA_CAMERAS = {"cam_high": "head", "cam_low": "low", "cam_left_wrist": "left_wrist", "cam_right_wrist": "right_wrist"}
"""ALOHA camera -> observation name (``<name>_rgb``; the names every bimanual consumer reads)."""

BIMANUAL_TASKS: dict[str, type] = {}


def register_bimanual(env_id: str):
    """Register a bimanual task under ``env_id`` (its ``max_steps`` is the time limit)."""

    def deco(cls):
        cls.env_id = env_id
        BIMANUAL_TASKS[env_id] = cls
        return register_task(env_id, max_episode_steps=cls.max_steps)(cls)

    return deco


@dataclass
class StepState:
    """Privileged state at one control step (what subgoal predicates read)."""

    pose: dict[str, np.ndarray]
    start: dict[str, np.ndarray]
    tcp: dict[str, np.ndarray]
    touch: dict[tuple[str, str], bool]
    grasp: dict[tuple[str, str], bool]
    table_z: float

    def rise(self, name: str) -> float:
        return float(self.pose[name][2] - self.start[name][2])

    def held_by(self, name: str) -> list[str]:
        return [a for a in ARMS if self.grasp.get((a, name), False)]

    def touched_by(self, name: str) -> list[str]:
        return [a for a in ARMS if self.touch.get((a, name), False) or self.grasp.get((a, name), False)]

    def lifted(self, name: str, m: float = LIFT_M) -> bool:
        return self.rise(name) >= m and bool(self.held_by(name))

    def near(self, name: str, m: float = 0.06) -> bool:
        return any(np.linalg.norm(self.tcp[a][:3] - self.pose[name][:3]) < m for a in ARMS)

    def inside(self, name: str, tray: "BodyBox") -> bool:
        p = self.pose[name][:3]
        return tray.contains_xy(p) and p[2] < tray.top_z + 0.02

    def resting(self, name: str) -> bool:
        return not self.touched_by(name)


@dataclass
class BodyBox:
    xyz: np.ndarray
    half: np.ndarray

    def contains_xy(self, p, margin: float = 0.0) -> bool:
        return bool(abs(p[0] - self.xyz[0]) < self.half[0] - margin and abs(p[1] - self.xyz[1]) < self.half[1] - margin)

    @property
    def top_z(self) -> float:
        return float(self.xyz[2] + 2 * self.half[2])


class BimanualTask(gym.Env):
    """Base of every ``Bimanual-<Task>-v0`` env (see the module docstring)."""

    batched = False
    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}
    env_id = ""
    factor = ""
    variants: tuple[str, ...] = ("",)
    max_steps = 150
    hold_steps = 3
    goal_words = ""

    # ------------------------------------------------------------------ declared by each task
    def build_scene(self, sc: BimanualScene, rng: np.random.Generator) -> None:
        raise NotImplementedError

    def raw_instructions(self, sc: BimanualScene) -> list[str]:
        raise NotImplementedError

    def final_state(self, sc: BimanualScene) -> str:
        raise NotImplementedError

    def expert_plan(self, sc: BimanualScene, variant: str) -> TaskPlan:
        raise NotImplementedError

    def subgoals(self, sc: BimanualScene) -> list[tuple[str, callable]]:
        """Ordered (name, predicate(StepState) -> bool); the last is the success predicate."""
        raise NotImplementedError

    def measure_factor(self, sc: BimanualScene, rec: TrialRecord) -> str:
        return ""

    # ------------------------------------------------------------------ env
    def __init__(self, split: str = "easy", obs_mode: str = "state", instruction_type: str = "fine",
                 fg_raw: str = "1:1", variant: Optional[str] = None, control_mode: str = "pd_ee_delta_pose",
                 image_size=(128, 128), render_mode: Optional[str] = None, embodiment: str = "aloha",
                 cameras: Optional[tuple[str, ...]] = None):
        from vlgsim.sim.bimanual_backend import BimanualBackendEnv

        if obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode {obs_mode!r}; rule: one of {OBS_MODES}")
        if variant is not None and variant not in self.variants + self.extra_variants:
            raise ValueError(f"variant {variant!r} for {self.env_id}; rule: one of {self.variants + self.extra_variants}")
        choose_instruction_type(instruction_type, fg_raw, np.random.default_rng(0))  # validates both
        self.split, self.obs_mode, self.instruction_type, self.fg_raw = split, obs_mode, instruction_type, fg_raw
        self.fixed_variant, self.control_mode, self.render_mode = variant, control_mode, render_mode
        self.embodiment = embodiment
        self.camera_names = self._select_cameras(cameras)
        self.scene_spec = self.sample_scene(0)  # validates the split; fixes the body list
        self.body_names = [b.name for b in self.scene_spec.task_bodies]
        uid_of = {name: uid for uid, name in ALOHA_CAMERAS.items()} if embodiment == "aloha" else {}
        self.backend = BimanualBackendEnv(self.sample_scene, cameras="rgb" in obs_mode or render_mode == "rgb_array",
                                          image_size=image_size, control_mode=control_mode, embodiment=embodiment,
                                          camera_uids=tuple(uid_of.get(c, c) for c in self.camera_names))
        n_arm = 7 if control_mode == "pd_ee_delta_pose" or embodiment == "aloha" else 8
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2 * n_arm,), np.float32)
        if control_mode == "pd_joint_pos":
            lo = np.concatenate([self.backend.arms[a].controller.single_action_space.low for a in ARMS])
            hi = np.concatenate([self.backend.arms[a].controller.single_action_space.high for a in ARMS])
            if embodiment == "aloha":  # gripper: open fraction in [0, 1] (ALOHA's convention)
                lo[[6, 13]], hi[[6, 13]] = 0.0, 1.0
            self.action_space = gym.spaces.Box(lo.astype(np.float32), hi.astype(np.float32))
        spaces = {}
        if "state" in obs_mode:
            n_joint = 14 if embodiment == "aloha" else 2 * 9
            spaces["state"] = gym.spaces.Box(-np.inf, np.inf, (n_joint + 2 * 7 + 7 * len(self.body_names),), np.float32)
        if "rgb" in obs_mode:
            w, h = image_size
            for cam in self.camera_names:
                spaces[f"{cam}_rgb"] = gym.spaces.Box(0, 255, (h, w, 3), np.uint8)
                if "rgbd" in obs_mode:
                    spaces[f"{cam}_depth"] = gym.spaces.Box(0, 65535, (h, w, 1), np.uint16)
        spaces["instruction"] = gym.spaces.Text(INSTRUCTION_MAX_LEN, charset=INSTRUCTION_CHARSET)
        self.observation_space = gym.spaces.Dict(spaces)
        self._steps = 0
        self._done = True

    def _select_cameras(self, cameras) -> tuple[str, ...]:
        """Image observation names (``<name>_rgb``), in the embodiment's order: all of them, or
        the ``cameras`` subset; on aloha head = ``cam_high``, low = ``cam_low``."""
        names = ("head", "low", "left_wrist", "right_wrist") if self.embodiment == "aloha" else ("head", "left_wrist",
                                                                                                  "right_wrist")
        if cameras is None:
            return names
        if not isinstance(cameras, (tuple, list)) or not all(isinstance(c, str) for c in cameras) or not cameras \
                or len(set(cameras)) != len(cameras) or not set(cameras) <= set(names):
            raise ValueError(f"cameras {cameras!r}; rule: distinct names among {names} ({self.embodiment}), at least one")
        return tuple(c for c in names if c in cameras)

    def joint_state(self) -> np.ndarray:
        """The arms' joint part of ``state`` (see the module docstring)."""
        be = self.backend
        return be.aloha_state() if self.embodiment == "aloha" else be.qpos().ravel()

    extra_variants: tuple[str, ...] = ()
    """Values accepted for ``variant=`` beyond those sampled (e.g. an OOD probe's ID twin)."""

    def sample_scene(self, seed: int) -> BimanualScene:
        """Scene of an episode seed (the instructed variant is ``variants[seed % n]`` unless fixed)."""
        # variants alternate with the seed: any run of consecutive seeds is balanced between them
        variant = self.fixed_variant if self.fixed_variant is not None else self.variants[seed % len(self.variants)]
        sc, rng = new_scene(self.env_id, seed, self.split, self.factor, variant)
        self.build_scene(sc, rng)
        add_distractors(sc, rng)
        return sc

    # ------------------------------------------------------------------ privileged state
    def _step_state(self) -> StepState:
        be = self.backend
        poses = be.body_poses(self.body_names)
        pose = {n: poses[i] for i, n in enumerate(self.body_names)}
        tcp = dict(zip(ARMS, be.tcp_poses()))
        touch, grasp = {}, {}
        for n in self.movable:
            for a in ARMS:
                if np.linalg.norm(tcp[a][:3] - pose[n][:3]) < NEAR_M + self._radius[n]:
                    touch[(a, n)], grasp[(a, n)] = be.finger_contact(a, n)
        return StepState(pose, self._start, tcp, touch, grasp, self.scene_spec.table_z)

    def tray(self, name: str) -> BodyBox:
        b = self.scene_spec.body(name)
        return BodyBox(np.array(b.xyz), np.array(b.half_size))

    def _record(self, st: StepState) -> None:
        self._last = st
        self._rec_pose.append(np.stack([st.pose[n] for n in self.body_names]))
        self._rec_tcp.append(np.stack([st.tcp[a] for a in ARMS]))
        self._rec_touch.append([[st.touch.get((a, n), False) for n in self.body_names] for a in ARMS])
        self._rec_grasp.append([[st.grasp.get((a, n), False) for n in self.body_names] for a in ARMS])
        self._flags.append([bool(f(st)) for _, f in self._subgoals])

    def trial_record(self) -> TrialRecord:
        return TrialRecord(list(self.body_names), self.scene_spec.table_z, np.stack(self._rec_pose),
                           np.stack(self._rec_tcp), np.array(self._rec_touch, bool), np.array(self._rec_grasp, bool))

    def trial_score(self) -> TrialScore:
        rec = self.trial_record()
        measured = self.measure_factor(self.scene_spec, rec) if self.factor else ""
        return score_trial(np.array(self._flags, bool), self._success, self.factor, self.scene_spec.variant, measured)

    # ------------------------------------------------------------------ observation / info
    def _obs(self) -> dict:
        obs = {}
        if "state" in self.obs_mode:
            be = self.backend
            st = self._last  # this step's poses, already read
            obs["state"] = np.concatenate([self.joint_state(), *[st.tcp[a] for a in ARMS],
                                           *[st.pose[n] for n in self.body_names]]).astype(np.float32)
        if "rgbd" in self.obs_mode:
            for cam, (rgb, depth) in self.backend.images_rgbd().items():
                cam = ALOHA_CAMERAS.get(cam, cam)
                obs[f"{cam}_rgb"], obs[f"{cam}_depth"] = rgb, depth
        elif "rgb" in self.obs_mode:
            for cam, img in self.backend.images().items():
                obs[f"{ALOHA_CAMERAS.get(cam, cam)}_rgb"] = img
        obs["instruction"] = self.instruction
        return obs

    def _info(self, final: bool) -> dict:
        sc = self.scene_spec
        info = dict(success=self._success, instruction=self.instruction, instruction_raw=self.instruction_raw,
                    instruction_fine=self.instruction_fine, instruction_type=self.chosen_type,
                    task=self.env_id, split=self.split, variant=sc.variant,
                    subgoals=[name for name, _ in self._subgoals], subgoals_met=self._met(),
                    failure_mode="none" if self._success else "missed")
        if final:
            s = self.trial_score()
            info["metrics"] = s.metrics()
            info["factors"] = dict(factor=s.factor, instructed=s.instructed, measured=s.measured)
            if s.violation:
                info["failure_mode"] = "violation"
        return info

    def _met(self) -> int:
        from vlgsim.sim_eval.steerability import ordered_subgoals_met

        return ordered_subgoals_met(np.array(self._flags, bool)) if self._flags else 0

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        super().reset(seed=seed)
        if seed is None:
            seed = int(self.np_random.integers(2**31 - 1))
        self.episode_seed = int(seed)
        self.backend.reset(seed=self.episode_seed, options={"reconfigure": True})
        sc = self.scene_spec = self.backend.spec
        rng = np.random.default_rng([self.episode_seed, 99])
        self.raw_phrasings = self.raw_instructions(sc)
        self.instruction_raw = pick_raw(self.raw_phrasings, rng)
        self.plan = self.expert_plan(sc, sc.variant)
        self.fine: FineInstruction = fine_grained_instruction(sc, self.plan, self.goal_words or self.raw_phrasings[0].rstrip("."),
                                                              self.final_state(sc))
        self.instruction_fine = self.fine.text
        self.chosen_type = choose_instruction_type(self.instruction_type, self.fg_raw, rng)
        self.instruction = self.instruction_fine if self.chosen_type == "fine" else self.instruction_raw
        self.movable = [b.name for b in sc.task_bodies if not b.static]
        self._radius = {b.name: float(np.linalg.norm(b.half_size)) for b in sc.task_bodies}
        poses = self.backend.body_poses(self.body_names)
        self._start = {n: poses[i].copy() for i, n in enumerate(self.body_names)}
        self._subgoals = self.subgoals(sc)
        self._rec_pose, self._rec_tcp, self._rec_touch, self._rec_grasp, self._flags = [], [], [], [], []
        self._success, self._hold, self._steps, self._done = False, 0, 0, False
        self._record(self._step_state())
        return self._obs(), self._info(final=False)

    def _check_action(self, action) -> np.ndarray:
        """Type, shape, finiteness and magnitude (:func:`~vlgsim.envs.action_checks.numeric_action`),
        then clipped to the action space (the controller's per-step limits)."""
        a = numeric_action(action, self.action_space.shape, f"{self.control_mode} "
                           f"(per arm, left then right)")
        return np.clip(a, self.action_space.low, self.action_space.high)

    def step(self, action):
        if self._done:
            raise RuntimeError("the episode has ended; call reset() before step()")
        try:
            a = self._check_action(action)
        except InvalidAction as e:  # the episode ends, recorded as invalid_action with the rule
            self._done = True
            info = self._info(final=True)
            info.update(failure_mode="invalid_action", error=str(e), success=False)
            return self._obs(), 0.0, True, False, info
        n = len(a) // 2
        if self.embodiment == "aloha" and self.control_mode == "pd_joint_pos":
            a = a.copy()
            a[[n - 1, 2 * n - 1]] = 2.0 * a[[n - 1, 2 * n - 1]] - 1.0  # open fraction -> the controller's [-1, 1]
        self.backend.step_arms({"left": a[:n], "right": a[n:]})
        self._steps += 1
        st = self._step_state()
        self._record(st)
        goal_now = bool(self._subgoals[-1][1](st)) and self._met() == len(self._subgoals)
        self._hold = self._hold + 1 if goal_now else 0
        self._success = self._hold >= self.hold_steps
        terminated = self._success
        truncated = (not terminated) and self._steps >= self.max_steps
        self._done = terminated or truncated
        return self._obs(), float(terminated), terminated, truncated, self._info(final=self._done)

    def render(self):
        """The head camera's RGB (the first selected camera's without it)."""
        imgs = self.backend.images()
        return imgs.get("cam_high", imgs.get("head", next(iter(imgs.values()))))

    def close(self):
        self.backend.close()

    # ------------------------------------------------------------------ helpers for task modules
    def expert_plan_for(self, variant: Optional[str] = None) -> TaskPlan:
        """The expert's plan in this episode for the instructed variant, or for ``variant``."""
        return self.expert_plan(self.scene_spec, variant or self.scene_spec.variant)


# ---------------------------------------------------------------------------- shared task pieces
BLOCK_HALF = (0.02, 0.02, 0.02)
"""4 cm cube."""


def arm_on_side(y: float) -> str:
    """The arm on the object's side of the table (+y is the left)."""
    return "left" if y >= 0 else "right"


def pick_subgoals(candidates: list[str], noun: str) -> list[tuple[str, callable]]:
    """Reach, grasp, lift 5 cm: the goal-level subgoals of the single-pick families."""
    return [(f"reach a {noun}", lambda st: any(st.near(c) for c in candidates)),
            (f"grasp a {noun}", lambda st: any(st.held_by(c) for c in candidates)),
            (f"lift a {noun} 5 cm", lambda st: any(st.lifted(c) for c in candidates))]


def tilt_deg(quat_wxyz) -> float:
    """Angle (degrees) between a body's +z axis and world +z."""
    w, x, y, z = (float(v) for v in quat_wxyz)
    return float(np.degrees(np.arccos(np.clip(1 - 2 * (x * x + y * y), -1.0, 1.0))))


def first_inside(rec, names: list[str], box: BodyBox) -> str:
    """The body of ``names`` that was inside ``box`` (x, y within its walls, below its rim)
    at the earliest recorded step ('' if none was)."""
    for step in rec.body_pose:
        for n in names:
            p = step[rec.k(n)]
            if box.contains_xy(p) and p[2] < box.top_z + 0.02:
                return n
    return ""
