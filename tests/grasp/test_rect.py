import numpy as np
import pytest

from vlgsim.grasp import (GraspRect, InvalidAction, TopDownGrasp, action_to_world, contact_points_to_rect,
                          fold_angle_deg, label_rect)
from vlgsim.scenes import CameraSpec


def test_fold_angle():
    assert fold_angle_deg(100) == pytest.approx(-80)
    assert fold_angle_deg(-90) == pytest.approx(90)
    assert fold_angle_deg(270) == pytest.approx(90)
    assert fold_angle_deg(30) == pytest.approx(30)


def test_corners_of_a_rotated_rectangle():
    r = GraspRect(100, 50, 90, 40, 10)  # jaw axis points up on screen
    c = r.corners()
    np.testing.assert_allclose(sorted(c[:, 1]), [30, 30, 70, 70], atol=1e-9)
    np.testing.assert_allclose(sorted(c[:, 0]), [95, 95, 105, 105], atol=1e-9)


def test_contact_points_rectangle_follows_realvlg():
    r = contact_points_to_rect([10, 20, 50, 20], image_width=640)
    assert (r.x_px, r.y_px, r.theta_deg, r.width_px, r.height_px) == pytest.approx((30, 20, 0, 40, 80))
    assert contact_points_to_rect([10, 20, 10, 60], image_width=320).height_px == pytest.approx(40)
    assert abs(contact_points_to_rect([0, 0, 10, -10], 640).theta_deg) == pytest.approx(45)


def _plane_depth(cam: CameraSpec, z_plane: float) -> np.ndarray:
    """Analytic depth image of the horizontal plane z = z_plane."""
    v, u = np.mgrid[0:cam.height, 0:cam.width]
    o, d = cam.pixel_ray(np.c_[u.ravel() + 0.5, v.ravel() + 0.5])
    t = (z_plane - o[:, 2]) / d[:, 2]
    p = o + t[:, None] * d
    z_cam = (p @ cam.extrinsic[:3, :3].T + cam.extrinsic[:3, 3])[:, 2]
    return z_cam.reshape(cam.height, cam.width).astype(np.float32)


@pytest.mark.parametrize("angle", [0.0, 0.7, -1.2, np.pi / 2])
def test_label_then_execute_round_trips_a_world_grasp(angle):
    cam = CameraSpec.d435()
    top = np.array([0.03, -0.05, 0.06])
    g = TopDownGrasp(center=top - [0, 0, 0.03], top_point=top, axis_angle_rad=angle, contact_width_m=0.04,
                     opening_m=0.06, contacts=np.stack([top, top]), quality=1.0)
    rect, _ = label_rect(g, cam.intrinsic, cam.extrinsic)
    wg = action_to_world(rect.as_action(), "grasp_rect", _plane_depth(cam, top[2]), cam.intrinsic, cam.extrinsic)
    np.testing.assert_allclose(wg.tcp_xyz, g.center, atol=3e-3)
    assert wg.opening_m == pytest.approx(0.06, abs=3e-3)
    d = (wg.axis_angle_rad - angle) % np.pi
    assert min(d, np.pi - d) < 0.03


@pytest.mark.parametrize("action, rule", [
    ([np.nan, 1, 0, 10], "NaN or inf"), ([np.inf, 1, 0, 10], "NaN or inf"), ([1, 2, 3], r"shape \(4,\)"),
    ([-5, 10, 0, 10], "outside the image"), ([10, 10, 0, -3], "width_px > 0"),
])
def test_invalid_actions_name_value_and_rule(action, rule):
    cam = CameraSpec.d435()
    with pytest.raises(InvalidAction, match=rule):
        action_to_world(action, "grasp_rect", _plane_depth(cam, 0.0), cam.intrinsic, cam.extrinsic)
