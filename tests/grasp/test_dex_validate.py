"""Grasp validation helpers: how a grasp is closed, part alignment by link."""

from dataclasses import replace

import numpy as np
import pytest
import trimesh

from vlgsim.assets.shadow_hand import FINGERS, load_shadow_hand
from vlgsim.grasp.dex_synthesis import SynthesisConfig
from vlgsim.grasp.dex_validate import CLOSE_REACH_M, SQUEEZE_M, closing_targets, links_nearer_part
from vlgsim.grasp.dexterous import distal_contacts, fingertips, make_grasp

HAND = load_shadow_hand()


def test_part_alignment_is_per_link_and_exact(body_and_cap):
    field = body_and_cap
    on_body, on_cap = np.array([0.02, 0.0, 0.01]), np.array([0.01, 0.0, 0.07])
    assert links_nearer_part(field, [("ffdistal", on_body), ("thdistal", on_body + [0, 0.01, 0])], "body")
    # one link touching both parts is not nearer the body; nor is a link touching only the cap
    assert not links_nearer_part(field, [("ffdistal", on_body), ("ffdistal", on_cap)], "body")
    assert not links_nearer_part(field, [("ffdistal", on_body), ("mfdistal", on_cap)], "body")
    assert links_nearer_part(field, [("mfdistal", on_cap)], "cap")
    # exact distances: a body point 2 mm below the cap's edge, between the sampled points
    assert links_nearer_part(field, [("ffdistal", np.array([0.011, 0.0, 0.038]))], "body")
    assert not links_nearer_part(field, [], "body")


def test_closing_moves_fingers_in_reach_across_their_gap_and_leaves_the_rest():
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=0.015)
    g = make_grasp((0.0, 0.3, 0.3), np.eye(3), np.zeros(22))
    tips, normals = fingertips(HAND, g)
    index = FINGERS.index("index")
    sphere.apply_translation(tips[index] + normals[index] * (0.015 + 0.005))  # 5 mm off the index pad
    _, gaps, _ = distal_contacts(HAND, g, sphere)
    assert 0.0 < gaps[index] <= 0.0055
    q = closing_targets(HAND, g, sphere)
    closed = g.copy()
    closed[9:] = q
    _, after, _ = distal_contacts(HAND, closed, sphere)
    for f, name in enumerate(FINGERS):
        joints = [j for j in range(22) if HAND.link_finger[np.nonzero(HAND.link_joint == j)[0][0]] == f]
        if gaps[f] <= CLOSE_REACH_M:
            # crossed the gap, then DexGraspNet's 1 mm gradient step (J^T u rad) drives the pad a few mm in
            assert -0.015 < after[f] < -2 * SQUEEZE_M, name
        else:
            assert np.allclose(q[joints], g[9:][joints]), name
    assert after[index] < 0


def test_collision_weights_ramp_up_late_and_the_radial_blend_fades_early():
    cfg = SynthesisConfig(iterations=101, late_gain=3.0, late_start=0.5, radial_start=0.6)
    w = cfg.weights
    assert cfg.weights_at(0) == replace(w, radial=0.6)
    assert cfg.weights_at(25).radial == pytest.approx(0.3)
    assert cfg.weights_at(50) == replace(w, radial=0.0)
    end = cfg.weights_at(100)
    assert end.pen == 3 * w.pen and end.spen == 3 * w.spen and end.table == 3 * w.table and end.fc == w.fc
    assert end.radial == 0.0
