"""vlgsim's ``realvlg-r1`` protocol against RealVLG-R1's published formulas, case by case.

The reference functions below are re-implemented from ``lif314/RealVLG-R1`` (shapely
polygons, Python loops, the published regular expressions), file by file:

* ``evaluation/eval_bbox.py``: parse_bbox_from_output, compute_giou, compute_ciou
* ``evaluation/eval_grasp.py``: parse_rect, rect_to_points8, points8_to_rect, compute_iou,
  angular_diff, the best-IoU loop of evaluate_rect_grasp
* ``evaluation/eval_contact.py``: parse_touch_points, compute_grasp_bbox, polygon_iou, the
  loop of evaluate_contact_grasp
* ``examples/reward_function/bbox.py``, ``rect_grasp.py``, ``contact_grasp.py``: format
  and accuracy rewards with their response normalisation.

Each task gets >= 10,000 generated cases (ground truths, answers in every prompt format and
in malformed ones) and vlgsim must agree on every one: same parse outcome, same numbers
(IoU/GIoU/cIoU/reward to 1e-9), same success.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import shapely.geometry
from shapely.geometry import Polygon, box

from vlgsim.language import realvlg_r1 as A
from vlgsim.sim_eval import realvlg_r1 as R1
from vlgsim.sim_eval.realvlg_score import GroundTruth, score_answer
from vlgsim.training.rewards import score_completion

N_CASES = 10_000
TOL = 1e-9


# ============================================================== reference: evaluation/eval_bbox.py


def ref_parse_bbox(text):
    m = re.search(r"<answer>(.*?)</answer>", text, re.DOTALL)
    content = m.group(1).strip() if m else text.strip()
    content = re.sub(r"\s+", " ", content)
    pat = re.compile(r"\(?\s*(-?\d+(?:\.\d+)?)\s*[,，]\s*(-?\d+(?:\.\d+)?)\s*\)?\s*[,，]\s*\(?\s*(-?\d+(?:\.\d+)?)\s*"
                     r"[,，]\s*(-?\d+(?:\.\d+)?)\s*\)?")
    g = pat.search(content)
    return None if not g else [float(g.group(i)) for i in range(1, 5)]


def ref_giou(a, b):
    a, b = box(*a), box(*b)
    inter, union = a.intersection(b).area, a.union(b).area
    iou = inter / union if union > 0 else 0
    enc = box(min(a.bounds[0], b.bounds[0]), min(a.bounds[1], b.bounds[1]), max(a.bounds[2], b.bounds[2]),
              max(a.bounds[3], b.bounds[3]))
    return iou - (enc.area - union) / enc.area


def ref_ciou(a, b):
    a, b = np.array(a), np.array(b)
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    iou = inter / union if union > 0 else 0
    ca, cb = [(a[0] + a[2]) / 2, (a[1] + a[3]) / 2], [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]
    d = np.sum((np.array(ca) - np.array(cb)) ** 2)
    c = (max(a[2], b[2]) - min(a[0], b[0])) ** 2 + (max(a[3], b[3]) - min(a[1], b[1])) ** 2
    return iou - d / (c + 1e-7)


# ============================================================== reference: evaluation/eval_grasp.py


def ref_rect_to_points8(x, y, theta, width, gripper_depth=40.0):
    t = np.deg2rad(theta)
    dx, dy, dz = (width / 2) * np.cos(t), (width / 2) * np.sin(t), gripper_depth / 2
    return np.array([x - dx - dz * np.sin(t), y - dy + dz * np.cos(t), x + dx - dz * np.sin(t), y + dy + dz * np.cos(t),
                     x + dx + dz * np.sin(t), y + dy - dz * np.cos(t), x - dx + dz * np.sin(t), y - dy - dz * np.cos(t)])


def ref_points8_to_rect(p):
    c = p.reshape(4, 2)
    x, y = np.mean(c[:, 0]), np.mean(c[:, 1])
    width = np.linalg.norm(np.mean(c[[1, 2]], axis=0) - np.mean(c[[0, 3]], axis=0))
    theta = np.rad2deg(np.arctan2(c[1, 1] - c[0, 1], c[1, 0] - c[0, 0]))
    return x, y, theta, width


def ref_parse_rect(text):
    m = re.search(r"<answer>(.*?)</answer>", text, re.DOTALL)
    content = re.sub(r"\s+", " ", m.group(1).strip() if m else text.strip())
    parts = re.findall(r"-?\d*\.?\d+(?:[eE][-+]?\d+)?", content)
    if len(parts) != 4:
        raise ValueError(content)
    return list(map(float, parts))


def ref_compute_iou(p1, p2):
    a, b = Polygon(p1.reshape(4, 2)), Polygon(p2.reshape(4, 2))
    if not a.is_valid or not b.is_valid:
        return 0.0
    u = a.union(b).area
    return a.intersection(b).area / u if u > 0 else 0.0


def ref_angular_diff(pred, gt, bug=True):
    if bug and abs(pred) <= np.pi and abs(gt) <= np.pi:
        pr, gr = pred, gt
    else:
        pr, gr = np.deg2rad(pred), np.deg2rad(gt)
    cos_sim = np.clip(np.dot(np.array([np.cos(pr), np.sin(pr)]), np.array([np.cos(gr), np.sin(gr)])), -1.0, 1.0)
    d = np.rad2deg(np.arccos(cos_sim))
    return 180 - d if d > 90 else d


def ref_eval_grasp(text, gt_points_list, bug):
    """evaluate_rect_grasp's per-sample body: None (invalid) or (best_iou, best_angle, correct)."""
    try:
        px, py, pt, pw = ref_parse_rect(text)
        pred_points = ref_rect_to_points8(px, py, pt, pw)
    except Exception:
        return None
    best_iou, best_angle = 0.0, 999
    for gp in gt_points_list:
        _, _, gt_theta, _ = ref_points8_to_rect(np.array(gp))
        iou = ref_compute_iou(pred_points, np.array(gp))
        ang = ref_angular_diff(pt, gt_theta, bug)
        if iou > best_iou:
            best_iou, best_angle = iou, ang
    return best_iou, best_angle, int(best_iou > 0.25 and best_angle < 30)


# ============================================================== reference: evaluation/eval_contact.py


def ref_grasp_bbox(x1, y1, x2, y2, gripper_width=80):
    p1, p2 = np.array([x1, y1], dtype=float), np.array([x2, y2], dtype=float)
    t = np.arctan2(p2[1] - p1[1], p2[0] - p1[0])
    dx, dy = (gripper_width / 2) * np.sin(t), (gripper_width / 2) * np.cos(t)
    return np.array([[p1[0] - dx, p1[1] + dy], [p1[0] + dx, p1[1] - dy], [p2[0] + dx, p2[1] - dy],
                     [p2[0] - dx, p2[1] + dy]])


def ref_polygon_iou(a, b):
    try:
        a, b = Polygon(a).buffer(0), Polygon(b).buffer(0)
        if not a.is_valid or not b.is_valid:
            return 0.0
        u = a.union(b).area
        return a.intersection(b).area / u if u > 1e-6 else 0.0
    except Exception:
        return 0.0


def ref_parse_touch(text):
    m = re.search(r"<answer>(.*?)</answer>", text, re.DOTALL)
    content = re.sub(r"\s+", " ", m.group(1).strip() if m else text.strip())
    g = re.compile(r"\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)\s*,\s*\(\s*(-?\d+(?:\.\d+)?)\s*,\s*"
                   r"(-?\d+(?:\.\d+)?)\s*\)").search(content)
    if not g:
        raise ValueError(content)
    return list(map(float, g.groups()))


def ref_eval_contact(text, gt_list, bug):
    try:
        x1, y1, x2, y2 = ref_parse_touch(text)
        pred_box = ref_grasp_bbox(x1, y1, x2, y2)
        pred_theta = np.rad2deg(np.arctan2(y2 - y1, x2 - x1))
    except Exception:
        return None
    best_iou, best_angle = 0.0, 999
    for gx1, gy1, gx2, gy2 in gt_list:
        iou = ref_polygon_iou(pred_box, ref_grasp_bbox(gx1, gy1, gx2, gy2))
        ang = ref_angular_diff(pred_theta, np.rad2deg(np.arctan2(gy2 - gy1, gx2 - gx1)), bug)
        if iou > best_iou:
            best_iou, best_angle = iou, ang
    return best_iou, best_angle, int(best_iou > 0.25 and best_angle < 30)


# ============================================================== reference: examples/reward_function/*.py


def ref_bbox_reward(response, gt):
    response = re.sub(r"\s*(</?think>)\s*", r"\1", response)
    response = re.sub(r"\s*(</?answer>)\s*", r"\1", response)
    fmt = 1.0 if re.fullmatch(re.compile(
        r"<think>.*?</think>\s*<answer>\s*\(\s*[\d\.eE+-]+\s*,\s*[\d\.eE+-]+\s*\)\s*,\s*"
        r"\(\s*[\d\.eE+-]+\s*,\s*[\d\.eE+-]+\s*\)\s*</answer>", re.DOTALL), response.strip()) else 0.0
    acc = 0.0
    try:
        m = re.compile(r"<answer>(.*?)</answer>", re.DOTALL).search(response)
        if m:
            g = re.compile(r"\(\s*([\d\.eE+-]+)\s*,\s*([\d\.eE+-]+)\s*\)\s*,\s*\(\s*([\d\.eE+-]+)\s*,\s*([\d\.eE+-]+)\s*\)"
                           ).fullmatch(m.group(1).strip())
            if not g:
                raise ValueError
            x1, y1, x2, y2 = map(float, g.groups())
            if (x2 - x1) < 1e-6 or (y2 - y1) < 1e-6:
                raise ValueError
            b = gt
            inter = max(0, min(x2, b[2]) - max(x1, b[0])) * max(0, min(y2, b[3]) - max(y1, b[1]))
            union = max(0, x2 - x1) * max(0, y2 - y1) + max(0, b[2] - b[0]) * max(0, b[3] - b[1]) - inter
            acc = inter / union if union > 0 else 0.0
    except Exception:
        acc = 0.0
    return fmt, acc


def ref_grasp_reward(response, gt_points_list):
    response = re.sub(r">\s+<", "><", response)
    f = r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?"
    fmt = 1.0 if re.fullmatch(re.compile(rf"<think>.*?</think>\s*<answer>\s*\(\s*{f}\s*,\s*{f}\s*,\s*{f}\s*,\s*{f}\s*\)"
                                         rf"\s*</answer>", re.DOTALL), response.strip()) else 0.0
    best = 0.0
    try:
        m = re.compile(r"<answer>(.*?)</answer>", re.DOTALL).search(response)
        if m:
            parts = re.findall(r"-?\d*\.?\d+(?:[eE][-+]?\d+)?", m.group(1).strip())
            if len(parts) != 4:
                raise ValueError
            x, y, t, w = map(float, parts)
            s = np.array([x, y, np.cos(np.deg2rad(t)), np.sin(np.deg2rad(t)), w])
            for gp in gt_points_list:
                gx, gy, gtt, gw = ref_points8_to_rect(np.array(gp))
                g = np.array([gx, gy, np.cos(np.deg2rad(gtt)), np.sin(np.deg2rad(gtt)), gw])
                loss = 0.0
                for si, gi in zip(s, g):
                    d = abs(si - gi)
                    loss += 0.5 * d ** 2 if d <= 1.0 else 1.0 * (d - 0.5)
                best = max(best, 1 / (1 + loss))
    except Exception:
        pass
    return fmt, best


def ref_contact_reward(response, gt_list):
    response = re.sub(r"\s*(<|>|/)\s*", r"\1", response)
    fmt = 1.0 if re.fullmatch(re.compile(r"<think>.*?</think>\s*<answer>\s*\(\s*\d+\s*,\s*\d+\s*\)\s*,\s*\(\s*\d+\s*,"
                                         r"\s*\d+\s*\)\s*</answer>", re.DOTALL), response) else 0.0
    acc = 0.0
    try:
        m = re.compile(r"<answer>(.*?)</answer>", re.DOTALL).search(response)
        if m:
            g = re.compile(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*,\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)").fullmatch(m.group(1).strip())
            if g:
                x1, y1, x2, y2 = map(int, g.groups())
                sb = ref_grasp_bbox(x1, y1, x2, y2)
                ious = [ref_polygon_iou(sb, ref_grasp_bbox(*c)) for c in gt_list]
                acc = max(ious) if ious else 0.0
    except Exception:
        acc = 0.0
    return fmt, acc


# ============================================================== generated cases


def _num(rng, v: float) -> str:
    """A number as a model might write it: integer, decimals, or (rarely) an exponent."""
    k = rng.integers(0, 10)
    if k < 4:
        return str(int(round(v)))
    if k < 8:
        return f"{v:.{int(rng.integers(1, 4))}f}"
    if k < 9:
        return f"{v:.3e}"
    return repr(float(v))


def _wrap(rng, body: str) -> str:
    k = rng.integers(0, 8)
    think = rng.choice(["the red mug", "", "look left\n of the bowl", "(1, 2) is a guess"])
    return [f"<think>{think}</think>\n<answer>{body}</answer>", f"<think>{think}</think><answer>{body}</answer>",
            f"<think> {think} </think> <answer> {body} </answer>", body, f"  {body}\n",
            f"<answer>{body}</answer>", f"<think>{think}</think>\n<answer>{body}</answer><answer>(1, 2)</answer>",
            f"Answer: {body}."][k]


def _pair_text(rng, a: list[float], bbox: bool) -> str:
    """Two points/corners in the formats the RealVLG-R1 and UniVG-R1 prompts ask for, and others."""
    n = [_num(rng, v) for v in a]
    sep = rng.choice([",", ", ", " , ", "，"])
    k = rng.integers(0, 12)
    if k < 5:
        return f"({n[0]}{sep}{n[1]}){sep}({n[2]}{sep}{n[3]})"
    if k == 5:
        return json.dumps({"bbox_2d": [round(v) for v in a], "label": "mug"}) if bbox else \
            json.dumps([[round(a[0]), round(a[1])], [round(a[2]), round(a[3])]])
    if k == 6:
        return f"[{n[0]}, {n[1]}, {n[2]}, {n[3]}]"
    if k == 7:
        return f"<|box_start|>({n[0]},{n[1]}),({n[2]},{n[3]})<|box_end|>"
    if k == 8:
        return f"<box>{n[0]} {n[1]} {n[2]} {n[3]}</box>"
    if k == 9:
        return f"({n[0]}, {n[1]})"
    if k == 10:
        return rng.choice(["I cannot see it.", "", "(a, b), (c, d)", "nan nan nan nan", "(1.2.3, 4), (5, 6)",
                           "(+5, 6e1), (7E2, -8)"])
    return f"({n[0]}, {n[1]}), ({n[2]}, {n[3]}) and ({n[0]}, {n[1]})"


def _bbox_cases(rng, n):
    for _ in range(n):
        x1, y1 = rng.uniform(0, 600, 2)
        gt = [float(x1), float(y1), float(x1 + rng.uniform(5, 200)), float(y1 + rng.uniform(5, 200))]
        k = rng.integers(0, 6)
        if k < 3:
            pred = [g + rng.normal(0, 15) for g in gt]
        elif k == 3:
            pred = [gt[2], gt[3], gt[0], gt[1]]  # corners swapped
        elif k == 4:
            pred = list(rng.uniform(-100, 800, 4))
        else:
            pred = [g + rng.normal(0, 2) for g in gt]
        yield gt, _wrap(rng, _pair_text(rng, pred, bbox=True))


def _gt_rects(rng):
    m = int(rng.integers(1, 5))
    c = rng.uniform(100, 500, 2)
    small = rng.random() < 0.3  # angles within +-pi degrees exercise the published radian bug
    rects = []
    for _ in range(m):
        t = rng.uniform(-3, 3) if small else rng.uniform(-90, 90)
        rects.append([float(c[0] + rng.normal(0, 12)), float(c[1] + rng.normal(0, 12)), float(t),
                      float(rng.uniform(20, 120)), float(rng.uniform(10, 50))])
    return rects


def _grasp_text(rng, gt_rects):
    g = gt_rects[int(rng.integers(0, len(gt_rects)))]
    k = rng.integers(0, 5)
    t_img = -g[2]
    if k < 2:
        p = [g[0] + rng.normal(0, 8), g[1] + rng.normal(0, 8), t_img + rng.normal(0, 20), g[3] + rng.normal(0, 10)]
    elif k == 2:
        p = [g[0] + rng.normal(0, 2), g[1] + rng.normal(0, 2), t_img + rng.uniform(-4, 4), g[3]]
    elif k == 3:
        p = [g[0], g[1], t_img + rng.choice([180.0, -180.0, 90.0]), g[3]]
    else:
        p = list(rng.uniform(-50, 700, 4))
    n = [_num(rng, v) for v in p]
    j = rng.integers(0, 10)
    body = [f"({n[0]}, {n[1]}, {n[2]}, {n[3]})", f"({n[0]},{n[1]},{n[2]},{n[3]})", f"[{n[0]}, {n[1]}, {n[2]}, {n[3]}]",
            json.dumps({"grasp": [round(v, 2) for v in p]}), f"({n[0]}, {n[1]}, {n[2]})",
            f"({n[0]}, {n[1]}, {n[2]}, {n[3]}, 40)", f"x={n[0]} y={n[1]} theta={n[2]} w={n[3]}",
            "no grasp", f"( {n[0]} , {n[1]} , {n[2]} , {n[3]} )", f"(+{abs(p[0]):.1f}, {n[1]}, {n[2]}, {n[3]})"][j]
    return _wrap(rng, body)


def _contact_cases(rng, n):
    for _ in range(n):
        c = rng.uniform(100, 500, 2)
        gts = []
        for _ in range(int(rng.integers(1, 5))):
            a = rng.uniform(0, np.pi) if rng.random() < 0.7 else rng.uniform(-0.05, 0.05)
            L = rng.uniform(20, 120)
            m = c + rng.normal(0, 10, 2)
            d = np.array([np.cos(a), np.sin(a)]) * L / 2
            gts.append([float(v) for v in (*(m - d), *(m + d))])
        g = gts[int(rng.integers(0, len(gts)))]
        k = rng.integers(0, 4)
        if k < 2:
            p = [v + rng.normal(0, 8) for v in g]
        elif k == 2:
            p = [g[2], g[3], g[0], g[1]]  # the same pair, reversed
        else:
            p = list(rng.uniform(-20, 700, 4))
        if rng.random() < 0.5:  # the contact prompt asks for pixels: mostly integers, as it shows them
            i = [int(round(v)) for v in p]
            sp = rng.choice(["", " "])
            yield gts, _wrap(rng, f"({i[0]},{sp}{i[1]}),{sp}({i[2]},{sp}{i[3]})")
        else:
            yield gts, _wrap(rng, _pair_text(rng, p, bbox=False))


# ============================================================== the comparisons


def test_bbox_eval_and_reward_agree_with_realvlg_r1():
    rng = np.random.default_rng(0)
    parsed = fmt_ok = 0
    for gt, text in _bbox_cases(rng, N_CASES):
        ref = ref_parse_bbox(text)
        item = score_answer(text, GroundTruth("bbox", np.array(gt), (640, 480)), "realvlg-r1")
        assert item.ok == (ref is not None), text
        if ref is not None:
            parsed += 1
            assert list(A.parse_eval(text, "bbox").value) == ref, text
            assert item.values["giou"] == pytest.approx(ref_giou(gt, ref), abs=TOL), text
            assert item.values["ciou"] == pytest.approx(ref_ciou(gt, ref), abs=TOL), text
        f_ref, acc_ref = ref_bbox_reward(text, gt)
        b = score_completion(text, "bbox", json.dumps(gt), protocol="realvlg-r1")
        assert b.format == f_ref and b.accuracy == pytest.approx(acc_ref, abs=TOL), text
        assert b.reward == pytest.approx(0.9 * acc_ref + 0.1 * f_ref, abs=TOL)
        fmt_ok += f_ref == 1.0
    assert parsed > N_CASES // 2 and fmt_ok > N_CASES // 10  # the cases exercise both outcomes


def test_grasp_eval_and_reward_agree_with_realvlg_r1():
    """Both variants in one pass: ``realvlg-r1`` against the formulas with angular_diff read
    in degrees, ``realvlg-r1-faithful`` against them exactly as published."""
    rng = np.random.default_rng(1)
    seen = {"valid": 0, "success": 0, "bug_changes_it": 0, "format": 0}
    for _ in range(N_CASES):
        rects = _gt_rects(rng)
        # ground truths as RealVLG-R1 8-point polygons: rect_to_points8 with theta in image axes
        gt_points = [ref_rect_to_points8(r[0], r[1], -r[2], r[3], r[4]) for r in rects]
        np.testing.assert_allclose(R1.vlgsim_rects_to_points8(rects), np.array(gt_points), atol=1e-9)
        text = _grasp_text(rng, rects)
        gt = GroundTruth("grasp", np.array(rects), (640, 480))
        refs = {}
        for protocol, bug in (("realvlg-r1", False), ("realvlg-r1-faithful", True)):
            ref = refs[protocol] = ref_eval_grasp(text, gt_points, bug)
            item = score_answer(text, gt, protocol)
            assert item.ok == (ref is not None), text
            if ref is not None:
                assert item.values["iou"] == pytest.approx(ref[0], abs=TOL), text
                if ref[0] > TOL:
                    assert item.values["angle_diff"] == pytest.approx(ref[1], abs=TOL), text
                assert item.values["success"] == bool(ref[2]), (protocol, text)
        if refs["realvlg-r1"] is not None:
            seen["valid"] += 1
            seen["success"] += refs["realvlg-r1"][2]
            seen["bug_changes_it"] += refs["realvlg-r1"][2] != refs["realvlg-r1-faithful"][2]
        f_ref, acc_ref = ref_grasp_reward(text, gt_points)
        b = score_completion(text, "grasp", json.dumps(rects), image_size=[640, 480], protocol="realvlg-r1")
        assert b.format == f_ref and b.accuracy == pytest.approx(acc_ref, abs=TOL), text
        seen["format"] += f_ref == 1.0
    assert seen["valid"] > N_CASES // 2 and seen["success"] > N_CASES // 10 and seen["bug_changes_it"] > 100
    assert seen["format"] > N_CASES // 10


def test_contact_eval_and_reward_agree_with_realvlg_r1():
    rng = np.random.default_rng(2)
    seen = {"valid": 0, "success": 0, "format": 0, "acc": 0}
    for gts, text in _contact_cases(rng, N_CASES):
        gt = GroundTruth("contact", np.array(gts), (320, 240))  # 80 px rectangles at any image size
        for protocol, bug in (("realvlg-r1", False), ("realvlg-r1-faithful", True)):
            ref = ref_eval_contact(text, gts, bug)
            item = score_answer(text, gt, protocol)
            assert item.ok == (ref is not None), text
            if ref is not None:
                assert item.values["iou"] == pytest.approx(ref[0], abs=TOL), text
                if ref[0] > TOL:
                    assert item.values["angle_diff"] == pytest.approx(ref[1], abs=TOL), text
                assert item.values["success"] == bool(ref[2]), (protocol, text)
                if not bug:
                    seen["valid"] += 1
                    seen["success"] += ref[2]
        f_ref, acc_ref = ref_contact_reward(text, gts)
        b = score_completion(text, "contact", json.dumps(gts), image_size=[320, 240], protocol="realvlg-r1")
        assert b.format == f_ref and b.accuracy == pytest.approx(acc_ref, abs=TOL), text
        seen["format"] += f_ref == 1.0
        seen["acc"] += acc_ref > 0
    assert seen["valid"] > N_CASES // 4 and seen["success"] > N_CASES // 10
    assert seen["format"] > N_CASES // 20 and seen["acc"] > N_CASES // 10


def test_the_published_angular_diff_bug_only_in_the_faithful_variant():
    assert R1.angular_diff(1.5, 0.0, faithful=True) == pytest.approx(85.94, abs=0.01)  # 1.5 rad
    assert R1.angular_diff(1.5, 0.0) == pytest.approx(1.5)
    assert R1.angular_diff(10.0, 0.0, faithful=True) == pytest.approx(10.0)  # outside +-pi: degrees
    assert R1.angular_diff(170.0, -10.0) == pytest.approx(0.0, abs=1e-6)


def test_rect_geometry_is_rect_to_points8_with_the_opposite_theta():
    r = [100.0, 80.0, 30.0, 60.0, 20.0]  # vlgsim: 30 degrees counter-clockwise on screen
    pts = R1.vlgsim_rects_to_points8([r])[0]
    x, y, t, w = R1.points8_to_rect(pts)
    assert (x, y, w) == pytest.approx((100, 80, 60)) and t == pytest.approx(-30.0)
    # the same rectangle as vlgsim's own corners (the jaw axis points up-right on screen)
    from vlgsim.grasp.rect import GraspRect

    ours = Polygon(GraspRect(*r).corners())
    assert shapely.geometry.Polygon(pts.reshape(4, 2)).symmetric_difference(ours).area < 1e-9
