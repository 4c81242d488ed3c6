"""Score every hedger on the same held-out paths: rollout with attribution, metrics with CIs, reports."""

from hedgegym.evaluation.metrics import METRICS, summarize
from hedgegym.evaluation.rollout import ATTRIBUTION_TERMS, Evaluation, evaluate, test_paths

__all__ = ["ATTRIBUTION_TERMS", "METRICS", "Evaluation", "evaluate", "summarize", "test_paths"]
