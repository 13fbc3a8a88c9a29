"""Policy protocol and implementations."""

from vlgsim.policies.base import POLICIES, Policy, make_policy, register_policy
from vlgsim.policies.bc_policy import BCPolicy
from vlgsim.policies.bimanual_expert import BimanualExpert
from vlgsim.policies.dexvlg import DexVLGPolicy
from vlgsim.policies.openpi import OpenPIPolicy, OpenPIPolicyServer
from vlgsim.policies.oracle import OraclePolicy
from vlgsim.policies.random_policy import RandomPolicy
from vlgsim.policies.remote import PolicyServer, RemotePolicy
from vlgsim.policies.sb3_policy import SB3Policy
from vlgsim.policies.scripted import ScriptedGraspPolicy
from vlgsim.policies.vlg import VLGPolicy

__all__ = ["BCPolicy", "BimanualExpert", "DexVLGPolicy", "POLICIES", "OpenPIPolicy", "OpenPIPolicyServer", "OraclePolicy", "Policy", "PolicyServer", "RandomPolicy", "RemotePolicy", "SB3Policy", "ScriptedGraspPolicy", "VLGPolicy", "make_policy",
           "register_policy"]
