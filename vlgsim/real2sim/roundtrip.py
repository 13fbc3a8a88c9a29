"""Real-to-sim round trips through the simulator, where the truth is known.

Scene round trip: render a seeded RealVLG scene (RGB-D + ground-truth masks, optionally
through the D435-like noise model), reconstruct it, compare per object: category, colour,
position error (x, y, m) and yaw error (modulo the category's symmetry; none for
rotationally symmetric ones). Grasp round trip: the oracle grasp computed on the twin
(its best ground-truth rectangle in the twin's image) is executed in the original scene.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from vlgsim.real2sim.depth_noise import D435NoiseModel
from vlgsim.real2sim.reconstruct import (MIN_POINTS, RGBDFrame, ReconstructionError, reconstruct_scene,
                                         yaw_error_rad)
from vlgsim.scenes import TabletopScene, sample_tabletop_scene

MIN_MASK_PX = 2 * MIN_POINTS
"""Objects showing fewer pixels than this are left out of the twin (too little to fit)."""


@dataclass
class ObjectComparison:
    category: str
    fitted_category: str
    color_correct: bool
    position_error_m: float
    yaw_error_deg: float | None
    scale: float
    fitted_scale: float


@dataclass
class SceneRoundTrip:
    seed: int
    noisy: bool
    objects: list[ObjectComparison] = field(default_factory=list)
    n_hidden: int = 0
    twin: TabletopScene | None = None
    twin_target: int | None = None
    """Index of the original target in the twin (None: the target was hidden or not fitted)."""
    warnings: list[str] = field(default_factory=list)
    error: str = ""


def scene_round_trip(seed: int, renderer, noise: D435NoiseModel | None = None, split: str = "all",
                     original: TabletopScene | None = None) -> SceneRoundTrip:
    """Render, reconstruct and compare one seeded scene (``renderer``: a TabletopRenderer)."""
    sc = original or sample_tabletop_scene(seed, split=split)
    view = renderer.render(sc, [sc.camera])[0]
    rgb, depth = view.rgb, view.depth
    if noise is not None:
        rgb, depth = noise.apply(rgb, depth, view.intrinsic, np.random.default_rng([seed, 435]))
    out = SceneRoundTrip(seed, noise is not None)
    keep = [k for k in range(len(sc.objects)) if view.mask(k).sum() >= MIN_MASK_PX]
    out.n_hidden = len(sc.objects) - len(keep)
    if sc.target_index not in keep:
        out.error = "target hidden"
        keep_target = 0
    else:
        keep_target = keep.index(sc.target_index)
    frame = RGBDFrame(rgb, depth, view.intrinsic, view.extrinsic)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec = reconstruct_scene(frame, [view.mask(k) for k in keep], target_index=keep_target,
                                    instruction=sc.instruction, camera=sc.camera, seed=seed, split=sc.split,
                                    lighting=sc.lighting)
    except ReconstructionError as e:
        out.error = str(e)
        return out
    out.twin, out.warnings = rec.scene, rec.warnings
    out.twin_target = keep_target if not out.error else None
    for k, f in zip(keep, rec.fits):
        o = sc.objects[k]
        ye = yaw_error_rad(o.spec.category, f.yaw_rad, o.yaw_rad) if f.category == o.spec.category else None
        out.objects.append(ObjectComparison(o.spec.category, f.category, f.color == o.spec.color,
                                            float(np.hypot(f.xy[0] - o.xy[0], f.xy[1] - o.xy[1])),
                                            None if ye is None else float(np.degrees(ye)), o.spec.scale, f.scale))
    return out


class GraspRoundTrip:
    """One RealVLG-Grasp env reused for both scenes (its scene is swapped before each reset)."""

    def __init__(self):
        import gymnasium as gym

        import vlgsim.envs  # noqa: F401  (registers the ids)

        self.env = gym.make("vlgsim:RealVLG-Grasp-v0", scene=sample_tabletop_scene(0))

    def _reset(self, scene: TabletopScene):
        self.env.unwrapped.fixed_scene = scene
        return self.env.reset(seed=scene.seed)

    def oracle_action(self, scene: TabletopScene) -> np.ndarray | None:
        """The oracle's grasp rectangle [x, y, theta_deg, width_px] for ``scene``'s target (None: no label)."""
        _, info = self._reset(scene)
        rects = info.get("grasp_rects", [])
        return np.asarray(rects[0][:4], np.float32) if len(rects) else None

    def execute(self, scene: TabletopScene, action: np.ndarray) -> tuple[bool, str]:
        self._reset(scene)
        _, _, _, _, info = self.env.step(action)
        return bool(info["success"]), str(info["failure_mode"])

    def run(self, original: TabletopScene, twin: TabletopScene) -> tuple[bool, str]:
        """Oracle grasp on the twin, executed in the original. The two must share the camera."""
        a = self.oracle_action(twin)
        if a is None:
            return False, "no_label_on_twin"
        return self.execute(original, a)

    def close(self):
        self.env.close()


def summarize(results: list[SceneRoundTrip]) -> dict:
    objs = [o for r in results for o in r.objects]
    yaw = [o.yaw_error_deg for o in objs if o.yaw_error_deg is not None]
    pos = [o.position_error_m for o in objs]
    return dict(scenes=len(results), objects=len(objs), hidden_objects=sum(r.n_hidden for r in results),
                errors=sum(bool(r.error) for r in results),
                category_accuracy=float(np.mean([o.category == o.fitted_category for o in objs])) if objs else 0.0,
                color_accuracy=float(np.mean([o.color_correct for o in objs])) if objs else 0.0,
                position_error_median_m=float(np.median(pos)) if pos else float("nan"),
                position_error_p90_m=float(np.percentile(pos, 90)) if pos else float("nan"),
                yaw_error_median_deg=float(np.median(yaw)) if yaw else float("nan"),
                yaw_error_p90_deg=float(np.percentile(yaw, 90)) if yaw else float("nan"),
                yaw_objects=len(yaw))
