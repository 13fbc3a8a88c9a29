"""Offline metrics against hand-worked values (arithmetic in the comments)."""

import math

import numpy as np
import pytest

from vlgsim.grasp.rect import GraspRect, rects_to_corners
from vlgsim.sim_eval.metrics import (acc_at, angle_diff_deg, box_ciou, box_giou, box_iou, contact_metrics,
                                     contact_success, convex_polygon_iou, cumulative_iou, grasp_metrics,
                                     grasp_success, mask_iou, mask_ious, polygon_area, rect_iou)

# ----------------------------------------------------------------------------- boxes


def test_identical_boxes_score_one_everywhere():
    b = [0, 0, 10, 10]
    assert box_iou(b, b) == pytest.approx([1.0])
    assert box_giou(b, b) == pytest.approx([1.0])
    assert box_ciou(b, b) == pytest.approx([1.0])


def test_half_overlap():
    # [0,0,10,5] inside [0,0,10,10]: inter 50, union 100 -> 0.5
    assert box_iou([0, 0, 10, 5], [0, 0, 10, 10]) == pytest.approx([0.5])
    # shifted by half a side: inter 5*10 = 50, union 100 + 100 - 50 = 150 -> 1/3
    p, g = [0, 0, 10, 10], [5, 0, 15, 10]
    assert box_iou(p, g) == pytest.approx([1 / 3])
    # enclosing box [0,0,15,10] has area 150 = union -> GIoU = IoU
    assert box_giou(p, g) == pytest.approx([1 / 3])
    # centres (5,5) and (10,5): rho^2 = 25; enclosing diagonal^2 = 15^2 + 10^2 = 325
    assert box_ciou(p, g) == pytest.approx([1 / 3 - 25 / 325])


def test_disjoint_boxes():
    p, g = [0, 0, 1, 1], [2, 0, 3, 1]
    assert box_iou(p, g) == pytest.approx([0.0])
    # union 2, enclosing [0,0,3,1] area 3: GIoU = 0 - (3 - 2) / 3 = -1/3
    assert box_giou(p, g) == pytest.approx([-1 / 3])
    # centres (0.5,0.5), (2.5,0.5): rho^2 = 4; enclosing diagonal^2 = 9 + 1 = 10 -> -0.4
    assert box_ciou(p, g) == pytest.approx([-0.4])
    # far apart: enclosing [0,0,100,100] = 10000, union 2 -> -(9998 / 10000)
    assert box_giou(p, [99, 99, 100, 100]) == pytest.approx([-0.9998])


def test_concentric_boxes_have_no_distance_penalty():
    p, g = [2, 2, 8, 8], [0, 0, 10, 10]  # inter 36, union 100
    assert box_iou(p, g) == pytest.approx([0.36])
    assert box_ciou(p, g) == pytest.approx([0.36])  # same centre: rho = 0
    assert box_giou(p, g) == pytest.approx([0.36])  # enclosing box = g = union


def test_degenerate_boxes_have_zero_area():
    g = [0, 0, 10, 10]
    assert box_iou([5, 5, 5, 10], g) == pytest.approx([0.0])  # zero width: area 0, union 100
    assert box_iou([10, 0, 0, 10], g) == pytest.approx([0.0])  # x2 < x1: area 0, not the flipped box
    # its union is then g's area 100 (not 100 - 100 = 0), enclosing box = g: GIoU = 0 - (100 - 100) / 100
    assert box_giou([10, 0, 0, 10], g) == pytest.approx([0.0])
    # two identical points: union 0 -> IoU 0, enclosing area 0 -> GIoU = IoU, diagonal 0 -> no penalty
    pt = [5, 5, 5, 5]
    assert box_iou(pt, pt) == pytest.approx([0.0])
    assert box_giou(pt, pt) == pytest.approx([0.0])
    assert box_ciou(pt, pt) == pytest.approx([0.0])


def test_boxes_are_elementwise_and_broadcast_a_single_box():
    p = np.array([[0, 0, 10, 10], [0, 0, 10, 5]])
    g = np.array([[0, 0, 10, 10], [0, 0, 10, 10]])
    np.testing.assert_allclose(box_iou(p, g), [1.0, 0.5])
    np.testing.assert_allclose(box_iou([0, 0, 10, 10], [[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]]),
                               [1.0, 1 / 3, 0.0])
    with pytest.raises(ValueError, match=r"shape \(1, 3\).*\(N, 4\)"):
        box_iou([0, 0, 1], [0, 0, 1, 1])
    with pytest.raises(ValueError, match="same number of rows"):
        box_iou(np.zeros((2, 4)), np.zeros((3, 4)))


def test_acc_at_threshold_is_inclusive():
    # 0.5 and 0.9 reach 0.5; 0.49 and 0.1 do not -> 2/4
    assert acc_at([0.5, 0.49, 0.9, 0.1]) == pytest.approx(0.5)
    assert acc_at([0.5, 0.49, 0.9, 0.1], threshold=0.25) == pytest.approx(0.75)
    assert acc_at([]) == 0.0


# ----------------------------------------------------------------------------- masks


def test_mask_iou_and_empty_masks():
    a, b = np.zeros((4, 4), bool), np.zeros((4, 4), bool)
    assert mask_iou(a, b) == 1.0  # both empty: they agree
    b[0, :2] = True
    assert mask_iou(a, b) == 0.0  # empty prediction, non-empty truth
    a[0, 1:3] = True  # a = {(0,1),(0,2)}, b = {(0,0),(0,1)}: inter 1, union 3
    assert mask_iou(a, b) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match=r"\(4, 4\).*\(4, 5\)"):
        mask_iou(a, np.zeros((4, 5), bool))


def test_cumulative_iou_weighs_large_objects_more_than_mean_iou():
    big = np.zeros((20, 20), bool)
    big[:10, :10] = True  # 100 px, predicted exactly: inter 100, union 100, IoU 1
    small_gt, small_pred = np.zeros((20, 20), bool), np.zeros((20, 20), bool)
    small_gt[0, :10] = True  # 10 px, prediction disjoint 10 px: inter 0, union 20, IoU 0
    small_pred[5, :10] = True
    preds, gts = [big, small_pred], [big.copy(), small_gt]
    np.testing.assert_allclose(mask_ious(preds, gts), [1.0, 0.0])  # mean IoU 0.5
    assert cumulative_iou(preds, gts) == pytest.approx(100 / 120)  # (100 + 0) / (100 + 20) = 5/6
    assert cumulative_iou([np.zeros((3, 3))], [np.zeros((3, 3))]) == 1.0  # total union 0
    with pytest.raises(ValueError, match="counts must match"):
        cumulative_iou(preds, gts[:1])


# ----------------------------------------------------------------------------- polygons and rectangles


def test_rects_to_corners_matches_grasp_rect_corners():
    rng = np.random.default_rng(0)
    rects = np.c_[rng.uniform(0, 640, (20, 2)), rng.uniform(-90, 90, 20), rng.uniform(1, 100, (20, 2))]
    got = rects_to_corners(rects)
    assert got.shape == (20, 4, 2)
    for r, c in zip(rects, got):
        np.testing.assert_allclose(c, GraspRect(*r).corners(), rtol=0, atol=1e-12)  # same order too
    with pytest.raises(ValueError, match=r"shape \(5,\).*\(N, 5\)"):
        rects_to_corners(rects[0])


def test_polygon_area_either_winding():
    sq = np.array([[0, 0], [10, 0], [10, 10], [0, 10]])
    assert polygon_area(sq) == pytest.approx(100)
    assert polygon_area(sq[::-1]) == pytest.approx(100)
    assert polygon_area([[0, 0], [10, 0], [0, 10]]) == pytest.approx(50)
    assert polygon_area([[0, 0], [10, 0]]) == 0.0


def test_convex_polygon_iou():
    sq = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)
    tri = np.array([[0, 0], [10, 0], [0, 10]], float)
    assert convex_polygon_iou(sq, sq) == pytest.approx(1.0)
    assert convex_polygon_iou(sq, sq[::-1]) == pytest.approx(1.0)  # winding order does not matter
    assert convex_polygon_iou(sq, sq + 20) == 0.0  # no overlap
    assert convex_polygon_iou(tri, sq) == pytest.approx(0.5)  # inside: 50 / 100
    # square shifted to x in [5,15] vs triangle x + y <= 10: inter = triangle (5,0),(10,0),(5,5) = 12.5
    # union = 100 + 50 - 12.5 = 137.5 -> 12.5 / 137.5 = 1/11
    assert convex_polygon_iou(tri[::-1], sq + [5, 0]) == pytest.approx(1 / 11)
    assert convex_polygon_iou(sq, [[0, 0], [5, 5], [10, 10]]) == 0.0  # collinear: zero area
    assert convex_polygon_iou(sq, [[0, 0], [5, 5]]) == 0.0
    assert convex_polygon_iou(sq, sq * np.nan) == 0.0


def test_rect_iou_of_a_square_and_its_45_degree_rotation():
    # Side s, same centre. Both squares have inradius s/2, so their intersection is a regular
    # octagon of inradius r = s/2: area 8 r^2 tan(22.5 deg) = 8 (s/2)^2 (sqrt2 - 1) = 2 s^2 (sqrt2 - 1).
    # (Check: the axis-aligned square loses 4 corner triangles with legs s - s/sqrt2,
    #  4 * (s (1 - 1/sqrt2))^2 / 2 = s^2 (3 - 2 sqrt2); s^2 - that = s^2 (2 sqrt2 - 2).)
    # union = 2 s^2 - 2 s^2 (sqrt2 - 1) = 2 s^2 (2 - sqrt2)
    # IoU = (sqrt2 - 1) / (2 - sqrt2) = (sqrt2 - 1) / (sqrt2 (sqrt2 - 1)) = 1 / sqrt2
    s = 20.0
    iou = rect_iou([50, 50, 45, s, s], [[50, 50, 0, s, s]])
    assert iou == pytest.approx([1 / math.sqrt(2)], abs=1e-12)


def test_rect_iou_against_several_rectangles():
    p = [50, 50, 0, 40, 20]
    gts = [[50, 50, 0, 40, 20],  # identical -> 1
           [50, 50, 90, 40, 20],  # a cross: inter 20 x 20 = 400, union 800 + 800 - 400 = 1200 -> 1/3
           [50, 50, 180, 40, 20],  # same rectangle, axis reversed -> 1
           [200, 50, 0, 40, 20],  # far away -> 0
           [50, 50, 0, 0, 20]]  # zero width -> 0
    np.testing.assert_allclose(rect_iou(p, gts), [1, 1 / 3, 1, 0, 0], atol=1e-9)
    assert rect_iou(p, np.zeros((0, 5))).shape == (0,)
    with pytest.raises(ValueError, match="must be 5 numbers"):
        rect_iou([1, 2, 3, 4], gts)


def test_angle_diff_folds_axes():
    assert angle_diff_deg(10, 170) == pytest.approx(20)
    assert angle_diff_deg(0, 180) == pytest.approx(0)
    assert angle_diff_deg(89, -89) == pytest.approx(2)  # 178 apart = 2 apart as axes
    assert angle_diff_deg(85, -85) == pytest.approx(10)
    assert angle_diff_deg(-45, 45) == pytest.approx(90)
    np.testing.assert_allclose(angle_diff_deg([0, 100, 30], [90, -80, -20]), [90, 0, 50])


# ----------------------------------------------------------------------------- grasp success


SQ = [100, 100, 0, 40, 40]  # a 40 px square grasp at (100, 100), axis along +x


@pytest.mark.parametrize("theta, ok", [(29.9, True), (30.1, False), (-29.9, True), (-30.1, False),
                                       (150.1, True), (149.9, False)])
def test_angle_threshold_near_30(theta, ok):
    # a square rotated by <= 30 deg about its centre keeps IoU > 0.7, so the angle alone decides
    success, iou = grasp_success([100, 100, theta, 40, 40], [SQ])
    assert success is ok
    assert iou > 0.7


@pytest.mark.parametrize("pred, gt, ok", [(89, -89, True), (85, -85, True), (75, -75, False), (75, -76, True)])
def test_angle_threshold_across_the_fold(pred, gt, ok):
    # 89 vs -89: 2 deg; 85 vs -85: 10; 75 vs -75: exactly 30 (not < 30); 75 vs -76: 29
    assert grasp_success([100, 100, pred, 40, 40], [[100, 100, gt, 40, 40]])[0] is ok


def test_iou_exactly_at_threshold_fails():
    gt = [[5, 5, 0, 10, 10]]  # box x in [0, 10], y in [0, 10]
    # x in [6, 16]: inter 4 x 10 = 40, union 100 + 100 - 40 = 160 -> exactly 0.25, not > 0.25
    assert rect_iou([11, 5, 0, 10, 10], gt)[0] == 0.25
    assert grasp_success([11, 5, 0, 10, 10], gt) == (False, 0.25)
    # x in [5.9, 15.9]: inter 41, union 159 -> 0.2579 > 0.25
    ok, iou = grasp_success([10.9, 5, 0, 10, 10], gt)
    assert ok and iou == pytest.approx(41 / 159)


def test_iou_and_angle_must_hold_for_the_same_ground_truth():
    only_angle = [300, 300, 0, 40, 40]  # same angle as the prediction, no overlap
    only_iou = [100, 100, 60, 40, 40]  # same centre (IoU as for a 30 deg turn, > 0.7), 60 deg off
    ok, iou = grasp_success(SQ, [only_angle, only_iou])
    assert not ok
    assert iou == pytest.approx(rect_iou(SQ, [only_iou])[0]) and iou > 0.7  # best IoU over all GT
    assert grasp_success(SQ, [only_angle, only_iou, [100, 100, 10, 40, 40]])[0]  # a GT passing both


def test_no_ground_truth_is_a_failure():
    assert grasp_success(SQ, []) == (False, 0.0)
    assert grasp_success(SQ, np.zeros((0, 5))) == (False, 0.0)


def test_grasp_metrics_count_none_as_failure():
    gts = [np.array([SQ]), np.array([SQ]), np.array([SQ])]
    preds = [SQ, None, [300, 300, 0, 40, 40]]  # hit (IoU 1), parse failure, miss (IoU 0)
    m = grasp_metrics(preds, gts)
    assert m == pytest.approx({"gAcc": 1 / 3, "mIoU": 1 / 3})
    assert grasp_metrics(np.array([SQ, SQ]), gts[:2]) == pytest.approx({"gAcc": 1.0, "mIoU": 1.0})
    assert grasp_metrics([], []) == {"gAcc": 0.0, "mIoU": 0.0}
    with pytest.raises(ValueError, match="counts must match"):
        grasp_metrics(preds, gts[:2])


# ----------------------------------------------------------------------------- contacts


def test_contact_pair_becomes_a_rectangle_then_succeeds():
    pred = [10, 20, 50, 20]  # at width 640: centre (30, 20), theta 0, width 40, jaw 80 -> x [10,50], y [-20,60]
    # shifted 2 px along the axis: inter 38 x 80 = 3040, union 6400 - 3040 = 3360 -> 19/21
    ok, iou = contact_success(pred, [[12, 20, 52, 20]], image_width=640)
    assert ok and iou == pytest.approx(19 / 21)
    # the same pair listed the other way round is the same rectangle
    assert contact_success(pred, [[50, 20, 10, 20]], 640) == (True, pytest.approx(1.0))
    # perpendicular pair through the same centre: x [-10,70], y [0,40]; inter 40 x 40 = 1600,
    # union 3200 + 3200 - 1600 = 4800 -> 1/3 > 0.25, but 90 deg off -> failure
    ok, iou = contact_success(pred, [[30, 0, 30, 40]], 640)
    assert not ok and iou == pytest.approx(1 / 3)


def test_contact_jaw_size_scales_with_image_width():
    pred, gt = [10, 20, 50, 20], [[10, 30, 50, 30]]  # shifted 10 px across the axis
    # width 640, jaw 80: inter 40 x 70 = 2800, union 6400 - 2800 = 3600 -> 7/9
    assert contact_success(pred, gt, 640)[1] == pytest.approx(7 / 9)
    # width 320, jaw 40: inter 40 x 30 = 1200, union 3200 - 1200 = 2000 -> 0.6
    assert contact_success(pred, gt, 320)[1] == pytest.approx(0.6)


def test_contact_metrics_count_none_as_failure():
    gts = [np.array([[10, 20, 50, 20]]), np.array([[10, 20, 50, 20]])]
    m = contact_metrics([[10, 20, 50, 20], None], gts, image_width=640)
    assert m == pytest.approx({"cAcc": 0.5, "mIoU": 0.5})  # (1 + 0) / 2 each
    assert contact_success([10, 20, 50, 20], [], 640) == (False, 0.0)
