"""Multi-seed benchmarks and hyper-parameter sweeps on Ray Tune (``hedgegym sweep``).

``config`` (the sweep file), ``runner`` (the Tune experiment, one hedgegym run directory per trial) and
``summary`` (the per-trial JSON summary the leaderboard reads). Ray is imported only by the runner's functions
that need it (the ``hedgegym[sweep]`` extra).
"""
