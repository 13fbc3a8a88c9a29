"""GRPO / GSPO fine-tuning of a Qwen2-VL grounding model with TRL and vlgsim's verifiable rewards.

``train_grpo(cfg, out)`` (``vlgsim train grpo``):

1. data: a RealVLG dataset folder (``vlgsim generate realvlg``) given as ``cfg.data``, or a
   small one generated into ``OUT/data``. Each sample's view 0 becomes up to one prompt per
   task (bbox, grasp, contact): the image, already resized to the model's image grid (so the
   pixels the prompt talks about are the pixels the model sees), the task prompt of
   :mod:`vlgsim.policies.vlg` with ``<think>/<answer>``, and the ground truth rescaled to that
   grid (``solution`` as JSON, ``image_size`` = grid (W, H)) for the reward function.
2. model: a local Qwen2-VL checkpoint folder (``cfg.model``), or a tiny random one built from
   a config by :func:`~vlgsim.policies.vlg.make_tiny_qwen2vl` into ``OUT/init_model``. A random
   model never writes a parseable answer, so every reward would be 0 and every advantage 0;
   the tiny model therefore gets a short supervised warm start on the ground-truth answers
   (:func:`warm_start`, 300 steps by default) after which its sampled answers differ in reward.
3. ``trl.GRPOTrainer`` on CPU with ``reward_funcs`` = [:func:`make_reward_func` (weight 1),
   accuracy and format (weight 0: logged per step, not added)]. GSPO = the same trainer with
   ``importance_sampling_level="sequence"`` (one importance ratio per completion,
   ``exp(mean_t log w_t)``) and GSPO's clip range. With ``cfg.difficulty`` set, each prompt's
   advantages are multiplied by the UniVG-R1 difficulty weight
   (:func:`~vlgsim.training.rewards.difficulty_weight`) of the mean accuracy of its group of
   completions, which weighs that prompt's policy-gradient loss.
4. outputs: ``log.jsonl`` (one line per optimiser step: reward mean/std, each component's
   mean/std, loss, ...), ``completions.jsonl`` (every scored completion), ``reward.png``, and the
   trained checkpoint in ``OUT/model`` (loadable as ``vlg:OUT/model``).

torchvision is not installed, so ``AutoProcessor`` cannot build Qwen2-VL's processor (its
video processor needs torchvision). :func:`load_processor` builds a real ``Qwen2VLProcessor``
subclass with only the tokenizer and the PIL image processor; TRL takes it as the
``processing_class`` and runs its full multimodal path (pixel values + image grid through the
vision tower, for generation and for the log-probabilities).
"""

from __future__ import annotations

import functools
import json
import math
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from vlgsim.grasp.rect import GraspRect, rect_from_endpoints
from vlgsim.language.answers import TASKS
from vlgsim.training.rewards import (
    DIFFICULTY_KINDS,
    difficulty_weight,
    make_reward_func,
    score_completion,
)

ALGOS = ("grpo", "gspo")
GSPO_EPSILON = (3e-4, 4e-4)
"""GSPO paper's clip range (low, high) for the sequence-level ratio."""
DEFAULT_WARM_START = 300
REWARD_CHOICES = ("full", "accuracy", "format", "format_tags")
"""Order of TRL's ``reward_funcs`` here: [full, accuracy, format, format_tags]; ``reward`` picks the
one with weight 1 (the others are logged with weight 0)."""


@dataclass
class GRPORunConfig:
    """One GRPO/GSPO run. ``steps`` optimiser steps, each on ``prompts_per_step`` prompts with
    ``num_generations`` sampled completions each."""

    algo: str = "grpo"
    steps: int = 4
    model: Optional[str] = None
    data: Optional[str] = None
    n_samples: int = 4
    tasks: tuple[str, ...] = ("bbox", "grasp", "contact")
    num_generations: int = 4
    prompts_per_step: int = 1
    max_completion_length: int = 48
    learning_rate: float = 1e-5
    temperature: float = 1.0
    beta: float = 0.0
    """KL coefficient to the reference model (the starting checkpoint, after the warm start); 0: no
    KL term and no reference model (DAPO, Dr. GRPO). A small value (0.04, DeepSeekMath's) keeps the
    tiny model's answers from degenerating while the reward moves one early decision."""
    difficulty: Optional[str] = "exp"
    think: bool = True
    use_format: bool = True
    seed: int = 0
    data_image_size: tuple[int, int] = (160, 120)
    warm_start_steps: int = -1
    """Supervised steps on the ground-truth answers before GRPO; -1: 300 when the tiny random
    model is built here (so its completions parse and rewards differ within a group), else 0."""
    warm_start_lr: float = 1e-3
    warm_start_format_rate: float = 1.0
    """Fraction of the warm start's targets written in the ``<think>...</think><answer>...</answer>``
    format; the others are the bare answer the no-think prompt asks for. The warm-started model
    then emits the format at about this rate, which GRPO with ``reward="format"`` must raise
    (a controlled starting point; ``vlgsim`` protocol only)."""
    protocol: str = "vlgsim"
    """``vlgsim`` (vlgsim's prompts and rewards) or ``realvlg-r1`` (RealVLG-R1's format prompts,
    answer formats and reward functions: :mod:`vlgsim.training.rewards`)."""
    torch_threads: Optional[int] = None
    """Intra-op CPU threads during the run; None: 1 for the tiny model built here (its matrices
    are too small to split, and spinning threads slow it down many times on a busy CPU), else
    torch's default."""
    reward: str = "full"
    """What GRPO optimises: ``full`` (accuracy + format, :func:`make_reward_func`), ``format`` (the
    ``<think>/<answer>`` format alone, 0/1), ``format_tags`` (its graded version,
    :func:`vlgsim.language.answers.format_tag_score`: a signal a tiny model can learn on CPU) or
    ``accuracy``. All four are logged every step either way."""
    save_steps: int = 10
    """Checkpoint (model, optimiser, RNG: HF Trainer's ``checkpoint-N``) every this many steps;
    ``resume`` continues from the last one."""
    resume: bool = False
    extra: dict = field(default_factory=dict)
    """More ``GRPOConfig`` keyword arguments (override the ones set here)."""

    def __post_init__(self):
        if self.algo not in ALGOS:
            raise ValueError(f"algo {self.algo!r}; rule: one of {', '.join(ALGOS)}")
        bad = [t for t in self.tasks if t not in TASKS or t == "mask"]
        if bad or not self.tasks:
            raise ValueError(f"tasks {list(self.tasks)!r}; rule: a non-empty subset of bbox, grasp, contact")
        if self.difficulty is not None and self.difficulty not in DIFFICULTY_KINDS:
            raise ValueError(f"difficulty {self.difficulty!r}; rule: None or one of {', '.join(DIFFICULTY_KINDS)}")
        if self.reward not in REWARD_CHOICES:
            raise ValueError(f"reward {self.reward!r}; rule: one of {', '.join(REWARD_CHOICES)}")
        if self.protocol not in ("vlgsim", "realvlg-r1"):
            raise ValueError(f"protocol {self.protocol!r}; rule: vlgsim or realvlg-r1")
        if not 0.0 <= self.warm_start_format_rate <= 1.0:
            raise ValueError(f"warm_start_format_rate {self.warm_start_format_rate!r}; rule: in [0, 1]")
        if self.warm_start_format_rate < 1.0 and (self.protocol != "vlgsim" or not self.think):
            raise ValueError("warm_start_format_rate < 1 needs protocol='vlgsim' with think=True (the bare answer "
                             "is the vlgsim no-think format)")
        if self.num_generations < 2:
            raise ValueError(f"num_generations {self.num_generations}; rule: >= 2 (advantages are group-relative)")
        if not (isinstance(self.beta, (int, float)) and math.isfinite(self.beta) and self.beta >= 0):
            raise ValueError(f"beta {self.beta!r}; rule: a finite number >= 0")
        for name in ("steps", "prompts_per_step", "max_completion_length", "n_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} {getattr(self, name)}; rule: >= 1")


# ----------------------------------------------------------------------------- processor


@functools.lru_cache(maxsize=1)
def _processor_class():
    from transformers import Qwen2VLProcessor
    from transformers.processing_utils import ProcessorMixin

    class Qwen2VLImageOnlyProcessor(Qwen2VLProcessor):
        """Qwen2-VL processor with a tokenizer and an image processor and no video processor.

        ``Qwen2VLProcessor`` insists on a video processor, whose class needs torchvision.
        ``ProcessorMixin`` takes its sub-processors from the ``__init__`` signature, so leaving
        ``video_processor`` out of it gives a processor that handles text and images exactly as
        the original does (chat template, image-token expansion, ``mm_token_type_ids``)."""

        def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
            self.image_token = getattr(tokenizer, "image_token", None) or "<|image_pad|>"
            self.video_token = getattr(tokenizer, "video_token", None) or "<|video_pad|>"
            self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
            self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
            ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)

    return Qwen2VLImageOnlyProcessor


def load_processor(path: str | Path):
    """The tokenizer + PIL image processor of the checkpoint at ``path`` as one Qwen2-VL
    processor (no torchvision needed)."""
    from transformers import AutoTokenizer
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    tok = AutoTokenizer.from_pretrained(path)
    ip = Qwen2VLImageProcessorPil.from_pretrained(path)
    return _processor_class()(image_processor=ip, tokenizer=tok, chat_template=tok.chat_template)


def model_grid_size(image_processor, width: int, height: int) -> tuple[int, int]:
    """(W, H) in pixels of the grid the Qwen2-VL image processor resizes a W x H image to."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

    size = getattr(image_processor, "size", None) or {}
    lo = size.get("shortest_edge") or getattr(image_processor, "min_pixels", None) or 56 * 56
    hi = size.get("longest_edge") or getattr(image_processor, "max_pixels", None) or 28 * 28 * 1280
    factor = image_processor.patch_size * image_processor.merge_size
    h, w = smart_resize(height, width, factor=factor, min_pixels=lo, max_pixels=hi)
    return int(w), int(h)


# ----------------------------------------------------------------------------- dataset


def _scale_rect(rect, sx: float, sy: float) -> list[float]:
    """A grasp rectangle [x, y, theta_deg, w, h] after scaling the image by (sx, sy)."""
    r = GraspRect(*[float(v) for v in rect[:5]])
    ends = r.jaw_endpoints() * [sx, sy]  # keeps the jaw axis right when sx != sy
    return rect_from_endpoints(ends[0], ends[1], r.height_px * math.sqrt(sx * sy)).to_list()


def prompt_text(task: str, instruction: str, think: bool = True, protocol: str = "vlgsim") -> str:
    from vlgsim.policies.vlg import prompt_for

    return prompt_for(task, instruction, think, protocol)


def build_prompt_rows(data: str | Path, image_processor, tasks=("bbox", "grasp", "contact"), think: bool = True,
                      protocol: str = "vlgsim") -> list[dict]:
    """Prompt rows (plain dicts) from a RealVLG dataset folder: per sample (view 0) and task, the
    image resized to the model grid, a conversational ``prompt``, ``task``, ``solution`` (JSON,
    grid pixels), ``image_size`` ((W, H) of the grid), ``sample``. A task without ground truth
    in a view (target hidden, no grasp labels) is skipped."""
    from PIL import Image

    from vlgsim.data.realvlg import load_records

    data = Path(data)
    rows = []
    for rec in load_records(data):
        view = rec["views"][0]
        target = next((o for o in view["objects"] if o["object_index"] == rec["target_index"]), None)
        image = Image.open(data / view["image"]).convert("RGB")
        W, H = image.size
        gw, gh = model_grid_size(image_processor, W, H)
        sx, sy = gw / W, gh / H
        image = image.resize((gw, gh), Image.BICUBIC)
        sols = {}
        if target is not None:
            x1, y1, x2, y2 = target["bbox_xyxy"]
            sols["bbox"] = [x1 * sx, y1 * sy, x2 * sx, y2 * sy]
        if view["grasp_rects"]:
            sols["grasp"] = [_scale_rect(r, sx, sy) for r in view["grasp_rects"]]
            sols["contact"] = [[c[0] * sx, c[1] * sy, c[2] * sx, c[3] * sy] for c in view["contact_points"]]
        for task in tasks:
            if task not in sols:
                continue
            rows.append(dict(prompt=[{"role": "user", "content": prompt_text(task, rec["instruction"], think, protocol)}],
                             image=image, task=task, solution=json.dumps(sols[task]), image_size=[gw, gh],
                             sample=int(rec["index"])))
    if not rows:
        raise ValueError(f"no prompts with ground truth for tasks {list(tasks)} in {data}; rule: a RealVLG dataset "
                         "folder (vlgsim generate realvlg) with samples/*.json records")
    return rows


def build_prompt_dataset(rows: list[dict], seed: int = 0):
    """A shuffled ``datasets.Dataset`` of prompt rows (the image column decodes to PIL)."""
    from datasets import Dataset

    rows = list(rows)
    random.Random(seed).shuffle(rows)
    return Dataset.from_list(rows)


def oracle_answer(task: str, solution: Any, think: bool = True, protocol: str = "vlgsim") -> str:
    """The ground-truth answer in the format the task prompt asks for (integer pixels):
    under ``realvlg-r1`` the published prompts' ``(x1,y1),(x2,y2)`` and ``(x, y, theta, width)``
    with theta in image axes, always inside ``<think>...</think>\n<answer>...</answer>``."""
    sol = json.loads(solution) if isinstance(solution, str) else solution
    if protocol != "vlgsim":
        if task == "grasp":
            x, y, t, w = (round(v) for v in (sol[0][0], sol[0][1], -sol[0][2], sol[0][3]))
            body = f"({x}, {y}, {t}, {w})"
        else:
            a = sol if task == "bbox" else sol[0]
            x1, y1, x2, y2 = (round(v) for v in a)
            body = f"({x1},{y1}),({x2},{y2})"
        return f"<think>the target</think>\n<answer>{body}</answer>"
    if task == "bbox":
        body = json.dumps({"bbox_2d": [round(v) for v in sol], "label": "target"})
    elif task == "grasp":
        x, y, t, w = (round(v) for v in sol[0][:4])
        body = f"({x}, {y}, {t}, {w})"
    elif task == "contact":
        x1, y1, x2, y2 = (round(v) for v in sol[0])
        body = f"[[{x1}, {y1}], [{x2}, {y2}]]"
    else:
        raise ValueError(f"unknown task {task!r}; allowed tasks: bbox, grasp, contact")
    return f"<think>the target</think><answer>{body}</answer>" if think else body


def warm_start(model, processor, rows: list[dict], steps: int, learning_rate: float = 1e-3, seed: int = 0,
               think: bool = True, protocol: str = "vlgsim", format_rate: float = 1.0) -> list[float]:
    """A few supervised steps (one prompt each, loss on the answer tokens only) on the
    ground-truth answers, so that a randomly initialised model emits the answer format and
    GRPO gets rewards that differ within a group. The learning rate decays linearly to 0, so
    the model settles on the average of its targets rather than the last few. With
    ``format_rate`` < 1 that fraction of the targets is in the think/answer format and the rest
    is the bare answer. Returns the losses."""
    import torch
    from tqdm.auto import tqdm

    if steps <= 0:
        return []
    tok = processor.tokenizer
    rng = random.Random(seed)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.0 - i / steps)
    model.train()
    losses = []
    for _ in tqdm(range(steps), desc="warm start (SFT on ground truth)"):
        row = rows[rng.randrange(len(rows))]
        text = row["prompt"][0]["content"]
        msgs = [{"role": "user", "content": [{"type": "image", "image": row["image"]}, {"type": "text", "text": text}]}]
        enc = processor.apply_chat_template([msgs], add_generation_prompt=True, tokenize=True, return_dict=True,
                                            return_tensors="pt")
        formatted = think and (format_rate >= 1.0 or rng.random() < format_rate)
        answer = oracle_answer(row["task"], row["solution"], formatted, protocol) + tok.eos_token
        ans = tok(answer, add_special_tokens=False, return_tensors="pt")["input_ids"]
        n_prompt = enc["input_ids"].shape[1]
        batch = {k: v for k, v in enc.items() if k not in ("input_ids", "attention_mask", "mm_token_type_ids")}
        batch["input_ids"] = torch.cat([enc["input_ids"], ans], dim=1)
        batch["attention_mask"] = torch.ones_like(batch["input_ids"])
        if "mm_token_type_ids" in enc:
            batch["mm_token_type_ids"] = torch.cat([enc["mm_token_type_ids"], torch.zeros_like(ans)], dim=1)
        labels = batch["input_ids"].clone()
        labels[:, :n_prompt] = -100
        loss = model(**batch, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses


# ----------------------------------------------------------------------------- rewards + logging


class RewardComponents:
    """Accuracy and format reward functions (TRL signature) that also keep every scored
    completion (for ``completions.jsonl``) and the latest batch's accuracies (for the
    difficulty weight)."""

    def __init__(self, use_format: bool = True, protocol: str = "vlgsim"):
        self.use_format, self.protocol = use_format, protocol
        self.rows: list[dict] = []
        self.last_accuracy: list[float] = []

    def _score(self, completions, kwargs) -> list:
        from vlgsim.training.rewards import completion_text

        n = len(completions)
        sizes = kwargs.get("image_size") or [None] * n
        done = getattr(kwargs.get("trainer_state"), "global_step", None)
        step = None if done is None else done + 1  # the optimiser step these completions feed
        scores = [score_completion(c, t, s, z, use_format=self.use_format, protocol=self.protocol)
                  for c, t, s, z in zip(completions, kwargs["task"], kwargs["solution"], sizes)]
        for c, t, b, smp in zip(completions, kwargs["task"], scores, kwargs.get("sample") or [None] * n):
            self.rows.append(dict(step=step, sample=smp, task=t, completion=completion_text(c), reward=b.reward,
                                  accuracy=b.accuracy, format=b.format, parsed_ok=b.parsed_ok,
                                  failure_reason=b.failure_reason))
        self.last_accuracy = [b.accuracy for b in scores]
        return scores

    def funcs(self) -> list:
        """``[accuracy, format, format_tags]``: ``accuracy`` scores the batch (and records it), ``format``
        reuses those scores (TRL calls reward functions in list order on the same batch)."""
        last: list = []

        def accuracy(prompts=None, completions=None, **kwargs):
            last[:] = self._score(completions, kwargs)
            return [b.accuracy for b in last]

        def format(prompts=None, completions=None, **kwargs):
            scores = last if len(last) == len(completions) else self._score(completions, kwargs)
            return [b.format for b in scores]

        def format_tags(prompts=None, completions=None, **kwargs):
            from vlgsim.language.answers import format_tag_score
            from vlgsim.training.rewards import completion_text

            return [format_tag_score(completion_text(c)) for c in completions]

        return [accuracy, format, format_tags]


def _trainer_class():
    import torch
    from transformers import TrainerCallback
    from trl import GRPOTrainer

    class VLGGRPOTrainer(GRPOTrainer):
        """``GRPOTrainer`` that multiplies each prompt's advantages by the UniVG-R1 difficulty
        weight of its group's mean accuracy (when ``difficulty`` is set)."""

        def __init__(self, *args, difficulty: Optional[str] = None, components: RewardComponents = None, **kwargs):
            super().__init__(*args, **kwargs)
            self.difficulty, self.components = difficulty, components

        def _generate_and_score_completions(self, inputs):
            out = super()._generate_and_score_completions(inputs)
            if self.difficulty is None or not self.model.training:
                return out
            acc = torch.tensor(self.components.last_accuracy, dtype=torch.float32)
            adv = out["advantages"]
            g = self.num_generations
            if acc.numel() != adv.shape[0] or acc.numel() % g:
                return out  # not the batch we scored (should not happen on one process)
            w = difficulty_weight(acc.view(-1, g).mean(dim=1).numpy(), kind=self.difficulty)
            w = torch.as_tensor(np.atleast_1d(w), dtype=adv.dtype, device=adv.device).repeat_interleave(g)
            out["advantages"] = adv * w
            self._metrics["train"]["difficulty_weight"].append(float(w.mean()))
            return out

    class JsonlLogCallback(TrainerCallback):
        """Appends each training log (reward mean/std, components, loss, ...) to ``log.jsonl``
        and the newly scored completions to ``completions.jsonl``."""

        def __init__(self, out: Path, components: RewardComponents, keep_until_step: int = 0):
            """``keep_until_step``: on resume, the log lines of steps up to the checkpoint's are kept."""
            self.log_path, self.comp_path, self.components = out / "log.jsonl", out / "completions.jsonl", components
            for path in (self.log_path, self.comp_path):
                kept = [r for r in (read_log(path) if path.exists() else []) if (r.get("step") or 0) <= keep_until_step]
                path.write_text("".join(json.dumps(r) + "\n" for r in kept))
            self._written = 0

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or "reward" not in logs:
                return
            row = {"step": state.global_step, **{k: _jsonable(v) for k, v in logs.items()}}
            with self.log_path.open("a") as f:
                f.write(json.dumps(row) + "\n")
            new = self.components.rows[self._written:]
            self._written = len(self.components.rows)
            with self.comp_path.open("a") as f:
                f.writelines(json.dumps(r) + "\n" for r in new)

    return VLGGRPOTrainer, JsonlLogCallback


def _jsonable(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def read_log(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def plot_rewards(log_path: Path, png: Path, title: str = "") -> Path:
    """Per-step reward (mean +- std) and its components (accuracy, format) against steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_log(log_path)
    step = np.array([r["step"] for r in rows], dtype=float)

    def col(key):
        return np.array([np.nan if r.get(key) is None else r[key] for r in rows], dtype=float)

    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    mean, std = col("reward"), col("reward_std")
    ax[0].plot(step, mean, "o-", label="reward")
    ax[0].fill_between(step, mean - std, mean + std, alpha=0.25)
    ax[0].set_ylabel("reward (mean +- std over completions)")
    for name in ("accuracy", "format", "format_tags"):
        key = f"rewards/{name}/mean"
        if rows and key in rows[0]:
            ax[1].plot(step, col(key), "o-", label=name)
    if rows and "difficulty_weight" in rows[0]:
        ax[1].plot(step, col("difficulty_weight"), "s--", label="difficulty weight")
    ax[1].set_ylabel("component mean")
    for a in ax:
        a.set_xlabel("optimiser step")
        a.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png


# ----------------------------------------------------------------------------- the run


def grpo_config(cfg: GRPORunConfig, out: Path):
    """The ``trl.GRPOConfig`` for ``cfg``: CPU, fp32, tiny generations, a log line per step;
    GSPO = ``importance_sampling_level="sequence"`` with GSPO's clip range."""
    from trl import GRPOConfig

    kw = dict(output_dir=str(out / "trainer"), max_steps=cfg.steps, learning_rate=cfg.learning_rate,
              per_device_train_batch_size=cfg.prompts_per_step * cfg.num_generations,
              num_generations=cfg.num_generations, max_completion_length=cfg.max_completion_length,
              temperature=cfg.temperature, beta=cfg.beta, logging_steps=1, report_to="tensorboard",
              save_strategy="steps", save_steps=cfg.save_steps, save_total_limit=1,
              use_cpu=True, bf16=False, fp16=False, seed=cfg.seed, data_seed=cfg.seed, disable_tqdm=False,
              dataloader_num_workers=0, activation_checkpointing=False, reward_weights=[float(cfg.reward == r) for r in REWARD_CHOICES], loss_type="grpo" if cfg.algo == "gspo" else "dapo",
              importance_sampling_level="sequence" if cfg.algo == "gspo" else "token")
    if cfg.algo == "gspo":
        kw.update(epsilon=GSPO_EPSILON[0], epsilon_high=GSPO_EPSILON[1])
    kw.update(cfg.extra)
    return GRPOConfig(**kw)


def ensure_data(cfg: GRPORunConfig, out: Path) -> Path:
    """``cfg.data``, or a small RealVLG dataset generated into ``OUT/data`` (resumable)."""
    if cfg.data:
        return Path(cfg.data)
    from vlgsim.data.realvlg import DatasetConfig, generate

    return generate(DatasetConfig(n=cfg.n_samples, seed=cfg.seed, image_size=tuple(cfg.data_image_size),
                                  n_objects=(2, 4)), out / "data")


def ensure_model(cfg: GRPORunConfig, out: Path) -> Path:
    """``cfg.model``, or a tiny random Qwen2-VL built from a config in ``OUT/init_model``."""
    if cfg.model:
        path = Path(cfg.model)
        if not (path / "config.json").exists():
            raise FileNotFoundError(f"no checkpoint at {path}; rule: --model DIR with DIR holding config.json")
        return path
    from vlgsim.policies.vlg import make_tiny_qwen2vl

    path = out / "init_model"
    return path if (path / "config.json").exists() else make_tiny_qwen2vl(path, seed=cfg.seed)


def train_grpo(cfg: GRPORunConfig, out: str | Path) -> dict:
    """Run GRPO/GSPO; returns a summary (paths, per-step rewards). See the module docstring."""
    import torch

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    import os

    threads = cfg.torch_threads if cfg.torch_threads is not None else (None if cfg.model else 1)
    old_threads, old_tb = torch.get_num_threads(), os.environ.get("TENSORBOARD_LOGGING_DIR")
    if threads:
        torch.set_num_threads(threads)
    os.environ["TENSORBOARD_LOGGING_DIR"] = str(out / "tb")  # HF Trainer's TensorBoard callback writes here
    try:
        return _train_grpo(cfg, out)
    finally:
        torch.set_num_threads(old_threads)
        if old_tb is None:
            os.environ.pop("TENSORBOARD_LOGGING_DIR", None)
        else:
            os.environ["TENSORBOARD_LOGGING_DIR"] = old_tb


def last_checkpoint(out: Path) -> Optional[Path]:
    """The newest HF ``checkpoint-N`` folder of a run, or None."""
    ck = sorted((Path(out) / "trainer").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    return ck[-1] if ck else None


def _train_grpo(cfg: GRPORunConfig, out: Path) -> dict:
    import time

    import torch
    from transformers import AutoModelForImageTextToText

    t0 = time.perf_counter()
    data_dir = ensure_data(cfg, out)
    model_dir = ensure_model(cfg, out)
    processor = load_processor(model_dir)
    rows = build_prompt_rows(data_dir, processor.image_processor, cfg.tasks, cfg.think, cfg.protocol)
    dataset = build_prompt_dataset(rows, seed=cfg.seed)
    torch.manual_seed(cfg.seed)
    model = AutoModelForImageTextToText.from_pretrained(model_dir, dtype=torch.float32)
    ws_steps = cfg.warm_start_steps if cfg.warm_start_steps >= 0 else (0 if cfg.model else DEFAULT_WARM_START)
    resume_from = last_checkpoint(out) if cfg.resume else None
    if resume_from is not None:
        ws_steps = 0  # the checkpoint holds the weights after the warm start and the steps done
    ws_losses = warm_start(model, processor, rows, ws_steps, cfg.warm_start_lr, cfg.seed, cfg.think, cfg.protocol,
                           cfg.warm_start_format_rate)
    components = RewardComponents(use_format=cfg.use_format, protocol=cfg.protocol)
    reward_funcs = [make_reward_func(None, use_format=cfg.use_format, protocol=cfg.protocol), *components.funcs()]
    Trainer, LogCallback = _trainer_class()
    args = grpo_config(cfg, out)
    trainer = Trainer(model=model, args=args, train_dataset=dataset, processing_class=processor,
                      reward_funcs=reward_funcs, difficulty=cfg.difficulty, components=components,
                      callbacks=[LogCallback(out, components, int(resume_from.name.split("-")[-1]) if resume_from else 0)])
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    final = out / "model"
    trainer.save_model(str(final))
    processor.image_processor.save_pretrained(final)  # preprocessor_config.json for vlg:PATH
    processor.tokenizer.save_pretrained(final)
    plot_rewards(out / "log.jsonl", out / "reward.png",
                 title=f"{cfg.algo.upper()} on RealVLG ({', '.join(cfg.tasks)}), {cfg.num_generations} generations")
    rows = read_log(out / "log.jsonl")
    summary = dict(algo=cfg.algo, steps=cfg.steps, data=str(data_dir), init_model=str(model_dir), model=str(final),
                   n_prompts=len(dataset), importance_sampling_level=args.importance_sampling_level,
                   loss_type=args.loss_type, warm_start_steps=ws_steps, reward=cfg.reward,
                   resumed_from=str(resume_from) if resume_from else None,
                   warm_start_loss=[round(ws_losses[0], 4), round(ws_losses[-1], 4)] if ws_losses else None, wall_s=round(time.perf_counter() - t0, 1),
                   rewards=[dict(step=r["step"], reward=r["reward"], reward_std=r.get("reward_std"),
                                 accuracy=r.get("rewards/accuracy/mean"), format=r.get("rewards/format/mean"),
                                 format_tags=r.get("rewards/format_tags/mean"))
                            for r in rows],
                   config={k: v for k, v in asdict(cfg).items()})
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary
