"""Generated RealVLG datasets: COCO via pycocotools, resumability, and the scorer."""

import json
import shutil

import numpy as np
import pytest
from pycocotools.coco import COCO
from typer.testing import CliRunner

from vlgsim.cli import app
from vlgsim.data.realvlg import DatasetConfig, generate, load_records, oracle_predictions
from vlgsim.sim_eval.realvlg_score import score

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "seen"
    res = CliRunner().invoke(app, ["generate", "realvlg", "--n", "12", "--split", "seen", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_coco_loads_in_pycocotools_with_masks_matching_boxes(dataset):
    coco = COCO(str(dataset / "annotations.json"))
    assert len(coco.getImgIds()) == 12 and {c["name"] for c in coco.loadCats(coco.getCatIds())} >= {"mug", "bowl"}
    for ann in coco.loadAnns(coco.getAnnIds())[:30]:
        m = coco.annToMask(ann)
        ys, xs = np.nonzero(m)
        assert m.sum() == ann["area"] and ann["bbox"] == [xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()]
    side = json.loads((dataset / "grasps.json").read_text())
    assert all(coco.loadAnns(v["target_annotation_id"])[0]["is_target"] for v in side.values())
    assert sum(len(v["grasp_rects"]) > 0 for v in side.values()) >= 10
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert manifest["complete"] and manifest["n_done"] == 12


def test_resume_after_a_kill_keeps_finished_samples(dataset, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(dataset, out)
    before = (out / "samples" / "000003.json").read_bytes()
    (out / "samples" / "000007.json").unlink()  # as if killed before sample 7 finished
    (out / "annotations.json").unlink()
    (out / "samples" / ".000008.json.123.tmp").write_text('{"index": 8, "tru')  # a torn temp file
    made = []
    generate(DatasetConfig(n=12), out, on_sample=made.append)
    assert made == [7] and (out / "samples" / "000003.json").read_bytes() == before
    assert len(COCO(str(out / "annotations.json")).getImgIds()) == 12
    with pytest.raises(ValueError, match="one config per folder"):
        generate(DatasetConfig(n=12, split="novel"), out)


def _predictions(dataset, shift_px=0.0, garbage_every=0):
    lines = oracle_predictions(dataset, shift_px)
    if garbage_every:
        for ln in lines[::garbage_every]:
            ln["answer"] = "I think it is the mug."
    return lines


def _write(path, lines):
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return path


def test_oracle_predictions_score_perfectly(dataset, tmp_path):
    rep = score([dataset], _write(tmp_path / "p.jsonl", _predictions(dataset)))["results"]
    assert rep["bbox/seen"]["acc_at_0_5"] == 1.0 and rep["bbox/seen"]["mIoU"] == pytest.approx(1.0)
    assert rep["grasp/seen"]["gAcc"] == 1.0 and rep["contact/seen"]["cAcc"] == 1.0
    assert rep["mask/seen"]["mIoU"] == pytest.approx(1.0) and rep["bbox/seen"]["parse_failure_rate"] == 0.0


def test_shifted_boxes_score_what_the_formula_says(dataset, tmp_path):
    d = 6.0
    rep = score([dataset], _write(tmp_path / "p.jsonl", _predictions(dataset, shift_px=d)))["results"]["bbox/seen"]
    expected = []
    for rec in load_records(dataset):  # same-height boxes shifted by d along x: IoU = (w - d) / (w + d)
        x1, _, x2, _ = next(o for o in rec["views"][0]["objects"] if o["object_index"] == rec["target_index"])["bbox_xyxy"]
        w = x2 - x1
        expected.append(max(w - d, 0) / (w + d))
    assert rep["mIoU"] == pytest.approx(np.mean(expected), abs=1e-9)
    assert rep["acc_at_0_5"] == pytest.approx(np.mean(np.array(expected) >= 0.5))


def test_parse_failures_are_counted_not_fatal(dataset, tmp_path):
    p = _write(tmp_path / "p.jsonl", _predictions(dataset, garbage_every=3))
    with open(p, "a") as f:
        f.write("{not json\n")
    res = CliRunner().invoke(app, ["score", "realvlg", "--data", str(dataset), "--predictions", str(p),
                                   "--out", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    rep = json.loads((tmp_path / "s" / "score.json").read_text())
    assert rep["unreadable_lines"] == 1
    rates = [row["parse_failure_rate"] for row in rep["results"].values()]
    assert any(r > 0 for r in rates) and all(r < 1 for r in rates)
    assert "| bbox | seen |" in (tmp_path / "s" / "score.md").read_text()
