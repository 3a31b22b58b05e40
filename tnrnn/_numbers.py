"""Counts too large to hold exactly: :class:`Approx` (a base-10 logarithm) and bounded formatting.

The bottom of the package: closed-form bounds (:mod:`tnrnn.rac.bounds`), size guards and result
types all print and compare astronomically large counts through it, without ever converting an
integer of thousands of digits to text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["EXACT_DIGITS", "Approx", "format_count", "bounded", "as_float"]

#: Bounds with at most about this many decimal digits are exact ``int``; larger ones are :class:`Approx`.
EXACT_DIGITS = 1000

#: ln 10 and log10 2, for logarithms in base 10 of huge counts.
LN10 = math.log(10)
LOG10_2 = math.log10(2)


@dataclass(frozen=True, eq=False)
class Approx:
    """A positive number too large to hold exactly, kept as its base-10 logarithm.

    Compares with ``int``, ``float`` and other ``Approx`` by logarithm (so ``min`` and
    ``max`` mix them freely), prints as ``~1.2e+45678`` (``~10^(1.2e+400)`` when even the
    logarithm is too large for a mantissa), and is that string in JSON.

    Parameters
    ----------
    log10 : float
        ``log10`` of the number; ``inf`` when even that overflows a float.

    Examples
    --------
    >>> a = Approx(45678.08)
    >>> str(a), a > 10**1000, min(a, 7)
    ('~1.2e+45678', True, 7)
    """

    log10: float

    def __str__(self) -> str:
        x = self.log10
        if not x < 1e12:
            return "~10^(inf)" if math.isinf(x) else f"~10^({x:.4g})"
        exponent = math.floor(x)
        mantissa = round(10 ** (x - exponent), 1)
        if mantissa >= 10:
            mantissa, exponent = mantissa / 10, exponent + 1
        return f"~{mantissa:.1f}e+{exponent}"

    def __repr__(self) -> str:
        return f"Approx({str(self)!r})"

    @property
    def bit_length(self) -> float:
        """About how many bits the exact number has."""
        return self.log10 / LOG10_2

    def _log(self, other) -> float:
        if isinstance(other, Approx):
            return other.log10
        if isinstance(other, bool) or not isinstance(other, (int, float)):
            return NotImplemented  # type: ignore[return-value]
        return math.log10(other) if other > 0 else -math.inf

    def _compare(self, other, op):
        log = self._log(other)
        return NotImplemented if log is NotImplemented else op(self.log10, log)

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    def __hash__(self) -> int:
        return hash(("Approx", self.log10))

    # Arithmetic with positive numbers, enough for cost estimates such as ``8 * rows * cols``
    # or ``degree / prime`` to stay bounded: the result is again an Approx.
    def __mul__(self, other):
        log = self._log(other)
        return NotImplemented if log is NotImplemented else Approx(self.log10 + log)

    __rmul__ = __mul__

    def __truediv__(self, other):
        log = self._log(other)
        return NotImplemented if log is NotImplemented else Approx(self.log10 - log)

    def __add__(self, other):
        log = self._log(other)
        if log is NotImplemented:
            return NotImplemented
        high, low = max(self.log10, log), min(self.log10, log)
        return Approx(high + math.log10(1 + 10 ** (low - high)) if high - low < 20 else high)

    __radd__ = __add__

    def __float__(self) -> float:
        return 10**self.log10 if self.log10 < 308 else math.inf

    def __format__(self, spec: str) -> str:
        return str(self)


def format_count(value) -> str:
    """A count as text, never longer than about :data:`EXACT_DIGITS` characters.

    Exact digits while the number has at most :data:`EXACT_DIGITS` of them, else its
    :class:`Approx` form; never hits Python's limit on int-to-str conversion.

    Examples
    --------
    >>> format_count(45), format_count(3**100000), format_count(None)
    ('45', '~1.3e+47712', 'None')
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > EXACT_DIGITS / LOG10_2:
        return str(Approx(math.log10(value)))
    return str(value)


def bounded(value):
    """``value`` made safe for JSON: big ints and :class:`Approx` become their bounded string.

    Walks dicts, lists and tuples; everything else is returned unchanged.

    Examples
    --------
    >>> bounded({"a": [1, 3**100000], "b": Approx(5000.0)})
    {'a': [1, '~1.3e+47712'], 'b': '~1.0e+5000'}
    """
    if isinstance(value, Approx):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return format_count(value) if value.bit_length() > EXACT_DIGITS / LOG10_2 else value
    if isinstance(value, dict):
        return {k: bounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [bounded(v) for v in value]
    return value


def as_float(value) -> float:
    """A bound as a float for plotting: ``nan`` for ``None``, ``inf`` beyond float range.

    Examples
    --------
    >>> as_float(45), as_float(3**100000), as_float(Approx(5000.0)), as_float(None)
    (45.0, inf, inf, nan)
    """
    if value is None:
        return math.nan
    try:
        return float(value)
    except OverflowError:
        return math.inf
