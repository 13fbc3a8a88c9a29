"""Sim-vs-real agreement: SimplerEnv's Pearson r and MMRV on SimplerEnv's own published
numbers, input checking, and the `vlgsim compare-sim-real` report."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from typer.testing import CliRunner

from vlgsim.cli import app
from vlgsim.sim_eval.sim_vs_real import (
    compare,
    make_pairs,
    mean_maximum_rank_violation,
    pearson_correlation,
    read_pairs,
)

# REAL_PERF and SIMPLER_PERF of simpler-env/SimplerEnv simpler_env/utils/metrics.py (commit 4ab7178), policy
# order as there, and the MMRV / Pearson values its `python3 tools/calc_metrics.py` prints for them
# (mean_maximum_rank_violation(SIMPLER, REAL), pearson_correlation(SIMPLER, REAL)).
POLICIES_G = ("rt-2-x", "rt-1-converged", "rt-1-15pct", "rt-1-x", "rt-1-begin", "octo-base")
POLICIES_W = ("rt-1-x", "octo-base", "octo-small")
SIMPLER = {  # task: (real, simpler), values in the policy order above
    "google_robot_pick_coke_can": ((0.907, 0.853, 0.920, 0.760, 0.133, 0.293),
                                   (0.787, 0.857, 0.710, 0.567, 0.027, 0.170), 0.03133333333333336, 0.9754339621228817),
    "google_robot_move_near": ((0.733, 0.633, 0.583, 0.450, 0.017, 0.350),
                               (0.779, 0.442, 0.354, 0.317, 0.050, 0.042), 0.11099999999999999, 0.8560966643118902),
    "google_robot_open_drawer": ((0.333, 0.815, 0.704, 0.519, 0.000, 0.148),
                                 (0.157, 0.601, 0.463, 0.296, 0.000, 0.009), 0.0, 0.9831664917316731),
    "google_robot_close_drawer": ((0.630, 0.926, 0.889, 0.741, 0.000, 0.519),
                                  (0.343, 0.861, 0.667, 0.891, 0.278, 0.444), 0.12333333333333335, 0.7712328181593621),
    "google_robot_place_apple_in_closed_top_drawer": ((0.074, 0.185, 0.185, 0.407, 0.000, 0.000),
                                                      (0.037, 0.065, 0.130, 0.213, 0.000, 0.000), 0.0,
                                                      0.96917180614324),
    "widowx_spoon_on_towel": ((0.000, 0.333, 0.417), (0.000, 0.125, 0.472), 0.0, 0.8269440858336992),
    "widowx_carrot_on_plate": ((0.000, 0.250, 0.083), (0.042, 0.083, 0.097), 0.11133333333333333, 0.571367598454572),
    "widowx_stack_cube": ((0.000, 0.000, 0.125), (0.000, 0.000, 0.042), 0.0, 0.9999971428653062),
    "widowx_put_eggplant_in_basket": ((0.000, 0.250, 0.400), (0.000, 0.431, 0.569), 0.0, 0.9894145664016768),
}


@pytest.mark.parametrize("task", sorted(SIMPLER))
def test_simpler_published_values(task):
    real, sim, mmrv, r = SIMPLER[task]
    assert mean_maximum_rank_violation(sim, real) == pytest.approx(mmrv, abs=1e-12)
    assert pearson_correlation(sim, real) == pytest.approx(r, abs=1e-12)


def test_simpler_edge_cases_and_argument_order():
    assert pearson_correlation([0.2, 0.5, 0.9], [0.3, 0.6, 1.0]) == 1.0  # equal after centring: exactly 1
    assert pearson_correlation([0.5, 0.5, 0.5], [0.1, 0.4, 0.9]) == 0.0  # flat side: 0, not NaN
    # the gap is measured on the second argument (real): swapping the arguments changes MMRV
    assert mean_maximum_rank_violation([0.9, 0.5], [0.1, 0.9]) == pytest.approx(0.8)
    assert mean_maximum_rank_violation([0.1, 0.9], [0.9, 0.5]) == pytest.approx(0.4)


def _reference_mmrv(sim, real):  # SimplerEnv's double loop, written out
    out = []
    for i in range(len(sim)):
        v = 0.0
        for j in range(len(sim)):
            if (sim[i] > sim[j]) != (real[i] > real[j]):
                v = max(v, abs(real[i] - real[j]))
        out.append(v)
    return float(np.mean(out))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]) | st.floats(0, 1),
                          st.sampled_from([0.0, 0.5, 1.0]) | st.floats(0, 1)), min_size=2, max_size=8))
def test_mmrv_matches_the_double_loop_and_pearson_is_bounded(pairs):
    sim, real = [p[0] for p in pairs], [p[1] for p in pairs]
    assert mean_maximum_rank_violation(sim, real) == pytest.approx(_reference_mmrv(sim, real), abs=1e-12)
    r = pearson_correlation(sim, real)
    assert math.isfinite(r) and -1 - 1e-9 <= r <= 1 + 1e-9
    assert mean_maximum_rank_violation(sim, sim) == 0.0


def _rows():
    rows = []
    for task in ("google_robot_pick_coke_can", "widowx_stack_cube"):
        real, sim, _, _ = SIMPLER[task]
        names = POLICIES_G if len(real) == 6 else POLICIES_W
        rows += [dict(policy=p, task=task, sim_success=s, real_success=r) for p, s, r in zip(names, sim, real)]
    return rows


def test_compare_per_task_and_pooled():
    comp = compare(make_pairs(_rows()))
    by_task = {a.task: a for a in comp.per_task}
    assert by_task["google_robot_pick_coke_can"].mmrv == pytest.approx(0.03133333333333336)
    assert by_task["widowx_stack_cube"].pearson_r == pytest.approx(0.9999971428653062)
    assert comp.mean_mmrv == pytest.approx((0.03133333333333336 + 0.0) / 2)
    assert comp.pooled.n_policies == 9
    single = compare(make_pairs(_rows()[:1]))
    assert single.per_task[0].pearson_r is None and "fewer than 2" in single.per_task[0].note


@pytest.mark.parametrize("bad, match", [
    (dict(sim_success=float("nan")), "sim_success = nan.*finite success rate"),
    (dict(real_success="high"), "real_success = 'high' is not a number"),
    (dict(real_success=1.5), "real_success = 1.5.*\\[0, 1\\]"),
    (dict(sim_success=None), "lacks \\['sim_success'\\].*missing sim or real result is not a pair"),
    (dict(policy=""), "lacks \\['policy'\\]"),
    (dict(sim_success=True), "sim_success = True"),
])
def test_hostile_rows_name_the_value_and_the_rule(bad, match):
    rows = _rows()
    rows[2] = rows[2] | bad
    with pytest.raises(ValueError, match=match):
        make_pairs(rows)


def test_duplicate_and_empty_inputs(tmp_path):
    rows = _rows()
    with pytest.raises(ValueError, match="appears twice"):
        make_pairs(rows + rows[:1])
    with pytest.raises(ValueError, match="at least one"):
        make_pairs([])
    bad = tmp_path / "p.csv"
    bad.write_text("name,score\nx,1\n")
    with pytest.raises(ValueError, match="rule: a header with"):
        read_pairs(bad)
    (tmp_path / "p.json").write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        read_pairs(tmp_path / "p.json")
    (tmp_path / "p.txt").write_text("")
    with pytest.raises(ValueError, match="suffix"):
        read_pairs(tmp_path / "p.txt")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=5), st.floats(allow_nan=True, allow_infinity=True),
                          st.integers(-5, 5), st.booleans()), min_size=4, max_size=4))
def test_fuzzed_rows_either_pair_or_raise_valueerror(values):
    row = dict(zip(("policy", "task", "sim_success", "real_success"), values))
    try:
        pairs = make_pairs([row])
    except ValueError as e:
        assert "rule" in str(e)
    else:
        p = pairs[0]
        assert 0 <= p.sim_success <= 1 and 0 <= p.real_success <= 1 and p.policy and p.task


def test_cli_from_csv_and_json(tmp_path):
    csv_path = tmp_path / "pairs.csv"
    csv_path.write_text("policy,task,sim_success,real_success\n" + "".join(
        f"{r['policy']},{r['task']},{r['sim_success']},{r['real_success']}\n" for r in _rows()))
    out = tmp_path / "cmp"
    res = CliRunner().invoke(app, ["compare-sim-real", "--pairs", str(csv_path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    rep = json.loads((out / "report.json").read_text())
    assert rep["per_task"][0]["mmrv"] == pytest.approx(0.03133333333333336)
    assert "| google_robot_pick_coke_can | 6 | 0.975 | 0.031 |" in (out / "report.md").read_text()
    img = np.asarray(Image.open(out / "scatter.png"))
    assert img.shape[0] > 100 and img.std() > 0  # a drawn plot, not a blank image
    (tmp_path / "pairs.json").write_text(json.dumps({"pairs": _rows()}))
    res = CliRunner().invoke(app, ["compare-sim-real", "--pairs", str(tmp_path / "pairs.json"),
                                   "--out", str(tmp_path / "cmp2")])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "cmp2" / "report.json").read_text())["per_task"] == rep["per_task"]


def _report(folder, policy, env_id, rate):
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps(dict(policy=policy, env_id=env_id, success_rate=rate)))
    return folder


def test_cli_from_eval_report_folders_and_bad_input(tmp_path):
    runs = []
    for policy, s, r in (("oracle", 0.95, 0.8), ("random", 0.01, 0.0), ("bc", 0.3, 0.35)):
        sim = _report(tmp_path / f"sim_{policy}", policy, "RealVLG-Grasp-v0", s)
        real = _report(tmp_path / f"real_{policy}", policy, "RealVLG-Grasp-v0", r)
        runs += ["--runs", f"{sim}:{real}"]
    out = tmp_path / "cmp"
    res = CliRunner().invoke(app, ["compare-sim-real", *runs, "--out", str(out)])
    assert res.exit_code == 0, res.output
    rep = json.loads((out / "report.json").read_text())
    assert [p["policy"] for p in rep["pairs"]] == ["oracle", "random", "bc"]
    assert rep["per_task"][0]["mmrv"] == pytest.approx(0.0)  # same ranking: no violation
    assert rep["per_task"][0]["pearson_r"] == pytest.approx(pearson_correlation([0.95, 0.01, 0.3], [0.8, 0.0, 0.35]))
    mismatched = _report(tmp_path / "real_other", "random", "RealVLG-Grasp-v0", 0.1)
    res = CliRunner().invoke(app, ["compare-sim-real", "--runs", f"{tmp_path / 'sim_oracle'}:{mismatched}",
                                   "--out", str(out)])
    assert res.exit_code == 2 and "rule: a pair compares one policy" in res.output
    nan_real = tmp_path / "real_nan"
    nan_real.mkdir()
    (nan_real / "report.json").write_text('{"policy": "oracle", "success_rate": NaN}')
    res = CliRunner().invoke(app, ["compare-sim-real", "--runs", f"{tmp_path / 'sim_oracle'}:{nan_real}",
                                   "--out", str(out)])
    assert res.exit_code == 2 and "success_rate = nan" in res.output
    res = CliRunner().invoke(app, ["compare-sim-real", "--out", str(out)])
    assert res.exit_code == 2 and "give --pairs FILE or" in res.output


def test_shipped_csv_of_simpler_values_gives_simplers_per_task_numbers(tmp_path):
    """tests/sim_eval/simpler_published_pairs.csv holds the REAL_PERF/SIMPLER_PERF values above (the
    README's example input)."""
    from pathlib import Path

    comp = compare(read_pairs(Path(__file__).with_name("simpler_published_pairs.csv")))
    assert [a.task for a in comp.per_task] == list(SIMPLER)
    for a in comp.per_task:
        assert a.mmrv == pytest.approx(SIMPLER[a.task][2], abs=1e-12)
        assert a.pearson_r == pytest.approx(SIMPLER[a.task][3], abs=1e-12)
    assert comp.mean_pearson_r == pytest.approx(np.mean([v[3] for v in SIMPLER.values()]))
    assert round(comp.mean_pearson_r, 3) == 0.883 and round(comp.mean_mmrv, 3) == 0.042
