"""Policy protocol and implementations."""

from vlgsim.policies.base import POLICIES, Policy, make_policy, register_policy
from vlgsim.policies.oracle import OraclePolicy
from vlgsim.policies.random_policy import RandomPolicy
from vlgsim.policies.remote import PolicyServer, RemotePolicy

__all__ = ["POLICIES", "OraclePolicy", "Policy", "PolicyServer", "RandomPolicy", "RemotePolicy", "make_policy",
           "register_policy"]
