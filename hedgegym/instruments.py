r"""What is being hedged: European options (optionally down-and-out calls), positions in them, and a book.

Units and sign (the project's, see DESIGN.md):
  * ``strike`` and spot in currency per unit of underlying; ``maturity`` and ``time`` in years since inception;
  * one *contract* is ``multiplier`` units of underlying (100 for listed equity options); a ``Position``'s
    ``quantity`` counts contracts, positive long and negative short;
  * every value and Greek of a ``Book`` is the *holder's*: a short call has negative value and negative delta.

Formulas, with ω = +1 for a call and −1 for a put, m the multiplier and q_j the quantity of position j::

    payoff of one contract        m · max(ω (S − K), 0)
    time to maturity              τ(t) = max(T − t, 0)
    book payoff                   Σ_j q_j · m_j · max(ω_j (S − K_j), 0)
    book Greeks                   Σ_j q_j · m_j · G(S, K_j, τ_j(t), ω_j)     (G = per-unit Greeks of a pricer)

Pricing is delegated to a ``Pricer``: any callable ``(spot, strike, time_to_maturity, call) -> Greeks`` returning
the Greeks of ONE unit of underlying. A pricer that also takes a ``fields`` keyword (``hedgegym.pricing.fields``)
is asked for the Greeks a caller wants only (``greeks(..., fields=...)``); one that does not computes all five.
``black_scholes_pricer`` builds the Black–Scholes one; models with per-path
state (Heston's variance v_t, a per-path implied vol) bind that state before the call, e.g.
``functools.partial(heston.greeks, variance=v_t, ...)`` or ``black_scholes_pricer(volatility=sigma_per_path)``.

Barrier options. An option with a ``barrier`` B is a down-and-out call with zero rebate: it dies the first time
the spot at a monitoring date is ≤ B. Its pricer is called with the keyword ``barrier=B`` (and, from the engine,
``monitoring_interval=Δt``); vanilla options never pass these keywords, so a pricer that only values vanillas
need not accept them. Knock-out depends on the whole path, not on one spot: ``EuropeanOption.payoff`` and
``greeks`` are those of the option *given that it is still alive*; ``EuropeanOption.alive`` reads a path, and
``Book.greeks(..., alive=...)`` zeroes the knocked-out positions (the engine does both at every node).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hedgegym import _validation as check
from hedgegym.pricing import barrier as barrier_pricing
from hedgegym.pricing import black_scholes
from hedgegym.pricing.fields import ALL, accepts_fields, check_fields, keep
from hedgegym.pricing.greeks import FloatArray, Greeks
from hedgegym.pricing.namespace import namespace

__all__ = [
    "BlackScholesPricer",
    "Book",
    "EuropeanOption",
    "MonitoredPricer",
    "Position",
    "Pricer",
    "black_scholes_pricer",
    "monitored",
]


def _scalar(name: str, rule: Callable[[str, ArrayLike], FloatArray], value: object) -> float:
    """A single real number obeying ``rule`` (bools refused: ``True`` is not a strike)."""
    if isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    array = rule(name, value)  # type: ignore[arg-type]
    if array.ndim != 0:
        raise ValueError(f"{name} must be a single number, got an array of shape {array.shape}")
    return float(array)


def _scale(greeks: Greeks, factor: float) -> Greeks:
    """``factor`` × every field (fields not computed, ``None``, stay ``None``); numpy float64, or tensors."""
    xp = namespace(*greeks)
    return Greeks(*(None if field is None else factor * xp.as_float(field) for field in greeks))


def _add(left: Greeks, right: Greeks) -> Greeks:
    return Greeks(*(None if a is None or b is None else a + b for a, b in zip(left, right, strict=True)))


def _priced(pricer: Callable[..., Greeks], fields: frozenset[str] | None, *args: object, **barrier_terms: object
            ) -> Greeks:
    """``pricer(*args, **barrier_terms)`` asking for ``fields`` only (``None``: all): passed on as ``fields=`` to a
    pricer that takes that keyword; a pricer that does not computes all, and the fields not asked become ``None``."""
    if fields is None or fields == ALL:
        return pricer(*args, **barrier_terms)
    if accepts_fields(pricer):
        return keep(pricer(*args, **barrier_terms, fields=fields), fields)
    return keep(pricer(*args, **barrier_terms), fields)


@runtime_checkable
class Pricer(Protocol):
    """Greeks of ONE unit of underlying of a European option, vectorised.

    Args:
        spot: spot price, currency per unit of underlying. Shape (N,) (one value per path) or broadcastable.
        strike: strike, currency per unit of underlying (a scalar in practice).
        time_to_maturity: τ in years, ≥ 0 (a scalar or broadcastable to ``spot``); at τ = 0 the pricer returns the
            intrinsic value and its limit Greeks.
        call: True for a call, False for a put.

    Keyword arguments, passed only for a barrier option (see the module docstring): ``barrier`` B (a
    down-and-out call, dead where spot ≤ B) and ``monitoring_interval`` Δt in years (``None``: continuous).

    Returns:
        ``Greeks`` (price, delta, gamma, vega, theta) in the units documented on ``Greeks``, per unit of underlying.

    Shape: every field has the broadcast shape of the arguments, (N,) for spot (N,).
    """

    def __call__(
        self, spot: ArrayLike, strike: ArrayLike, time_to_maturity: ArrayLike, call: bool, **barrier_terms: float | None
    ) -> Greeks: ...


def _value_key(value: object) -> object:
    """A hashable stand-in for a float or an array parameter: equal keys ⇔ equal values (arrays: shape and entries)."""
    if isinstance(value, np.ndarray):
        return (value.shape, tuple(value.ravel().tolist()))
    return value


@dataclass(frozen=True, eq=False)
class BlackScholesPricer:
    """Black–Scholes–Merton ``Pricer`` with fixed volatility, rate and dividend (built by ``black_scholes_pricer``).

    ``volatility`` may be a scalar or an array broadcasting against ``spot`` (e.g. one σ per path). Barrier options
    (``barrier`` given) are valued by the closed form of ``hedgegym.pricing.barrier``. A value object: two pricers
    are equal when their parameters are (arrays compared entry by entry), so a copied or unpickled pricer equals
    its original.
    """

    volatility: float | FloatArray
    rate: float | FloatArray = 0.0
    dividend: float | FloatArray = 0.0

    def _key(self) -> tuple[object, ...]:
        return (_value_key(self.volatility), _value_key(self.rate), _value_key(self.dividend))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BlackScholesPricer):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __call__(
        self,
        spot: ArrayLike,
        strike: ArrayLike,
        time_to_maturity: ArrayLike,
        call: bool,
        barrier: float | None = None,
        monitoring_interval: float | None = None,
        fields: frozenset[str] | None = None,
    ) -> Greeks:
        """Per-unit Greeks from ``black_scholes.greeks``, or ``barrier.greeks`` for a down-and-out call (barrier B,
        BGK-corrected when ``monitoring_interval`` is given); ``fields``: the Greeks wanted (``None``: all; the
        others are ``None``). Shape: broadcast of the inputs."""
        if barrier is None:
            return black_scholes.greeks(spot, strike, time_to_maturity, self.volatility, self.rate, self.dividend, call,
                                        fields=fields)
        return keep(barrier_pricing.greeks(spot, strike, time_to_maturity, self.volatility, self.rate, self.dividend,
                                           call, barrier=barrier, monitoring_interval=monitoring_interval),
                    check_fields(fields))


@dataclass(frozen=True)
class MonitoredPricer:
    """``value`` as a ``Pricer`` whose barrier options are monitored every ``monitoring_interval`` years (built by
    ``monitored``). A module-level value object, not a closure, so that it copies and pickles (when ``value`` does)."""

    value: Callable[..., Greeks]
    monitoring_interval: float | None

    def __call__(self, spot: ArrayLike, strike: ArrayLike, time_to_maturity: ArrayLike, call: bool,
                 barrier: float | None = None, fields: frozenset[str] | None = None) -> Greeks:
        """``value(spot, strike, τ, call)``; with ``barrier`` B also ``barrier=B, monitoring_interval=Δt``;
        ``fields`` (the Greeks wanted, ``None``: all) passed on when ``value`` takes it, else the others dropped.
        Shape: that of ``value``'s result (the broadcast of the inputs)."""
        if barrier is None:
            return _priced(self.value, fields, spot, strike, time_to_maturity, call)
        return _priced(self.value, fields, spot, strike, time_to_maturity, call, barrier=barrier,
                       monitoring_interval=self.monitoring_interval)


def monitored(value: Callable[..., Greeks], monitoring_interval: float | None) -> MonitoredPricer:
    """``value`` as a ``Pricer`` whose barrier options are monitored every ``monitoring_interval`` years: a call
    that carries ``barrier=B`` is passed on with ``monitoring_interval`` too (``None``: continuous monitoring);
    vanilla calls go through unchanged, so ``value`` needs the keywords only if the book has barriers."""
    return MonitoredPricer(value, monitoring_interval)


def black_scholes_pricer(
    volatility: ArrayLike, rate: ArrayLike = 0.0, dividend: ArrayLike = 0.0
) -> BlackScholesPricer:
    """A ``Pricer`` wrapping ``black_scholes.greeks`` with the given model parameters.

    Args:
        volatility: σ per √year, ≥ 0; a scalar or an array broadcasting against spot (e.g. shape (N,)).
        rate: continuously compounded risk-free rate per year (any finite value).
        dividend: continuously compounded dividend yield per year (any finite value).

    Raises:
        ValueError: naming ``volatility``, ``rate`` or ``dividend`` when out of range or not finite.
    """

    def normalise(array: FloatArray) -> float | FloatArray:
        return float(array) if array.ndim == 0 else array

    return BlackScholesPricer(
        volatility=normalise(check.non_negative("volatility", volatility)),
        rate=normalise(check.finite("rate", rate)),
        dividend=normalise(check.finite("dividend", dividend)),
    )


@dataclass(frozen=True)
class EuropeanOption:
    """A European call or put on one underlying, quoted per contract of ``multiplier`` units.

    Attributes:
        strike: K in currency per unit of underlying, > 0.
        maturity: T in years since inception, > 0.
        call: True for a call, False for a put (a real ``bool``; strings like ``'c'`` are refused).
        multiplier: units of underlying per contract, > 0 (100 for listed equity options).
        barrier: ``None`` (vanilla) or B > 0: a down-and-out call with zero rebate, knocked out the first time the
            spot at a monitoring date is ≤ B. Calls only (a put with a barrier is refused); B ≥ K is a legal
            contract (an in-the-money call with a knock-out). B < S₀ is needed at inception: checked where the
            spot is known (``HedgingEngine``, the config).
    """

    strike: float
    maturity: float
    call: bool = True
    multiplier: float = 100.0
    barrier: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "strike", _scalar("strike", check.positive, self.strike))
        object.__setattr__(self, "maturity", _scalar("maturity", check.positive, self.maturity))
        object.__setattr__(self, "multiplier", _scalar("multiplier", check.positive, self.multiplier))
        if not isinstance(self.call, bool | np.bool_):
            raise ValueError(f"call must be a bool (True for a call, False for a put), got {self.call!r}")
        object.__setattr__(self, "call", bool(self.call))
        if self.barrier is not None:
            object.__setattr__(self, "barrier", _scalar("barrier", check.positive, self.barrier))
            if not self.call:
                raise ValueError("barrier: only down-and-out calls are supported, got a put with a barrier "
                                 "(set call=True or barrier=None)")

    @property
    def omega(self) -> float:
        """ω = +1.0 for a call, −1.0 for a put."""
        return 1.0 if self.call else -1.0

    def payoff(self, spot: ArrayLike) -> FloatArray:
        """Payoff of ONE contract at expiry, in currency: ``multiplier · max(ω (S − K), 0)``.

        For a barrier option this is the payoff *given that it is alive*: knock-out depends on the path, so multiply
        by ``alive(path)`` at expiry (the engine does).

        Args:
            spot: spot at expiry, currency per unit, ≥ 0.

        Shape: same as ``spot``, e.g. (N,) → (N,).
        """
        spot = check.non_negative("spot", spot)
        return self.multiplier * np.maximum(self.omega * (spot - self.strike), 0.0)

    def alive(self, spot_path: ArrayLike, axis: int = -1) -> NDArray[np.bool_]:
        """Whether the option is still alive at each monitoring date of a path: running minimum of the spot > B.

        Args:
            spot_path: spot at the monitoring dates, in time order along ``axis`` (e.g. (n_steps + 1, N) with
                ``axis=0``, or (N, n_steps + 1) with ``axis=-1``), currency per unit.
            axis: the time axis.

        Returns: a bool array of the shape of ``spot_path``; all True for a vanilla option. An option is dead
        from the first date where the spot is ≤ B on, whatever the spot does afterwards.
        """
        spot_path = np.asarray(spot_path, dtype=np.float64)
        if self.barrier is None:
            return np.ones(spot_path.shape, dtype=bool)
        return np.minimum.accumulate(spot_path, axis=axis) > self.barrier

    def time_to_maturity(self, time: ArrayLike) -> FloatArray:
        """τ = max(T − t, 0) in years, with ``time`` t in years since inception (≥ 0).

        Shape: same as ``time``.
        """
        time = check.non_negative("time", time)
        return np.maximum(self.maturity - time, 0.0)

    def greeks(self, spot: ArrayLike, time: ArrayLike, pricer: Pricer, fields: Iterable[str] | None = None
               ) -> Greeks:
        """Price and Greeks of ONE contract (= ``multiplier`` × the pricer's per-unit Greeks) at calendar ``time``.

        Args:
            spot: spot, currency per unit, shape (N,).
            time: years since inception, a scalar or broadcastable to ``spot``; past maturity τ is clipped to 0.
            pricer: a ``Pricer`` (per-unit Greeks); a barrier option passes it ``barrier=B``.
            fields: the Greeks wanted (``None``: all five); the others are ``None`` in the result. Passed on to a
                pricer that takes a ``fields`` keyword; any other pricer computes all and the rest is dropped.

        Returns: the Greeks of the option given that it is alive (a barrier option: zero where spot ≤ B).

        Shape: every field (N,) for spot (N,) (the broadcast shape of ``spot`` and ``time``).
        Raises: ``ValueError`` naming ``fields`` for an unknown Greek name.
        """
        chosen = None if fields is None else check_fields(fields)
        return _scale(self._per_unit(spot, time, pricer, chosen), self.multiplier)

    def _per_unit(self, spot: ArrayLike, time: ArrayLike, pricer: Pricer, fields: frozenset[str] | None = None
                  ) -> Greeks:
        tau = self.time_to_maturity(time)
        if self.barrier is None:
            return _priced(pricer, fields, spot, self.strike, tau, self.call)
        return _priced(pricer, fields, spot, self.strike, tau, self.call, barrier=self.barrier)


@dataclass(frozen=True)
class Position:
    """``quantity`` contracts of ``option``: positive long, negative short (fractional amounts allowed)."""

    option: EuropeanOption
    quantity: float

    def __post_init__(self) -> None:
        if not isinstance(self.option, EuropeanOption):
            raise ValueError(f"option must be a EuropeanOption, got {type(self.option).__name__}")
        object.__setattr__(self, "quantity", _scalar("quantity", check.finite, self.quantity))


@dataclass(frozen=True)
class Book:
    """A non-empty collection of option positions: the liability the hedger holds and hedges.

    Values and Greeks are the holder's, in currency (a short call: negative value, negative delta).
    A list of positions is accepted and stored as a tuple.
    """

    positions: tuple[Position, ...]

    def __post_init__(self) -> None:
        positions = self.positions
        if not isinstance(positions, Sequence) or isinstance(positions, str):
            raise ValueError(f"positions must be a sequence of Position, got {type(positions).__name__}")
        positions = tuple(positions)
        if not positions:
            raise ValueError("positions must hold at least one Position, got an empty sequence")
        for index, position in enumerate(positions):
            if not isinstance(position, Position):
                raise ValueError(f"positions[{index}] must be a Position, got {type(position).__name__}")
        object.__setattr__(self, "positions", positions)

    @classmethod
    def single(cls, option: EuropeanOption, quantity: float) -> Book:
        """A book of one position: ``quantity`` contracts of ``option`` (negative = short)."""
        return cls((Position(option, quantity),))

    @classmethod
    def short_call(cls, strike: float, maturity: float, contracts: float = 1, multiplier: float = 100.0) -> Book:
        """Short ``contracts`` (> 0) calls: the classic liability of an option writer."""
        contracts = _scalar("contracts", check.positive, contracts)
        return cls.single(EuropeanOption(strike, maturity, call=True, multiplier=multiplier), -contracts)

    @classmethod
    def short_straddle(
        cls, strike: float, maturity: float, contracts: float = 1, multiplier: float = 100.0
    ) -> Book:
        """Short ``contracts`` (> 0) calls and ``contracts`` puts at the same strike and maturity."""
        contracts = _scalar("contracts", check.positive, contracts)
        return cls(
            (
                Position(EuropeanOption(strike, maturity, call=True, multiplier=multiplier), -contracts),
                Position(EuropeanOption(strike, maturity, call=False, multiplier=multiplier), -contracts),
            )
        )

    @property
    def options(self) -> tuple[EuropeanOption, ...]:
        """The option of each position, in order."""
        return tuple(position.option for position in self.positions)

    @property
    def notional(self) -> float:
        """Σ |quantity| · multiplier: the book's size in units of the underlying (the scale of its delta)."""
        return float(sum(abs(p.quantity) * p.option.multiplier for p in self.positions))

    @property
    def contracts(self) -> float:
        """Σ |quantity|: the book's size in contracts (the scale of a listed-option hedge)."""
        return float(sum(abs(p.quantity) for p in self.positions))

    @property
    def maturity(self) -> float:
        """The latest maturity in the book, in years since inception (the episode horizon)."""
        return max(position.option.maturity for position in self.positions)

    def payoff(self, spot: ArrayLike) -> FloatArray:
        """The holder's terminal payoff in currency: Σ_j q_j · payoff_j(S).

        Every position is settled at the SAME ``spot``: exact for a single-maturity book (pass the spot at
        maturity). For a book whose positions expire at different dates, settling each at the spot of its own
        maturity is the engine's job (use each ``Position.option.payoff`` at that date).
        Barrier positions are counted as alive (knock-out needs the path: see ``EuropeanOption.alive``).

        Shape: same as ``spot``, e.g. (N,) → (N,).
        """
        spot = check.non_negative("spot", spot)
        total = np.zeros_like(spot)
        for position in self.positions:
            total = total + position.quantity * position.option.payoff(spot)
        return total

    @property
    def has_barrier(self) -> bool:
        """True when some position is a barrier option (its value depends on the path, not only on the spot)."""
        return any(option.barrier is not None for option in self.options)

    def greeks(
        self, spot: ArrayLike, time: ArrayLike, pricer: Pricer, alive: Sequence[ArrayLike | None] | None = None,
        fields: Iterable[str] | None = None,
    ) -> Greeks:
        """Aggregated value and Greeks of the book in currency: Σ_j q_j · m_j · G(S, K_j, τ_j(t), ω_j).

        Args:
            spot: spot, currency per unit, shape (N,) (one value per path).
            time: years since inception, a scalar (or broadcastable to ``spot``); positions past their maturity
                are valued at τ = 0 (intrinsic value).
            pricer: a ``Pricer`` giving per-unit Greeks (bind per-path model state before passing it).
            alive: ``None`` (every position alive) or one entry per position: ``None`` or a bool array
                broadcastable to ``spot`` (e.g. ``option.alive(path)`` at this date); a False entry contributes
                zero value and zero Greeks (a knocked-out barrier option).
            fields: the Greeks wanted (``None``: all five); the others are ``None`` in the result (see
                ``EuropeanOption.greeks``).

        Returns:
            ``Greeks`` whose fields are the holder's book value (currency), delta (units of underlying, i.e. the
            number of shares that offset it is −delta), gamma (per unit of spot), vega (currency per 1.00 of the
            model's volatility parameter) and theta (currency per year).

        Shape: every field (N,) for spot (N,). numpy or torch (``hedgegym.pricing.namespace``): with a torch
        tensor ``spot`` the pricer gets it as is, and the sum runs in torch (a pricer returning tensors, e.g.
        Black–Scholes, gives tensors of its dtype and device); with arrays, numpy float64 as always.
        Raises: ``ValueError`` naming ``spot``, ``alive`` or ``fields``.
        """
        chosen = None if fields is None else check_fields(fields)
        xp = namespace(spot, time)
        spot = xp.positive("spot", spot)
        shape = np.broadcast_shapes(spot.shape, np.shape(time))
        if alive is not None and len(alive) != len(self.positions):
            raise ValueError(f"alive must have one entry per position ({len(self.positions)}), got {len(alive)}")
        total: Greeks | None = None
        for index, position in enumerate(self.positions):
            option = position.option
            scaled = _scale(option._per_unit(spot, time, pricer, chosen), position.quantity * option.multiplier)
            if alive is not None and alive[index] is not None:
                scaled = Greeks(*(None if field is None else xp.where(alive[index], field, 0.0) for field in scaled))
            total = scaled if total is None else _add(total, scaled)
        assert total is not None  # a Book is never empty
        return Greeks(*(field if field is None or np.shape(field) == shape else xp.broadcast_copy(field, shape)
                        for field in total))
