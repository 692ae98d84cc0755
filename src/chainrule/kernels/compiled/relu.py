"""A one-pass Numba kernel for the ReLU backward: the gradient g times [x > 0].

The NumPy form in :class:`chainrule.ops.activation.Relu` is the reference, ``g * (x > 0)``: one pass
to build a boolean mask, and a multiply of mixed dtypes (float by bool), which NumPy runs about
twice as slowly as a same-dtype multiply. The kernel reads x and g once and writes once. It
multiplies by 1 or 0 rather than choosing between g and 0, so that an infinite or NaN gradient gives
what NumPy gives (NaN where x ≤ 0), and it is tested equal to the NumPy form
(tests/fast/test_relu_kernel.py).

Importing this module compiles nothing: Numba compiles at the first call for a dtype, or loads its
disk cache.
"""

import numba


@numba.njit(cache=True, nogil=True)
def relu_backward(x, g, out):
    """out = g · [x > 0] elementwise, over 1-D arrays of one dtype."""
    one, zero = g.dtype.type(1), g.dtype.type(0)
    for i in range(x.size):
        out[i] = g[i] * (one if x[i] > 0 else zero)
