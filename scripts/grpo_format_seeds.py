"""GRPO and GSPO over 3 seeds on the format reward of the tiny Qwen2-VL (issue 17, item 4).

Each seed: a tiny random Qwen2-VL built from a config with that seed, a warm start (``--warm-start``
SFT steps, learning rate 1e-3 decaying linearly to 0) on the ground-truth grasp answers of a fixed
``--scenes``-scene RealVLG dataset where only ``--format-rate`` of the targets carry the
``<think>...</think><answer>...</answer>`` format (the rest is the bare answer), shared by that seed's
two runs; each run: ``--steps`` GRPO or GSPO steps, one prompt x ``--num-generations`` completions
per step, a constant learning rate, KL coefficient ``--beta`` to the warm-started model, and
``--reward format_tags`` (graded: 0.2 per tag present once + 0.2 for the exact format). The learnable
signal: one early decision (start with ``<think>`` or with the bare answer), which the long warm start
leaves rare but cleanly executed; the KL term keeps the answers from degenerating meanwhile.

Prints one line per run (mean reward of the first 10 and last 10 steps, their difference), writes
``OUT/table.json`` and a PNG with the per-step reward of the 3 seeds per algorithm, and, last, the
table as one JSON line. A run whose ``OUT/ALGO_sSEED/summary.json`` exists is not trained again.

    python scripts/grpo_format_seeds.py          # runs/grpo_seeds, docs/training/grpo_gspo_format.png

"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from vlgsim.training.grpo import GRPORunConfig, read_log, train_grpo


def warm_started_model(seed: int, data: Path, a) -> Path:
    """The tiny Qwen2-VL of ``seed`` after the partly formatted warm start, built once per seed
    (``OUT/warm_sSEED``) and shared by the GRPO and GSPO runs of that seed (what ``train_grpo``
    does before its first step with ``warm_start_steps``, saved)."""
    import torch
    from transformers import AutoModelForImageTextToText

    from vlgsim.policies.vlg import make_tiny_qwen2vl
    from vlgsim.training.grpo import build_prompt_rows, load_processor, warm_start

    path = a.out / f"warm_s{seed}"
    if (path / "config.json").exists():
        return path
    init = make_tiny_qwen2vl(a.out / f"init_s{seed}", seed=seed)
    processor = load_processor(init)
    rows = build_prompt_rows(data, processor.image_processor, tuple(a.tasks.split(",")))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_pretrained(init, dtype=torch.float32)
    warm_start(model, processor, rows, a.warm_start, seed=seed, format_rate=a.format_rate)
    torch.set_num_threads(threads)
    model.save_pretrained(path)
    processor.image_processor.save_pretrained(path)
    processor.tokenizer.save_pretrained(path)
    return path


def run_config(algo: str, seed: int, data: Path, a) -> GRPORunConfig:
    return GRPORunConfig(algo=algo, seed=seed, data=str(data), model=str(warm_started_model(seed, data, a)),
                         tasks=tuple(a.tasks.split(",")), steps=a.steps,
                         num_generations=a.num_generations, prompts_per_step=a.prompts_per_step,
                         max_completion_length=a.max_completion_length, learning_rate=a.lr, difficulty=None,
                         warm_start_steps=0, reward=a.reward,
                         temperature=a.temperature, beta=a.beta, extra=dict(lr_scheduler_type="constant"),
                         save_steps=a.steps, torch_threads=1)


def first_last(rewards: list[float], k: int = 10) -> tuple[float, float]:
    return float(np.mean(rewards[:k])), float(np.mean(rewards[-k:]))


def plot(table: list[dict], png: Path, reward: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    algos = sorted({r["algo"] for r in table}, key=["grpo", "gspo"].index)
    fig, axes = plt.subplots(1, len(algos), figsize=(4 * len(algos), 2.8), sharey=True, squeeze=False)
    for ax, algo in zip(axes[0], algos):
        for r in (r for r in table if r["algo"] == algo):
            ax.plot(np.arange(1, len(r["rewards"]) + 1), r["rewards"], ".-", lw=1,
                    label=f"seed {r['seed']}: {r['first10']:.2f} -> {r['last10']:.2f}")
        ax.set_title(f"{algo.upper()}, reward {reward}")
        ax.set_xlabel("optimiser step")
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("mean reward (16 completions)")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=80)
    plt.close(fig)


def check_settings(a) -> None:
    """OUT keeps finished runs and warm starts (a rerun resumes); refuse to mix runs of other settings
    into the table: ``OUT/settings.json`` records the settings of the runs in OUT."""
    settings = {k: v for k, v in vars(a).items() if k not in ("out", "png", "algos", "seeds")}
    path = a.out / "settings.json"
    if path.exists() and json.loads(path.read_text()) != settings:
        raise SystemExit(f"{a.out} holds runs of other settings ({path}); rule: one folder per setting, "
                         "use a new --out")
    a.out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=1, sort_keys=True))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("runs/grpo_seeds"))
    p.add_argument("--png", type=Path, default=Path("docs/training/grpo_gspo_format.png"))
    p.add_argument("--algos", default="grpo,gspo")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--tasks", default="grasp")
    p.add_argument("--num-generations", type=int, default=16)
    p.add_argument("--prompts-per-step", type=int, default=1)
    p.add_argument("--max-completion-length", type=int, default=36)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warm-start", type=int, default=3000)
    p.add_argument("--format-rate", type=float, default=0.25)
    p.add_argument("--reward", default="format_tags", choices=["format", "format_tags"])
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--scenes", type=int, default=2, help="scenes in the fixed RealVLG dataset (one grasp prompt each)")
    p.add_argument("--beta", type=float, default=0.04, help="KL coefficient to the warm-started model (0: none)")
    a = p.parse_args()
    check_settings(a)

    from vlgsim.data.realvlg import DatasetConfig, generate

    data = generate(DatasetConfig(n=a.scenes, seed=0, image_size=(160, 120), n_objects=(2, 4)), a.out / "data")
    table = []
    for algo in a.algos.split(","):
        for seed in (int(s) for s in a.seeds.split(",")):
            out = a.out / f"{algo}_s{seed}"
            if not (out / "summary.json").exists():
                train_grpo(run_config(algo, seed, data, a), out)
            s = json.loads((out / "summary.json").read_text())
            rewards = [r["reward"] for r in read_log(out / "log.jsonl")]
            f, last = first_last(rewards)
            row = dict(algo=algo, seed=seed, first10=round(f, 3), last10=round(last, 3), delta=round(last - f, 3),
                       steps=len(rewards), wall_s=s["wall_s"], rewards=[round(r, 4) for r in rewards])
            table.append(row)
            print(f"{algo} seed {seed}: first-10 {f:.3f}  last-10 {last:.3f}  delta {last - f:+.3f}  "
                  f"({len(rewards)} steps, {s['wall_s']:.0f} s)", flush=True)
    (a.out / "table.json").write_text(json.dumps(table, indent=1))
    plot(table, a.png, a.reward)
    print(f"curves: {a.png}")
    print(json.dumps([{k: r[k] for k in ("algo", "seed", "first10", "last10", "delta")} for r in table]))


if __name__ == "__main__":
    main()
