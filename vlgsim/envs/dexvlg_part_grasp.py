"""DexVLG-PartGrasp-v0: grasp a named part of one object with a floating Shadow Hand.

**Scene**: one part-annotated object on a table (:mod:`vlgsim.scenes.part_grasp`), friction
3 (as in validation), a fixed RGB-D camera. **Instruction**: "Grasp the {part} of the
{object}[, with contacts on {fingers}]". **Observation** (``obs_mode="rgbd+pointcloud"``):
``rgb`` (H, W, 3) uint8, ``depth`` (H, W, 1) float32 metres, ``pointcloud`` (N, 6) float32
coloured points ``[x, y, z, r, g, b]`` (world frame, metres; colours 0-1), drawn from the depth
pixels of everything but the hand (``cloud="scene"``, most of them on the table) or of the
object only (``cloud="object"``: pixels more than 2 mm above the table top, the input the
``dexvlg:`` policy is trained on), and ``instruction``; ``obs_mode="state"`` gives ``object_pose`` (4, 4) instead of
images. **Action**: one 31-D grasp ``[xyz, rot6d, q22]``, world frame (see
:mod:`vlgsim.grasp.dexterous`). **Execution**: ``execute="approach"`` (the default, no
teleport): the hand starts at a pre-grasp, the palm 5-12 cm back on a straight path whose swept
hand is checked against the object and the table, the fingers that will close backed off
1.5 cm (or 3 cm) along their own closing directions (or, when that hand cannot pass, opened;
:func:`vlgsim.grasp.approach.plan_approach`); it moves onto the grasp (0.5 s, smoothstep),
settles (0.15 s) and brings the fingers back to the grasp's shape together (0.25 s, smoothstep,
each joint given its path's velocity) so no finger reaches the object long before the others.
``execute="teleport"`` places the hand at the grasp, as the grasp library was validated.
Then each finger
within 1 cm of the object is closed across its gap plus DexGraspNet's 1 mm squeeze step (0.25 s), exactly as
validation closes a grasp (:func:`~vlgsim.grasp.dex_validate.closing_targets`), the wrist
lifts 4 cm (0.5 s) and holds (1 s); PhysX at 240 Hz. **Metrics** (``info["metrics"]``, SPEC
section 4): ``Suc`` object >= 3 cm above its start after the hold; ``PTA`` >= 1 fingertip
within 1 cm of the target part and nearer it than any other part (after closing);
``PGA`` >= 3 such fingertips; ``CMA`` (only with a finger clause) the fingers in contact
equal the instructed ones up to one finger. Bad actions (not numeric, wrong shape, NaN/inf,
the wrist beyond 2 m, a rot6d entry beyond 1e3, a joint beyond 2 pi rad, a degenerate
rotation) end the episode with ``failure_mode="invalid_action"`` and ``info["error"]``
naming the value and the rule. The hand is drawn with the Shadow Hand's STL meshes
(``hand_visual="mesh"``) or its collision capsules and boxes (``"capsules"``).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from vlgsim.assets import build_object
from vlgsim.assets.objects import GRASPABLE_PARTS
from vlgsim.assets.shadow_hand import load_shadow_hand
from vlgsim.envs.action_checks import InvalidAction, numeric_action
from vlgsim.envs.registration import register_task
from vlgsim.envs.wrappers import INSTRUCTION_CHARSET, INSTRUCTION_MAX_LEN
from vlgsim.grasp.approach import ApproachPlan, plan_approach
from vlgsim.grasp.dex_energy import ObjectField
from vlgsim.grasp.dex_validate import closing_targets
from vlgsim.grasp.dexterous import GRASP_DIM, check_grasp, transform_grasp
from vlgsim.scenes import CameraSpec, Lighting
from vlgsim.scenes.camera import deproject
from vlgsim.scenes.part_grasp import PartGraspScene, sample_part_grasp_scene
from vlgsim.sim.dex_hand import DexScene, grasp_to_qpos
from vlgsim.sim.maniskill_scene import add_lighting
from vlgsim.sim.sapien_render import add_camera, capture, make_sapien_scene

SIM_DT = 1 / 240
CLOSE_S, LIFT_S, HOLD_S = 0.25, 0.5, 1.0
APPROACH_S, SETTLE_S, PRESHAPE_S = 0.5, 0.15, 0.25
RECORD_EVERY = 12
"""With ``record_frames`` set, a frame every this many physics steps (20 fps at 240 Hz)."""
LIFT_M, SUCCESS_LIFT_M = 0.04, 0.03
PART_TOUCH_M = 0.01
OBJECT_CLOUD_MIN_Z_M = 0.002
"""``cloud="object"`` keeps the points higher than this above the table top (world z, metres)."""
PARKED_HAND = np.array([0.0, 0.0, 0.8, np.pi, 0.0, 0.0])
"""Wrist (xyz, XYZ Euler) of the hand between episodes: out of the camera's view."""
WORKSPACE_LOW = np.r_[-0.3, -0.3, 0.0, -np.ones(6)]
WORKSPACE_HIGH = np.r_[0.3, 0.3, 0.4, np.ones(6)]


MAX_WRIST_M = 2.0
"""The wrist position's coordinates must lie within +-2 m of the world origin (the table)."""
MAX_ROT6D = 1e3
MAX_JOINT_RAD = 2 * np.pi


def dex_action_bounds(a: np.ndarray) -> np.ndarray:
    """Physical bounds of a 31-D grasp ``[xyz, rot6d, q22]``; InvalidAction names the rule."""
    for lo, hi, limit, what, unit in ((0, 3, MAX_WRIST_M, "wrist position", "m"), (3, 9, MAX_ROT6D, "rot6d", ""),
                                     (9, GRASP_DIM, MAX_JOINT_RAD, "joint", "rad")):
        over = np.flatnonzero(np.abs(a[lo:hi]) > limit)
        if over.size:
            raise InvalidAction(f"{what} entry {a[lo + over[0]]:.4g} {unit} at index {lo + over[0]}; "
                                f"rule: |{what}| <= {limit:.4g} {unit}".rstrip())
    return a


@register_task("DexVLG-PartGrasp-v0", max_episode_steps=1)
class DexVLGPartGraspEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"]}
    batched = False
    task_family = "dexvlg"

    def __init__(self, categories=None, scales=(1.0,), with_fingers: bool = True, obs_mode: str = "rgbd+pointcloud",
                 image_size=(160, 120), n_points: int = 1024, friction: float = 3.0, render_mode: str | None = None,
                 execute: str = "approach", cloud: str = "scene", hand_visual: str = "mesh"):
        if obs_mode not in ("rgbd+pointcloud", "state"):
            raise ValueError(f"obs_mode {obs_mode!r}; rule: 'rgbd+pointcloud' or 'state'")
        if execute not in ("approach", "teleport"):
            raise ValueError(f"execute {execute!r}; rule: 'approach' or 'teleport'")
        self.execute = execute
        if cloud not in ("scene", "object"):
            raise ValueError(f"cloud {cloud!r}; rule: 'scene' or 'object'")
        self.cloud = cloud
        self.last_approach: ApproachPlan | None = None
        self.categories = tuple(categories) if categories else tuple(sorted(GRASPABLE_PARTS))
        self.scales, self.with_fingers, self.obs_mode = tuple(scales), bool(with_fingers), obs_mode
        self.n_points, self.render_mode = int(n_points), render_mode
        self.hand = load_shadow_hand()
        W, H = int(image_size[0]), int(image_size[1])
        self.camera = CameraSpec.d435(W, H, eye=(0.42, 0.0, 0.42), target=(0.0, 0.0, 0.05))
        self.sim = DexScene(self.hand, make_sapien_scene(), table=True, friction=friction, timestep=SIM_DT,
                            visual=hand_visual)
        add_lighting(self.sim.scene, Lighting())
        self.cam = add_camera(self.sim.scene, self.camera)
        q = self.hand
        self.action_space = gym.spaces.Box(np.r_[WORKSPACE_LOW, q.lower].astype(np.float32),
                                           np.r_[WORKSPACE_HIGH, q.upper].astype(np.float32), dtype=np.float32)
        text = gym.spaces.Text(INSTRUCTION_MAX_LEN, charset=INSTRUCTION_CHARSET)
        if obs_mode == "state":
            self.observation_space = gym.spaces.Dict({
                "object_pose": gym.spaces.Box(-np.inf, np.inf, (4, 4), np.float32), "instruction": text})
        else:
            self.observation_space = gym.spaces.Dict({
                "rgb": gym.spaces.Box(0, 255, (H, W, 3), np.uint8),
                "depth": gym.spaces.Box(0, np.inf, (H, W, 1), np.float32),
                "pointcloud": gym.spaces.Box(-np.inf, np.inf, (self.n_points, 6), np.float32),
                "instruction": text})
        self.scene_spec: PartGraspScene | None = None
        self._obs = None
        self.last_frames: list[np.ndarray] = []
        self.record_frames = False

    # ------------------------------------------------------------------ episode
    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        episode_seed = int(self.np_random.integers(2**31)) if seed is None else int(seed)
        s = sample_part_grasp_scene(episode_seed, self.categories, self.scales, self.with_fingers)
        self.scene_spec = s
        self.asset = build_object(s.spec)
        self.field = ObjectField.from_parts(self.asset.parts, n_points=512)
        self.sim.set_object(self.asset, s.pose)
        self.sim.set_hand(np.r_[PARKED_HAND, np.zeros(len(self.hand.lower))])
        self._obs = self._observe(np.random.default_rng(episode_seed))
        return self._copy_obs(), self._info()

    def _observe(self, rng) -> dict:
        s = self.scene_spec
        if self.obs_mode == "state":
            return {"object_pose": s.pose.astype(np.float32), "instruction": s.instruction}
        self.sim.scene.update_render()
        rgb, depth, seg = capture(self.cam)
        hit = depth > 0
        v, u = np.nonzero(hit)
        xyz = deproject(np.stack([u + 0.5, v + 0.5], 1), depth[hit], self.camera.intrinsic, self.camera.extrinsic)
        cloud = np.concatenate([xyz, rgb[hit] / 255.0], 1).astype(np.float32)
        if self.cloud == "object":
            cloud = cloud[cloud[:, 2] > OBJECT_CLOUD_MIN_Z_M]
        pick = rng.choice(len(cloud), self.n_points, replace=len(cloud) < self.n_points) if len(cloud) else []
        cloud = cloud[pick] if len(cloud) else np.zeros((self.n_points, 6), np.float32)
        return {"rgb": rgb, "depth": depth[..., None], "pointcloud": cloud, "instruction": s.instruction}

    def _info(self, **extra) -> dict:
        s = self.scene_spec
        return dict(category=s.spec.category, color=s.spec.color, scale=s.spec.scale, part=s.part,
                    fingers=list(s.fingers or ()), instruction=s.instruction, object_pose=s.pose.tolist(), **extra)

    def step(self, action):
        try:
            g = check_grasp(dex_action_bounds(numeric_action(action, (GRASP_DIM,), "DexVLG grasp")), "action")
        except ValueError as e:
            info = self._info(success=False, failure_mode="invalid_action", error=str(e),
                              metrics=self._metrics(False, np.zeros(5, bool), set()))
            return self._copy_obs(), 0.0, True, False, info
        suc, near, touching = self._execute(g)
        extra = {}
        if self.last_approach is not None:
            a = self.last_approach
            extra = dict(approach=a.kind, approach_standoff_m=a.standoff_m, approach_clearance_m=a.clearance_m,
                         approach_clear=a.clear, approach_shape=a.shape)
        info = self._info(success=suc, failure_mode="none" if suc else ("no_contact" if not touching else "dropped"),
                          error="", contact_fingers=sorted(touching), metrics=self._metrics(suc, near, touching), **extra)
        return self._copy_obs(), float(suc), True, False, info

    def _copy_obs(self) -> dict:
        return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in self._obs.items()}

    def _metrics(self, suc: bool, near: np.ndarray, touching: set) -> dict:
        m = {"Suc": float(suc), "PTA": float(near.sum() >= 1), "PGA": float(near.sum() >= 3)}
        if self.scene_spec.fingers:
            m["CMA"] = float(len(set(self.scene_spec.fingers) ^ touching) <= 1)
        return m

    def _execute(self, g: np.ndarray) -> tuple[bool, np.ndarray, set]:
        """Reach (approach or teleport), close, lift, hold. Returns Suc, per-finger part-touch
        flags, touching fingers."""
        sim, s = self.sim, self.scene_spec
        sim.place_object(s.pose)
        g_obj = transform_grasp(g, np.linalg.inv(s.pose))
        qpos = grasp_to_qpos(g)
        target = qpos.copy()
        target[6:] = closing_targets(self.hand, g_obj, self.field.mesh)
        self.last_frames = []
        self.last_approach = None
        if self.execute == "approach":
            self._approach(g, qpos)
        sim.set_hand(qpos, target) if self.execute == "teleport" else sim.drive(target)
        sim.step(int(CLOSE_S / SIM_DT))
        touching = sim.touching_fingers()
        near = self._part_touch()
        z0 = s.pose[2, 3]
        n_lift = int(LIFT_S / SIM_DT)
        for k in range(n_lift):
            t = target.copy()
            t[2] += LIFT_M * (k + 1) / n_lift
            sim.drive(t)
            sim.step(1)
            if k % RECORD_EVERY == 0:
                self._record()
        for _ in range(int(HOLD_S / SIM_DT) // RECORD_EVERY):
            sim.step(RECORD_EVERY)
            self._record()
        lifted = sim.object_pose[2, 3] - z0
        return bool(lifted >= SUCCESS_LIFT_M), near, touching

    def _approach(self, g: np.ndarray, qpos: np.ndarray) -> None:
        """Pre-grasp (palm backed off, fingers open; :func:`plan_approach`), then the palm moves
        in a straight line onto the grasp in APPROACH_S (smoothstep profile, the PD drive given
        the path's velocity so it does not lag), settles for SETTLE_S, and returns the opened
        fingers to the grasp's joint shape in PRESHAPE_S."""
        sim = self.sim
        plan = plan_approach(self.hand, g, self.scene_spec.pose, self.field.mesh)
        self.last_approach = plan
        pre = grasp_to_qpos(plan.pregrasp)
        sim.set_hand(pre)
        self._record()
        n = int(APPROACH_S / SIM_DT)
        speed = np.zeros(len(pre))
        for k in range(n):
            s = (k + 1) / n
            t = pre.copy()
            t[:3] = plan.palm_at(s * s * (3 - 2 * s))  # smoothstep: starts and stops at rest
            speed[:3] = plan.direction * plan.standoff_m * 6 * s * (1 - s) / APPROACH_S
            sim.drive(t, speed)
            sim.step(1)
            if k % RECORD_EVERY == 0:
                self._record()
        sim.drive(t)
        sim.step(int(SETTLE_S / SIM_DT))
        self._record()
        n = int(PRESHAPE_S / SIM_DT)
        for k in range(n):  # the opened fingers back to the grasp's shape, all arriving together
            s = (k + 1) / n
            t = qpos.copy()
            t[6:] = pre[6:] + (qpos[6:] - pre[6:]) * s * s * (3 - 2 * s)
            speed[:] = 0.0
            speed[6:] = (qpos[6:] - pre[6:]) * 6 * s * (1 - s) / PRESHAPE_S
            sim.drive(t, speed)
            sim.step(1)
            if k % RECORD_EVERY == 0:
                self._record()
        sim.drive(qpos)

    def _part_touch(self) -> np.ndarray:
        """(5,) fingertip pad within 1 cm of the target part and nearer it than any other part
        (simulated link poses, the object's current frame)."""
        to_obj = np.linalg.inv(self.sim.object_pose)
        tips = []
        for lk, p in zip(self.hand.tip_link, self.hand.tip_point):
            X = to_obj @ self.sim.link_pose(self.hand.link_names[lk])
            tips.append(X[:3, :3] @ p + X[:3, 3])
        return self.field.near_part(np.array(tips), self.scene_spec.part, PART_TOUCH_M)

    def _record(self) -> None:
        if self.record_frames:
            self.sim.scene.update_render()
            self.last_frames.append(capture(self.cam)[0])

    def render(self):
        self.sim.scene.update_render()
        return capture(self.cam)[0]

    def close(self):
        self.sim = None
