"""Anomaly detection: which op first produced NaN or inf, and the line of user code that made it.

Only while ``detect_anomaly()`` is on (see :mod:`chainrule.autograd.mode`): each op then remembers
where it was made (a walk up the stack, which is why this is off by default), its output is checked
after its forward, and its input gradients after its vjp. The first non-finite value stops the run
with an :class:`~chainrule.errors.AnomalyError`, so the op named is the one where it began.
"""

import linecache
import os
import sys
import threading

from chainrule.autograd.mode import state
from chainrule.errors import AnomalyError

_backward = threading.local()  # .node: the node whose vjp runs now (its ops are checked as a whole)

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
# frames in these folders are the machinery of an op, never the line worth showing
_MACHINERY = tuple(_PACKAGE + name + os.sep for name in ("autograd", "ops", "fast"))


def _describe(frame):
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    where = f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
    return f"{where}: `{line}`" if line else where


def creation_site():
    """Where the op being made was asked for: the user's line, and the library line in between
    (a layer's forward) when the user's code reached the op through a layer or a loss."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_MACHINERY):
        frame = frame.f_back
    inside = None
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        inside = inside or frame
        frame = frame.f_back
    if frame is None:
        return _describe(inside) if inside is not None else "an unknown place"
    if inside is None:
        return _describe(frame)
    return f"{_describe(frame)} (through {_describe(inside)})"


def _non_finite(array, xp):
    """'nan' or 'inf' for a floating array holding one, else None."""
    kind = getattr(getattr(array, "dtype", None), "kind", None)
    if kind not in ("f", "c") or bool(xp.isfinite(array).all()):
        return None
    return "nan" if bool(xp.isnan(array).any()) else "inf"


def _data(x):
    return getattr(x, "_data", x)


def check_forward(op, inputs, result):
    """After ``op``'s forward: remember where it was made, and stop at a first NaN or inf."""
    op.created_at = creation_site()
    if not state.anomaly_check_nan or getattr(_backward, "node", None) is not None:
        return
    bad = _non_finite(result, op.xp)
    if bad is None:
        return
    for i, x in enumerate(inputs):
        if _non_finite(_data(x), op.xp) is not None:
            raise AnomalyError(
                f"anomaly: {op.label} got {bad} in its input {i} (shape {_data(x).shape}), which no op "
                f"made while anomaly detection was on: a parameter, the data or a constant already "
                f"held it; the op was made at {op.created_at}")
    raise AnomalyError(f"anomaly: the forward of {op.label} produced {bad} from finite inputs "
                       f"(output shape {result.shape}); made at {op.created_at}")


def run_vjp(node, grad, create_graph):
    """``node.backward(grad, create_graph)``, then stop if a gradient it returns holds NaN or inf."""
    _backward.node = node
    try:
        input_grads = node.backward(grad, create_graph)
    finally:
        _backward.node = None
    _check_backward(node, grad, input_grads)
    return input_grads


def _check_backward(node, grad, input_grads):
    for i, g in enumerate(input_grads):
        if g is None:
            continue
        bad = _non_finite(_data(g), node.xp)
        if bad is None:
            continue
        incoming = _non_finite(_data(grad), node.xp)
        source = (f"its incoming gradient already held {incoming}" if incoming
                  else "from a finite incoming gradient")
        raise AnomalyError(
            f"anomaly: the backward of {node.label} returned {bad} in the gradient of its input {i} "
            f"(shape {_data(g).shape}), {source}; the op was made at "
            f"{getattr(node, 'created_at', 'a place not recorded (made before anomaly detection was on)')}")
