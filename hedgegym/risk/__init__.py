"""Risk views of a hedged book at inception: scenario stress tests and the Greeks dashboard.

``stress`` revalues book + hedge under instantaneous spot/volatility shocks with the market model's own pricer;
``dashboard`` compares the portfolio's Δ, Γ and vega with targets and raises green/yellow/red alerts.
"""

from hedgegym.risk.stress import (
    DEFAULT_SCENARIOS,
    HEDGE_MODES,
    Hedge,
    Scenario,
    bump_volatility,
    initial_hedge,
    parse_scenarios,
    portfolio_greeks,
    stress_test,
    worst_scenario,
)

__all__ = [
    "DEFAULT_SCENARIOS",
    "HEDGE_MODES",
    "Hedge",
    "Scenario",
    "bump_volatility",
    "initial_hedge",
    "parse_scenarios",
    "portfolio_greeks",
    "stress_test",
    "worst_scenario",
]
