"""What every data-driven market shares (``DataMarket``): no pricing measure, a one-trading-day clock."""

from __future__ import annotations

import numpy as np
import pytest

import hedgegym.market as market
from hedgegym.market import BootstrapMarket, DataMarket, GarchMarket, HistoricalMarket

DAY = 1.0 / 252.0
MARKETS = {"historical": HistoricalMarket, "GARCH": GarchMarket, "bootstrap": BootstrapMarket}


@pytest.mark.parametrize(("name", "dt"), [("historical", 1 / 52), ("GARCH", 0.01), ("bootstrap", 0.02)])
def test_pricing_measure_and_a_non_daily_step_are_refused(name, dt):
    model = MARKETS[name]()
    with pytest.raises(ValueError, match=f"measure must be 'real' for a {name} market"):
        model.simulate(3, 21, DAY, np.random.default_rng(0), measure="pricing")
    with pytest.raises(ValueError, match=rf"dt must be one trading day, 1/252 year, for a {name} market"):
        model.simulate(3, 21, dt, np.random.default_rng(0))


def test_every_data_market_is_covered():
    exported = {getattr(market, name) for name in market.__all__}
    subclasses = {cls for cls in exported if isinstance(cls, type) and issubclass(cls, DataMarket)} - {DataMarket}
    assert subclasses == set(MARKETS.values()), "add the new data market to MARKETS"
