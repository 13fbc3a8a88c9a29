"""Sim-to-real and real-to-sim: the Robot protocol, drivers (SAPIEN stand-ins, Franka via
franky-control, Shadow Hand via ROS), the safety layer, cameras and real runs."""

from vlgsim.real2sim.robot import (
    CartesianCommand,
    Command,
    GripperCommand,
    JointCommand,
    Robot,
    RobotBase,
    RobotState,
)

from vlgsim.real2sim.safety import CommandResult, SafeRobot, SafetyEvent, SafetyLimits

__all__ = ["CartesianCommand", "Command", "CommandResult", "GripperCommand", "JointCommand", "Robot", "RobotBase",
           "RobotState", "SafeRobot", "SafetyEvent", "SafetyLimits"]
