"""Policy protocol and implementations."""

from vlgsim.policies.base import POLICIES, Policy, make_policy, register_policy
from vlgsim.policies.oracle import OraclePolicy
from vlgsim.policies.random_policy import RandomPolicy

__all__ = ["POLICIES", "OraclePolicy", "Policy", "RandomPolicy", "make_policy", "register_policy"]
