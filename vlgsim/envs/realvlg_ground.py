"""RealVLG-Ground-v0: find the object an instruction names, across 1-4 camera views.

**Task** (UniVG-R1-style multi-image grounding). One tabletop scene rendered from 1-4
cameras (view 0 is RealVLG-Grasp-v0's camera; the others look at the table from seeded
poses around it). The instruction names exactly one object; with several views it uses
only view-independent words (category, colour, size). No robot, no physics: fast.

**Action.** ``[view, x1, y1, x2, y2]``: the view index (floored) and a box in that view's
pixels. **Reward** = IoU with the target's visible box in that view (0 if the target is
not visible there). **Success**: IoU >= 0.5.

**Observation.** ``images`` (V_max, H, W, 3) uint8 (views beyond ``n_views`` are zeros),
``n_views``, ``intrinsics`` (V_max, 3, 3), ``extrinsics`` (V_max, 4, 4, world->camera),
``instruction``. **Info**: ``target_id``, ``target_boxes`` (V_max, 4), ``target_visible``,
``boxes`` (V_max, K_max, 4) of every object (K_max = the most objects a scene can hold;
rows past ``n_objects`` are zeros, so that vector-env infos batch), ``n_objects``, ``segmentation`` (V_max, H, W) int16 object index
(-1 = none; every object's mask in every view), ``expressions``, and after a step
``iou``, ``view``, ``success``, ``failure_mode`` (none, low_iou, invalid_action), ``error``.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from vlgsim.envs.registration import register_task
from vlgsim.envs.wrappers import INSTRUCTION_CHARSET, INSTRUCTION_MAX_LEN
from vlgsim.grasp.image_grasp import InvalidAction, check_action
from vlgsim.scenes import CameraSpec, TabletopScene, sample_tabletop_scene
from vlgsim.sim.sapien_render import RenderedView, TabletopRenderer

MIN_VISIBLE_PX = 30
"""A target must show at least this many pixels in some view."""


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def extra_views(rng: np.random.Generator, n: int, base: CameraSpec) -> list[CameraSpec]:
    """``n`` cameras looking at the table centre from around its front half: azimuth within
    +-70 degrees of view 0, elevation 35-70 degrees, distance 0.5-0.75 m."""
    out = []
    for _ in range(n):
        az, el = np.deg2rad(rng.uniform(-70, 70)), np.deg2rad(rng.uniform(35, 70))
        r = rng.uniform(0.5, 0.75)
        eye = (float(r * np.cos(el) * np.cos(az)), float(r * np.cos(el) * np.sin(az)), float(r * np.sin(el)))
        out.append(CameraSpec(width=base.width, height=base.height, fx=base.fx, fy=base.fy, eye=eye,
                              target=base.target))
    return out


@register_task("RealVLG-Ground-v0", max_episode_steps=1)
class RealVLGGroundEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"]}
    batched = False

    def __init__(self, n_views=(1, 4), split: str = "seen", n_objects=(3, 8), image_size=(320, 240),
                 render_mode=None, scene: TabletopScene | None = None):
        """``scene``: an explicit scene spec (e.g. a reconstructed twin) shown at every reset;
        its camera is the first view."""
        lo, hi = (n_views, n_views) if isinstance(n_views, int) else tuple(n_views)
        if not 1 <= lo <= hi <= 4:
            raise ValueError(f"n_views {n_views!r}; rule: 1 <= n <= 4 (an int or a (low, high) range)")
        self.n_views_range, self.split, self.n_objects_range = (lo, hi), split, tuple(n_objects)
        if scene is not None and not isinstance(scene, TabletopScene):
            raise ValueError(f"scene of type {type(scene).__name__}; rule: a TabletopScene (see vlgsim.real2sim.reconstruct.load_scene)")
        self.fixed_scene = scene
        self.camera_spec = scene.camera if scene is not None else CameraSpec.d435(*image_size)
        self.render_mode = render_mode
        W, H, V = self.camera_spec.width, self.camera_spec.height, hi
        self.observation_space = gym.spaces.Dict({
            "images": gym.spaces.Box(0, 255, (V, H, W, 3), np.uint8),
            "n_views": gym.spaces.Discrete(V + 1),
            "intrinsics": gym.spaces.Box(-np.inf, np.inf, (V, 3, 3), np.float32),
            "extrinsics": gym.spaces.Box(-np.inf, np.inf, (V, 4, 4), np.float32),
            "instruction": gym.spaces.Text(INSTRUCTION_MAX_LEN, charset=INSTRUCTION_CHARSET),
        })
        self.action_space = gym.spaces.Box(np.zeros(5, np.float32),
                                           np.array([V - 1e-3, W, H, W, H], np.float32))
        self.renderer = TabletopRenderer()
        self.scene_spec: TabletopScene | None = None
        self.views: list[RenderedView] = []
        self._done = True

    # ------------------------------------------------------------------ episode
    def sample(self, seed: int) -> tuple[TabletopScene, list[RenderedView]]:
        """Scene, views and rendered images for a seed (deterministic)."""
        rng = np.random.default_rng([seed, 7])
        n = int(rng.integers(self.n_views_range[0], self.n_views_range[1] + 1))
        for attempt in range(20):
            sc = self.fixed_scene or sample_tabletop_scene(seed + 1_000_003 * attempt, self.split, self.n_objects_range,
                                                           self.camera_spec, spatial=(n == 1))
            cams = [self.camera_spec] + extra_views(rng, n - 1, self.camera_spec)
            views = self.renderer.render(sc, cams)
            if max(v.mask(sc.target_index).sum() for v in views) >= MIN_VISIBLE_PX:
                return sc, views
        raise RuntimeError(f"seed {seed}: no sample with a visible target in 20 tries")

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        s = int(self.np_random.integers(2**31)) if seed is None else int(seed)
        self.scene_spec, self.views = self.sample(s)
        self._done = False
        return self._obs(), self._info()

    def _obs(self):
        V, (H, W) = self.n_views_range[1], (self.camera_spec.height, self.camera_spec.width)
        images = np.zeros((V, H, W, 3), np.uint8)
        K = np.zeros((V, 3, 3), np.float32)
        E = np.zeros((V, 4, 4), np.float32)
        for i, v in enumerate(self.views):
            images[i], K[i], E[i] = v.rgb, v.intrinsic, v.extrinsic
        return {"images": images, "n_views": len(self.views), "intrinsics": K, "extrinsics": E,
                "instruction": self.scene_spec.instruction}

    def _info(self, **extra):
        sc, V = self.scene_spec, self.n_views_range[1]
        H, W = self.camera_spec.height, self.camera_spec.width
        boxes = np.zeros((V, max(self.n_objects_range[1], len(sc.objects)), 4), np.float32)
        seg = np.full((V, H, W), -1, np.int16)
        for i, v in enumerate(self.views):
            boxes[i, : len(sc.objects)], seg[i] = v.boxes(len(sc.objects)), v.object_index
        t = sc.target_index
        visible = np.array([i < len(self.views) and bool((seg[i] == t).any()) for i in range(V)])
        return dict(target_id=t, instruction=sc.instruction, expressions=list(sc.expressions),
                    target_boxes=boxes[:, t].copy(), target_visible=visible, boxes=boxes, segmentation=seg,
                    n_views=len(self.views), n_objects=len(sc.objects), **extra)

    def step(self, action):
        if self._done:
            raise RuntimeError("the grounding episode has ended; call reset() before step()")
        self._done = True
        try:
            a = check_action(action, 5, "grounding")
            view = int(np.floor(a[0]))
            if not 0 <= view < len(self.views):
                raise InvalidAction(f"view {a[0]:g}; rule: 0 <= view < n_views = {len(self.views)}")
            if not (a[3] > a[1] and a[4] > a[2]):
                raise InvalidAction(f"box {a[1:].tolist()}; rule: x1 < x2 and y1 < y2")
        except (InvalidAction, TypeError, ValueError) as e:
            info = self._info(iou=0.0, view=-1, success=False, failure_mode="invalid_action", error=str(e))
            return self._obs(), 0.0, True, False, info
        info0 = self._info()
        iou = box_iou(a[1:], info0["target_boxes"][view]) if info0["target_visible"][view] else 0.0
        ok = iou >= 0.5
        info0.update(iou=iou, view=view, success=ok, failure_mode="none" if ok else "low_iou", error="")
        return self._obs(), float(iou), True, False, info0

    def render(self):
        return self.views[0].rgb.copy() if self.views else None
