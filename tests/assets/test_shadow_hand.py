"""The Shadow Hand model loaded from the gymnasium-robotics MJCF."""

import numpy as np

from vlgsim.assets.shadow_hand import FINGERS, JOINT_NAMES, load_shadow_hand


def test_hand_has_22_finger_joints_with_mjcf_limits_and_couplings():
    h = load_shadow_hand()
    assert len(JOINT_NAMES) == 22 and h.n_links == 23 and h.parent[0] == -1
    assert np.all(h.parent[1:] < np.arange(1, h.n_links))  # parents first
    j = JOINT_NAMES.index("THJ0")
    assert np.isclose(h.lower[j], -1.571) and np.isclose(h.upper[j], 0.0)
    assert np.all(h.lower < h.upper)
    # the MJCF tendon T_FFJ1c ties FFJ0 to FFJ1 with 0.00705 q0 - 0.00805 q1 in +-0.001
    j0, j1, ratio, tol = h.couplings[0]
    assert (JOINT_NAMES[j0], JOINT_NAMES[j1]) == ("FFJ0", "FFJ1")
    assert np.isclose(ratio, 0.00805 / 0.00705) and np.isclose(tol, 0.001 / 0.00705)


def test_collision_geometry_and_points():
    h = load_shadow_hand()
    assert len(h.capsules) == 15 and len(h.boxes) == 3  # 3 per finger; 2 palm boxes + little metacarpal
    assert [h.link_names[lk] for lk in h.tip_link] == ["thdistal", "ffdistal", "mfdistal", "rfdistal", "lfdistal"]
    assert len(FINGERS) == 5
    links, pts = h.contact_candidates()
    assert len(links) == 12 * len(h.capsules) and np.all(np.isfinite(pts))
    pairs = h.self_collision_pairs()
    fingers = h.link_finger[h.spheres()[0]]
    assert np.all(fingers[pairs[:, 0]] != fingers[pairs[:, 1]])  # never two spheres of one finger
