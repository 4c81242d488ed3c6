"""Classical hedgers, one per module; each maps the engine's state to target positions for N paths."""

from hedgegym.baselines.base import Hedger, HedgerDomainError
from hedgegym.baselines.delta import DeltaHedger
from hedgegym.baselines.delta_gamma import GreekNeutralHedger
from hedgegym.baselines.delta_vega_band import DeltaVegaBandHedger
from hedgegym.baselines.greek_solver import neutralise
from hedgegym.baselines.leland import LelandHedger
from hedgegym.baselines.no_hedge import NoHedge
from hedgegym.baselines.stock_costs import StockCosts
from hedgegym.baselines.threshold import ThresholdRebalancing
from hedgegym.baselines.uncertain_volatility import RobustDeltaGammaHedger, UncertainVolatilityDeltaHedger
from hedgegym.baselines.whalley_wilmott import WhalleyWilmottHedger

__all__ = ["DeltaHedger", "DeltaVegaBandHedger", "GreekNeutralHedger", "Hedger", "HedgerDomainError", "LelandHedger",
           "NoHedge", "RobustDeltaGammaHedger", "StockCosts", "ThresholdRebalancing", "UncertainVolatilityDeltaHedger",
           "WhalleyWilmottHedger",
           "neutralise"]
