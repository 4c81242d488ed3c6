r"""The hedging engine: one batched accounting step for N paths at once.

Every face of hedgegym (the Gymnasium env, the SB3 VecEnv, evaluation, deep hedging) advances hedges through
this class; none of them repeats its arithmetic.

Setting. A hedger holds a liability ``book`` (e.g. short 10 calls) and trades k hedge instruments: the stock
(column 0) and optionally listed European options (columns 1…k−1, per contract). Time runs on the grid
t_i = i·dt, i = 0…n_steps, with dt = H/n_steps and H the horizon: the book's maturity T unless a shorter
``horizon`` is given (then the episode ends before expiry, with the book marked at its model value).

Accounting (currency, the hedger's whole book; DESIGN.md's sign convention)::

    W_i   = V_book(t_i) + Σ_j h_j · P_j(t_i) + cash_i            (wealth, marked to the valuation model)
    W_0   = 0:  cash_0 = −V_book(t_0)                             (premium received for a short book)
    at t_i: trade  q = h_target − h;  cash −= q·P(t_i) + cost(q, P(t_i));  h = h_target
    over [t_i, t_{i+1}]: cash ← cash·e^{r dt} + h_stock·S_i·(e^{q dt} − 1)   (interest, dividends)
    δW_i  = W_{i+1} − W_i   = book P&L + hedge P&L − cost          (costs are inside δW)

At maturity the book is worth its payoff (the valuation at τ = 0 is the intrinsic value), so Σ δW_i = W_H is
the hedged P&L (the hedging error).

Several maturities. An option whose maturity falls inside the episode (a whole number of steps e, else
``ValueError``) settles in cash at its expiry node t_e: a book position pays ``q_j · payoff_j(S_{t_e})`` into the
cash (``book_pnl`` counts it), a hedge option ``h_c · payoff_c(S_{t_e})`` (the hedge's P&L; no transaction cost),
and from t_e on its value and Greeks are 0 — the book's through ``alive_path`` (the mask of a barrier's knock-out),
a hedge option's column in the valuation — so no hedger sees an expired option, and an expired hedge option is held
at 0 whatever the target. W stays continuous: the value the option had at t_e⁻, its payoff, is now cash.

With ``liquidate_at_maturity`` the hedges are sold at the end, paying costs.

Valuation. Book and hedge options are marked with ``valuation(spot, strike, τ, call, variance) -> Greeks``,
by default the market model's own pricer (``model_greeks``: the exact price under GBM, Heston, Merton, SABR).
The regime-switching model has no closed form: it is marked with Black–Scholes at the current regime's
volatility (a proxy, stated here because it changes P&L attribution, not the terminal P&L).

Barrier options (down-and-out calls in the book; not as hedge instruments) are monitored at the simulation
nodes: a position is dead from the first node t_i where S_{t_i} ≤ B on (the running minimum of the path, taken
at ``reset``), and its value and Greeks are 0 there and after — so its payoff at maturity is
(S_T − K)⁺·1[min_i S_{t_i} > B]. While alive it is marked by ``valuation(..., barrier=B, monitoring_interval=dt)``:
under GBM the closed form with the Broadie–Glasserman–Kou correction for monitoring every dt, under the
regime-switching model the same formula at √variance (the proxy above); Heston, Merton and SABR have no barrier
pricer and are refused at construction.

Tensors. The per-step state (positions, cash, wealth) lives in torch tensors of ``dtype`` (float64 by default, or
float32) on ``device`` (CPU, or CUDA where available); the step's arithmetic (trades, every cost model, cash,
dividends, wealth, the P&L decomposition: ``_advance``) is written once for numpy arrays and torch tensors alike.
Torch targets (deep hedging, which backpropagates through this very step; a CUDA engine) run it on the tensors;
numpy targets on the CPU (the envs, the classical hedgers, ``evaluate``) run it on zero-copy numpy views of the
same tensors, with identical bits and numpy's smaller per-call overhead, and read ``positions``, ``cash``,
``wealth`` as numpy views. The valuations, which do not depend on actions, are computed once per path set at
``reset`` — in numpy float64, or in torch at ``dtype`` on ``device`` when the paths are tensors and the valuation
is Black–Scholes-based (``hedgegym.valuation``) — and handed to the step once (zero-copy on the CPU).

State arrays are (N,) or (N, k); the market path is held time-major, (n_steps + 1, N), so that one step reads
contiguous rows. No Python loop runs over paths; one runs over the (few) options of the book.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import torch
from numpy.typing import ArrayLike

from hedgegym import _validation as check
from hedgegym.costs import CostModel
from hedgegym.instruments import Book, EuropeanOption, Pricer, monitored
from hedgegym.market import MarketModel
from hedgegym.pricing.fields import check_fields
from hedgegym.pricing.greeks import FloatArray, Greeks
from hedgegym.valuation import (
    BARRIER_MODELS,
    ModelValuation,
    NodeGreeks,
    PathGreeks,
    PathValuation,
    ProxyValuation,
    Valuation,
    default_valuation,
    value_paths,
    values_tensors,
)

__all__ = [
    "BARRIER_MODELS",
    "EngineState",
    "HedgingEngine",
    "ModelValuation",
    "NodeGreeks",
    "PathGreeks",
    "PathValuation",
    "ProxyValuation",
    "StepOutcome",
    "Valuation",
    "checked_device",
    "default_valuation",
]  # the valuation names are re-exported from hedgegym.valuation, where they live

def _row_dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Σ_j a[n, j]·b[n, j] per row, summed in the same order whatever N (so N paths and N single paths agree
    bit for bit; einsum may change its summation order with the array size)."""
    total = a[:, 0] * b[:, 0]
    for j in range(1, a.shape[1]):
        total = total + a[:, j] * b[:, j]
    return total



class EngineState(NamedTuple):
    """The engine's per-path state as torch tensors (``engine.dtype`` on ``engine.device``): ``positions`` (N, k)
    held after the last rebalancing, ``cash`` (N,) and ``wealth`` W_i (N,), currency. Differentiable when the
    targets given to ``step`` were (deep hedging backpropagates through them)."""

    positions: torch.Tensor
    cash: torch.Tensor
    wealth: torch.Tensor


class StepOutcome(NamedTuple):
    """What one step did, per path (currency unless stated). Each field (N,) except ``trades`` (N, k): numpy arrays
    when ``step`` was given numpy targets, torch tensors (``engine.dtype``, ``engine.device``) when given a tensor."""

    pnl: FloatArray  # δW = W_{i+1} − W_i
    book_pnl: FloatArray  # V_book(t_{i+1}) − V_book(t_i) + cash paid by its positions expiring at t_{i+1}
    hedge_pnl: FloatArray  # hedges' mark-to-market change (payoffs of those expiring) + interest + dividends
    cost: FloatArray  # transaction costs paid in this step (≥ 0), liquidation included on the last step
    trades: FloatArray  # quantities traded at t_i (units: shares, contracts)
    terminal: bool  # True when t_{i+1} = T


class HedgingEngine:
    """Batched hedging state over N paths; see the module docstring for the accounting.

    Args:
        model: the market model (rate, dividend and, through ``valuation``, the pricing of the options).
        book: the liability; its latest maturity T is the episode's length. A position expiring earlier settles at
            its expiry node (its maturity must be a whole number of steps). Barrier options need B < the model's
            spot and, with the default valuation, a model in ``BARRIER_MODELS``.
        n_steps: rebalancing dates per episode (dt = T / n_steps).
        hedge_options: listed options usable as hedges (per contract), without barriers; one expiring inside the
            episode (a whole number of steps) is cash-settled at its expiry node and held at 0 afterwards.
        costs: a ``CostModel`` on (trades (N, k), unit prices (N, k)); ``None`` for no costs.
        liquidate_at_maturity: sell every hedge at T, paying costs.
        valuation: marks options; default ``default_valuation(model)``.
        horizon: episode length in years (default: the book's maturity T). With a shorter horizon the episode
            ends before expiry and the book is marked at its model value there (hedging over a period).
        dtype: ``torch.float64`` (default) or ``torch.float32``: the precision of the state and the step.
        device: where the state and the step live: ``"cpu"`` (default) or a CUDA device (``"cuda"``, ``"cuda:1"``).
        greeks: the Greeks ``reset`` values at every node (``required_greeks``; default all five); ``"price"`` is
            always valued. Others are valued on first access, so this changes speed, never results.

    Use: ``reset(spot, variance)`` with time-major paths (n_steps + 1, N), then ``step(targets)`` n_steps
    times. ``reset`` values the book and the hedges at every node of the episode at once (``book_path``,
    ``instrument_path``: the same Greeks with a leading time axis). Attributes after each call: ``spot``,
    ``variance`` (N,), ``time``, ``step_index``, ``positions``
    (N, k), ``cash``, ``wealth`` (N,) (numpy views of ``state``, the torch tensors), ``book_greeks`` (Greeks of
    (N,), currency), ``instrument_greeks``
    (Greeks of (N, k), per unit held: stock = (S, 1, 0, 0, 0), options per contract). ``alive_path``: per book
    position, ``None`` (vanilla) or a bool (n_steps + 1, N) array, False from the node where it is knocked out.
    """

    def __init__(
        self,
        model: MarketModel,
        book: Book,
        n_steps: int,
        hedge_options: tuple[EuropeanOption, ...] = (),
        costs: CostModel | None = None,
        liquidate_at_maturity: bool = False,
        valuation: Valuation | None = None,
        horizon: float | None = None,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
        greeks: Iterable[str] | None = None,
    ) -> None:
        self.model = model
        self.book = book
        self.n_steps = check.positive_int("n_steps", n_steps)
        self.maturity = book.maturity
        self.hedge_options = tuple(hedge_options)
        for index, option in enumerate(self.hedge_options):
            if not isinstance(option, EuropeanOption):
                raise ValueError(f"hedge_options[{index}] must be a EuropeanOption, got {type(option).__name__}")
            if option.barrier is not None:
                raise ValueError(f"hedge_options[{index}].barrier: barrier options are not supported as hedge "
                                 "instruments (their knock-out is not tracked); use a vanilla option")
        self._check_barriers(model, book, valuation)
        if costs is not None and not isinstance(costs, CostModel):
            raise ValueError(f"costs must be a CostModel or None, got {type(costs).__name__}")
        self.costs = costs
        self.liquidate_at_maturity = bool(liquidate_at_maturity)
        self.valuation = valuation if valuation is not None else default_valuation(model)
        if horizon is not None and not 0.0 < horizon <= self.maturity + 1e-12:
            raise ValueError(f"horizon must be in (0, book maturity {self.maturity}], got {horizon}")
        self.horizon = float(self.maturity if horizon is None else min(horizon, self.maturity))
        self.dt = self.horizon / self.n_steps
        self.times = np.arange(self.n_steps + 1) * self.dt
        self.expiry_nodes = self._expiry_nodes(self.book.options, "book: positions")
        self._hedge_payoff_host: dict[int, np.ndarray] = {}
        self.hedge_expiry_nodes = self._expiry_nodes(self.hedge_options, "hedge_options")
        # instrument columns alive at each node (0 from a hedge option's expiry on: it has been settled)
        self._live_columns = None
        if any(node is not None for node in self.hedge_expiry_nodes):
            live = np.ones((self.n_steps + 1, 1 + len(self.hedge_options)))
            for column, node in enumerate(self.hedge_expiry_nodes, start=1):
                if node is not None:
                    live[node:, column] = 0.0
            self._live_columns = live
        self.n_instruments = 1 + len(self.hedge_options)
        self.cash_growth = float(np.exp(model.rate * self.dt))  # cash ← cash · e^{r dt} over one step
        self.dividend_per_share = float(np.expm1(model.dividend * self.dt))  # × S: dividend of one share per step
        self.dtype, self.device = _checked_dtype(dtype), checked_device(device)
        self.step_index = -1
        self.alive_path: tuple[np.ndarray | None, ...] | None = None
        self.required_greeks = greeks  # validated by the property: frozenset, with price

    def _expiry_nodes(self, options: tuple[EuropeanOption, ...], label: str) -> tuple[int | None, ...]:
        """Per option, the node at which it expires and settles inside the episode (``None``: it expires at or
        after the episode's end, where it is marked like the rest). Raises ``ValueError`` naming ``label[index]``
        for a maturity inside the episode that falls between two rebalancing dates."""
        nodes: list[int | None] = []
        for index, option in enumerate(options):
            steps = option.maturity / self.dt
            if steps >= self.n_steps - 1e-9:
                nodes.append(None)
                continue
            if abs(steps - round(steps)) > 1e-6:
                raise ValueError(f"{label}[{index}] expires at T = {option.maturity:.6g}, between two rebalancing "
                                 f"dates (dt = {self.dt:.6g}): a maturity inside the episode must be a whole number "
                                 f"of steps ({steps:.4f} here)")
            nodes.append(round(steps))
        return tuple(nodes)

    def _alive_masks(self, spot: FloatArray) -> tuple[np.ndarray | None, ...] | None:
        """Per book position ``None`` or a bool (n_steps + 1, N) mask, True while the position lives: until its
        knock-out (barrier options) and before its expiry node (positions settled inside the episode: at that node
        they have paid out and left the book); ``None`` when every position lives through the episode."""
        masks: list[np.ndarray | None] = []
        for option, node in zip(self.book.options, self.expiry_nodes, strict=True):
            mask = option.alive(spot, axis=0) if option.barrier is not None else None
            if node is not None:  # a read-only broadcast view: one row per node, no memory per path
                expiry = np.broadcast_to((np.arange(self.n_steps + 1) < node)[:, None], spot.shape)
                mask = expiry if mask is None else mask & expiry
            masks.append(mask)
        return tuple(masks) if any(mask is not None for mask in masks) else None

    def _settlement(self, spot: FloatArray) -> dict[int, np.ndarray]:
        """Cash the book's positions pay the holder when they expire inside the episode: {expiry node: (N,)},
        Σ_j q_j · payoff_j(S at that node) (0 for a barrier option knocked out by then); empty when none does. Held
        per expiry node, not per node: memory grows with the expiries, not with the episode."""
        settlement: dict[int, np.ndarray] = {}
        for position, node in zip(self.book.positions, self.expiry_nodes, strict=True):
            if node is None:
                continue
            option = position.option
            paid = position.quantity * option.payoff(spot[node])
            if option.barrier is not None:
                paid = np.where(option.alive(spot[:node + 1], axis=0)[-1], paid, 0.0)
            settlement[node] = settlement.get(node, 0.0) + paid
        return settlement

    def _hedge_payoffs(self, spot: FloatArray) -> dict[int, np.ndarray]:
        """What one unit of each hedge instrument pays at its expiry node inside the episode: {node: (N, k)},
        payoff_c(S) per contract in the columns expiring there, 0 in the others (the stock never expires)."""
        payoffs: dict[int, np.ndarray] = {}
        for column, (option, node) in enumerate(zip(self.hedge_options, self.hedge_expiry_nodes, strict=True),
                                                start=1):
            if node is not None:
                row = payoffs.setdefault(node, np.zeros((spot.shape[1], self.n_instruments)))
                row[:, column] = option.payoff(spot[node])
        return payoffs

    def hedge_payoff_at(self, node: int) -> np.ndarray | None:
        """(N, k): what one unit of each hedge instrument paid when it expired at ``node`` (a listed option expiring
        inside the episode, cash-settled there; its price from that node on is 0), or ``None`` when none expired
        there. The mark-to-market of positions held into ``node`` is Σ h · (P(node) + payoff(node) − P(node − 1))."""
        return self._hedge_payoff_host.get(node)

    @staticmethod
    def _check_barriers(model: MarketModel, book: Book, valuation: Valuation | None) -> None:
        for index, option in enumerate(book.options):
            if option.barrier is None:
                continue
            if option.barrier >= model.spot:
                raise ValueError(f"book: positions[{index}].option.barrier must be below the initial spot "
                                 f"{model.spot} (else the option is knocked out at inception), got {option.barrier}")
            if valuation is None and not isinstance(model, BARRIER_MODELS):
                raise ValueError(f"book: positions[{index}] is a barrier option and barrier options need the gbm or "
                                 f"regime_switching market; the {type(model).__name__} model has no barrier pricer")

    # ------------------------------------------------------------------ state
    def reset(self, spot: ArrayLike | torch.Tensor, variance: ArrayLike | torch.Tensor,
              valued: PathValuation | None = None) -> None:
        """Start N episodes on the given paths, shapes (n_steps + 1, N) (time-major).

        ``spot``, ``variance``: arrays, or torch tensors (any float dtype, any device; e.g.
        ``GeometricBrownianMotion.simulate_tensors``). With a tensor and a Black–Scholes-based valuation of a book
        without barriers (``hedgegym.valuation.values_tensors``: the default valuation of a GBM or a regime-switching
        model), the paths are moved to ``dtype`` on ``device`` and the book and the hedges are valued there, in
        torch; ``spot_path``, ``variance_path`` and the ``PathGreeks`` fields are then numpy arrays of ``dtype``
        (zero-copy views of the CPU tensors, host copies from a GPU), so every reader is unchanged. Otherwise (and
        for arrays) the paths are valued in numpy float64.

        ``valued``: the ``valuation_of_paths`` of an engine with the same model, book, hedge options and grid,
        reset on these same paths — reused instead of re-valuing every node (evaluating several hedgers on one
        path set values it once). The caller vouches that the paths are the same; shapes are checked.

        The paths are not copied (tensors are detached: no gradient flows to them): do not change them in place
        before the next ``reset`` (Greeks not declared in ``required_greeks`` are valued from them on first access).

        Raises: ``ValueError`` for shapes other than (n_steps + 1, N), and the pricer's for values outside its
        domain (e.g. a spot ≤ 0). A reset that raises leaves the engine as it was.
        """
        in_torch = (isinstance(spot, torch.Tensor) or isinstance(variance, torch.Tensor)) and valued is None \
            and values_tensors(self.valuation, self.book)
        spot_tensor = variance_tensor = None
        if in_torch:  # detached: the paths are data (no gradient flows to them)
            spot_tensor, variance_tensor = self._tensor(spot.detach()), self._tensor(variance.detach())
            spot, variance = _read_only_if_broadcast(_numpy(spot_tensor)), _read_only_if_broadcast(
                _numpy(variance_tensor))
        else:
            spot = np.asarray(_numpy(spot) if isinstance(spot, torch.Tensor) else spot, dtype=np.float64)
            variance = np.asarray(_numpy(variance) if isinstance(variance, torch.Tensor) else variance,
                                  dtype=np.float64)
        if spot.ndim != 2 or spot.shape[0] != self.n_steps + 1 or variance.shape != spot.shape:
            raise ValueError(
                f"spot and variance must have shape (n_steps + 1, N) = ({self.n_steps + 1}, N), got {spot.shape} "
                f"and {variance.shape}"
            )
        # everything that can fail runs on locals: a failed reset leaves the engine as it was
        if valued is not None:
            wrong_instruments = valued.instrument_path.price.shape[-1] != self.n_instruments
            if valued.book_path.price.shape != spot.shape or wrong_instruments:
                raise ValueError("valued: a valuation of other paths or of another set of hedge instruments")
            alive_path, book_path, instrument_path = valued
            book_path.ensure(self.required_greeks)  # one pass for the declared fields another engine left out
            instrument_path.ensure(self.required_greeks)
        else:
            alive_path = self._alive_masks(spot)
            book_path, instrument_path = self._value_paths(
                *((spot_tensor, variance_tensor) if in_torch else (spot, variance)), alive_path=alive_path)
        self.spot_path, self.variance_path, self.n_paths = spot, variance, spot.shape[1]
        self.alive_path, self.book_path, self.instrument_path = alive_path, book_path, instrument_path
        self.step_index = 0
        self._value_node()
        # the step's inputs, handed to torch once per path set (zero-copy for float64 on the CPU)
        self._spot_tensor = spot_tensor if in_torch else self._tensor(self.spot_path)
        self._book_price = self._tensor(self.book_path.price)
        self._instrument_price = self._tensor(self.instrument_path.price)
        self._hedge_payoff_host = self._hedge_payoffs(spot)  # float64, for readers (the attribution)
        self._settlement_tensor = {node: self._tensor(paid) for node, paid in self._settlement(spot).items()}
        self._hedge_payoff_tensor = {node: self._tensor(paid) for node, paid in self._hedge_payoff_host.items()}
        self._live_tensor = None if self._live_columns is None else self._tensor(self._live_columns)
        self._make_host_inputs()
        zeros = torch.zeros(self.n_paths, dtype=self.dtype, device=self.device)
        self._set_state(EngineState(torch.zeros((self.n_paths, self.n_instruments), dtype=self.dtype,
                                                device=self.device), -self._book_price[0], zeros))

    def _set_state(self, state: EngineState, host: tuple[np.ndarray, ...] | None = None) -> None:
        """The new state tensors and the numpy arrays that view them (on the CPU: given when the step ran in
        numpy, else made here; on a GPU: host copies made on first read). The numpy faces read ``positions``,
        ``cash``, ``wealth`` many times a step."""
        if host is None and self.device.type == "cpu":
            host = tuple(_numpy(x) for x in state)
        self.state, self._host_state = state, host

    def _make_host_inputs(self) -> None:
        """Numpy views of the step's input tensors, which the CPU's numpy step reads (None on a GPU)."""
        if self.device.type != "cpu":
            self._host_inputs = None
            return
        self._host_inputs = (*(_numpy(t) for t in (self._spot_tensor, self._book_price, self._instrument_price)),
                             {node: _numpy(t) for node, t in self._settlement_tensor.items()},
                             {node: _numpy(t) for node, t in self._hedge_payoff_tensor.items()},
                             None if self._live_tensor is None else _numpy(self._live_tensor))

    def __getstate__(self) -> dict:
        """Copies and pickles hold the tensors only, detached (mid-way through a differentiable roll-out the copy
        has the values, not the graph); the numpy views of them are made again on the other side (a copied view
        would no longer share memory with the copied tensor)."""
        state = self.__dict__.copy()
        if "state" in state:
            state["_host_state"] = state["_host_inputs"] = None
            state["state"] = EngineState(*(x.detach() for x in state["state"]))  # a copy carries no autograd graph
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if "state" in state:
            self._make_host_inputs()
            self._set_state(self.state)

    def _host(self) -> tuple[np.ndarray, ...]:
        if self._host_state is None:
            self._host_state = tuple(_numpy(x) for x in self.state)
        return self._host_state

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(array, dtype=self.dtype, device=self.device)

    @property
    def positions(self) -> np.ndarray:
        """Units held of each instrument after the last rebalancing, (N, k): a numpy view of ``state.positions``."""
        return self._host()[0]

    @property
    def cash(self) -> np.ndarray:
        """The cash account, currency, (N,): a numpy view of ``state.cash``."""
        return self._host()[1]

    @property
    def wealth(self) -> np.ndarray:
        """W_i, currency, (N,): a numpy view of ``state.wealth``."""
        return self._host()[2]

    @property
    def required_greeks(self) -> frozenset[str]:
        """The Greeks ``reset`` values at every node (always with ``"price"``): what the features, the hedger and
        the attribution read. A field left out is valued on its first access (one more pricer pass over the path
        set), so the declaration changes speed, never results. Set it with any collection of names from price,
        delta, gamma, vega, theta (``None``: all); ``ValueError`` naming ``greeks`` otherwise."""
        return self._required_greeks

    @required_greeks.setter
    def required_greeks(self, greeks: Iterable[str] | None) -> None:
        self._required_greeks = check_fields(greeks, "greeks", allow_empty=True) | {"price"}

    @property
    def valuation_of_paths(self) -> PathValuation:
        """What ``reset`` computed from the paths alone (knock-out masks, book and instrument Greeks at every node)."""
        return PathValuation(self.alive_path, self.book_path, self.instrument_path)

    @property
    def time(self) -> float:
        return float(self.times[self.step_index])

    @property
    def time_to_maturity(self) -> float:
        return float(self.maturity - self.times[self.step_index])

    @property
    def done(self) -> bool:
        return self.step_index >= self.n_steps

    def _value_paths(self, spot: FloatArray, variance: FloatArray, times: FloatArray | None = None,
                     fields: Iterable[str] | None = None,
                     alive_path: tuple[np.ndarray | None, ...] | None = None) -> tuple[PathGreeks, PathGreeks]:
        """Greeks of the book ((rows, N) per field) and of every hedge instrument ((rows, N, k)) at every node
        (``hedgegym.valuation.value_paths``): they depend on the path, not on the hedger's actions. ``times``
        None: the episode's grid, with the knock-out masks ``alive_path``; else the given (rows, 1) times with every
        position alive (inception). ``fields``: valued now (default ``required_greeks``), the rest on access."""
        fields = self.required_greeks if fields is None else fields
        if times is None:
            return value_paths(self.book, self.hedge_options, self.valuation, self.dt, spot, variance,
                               self.times[:, None], alive_path, fields=fields)
        return value_paths(self.book, self.hedge_options, self.valuation, self.dt, spot, variance, times,
                           fields=fields)

    def value_at_inception(self, variance: float) -> tuple[Greeks, Greeks]:
        """The book's and the hedge instruments' Greeks at t = 0, at the model's spot and ``variance`` (one node,
        no simulation): the check that the pricers accept the set-up (``ValueError`` from the pricer otherwise).
        Every field is valued, whatever ``required_greeks`` says.

        Shape: the book's fields (1, 1), the instruments' (1, 1, k)."""
        book, instruments = self._value_paths(np.full((1, 1), float(self.model.spot)),
                                              np.full((1, 1), float(variance)), np.zeros((1, 1)), Greeks._fields)
        return book.as_greeks(), instruments.as_greeks()

    def book_greeks_under(self, pricer: Pricer) -> Greeks:
        """The book's value and Greeks at the current node under another per-unit ``Pricer`` (e.g. Black–Scholes
        at a hedger's own volatility), barrier options monitored every dt and zero once knocked out on this path.

        Shape: every field (N,), currency (the holder's, like ``book_greeks``).
        """
        return self.book.greeks(self.spot, self.time, monitored(pricer, self.dt), self.alive_at(self.step_index))

    def alive_at(self, index: int | slice) -> list[np.ndarray | None] | None:
        """Knock-out masks of the book's positions at node ``index`` (or a slice of nodes): per position ``None``
        (vanilla) or bool (N,) / (rows, N), True while alive; ``None`` for a book without barriers."""
        if self.alive_path is None:
            return None
        return [None if path is None else path[index] for path in self.alive_path]

    def _value_node(self) -> None:
        """Point the current-node attributes at row ``step_index`` of the precomputed valuations."""
        i = self.step_index
        self.spot = self.spot_path[i]
        self.variance = self.variance_path[i]
        self.book_greeks = self.book_path.row(i)  # lazy views: a field is valued on its first access
        self.instrument_greeks = self.instrument_path.row(i)

    # ------------------------------------------------------------------ the step
    def step(self, targets: ArrayLike | torch.Tensor) -> StepOutcome:
        """Rebalance to ``targets`` (N, k) at t_i, then move to t_{i+1}; see the module docstring.

        ``targets``: positions in units (shares, contracts), numpy-like (the outcome is numpy) or a torch tensor
        (the outcome is tensors; gradients flow from the state and the outcome back to the targets). A 1-D (N,)
        input is accepted when k = 1.

        Raises: ``RuntimeError`` before ``reset`` or after maturity; ``ValueError`` for a wrong shape or a NaN/inf
        target.
        """
        if self.step_index < 0:
            raise RuntimeError("call reset() before step()")
        if self.done:
            raise RuntimeError("the episode has ended at maturity: call reset()")
        as_numpy = not isinstance(targets, torch.Tensor)
        if as_numpy:
            targets = np.asarray(targets, dtype=np.float64)
        if targets.ndim == 1 and self.n_instruments == 1:
            targets = targets[:, None]
        if tuple(targets.shape) != (self.n_paths, self.n_instruments):
            raise ValueError(
                f"targets must have shape (N, k) = ({self.n_paths}, {self.n_instruments}), got {tuple(targets.shape)}"
            )
        i = self.step_index
        # converted to the engine's dtype first (a float32 engine refuses targets beyond float32's range), always
        # as a copy: the state never aliases the caller's array or tensor (gradients flow through the copy)
        if as_numpy and self._host_inputs is not None:
            # numpy targets on the CPU: the same arithmetic on zero-copy numpy views of the tensors (identical
            # bits; numpy's per-call overhead is ~5x below torch's, which dominates at small N)
            spot, book_price, instrument_price, settlement, hedge_payoffs, live = self._host_inputs
            state = list(self._host())
            if state[0].dtype == targets.dtype:
                targets = targets.copy()
            else:
                with np.errstate(over="ignore"):  # beyond float32's range: inf, refused below
                    targets = targets.astype(state[0].dtype)
            finite = bool(np.all(np.isfinite(targets)))
        else:
            spot, book_price, instrument_price = self._spot_tensor, self._book_price, self._instrument_price
            settlement, hedge_payoffs, live = self._settlement_tensor, self._hedge_payoff_tensor, self._live_tensor
            state = list(self.state)
            targets = (torch.tensor(targets, dtype=self.dtype, device=self.device) if as_numpy
                       else targets.to(dtype=self.dtype, device=self.device, copy=True))
            finite = bool(torch.isfinite(targets).all())
        if not finite:
            raise ValueError(f"targets must be finite {self.dtype} numbers (no NaN, inf or overflowing positions)")
        positions, cash, wealth, outcome = self._advance(
            targets, *state, spot[i], book_price[i], book_price[i + 1], instrument_price[i], instrument_price[i + 1],
            settlement.get(i + 1), hedge_payoffs.get(i + 1),
            *(None if live is None else live[j] for j in (i, i + 1)))
        self.step_index += 1
        self._value_node()
        if isinstance(positions, np.ndarray):
            host = (positions, cash, wealth)
            self._set_state(EngineState(*(torch.from_numpy(x) for x in host)), host)
            return outcome
        self._set_state(EngineState(positions, cash, wealth))
        return StepOutcome(*(_numpy(field) for field in outcome[:-1]), outcome.terminal) if as_numpy else outcome

    def _advance(self, targets, positions, cash, wealth_before, spot, book_now, book_next, prices, next_prices,
                 settlement_next=None, hedge_payoffs_next=None, live_now=None, live_next=None):
        """The accounting of one step (module docstring), written once for numpy arrays and torch tensors alike:
        rows at t_i and t_{i+1} in, the new (positions, cash, wealth) and the ``StepOutcome`` out.

        Expiries inside the episode (None: none): ``settlement_next`` (N,) the cash the book's positions expiring at
        t_{i+1} pay; ``hedge_payoffs_next`` (N, k) what a unit of each instrument expiring at t_{i+1} pays;
        ``live_now``, ``live_next`` (k,) 1 for the instruments not yet expired at t_i, t_{i+1}, else 0 (an expired
        hedge option is held at 0 whatever the target)."""
        if live_now is not None:
            targets = targets * live_now
        trades = targets - positions
        cost = self._cost(trades, prices)
        cash = cash - _row_dot(trades, prices) - cost
        cash = cash * self.cash_growth + targets[:, 0] * spot * self.dividend_per_share
        positions = targets
        if hedge_payoffs_next is not None:  # hedge options expiring at t_{i+1}: cash-settled, no trading cost
            cash = cash + _row_dot(positions, hedge_payoffs_next)
            positions = positions * live_next
        if settlement_next is not None:  # the book's positions expiring at t_{i+1} pay out and leave the book
            cash = cash + settlement_next
        terminal = self.step_index + 1 >= self.n_steps
        if terminal and self.liquidate_at_maturity:
            liquidation = self._cost(-positions, next_prices)
            cash = cash + _row_dot(positions, next_prices) - liquidation
            positions = positions - positions  # +0.0 everywhere (finite positions)
            cost = cost + liquidation
        wealth = book_next + _row_dot(positions, next_prices) + cash
        pnl = wealth - wealth_before
        book_pnl = book_next - book_now
        if settlement_next is not None:  # the expired positions' value left the book as cash: the book's P&L
            book_pnl = book_pnl + settlement_next
        return positions, cash, wealth, StepOutcome(pnl, book_pnl, pnl - book_pnl + cost, cost, trades, terminal)

    def _cost(self, trades, prices):
        """Transaction cost per path (N,), the same kind of array as ``trades``."""
        if self.costs is None:
            return abs(trades[:, 0]) * 0.0  # +0.0 of the input's kind, dtype and device
        return self.costs.unchecked_cost(trades, prices)


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    """A numpy view of ``tensor`` (zero-copy on the CPU; a host copy from a GPU), detached from autograd."""
    return tensor.detach().cpu().numpy()


def _checked_dtype(dtype: object) -> torch.dtype:
    if dtype not in (torch.float64, torch.float32):
        raise ValueError(f"dtype must be torch.float64 or torch.float32, got {dtype!r}")
    return dtype  # type: ignore[return-value]


def checked_device(device: object) -> torch.device:
    """``device`` as a ``torch.device``: ``"cpu"`` or a CUDA device this machine has; ``ValueError`` otherwise."""
    try:
        checked = torch.device(device)  # type: ignore[arg-type]
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device must be 'cpu' or a CUDA device such as 'cuda' or 'cuda:0', got {device!r}") from error
    if checked.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or a CUDA device such as 'cuda' or 'cuda:0', got {device!r}")
    if checked.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: CUDA is not available on this machine (torch.cuda.is_available() is "
                         "False); use device='cpu'")
    if checked.type == "cuda" and checked.index is not None and checked.index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                         f"cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    return checked


def _read_only_if_broadcast(array: np.ndarray) -> np.ndarray:
    """``array`` made read-only when it repeats memory (a zero stride, e.g. a variance expanded over the paths):
    one write through it would change every node that shares the element."""
    if 0 in array.strides and array.size > 1:
        array.flags.writeable = False
    return array
