"""Gymnasium and SB3 faces of the hedging engine; importing this module registers ``hedgegym/Hedging-v0``."""

from gymnasium.envs.registration import register, registry

from hedgegym.env.hedging_env import HedgingEnv
from hedgegym.env.vec_env import BatchedHedgingVecEnv

ENV_ID = "hedgegym/Hedging-v0"

if ENV_ID not in registry:
    register(id=ENV_ID, entry_point="hedgegym.env.hedging_env:HedgingEnv")

__all__ = ["ENV_ID", "BatchedHedgingVecEnv", "HedgingEnv"]
