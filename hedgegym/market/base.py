r"""The market-model interface: ``MarketModel.simulate(...) -> MarketPaths``.

Every model is a frozen dataclass of keyword fields. Four fields are common to all of them:

  * ``spot``: the initial spot price S₀ (currency, > 0);
  * ``mu``: the real-world expected growth rate of the spot price per year, E[S_t] = S₀ e^{μt} under
    ``measure="real"``;
  * ``rate``: the risk-free rate r, continuously compounded per year;
  * ``dividend``: the continuous dividend yield q per year.

``simulate(n_paths, n_steps, dt, rng, measure)`` validates its arguments, picks the drift of the price
(μ for ``measure="real"``, r − q for ``measure="pricing"``, under which e^{−rT} E[payoff] is the arbitrage
price) and hands over to the model's ``_simulate``. Each model makes E[S_{t+dt} | S_t] = S_t e^{drift·dt}
exactly, or up to a stated discretisation error.

Randomness comes only from the ``np.random.Generator`` passed in: the same seed gives identical paths.
``simulate_tensors(n_paths, n_steps, dt, generator, dtype, device, measure)`` simulates in torch from a
``torch.Generator`` instead, time-major (n_steps + 1, n_paths), for the models that implement ``_simulate_tensors``
(GBM); the others raise ``ValueError``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from hedgegym import _validation as check

__all__ = ["MEASURES", "PURPOSES", "MarketModel", "MarketPaths", "ProxyVolatilityMarket"]

FloatArray = NDArray[np.float64]

SPOT_FLOOR, SPOT_CEILING = float(np.finfo(np.float64).tiny), float(np.finfo(np.float64).max)
"""Simulated spots are kept in the positive normal doubles: ln S below −708 would underflow to 0.0, a price no
model has and no pricer accepts (a long horizon with a large volatility or jump size gets there)."""

MEASURES = ("real", "pricing")
"""``"real"``: the price grows at ``mu``; ``"pricing"``: it grows at ``rate - dividend`` (risk-neutral)."""
PURPOSES = ("train", "validation", "test")
"""What a path set is for: the training envs' episodes, the validation stream (tuning, best-policy selection) and
the test paths (final tables). A simulated model draws every set fresh from its own random stream; a data-driven
one (``HistoricalMarket``) serves each from its own chronological period (``MarketModel.for_purpose``)."""


@dataclass(frozen=True, eq=False)
class MarketPaths:
    r"""Simulated market paths on a uniform time grid t_i = i·dt, i = 0, …, n_steps.

    Attributes:
        time: the grid in years, ``time[0] = 0``, ``time[i] = i * dt``.
        spot: the spot price at every node; ``spot[:, 0]`` is the initial spot.
        variance: the model's instantaneous variance (per year) at every node: GBM σ², Heston v_t,
            Merton the diffusion σ², SABR(β = 1) α_t², regime switching σ² of the current regime.
        dt: the step in years.
        extras: model-specific arrays, e.g. ``"jump_count"`` (Merton: jumps during each step) or
            ``"regime"`` (regime switching: the regime index at each node).

    Shape:
        ``time``: (n_steps + 1,); ``spot``, ``variance``: (n_paths, n_steps + 1), float64;
        ``extras[name]``: (n_paths, n_steps) for per-step quantities, (n_paths, n_steps + 1) for per-node ones.
    """

    time: FloatArray
    spot: FloatArray
    variance: FloatArray
    dt: float
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.spot.ndim != 2 or self.spot.shape != self.variance.shape:
            raise ValueError(
                f"spot and variance must both have shape (n_paths, n_steps + 1), got {self.spot.shape} "
                f"and {self.variance.shape}"
            )
        if self.time.shape != (self.spot.shape[1],):
            raise ValueError(f"time must have shape ({self.spot.shape[1]},), got {self.time.shape}")

    @property
    def volatility(self) -> FloatArray:
        """√variance, per √year. Shape: (n_paths, n_steps + 1)."""
        return np.sqrt(self.variance)

    @property
    def n_paths(self) -> int:
        return int(self.spot.shape[0])

    @property
    def n_steps(self) -> int:
        return int(self.spot.shape[1]) - 1

    @property
    def maturity(self) -> float:
        """The last grid time, n_steps · dt, in years."""
        return float(self.time[-1])


def scalar(name: str, value: object, rule: Callable[..., FloatArray], *bounds: float) -> float:
    """Check ``value`` with a ``hedgegym._validation`` rule and return it as a Python float (not an array)."""
    array = rule(name, value, *bounds)
    if array.ndim != 0:
        raise ValueError(f"{name} must be a single real number, got an array of shape {array.shape}")
    return float(array)


@dataclass(frozen=True, kw_only=True)
class MarketModel(abc.ABC):
    """Base of every market model: common fields, their validation and the template ``simulate``.

    Subclasses are frozen keyword-only dataclasses. They validate their own fields in ``_validate`` (called
    by ``__post_init__`` after the common fields are checked) and implement ``_simulate``.
    """

    spot: float = 100.0
    mu: float = 0.0
    rate: float = 0.0
    dividend: float = 0.0

    def __post_init__(self) -> None:
        self._set("spot", check.positive)
        self._set("mu", check.finite)
        self._set("rate", check.finite)
        self._set("dividend", check.finite)
        self._validate()

    def _set(self, name: str, rule: Callable[..., FloatArray], *bounds: float) -> None:
        """Validate field ``name`` and store it back as a float (the dataclass is frozen)."""
        object.__setattr__(self, name, scalar(name, getattr(self, name), rule, *bounds))

    def _validate(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Validate the model's own fields (override in subclasses)."""

    def for_purpose(self, purpose: str) -> MarketModel:
        """The model that serves ``purpose`` (one of ``PURPOSES``): the model itself for a simulated market, whose
        path sets differ by their random streams; a data-driven market overrides it to serve its own period."""
        if purpose not in PURPOSES:
            raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}, got {purpose!r}")
        return self

    def drift(self, measure: str = "real") -> float:
        """The growth rate of the price per year: ``mu`` under ``"real"``, ``rate - dividend`` under ``"pricing"``."""
        if measure not in MEASURES:
            raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
        return self.mu if measure == "real" else self.rate - self.dividend

    def simulate(
        self, n_paths: int, n_steps: int, dt: float, rng: np.random.Generator, measure: str = "real"
    ) -> MarketPaths:
        """Simulate ``n_paths`` paths of ``n_steps`` steps of ``dt`` years each.

        Args:
            n_paths: number of independent paths (integer >= 1).
            n_steps: number of time steps (integer >= 1).
            dt: step length in years (> 0).
            rng: the only source of randomness; the same seed gives identical paths.
            measure: ``"real"`` (price drift ``mu``) or ``"pricing"`` (price drift ``rate - dividend``).

        Returns:
            ``MarketPaths`` with ``time`` of shape (n_steps + 1,) and ``spot``, ``variance`` of shape
            (n_paths, n_steps + 1); ``spot`` is clipped into [``SPOT_FLOOR``, ``SPOT_CEILING``].
        """
        n_paths = check.positive_int("n_paths", n_paths)
        n_steps = check.positive_int("n_steps", n_steps)
        dt = scalar("dt", dt, check.positive)
        rng = check.generator("rng", rng)
        drift = self.drift(measure)
        spot, variance, extras = self._simulate(n_paths, n_steps, dt, rng, drift)
        np.clip(spot, SPOT_FLOOR, SPOT_CEILING, out=spot)  # S > 0 in every model: an underflow to 0.0 is SPOT_FLOOR
        time = np.arange(n_steps + 1, dtype=np.float64) * dt
        return MarketPaths(time=time, spot=spot, variance=variance, dt=dt, extras=extras)

    @abc.abstractmethod
    def _simulate(
        self, n_paths: int, n_steps: int, dt: float, rng: np.random.Generator, drift: float
    ) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
        """Return ``(spot, variance, extras)`` with validated arguments and the price drift already chosen.

        Shape: ``spot`` and ``variance`` (n_paths, n_steps + 1), float64.
        """

    def simulate_tensors(
        self, n_paths: int, n_steps: int, dt: float, generator: torch.Generator, dtype: torch.dtype = torch.float32,
        device: str | torch.device | None = None, measure: str = "real",
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Simulate in torch: ``spot`` and ``variance`` tensors, TIME-MAJOR (n_steps + 1, n_paths), the layout
        ``HedgingEngine.reset`` takes. The scheme is the model's ``simulate`` scheme; the numbers differ from
        ``simulate``'s (another random stream). Models without a torch simulator raise ``ValueError`` (GBM has one).

        Args:
            n_paths, n_steps, dt, measure: as for ``simulate``.
            generator: a ``torch.Generator``, the only source of randomness (same seed: same tensors); it fixes
                the device.
            dtype: ``torch.float32`` (default) or ``torch.float64``.
            device: ``None`` (the generator's) or the generator's device ("cpu", "cuda", "cuda:0"); another device
                raises ``ValueError``.

        Returns: ``(spot, variance)``, each (n_steps + 1, n_paths) of ``dtype`` on the generator's device;
        ``spot[0]`` is S₀ and every spot lies in [the dtype's smallest normal number, its largest finite one].
        Raises: ``ValueError`` naming the argument (``n_paths``, ``n_steps``, ``dt``, ``generator``, ``dtype``,
        ``device``, ``measure``), or the model when it has no torch simulator.
        """
        n_paths = check.positive_int("n_paths", n_paths)
        n_steps = check.positive_int("n_steps", n_steps)
        dt = scalar("dt", dt, check.positive)
        if not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator (e.g. torch.Generator().manual_seed(seed)), got "
                             f"{type(generator).__name__}")
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
        if device is not None:
            try:
                wanted = torch.device(device)
            except (RuntimeError, TypeError) as error:
                raise ValueError(f"device must be None or a device such as 'cpu' or 'cuda:0', got {device!r}"
                                 ) from error
            here = generator.device
            if wanted.type != here.type or wanted.index not in (None, here.index if here.index is not None else 0):
                raise ValueError(f"device must be the generator's device {here} (torch draws on the generator's "
                                 f"device), got {device!r}")
        drift = self.drift(measure)
        spot, variance = self._simulate_tensors(n_paths, n_steps, dt, generator, dtype, drift)
        info = torch.finfo(dtype)
        spot.clamp_(info.tiny, info.max)  # S > 0: an underflow to 0.0 becomes the smallest normal number
        return spot, variance

    def _simulate_tensors(
        self, n_paths: int, n_steps: int, dt: float, generator: torch.Generator, dtype: torch.dtype, drift: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return time-major ``(spot, variance)`` tensors (n_steps + 1, n_paths) on the generator's device; the
        default: no torch simulator."""
        raise ValueError(f"model: the {type(self).__name__} model simulates in numpy only (simulate_tensors is "
                         "implemented for GeometricBrownianMotion); use simulate(...) and pass the arrays")


@dataclass(frozen=True, kw_only=True)
class ProxyVolatilityMarket(MarketModel):
    """A market whose options have no closed form under the model and are marked with Black–Scholes at the
    volatility √variance of each node (a stated proxy; ``hedgegym.valuation.ProxyValuation``): regime switching
    (the current regime's σ) and the data-driven markets (an implied-volatility proxy). Vega refers to that σ."""


def paths_major(array: FloatArray) -> FloatArray:
    """Turn a step-major (n_steps + 1, n_paths) work array into a C-contiguous (n_paths, n_steps + 1) one."""
    return np.ascontiguousarray(array.T)


def exponentiate_log_spot(spot: float, log_increments: FloatArray) -> FloatArray:
    """S_i = S₀ exp(Σ_{j<i} increments_j), with S_0 = S₀ exactly.

    Shape: ``log_increments`` (n_paths, n_steps) → (n_paths, n_steps + 1).
    """
    n_paths, n_steps = log_increments.shape
    log_spot = np.zeros((n_paths, n_steps + 1))
    np.cumsum(log_increments, axis=1, out=log_spot[:, 1:])
    return spot * np.exp(log_spot)
