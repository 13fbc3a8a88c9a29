"""Score model answers against a generated RealVLG dataset (RealVLG-R1 metrics).

Predictions: JSON lines, one answer each::

    {"sample": 12, "view": 0, "task": "bbox", "answer": "<answer>{\"bbox_2d\": [10, 20, 50, 60]}</answer>"}

``task`` is bbox, grasp, contact or mask; ``answer`` is the model's raw text or a
structured answer (a list, or for masks a COCO RLE dict); ``view`` defaults to 0 and
``image_id`` (COCO id) may replace ``sample``/``view``. An answer that does not parse
counts as wrong and is also reported in the parse-failure rate of its task.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vlgsim.language.answers import parse_answer
from vlgsim.sim_eval import metrics as M

TASKS = ("bbox", "grasp", "contact", "mask")


@dataclass
class _Acc:
    n: int = 0
    parse_failures: int = 0
    bbox: list = field(default_factory=lambda: [[], []])  # preds, gts
    rects: list = field(default_factory=lambda: [[], []])
    masks: list = field(default_factory=lambda: [[], []])
    reasons: dict = field(default_factory=lambda: defaultdict(int))


def _decode_mask(answer, shape) -> np.ndarray | None:
    from pycocotools import mask as mask_utils

    try:
        rle = json.loads(answer) if isinstance(answer, str) else answer
        if isinstance(rle, dict) and "counts" in rle and list(rle["size"]) == list(shape):
            counts = rle["counts"].encode() if isinstance(rle["counts"], str) else rle["counts"]
            return mask_utils.decode({"size": list(rle["size"]), "counts": counts}).astype(bool)
    except Exception:  # noqa: BLE001 - any malformed mask answer is a parse failure
        pass
    return None


def _target_gt(record: dict, view: int) -> dict:
    v = record["views"][view]
    obj = next((o for o in v["objects"] if o["object_index"] == record["target_index"]), None)
    return dict(view=v, obj=obj)


def score(data_dirs: list[Path], predictions: Path) -> dict:
    """Metrics per task and split, plus parse-failure rates. See the module docstring."""
    from pycocotools import mask as mask_utils

    from vlgsim.data.realvlg import load_records

    records, sizes = {}, {}
    for d in data_dirs:
        manifest = json.loads((Path(d) / "manifest.json").read_text())
        for r in load_records(d):
            records[(manifest["config"]["split"], r["index"])] = r
            sizes[manifest["config"]["split"]] = tuple(manifest["config"]["image_size"])
    splits = sorted(sizes)
    acc: dict = defaultdict(_Acc)
    bad_lines = 0
    for line in Path(predictions).read_text(encoding="utf-8").splitlines():
        try:
            p = json.loads(line)
            task = p["task"]
            if "image_id" in p:
                sample, view = int(p["image_id"]) // 10, int(p["image_id"]) % 10
            else:
                sample, view = int(p["sample"]), int(p.get("view", 0))
            split = p.get("split", splits[0] if len(splits) == 1 else None)
            rec = records[(split, sample)]
            gt = _target_gt(rec, view)
            if task not in TASKS:
                raise KeyError(task)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, IndexError):
            bad_lines += 1
            continue
        a = acc[(task, split)]
        a.n += 1
        W, H = sizes[split]
        if task == "mask":
            value = _decode_mask(p.get("answer"), (H, W))
            ok, reason = value is not None, "not a COCO RLE dict of the image size"
        else:
            parsed = parse_answer(p.get("answer"), task)
            ok, value, reason = parsed.ok, getattr(parsed, "value", None), getattr(parsed, "reason", "")
        if not ok:
            a.parse_failures += 1
            a.reasons[reason.split(";")[0][:80]] += 1
            value = None
        if task == "bbox":
            a.bbox[0].append(value if value is not None else np.full(4, np.nan))
            a.bbox[1].append(gt["obj"]["bbox_xyxy"] if gt["obj"] else [0, 0, 0, 0])
        elif task in ("grasp", "contact"):
            key = "grasp_rects" if task == "grasp" else "contact_points"
            a.rects[0].append(value)
            a.rects[1].append(np.asarray(gt["view"][key], dtype=np.float64).reshape(-1, 5 if task == "grasp" else 4))
        else:
            g = gt["obj"]
            gmask = (mask_utils.decode({"size": g["rle"]["size"], "counts": g["rle"]["counts"].encode()}).astype(bool)
                     if g else np.zeros((H, W), bool))
            a.masks[0].append(value if value is not None else np.zeros((H, W), bool))
            a.masks[1].append(gmask)
    table = {}
    for (task, split), a in sorted(acc.items()):
        row = dict(task=task, split=split, n=a.n, parse_failure_rate=a.parse_failures / a.n if a.n else 0.0,
                   parse_failure_reasons=dict(a.reasons))
        if task == "bbox":
            pred = np.nan_to_num(np.asarray(a.bbox[0], np.float64), nan=0.0)
            gtb = np.asarray(a.bbox[1], np.float64)
            ious = M.box_iou(pred, gtb)
            row.update(mIoU=float(ious.mean()), acc_at_0_5=M.acc_at(ious, 0.5), GIoU=float(M.box_giou(pred, gtb).mean()),
                       cIoU=float(M.box_ciou(pred, gtb).mean()))
        elif task == "grasp":
            preds = [None if v is None else _with_gt_jaw(v, g) for v, g in zip(*a.rects)]
            row.update(M.grasp_metrics(preds, a.rects[1]))
        elif task == "contact":
            row.update(M.contact_metrics(a.rects[0], a.rects[1], sizes[split][0]))
        else:
            row.update(mIoU=float(M.mask_ious(*a.masks).mean()), cumulative_IoU=M.cumulative_iou(*a.masks))
        table[f"{task}/{split}"] = row
    return dict(predictions=str(predictions), data=[str(d) for d in data_dirs], unreadable_lines=bad_lines,
                results=table)


def _with_gt_jaw(pred4: np.ndarray, gts: np.ndarray) -> np.ndarray:
    """A 4-DoF answer [x, y, theta, w] as a rectangle with the GT's jaw size (the
    rectangle's short side is the gripper's, not the model's to choose)."""
    h = float(gts[0, 4]) if len(gts) else 0.0
    return np.r_[np.asarray(pred4, np.float64)[:4], h]


def write_score(report: dict, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    jp = out / "score.json"
    jp.write_text(json.dumps(report, indent=1))
    lines = ["# RealVLG scores", "", f"predictions: `{report['predictions']}`; unreadable lines: "
             f"{report['unreadable_lines']}", "", "| task | split | n | main metrics | parse failures |", "|---|---|---|---|---|"]
    for row in report["results"].values():
        main = ", ".join(f"{k} {100 * v:.1f}" for k, v in row.items()
                         if k not in ("task", "split", "n", "parse_failure_rate", "parse_failure_reasons"))
        lines.append(f"| {row['task']} | {row['split']} | {row['n']} | {main} | {100 * row['parse_failure_rate']:.1f} % |")
    mp = out / "score.md"
    mp.write_text("\n".join(lines) + "\n")
    return jp, mp
