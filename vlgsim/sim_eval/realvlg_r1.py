"""Metrics and rewards of the ``realvlg-r1`` protocol (pure numpy, no simulator).

Reproduces ``lif314/RealVLG-R1`` (each rule cites its file) on the same inputs:

* grasp rectangles: ``rect_to_points8(x, y, theta, width, gripper_depth=40)`` (``evaluation/
  eval_grasp.py``, ``examples/reward_function/rect_grasp.py``): **theta in image axes** (x
  right, y down: the opposite sign of vlgsim's counter-clockwise theta), the predicted
  rectangle's height fixed at 40 px; ground truths are 8-point polygons whose (x, y, theta,
  width) come from ``points8_to_rect`` (theta = direction of corner 0 -> corner 1).
* contact pairs: ``compute_grasp_bbox(x1, y1, x2, y2, gripper_width=80)`` (``evaluation/
  eval_contact.py``, ``examples/reward_function/contact_grasp.py``): the segment's rectangle,
  80 px thick at any image size; its angle is ``atan2(y2 - y1, x2 - x1)``.
* success (``eval_grasp.py`` / ``eval_contact.py``): the ground truth with the **highest IoU**
  (the first one on ties; none if every IoU is 0) is the only one whose angle is checked:
  success iff that IoU > 0.25 and that angle difference < 30 degrees.
* ``angular_diff``: angle between the two axes via cos/sin and ``arccos``, folded to
  [0, 90]. The published function reads both angles as **radians** when both are within
  +-pi (so 1.5 vs 0 degrees gives 85.9): a bug, reproduced only with ``faithful=True`` (the
  protocol ``realvlg-r1-faithful``); ``realvlg-r1`` reads degrees as degrees.
* boxes (``evaluation/eval_bbox.py``): GIoU on shapely boxes (corners in any order), the
  "cIoU" approximation ``iou - centre_dist^2 / (enclosing_diag^2 + 1e-7)`` on the raw corners.
* rewards: bbox IoU (``examples/reward_function/bbox.py``); grasp ``max_gt 1 / (1 + sum
  Huber_1(s - g))`` on raw ``[x, y, cos(theta), sin(theta), width]`` (pixels, theta not
  folded; ``rect_grasp.py``); contact max polygon IoU (``contact_grasp.py``).

Overflow safety (ours, not in the published code): an answer with a number that is not
finite or beyond +-:data:`~vlgsim.language.answers.MAX_ABS_VALUE` scores as a wrong answer
(IoU 0, GIoU and cIoU -1, reward 0) instead of producing NaN or an overflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vlgsim.language.answers import MAX_ABS_VALUE
from vlgsim.sim_eval.metrics import convex_polygon_iou, polygon_area

GRIPPER_DEPTH_PX = 40.0
"""``rect_to_points8``'s ``gripper_depth``: the predicted rectangle's fixed height (px)."""
CONTACT_GRIPPER_WIDTH_PX = 80.0
"""``compute_grasp_bbox``'s ``gripper_width``: a contact rectangle's fixed thickness (px)."""
IOU_THRESHOLD = 0.25
ANGLE_THRESHOLD_DEG = 30.0
NO_MATCH_ANGLE = 999.0
"""``best_angle`` when no ground truth overlaps (the published loop's initial value)."""
CONTACT_MIN_UNION_PX2 = 1e-6
"""``polygon_iou`` (contact, rewards): IoU is 0 unless the union exceeds this (px^2)."""

PROTOCOLS = ("vlgsim", "realvlg-r1", "realvlg-r1-faithful")
"""Scoring protocols: vlgsim's fixed conventions, RealVLG-R1's code, and the same with its
``angular_diff`` radian bug."""


def check_protocol(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol {protocol!r}; rule: one of {', '.join(PROTOCOLS)}")
    return protocol


def in_range(values) -> bool:
    """True iff every number is finite and within +-MAX_ABS_VALUE."""
    v = np.asarray(values, dtype=np.float64)
    return bool(np.isfinite(v).all() and (np.abs(v) <= MAX_ABS_VALUE).all())


# ----------------------------------------------------------------------------- geometry


def rect_to_points8(x, y, theta_deg, width, gripper_depth: float = GRIPPER_DEPTH_PX) -> np.ndarray:
    """``rect_to_points8`` (eval_grasp.py / rect_grasp.py), broadcast: (..., 8) corners
    ``[x0, y0, ..., x3, y3]`` px of the rectangle centred at (x, y), jaw axis at ``theta_deg``
    in image axes, ``width`` along it and ``gripper_depth`` across it."""
    t = np.deg2rad(np.asarray(theta_deg, dtype=np.float64))
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    dx, dy = (np.asarray(width, np.float64) / 2) * np.cos(t), (np.asarray(width, np.float64) / 2) * np.sin(t)
    dz = np.asarray(gripper_depth, np.float64) / 2
    s, c = dz * np.sin(t), dz * np.cos(t)
    return np.stack(np.broadcast_arrays(x - dx - s, y - dy + c, x + dx - s, y + dy + c,
                                        x + dx + s, y + dy - c, x - dx + s, y - dy - c), axis=-1)


def points8_to_rect(points8) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``points8_to_rect``: (..., 8) corners -> x, y (mean of the corners), theta (degrees,
    image axes, corner 0 -> corner 1) and width (distance between the midpoints of edges
    1-2 and 0-3)."""
    c = np.asarray(points8, dtype=np.float64).reshape(*np.shape(points8)[:-1], 4, 2)
    x, y = c[..., 0].mean(-1), c[..., 1].mean(-1)
    width = np.linalg.norm((c[..., 1, :] + c[..., 2, :]) / 2 - (c[..., 0, :] + c[..., 3, :]) / 2, axis=-1)
    theta = np.rad2deg(np.arctan2(c[..., 1, 1] - c[..., 0, 1], c[..., 1, 0] - c[..., 0, 0]))
    return x, y, theta, width


def vlgsim_rects_to_points8(rects) -> np.ndarray:
    """vlgsim ground-truth rectangles (M, 5) ``[x, y, theta_deg (counter-clockwise on screen),
    width, height]`` as RealVLG-R1 8-point polygons (M, 8): ``rect_to_points8`` with theta in
    image axes (``-theta``) and the rectangle's own height, so ``points8_to_rect`` gives back
    (x, y, -theta, width)."""
    r = np.asarray(rects, dtype=np.float64).reshape(-1, 5)
    return rect_to_points8(r[:, 0], r[:, 1], -r[:, 2], r[:, 3], r[:, 4]).reshape(-1, 8)


def contact_rect(contact) -> np.ndarray:
    """``compute_grasp_bbox(x1, y1, x2, y2, gripper_width=80)``: (4, 2) corners px."""
    x1, y1, x2, y2 = (float(v) for v in np.asarray(contact, dtype=np.float64).reshape(4))
    t = np.arctan2(y2 - y1, x2 - x1)
    dx, dy = (CONTACT_GRIPPER_WIDTH_PX / 2) * np.sin(t), (CONTACT_GRIPPER_WIDTH_PX / 2) * np.cos(t)
    return np.array([[x1 - dx, y1 + dy], [x1 + dx, y1 - dy], [x2 + dx, y2 - dy], [x2 - dx, y2 + dy]])


def contact_theta_deg(contact) -> float:
    """Angle of a contact pair in image axes: ``rad2deg(arctan2(y2 - y1, x2 - x1))``."""
    x1, y1, x2, y2 = np.asarray(contact, dtype=np.float64).reshape(4)
    return float(np.rad2deg(np.arctan2(y2 - y1, x2 - x1)))


def polygon_iou(a, b, min_union: float = 0.0) -> float:
    """IoU of two convex polygons (k, 2) px; 0 unless the union exceeds ``min_union``
    (``eval_grasp.py`` uses 0, ``polygon_iou`` of contact/rewards 1e-6 px^2)."""
    iou = convex_polygon_iou(a, b)
    if min_union > 0 and iou > 0 and (polygon_area(a) + polygon_area(b)) / (1 + iou) <= min_union:
        return 0.0  # (area_a + area_b) / (1 + iou) is the union
    return iou


def angular_diff(pred_theta, gt_theta, faithful: bool = False) -> float:
    """``angular_diff`` of eval_grasp.py / eval_contact.py (degrees in [0, 90]); with
    ``faithful`` both angles are read as radians when both are within +-pi (the published bug)."""
    p, g = float(pred_theta), float(gt_theta)
    if faithful and abs(p) <= np.pi and abs(g) <= np.pi:
        pr, gr = p, g
    else:
        pr, gr = np.deg2rad(p), np.deg2rad(g)
    cos_sim = np.clip(np.dot(np.array([np.cos(pr), np.sin(pr)]), np.array([np.cos(gr), np.sin(gr)])), -1.0, 1.0)
    d = float(np.rad2deg(np.arccos(cos_sim)))
    return 180.0 - d if d > 90 else d


# ----------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class GraspMatch:
    """One answer against its ground truths: the highest IoU, the angle difference to that
    ground truth (999 if none overlaps) and success (IoU > 0.25 and angle < 30)."""

    iou: float
    angle_diff_deg: float
    success: bool


WRONG = GraspMatch(0.0, NO_MATCH_ANGLE, False)


def _best(ious: list[float], angles: list[float]) -> GraspMatch:
    best_iou, best_angle = 0.0, NO_MATCH_ANGLE
    for iou, ang in zip(ious, angles):
        if iou > best_iou:
            best_iou, best_angle = iou, ang
    return GraspMatch(best_iou, best_angle, bool(best_iou > IOU_THRESHOLD and best_angle < ANGLE_THRESHOLD_DEG))


def grasp_match(pred, gt_points8, faithful: bool = False) -> GraspMatch:
    """``evaluate_rect_grasp``'s per-sample loop: ``pred`` = ``[x, y, theta_deg (image axes),
    width]`` px, ``gt_points8`` (M, 8) polygons. Out-of-range answers are :data:`WRONG`."""
    p = np.asarray(pred, dtype=np.float64).reshape(4)
    if not in_range(p):
        return WRONG
    poly = rect_to_points8(*p).reshape(4, 2)
    gts = np.asarray(gt_points8, dtype=np.float64).reshape(-1, 8)
    gt_theta = points8_to_rect(gts)[2]
    return _best([polygon_iou(poly, g.reshape(4, 2)) for g in gts],
                 [angular_diff(p[2], t, faithful) for t in gt_theta])


def contact_match(pred, gt_contacts, faithful: bool = False) -> GraspMatch:
    """``evaluate_contact_grasp``'s per-sample loop: ``pred`` = ``[x1, y1, x2, y2]`` px,
    ``gt_contacts`` (M, 4). Out-of-range answers are :data:`WRONG`."""
    p = np.asarray(pred, dtype=np.float64).reshape(4)
    if not in_range(p):
        return WRONG
    poly, theta = contact_rect(p), contact_theta_deg(p)
    gts = np.asarray(gt_contacts, dtype=np.float64).reshape(-1, 4)
    return _best([polygon_iou(poly, contact_rect(g), CONTACT_MIN_UNION_PX2) for g in gts],
                 [angular_diff(theta, contact_theta_deg(g), faithful) for g in gts])


def box_giou_ciou(pred, gt) -> tuple[float, float]:
    """``compute_giou(gt, pred)`` and ``compute_ciou(gt, pred)`` of eval_bbox.py for one box
    pair ``[x1, y1, x2, y2]`` px. GIoU works on shapely boxes, so corners may come in any
    order; cIoU uses the raw corners. Out-of-range answers give (-1, -1); a zero enclosing
    area (where the published code divides by zero) gives GIoU = IoU."""
    p = np.asarray(pred, dtype=np.float64).reshape(4)
    g = np.asarray(gt, dtype=np.float64).reshape(4)
    if not in_range(p):
        return -1.0, -1.0

    def norm(b):
        return np.array([min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3])])

    a, b = norm(g), norm(p)
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    iou = inter / union if union > 0 else 0.0
    enclosing = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    giou = iou - (enclosing - union) / enclosing if enclosing > 0 else iou
    # compute_ciou on the raw corners (boxA = gt, boxB = pred)
    A, B = g, p
    inter_r = max(0.0, min(A[2], B[2]) - max(A[0], B[0])) * max(0.0, min(A[3], B[3]) - max(A[1], B[1]))
    union_r = (A[2] - A[0]) * (A[3] - A[1]) + (B[2] - B[0]) * (B[3] - B[1]) - inter_r
    iou_r = inter_r / union_r if union_r > 0 else 0.0
    centre = ((A[0] + A[2]) / 2 - (B[0] + B[2]) / 2) ** 2 + ((A[1] + A[3]) / 2 - (B[1] + B[3]) / 2) ** 2
    c = (max(A[2], B[2]) - min(A[0], B[0])) ** 2 + (max(A[3], B[3]) - min(A[1], B[1])) ** 2
    return float(giou), float(iou_r - centre / (c + 1e-7))


def box_iou_reward(pred, gt) -> float:
    """``bbox_iou`` of examples/reward_function/bbox.py (areas clipped at 0)."""
    A = np.asarray(pred, dtype=np.float64).reshape(4)
    B = np.asarray(gt, dtype=np.float64).reshape(4)
    if not in_range(A):
        return 0.0
    inter = max(0.0, min(A[2], B[2]) - max(A[0], B[0])) * max(0.0, min(A[3], B[3]) - max(A[1], B[1]))
    union = max(0.0, A[2] - A[0]) * max(0.0, A[3] - A[1]) + max(0.0, B[2] - B[0]) * max(0.0, B[3] - B[1]) - inter
    return float(inter / union) if union > 0 else 0.0


# ----------------------------------------------------------------------------- rewards


def huber(d, delta: float = 1.0) -> np.ndarray:
    """``huber_single`` of rect_grasp.py, elementwise."""
    a = np.abs(np.asarray(d, dtype=np.float64))
    return np.where(a <= delta, 0.5 * a * a, delta * (a - 0.5 * delta))


def grasp_reward(pred, gt_points8) -> float:
    """``huber_reward``'s ``train_reward`` (rect_grasp.py): ``max_gt 1 / (1 + sum Huber_1(s - g))``
    with ``s``, ``g`` = ``[x, y, cos(theta), sin(theta), width]`` in raw pixels (theta in
    degrees, image axes, not folded; ground truth from ``points8_to_rect``). 0.0 for no
    ground truth or an out-of-range answer."""
    p = np.asarray(pred, dtype=np.float64).reshape(4)
    gts = np.asarray(gt_points8, dtype=np.float64).reshape(-1, 8)
    if not in_range(p) or len(gts) == 0:
        return 0.0
    t = np.deg2rad(p[2])
    s = np.array([p[0], p[1], np.cos(t), np.sin(t), p[3]])
    gx, gy, gt, gw = points8_to_rect(gts)
    g = np.stack([gx, gy, np.cos(np.deg2rad(gt)), np.sin(np.deg2rad(gt)), gw], axis=-1)
    loss = huber(s[None] - g).sum(axis=1)
    return float(np.max(1.0 / (1.0 + loss)))


def contact_reward(pred, gt_contacts) -> float:
    """``accuracy_reward`` of contact_grasp.py: the highest polygon IoU of the 80 px contact
    rectangles. 0.0 for no ground truth or an out-of-range answer."""
    p = np.asarray(pred, dtype=np.float64).reshape(4)
    gts = np.asarray(gt_contacts, dtype=np.float64).reshape(-1, 4)
    if not in_range(p) or len(gts) == 0:
        return 0.0
    poly = contact_rect(p)
    return max(polygon_iou(poly, contact_rect(g), CONTACT_MIN_UNION_PX2) for g in gts)
