"""Training helpers for VLM fine-tuning: verifiable GRPO rewards (RealVLG-R1, UniVG-R1)
for the bbox, grasp and contact answer formats, and TRL-compatible reward functions."""

from vlgsim.training.rewards import (
    RewardBreakdown,
    bbox_accuracy,
    completion_text,
    contact_accuracy,
    difficulty_weight,
    grasp_accuracy,
    grasp_vector,
    group_advantages,
    huber,
    make_reward_func,
    mask_accuracy,
    score_completion,
)

__all__ = [
    "RewardBreakdown", "bbox_accuracy", "completion_text", "contact_accuracy", "difficulty_weight",
    "grasp_accuracy", "grasp_vector", "group_advantages", "huber", "make_reward_func", "mask_accuracy",
    "score_completion",
]
