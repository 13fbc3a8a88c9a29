"""``vlgsim eval --suite bimanual`` machinery on one task (real rollouts)."""

import json

from typer.testing import CliRunner

from vlgsim.cli import app
from vlgsim.sim_eval.bimanual_suite import run_suite


def test_suite_report_per_factor(tmp_path):
    rep = run_suite("bimanual_expert:left", "easy", 2, 0, tmp_path, tasks=["Bimanual-ArmChoice-v0"])
    rows = {r["variant"]: r for r in rep["rows"]}
    assert set(rows) == {"all", "left", "right"}
    assert rows["left"]["violation_rate"] == 0 and rows["right"]["violation_rate"] == 1  # seed 1 asks for right
    assert rows["all"]["success_rate"] == 1 and rows["all"]["mean_score_0_100"] == 87.5
    assert (tmp_path / "report.md").read_text().count("Bimanual-ArmChoice-v0") == 3
    assert json.loads((tmp_path / "report.json").read_text())["split"] == "easy"


def test_cli_rejects_bad_suite_and_split(tmp_path):
    r = CliRunner().invoke(app, ["eval", "--suite", "bimanual", "--split", "medium", "--out", str(tmp_path)])
    assert r.exit_code != 0 and "easy or hard" in r.output
