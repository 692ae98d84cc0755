"""``keras.backend``: the few backend calls Keras scripts start with (``clear_session()``, ``floatx()``).

chainrule is its own backend: arrays are NumPy's, images channels-last in this door, floats float32.
"""

import numpy

from chainrule.backend import DEFAULT_FLOAT
from chainrule.nn.layers import linear


def clear_session():
    """Start layer names afresh ("dense", "dense_1", ...), as Keras's ``clear_session`` does."""
    linear._name_counts.clear()


def floatx():
    return numpy.dtype(DEFAULT_FLOAT).name


def epsilon():
    """Keras's fuzz factor, 1e-7 (what its losses clip by)."""
    return 1e-7


def image_data_format():
    return "channels_last"


def backend():
    """The name of the backend: chainrule's arrays are NumPy's (Keras 3 has a "numpy" backend too)."""
    return "numpy"
