"""One conversion used by every data helper: whatever the user passes, as a NumPy array."""

import numpy

from chainrule import backend


def as_numpy(value):
    """A NumPy array from an array (kept as is), a Tensor (its data, not copied) or a nested list.

    Lists of Python floats become float32, the library's default, as in ``chainrule.tensor``.
    """
    if isinstance(value, numpy.ndarray):
        return value
    if hasattr(value, "numpy") and not isinstance(value, numpy.generic):
        return numpy.asarray(value.numpy())
    return numpy.asarray(backend.asarray(value))
