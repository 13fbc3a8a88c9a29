"""Pinch and wrap initialisation for small parts (a bottle's neck): geometry and a few Adam steps."""

from dataclasses import replace

import numpy as np

from vlgsim.assets.objects import object_geometry
from vlgsim.assets.shadow_hand import FINGERS, load_shadow_hand
from vlgsim.grasp.dex_energy import GraspEnergy, ObjectField
from vlgsim.grasp.dex_synthesis import SynthesisConfig, initial_grasps, optimize, pinch_grasp
from vlgsim.grasp.dexterous import fingertips, rot6d_to_matrix

HAND = load_shadow_hand()
PARTS = object_geometry("bottle", 1.0)
NECK = [p for p in PARTS if p.name == "neck"][0].mesh
BODY = [p for p in PARTS if p.name == "body"][0].mesh


def test_pinch_puts_the_pinching_fingertips_round_the_target_and_tucks_the_others():
    R = np.stack([[0, 0, -1.0], [1.0, 0, 0], [0, -1.0, 0]], axis=1)  # palm faces -x, fingers point down
    target = np.array([0.0, 0.0, 0.1475])
    g = pinch_grasp(HAND, target, R, ("thumb", "index", "middle"), np.random.default_rng(0))
    tips = fingertips(HAND, g)[0]
    assert np.allclose(tips[[0, 1, 2]].mean(axis=0), target, atol=1e-9)
    assert np.allclose(rot6d_to_matrix(g[3:9]), R)
    q = g[9:]
    assert np.all(q >= HAND.lower - 1e-12) and np.all(q <= HAND.upper + 1e-12)
    # ring and little are curled into the palm: their tips are nearer the palm than the pinching ones
    palm = g[:3] + R @ HAND.palm_point
    d = np.linalg.norm(tips - palm, axis=1)
    assert d[FINGERS.index("ring")] < d[FINGERS.index("index")] and d[FINGERS.index("little")] < d[FINGERS.index("middle")]
    wrap = pinch_grasp(HAND, target, R, ("thumb", "index"), np.random.default_rng(0), wrap=True)
    assert wrap[9 + 2] > g[9 + 2]  # FFJ1 curled further in a wrap (same draws, larger range)


def test_pinch_share_applies_to_small_parts_only_and_starts_the_tips_on_the_neck():
    others = np.asarray(BODY.sample(200, seed=0))
    cfg = SynthesisConfig(iterations=30, pinch_share=1.0)
    x_big, a_big = initial_grasps(HAND, BODY, 4, np.random.default_rng(3), cfg)
    x_ref, a_ref = initial_grasps(HAND, BODY, 4, np.random.default_rng(3), replace(cfg, pinch_share=0.0))
    assert np.array_equal(x_big, x_ref) and np.array_equal(a_big, a_ref)  # the body is not small: unchanged
    x0, active = initial_grasps(HAND, NECK, 4, np.random.default_rng(3), cfg, others)
    assert np.array_equal(active, np.tile([1.0, 1.0, 1.0, 0.0, 0.0], (4, 1)))  # the pinch set, thumb first
    field = ObjectField.from_parts(PARTS, n_points=256)
    E = GraspEnergy(HAND, field, "neck", batch=4)
    x_face, a_face = initial_grasps(HAND, NECK, 4, np.random.default_rng(3), replace(cfg, pinch_share=0.0), others)
    # the pinch starts its fingertips on the neck (E_dis: summed distance of the active tips, metres)
    assert np.median(E.evaluate(x0, active)["dis"]) < 0.5 * np.median(E.evaluate(x_face, a_face)["dis"])
    res = optimize(E, x0, active, cfg)
    assert res.energy.mean() < 0.8 * res.initial_energy.mean()
