"""Vision-language grounding models (Qwen2-VL / Qwen2.5-VL family) as vlgsim policies.

``vlg:PATH`` loads a checkpoint folder with ``transformers``: the tokenizer (with its chat
template), the image processor (``preprocessor_config.json``, run with the PIL backend, so
torchvision is not needed) and the model (``AutoModelForImageTextToText``). Each step it
builds the task prompt (grasp, contact points or box; optionally asking for
``<think>/<answer>``), generates greedily, parses the text with
:func:`vlgsim.language.answers.parse_answer`, and rescales the answer from the model's
resized image grid to the observation image.

``protocol="realvlg-r1"`` (``vlg:PATH@realvlg-r1``) drives a RealVLG-R1 checkpoint as its
published code does: the prompts of ``examples/format_prompt/*.jinja``
(:data:`vlgsim.language.realvlg_r1.PROMPTS`), the parsers of ``evaluation/eval_*.py``
(:func:`~vlgsim.language.realvlg_r1.parse_eval`), and its grasp theta read in image axes
(x right, y down), i.e. negated into vlgsim's counter-clockwise theta before execution;
corners of a box are put in order. Numbers beyond +-1e6 are a parse failure either way. An answer that does not parse becomes a NaN
action (the env records ``invalid_action``) and ``last_error`` holds the parse failure,
which evaluations record as ``failure_mode="parse_failure"``.

:func:`make_tiny_qwen2vl` writes a tiny, randomly initialised Qwen2-VL checkpoint (with a
small BPE tokenizer trained on the spot) for tests and smoke runs: no download needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vlgsim.grasp.rect import GraspRect, fold_angle_deg, rect_from_endpoints
from vlgsim.language import realvlg_r1 as r1_answers
from vlgsim.language.answers import MAX_ABS_VALUE, parse_answer
from vlgsim.policies.base import register_policy

POLICY_PROTOCOLS = ("vlgsim", "realvlg-r1")

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                  "<|image_pad|>", "<|video_pad|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for c in message['content'] %}"
    "{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
PROMPTS = {
    "grasp": "{instruction} Answer with the grasp as (x, y, theta, w): centre and width in pixels of this image, "
             "jaw angle in degrees.",
    "contact": "{instruction} Answer with the two gripper contact points as [[x1, y1], [x2, y2]] in pixels.",
    "bbox": "Locate the object: {instruction} Answer as {{\"bbox_2d\": [x1, y1, x2, y2], \"label\": \"...\"}} "
            "in pixels.",
}
THINK = " First think in <think></think>, then give the answer in <answer></answer>."
ACTION_TASKS = {"grasp_rect": "grasp", "contact_points": "contact"}


def make_tiny_qwen2vl(path: str | Path, seed: int = 0) -> Path:
    """Write a tiny random Qwen2-VL checkpoint (tokenizer, image processor, model) to ``path``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2VLConfig, Qwen2VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = [p.format(instruction="Grasp the red mug left of the bowl.") for p in PROMPTS.values()]
    corpus += ['{"bbox_2d": [12, 34, 56, 78], "label": "mug"}', "<think>the mug</think><answer>(120, 80, 30, 40)</answer>",
               "[[10, 20], [30, 40]] 0123456789 -.,()[]{}"]
    tok.train_from_iterator(corpus * 4, trainers.BpeTrainer(vocab_size=512, special_tokens=SPECIAL_TOKENS,
                                                            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(path)
    Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=112 * 112, patch_size=14, merge_size=2,
                             temporal_patch_size=2).save_pretrained(path)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    special = dict(bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"])
    cfg = Qwen2VLConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                         rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]}, **special),
        vision_config=dict(depth=1, embed_dim=32, hidden_size=64, num_heads=2, mlp_ratio=2, patch_size=14,
                           spatial_merge_size=2, temporal_patch_size=2, in_chans=3),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"], **special)
    torch.manual_seed(seed)
    Qwen2VLForConditionalGeneration(cfg).save_pretrained(path)
    return path


class VLGPolicy:
    name = "vlg"

    def __init__(self, path: str | Path, task: str = "grasp", think: bool = False, max_new_tokens: int = 64,
                 protocol: str = "vlgsim"):
        from transformers import AutoModelForImageTextToText, AutoTokenizer
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

        if task not in PROMPTS:
            raise ValueError(f"vlg task {task!r}; rule: one of {sorted(PROMPTS)}")
        if protocol not in POLICY_PROTOCOLS:
            raise ValueError(f"vlg protocol {protocol!r}; rule: one of {', '.join(POLICY_PROTOCOLS)}")
        self.protocol = protocol
        path = Path(path)
        if not (path / "config.json").exists():
            raise FileNotFoundError(f"no checkpoint at {path}; rule: vlg:PATH with PATH a folder holding config.json")
        self.task, self.think, self.max_new_tokens = task, think, max_new_tokens
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.image_processor = Qwen2VLImageProcessorPil.from_pretrained(path)
        self.model = AutoModelForImageTextToText.from_pretrained(path).eval()
        self.instruction = ""
        self.last_text, self.last_error = "", ""

    def reset(self, instruction: str, info: dict) -> None:
        self.instruction, self.last_text, self.last_error = instruction, "", ""

    def _inputs(self, image: np.ndarray) -> tuple[dict, tuple[int, int]]:
        """Model inputs and the (width, height) in pixels of the image grid the model sees."""
        from PIL import Image

        prompt = prompt_for(self.task, self.instruction, self.think, self.protocol)
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
        text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        vis = self.image_processor(images=[Image.fromarray(image)], return_tensors="pt")
        t, h, w = (int(x) for x in vis["image_grid_thw"][0])
        n_tokens = t * h * w // self.image_processor.merge_size ** 2
        text = text.replace("<|image_pad|>", "<|image_pad|>" * n_tokens)
        enc = self.tokenizer([text], return_tensors="pt")
        p = self.image_processor.patch_size
        return dict(enc, **vis), (w * p, h * p)

    def generate_text(self, image: np.ndarray) -> tuple[str, tuple[int, int]]:
        import torch

        inputs, grid = self._inputs(image)
        with torch.no_grad():
            out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        return self.tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True), grid

    def act(self, observation: dict) -> np.ndarray:
        image = observation["rgb"] if "rgb" in observation else observation["images"][0]
        H, W = image.shape[:2]
        self.last_text, (gw, gh) = self.generate_text(image)
        value, reason = read_answer(self.last_text, self.task, self.protocol)
        size = {"grasp": 4, "contact": 4, "bbox": 5}[self.task]
        if value is None:
            self.last_error = f"parse_failure: {reason}"
            return np.full(size, np.nan, np.float32)
        self.last_error = ""
        return rescale_answer(self.task, value, (gw, gh), (W, H))


def prompt_for(task: str, instruction: str, think: bool = False, protocol: str = "vlgsim") -> str:
    """The task prompt: vlgsim's :data:`PROMPTS` (+ :data:`THINK`), or RealVLG-R1's published
    format prompt (which always asks for ``<think>/<answer>``)."""
    if protocol == "vlgsim":
        return PROMPTS[task].format(instruction=instruction) + (THINK if think else "")
    return r1_answers.PROMPTS[task].format(instruction=instruction.strip())


def read_answer(text: str, task: str, protocol: str = "vlgsim") -> tuple[np.ndarray | None, str]:
    """A model's text as vlgsim numbers (theta counter-clockwise on screen, folded; box
    corners in order), or ``(None, reason)``. ``realvlg-r1`` reads it with RealVLG-R1's
    evaluation parsers and negates its image-axes theta."""
    if protocol == "vlgsim":
        parsed = parse_answer(text, task)
        return (parsed.value, "") if parsed.ok else (None, parsed.reason)
    parsed = r1_answers.parse_eval(text, task)
    if not parsed.ok:
        return None, parsed.reason
    v = np.array(parsed.value, dtype=np.float64)
    if not (np.isfinite(v).all() and (np.abs(v) <= MAX_ABS_VALUE).all()):
        return None, f"answer {v.tolist()} has a number that is not finite or beyond +-{MAX_ABS_VALUE:g}"
    if task == "grasp":
        if not v[3] > 0:
            return None, f"grasp width {v[3]} px must be > 0"
        v[2] = fold_angle_deg(-v[2])  # image axes (y down) -> counter-clockwise on screen
    elif task == "bbox":
        v = np.r_[min(v[0], v[2]), min(v[1], v[3]), max(v[0], v[2]), max(v[1], v[3])]
    return v, ""


def rescale_answer(task: str, value: np.ndarray, grid_wh: tuple[int, int], image_wh: tuple[int, int]) -> np.ndarray:
    """Map an answer in the model's resized image (pixels) to the observation image (pixels)."""
    sx, sy = image_wh[0] / grid_wh[0], image_wh[1] / grid_wh[1]
    v = np.asarray(value, np.float64)
    if task == "bbox":
        return np.r_[0.0, v[0] * sx, v[1] * sy, v[2] * sx, v[3] * sy].astype(np.float32)
    if task == "contact":
        return (v * [sx, sy, sx, sy]).astype(np.float32)
    ends = GraspRect(v[0], v[1], v[2], v[3], 0.0).jaw_endpoints() * [sx, sy]  # keeps the angle right when sx != sy
    r = rect_from_endpoints(ends[0], ends[1], 0.0)
    return r.as_action()


@register_policy("vlg")
def _make_vlg(env, arg=None, seed=0):
    if not arg:
        raise ValueError("vlg needs a checkpoint folder; rule: vlg:PATH or vlg:PATH@realvlg-r1")
    protocol = "vlgsim"
    head, sep, tail = arg.rpartition("@")
    if sep and tail in POLICY_PROTOCOLS:
        arg, protocol = head, tail
    base = getattr(env, "unwrapped", env)
    spaces = getattr(getattr(base, "observation_space", None), "spaces", {})
    task = "bbox" if "images" in spaces else ACTION_TASKS.get(getattr(base, "action_mode", "grasp_rect"), "grasp")
    return VLGPolicy(arg, task=task, protocol=protocol)
