"""hedgegym: a workbench for learning to hedge options."""

__version__ = "0.1.0"
