r"""numpy or torch: the array namespace of a pricer's inputs, chosen once per call, with the argument checks.

The Black–Scholes formulas (``hedgegym.pricing.black_scholes``) and the book's aggregation
(``hedgegym.instruments.Book.greeks``) are written once against the few functions of a namespace ``xp``:
``namespace(*arguments)`` returns

  * ``NUMPY`` when no argument is a torch tensor: numpy and scipy in float64, the very functions those formulas
    always called (numpy results are unchanged bit for bit);
  * a ``TorchNamespace`` when some argument is a tensor: torch functions at the promoted floating dtype of the
    tensor arguments (``torch.get_default_dtype()`` when none is floating: e.g. a bool ``call`` tensor only), on
    their device (CPU or CUDA). Every other argument (Python or numpy numbers and arrays) is checked as numpy would
    check it, then moved there; the results are tensors.

Argument checks (``positive``, ``non_negative``, ``finite``) give the same ``ValueError`` messages as
``hedgegym._validation`` for tensors: one torch reduction in the common case; an offending tensor is copied to the
host and handed to the numpy check, which raises its message. A tensor on another device than the first tensor
argument raises ``ValueError`` naming the argument.

N(x) in torch is 0.5·erfc(−x/√2) (the formula of Cephes' ``ndtr``, which scipy's is), not ``torch.special.ndtr``:
measured (tests/pricing/test_black_scholes_torch.py), ``torch.special.ndtr`` computes (1 + erf(x/√2))/2 and
cancels in the lower tail (float64: relative error 7e-11 at x = −5, exactly 0 from x ≈ −8.6 where N ≈ 1e-17;
float32: 1.4e-2 at x = −5), while the erfc form stays within a few ulp of scipy down to underflow (float64:
≤ 2e-15 relative for x ≥ −8, growing like x²·ε to 6e-14 at x = −37; float32: see the tests).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np
import torch
from scipy.special import ndtr as _scipy_ndtr

from hedgegym import _validation as check

__all__ = ["NUMPY", "NumpyNamespace", "TorchNamespace", "namespace"]

_SQRT_HALF = math.sqrt(0.5)


class NumpyNamespace:
    """numpy/scipy float64: the functions the formulas call, unchanged (``np.where``, ``scipy.special.ndtr``, …)."""

    tensors = False
    where = staticmethod(np.where)
    maximum = staticmethod(np.maximum)
    sqrt = staticmethod(np.sqrt)
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    copysign = staticmethod(np.copysign)
    ndtr = staticmethod(_scipy_ndtr)
    broadcast_to = staticmethod(np.broadcast_to)
    positive = staticmethod(check.positive)
    non_negative = staticmethod(check.non_negative)
    finite = staticmethod(check.finite)

    @staticmethod
    def all(condition: Any) -> bool:
        return bool(np.all(condition))

    @staticmethod
    def omega(call: Any) -> np.ndarray:
        """ω = +1.0 where ``call`` is true, −1.0 elsewhere."""
        return np.where(np.asarray(call, dtype=bool), 1.0, -1.0)

    @staticmethod
    def as_float(value: Any) -> np.ndarray:
        """``value`` as a float64 array (a scale factor, a Greek)."""
        return np.asarray(value, dtype=np.float64)

    @staticmethod
    def broadcast_copy(value: Any, shape: tuple[int, ...]) -> np.ndarray:
        """A writable array of ``shape`` holding ``value`` broadcast."""
        return np.broadcast_to(value, shape).copy()


NUMPY = NumpyNamespace()


@dataclass(frozen=True)
class TorchNamespace:
    """torch at ``dtype`` on ``device``: the same functions as ``NumpyNamespace``, on tensors."""

    dtype: torch.dtype
    device: torch.device
    tensors = True

    def tensor(self, value: Any) -> torch.Tensor:
        """``value`` (a number, an array or a tensor) as a tensor of this dtype on this device."""
        return torch.as_tensor(value, dtype=self.dtype, device=self.device)

    def _operand(self, value: Any) -> torch.Tensor:
        return value if isinstance(value, torch.Tensor) else self.tensor(value)

    def where(self, condition: Any, a: Any, b: Any) -> torch.Tensor:
        condition = torch.as_tensor(condition, dtype=torch.bool, device=self.device)
        return torch.where(condition, self._operand(a), self._operand(b))

    def maximum(self, a: torch.Tensor, b: Any) -> torch.Tensor:
        return torch.maximum(a, self._operand(b))

    @staticmethod
    def sqrt(x: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(x)

    @staticmethod
    def exp(x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x)

    @staticmethod
    def log(x: torch.Tensor) -> torch.Tensor:
        return torch.log(x)

    def copysign(self, a: Any, b: torch.Tensor) -> torch.Tensor:
        return torch.copysign(self._operand(a), b)

    @staticmethod
    def ndtr(x: torch.Tensor) -> torch.Tensor:
        """N(x) = erfc(−x/√2)/2, accurate in the lower tail (module docstring)."""
        return 0.5 * torch.special.erfc(x * -_SQRT_HALF)

    @staticmethod
    def broadcast_to(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.broadcast_to(x, shape)

    @staticmethod
    def all(condition: torch.Tensor) -> bool:
        return bool(torch.all(condition))

    def omega(self, call: Any) -> torch.Tensor:
        """ω = +1.0 where ``call`` is true, −1.0 elsewhere (a bool tensor or anything numpy reads as bools)."""
        if isinstance(call, torch.Tensor):
            self._on_device("call", call)
            return torch.where(call.to(device=self.device, dtype=torch.bool), self.tensor(1.0), self.tensor(-1.0))
        return self.tensor(NUMPY.omega(call))

    def as_float(self, value: Any) -> torch.Tensor:
        return self._operand(value).to(self.dtype)

    @staticmethod
    def broadcast_copy(value: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.broadcast_to(value, shape).clone()

    def positive(self, name: str, value: Any) -> torch.Tensor:
        return self._checked(check.positive, name, value, lambda low, high: low > 0.0 and high < math.inf)

    def non_negative(self, name: str, value: Any) -> torch.Tensor:
        return self._checked(check.non_negative, name, value, lambda low, high: low >= 0.0 and high < math.inf)

    def finite(self, name: str, value: Any) -> torch.Tensor:
        return self._checked(check.finite, name, value, lambda low, high: low > -math.inf and high < math.inf)

    def _on_device(self, name: str, value: torch.Tensor) -> None:
        if value.device != self.device:
            raise ValueError(f"{name} is a tensor on {value.device}, but the first tensor argument is on "
                             f"{self.device}: every tensor argument must be on one device")

    def _checked(self, rule: Callable[[str, Any], np.ndarray], name: str, value: Any,
                 ok: Callable[[float, float], bool]) -> torch.Tensor:
        """``value`` as a tensor of this dtype and device, checked by ``rule``'s criterion, here ``ok(min, max)``
        (one pass: ``torch.aminmax``, whose NaN propagates and fails every comparison); ``ValueError`` with
        ``rule``'s message otherwise."""
        if not isinstance(value, torch.Tensor):
            return self.tensor(rule(name, value))
        self._on_device(name, value)
        if value.dtype == torch.bool or value.is_complex():
            rule(name, value.detach().cpu().numpy())  # raises: not real numbers
        tensor = value.to(self.dtype)
        if tensor.numel() and not ok(*(float(bound) for bound in torch.aminmax(tensor.detach()))):
            rule(name, tensor.detach().cpu().double().numpy())  # raises the numpy check's message
            raise ValueError(f"{name}: invalid values")  # pragma: no cover - the numpy check has raised
        return tensor


def namespace(*arguments: Any) -> NumpyNamespace | TorchNamespace:
    """``NUMPY`` when no argument is a torch tensor; else the ``TorchNamespace`` of the promoted floating dtype of
    the tensor arguments (the default dtype when none is floating) on the first tensor's device."""
    tensors = [value for value in arguments if isinstance(value, torch.Tensor)]
    if not tensors:
        return NUMPY
    floating = [value.dtype for value in tensors if value.is_floating_point()]
    dtype = reduce(torch.promote_types, floating) if floating else torch.get_default_dtype()
    return TorchNamespace(dtype, tensors[0].device)
