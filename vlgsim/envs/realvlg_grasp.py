"""RealVLG-Grasp-v0: grasp the object a referring expression names, on a Franka tabletop.

**Task.** 3-8 procedural objects on a table; the instruction ("Grasp the red mug left of
the bowl.") names exactly one. Default action (``action_mode="grasp_rect"``): one 4-DoF
image grasp ``[x_px, y_px, theta_deg, width_px]`` in the observation image; the env
deprojects it with depth, runs a top-down grasp primitive (pre-grasp 10 cm above,
descend, close, lift 10 cm, hold 1 s) and ends the episode. ``action_mode=
"contact_points"`` takes ``[x1, y1, x2, y2]``. ``action_mode="control"`` (implied by a
``control_mode`` such as ``pd_ee_delta_pose``) is closed-loop with a dense reward.

**Success.** The target rose >= 3 cm and stayed so for the 1 s hold (closed loop: for 1 s
of consecutive steps), and no other object rose >= 3 cm.

**Info.** ``success``, ``failure_mode`` (none, wrong_object, missed, dropped, collision,
invalid_action), ``error`` (message for invalid actions), ``target_id`` (object slot),
``instruction``, ``expressions``, and ground truth for the target in this image:
``bbox`` [x1, y1, x2, y2] px (x2, y2 exclusive), ``mask`` HxW bool, ``grasp_rects``
(N, 5) ``[x, y, theta_deg, width_px, height_px]``, ``contact_points`` (N, 4), and the same
grasps in the world, ``grasp_world`` (N, 5) ``[x, y, z, axis_angle_rad, opening_m]`` (TCP).
These three are padded to ``MAX_GRASP_LABELS`` rows (rows past ``n_grasps`` are -1) so that
the infos of a vector env batch; the first ``n_grasps`` rows are the labels, best first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import gymnasium as gym
import numpy as np
import torch

from vlgsim.envs.registration import register_task
from vlgsim.grasp import InvalidAction, action_to_world, grasp_labels
from vlgsim.scenes import TabletopScene, sample_tabletop_scene
from vlgsim.sim.grasp_primitive import LIFT_SUCCESS_M, GraspPlan, classify_outcome
from vlgsim.sim.maniskill_env import TabletopBackendEnv

GRASP_ACTION_MODES = ("grasp_rect", "contact_points")
OBS_MODES = ("rgbd", "state", "rgbd+state", "grasp_state")
REACH_POINTS = ("origin", "center", "grasp")
GRASP_STATE_DIM = 9 + 9 + 7 + 1 + 3 + 7 + 3 + 3 + 6 + 1
"""Length of :meth:`RealVLGGraspEnv.grasp_state` (``obs_mode="grasp_state"``)."""
MAX_GRASP_LABELS = 64
"""Rows of the padded ground-truth grasp arrays in ``info`` (``n_grasps`` of them are labels)."""
NEAR_TARGET_M = 0.30
"""Beyond this TCP-to-target-origin distance the target cannot be in the gripper. The origin is
at the object's base, so a tall object (a bottle, up to ~0.25 m) held at its top is ~0.16 m away:
0.15 m here counted such held-and-lifted bottles as missed."""


def _pad_rows(rows: list, width: int) -> np.ndarray:
    """(MAX_GRASP_LABELS, width) float32: ``rows`` then -1."""
    out = np.full((MAX_GRASP_LABELS, width), -1.0, np.float32)
    if rows:
        out[: len(rows)] = np.asarray(rows, np.float32).reshape(-1, width)
    return out


@register_task("RealVLG-Grasp-v0", max_episode_steps=200)
class RealVLGGraspEnv(TabletopBackendEnv):
    def __init__(self, *args, obs_mode: str = "rgbd", action_mode: Optional[str] = None,
                 control_mode: Optional[str] = None, split: str = "seen", n_objects=(3, 8),
                 record_frames: bool = False, scene: Optional[TabletopScene] = None, reach_point: str = "origin",
                 ground_truth: bool = True, **kwargs):
        """``scene``: an explicit scene spec (e.g. a reconstructed twin) used at every reset
        instead of sampling one per seed; its camera is the env's camera unless ``camera`` is given.
        ``reach_point``: where the dense reward's reach stage pulls the TCP: ``"origin"`` (the
        object's base, the default), ``"center"`` (the centre of its bounding box) or ``"grasp"``
        (the TCP point of the target's best collision-free top-down grasp label,
        :meth:`_target_grasp_world`; the RL setting). ``ground_truth=False`` (closed loop only):
        no reset render and no image labels in ``info`` (RL on state does not read them)."""
        if reach_point not in REACH_POINTS:
            raise ValueError(f"reach_point {reach_point!r}; rule: one of {REACH_POINTS}")
        self.reach_point, self.want_ground_truth = reach_point, bool(ground_truth)
        if scene is not None and not isinstance(scene, TabletopScene):
            raise ValueError(f"scene of type {type(scene).__name__}; rule: a TabletopScene (see vlgsim.real2sim.reconstruct.load_scene)")
        self.fixed_scene = scene
        if scene is not None:
            kwargs.setdefault("camera", scene.camera)
        if obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode {obs_mode!r}; rule: one of {OBS_MODES}")
        action_mode = action_mode or ("control" if control_mode else "grasp_rect")
        if action_mode not in GRASP_ACTION_MODES + ("control",):
            raise ValueError(f"action_mode {action_mode!r}; rule: one of {GRASP_ACTION_MODES + ('control',)}")
        if action_mode in GRASP_ACTION_MODES and not ground_truth:
            raise ValueError(f"ground_truth=False with action_mode {action_mode!r}; rule: image grasp actions need the "
                             "reset image (use it with a control_mode)")
        if action_mode in GRASP_ACTION_MODES:
            if control_mode not in (None, "pd_ee_pose"):
                raise ValueError(f"control_mode {control_mode!r} with action_mode {action_mode!r}; rule: grasp "
                                 "actions run the primitive on pd_ee_pose (use action_mode='control' for others)")
            control_mode = "pd_ee_pose"
        self.vlg_obs_mode, self.action_mode = obs_mode, action_mode
        self.split, self.n_objects_range = split, tuple(n_objects)
        self.record_frames = record_frames
        self.last_frames: list[np.ndarray] = []
        self._outcome = None
        self._obs_cache = None
        self._needs_labels = False
        self.ground_truth = []
        ms_obs = "rgb+depth+segmentation" if "rgbd" in obs_mode else "state"
        super().__init__(*args, obs_mode=ms_obs, control_mode=control_mode or "pd_ee_delta_pose",
                         reward_mode=kwargs.pop("reward_mode", "normalized_dense"), **kwargs)
        if action_mode in GRASP_ACTION_MODES:
            W, H = self.camera_spec.width, self.camera_spec.height
            if action_mode == "grasp_rect":
                low, high = [0, 0, -90, 0], [W - 1e-3, H - 1e-3, 90, W]
            else:
                low, high = [0, 0, 0, 0], [W - 1e-3, H - 1e-3, W - 1e-3, H - 1e-3]
            self.single_action_space = gym.spaces.Box(np.array(low, np.float32), np.array(high, np.float32))
            self.action_space = gym.vector.utils.batch_space(self.single_action_space, self.num_envs)
            self._orig_single_action_space = self.single_action_space

    # ------------------------------------------------------------------ scene
    def sample_scene(self, seed: int) -> TabletopScene:
        if self.fixed_scene is not None:
            return self.fixed_scene
        return sample_tabletop_scene(seed, split=self.split, n_objects=self.n_objects_range, camera=self.camera_spec)

    def _initialize_episode(self, env_idx: torch.Tensor, options: dict):
        super()._initialize_episode(env_idx, options)
        self._outcome = None
        self._hold_ticks = torch.zeros(self.num_envs, dtype=torch.int32, device=self.device)
        self._is_grasped = torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)
        self._z0 = None
        self._target_box = None
        self._target_grasp = None
        self._needs_labels = self.want_ground_truth  # labelled at the first get_info, once poses are applied (GPU sim too)

    def _label_scene(self):
        """Render once; the target's ground truth in each sub-scene is computed from that frame
        when first read (``ground_truth[i]``), so thousands of GPU sub-scenes do not pay for
        labels nobody reads."""
        rgb, depth, seg = self.capture()
        self._obs_cache = (rgb, depth, seg)
        depth, seg = depth.clone(), seg.clone()  # a later capture may reuse the renderer's buffers
        self._reset_depth = depth  # the image a grasp action refers to, (B, H, W) on the render device
        self.ground_truth = SceneLabels(self, depth, seg, *self.camera_matrices())

    def _reset_depth_np(self, i: int) -> np.ndarray:
        return self._reset_depth[i].cpu().numpy()

    # ------------------------------------------------------------------ observations
    def get_obs(self, info=None, unflattened=False):
        obs = {}
        if "rgbd" in self.vlg_obs_mode:
            rgb, depth, _ = self._obs_cache if self._obs_cache is not None else self.capture()
            K, E = self.camera_matrices()
            obs.update(rgb=rgb, depth=depth, intrinsic=torch.as_tensor(K, dtype=torch.float32),
                       extrinsic=torch.as_tensor(E, dtype=torch.float32))
        self._obs_cache = None
        if self.vlg_obs_mode in ("state", "rgbd+state"):  # grasp_state alone: the RL step computes only what it reads
            obs["state"] = self.state_vector()
        if self.vlg_obs_mode == "grasp_state":
            obs["grasp_state"] = self.grasp_state()
        return obs

    def _flatten_raw_obs(self, obs):
        return obs  # our observation is already the final dict

    def state_vector(self) -> torch.Tensor:
        """(B, 9+9+7+8*7+8+1) float32: qpos, qvel, TCP pose, object poses (zeros for empty
        slots), one-hot target slot, target height above its start (m). World frame."""
        B, M = self.num_envs, self.max_objects
        poses = torch.zeros(B, M, 7, device=self.device)
        k = len(self.object_slots)
        poses[:, :k] = self.object_poses()
        poses[self._empty_slots()] = 0
        onehot = torch.zeros(B, M, device=self.device)
        onehot[torch.arange(B), torch.as_tensor(self.target_slot)] = 1
        return torch.cat([self.agent.robot.get_qpos(), self.agent.robot.get_qvel(), self.agent.tcp.pose.raw_pose,
                          poses.reshape(B, -1), onehot, self._target_rise()[:, None]], 1).float()

    def grasp_state(self) -> torch.Tensor:
        """(B, GRASP_STATE_DIM = 49) float32, the privileged RL observation in the style of ManiSkill's
        PickCube-v1: qpos 9 (rad, gripper m), qvel 9, TCP pose 7 [x, y, z, qw, qx, qy, qz], is_grasped 1,
        the instructed object's bounding-box centre relative to the TCP 3 (world frame, m), its pose 7,
        its bounding-box half extents 3 (object frame, m), the jaw features 3 (:meth:`_jaw_features`),
        the grasp features 6 (:meth:`_grasp_features`), its rise above its start 1 (m, last). World frame."""
        tcp = self.agent.tcp.pose.raw_pose
        pose = self._target_pose()
        _, half = self._target_box_local()
        return torch.cat([self.agent.robot.get_qpos(), self.agent.robot.get_qvel(), tcp, self._is_grasped.float()[:, None],
                          self._target_center(pose) - tcp[:, :3], pose, half, self._jaw_features(tcp, pose, half),
                          self._grasp_features(tcp, pose), self._target_rise()[:, None]], 1).float()

    def _grasp_features(self, tcp: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        """(B, 6): the target grasp's TCP point relative to the TCP 3 (world, m), cos 2d and sin 2d of the
        angle d (rad, about world z) from the gripper's closing axis (TCP y) to the grasp's jaw axis
        (the jaws are on the grasp at d = 0; pi-periodic), and the grasp's opening (m). The grasp is
        :meth:`_target_grasp_world` (it moves with the object)."""
        from mani_skill.utils.geometry.rotation_conversions import quaternion_to_matrix

        point, angle, opening = self._target_grasp_world(pose)
        Rt = quaternion_to_matrix(tcp[:, 3:])
        d = angle - torch.atan2(Rt[:, 1, 1], Rt[:, 0, 1])
        return torch.stack([*(point - tcp[:, :3]).T, torch.cos(2 * d), torch.sin(2 * d), opening], 1)

    def _target_grasp_local(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The target's best top-down grasp label whose open gripper clears the other objects at the
        episode's start (:func:`vlgsim.grasp.labels.collision_free_grasps`; the object's best label
        when none clears them), in the object's frame: (B, 3) TCP point (m), (B,) jaw-axis angle about
        the object's z (rad), (B,) opening (m). Computed once per episode. Privileged, as the
        scripted expert's ground-truth grasps are; no label at all (no object of the library lacks
        them): the bounding-box centre, angle 0, opening 0."""
        if self._target_grasp is None:
            from vlgsim.grasp.antipodal import object_grasps
            from vlgsim.grasp.labels import collision_free_grasps

            B = self.num_envs
            point, angle, opening = np.zeros((B, 3), np.float32), np.zeros(B, np.float32), np.zeros(B, np.float32)
            box_center = self._target_box_local()[0].cpu().numpy()
            for i, sc in enumerate(self.scenes):
                obj = sc.objects[sc.target_index]
                inv = np.linalg.inv(obj.pose)
                g = next(iter(collision_free_grasps(sc.objects, sc.target_index)), None)
                g = g.transformed(inv) if g is not None else next(iter(object_grasps(obj.spec)), None)
                if g is None:
                    point[i] = box_center[i]
                else:
                    point[i], angle[i], opening[i] = g.center, g.axis_angle_rad, g.opening_m
            self._target_grasp = tuple(torch.as_tensor(x, device=self.device) for x in (point, angle, opening))
        return self._target_grasp

    def _target_grasp_world(self, pose: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`_target_grasp_local` at the target's current ``pose`` (B, 7) [x, y, z, qw, qx, qy, qz]
        (read from the sim when None): (B, 3) world TCP point (m), (B,) jaw-axis angle about world z (rad),
        (B,) opening (m)."""
        from mani_skill.utils.geometry.rotation_conversions import quaternion_apply

        if pose is None:
            pose = self._target_pose()
        point, angle, opening = self._target_grasp_local()
        axis = torch.stack([torch.cos(angle), torch.sin(angle), torch.zeros_like(angle)], 1)
        axis = quaternion_apply(pose[:, 3:], axis)
        return pose[:, :3] + quaternion_apply(pose[:, 3:], point), torch.atan2(axis[:, 1], axis[:, 0]), opening

    @staticmethod
    def _jaw_features(tcp: torch.Tensor, pose: torch.Tensor, half: torch.Tensor) -> torch.Tensor:
        """(B, 3): the target box's half width along the gripper's closing axis (TCP y, m), and
        cos 2d, sin 2d of the angle d (rad, about world z) from the TCP x axis to the box's longest
        horizontal axis (a parallel gripper closes across a long object at d = 0; pi-periodic)."""
        from mani_skill.utils.geometry.rotation_conversions import quaternion_to_matrix

        Ro, Rt = quaternion_to_matrix(pose[:, 3:]), quaternion_to_matrix(tcp[:, 3:])
        width = (half[:, None, :] * (Rt[:, :, 1:2] * Ro).sum(1).abs()).sum(-1)
        horiz = Ro[:, :2, :]  # (B, 2, 3): each box axis projected on the table plane
        k = (half * horiz.norm(dim=1)).argmax(1)
        axis = horiz[torch.arange(len(k)), :, k]
        d = torch.atan2(axis[:, 1], axis[:, 0]) - torch.atan2(Rt[:, 1, 0], Rt[:, 0, 0])
        return torch.stack([width.reshape(-1), torch.cos(2 * d), torch.sin(2 * d)], 1)

    def _target_box_local(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3) centre and (B, 3) half extents of the target's collision-mesh bounding box in its
        own frame (m), computed once per episode."""
        if self._target_box is None:
            from mani_skill.utils.geometry.trimesh_utils import get_component_meshes, merge_meshes
            from sapien import physx

            c, h = np.zeros((self.num_envs, 3), np.float32), np.zeros((self.num_envs, 3), np.float32)
            for i, k in enumerate(np.asarray(self.target_slot).tolist()):
                ent = self.object_slots[k]._objs[i]
                mesh = merge_meshes([m for comp in ent.components if isinstance(comp, physx.PhysxRigidBaseComponent)
                                     for m in get_component_meshes(comp)])
                if mesh is not None:
                    lo, hi = mesh.bounds
                    c[i], h[i] = (lo + hi) / 2, (hi - lo) / 2
            self._target_box = (torch.as_tensor(c, device=self.device), torch.as_tensor(h, device=self.device))
        return self._target_box

    def _target_center(self, pose: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(B, 3) world position of the target's bounding-box centre (m) at its ``pose`` (B, 7)
        (read from the sim when None)."""
        from mani_skill.utils.geometry.rotation_conversions import quaternion_apply

        if pose is None:
            pose = self._target_pose()
        return pose[:, :3] + quaternion_apply(pose[:, 3:], self._target_box_local()[0])

    def _empty_slots(self) -> torch.Tensor:
        """(B, max_objects) bool: slot k of sub-scene i holds no object of its scene."""
        n = torch.as_tensor(self.n_objects, device=self.device)
        return torch.arange(self.max_objects, device=self.device)[None, :] >= n[:, None]

    def _target_pose(self) -> torch.Tensor:
        """(B, 7) world pose [x, y, z, qw, qx, qy, qz] of the instructed object (m)."""
        return self.object_poses()[torch.arange(self.num_envs), torch.as_tensor(self.target_slot)]

    def _target_pos(self) -> torch.Tensor:
        return self._target_pose()[:, :3]

    def _rises(self) -> torch.Tensor:
        z = self.object_poses()[..., 2]
        if self._z0 is None:
            self._z0 = z.clone()
        return z - self._z0

    def _target_rise(self) -> torch.Tensor:
        return self._rises()[torch.arange(self.num_envs), torch.as_tensor(self.target_slot)]

    # ------------------------------------------------------------------ evaluation
    def _others_lifted(self) -> torch.Tensor:
        r = self._rises().clone()
        r[torch.arange(self.num_envs), torch.as_tensor(self.target_slot)] = 0
        r[self._empty_slots()[:, :r.shape[1]]] = 0
        return (r >= LIFT_SUCCESS_M).any(1)

    def _after_control_step(self):
        # contact queries are the costly part of a CPU step: only ask when the TCP is near the target
        near = torch.linalg.norm(self._target_pos() - self.agent.tcp.pose.p, dim=1) < NEAR_TARGET_M
        self._is_grasped = self.agent.is_grasping(self.target_actor) & near if near.any() else near
        lifted = (self._target_rise() >= LIFT_SUCCESS_M) & self._is_grasped
        self._hold_ticks = torch.where(lifted, self._hold_ticks + 1, torch.zeros_like(self._hold_ticks))


    def evaluate(self):
        if self._outcome is not None:
            success = torch.as_tensor(self._outcome[0], device=self.device)
            return dict(success=success, fail=~success)
        others = self._others_lifted()
        success = (self._hold_ticks >= self.control_freq) & ~others
        return dict(success=success, fail=others, held_ticks=self._hold_ticks.clone())

    def get_info(self):
        if self._needs_labels:
            self._label_scene()
            self._needs_labels = False
        info = super().get_info()
        B = self.num_envs
        if self._outcome is not None:
            modes = self._outcome[1]
        else:  # closed loop
            succ, fail = info["success"].cpu().numpy(), info["fail"].cpu().numpy()  # one device sync, not B
            modes = ["none" if s else "wrong_object" if f else "missed" for s, f in zip(succ, fail)]
        errors = self._outcome[2] if self._outcome is not None else [""] * B
        info.update(failure_mode=modes, error=errors)
        if self.want_ground_truth:
            info["ground_truth"] = self.ground_truth
        return info

    def compute_dense_reward(self, obs, action, info):
        tcp = self.agent.tcp.pose.p
        goal = {"center": self._target_center, "grasp": lambda: self._target_grasp_world()[0],
                "origin": self._target_pos}[self.reach_point]()
        reach = 1 - torch.tanh(5 * torch.linalg.norm(goal - tcp, dim=1))
        grasped = self._is_grasped.float()
        lift = torch.clamp(self._target_rise() / LIFT_SUCCESS_M, 0, 1)
        reward = reach + grasped + 2 * lift * grasped
        reward = reward - 2 * self._others_lifted().float()
        return torch.where(info["success"], torch.full_like(reward, 5.0), reward)

    def compute_normalized_dense_reward(self, obs, action, info):
        return self.compute_dense_reward(obs, action, info) / 5.0

    # ------------------------------------------------------------------ stepping
    def step(self, action):
        if self.action_mode == "control":
            return super().step(action)
        if self._outcome is not None:
            raise RuntimeError("the grasp episode has ended; call reset() before step()")
        B = self.num_envs
        bad_type = ""
        try:
            a = np.asarray(action.cpu().numpy() if isinstance(action, torch.Tensor) else action, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            a, bad_type = np.zeros((0,)), f"{self.action_mode} action {str(action)[:80]} is not numeric; rule: shape (4,) of numbers"
        if B == 1 and a.shape == (4,):
            a = a[None]
        K, E = self.camera_matrices()
        errors = [""] * B
        tcp = self.agent.tcp.pose.p.cpu().numpy()
        plan = GraspPlan(tcp.copy(), np.zeros(B), np.full(B, 0.08))
        for i in range(B):
            try:
                if bad_type:
                    raise InvalidAction(bad_type)
                if a.ndim != 2 or a.shape != (B, 4):
                    raise InvalidAction(f"{self.action_mode} action of shape {a.shape}; rule: shape (4,) or ({B}, 4)")
                wg = action_to_world(a[i], self.action_mode, self._reset_depth_np(i), K[i], E[i])
                plan.tcp_xyz[i], plan.axis_angle_rad[i], plan.opening_m[i] = wg.tcp_xyz, wg.axis_angle_rad, wg.opening_m
            except InvalidAction as e:
                errors[i] = str(e)
        invalid = np.array([bool(e) for e in errors])
        if invalid.all():
            success, modes = np.zeros(B, dtype=bool), ["invalid_action"] * B
            self.last_frames = []
        else:
            trace = self.run_grasp(plan, record_frames=self.record_frames)
            self.last_frames = trace.frames
            success, modes = classify_outcome(trace, self.target_slot, self.n_objects)
            success = success & ~invalid
            modes = ["invalid_action" if invalid[i] else modes[i] for i in range(B)]
        self._outcome = (success, modes, errors)
        self._elapsed_steps += 1
        info = self.get_info()
        obs = self.get_obs(info)
        reward = torch.as_tensor(success, dtype=torch.float32, device=self.device)
        terminated = torch.ones(B, dtype=torch.bool, device=self.device)
        return obs, reward, terminated, torch.zeros(B, dtype=torch.bool, device=self.device), info


class SceneLabels(Sequence):
    """Ground truth of the target in every sub-scene of one reset frame, computed on first
    read of each sub-scene and kept: ``labels[i]`` is a dict with ``target_id``,
    ``instruction``, ``expressions``, ``bbox`` [x1, y1, x2, y2] px, ``mask`` (H, W) bool,
    ``n_grasps`` and, padded to ``MAX_GRASP_LABELS`` rows of -1, ``grasp_rects`` (N, 5),
    ``contact_points`` (N, 4), ``grasp_world`` (N, 5)."""

    def __init__(self, env: RealVLGGraspEnv, depth: torch.Tensor, seg: torch.Tensor, K: np.ndarray, E: np.ndarray):
        self._scenes, self._depth, self._seg, self._K, self._E = list(env.scenes), depth, seg, K, E
        self._seg_ids = [env.object_seg_ids(sc.target_index)[i] for i, sc in enumerate(self._scenes)]
        self._done: dict[int, dict] = {}

    def __len__(self) -> int:
        return len(self._scenes)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = range(len(self))[i]  # negative indices; IndexError past the end
        if i not in self._done:
            sc, t = self._scenes[i], self._scenes[i].target_index
            depth = self._depth[i].cpu().numpy()
            mask = (self._seg[i] == int(self._seg_ids[i])).cpu().numpy()
            ys, xs = np.nonzero(mask)
            bbox = (np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32) if len(xs)
                    else np.zeros(4, np.float32))
            labels = grasp_labels(sc.objects, t, depth, self._K[i], self._E[i], max_labels=MAX_GRASP_LABELS)
            self._done[i] = dict(
                target_id=t, instruction=sc.instruction, expressions=list(sc.expressions), bbox=bbox, mask=mask,
                n_grasps=len(labels),
                grasp_rects=_pad_rows([lb.rect.to_list() for lb in labels], 5),
                contact_points=_pad_rows([lb.contact_points for lb in labels], 4),
                grasp_world=_pad_rows([[*lb.grasp.center, lb.grasp.axis_angle_rad, lb.grasp.opening_m]
                                       for lb in labels], 5))
        return self._done[i]
