"""Gymnasium and SB3 faces of the hedging engine; importing this module registers ``hedgegym/Hedging-v0``.

``HedgingEnv``, ``BatchedHedgingVecEnv`` and ``HedgingVectorEnv`` (the id's ``vector_entry_point``) are imported
on first use (PEP 562 ``__getattr__``): registering the id needs none of them, and importing them pulls in the
engine, torch and stable-baselines3 (seconds), which ``hedgegym --help`` and the config loader must not pay for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gymnasium.envs.registration import register, registry

if TYPE_CHECKING:
    from hedgegym.env.hedging_env import HedgingEnv
    from hedgegym.env.vec_env import BatchedHedgingVecEnv
    from hedgegym.env.vector_env import HedgingVectorEnv

ENV_ID = "hedgegym/Hedging-v0"

if ENV_ID not in registry:
    register(id=ENV_ID, entry_point="hedgegym.env.hedging_env:HedgingEnv",
             vector_entry_point="hedgegym.env.vector_env:HedgingVectorEnv")

__all__ = ["ENV_ID", "BatchedHedgingVecEnv", "HedgingEnv", "HedgingVectorEnv"]

_LAZY = {"HedgingEnv": "hedgegym.env.hedging_env", "BatchedHedgingVecEnv": "hedgegym.env.vec_env",
         "HedgingVectorEnv": "hedgegym.env.vector_env"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hedgegym.env' has no attribute {name!r}")
