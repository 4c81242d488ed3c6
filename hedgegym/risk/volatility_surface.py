r"""Implied volatilities for valuing a positions book: flat, one smile for every expiry, or one smile per expiry.

Sticky strike: each option is valued at its own strike's quote, interpolated linearly in strike between the quoted
strikes and extrapolated flat beyond them (``np.interp``); a per-expiry surface must quote the option's expiry (no
interpolation in time). A parallel shift (``VolatilitySurface.shifted``) moves every quote, as the stress scenarios'
"vol + x" does. Used by ``hedgegym.risk.positions`` (``hedgegym book``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from numpy.typing import ArrayLike

from hedgegym.pricing.greeks import FloatArray
from hedgegym.risk._checks import as_date, positive, real

__all__ = ["Smile", "VolatilitySurface"]

Smile = tuple[tuple[float, float], ...]


def _smile(where: str, quotes: object) -> Smile:
    """``{strike: vol}`` → ((strike, vol), …) sorted by strike; strikes > 0, vols > 0, at least one quote."""
    if isinstance(quotes, Mapping):
        pairs = list(quotes.items())
    elif isinstance(quotes, Sequence) and not isinstance(quotes, str):
        pairs = list(quotes)
    else:
        raise ValueError(f"{where} must be a mapping {{strike: vol}}, got {quotes!r}")
    if not pairs:
        raise ValueError(f"{where} must quote at least one strike")
    smile = []
    for pair in pairs:
        if not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValueError(f"{where}: a quote must be a (strike, vol) pair, got {pair!r}")
        strike = positive(where, "strike", pair[0])
        smile.append((strike, positive(f"{where}[{strike:g}]", "vol", pair[1])))
    smile.sort()
    strikes = [strike for strike, _ in smile]
    repeated = sorted({strike for strike in strikes if strikes.count(strike) > 1})
    if repeated:
        raise ValueError(f"{where}: strike {repeated[0]:g} is quoted more than once")
    return tuple(smile)


@dataclass(frozen=True)
class VolatilitySurface:
    """Implied volatilities for Black–Scholes–Merton, sticky strike: exactly one of

    * ``flat``: one volatility for every option;
    * ``smile``: ((strike, vol), …), one smile applied to every expiry;
    * ``expiries``: ((expiry date, smile), …), one smile per quoted expiry; an option whose expiry is not quoted
      is refused, naming the quoted expiries.

    A smile is interpolated linearly in strike between its quoted strikes and extrapolated flat beyond them (a
    single quote is flat). Volatilities are annualised (0.20 = 20%), > 0; strikes > 0, each quoted once.
    Build from a mapping with ``from_smile`` / ``from_expiries``, or from a YAML value with ``parse``.

    Raises:
        ValueError: naming the field: none or several of the three given, a vol ≤ 0, a strike ≤ 0 or repeated.
    """

    flat: float | None = None
    smile: Smile = ()
    expiries: tuple[tuple[date, Smile], ...] = ()

    def __post_init__(self) -> None:
        given = [name for name in ("flat", "smile", "expiries") if getattr(self, name) not in (None, ())]
        if len(given) != 1:
            raise ValueError(f"volatility: give exactly one of flat, smile or expiries, got {given or 'none'}")
        if self.flat is not None:
            object.__setattr__(self, "flat", positive("volatility", "flat vol", self.flat))
        if self.smile:
            object.__setattr__(self, "smile", _smile("volatility", self.smile))
        if self.expiries:
            surface = []
            for entry in self.expiries:
                if not isinstance(entry, Sequence) or len(entry) != 2:
                    raise ValueError(f"volatility: an expiry entry must be (date, smile), got {entry!r}")
                expiry = as_date("volatility", "expiry", entry[0])
                surface.append((expiry, _smile(f"volatility[{expiry}]", entry[1])))
            surface.sort()
            dates = [expiry for expiry, _ in surface]
            repeated = sorted({expiry for expiry in dates if dates.count(expiry) > 1})
            if repeated:
                raise ValueError(f"volatility: expiry {repeated[0]} is quoted more than once")
            object.__setattr__(self, "expiries", tuple(surface))

    @classmethod
    def from_smile(cls, quotes: Mapping[float, float]) -> VolatilitySurface:
        """One smile ``{strike: vol}`` for every expiry."""
        return cls(smile=tuple(quotes.items()))

    @classmethod
    def from_expiries(cls, quotes: Mapping[date | str, Mapping[float, float]]) -> VolatilitySurface:
        """One smile per expiry: ``{expiry: {strike: vol}}`` (expiry a date or YYYY-MM-DD)."""
        return cls(expiries=tuple((expiry, tuple(smile.items())) for expiry, smile in quotes.items()))

    @classmethod
    def parse(cls, data: object, where: str = "volatility") -> VolatilitySurface:
        """From a positions file's ``volatility`` value: a number (flat), ``{strike: vol}`` (numbers as keys: one
        smile) or ``{expiry: {strike: vol}}`` (dates as keys: per expiry).

        Raises:
            ValueError: naming ``where``: keys that mix numbers and dates, a smile that is not a mapping, and the
                checks of the class.
        """
        if isinstance(data, Mapping):
            if not data:
                raise ValueError(f"{where} must quote at least one strike or expiry")
            keys = list(data)
            if all(isinstance(key, date | str) and not isinstance(key, datetime) for key in keys):
                surface = []
                for key, smile in data.items():
                    expiry = as_date(where, "expiry", key)
                    if not isinstance(smile, Mapping):
                        raise ValueError(f"{where}[{expiry}] must be a mapping {{strike: vol}}, got {smile!r}")
                    surface.append((expiry, tuple(smile.items())))
                return cls._checked(where, expiries=tuple(surface))
            if all(isinstance(key, int | float) and not isinstance(key, bool) for key in keys):
                return cls._checked(where, smile=tuple(data.items()))
            raise ValueError(f"{where} must have strikes (numbers) or expiries (dates YYYY-MM-DD) as keys, not a "
                             f"mix or other keys, got {keys!r}")
        return cls._checked(where, flat=data)

    @classmethod
    def _checked(cls, where: str, **fields: object) -> VolatilitySurface:
        try:
            return cls(**fields)  # type: ignore[arg-type]
        except ValueError as error:
            raise ValueError(f"{where}{str(error).removeprefix('volatility')}") from None  # the class says "volatility"

    @property
    def kind(self) -> str:
        """``"flat"``, ``"smile"`` or ``"per expiry"``."""
        return "flat" if self.flat is not None else "smile" if self.smile else "per expiry"

    def volatility(self, strike: ArrayLike, expiry: Sequence[date | None], where: Sequence[str] | None = None
                   ) -> FloatArray:
        """The volatility of each option at its own strike (and expiry), sticky strike.

        Args:
            strike: strikes, shape (n,).
            expiry: each option's expiry date, or ``None`` for a line given by maturity in years (n,).
            where: each option's label for error messages (n,); default ``option 1``, ``option 2``, ….

        Raises:
            ValueError: naming the option: with a per-expiry surface, an expiry that is not quoted (the quoted
                expiries are listed) or a line without an expiry date.

        Shape: (n,).
        """
        strikes = np.asarray(strike, dtype=np.float64).reshape(-1)
        labels = list(where) if where is not None else [f"option {i + 1}" for i in range(strikes.size)]
        if self.flat is not None:
            return np.full(strikes.size, self.flat)
        if self.smile:
            return self._interpolate(self.smile, strikes)
        quoted = dict(self.expiries)
        vols = np.empty(strikes.size)
        listed = ", ".join(str(expiry) for expiry in quoted)
        for option_expiry, label in zip(expiry, labels, strict=True):
            if option_expiry is None:
                raise ValueError(f"{label}: the volatility surface is quoted per expiry, so the line needs an expiry "
                                 f"date (not a maturity in years); quoted expiries: {listed}")
            if option_expiry not in quoted:
                raise ValueError(f"{label}: expiry {option_expiry} is not quoted in the volatility surface; quoted "
                                 f"expiries: {listed}")
        for quoted_expiry, smile in self.expiries:  # one interpolation per quoted expiry, over its options
            mask = np.array([option_expiry == quoted_expiry for option_expiry in expiry], dtype=bool)
            if mask.any():
                vols[mask] = self._interpolate(smile, strikes[mask])
        return vols

    @staticmethod
    def _interpolate(smile: Smile, strikes: FloatArray) -> FloatArray:
        """Linear in strike between the quotes, flat beyond them (``np.interp``'s end values)."""
        quoted = np.array(smile, dtype=np.float64)
        return np.interp(strikes, quoted[:, 0], quoted[:, 1])

    def shifted(self, shift: float) -> VolatilitySurface:
        """Every quoted volatility + ``shift`` (annualised; 0.20 = +20 vol points): a parallel, sticky-strike move.

        Raises:
            ValueError: when a shifted volatility would be ≤ 0 (naming it), or ``shift`` is not finite.
        """
        shift = real("vol shift", "shift", shift)
        if shift == 0.0:
            return self

        def moved(vol: float, what: str) -> float:
            if vol + shift <= 0.0:
                raise ValueError(f"a vol shift of {shift * 100:+g} points would make the {what} vol "
                                 f"{(vol + shift) * 100:.4g}% (it must stay > 0)")
            return vol + shift

        if self.flat is not None:
            return VolatilitySurface(flat=moved(self.flat, "flat"))
        if self.smile:
            return VolatilitySurface(smile=tuple((k, moved(v, f"strike {k:g}")) for k, v in self.smile))
        return VolatilitySurface(expiries=tuple(
            (expiry, tuple((k, moved(v, f"{expiry} strike {k:g}")) for k, v in smile)) for expiry, smile in
            self.expiries))

    def describe(self) -> str:
        """One line for reports, e.g. ``flat 22%`` or ``one smile for every expiry (strike vol): 90 27%, 100 22%``."""
        def smile_text(smile: Smile) -> str:
            return ", ".join(f"{k:g} {v * 100:.4g}%" for k, v in smile)

        if self.flat is not None:
            return f"flat {self.flat * 100:.4g}%"
        if self.smile:
            return f"one smile for every expiry (strike vol): {smile_text(self.smile)}"
        return "per expiry (strike vol): " + "; ".join(f"{expiry}: {smile_text(smile)}"
                                                         for expiry, smile in self.expiries)

    def to_data(self) -> float | dict:
        """The value a positions file's ``volatility`` field takes (``parse`` reads it back)."""
        if self.flat is not None:
            return self.flat
        if self.smile:
            return dict(self.smile)
        return {expiry: dict(smile) for expiry, smile in self.expiries}
