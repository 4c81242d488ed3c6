"""hedgegym: a workbench for learning to hedge options."""

__version__ = "0.1.0"

from hedgegym import env as _env  # registers the Gymnasium id hedgegym/Hedging-v0

del _env
