"""Grasp representations, conversions, antipodal sampling and ground-truth labels."""

from vlgsim.grasp.antipodal import TopDownGrasp, gripper_collides, object_grasps
from vlgsim.grasp.image_grasp import InvalidAction, WorldGrasp, action_to_world, label_rect, rect_to_world
from vlgsim.grasp.labels import GraspLabel, grasp_labels
from vlgsim.grasp.rect import GraspRect, contact_points_to_rect, fold_angle_deg, rect_from_endpoints

__all__ = [
    "GraspLabel", "GraspRect", "InvalidAction", "TopDownGrasp", "WorldGrasp", "action_to_world",
    "contact_points_to_rect", "fold_angle_deg", "grasp_labels", "gripper_collides", "label_rect", "object_grasps",
    "rect_from_endpoints", "rect_to_world",
]
