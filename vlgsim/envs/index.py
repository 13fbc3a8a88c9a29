"""Index of the built-in task ids: the module that defines each and its time limit (steps).

``import vlgsim`` registers these ids with Gymnasium without importing the task modules
(no simulator, Warp or torch at import); ``gym.make`` imports the one module it needs.
A task module's ``@register_task`` / ``@register_bimanual`` must agree with its line here
(``tests/envs/test_env_index.py`` checks every one).
"""

from __future__ import annotations

from typing import NamedTuple


class IndexEntry(NamedTuple):
    module: str
    max_episode_steps: int


_B = "vlgsim.envs.bimanual."
ENV_INDEX: dict[str, IndexEntry] = {
    "RealVLG-Grasp-v0": IndexEntry("vlgsim.envs.realvlg_grasp", 200),
    "RealVLG-Ground-v0": IndexEntry("vlgsim.envs.realvlg_ground", 1),
    "DexVLG-PartGrasp-v0": IndexEntry("vlgsim.envs.dexvlg_part_grasp", 1),
    "Bimanual-Approach-v0": IndexEntry(_B + "approach", 90),
    "Bimanual-ArmChoice-v0": IndexEntry(_B + "arm_choice", 80),
    "Bimanual-CleanTable-v0": IndexEntry(_B + "clean_table", 150),
    "Bimanual-Handover-v0": IndexEntry(_B + "handover", 150),
    "Bimanual-LeftArmRightBowl-v0": IndexEntry(_B + "left_arm_right_bowl", 120),
    "Bimanual-PickColor-v0": IndexEntry(_B + "pick_color", 80),
    "Bimanual-PickPose-v0": IndexEntry(_B + "pick_pose", 80),
    "Bimanual-Rotate-v0": IndexEntry(_B + "rotate", 150),
    "Bimanual-StackBlocks-v0": IndexEntry(_B + "stack_blocks", 150),
    "Bimanual-PlaceBasket-v0": IndexEntry(_B + "place_basket", 120),
    "Bimanual-LiftPot-v0": IndexEntry(_B + "lift_pot", 120),
    "Bimanual-StackBowls-v0": IndexEntry(_B + "stack_bowls", 170),
    "Bimanual-HangRing-v0": IndexEntry(_B + "hang_ring", 130),
    "Bimanual-BottlesBin-v0": IndexEntry(_B + "bottles_bin", 200),
    "Bimanual-Pour-v0": IndexEntry(_B + "pour", 300),
    "Bimanual-SlideLid-v0": IndexEntry(_B + "slide_lid", 110),
    "Bimanual-HandoverRotate-v0": IndexEntry(_B + "handover_rotate", 260),
    "Bimanual-ShelfPlace-v0": IndexEntry(_B + "shelf_place", 150),
    "Bimanual-MoveCanPot-v0": IndexEntry(_B + "move_can_pot", 140),
    "Bimanual-PickDualBottles-v0": IndexEntry(_B + "dual_bottles", 90),
}
