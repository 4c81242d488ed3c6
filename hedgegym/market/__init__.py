"""Market simulators: every model returns ``MarketPaths`` (spot and variance arrays over N paths) from one
``simulate(n_paths, n_steps, dt, rng, measure)`` call. One model per module; ``series`` holds the real data the
data-driven markets (historical, GARCH, bootstrap) are built from."""

from hedgegym.market.base import MEASURES, PURPOSES, MarketModel, MarketPaths, ProxyVolatilityMarket
from hedgegym.market.bootstrap import BootstrapMarket
from hedgegym.market.data import DataMarket
from hedgegym.market.garch import GarchMarket
from hedgegym.market.gbm import GeometricBrownianMotion
from hedgegym.market.heston import Heston
from hedgegym.market.historical import HistoricalMarket
from hedgegym.market.jump import MertonJumpDiffusion
from hedgegym.market.sabr import SABR
from hedgegym.market.uncertain_volatility import RegimeSwitchingVolatility, VolatilityRule

__all__ = [
    "MEASURES",
    "PURPOSES",
    "SABR",
    "BootstrapMarket",
    "DataMarket",
    "GarchMarket",
    "GeometricBrownianMotion",
    "Heston",
    "HistoricalMarket",
    "MarketModel",
    "MarketPaths",
    "MertonJumpDiffusion",
    "ProxyVolatilityMarket",
    "RegimeSwitchingVolatility",
    "VolatilityRule",
]
