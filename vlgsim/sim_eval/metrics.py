"""Offline grounding and grasp metrics (pure numpy, no simulator).

Conventions follow :mod:`vlgsim.grasp.rect`: pixels with the origin at the top-left,
boxes ``[x1, y1, x2, y2]``, grasp rectangles ``[x_px, y_px, theta_deg, width_px,
height_px]`` with ``theta_deg`` the jaw-axis angle (an axis has no direction, so angles
are compared modulo 180 degrees), contact pairs ``[x1, y1, x2, y2]``.

* Boxes: :func:`box_iou`, :func:`box_giou`, :func:`box_ciou` (RealVLG's "cIoU", which is
  DIoU), :func:`acc_at`.
* Masks: :func:`mask_iou`, :func:`mask_ious`, :func:`cumulative_iou`.
* Polygons and rotated rectangles: :func:`polygon_area`, :func:`convex_polygon_iou`,
  :func:`rect_iou`, :func:`angle_diff_deg`.
* Grasps: :func:`grasp_success` / :func:`grasp_metrics` (Cornell/Jacquard rectangle
  metric) and :func:`contact_success` / :func:`contact_metrics` (contact pairs as
  rectangles).

These are the ``vlgsim`` protocol's fixed conventions (theta counter-clockwise on screen,
success against *any* ground truth, the contact jaw scaled with the image width). They are
not RealVLG-R1's code, whose rules differ in several places; the ``realvlg-r1`` protocol
reproduces that code in :mod:`vlgsim.sim_eval.realvlg_r1`. Where the two agree (box IoU,
rotated-rectangle IoU, the contact rectangle at 640 px) this module's geometry is shared.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from vlgsim.grasp.rect import contact_points_to_rect, rects_to_corners

GRASP_IOU_THRESHOLD = 0.25
"""A grasp rectangle matches a ground-truth one only if their IoU is strictly above this."""
GRASP_ANGLE_THRESHOLD_DEG = 30.0
"""... and their axis angles differ by strictly less than this many degrees."""


# ----------------------------------------------------------------------------- boxes


def _box_pair(pred, gt) -> tuple[np.ndarray, np.ndarray]:
    """Broadcast two box arrays ((N, 4) or (4,), pixels) to a common (N, 4) float64 shape."""
    p = np.atleast_2d(np.asarray(pred, dtype=np.float64))
    g = np.atleast_2d(np.asarray(gt, dtype=np.float64))
    for name, b in (("pred", p), ("gt", g)):
        if b.ndim != 2 or b.shape[1] != 4:
            raise ValueError(f"{name} boxes of shape {b.shape} must have shape (N, 4) or (4,) ([x1, y1, x2, y2])")
    try:
        p, g = np.broadcast_arrays(p, g)
    except ValueError:
        raise ValueError(f"pred boxes {p.shape} and gt boxes {g.shape} must have the same number of rows "
                         "(or one of them a single box)") from None
    return p, g


def _area(b: np.ndarray) -> np.ndarray:
    """Box areas in px^2; a box with x2 <= x1 or y2 <= y1 (degenerate) has area 0."""
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def _iou_parts(p: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(iou, union, intersection) per row; iou is 0 where the union is 0."""
    iw = np.clip(np.minimum(p[:, 2], g[:, 2]) - np.maximum(p[:, 0], g[:, 0]), 0, None)
    ih = np.clip(np.minimum(p[:, 3], g[:, 3]) - np.maximum(p[:, 1], g[:, 1]), 0, None)
    inter = iw * ih
    union = _area(p) + _area(g) - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return iou, union, inter


def _enclosing(p: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Width and height (px, >= 0) of the smallest box enclosing both boxes of each row."""
    w = np.clip(np.maximum(p[:, 2], g[:, 2]) - np.minimum(p[:, 0], g[:, 0]), 0, None)
    h = np.clip(np.maximum(p[:, 3], g[:, 3]) - np.minimum(p[:, 1], g[:, 1]), 0, None)
    return w, h


def box_iou(pred, gt) -> np.ndarray:
    """Elementwise IoU of boxes ``[x1, y1, x2, y2]`` (pixels), (N, 4) or (4,) each -> (N,).

    A degenerate box (zero or negative width or height) has area 0; where the union is 0
    the IoU is 0. A single box is broadcast against N boxes."""
    return _iou_parts(*_box_pair(pred, gt))[0]


def box_giou(pred, gt) -> np.ndarray:
    """Generalized IoU (N,), in [-1, 1]: ``iou - (C - union) / C`` with C the area (px^2)
    of the smallest box enclosing both; where C is 0 the GIoU equals the IoU."""
    p, g = _box_pair(pred, gt)
    iou, union, _ = _iou_parts(p, g)
    w, h = _enclosing(p, g)
    c = w * h
    penalty = np.divide(c - union, c, out=np.zeros_like(c), where=c > 0)
    return iou - penalty


def box_ciou(pred, gt) -> np.ndarray:
    """RealVLG's "cIoU", which is DIoU (N,): ``iou - rho^2 / c^2`` with rho the distance
    (px) between the box centres and c the diagonal (px) of the smallest enclosing box;
    where c is 0 the penalty is 0. In [-1, 1]."""
    p, g = _box_pair(pred, gt)
    iou = _iou_parts(p, g)[0]
    rho2 = ((p[:, 0] + p[:, 2]) / 2 - (g[:, 0] + g[:, 2]) / 2) ** 2 + \
           ((p[:, 1] + p[:, 3]) / 2 - (g[:, 1] + g[:, 3]) / 2) ** 2
    w, h = _enclosing(p, g)
    c2 = w ** 2 + h ** 2
    return iou - np.divide(rho2, c2, out=np.zeros_like(c2), where=c2 > 0)


def acc_at(ious, threshold: float = 0.5) -> float:
    """Share of ``ious`` that are >= ``threshold`` (e.g. Acc@0.5); 0.0 for no input."""
    v = np.asarray(ious, dtype=np.float64).ravel()
    return float(np.mean(v >= threshold)) if v.size else 0.0


# ----------------------------------------------------------------------------- masks


def _mask_counts(pred, gt) -> tuple[int, int]:
    """(intersection, union) pixel counts of two same-shape HxW masks."""
    p, g = np.asarray(pred).astype(bool), np.asarray(gt).astype(bool)
    if p.shape != g.shape:
        raise ValueError(f"pred mask shape {p.shape} and gt mask shape {g.shape} must match")
    if p.ndim != 2:
        raise ValueError(f"masks of shape {p.shape} must be 2-D (H, W)")
    return int(np.count_nonzero(p & g)), int(np.count_nonzero(p | g))


def mask_iou(pred, gt) -> float:
    """IoU of two HxW boolean masks (nonzero = in the mask).

    If both masks are empty (the union is empty) they agree, and the IoU is 1.0; an empty
    prediction against a non-empty ground truth scores 0.0."""
    inter, union = _mask_counts(pred, gt)
    return inter / union if union else 1.0


def _check_same_length(preds, gts, what: str) -> None:
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} predicted {what} and {len(gts)} ground-truth {what}: counts must match")


def mask_ious(preds: Sequence, gts: Sequence) -> np.ndarray:
    """Per-sample :func:`mask_iou` (N,) of N predicted and N ground-truth masks (each pair
    HxW; sizes may differ between samples)."""
    _check_same_length(preds, gts, "masks")
    return np.array([mask_iou(p, g) for p, g in zip(preds, gts)], dtype=np.float64)


def cumulative_iou(preds: Sequence, gts: Sequence) -> float:
    """Cumulative IoU (cIoU of referring segmentation): total intersection pixels over total
    union pixels, summed over the N samples (so large objects weigh more than in the mean
    IoU). 1.0 if there are samples but the total union is 0; 0.0 for no samples."""
    _check_same_length(preds, gts, "masks")
    if len(preds) == 0:
        return 0.0
    counts = np.array([_mask_counts(p, g) for p, g in zip(preds, gts)], dtype=np.int64)
    inter, union = counts.sum(axis=0)
    return float(inter / union) if union else 1.0


# ----------------------------------------------------------------------------- polygons


def _as_polygon(poly, name: str) -> np.ndarray:
    p = np.asarray(poly, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"{name} polygon of shape {p.shape} must have shape (k, 2) (vertices in pixels)")
    return p


def _signed_area(p: np.ndarray) -> float:
    """Shoelace signed area (px^2); 0.0 for fewer than 3 vertices."""
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.dot(x[:-1], y[1:]) + x[-1] * y[0] - np.dot(x[1:], y[:-1]) - x[0] * y[-1])


def polygon_area(poly) -> float:
    """Area (px^2, >= 0) of a simple polygon (k, 2) in either winding order (shoelace)."""
    return abs(_signed_area(_as_polygon(poly, "poly")))


def _clip_convex(subject: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Sutherland-Hodgman: the part of ``subject`` inside convex ``clip``; both polygons
    must have positive shoelace signed area. Returns (k, 2), possibly empty."""
    out = subject
    for i in range(len(clip)):
        if len(out) == 0:
            break
        e0, e1 = clip[i], clip[(i + 1) % len(clip)]
        ex, ey = e1 - e0
        side = ex * (out[:, 1] - e0[1]) - ey * (out[:, 0] - e0[0])  # >= 0: inside (left of edge)
        kept = []
        for j in range(len(out)):
            cur, prev, sc, sp = out[j], out[j - 1], side[j], side[j - 1]
            if (sc >= 0) != (sp >= 0):  # the edge prev -> cur crosses the clip line
                kept.append(prev + (cur - prev) * (sp / (sp - sc)))
            if sc >= 0:
                kept.append(cur)
        out = np.array(kept, dtype=np.float64).reshape(-1, 2)
    return out


def convex_polygon_iou(a, b) -> float:
    """IoU of two convex polygons (k, 2) in pixels, in any winding order (Sutherland-Hodgman
    clipping). 0.0 when they do not overlap, when either has zero area (fewer than 3
    vertices or collinear ones) or when any coordinate is NaN or inf."""
    pa, pb = _as_polygon(a, "a"), _as_polygon(b, "b")
    if not (np.isfinite(pa).all() and np.isfinite(pb).all()):
        return 0.0
    sa, sb = _signed_area(pa), _signed_area(pb)
    pts = np.concatenate([pa, pb])
    tiny = 1e-12 * max(1.0, float(np.ptp(pts, axis=0).max()) ** 2)  # area round-off at this scale
    if abs(sa) <= tiny or abs(sb) <= tiny:
        return 0.0
    pa, pb = (pa if sa > 0 else pa[::-1]), (pb if sb > 0 else pb[::-1])
    area_a, area_b = abs(sa), abs(sb)
    inter = min(max(_signed_area(_clip_convex(pa, pb)), 0.0), area_a, area_b)
    return inter / (area_a + area_b - inter)


def _as_rect(rect, name: str) -> np.ndarray:
    r = np.asarray(rect, dtype=np.float64).reshape(-1)
    if r.shape != (5,):
        raise ValueError(f"{name} {rect!r} must be 5 numbers [x_px, y_px, theta_deg, width_px, height_px]")
    return r


def _as_rects(rects, name: str) -> np.ndarray:
    r = np.asarray(rects, dtype=np.float64)
    if r.size == 0:
        return r.reshape(0, 5)
    if r.ndim == 1:
        r = r[None]
    if r.ndim != 2 or r.shape[1] != 5:
        raise ValueError(f"{name} of shape {r.shape} must have shape (M, 5) "
                         "(rows of [x_px, y_px, theta_deg, width_px, height_px])")
    return r


def rect_iou(pred_rect, gt_rects) -> np.ndarray:
    """IoU (M,) of one rotated grasp rectangle (5,) with each of M rectangles (M, 5), as
    polygons (pixels). A single (5,) ground truth counts as M = 1; no rectangles give (0,)."""
    p = rects_to_corners(_as_rect(pred_rect, "pred_rect")[None])[0]
    g = rects_to_corners(_as_rects(gt_rects, "gt_rects"))
    return np.array([convex_polygon_iou(p, gi) for gi in g], dtype=np.float64)


def angle_diff_deg(a, b) -> np.ndarray:
    """Difference (degrees, in [0, 90]) between grasp axis angles ``a`` and ``b`` (degrees,
    any range, broadcast): axes have no direction, so 0 and 180 are the same axis and
    10 and 170 differ by 20."""
    d = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) % 180.0
    return np.minimum(d, 180.0 - d)


# ----------------------------------------------------------------------------- grasps


def grasp_success(pred_rect, gt_rects, iou_threshold: float = GRASP_IOU_THRESHOLD,
                  angle_threshold_deg: float = GRASP_ANGLE_THRESHOLD_DEG) -> tuple[bool, float]:
    """Cornell/Jacquard rectangle metric for one prediction (5,) against M ground-truth
    rectangles (M, 5): success iff ONE ground-truth rectangle has both IoU >
    ``iou_threshold`` (strict) and axis-angle difference < ``angle_threshold_deg`` (strict,
    degrees). Returns ``(success, best IoU over all ground truths)``; no ground truth gives
    ``(False, 0.0)``."""
    pred = _as_rect(pred_rect, "pred_rect")
    gts = _as_rects(gt_rects, "gt_rects")
    if len(gts) == 0:
        return False, 0.0
    ious = rect_iou(pred, gts)
    ok = (ious > iou_threshold) & (angle_diff_deg(pred[2], gts[:, 2]) < angle_threshold_deg)
    return bool(ok.any()), float(ious.max())


def _aggregate(preds: Sequence, gts: Sequence, score, acc_key: str) -> dict:
    """Mean success and mean best IoU; a ``None`` prediction is a failure with IoU 0."""
    _check_same_length(preds, gts, "grasps")
    hits, ious = [], []
    for p, g in zip(preds, gts):
        ok, iou = (False, 0.0) if p is None else score(p, g)
        hits.append(ok)
        ious.append(iou)
    n = len(hits)
    return {acc_key: float(np.mean(hits)) if n else 0.0, "mIoU": float(np.mean(ious)) if n else 0.0}


def grasp_metrics(preds: Sequence[Optional[np.ndarray]], gts: Sequence[np.ndarray], **kw) -> dict:
    """``{"gAcc", "mIoU"}`` over N samples: ``preds`` N rectangles (5,) (an (N, 5) array or a
    list whose entries may be ``None`` for parse failures, which count as failures with IoU
    0), ``gts`` N arrays (M_i, 5). gAcc is the share of :func:`grasp_success` successes,
    mIoU the mean best IoU; both 0.0 for N = 0. ``kw`` go to :func:`grasp_success`."""
    return _aggregate(preds, gts, lambda p, g: grasp_success(p, g, **kw), "gAcc")


def contact_success(pred_contacts, gt_contacts, image_width: int, **kw) -> tuple[bool, float]:
    """vlgsim's contact metric for one predicted pair ``[x1, y1, x2, y2]`` (pixels) against M
    ground-truth pairs (M, 4): every pair becomes a rectangle with
    :func:`~vlgsim.grasp.rect.contact_points_to_rect` (jaw size 80 px at image width 640,
    scaled with ``image_width``; RealVLG-R1's ``eval_contact.py`` uses 80 px at any size),
    then :func:`grasp_success` decides. ``kw`` go to it."""
    pred = contact_points_to_rect(pred_contacts, image_width).to_list()
    g = np.asarray(gt_contacts, dtype=np.float64)
    if g.size == 0:
        return False, 0.0
    g = g.reshape(1, -1) if g.ndim == 1 else g
    if g.ndim != 2 or g.shape[1] != 4:
        raise ValueError(f"gt_contacts of shape {g.shape} must have shape (M, 4) (rows of [x1, y1, x2, y2])")
    gt_rects = np.array([contact_points_to_rect(c, image_width).to_list() for c in g])
    return grasp_success(pred, gt_rects, **kw)


def contact_metrics(preds: Sequence[Optional[np.ndarray]], gts: Sequence[np.ndarray], image_width: int,
                    **kw) -> dict:
    """``{"cAcc", "mIoU"}`` over N samples of :func:`contact_success`: ``preds`` N pairs (4,)
    (``None`` = parse failure, a failure with IoU 0), ``gts`` N arrays (M_i, 4); both 0.0
    for N = 0."""
    return _aggregate(preds, gts, lambda p, g: contact_success(p, g, image_width, **kw), "cAcc")
