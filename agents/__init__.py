"""Learned hedgers: SB3 PPO/SAC (and sb3-contrib TQC) factories on the batched env, and the deep-hedging reference."""

from hedgegym.agents.deep_hedging import DeepHedger, DeepHedgingPolicy, train_deep_hedger
from hedgegym.agents.sb3 import make_model, make_vec_env

__all__ = ["DeepHedger", "DeepHedgingPolicy", "make_model", "make_vec_env", "train_deep_hedger"]
