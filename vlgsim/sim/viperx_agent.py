"""ManiSkill agent of one ViperX 300 6-DoF arm (ALOHA), loaded from the URDF that
:mod:`vlgsim.assets.viperx` writes from gym-aloha's compiled MJCF.

Controllers, per arm: ``pd_joint_pos`` (6 joint targets in rad + 1 gripper) and
``pd_ee_delta_pose`` (6: TCP translation in the arm's base frame, 0.1 m per unit, and
rotation, 0.1 rad per unit, as the Panda's; + 1 gripper). Gripper action in [-1, 1]:
-1 closes (finger target 0.011 m, 1 cm past the closed stop so thin objects stay
squeezed, the Panda's trick), +1 opens (0.057 m); both fingers move together (mimic).
"""

from __future__ import annotations

from copy import deepcopy

import numpy as np
import sapien
from mani_skill.agents.base_agent import BaseAgent, Keyframe
from mani_skill.agents.controllers import (PDEEPoseControllerConfig, PDJointPosControllerConfig,
                                           PDJointPosMimicControllerConfig)
from mani_skill.agents.controllers import deepcopy_dict
from mani_skill.agents.registration import register_agent

from vlgsim.assets.viperx import ARM_JOINTS, FINGER_JOINTS, FINGER_RANGE_M, HOME_QPOS, viperx_urdf

GRIPPER_SQUEEZE_M = 0.010
"""Closed gripper target is this far past the closed stop."""


@register_agent()
class ViperX(BaseAgent):
    uid = "viperx"
    urdf_config = dict(
        _materials=dict(gripper=dict(static_friction=2.0, dynamic_friction=2.0, restitution=0.0)),
        link=dict(left_finger_link=dict(material="gripper", patch_radius=0.1, min_patch_radius=0.1),
                  right_finger_link=dict(material="gripper", patch_radius=0.1, min_patch_radius=0.1)),
    )
    keyframes = dict(rest=Keyframe(qpos=HOME_QPOS, pose=sapien.Pose()))
    arm_joint_names = list(ARM_JOINTS)
    gripper_joint_names = list(FINGER_JOINTS)
    ee_link_name = "tcp"
    arm_stiffness, arm_damping, arm_force_limit = 1e3, 1e2, 100
    gripper_stiffness, gripper_damping, gripper_force_limit = 1e3, 1e2, 100

    @property
    def urdf_path(self) -> str:  # generated on first use (cached on disk)
        return viperx_urdf()

    @property
    def _controller_configs(self):
        arm_pd_joint_pos = PDJointPosControllerConfig(
            self.arm_joint_names, lower=None, upper=None, stiffness=self.arm_stiffness, damping=self.arm_damping,
            force_limit=self.arm_force_limit, normalize_action=False)
        arm_pd_ee_delta_pose = PDEEPoseControllerConfig(
            joint_names=self.arm_joint_names, pos_lower=-0.1, pos_upper=0.1, rot_lower=-0.1, rot_upper=0.1,
            stiffness=self.arm_stiffness, damping=self.arm_damping, force_limit=self.arm_force_limit,
            ee_link=self.ee_link_name, urdf_path=self.urdf_path)
        gripper = PDJointPosMimicControllerConfig(
            self.gripper_joint_names, lower=FINGER_RANGE_M[0] - GRIPPER_SQUEEZE_M, upper=FINGER_RANGE_M[1],
            stiffness=self.gripper_stiffness, damping=self.gripper_damping, force_limit=self.gripper_force_limit,
            mimic={"right_finger": {"joint": "left_finger"}})
        return deepcopy_dict(dict(pd_joint_pos=dict(arm=arm_pd_joint_pos, gripper=gripper),
                                  pd_ee_delta_pose=dict(arm=arm_pd_ee_delta_pose, gripper=deepcopy(gripper))))

    def _after_init(self):
        self.finger1_link = self.robot.links_map["left_finger_link"]
        self.finger2_link = self.robot.links_map["right_finger_link"]
        self.tcp = self.robot.links_map[self.ee_link_name]


def gripper_open_fraction(finger_m: np.ndarray) -> np.ndarray:
    """ALOHA's normalised gripper position (the state): 0 closed (0.021 m), 1 open (0.057 m)."""
    lo, hi = FINGER_RANGE_M
    return (np.asarray(finger_m) - lo) / (hi - lo)


def gripper_action_fraction(state_fraction: np.ndarray) -> np.ndarray:
    """The ``pd_joint_pos`` gripper action (open fraction of the controller's range, whose 0 is
    GRIPPER_SQUEEZE_M past the closed stop) that targets a given state open fraction."""
    lo, hi = FINGER_RANGE_M
    target_m = lo + np.asarray(state_fraction) * (hi - lo)
    return (target_m - (lo - GRIPPER_SQUEEZE_M)) / (hi - lo + GRIPPER_SQUEEZE_M)
