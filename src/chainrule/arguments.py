"""Checks of the sizes and counts users pass (layer widths, epochs, batch sizes), made where given.

Each raises :class:`~chainrule.errors.ConfigError` naming the caller, the argument, its value and
the allowed range, rather than letting NumPy fail later with "negative dimensions" or range().
"""

import numbers

from chainrule.errors import ConfigError


def integer(value, name, where, minimum=1):
    """``value`` as an int >= ``minimum`` (bools refused: ``Dense(True)`` is a slip, not a width)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        allowed = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ConfigError(f"{where}: {name} must be {allowed}, got {value!r}")
    return int(value)


def fraction(value, name, where, upper_open=True):
    """``value`` as a float in [0, 1) (or [0, 1] with ``upper_open=False``)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and (
        0.0 <= value < 1.0 if upper_open else 0.0 <= value <= 1.0)
    if not ok:
        raise ConfigError(f"{where}: {name} must lie in [0, {'1)' if upper_open else '1]'}, got {value!r}")
    return float(value)
