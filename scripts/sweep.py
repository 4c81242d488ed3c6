"""Run a sweep on Ray Tune (see hedgegym.sweep): the same as ``hedgegym sweep``.

    python scripts/sweep.py --config configs/sweeps/benchmark.yaml [--address ray://host:port] [--resume DIR]
"""

from __future__ import annotations

import sys

from hedgegym.cli import app

if __name__ == "__main__":
    sys.exit(app(["sweep", *sys.argv[1:]]))
