"""Score model answers against a generated RealVLG dataset, under a named protocol.

Predictions: JSON lines, one answer each::

    {"sample": 12, "view": 0, "task": "bbox", "answer": "<answer>(10,20),(50,60)</answer>"}

``task`` is bbox, grasp, contact or mask; ``answer`` is the model's raw text or a structured
answer (a list, or for masks a COCO RLE dict); ``view`` defaults to 0; ``image_id`` (COCO id,
``sample * 10 + view``) may replace ``sample``/``view``; ``split`` names the dataset when
several are scored together.

Reading rules (these cannot be gamed, whatever the protocol):

* the file is split on ``\\n`` only (a raw U+2028 inside a JSON string stays inside its
  line); a line that is not UTF-8, not JSON, not an object, or breaks a rule below is
  *unreadable*: it is listed with its number and the reason, and the run goes on;
* ``sample`` and ``view`` (and ``image_id``) must be JSON integers (not ``1.9``, ``true`` or
  ``"1"``) naming a sample and view of the dataset; ``task`` one of the four;
* every (sample, view, task) of the dataset that has a ground truth counts: a sample with no
  answer is *unanswered* (reported as such, and scored as under each protocol below);
* duplicates: the first answer to a (split, sample, view, task) wins; later ones are listed
  by line number and counted, never scored;
* numbers that are not finite or beyond +-1e6 make an answer a failure with a reason.

Protocols (``protocol=``, always named in the report):

* ``vlgsim`` (default): :mod:`vlgsim.language.answers` reads every format the RealVLG-R1 and
  UniVG-R1 prompts ask for; theta counter-clockwise on screen; a predicted rectangle gets
  the ground truth's jaw height; contact rectangles 80 px at image width 640; grasp success
  iff IoU > 0.25 and angle < 30 with *some* ground truth. Unanswered and unreadable answers
  are wrong (IoU 0, GIoU/cIoU -1) and every metric is a mean over all samples.
* ``realvlg-r1``: ``lif314/RealVLG-R1``'s ``evaluation/eval_{bbox,grasp,contact}.py``
  (:mod:`vlgsim.language.realvlg_r1`, :mod:`vlgsim.sim_eval.realvlg_r1`): their parsers,
  theta in image axes, 40 px predicted rectangles, 80 px contact rectangles at any size,
  success checked against the highest-IoU ground truth only, and - as there - unparseable
  (and unanswered) samples are left out of the means, with ``validity_rate`` beside them.
  eval_bbox.py reports GIoU and cIoU only; mIoU and Acc@0.5 over the same answers are
  added here. Masks have no RealVLG-R1 evaluation file here and use vlgsim's mask metrics.
* ``realvlg-r1-faithful``: ``realvlg-r1`` plus the published ``angular_diff`` radian bug.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vlgsim.language import realvlg_r1 as r1_answers
from vlgsim.language.answers import parse_answer
from vlgsim.sim_eval import metrics as M
from vlgsim.sim_eval import realvlg_r1 as R1
from vlgsim.sim_eval.mask_answers import read_mask_answer

TASKS = ("bbox", "grasp", "contact", "mask")
MAX_LISTED_LINES = 50
"""Unreadable and duplicate lines listed by number in a report (all are counted)."""


# ----------------------------------------------------------------------------- reading predictions


@dataclass(frozen=True)
class PredictionLine:
    """One readable prediction: where it is (1-based ``line``) and what it answers."""

    line: int
    split: str
    sample: int
    view: int
    task: str
    answer: Any


@dataclass
class PredictionsRead:
    """Every line of a predictions file, accounted for: readable, unreadable (line, reason)
    or blank."""

    lines: list[PredictionLine] = field(default_factory=list)
    unreadable: list[tuple[int, str]] = field(default_factory=list)
    blank: int = 0

    @property
    def n_lines(self) -> int:
        return len(self.lines) + len(self.unreadable) + self.blank


class _Rule(Exception):
    pass


def _json_int(p: dict, key: str) -> int:
    v = p[key]
    if type(v) is not int:  # noqa: E721 - bool is an int subclass, and 1.9 / "1" are not sample ids
        raise _Rule(f"{key} {str(v)[:40]!r} must be a JSON integer")
    if v < 0:
        raise _Rule(f"{key} {v} must be >= 0")
    return v


def read_predictions(data: bytes, views: dict[str, dict[int, int]]) -> PredictionsRead:
    """Read prediction lines from raw bytes. ``views[split][sample]`` = number of views of
    each dataset sample. Never raises: each line ends up readable, unreadable or blank."""
    out = PredictionsRead()
    splits = sorted(views)
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()  # the newline that ends the last line
    for no, raw in enumerate(parts, start=1):
        if not raw.strip():
            out.blank += 1
            continue
        try:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise _Rule(f"not UTF-8 ({e.reason} at byte {e.start})") from None
            try:
                p = json.loads(text)
            except (ValueError, RecursionError) as e:
                raise _Rule(f"not JSON ({str(e)[:80]})") from None
            if not isinstance(p, dict):
                raise _Rule(f"a JSON {type(p).__name__}, not an object")
            task = p.get("task")
            if not isinstance(task, str) or task not in TASKS:
                raise _Rule(f"task {str(task)[:40]!r} must be one of {', '.join(TASKS)}")
            split = p.get("split", splits[0] if len(splits) == 1 else None)
            if not isinstance(split, str) or split not in views:
                raise _Rule(f"split {str(split)[:40]!r} must be one of {', '.join(splits)}"
                            + (" (several datasets: name the split)" if "split" not in p else ""))
            if "image_id" in p:
                sample, view = divmod(_json_int(p, "image_id"), 10)
            else:
                if "sample" not in p:
                    raise _Rule("no sample (or image_id)")
                sample = _json_int(p, "sample")
                view = _json_int(p, "view") if "view" in p else 0
            if sample not in views[split]:
                raise _Rule(f"sample {sample} is not in the {split} dataset")
            if view >= views[split][sample]:
                raise _Rule(f"view {view} out of range: sample {sample} has {views[split][sample]} view(s)")
            if "answer" not in p:
                raise _Rule("no answer")
            out.lines.append(PredictionLine(no, split, sample, view, task, p["answer"]))
        except _Rule as e:
            out.unreadable.append((no, str(e)))
        except Exception as e:  # noqa: BLE001 - one bad line never stops a run
            out.unreadable.append((no, f"unexpected {type(e).__name__}"))
    return out


# ----------------------------------------------------------------------------- one answer


@dataclass
class Item:
    """One scored (sample, view, task): ``ok`` False for an unanswered or unreadable answer
    (``reason`` says which), ``values`` the per-answer metrics."""

    ok: bool
    reason: str = ""
    values: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GroundTruth:
    """A view's ground truth for one task: box (4,), rectangles (M, 5), contacts (M, 4) or an
    HxW mask; ``image_size`` (W, H) px."""

    task: str
    value: Any
    image_size: tuple[int, int]


def score_answer(answer: Any, gt: GroundTruth, protocol: str = "vlgsim") -> Item:
    """Score one answer (text or structured) against ``gt`` under ``protocol``. Never raises
    for a bad answer."""
    task, W, H = gt.task, gt.image_size[0], gt.image_size[1]
    if task == "mask":
        m, why = read_mask_answer(answer, (H, W))
        if m is None:
            return Item(False, why)
        return Item(True, values=dict(mask=m))
    if protocol == "vlgsim":
        parsed = parse_answer(answer, task)
    else:
        parsed = r1_answers.parse_eval(answer, task)
    if not parsed.ok:
        return Item(False, parsed.reason)
    v = parsed.value
    if protocol == "vlgsim":
        if task == "bbox":
            iou = float(M.box_iou(v, gt.value)[0])
            return Item(True, values=dict(iou=iou, giou=float(M.box_giou(v, gt.value)[0]),
                                          ciou=float(M.box_ciou(v, gt.value)[0])))
        if task == "grasp":
            ok, iou = M.grasp_success(np.r_[v, gt.value[0, 4]], gt.value)  # the GT's jaw height
        else:
            ok, iou = M.contact_success(v, gt.value, W)
        return Item(True, values=dict(iou=iou, success=ok))
    faithful = protocol == "realvlg-r1-faithful"
    reason = "" if R1.in_range(v) else "a number is not finite or beyond +-1e6: scored as wrong"
    if task == "bbox":
        giou, ciou = R1.box_giou_ciou(v, gt.value)
        box = np.r_[np.minimum(v[:2], v[2:]), np.maximum(v[:2], v[2:])]  # shapely boxes, as eval_bbox.py's GIoU
        iou = float(M.box_iou(box, gt.value)[0]) if not reason else 0.0
        return Item(True, reason, dict(iou=iou, giou=giou, ciou=ciou))
    if task == "grasp":
        m = R1.grasp_match(v, R1.vlgsim_rects_to_points8(gt.value), faithful)
    else:
        m = R1.contact_match(v, gt.value, faithful)
    return Item(True, reason, dict(iou=m.iou, success=m.success, angle_diff=m.angle_diff_deg))


# ----------------------------------------------------------------------------- the dataset


def _ground_truths(record: dict, image_size: tuple[int, int]) -> dict[tuple[int, str], GroundTruth]:
    """(view, task) -> ground truth, for every view and task the record has labels for."""
    W, H = image_size
    out = {}
    for v, view in enumerate(record["views"]):
        obj = next((o for o in view["objects"] if o["object_index"] == record["target_index"]), None)
        if obj is not None:
            out[(v, "bbox")] = GroundTruth("bbox", np.asarray(obj["bbox_xyxy"], np.float64), (W, H))
            rle = obj["rle"]
            out[(v, "mask")] = GroundTruth("mask", (rle["size"], rle["counts"]), (W, H))
        if view.get("grasp_rects"):
            out[(v, "grasp")] = GroundTruth("grasp", np.asarray(view["grasp_rects"], np.float64).reshape(-1, 5), (W, H))
        if view.get("contact_points"):
            out[(v, "contact")] = GroundTruth("contact", np.asarray(view["contact_points"], np.float64).reshape(-1, 4),
                                              (W, H))
    return out


def _gt_mask(gt: GroundTruth) -> np.ndarray:
    from pycocotools import mask as mask_utils

    size, counts = gt.value
    return mask_utils.decode({"size": size, "counts": counts.encode() if isinstance(counts, str) else counts}
                             ).astype(bool)


def _row(task: str, items: list[Item], gts: list[GroundTruth], protocol: str) -> dict:
    """The metrics of one task and split from its items (one per expected sample)."""
    n = len(items)
    ok = [it for it in items if it.ok]
    row: dict = {}
    if protocol == "vlgsim" or task == "mask":
        if task == "mask":
            preds = [it.values["mask"] if it.ok else np.zeros_like(_gt_mask(g)) for it, g in zip(items, gts)]
            masks = [_gt_mask(g) for g in gts]
            row.update(mIoU=float(M.mask_ious(preds, masks).mean()) if n else 0.0,
                       cumulative_IoU=M.cumulative_iou(preds, masks))
        else:
            ious = np.array([it.values["iou"] if it.ok else 0.0 for it in items])
            row["mIoU"] = float(ious.mean()) if n else 0.0
            if task == "bbox":
                row.update(acc_at_0_5=M.acc_at(ious, 0.5),
                           GIoU=float(np.mean([it.values["giou"] if it.ok else -1.0 for it in items])) if n else 0.0,
                           cIoU=float(np.mean([it.values["ciou"] if it.ok else -1.0 for it in items])) if n else 0.0)
            else:
                key = "gAcc" if task == "grasp" else "cAcc"
                row[key] = float(np.mean([it.ok and it.values["success"] for it in items])) if n else 0.0
        return row
    # realvlg-r1: means over the valid (parsed) answers only, as evaluation/eval_*.py
    row["validity_rate"] = len(ok) / n if n else 0.0
    if task == "bbox":
        row.update(mean_giou=float(np.mean([it.values["giou"] for it in ok])) if ok else 0.0,
                   mean_ciou=float(np.mean([it.values["ciou"] for it in ok])) if ok else 0.0,
                   mIoU=float(np.mean([it.values["iou"] for it in ok])) if ok else 0.0,
                   acc_at_0_5=M.acc_at([it.values["iou"] for it in ok], 0.5))
    else:
        row.update(mIoU=float(np.mean([it.values["iou"] for it in ok])) if ok else 0.0,
                   gAcc=float(np.mean([it.values["success"] for it in ok])) if ok else 0.0)
    return row


def score(data_dirs: list[Path], predictions: Path, protocol: str = "vlgsim") -> dict:
    """Metrics per task and split under ``protocol``, with every line and every sample
    accounted for. See the module docstring."""
    from vlgsim.data.realvlg import load_records

    R1.check_protocol(protocol)
    gts: dict[str, dict[tuple[int, int, str], GroundTruth]] = {}
    views: dict[str, dict[int, int]] = {}
    for d in data_dirs:
        manifest = json.loads((Path(d) / "manifest.json").read_text())
        split, size = manifest["config"]["split"], tuple(manifest["config"]["image_size"])
        gts.setdefault(split, {})
        views.setdefault(split, {})
        for r in load_records(d):
            views[split][int(r["index"])] = len(r["views"])
            for (v, task), g in _ground_truths(r, size).items():
                gts[split][(int(r["index"]), v, task)] = g
    read = read_predictions(Path(predictions).read_bytes(), views)
    answers: dict[tuple[str, int, int, str], PredictionLine] = {}
    duplicates, no_gt = [], []
    for p in read.lines:
        key = (p.split, p.sample, p.view, p.task)
        if key in answers:
            duplicates.append(dict(line=p.line, first_line=answers[key].line))
        elif (p.sample, p.view, p.task) not in gts[p.split]:
            no_gt.append(p.line)
        else:
            answers[key] = p
    table = {}
    for split in sorted(gts):
        for task in TASKS:
            keys = sorted(k for k in gts[split] if k[2] == task)
            if not keys:
                continue
            items, reasons, unanswered = [], defaultdict(int), 0
            for k in keys:
                p = answers.get((split, *k))
                if p is None:
                    it = Item(False, "unanswered")
                    unanswered += 1
                else:
                    it = score_answer(p.answer, gts[split][k], protocol)
                if it.reason:
                    reasons[it.reason.split(";")[0][:80]] += 1
                items.append(it)
            answered = len(keys) - unanswered
            failures = sum(not it.ok for it in items) - unanswered
            row = dict(task=task, split=split, protocol=protocol, n=len(keys), answered=answered,
                       unanswered=unanswered, parse_failures=failures,
                       parse_failure_rate=failures / answered if answered else 0.0,
                       parse_failure_reasons=dict(reasons))
            row.update(_row(task, items, [gts[split][k] for k in keys], protocol))
            table[f"{task}/{split}"] = row
    return dict(predictions=str(predictions), data=[str(d) for d in data_dirs], protocol=protocol,
                lines=read.n_lines, blank_lines=read.blank, unreadable_lines=len(read.unreadable),
                unreadable=[dict(line=n, reason=r) for n, r in read.unreadable[:MAX_LISTED_LINES]],
                duplicate_lines=len(duplicates), duplicates=duplicates[:MAX_LISTED_LINES],
                lines_without_ground_truth=no_gt[:MAX_LISTED_LINES], results=table)


_NOT_METRICS = ("task", "split", "protocol", "n", "answered", "unanswered", "parse_failures", "parse_failure_rate",
                "parse_failure_reasons")


def write_score(report: dict, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    jp = out / "score.json"
    jp.write_text(json.dumps(report, indent=1))
    lines = [f"# RealVLG scores (protocol `{report['protocol']}`)", "",
             f"predictions: `{report['predictions']}`; {report['lines']} lines: unreadable {report['unreadable_lines']}, "
             f"duplicates {report['duplicate_lines']} (first answer wins), blank {report['blank_lines']}", "",
             "| task | split | n | answered | main metrics | parse failures |", "|---|---|---|---|---|---|"]
    for row in report["results"].values():
        main = ", ".join(f"{k} {100 * v:.1f}" for k, v in row.items() if k not in _NOT_METRICS)
        lines.append(f"| {row['task']} | {row['split']} | {row['n']} | {row['answered']} | {main} | "
                     f"{100 * row['parse_failure_rate']:.1f} % |")
    lines += ["", *(f"- line {u['line']}: {u['reason']}" for u in report["unreadable"])]
    mp = out / "score.md"
    mp.write_text("\n".join(lines) + "\n")
    return jp, mp
