r"""A trader's book as it stands today: the positions file, the market inputs, value and Greeks, and stress.

A positions file lists the option lines (call/put, strike, expiry date, quantity in contracts) and stock lines
(shares) a desk holds, the listed options it may trade to hedge, and optionally the market inputs. YAML::

    valuation_date: 2025-03-14          # market inputs: each may be left out here and given on the command line
    spot: 101.30
    rate: 0.045                         # continuously compounded, per year (default 0)
    dividend: 0.012                     # continuous dividend yield, per year (default 0)
    volatility: 0.22                    # flat; or {strike: vol}: one smile for every expiry; or
                                        # {expiry: {strike: vol}}: one smile per quoted expiry
    positions:
      - {instrument: call, strike: 105, expiry: 2025-06-20, quantity: -100}   # short 100 calls K 105 Jun
      - {instrument: stock, quantity: 4500}                                  # long 4,500 shares
    hedges:                             # listed options the trades may use (no quantity)
      - {instrument: call, strike: 100, expiry: 2025-06-20}

CSV: one row per line, a header naming columns among ``instrument, strike, expiry, maturity, quantity,
multiplier, role`` (``instrument`` and ``quantity`` required; an empty cell is an absent field; ``role`` is empty or
``position``, or ``hedge`` for a listed hedge option, whose quantity is empty); rows starting with ``#`` and empty
rows are skipped; instruments and column names are read case-insensitively, and a spreadsheet's UTF-8 byte-order
mark is ignored. A CSV holds no market inputs: they come from the command line.

Fields of a line: ``instrument`` (``call``, ``put`` or ``stock``); for an option ``strike`` (> 0), exactly one of
``expiry`` (a date, YYYY-MM-DD) or ``maturity`` (years > 0, e.g. a textbook's T = 0.3846: the line is then
independent of the valuation date), ``multiplier`` (units of underlying per contract, default 100) and
``quantity`` (contracts, negative: short); for the stock only ``quantity`` (shares). Anything else is refused with
the file, the line and the field named.

Conventions:

* time to expiry τ = (expiry − valuation date) in days / 365 (Actual/365 Fixed, the day count of the QuantLib
  oracles in ``tests/pricing``); an option expiring on or before the valuation date is refused;
* every option line is priced with Black–Scholes–Merton (``hedgegym.pricing.black_scholes.greeks``, one vectorised
  call for the whole book) at its own strike's volatility (sticky strike): a smile is interpolated linearly in
  strike between the quoted strikes and flat beyond them; a per-expiry surface must quote the option's expiry;
* API units (the ``Greeks`` records): value in currency, Δ in shares, Γ in shares per unit of spot, vega in
  currency per 1.00 of volatility, Θ in currency per year (DESIGN.md). Tables (``BookValuation.lines``,
  ``desk_units``) are in the units a desk reads: vega per vol point (÷ 100) and Θ per calendar day (÷ 365), the
  units named in the column names.

Stress (``stress_book``): a ``hedgegym.risk.stress.Scenario`` moves the spot to S·(1 + spot_shock), every
volatility of the surface by + vol_shock (sticky strike: each option keeps its own strike's quote, shifted; the
smile does not roll with time) and ages every option by ``days`` trading days of 1/252 year each (as
``hedgegym stress``); an option whose τ is used up by the aging is settled in cash at its intrinsic value at the
shocked spot (no Greeks afterwards). Financing of the stock and cash are not counted. The table has the columns of
``hedgegym.risk.stress.STRESS_COLUMNS``, with the same Δ–Γ(–vega)(–Θ) estimates from the Greeks before the shock.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from hedgegym.pricing.black_scholes import greeks as bsm_greeks
from hedgegym.pricing.greeks import FloatArray, Greeks
from hedgegym.risk._checks import as_date, positive, real
from hedgegym.risk.stress import DEFAULT_SCENARIOS, STRESS_COLUMNS, Scenario, check_scenarios
from hedgegym.risk.volatility_surface import VolatilitySurface

__all__ = [
    "CSV_COLUMNS",
    "DAYS_PER_YEAR",
    "DEFAULT_MULTIPLIER",
    "FILE_FIELDS",
    "INSTRUMENTS",
    "LINE_COLUMNS",
    "LINE_FIELDS",
    "MARKET_FIELDS",
    "STRESS_DAYS_PER_YEAR",
    "VOL_POINT",
    "BookValuation",
    "MarketInputs",
    "MissingMarketInputs",
    "OptionLine",
    "PositionsBook",
    "StockLine",
    "VolatilitySurface",
    "contract_greeks",
    "desk_units",
    "market_inputs",
    "positions_data",
    "read_positions",
    "stress_book",
    "value_book",
    "write_positions",
]

INSTRUMENTS = ("call", "put", "stock")
LINE_FIELDS = ("instrument", "strike", "expiry", "maturity", "quantity", "multiplier")
CSV_COLUMNS = (*LINE_FIELDS, "role")
MARKET_FIELDS = ("valuation_date", "spot", "rate", "dividend", "volatility")
FILE_FIELDS = (*MARKET_FIELDS, "positions", "hedges")
DEFAULT_MULTIPLIER = 100.0
DAYS_PER_YEAR = 365.0
"""Actual/365 Fixed: τ = days / 365; Θ per calendar day = Θ per year / 365."""
VOL_POINT = 0.01
"""One vol point in volatility units: vega per vol point = vega per 1.00 × 0.01."""
STRESS_DAYS_PER_YEAR = 252.0
"""A stress scenario's ``days`` are trading days of 1/252 year (``hedgegym stress``'s convention)."""
LINE_COLUMNS = (
    "line", "instrument", "strike", "expiry", "quantity", "multiplier", "tau_years", "vol", "price", "value",
    "delta_shares", "gamma_shares_per_unit_spot", "vega_per_vol_point", "theta_per_day",
)


# ---------------------------------------------------------------------------------------------- market inputs
@dataclass(frozen=True)
class MarketInputs:
    """Today's market for valuing a positions book.

    Attributes:
        valuation_date: the date the book is valued at (τ counts from it, Actual/365 Fixed).
        spot: the underlying's price, currency per share, > 0.
        volatility: a ``VolatilitySurface`` (a number is taken as a flat volatility).
        rate: risk-free rate, continuously compounded, per year (finite).
        dividend: continuous dividend yield, per year (finite).

    Raises:
        ValueError: naming the field (spot ≤ 0, a datetime or text for the date, a non-finite number, vol ≤ 0).
    """

    valuation_date: date
    spot: float
    volatility: VolatilitySurface
    rate: float = 0.0
    dividend: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.valuation_date, datetime) or not isinstance(self.valuation_date, date):
            raise ValueError(f"valuation_date must be a date, got {self.valuation_date!r}")
        object.__setattr__(self, "spot", positive("market", "spot", self.spot))
        object.__setattr__(self, "rate", real("market", "rate", self.rate))
        object.__setattr__(self, "dividend", real("market", "dividend", self.dividend))
        if not isinstance(self.volatility, VolatilitySurface):
            object.__setattr__(self, "volatility", VolatilitySurface.parse(self.volatility))


class MissingMarketInputs(ValueError):
    """Market inputs that neither the positions file nor the caller gave; ``missing`` names them."""

    def __init__(self, missing: Sequence[str], source: str) -> None:
        self.missing = tuple(missing)
        super().__init__(f"{source}: missing market input(s) {', '.join(self.missing)}: give them in the positions "
                         "file (YAML fields of the same name) or as arguments")


def market_inputs(book: PositionsBook, *, valuation_date: date | None = None, spot: float | None = None,
                  volatility: float | VolatilitySurface | None = None, rate: float | None = None,
                  dividend: float | None = None) -> MarketInputs:
    """The market to value ``book`` at: the positions file's inputs, each overridden by the argument when given.

    ``valuation_date``, ``spot`` and ``volatility`` are required (file or argument); ``rate`` and ``dividend``
    default to 0.

    Raises:
        MissingMarketInputs: (a ValueError) naming every required input that is missing; the checks of
        MarketInputs: .
    """
    chosen: dict[str, object] = dict(book.market)
    overrides = {"valuation_date": valuation_date, "spot": spot, "volatility": volatility, "rate": rate,
                 "dividend": dividend}
    chosen.update({name: value for name, value in overrides.items() if value is not None})
    missing = [name for name in ("valuation_date", "spot", "volatility") if name not in chosen]
    if missing:
        raise MissingMarketInputs(missing, book.source)
    return MarketInputs(**chosen)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- lines and book
@dataclass(frozen=True)
class OptionLine:
    """A European option line: ``quantity`` contracts (negative: short) of ``multiplier`` units of underlying.

    Attributes:
        call: True for a call, False for a put.
        strike: > 0, currency per share.
        quantity: contracts, signed (0 for a listed hedge instrument, whose quantity the trades decide).
        expiry: the expiry date; or ``None`` when ``maturity`` is given.
        maturity: time to expiry in years (> 0), instead of ``expiry`` (exactly one of the two).
        multiplier: units of underlying per contract (> 0), default 100.
        where: where the line was read (file, line), prefixed to error messages.

    Raises:
        ValueError: prefixed by ``where``, naming the field.
    """

    call: bool
    strike: float
    quantity: float = 0.0
    expiry: date | None = None
    maturity: float | None = None
    multiplier: float = DEFAULT_MULTIPLIER
    where: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        where = self.where or "option line"
        if not isinstance(self.call, bool | np.bool_):
            raise ValueError(f"{where}: call must be True (call) or False (put), got {self.call!r}")
        object.__setattr__(self, "call", bool(self.call))
        object.__setattr__(self, "strike", positive(where, "strike", self.strike))
        object.__setattr__(self, "quantity", real(where, "quantity", self.quantity))
        object.__setattr__(self, "multiplier", positive(where, "multiplier", self.multiplier))
        if (self.expiry is None) == (self.maturity is None):
            raise ValueError(f"{where}: give exactly one of expiry (a date) or maturity (years), got "
                             f"{'both' if self.expiry is not None else 'neither'}")
        if self.expiry is not None:
            object.__setattr__(self, "expiry", as_date(where, "expiry", self.expiry))
        else:
            object.__setattr__(self, "maturity", positive(where, "maturity", self.maturity))

    @property
    def instrument(self) -> str:
        """``"call"`` or ``"put"``."""
        return "call" if self.call else "put"

    @property
    def label(self) -> str:
        """E.g. ``call 105 2025-06-20`` or ``call 50 T=0.3846y``."""
        when = str(self.expiry) if self.expiry is not None else f"T={self.maturity:.4g}y"
        return f"{self.instrument} {self.strike:g} {when}"

    def time_to_expiry(self, valuation_date: date) -> float:
        """τ in years: (expiry − valuation_date).days / 365, or ``maturity``. ValueError (naming the line) when the
        option expires on or before ``valuation_date``."""
        if self.expiry is None:
            return float(self.maturity)  # type: ignore[arg-type]
        days = (self.expiry - valuation_date).days
        if days <= 0:
            raise ValueError(f"{self.where or self.label}: expiry {self.expiry} is not after the valuation date "
                             f"{valuation_date}: the option has expired; remove the line")
        return days / DAYS_PER_YEAR

    def data(self, with_quantity: bool = True) -> dict[str, object]:
        """The line as a positions file's mapping (``with_quantity=False``: a hedge instrument)."""
        out: dict[str, object] = {"instrument": self.instrument, "strike": self.strike}
        out.update({"expiry": self.expiry} if self.expiry is not None else {"maturity": self.maturity})
        if with_quantity:
            out["quantity"] = self.quantity
        if self.multiplier != DEFAULT_MULTIPLIER:
            out["multiplier"] = self.multiplier
        return out


@dataclass(frozen=True)
class StockLine:
    """A stock line: ``shares`` of the underlying (negative: short). ``where``: as ``OptionLine``."""

    shares: float
    where: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "shares", real(self.where or "stock line", "quantity", self.shares))

    instrument = "stock"
    label = "stock"

    def data(self) -> dict[str, object]:
        """The line as a positions file's mapping."""
        return {"instrument": "stock", "quantity": self.shares}


@dataclass(frozen=True)
class PositionsBook:
    """A desk's positions and the listed options it may hedge with.

    Attributes:
        positions: option and stock lines (at least one).
        hedges: listed options the trades to targets may use (``OptionLine`` with quantity 0; the stock is always
            available and is not listed).
        market: the market inputs the positions file gave (keys among ``MARKET_FIELDS``, validated:
            ``valuation_date`` a date, ``spot``/``rate``/``dividend`` floats, ``volatility`` a
            ``VolatilitySurface``); ``market_inputs`` completes them.
        source: the file's name (error messages, titles).

    Raises:
        ValueError: no positions, a line of the wrong type, a hedge with a quantity, an unknown market key.
    """

    positions: tuple[OptionLine | StockLine, ...]
    hedges: tuple[OptionLine, ...] = ()
    market: Mapping[str, object] = field(default_factory=dict)
    source: str = "positions"

    def __post_init__(self) -> None:
        object.__setattr__(self, "positions", tuple(self.positions))
        object.__setattr__(self, "hedges", tuple(self.hedges))
        object.__setattr__(self, "market", dict(self.market))
        if not self.positions:
            raise ValueError(f"{self.source}: positions must hold at least one line")
        for index, line in enumerate(self.positions):
            if not isinstance(line, OptionLine | StockLine):
                raise ValueError(f"{self.source}: positions[{index}] must be an OptionLine or a StockLine, got "
                                 f"{type(line).__name__}")
        for index, hedge in enumerate(self.hedges):
            if not isinstance(hedge, OptionLine):
                raise ValueError(f"{self.source}: hedges[{index}] must be an OptionLine (the stock is always "
                                 f"available), got {type(hedge).__name__}")
            if hedge.quantity != 0.0:
                raise ValueError(f"{hedge.where or f'{self.source}: hedges[{index}]'}: a hedge instrument has no "
                                 f"quantity (the trades decide it), got {hedge.quantity!r}")
        unknown = sorted(set(self.market) - set(MARKET_FIELDS))
        if unknown:
            raise ValueError(f"{self.source}: {unknown[0]!r} is not a market input; allowed: "
                             f"{', '.join(MARKET_FIELDS)}")

    @property
    def options(self) -> tuple[OptionLine, ...]:
        """The option lines, in file order."""
        return tuple(line for line in self.positions if isinstance(line, OptionLine))

    @property
    def shares(self) -> float:
        """Total shares over the stock lines."""
        return float(sum(line.shares for line in self.positions if isinstance(line, StockLine)))

    @property
    def notional(self) -> float:
        """Σ |quantity| · multiplier over the option lines: the book's size in units of underlying."""
        return float(sum(abs(line.quantity) * line.multiplier for line in self.options))


# ---------------------------------------------------------------------------------------------- reading files
class _Located(dict):
    """A YAML mapping that remembers its 1-based line (``line``) and each key's (``key_lines``)."""

    line: int = 0
    key_lines: dict


class _LineLoader(yaml.SafeLoader):
    """PyYAML's safe loader whose mappings are ``_Located`` and refuse duplicate keys."""


def _construct_located(loader: _LineLoader, node: yaml.MappingNode) -> _Located:
    loader.flatten_mapping(node)
    mapping = _Located()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(None, None, f"unhashable key {key!r}",
                                                    key_node.start_mark) from None
        if key in mapping:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_located)


def _parse_line(entry: Mapping[str, object], where: str, hedge: bool) -> OptionLine | StockLine:
    """One line's mapping (YAML values, or CSV cells already read as numbers) → ``OptionLine`` / ``StockLine``."""
    unknown = [str(key) for key in entry if key not in LINE_FIELDS]
    if unknown:
        raise ValueError(f"{where}: {unknown[0]!r} is not a field of a line; allowed: {', '.join(LINE_FIELDS)}")
    if "instrument" not in entry:
        raise ValueError(f"{where}: instrument is missing (call, put or stock)")
    instrument = entry["instrument"]
    instrument = instrument.strip().lower() if isinstance(instrument, str) else instrument
    if instrument not in INSTRUMENTS:
        raise ValueError(f"{where}: instrument must be call, put or stock, got {instrument!r}")
    if instrument == "stock":
        if hedge:
            raise ValueError(f"{where}: the stock is always available to the trades; list only options under hedges")
        extra = [name for name in ("strike", "expiry", "maturity", "multiplier") if name in entry]
        if extra:
            raise ValueError(f"{where}: {extra[0]} is not a field of a stock line (instrument, quantity: shares)")
        if "quantity" not in entry:
            raise ValueError(f"{where}: quantity is missing (shares, negative: short)")
        return StockLine(real(where, "quantity", entry["quantity"]), where)
    if "strike" not in entry:
        raise ValueError(f"{where}: strike is missing")
    if "expiry" not in entry and "maturity" not in entry:
        raise ValueError(f"{where}: expiry is missing (a date YYYY-MM-DD; or maturity in years)")
    if "expiry" in entry and "maturity" in entry:
        raise ValueError(f"{where}: give expiry or maturity, not both")
    if hedge and "quantity" in entry:
        raise ValueError(f"{where}: quantity: a hedge instrument has no quantity (the trades decide it)")
    if not hedge and "quantity" not in entry:
        raise ValueError(f"{where}: quantity is missing (contracts, negative: short)")
    return OptionLine(
        call=instrument == "call",
        strike=real(where, "strike", entry["strike"]),
        quantity=0.0 if hedge else real(where, "quantity", entry["quantity"]),
        expiry=as_date(where, "expiry", entry["expiry"]) if "expiry" in entry else None,
        maturity=real(where, "maturity", entry["maturity"]) if "maturity" in entry else None,
        multiplier=real(where, "multiplier", entry.get("multiplier", DEFAULT_MULTIPLIER)),
        where=where,
    )


def _read_yaml(path: Path) -> PositionsBook:
    try:
        data = yaml.load(path.read_text(), Loader=_LineLoader)  # a safe loader, with line numbers
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, _Located):
        raise ValueError(f"{path}: must be a mapping with a positions list (and market inputs), got "
                         f"{type(data).__name__}")
    for key in data:
        if key not in FILE_FIELDS:
            raise ValueError(f"{path}, line {data.key_lines[key]}: {key!r} is not a field of a positions file; "
                             f"allowed: {', '.join(FILE_FIELDS)}")
    if "positions" not in data:
        raise ValueError(f"{path}: positions is missing (a list of lines)")

    def lines(section: str) -> list[OptionLine | StockLine]:
        entries = data[section]
        section_line = data.key_lines[section]
        if not isinstance(entries, list) or (section == "positions" and not entries):
            raise ValueError(f"{path}, line {section_line}: {section} must be a "
                             f"{'non-empty ' if section == 'positions' else ''}list of lines, got {entries!r}")
        parsed = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, _Located):
                raise ValueError(f"{path}, {section}[{index}] (after line {section_line}): a line must be a mapping "
                                 f"such as {{instrument: call, strike: 105, expiry: 2025-06-20, quantity: -100}}, "
                                 f"got {entry!r}")
            parsed.append(_parse_line(entry, f"{path}, line {entry.line} ({section}[{index}])", section == "hedges"))
        return parsed

    positions = lines("positions")
    hedges = lines("hedges") if "hedges" in data and data["hedges"] is not None else []
    market: dict[str, object] = {}
    for name in MARKET_FIELDS:
        if name not in data:
            continue
        where, value = f"{path}, line {data.key_lines[name]}", data[name]
        if name == "valuation_date":
            market[name] = as_date(where, name, value)
        elif name == "spot":
            market[name] = positive(where, name, value)
        elif name == "volatility":
            market[name] = VolatilitySurface.parse(value, f"{where}: volatility")
        else:
            market[name] = real(where, name, value)
    return PositionsBook(tuple(positions), tuple(hedges), market, str(path))  # type: ignore[arg-type]


def _csv_number(where: str, name: str, cell: str) -> float:
    """A CSV cell as a number: plain decimal notation (``105``, ``-100``, ``1.5e3``); no thousands separators."""
    try:
        if "_" in cell:
            raise ValueError(cell)
        return float(cell)
    except ValueError:
        raise ValueError(f"{where}: {name} must be a number, got {cell!r}") from None


def _read_csv(path: Path) -> PositionsBook:
    positions: list[OptionLine | StockLine] = []
    hedges: list[OptionLine] = []
    header: list[str] | None = None
    with path.open(newline="", encoding="utf-8-sig") as handle:  # -sig: the byte-order mark spreadsheets write
        reader = csv.reader(handle)
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row) or row[0].strip().startswith("#"):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in row]
                for index, name in enumerate(header):
                    if not name:
                        raise ValueError(f"{path}, line {line}: column {index + 1} of the header has no name")
                    if header.count(name) > 1:
                        raise ValueError(f"{path}, line {line}: column {name!r} appears more than once in the header")
                    if name not in CSV_COLUMNS:
                        raise ValueError(f"{path}, line {line}: {name!r} is not a column of a positions file; "
                                         f"allowed: {', '.join(CSV_COLUMNS)}")
                for name in ("instrument", "quantity"):
                    if name not in header:
                        raise ValueError(f"{path}, line {line}: the header has no {name!r} column (required: "
                                         "instrument, quantity)")
                continue
            where = f"{path}, line {line}"
            if len(row) != len(header):
                raise ValueError(f"{where}: {len(row)} cells, the header has {len(header)} columns")
            entry: dict[str, object] = {name: cell.strip() for name, cell in zip(header, row, strict=True)
                                        if cell.strip()}
            role = str(entry.pop("role", "position")).lower()
            if role not in ("position", "hedge"):
                raise ValueError(f"{where}: role must be empty, position or hedge, got {role!r}")
            for name in ("strike", "maturity", "quantity", "multiplier"):
                if name in entry:
                    entry[name] = _csv_number(where, name, str(entry[name]))
            parsed = _parse_line(entry, where, role == "hedge")
            (hedges if role == "hedge" else positions).append(parsed)  # type: ignore[arg-type]
    if header is None:
        raise ValueError(f"{path}: empty: a positions CSV needs a header (instrument, strike, expiry, quantity, …)")
    if not positions:
        raise ValueError(f"{path}: no positions (every row is a hedge, or the file has only a header)")
    return PositionsBook(tuple(positions), tuple(hedges), {}, str(path))


def read_positions(path: str | Path) -> PositionsBook:
    """Read a positions file: YAML (``.yaml``, ``.yml``) or CSV (``.csv``), format in the module docstring.

    Raises:
        ValueError: naming the file, the line and the field for anything malformed: an unknown instrument or field,
            a missing strike/expiry/quantity, a strike ≤ 0, a non-number, a vol ≤ 0, a duplicate YAML key or CSV
            column, a hedge with a quantity, an unknown file type; FileNotFoundError (an OSError) when it is missing.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return _read_yaml(path)
    if suffix == ".csv":
        return _read_csv(path)
    raise ValueError(f"{path}: a positions file must be .yaml, .yml or .csv, got {path.suffix or 'no suffix'!r}")


def positions_data(book: PositionsBook, market: MarketInputs | None = None) -> dict[str, object]:
    """The book (and the market inputs, when given) as a positions file's YAML mapping (``read_positions`` reads
    it back to an equal book)."""
    data: dict[str, object] = {}
    if market is not None:
        data.update({"valuation_date": market.valuation_date, "spot": market.spot, "rate": market.rate,
                     "dividend": market.dividend, "volatility": market.volatility.to_data()})
    data["positions"] = [line.data() for line in book.positions]
    if book.hedges:
        data["hedges"] = [hedge.data(with_quantity=False) for hedge in book.hedges]
    return data


class _PlainDumper(yaml.SafeDumper):
    """PyYAML's safe dumper without anchors and aliases (a date shared by two lines is written twice)."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def write_positions(book: PositionsBook, path: str | Path, market: MarketInputs | None = None) -> Path:
    """Write ``positions_data(book, market)`` as YAML to ``path`` (a new file).

    Raises:
        FileExistsError: when ``path`` exists (the file is opened exclusively: never overwritten).
    """
    path = Path(path)
    text = yaml.dump(positions_data(book, market), Dumper=_PlainDumper, sort_keys=False, default_flow_style=None,
                     width=120)
    try:
        with open(path, "x") as handle:
            handle.write(text)
    except FileExistsError:
        raise FileExistsError(f"{path} exists: hedgegym never overwrites results") from None
    return path


# ---------------------------------------------------------------------------------------------- valuation
def _option_terms(options: Sequence[OptionLine], market: MarketInputs, elapsed: float = 0.0
                  ) -> tuple[FloatArray, FloatArray, Greeks]:
    """τ (n,) at the valuation date, the vols (n,), and the per-unit-of-underlying BSM Greeks (n,) after ``elapsed``
    years; an option whose τ − elapsed ≤ 0 is settled: its intrinsic value at the spot, no Greeks."""
    tau = np.array([line.time_to_expiry(market.valuation_date) for line in options], dtype=np.float64)
    strikes = np.array([line.strike for line in options], dtype=np.float64)
    vols = market.volatility.volatility(strikes, [line.expiry for line in options],
                                        [line.where or line.label for line in options])
    if not options:
        empty = np.zeros(0)
        return tau, vols, Greeks(empty, empty, empty, empty, empty)
    remaining = tau - elapsed
    settled = remaining <= 0.0
    call = np.array([line.call for line in options], dtype=bool)
    unit = bsm_greeks(market.spot, strikes, np.maximum(remaining, 0.0), vols, market.rate, market.dividend, call)
    if settled.any():
        intrinsic = np.maximum(np.where(call, market.spot - strikes, strikes - market.spot), 0.0)
        unit = Greeks(np.where(settled, intrinsic, unit.price),
                      *(np.where(settled, 0.0, field) for field in unit[1:]))
    return tau, vols, unit


def contract_greeks(options: Sequence[OptionLine], market: MarketInputs) -> Greeks:
    """Value and Greeks of ONE contract of each option (quantity ignored): the per-share BSM figures × multiplier.

    Units (API): value in currency per contract, Δ in shares, Γ in shares per unit of spot, vega per 1.00 of vol, Θ
    per year. Raises the errors of ``value_book`` (expired option, unquoted expiry). Shape: (n,) each.
    """
    options = tuple(options)
    _, _, unit = _option_terms(options, market)
    multiplier = np.array([line.multiplier for line in options], dtype=np.float64)
    return Greeks(*(np.asarray(field, dtype=np.float64) * multiplier for field in unit))


def _line_greeks(book: PositionsBook, market: MarketInputs, elapsed: float = 0.0
                 ) -> tuple[FloatArray, FloatArray, FloatArray, Greeks]:
    """Per line of ``book.positions``: τ, vol (NaN for stock), unit price, and the line's Greeks (API units)."""
    options = book.options
    tau, vols, unit = _option_terms(options, market, elapsed)
    is_option = np.array([isinstance(line, OptionLine) for line in book.positions], dtype=bool)
    n = len(book.positions)
    size = np.array([line.quantity * line.multiplier if isinstance(line, OptionLine) else line.shares
                     for line in book.positions], dtype=np.float64)
    line_tau, line_vol, price = np.full(n, np.nan), np.full(n, np.nan), np.full(n, market.spot)
    line_tau[is_option], line_vol[is_option], price[is_option] = tau, vols, unit.price
    per_unit = [np.zeros(n) for _ in range(5)]
    per_unit[0][:] = market.spot
    per_unit[1][~is_option] = 1.0  # a share: value S, Δ 1, no Γ, vega, Θ
    for field_index, field_values in enumerate(unit):
        per_unit[field_index][is_option] = field_values
    return line_tau, line_vol, price, Greeks(*(size * values for values in per_unit))


@dataclass(frozen=True)
class BookValuation:
    """``value_book``'s result.

    Attributes:
        lines: one row per position line, columns ``LINE_COLUMNS`` in desk units: ``line`` (1-based),
            ``instrument``, ``strike`` (NaN for stock), ``expiry`` (a date, or None for a maturity line / stock),
            ``quantity`` (contracts or shares), ``multiplier`` (1 for stock), ``tau_years``, ``vol`` (used, sticky
            strike), ``price`` (per unit of underlying: the option premium per share, or the spot), ``value``
            (currency), ``delta_shares``, ``gamma_shares_per_unit_spot``, ``vega_per_vol_point`` (currency per vol
            point), ``theta_per_day`` (currency per calendar day).
        total: the book's value and Greeks in API units (value currency, Δ shares, Γ shares per unit of spot, vega
            per 1.00 of vol, Θ per year).
        gross: Σ over lines of |each field| in API units (the scale of the dashboard's deviations).
    """

    lines: pd.DataFrame
    total: Greeks
    gross: Greeks


def desk_units(greeks: Greeks) -> dict[str, float]:
    """API units → desk units: ``value``, ``delta_shares``, ``gamma_shares_per_unit_spot``, ``vega_per_vol_point``
    (vega per 1.00 × 0.01) and ``theta_per_day`` (Θ per year / 365)."""
    return {"value": float(greeks.price), "delta_shares": float(greeks.delta),
            "gamma_shares_per_unit_spot": float(greeks.gamma), "vega_per_vol_point": float(greeks.vega) * VOL_POINT,
            "theta_per_day": float(greeks.theta) / DAYS_PER_YEAR}


def value_book(book: PositionsBook, market: MarketInputs) -> BookValuation:
    """Value and Greeks of every line and of the whole book at ``market`` (Black–Scholes–Merton, sticky strike).

    Each option line is priced per unit of underlying by ``hedgegym.pricing.black_scholes.greeks`` (one vectorised
    call) at τ = days/365 and its strike's vol, then scaled by quantity × multiplier; a stock line is worth
    shares × spot with Δ = shares.

    Raises:
        ValueError: naming the line: an option expiring on or before the valuation date, an expiry the volatility
            surface does not quote.
    """
    tau, vols, price, line = _line_greeks(book, market)
    desk = {name: np.asarray(values) for name, values in zip(
        ("value", "delta_shares", "gamma_shares_per_unit_spot", "vega_per_vol_point", "theta_per_day"),
        (line.price, line.delta, line.gamma, line.vega * VOL_POINT, line.theta / DAYS_PER_YEAR), strict=True)}
    table = pd.DataFrame({
        "line": np.arange(1, len(book.positions) + 1),
        "instrument": [entry.instrument for entry in book.positions],
        "strike": [entry.strike if isinstance(entry, OptionLine) else np.nan for entry in book.positions],
        "expiry": [entry.expiry if isinstance(entry, OptionLine) else None for entry in book.positions],
        "quantity": [entry.quantity if isinstance(entry, OptionLine) else entry.shares for entry in book.positions],
        "multiplier": [entry.multiplier if isinstance(entry, OptionLine) else 1.0 for entry in book.positions],
        "tau_years": tau, "vol": vols, "price": price, **desk,
    }, columns=list(LINE_COLUMNS))
    total = Greeks(*(float(np.sum(values)) for values in line))
    gross = Greeks(*(float(np.sum(np.abs(values))) for values in line))
    return BookValuation(table, total, gross)


def _book_total(book: PositionsBook, market: MarketInputs, elapsed: float) -> Greeks:
    return Greeks(*(float(np.sum(values)) for values in _line_greeks(book, market, elapsed)[3]))


# ---------------------------------------------------------------------------------------------- stress
def stress_book(book: PositionsBook, market: MarketInputs, scenarios: Sequence[Scenario] = DEFAULT_SCENARIOS
                ) -> pd.DataFrame:
    """Full revaluation of the book under each scenario (see the module docstring), with Taylor estimates.

    For each scenario, with Δ, Γ, vega (per 1.00), Θ (per year) the book's Greeks today, dS = S·spot_shock::

        value_change                       V(shocked, aged) − V(today)
        delta_gamma_estimate               Δ·dS + ½Γ·dS²
        delta_gamma_vega_estimate          + vega · vol_shock
        delta_gamma_vega_theta_estimate    + Θ · days / 252
        loss                               max(−value_change, 0)

    Returns:
        One row per scenario, columns ``hedgegym.risk.stress.STRESS_COLUMNS`` (``write_stress_outputs`` writes it).

    Raises:
        ValueError: no scenarios, a non-``Scenario``, a vol shock that makes a volatility ≤ 0 (naming the scenario),
            and ``value_book``'s errors.
    """
    scenarios = check_scenarios(scenarios)
    base = _book_total(book, market, 0.0)
    rows = []
    for scenario in scenarios:
        try:
            surface = market.volatility.shifted(scenario.vol_shock)
        except ValueError as error:
            raise ValueError(f"scenario {scenario.name!r}: {error}") from None
        shocked_market = dataclasses.replace(market, spot=market.spot * (1.0 + scenario.spot_shock),
                                             volatility=surface)
        elapsed = scenario.days / STRESS_DAYS_PER_YEAR
        shocked = _book_total(book, shocked_market, elapsed)
        d_spot = shocked_market.spot - market.spot
        delta_gamma = base.delta * d_spot + 0.5 * base.gamma * d_spot**2
        change = shocked.price - base.price
        rows.append({
            "scenario": scenario.name, "spot_shock": scenario.spot_shock, "vol_shock": scenario.vol_shock,
            "days": scenario.days, "spot": shocked_market.spot, "value_change": change,
            "delta_gamma_estimate": delta_gamma,
            "delta_gamma_vega_estimate": delta_gamma + base.vega * scenario.vol_shock,
            "delta_gamma_vega_theta_estimate": delta_gamma + base.vega * scenario.vol_shock + base.theta * elapsed,
            "delta_change": shocked.delta - base.delta, "gamma_change": shocked.gamma - base.gamma,
            "loss": max(-change, 0.0),
        })
    return pd.DataFrame(rows, columns=list(STRESS_COLUMNS))
