r"""Robust hedgers of the uncertain volatility model (Avellaneda, Levy & Parás 1995; Lyons 1995).

The volatility is only known to lie in a band [σ_min, σ_max]. The hedger values its book (as its holder) at
the worst case over that band — the lowest value V⁻ of the book's payoff, the Black–Scholes–Barenblatt PDE
with σ = σ_max where the book's Γ < 0 and σ_min where Γ > 0 (``hedgegym.pricing.uncertain_volatility``,
side ``"bid"`` of the holder's payoff; for a short book that is the seller's ask) — and hedges with that
value's Greeks:

* ``UncertainVolatilityDeltaHedger``: h = −∂V⁻/∂S shares (UVM delta). Under any volatility path inside the
  band, the premium V⁻(S₀, 0) plus this hedge super-replicates the book's liability in continuous time.
* ``RobustDeltaGammaHedger``: one listed option cancels the robust Γ (∂²V⁻/∂S²) with its Black–Scholes Γ at
  ``hedge_volatility`` (the desk's implied vol — the hedger never sees the market's model), the stock the
  remaining robust Δ; the k-Greek solver (``greek_solver.neutralise``) does the 2×2 solve per path.

The PDE is solved once per (book, rate, dividend) and cached; the Greeks at the engine's node are grid
lookups for all paths at once. The book must have one maturity (the grid's horizon); hedge options may expire
later. A down-and-out book (every position with the same barrier) is solved with V = 0 at the barrier
(continuous monitoring; the engine monitors at its nodes) and its hedge is 0 once the engine has knocked it out.
"""

from __future__ import annotations

import numpy as np

from hedgegym.baselines.base import Hedger, HedgerDomainError
from hedgegym.baselines.delta_gamma import DEFAULT_POSITION_LIMIT, check_solver_limits, option_position_limits
from hedgegym.baselines.greek_solver import DEFAULT_MAX_CONDITION, FallbackCounter, neutralise
from hedgegym.engine import HedgingEngine
from hedgegym.instruments import Book, black_scholes_pricer
from hedgegym.pricing.greeks import FloatArray
from hedgegym.pricing.uncertain_volatility import Payoff, UncertainVolatilityGrid, solve_uncertain_volatility

__all__ = ["RobustDeltaGammaHedger", "UncertainVolatilityDeltaHedger", "book_worst_case"]


def book_worst_case(book: Book, rate: float, dividend: float, volatility_min: float, volatility_max: float,
                    n_space: int = 200, n_time: int = 200) -> UncertainVolatilityGrid:
    """The holder's worst-case value grid of ``book`` (currency): the BSB ``bid`` of its total payoff.

    Raises ``HedgerDomainError`` (a ``ValueError``) for a book of several maturities or barriers."""
    maturities = {position.option.maturity for position in book.positions}
    if len(maturities) != 1:  # the PDE has one payoff date (a domain limit: compare leaves the hedger out)
        raise HedgerDomainError(f"the uncertain-volatility hedgers need a book with one maturity, got "
                                f"{sorted(maturities)}")
    barriers = {position.option.barrier for position in book.positions}
    if len(barriers) != 1:
        raise HedgerDomainError(f"the uncertain-volatility hedgers need every book position to share one down-and-out "
                                f"barrier or none, got barriers {sorted(barriers, key=str)}")
    legs = [(p.quantity * p.option.multiplier, p.option.strike, p.option.call) for p in book.positions]
    payoff = Payoff.from_legs(legs, barrier=barriers.pop(), name="book")
    return solve_uncertain_volatility(payoff, book.maturity, rate, volatility_min, volatility_max,
                                      dividend=dividend, side="bid", n_space=n_space, n_time=n_time)


def _alive(engine: HedgingEngine) -> FloatArray | float:
    """1 where the book's barrier positions are still alive at the engine's node, 0 after a knock-out."""
    masks = engine.alive_at(engine.step_index)
    if masks is None:
        return 1.0
    return np.logical_and.reduce([mask for mask in masks if mask is not None]).astype(np.float64)


class _WorstCaseHedger(Hedger):
    """Shared: the band, the grid settings and the cached worst-case grid of the engine's book."""

    required_greeks = frozenset({"price"})  # Greeks from its own worst-case grid and Black–Scholes, not the engine's

    def __init__(self, volatility_min: float, volatility_max: float, n_space: int, n_time: int) -> None:
        if not 0 <= volatility_min <= volatility_max:
            raise ValueError(f"need 0 <= volatility_min <= volatility_max, got {volatility_min}, {volatility_max}")
        self.volatility_min = float(volatility_min)
        self.volatility_max = float(volatility_max)
        self.n_space = int(n_space)
        self.n_time = int(n_time)
        self._grids: dict[tuple, UncertainVolatilityGrid] = {}

    def grid(self, engine: HedgingEngine) -> UncertainVolatilityGrid:
        key = (engine.book, engine.model.rate, engine.model.dividend)
        if key not in self._grids:
            self._grids[key] = book_worst_case(engine.book, engine.model.rate, engine.model.dividend,
                                               self.volatility_min, self.volatility_max, self.n_space, self.n_time)
        return self._grids[key]

    def reset(self, engine: HedgingEngine) -> None:
        self.grid(engine)


class UncertainVolatilityDeltaHedger(_WorstCaseHedger):
    """Hold −Δ of the book's worst-case (BSB) value in shares; see the module docstring."""

    def __init__(self, volatility_min: float, volatility_max: float, n_space: int = 200, n_time: int = 200,
                 name: str | None = None) -> None:
        super().__init__(volatility_min, volatility_max, n_space, n_time)
        self.name = name or f"uvm_delta_{self.volatility_min:g}_{self.volatility_max:g}"

    def targets(self, engine: HedgingEngine) -> FloatArray:
        positions = engine.positions.copy()
        positions[:, 0] = -self.grid(engine).delta_at(engine.spot, engine.time) * _alive(engine)
        return positions


class RobustDeltaGammaHedger(_WorstCaseHedger):
    """Cancel the worst-case value's Δ and Γ with the stock and the first listed option (BS Greeks at
    ``hedge_volatility``); see the module docstring. Further listed options are not traded. Where the 2×2 system is
    ill-conditioned or the option position would exceed ``position_limit`` × the book's size, the step falls back
    to the robust Δ with the stock alone (``hedgegym.baselines.greek_solver``), counted in ``fallbacks``."""

    def __init__(self, volatility_min: float, volatility_max: float, hedge_volatility: float,
                 n_space: int = 200, n_time: int = 200, name: str | None = None,
                 max_condition: float = DEFAULT_MAX_CONDITION, position_limit: float = DEFAULT_POSITION_LIMIT) -> None:
        super().__init__(volatility_min, volatility_max, n_space, n_time)
        if not hedge_volatility > 0:
            raise ValueError(f"hedge_volatility must be > 0, got {hedge_volatility}")
        self.hedge_volatility = float(hedge_volatility)
        self.name = name or f"uvm_delta_gamma_{self.volatility_min:g}_{self.volatility_max:g}"
        self.max_condition, self.position_limit = check_solver_limits(max_condition, position_limit)
        self.fallbacks = FallbackCounter()

    def reset(self, engine: HedgingEngine) -> None:
        if engine.n_instruments < 2:
            raise ValueError(f"{self.name} needs a listed hedge option (hedging.hedge_options); the config has none")
        super().reset(engine)
        self.fallbacks.reset(engine.n_paths)

    def targets(self, engine: HedgingEngine) -> FloatArray:
        grid = self.grid(engine)
        spot, time = engine.spot, engine.time
        pricer = black_scholes_pricer(self.hedge_volatility, engine.model.rate, engine.model.dividend)
        option = engine.hedge_options[0]
        option_greeks = option.greeks(spot, time, pricer)
        a = np.zeros((engine.n_paths, 2, 2))
        a[:, 0, 0] = 1.0  # the stock: Δ = 1, Γ = 0
        a[:, 0, 1] = option_greeks.delta
        a[:, 1, 1] = option_greeks.gamma
        alive = _alive(engine)
        b = np.stack([grid.delta_at(spot, time) * alive, grid.gamma_at(spot, time) * alive], axis=1)
        limits = option_position_limits(engine, self.position_limit)[:2]
        solution = neutralise(a, b, self.max_condition, limits)
        self.fallbacks.add(solution)
        targets = np.zeros((engine.n_paths, engine.n_instruments))
        targets[:, :2] = solution.positions
        return targets
