r"""The env's action mappings: actions a ∈ [−1, 1]^a → target positions h (N, k), k = 1 + m instruments (the stock,
then the m hedge options in config order). One function serves the envs (numpy) and deep hedging (torch tensors,
differentiable through every clip and clamp), so an agent and the deep hedger trained on the same ``env.action``
act in the same space.

* ``absolute``:        h_j = a_j · s_j                                                      (a = k actions)
* ``delta_relative``:  h_0 = −Δ_book + a_0 · s_0 (a = 0 is the model delta hedge), options as absolute   (k)
* ``delta_band``:      a no-transaction band around the model delta hedge (Imaki, Imajo, Ito, Minami & Nakagawa
  2021, "No-Transaction Band Network"): the first two actions set its widths below and above −Δ_book,
  w_lo = (a_0 + 1)/2 · s_0 and w_hi = (a_1 + 1)/2 · s_0, and the stock position moves only as far as the band:
  h_0 = clip(h_0^prev, −Δ_book − w_lo, −Δ_book + w_hi) (a = (−1, −1) is the delta hedge, wider bands trade less);
  options as absolute from a_2 on. The centre hedges the book's delta only: the delta of hedge options held is
  not netted.                                                                                         (k + 1)
* ``delta_vega_band``: the same band on every instrument, around the model delta–vega hedge (one hedge option,
  m = 1). The option first, in a band around the vega-neutral position r_1 = −vega_book / vega_1 (per contract;
  clipped to ±``hedging.position_limit`` × n / the option's multiplier — the Greek-neutral hedgers' cap, though
  their solver drops vega where it binds instead of clipping — and 0 where vega_1 = 0):
  h_1 = clip(h_1^prev, r_1 − (a_2 + 1)/2 · s_1, r_1 + (a_3 + 1)/2 · s_1); then the stock, in a band around the
  delta hedge of the book *and the options just traded*, r_0 = −(Δ_book + h_1 Δ_1):
  h_0 = clip(h_0^prev, r_0 − (a_0 + 1)/2 · s_0, r_0 + (a_1 + 1)/2 · s_0). a = −1 everywhere is the
  daily-rebalanced delta–vega hedge (Hull, *Options, Futures, and Other Derivatives*, "Greek letters": vega is
  neutralised with a traded option, then delta with the stock); wider bands trade less, which pays under option
  costs that are ten times the stock's.                                                                  (2k)

Doing nothing is easy to represent with a band, which is what the optimal policy under proportional costs does
inside its band (Davis & Norman 1990; Whalley & Wilmott 1997).

Scales: s_0 = ``env.position_limit`` × n (the book's notional in shares); s_j = ``env.option_limit`` × c (c the
book's number of contracts; ``option_limit`` defaults to ``position_limit``) for every hedge option j ≥ 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch

__all__ = ["ACTION_GREEKS", "ActionGreeks", "ActionMapping", "action_size"]

#: the Greeks (book and instruments) each mapping reads
ACTION_GREEKS: dict[str, frozenset[str]] = {
    "absolute": frozenset(),
    "delta_relative": frozenset({"delta"}),
    "delta_band": frozenset({"delta"}),
    "delta_vega_band": frozenset({"delta", "vega"}),
}


def action_size(action: str, n_instruments: int) -> int:
    """Length of the action vector of mapping ``action`` with k = ``n_instruments`` instruments (the stock + m
    hedge options): k; k + 1 for ``delta_band``; 2k for ``delta_vega_band``."""
    return {"delta_band": n_instruments + 1, "delta_vega_band": 2 * n_instruments}.get(action, n_instruments)


class ActionGreeks(NamedTuple):
    """The Greeks a mapping reads at the current node, numpy arrays or tensors (``None`` where unread).

    book_delta: Δ_book (N,), shares; book_vega: vega_book (N,), currency per unit of the model's vega move;
    instrument_delta, instrument_vega: per unit of each instrument (N, k), column 0 the stock (Δ = 1, vega = 0).
    """

    book_delta: Any = None
    book_vega: Any = None
    instrument_delta: Any = None
    instrument_vega: Any = None

    @classmethod
    def of(cls, action: str, book: Any, instruments: Any) -> ActionGreeks:
        """The fields ``action`` reads, taken from the book's and the instruments' Greeks (objects with ``delta`` and
        ``vega`` attributes: the engine's ``book_greeks`` / ``instrument_greeks``, or rows of tensors)."""
        read = ACTION_GREEKS[action]
        if not read:
            return cls()
        if "vega" not in read:
            return cls(book.delta)
        return cls(book.delta, book.vega, instruments.delta, instruments.vega)

    def map(self, function) -> ActionGreeks:
        """The same fields with ``function`` applied to each one present (e.g. ``torch.as_tensor``)."""
        return ActionGreeks(*(None if field is None else function(field) for field in self))


@dataclass(frozen=True, eq=False)
class ActionMapping:
    """Actions → target positions by ``action`` (see the module docstring).

    Args:
        action: ``absolute``, ``delta_relative``, ``delta_band`` or ``delta_vega_band``.
        position_scale: (k,) s_j, the scale of each instrument's action (shares, then contracts).
        option_bound: the largest |reference position| of a hedge option, contracts (``delta_vega_band``).
    """

    action: str
    position_scale: np.ndarray
    option_bound: float = np.inf

    def __post_init__(self) -> None:
        if self.action not in ACTION_GREEKS:
            raise ValueError(f"env.action must be one of {', '.join(ACTION_GREEKS)}, got {self.action!r}")
        if self.action == "delta_vega_band" and len(self.position_scale) != 2:
            raise ValueError("env.action delta_vega_band needs exactly one hedge option (hedging.hedge_options), "
                             f"got {len(self.position_scale) - 1}")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ActionMapping) and self.action == other.action
                and np.array_equal(self.position_scale, other.position_scale)
                and self.option_bound == other.option_bound)

    __hash__ = None  # mutable array field: not hashable

    @property
    def n_instruments(self) -> int:
        return len(self.position_scale)

    @property
    def size(self) -> int:
        """Length of the action vector."""
        return action_size(self.action, self.n_instruments)

    @property
    def greeks(self) -> frozenset[str]:
        """The Greeks this mapping reads (the engine values them at reset)."""
        return ACTION_GREEKS[self.action]

    @property
    def is_band(self) -> bool:
        """True when the targets depend on the positions held (a band cannot reach every target)."""
        return self.action in ("delta_band", "delta_vega_band")

    def targets(self, actions, positions, greeks: ActionGreeks):
        """Target positions (N, k) for ``actions`` (N, ``size``) already in [−1, 1].

        Args:
            actions: numpy (N, a), or a torch tensor (the result is then a tensor, differentiable in ``actions``).
            positions: units held before the trade, (N, k) (read by the bands only).
            greeks: ``ActionGreeks`` with the fields ``greeks`` names (same kind as ``actions``).
        """
        torch_inputs = isinstance(actions, torch.Tensor)
        scale = (torch.as_tensor(self.position_scale, dtype=actions.dtype, device=actions.device) if torch_inputs
                 else self.position_scale)
        concatenate = torch.cat if torch_inputs else np.concatenate
        if self.action == "delta_band":
            stock = _band(positions[:, 0], -greeks.book_delta, actions[:, 0], actions[:, 1], scale[0])
            return concatenate([stock[:, None], actions[:, 2:] * scale[1:]], 1)
        if self.action == "delta_vega_band":
            option_vega = greeks.instrument_vega[:, 1]
            where = torch.where if torch_inputs else np.where
            zero = option_vega == 0
            # the inner where keeps 0/0 out of the gradient where the option has no vega
            reference = where(zero, 0.0, -greeks.book_vega / where(zero, 1.0, option_vega))
            reference = _clip(reference, -self.option_bound, self.option_bound)
            option = _band(positions[:, 1], reference, actions[:, 2], actions[:, 3], scale[1])
            centre = -(greeks.book_delta + option * greeks.instrument_delta[:, 1])
            stock = _band(positions[:, 0], centre, actions[:, 0], actions[:, 1], scale[0])
            return concatenate([stock[:, None], option[:, None]], 1)
        targets = actions * scale
        if self.action == "delta_relative":
            return concatenate([targets[:, :1] - greeks.book_delta[:, None], targets[:, 1:]], 1)
        return targets


def _clip(values, low, high):
    """clip for numpy arrays and tensors (tensor or scalar bounds)."""
    if isinstance(values, torch.Tensor):
        return torch.clamp(values, low, high)
    return np.clip(values, low, high)


def _band(held, centre, below, above, scale):
    """The position held moved only as far as the band [centre − (below + 1)/2 · scale, centre + (above + 1)/2 ·
    scale]."""
    half = 0.5 * scale
    return _clip(held, centre - (below + 1.0) * half, centre + (above + 1.0) * half)
