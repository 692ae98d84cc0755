"""The top-level arithmetic and maths as PyTorch calls them: ``out=``, ``add``'s ``alpha``, its aliases.

``cr.mul(a, b, out=c)`` writes the product into ``c`` and returns ``c``, as ``torch.mul`` does (its
tutorials: ``torch.matmul(tensor, tensor.T, out=y3)``). The result must fit ``c``: the same shape
(an empty ``c`` takes the result's, as PyTorch resizes it) and a dtype it casts to within its kind
(a float result into an integer ``c`` refuses, as PyTorch). As in PyTorch, ``out=`` records no graph:
with an argument that requires grad while gradients are on, it refuses and says what to do.

Each function here is the op of :mod:`chainrule.ops` with that door around it; the op itself is
unchanged (the engine, ``Tensor``'s operators and the layers call the ops directly).
"""

import functools

import numpy

from chainrule import ops
from chainrule.autograd.mode import state
from chainrule.autograd.tensor import Tensor
from chainrule.errors import GraphError, ShapeError


def into_out(result, out, name):
    """``result``; with ``out`` given, ``result`` written into that tensor, which is returned (PyTorch's
    ``out=``)."""
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}: out must be a Tensor, got {type(out).__name__}")
    if state.grad_enabled and result.requires_grad:  # (out requiring grad: _overwrite refuses)
        raise GraphError(f"{name}(): functions with out=... do not record a graph, and an argument requires "
                         "grad; call it without out= (result = cr." + name + "(...)), or inside "
                         "`with cr.no_grad():`")
    values = result._data
    if out.shape != values.shape:
        if out._data.size:
            raise ShapeError(f"{name}: out has shape {tuple(out.shape)} and the result "
                             f"{tuple(values.shape)}; pass an out of the result's shape, or an empty one")
        out._data = out.xp.empty(values.shape, dtype=out.dtype)
    if not numpy.can_cast(values.dtype, out.dtype, casting="same_kind"):
        raise TypeError(f"{name}: the result's dtype {values.dtype} cannot be cast to out's {out.dtype}")
    return out._overwrite(values, f"{name}(out=)")


def _with_out(op, name):
    @functools.wraps(op)
    def call(*args, out=None, **kwargs):
        return into_out(op(*args, **kwargs), out, name)

    return call


def add(input, other, *, alpha=1, out=None):  # noqa: A002 - PyTorch's names
    """``input + alpha · other``."""
    return into_out(ops.add(input, other if alpha == 1 else other * alpha), out, "add")


def sub(input, other, *, alpha=1, out=None):  # noqa: A002
    """``input − alpha · other``."""
    return into_out(ops.sub(input, other if alpha == 1 else other * alpha), out, "sub")


mul = _with_out(ops.mul, "mul")
div = _with_out(ops.div, "div")
matmul = _with_out(ops.matmul, "matmul")
pow = _with_out(ops.pow, "pow")  # noqa: A001 - PyTorch's and NumPy's name
exp = _with_out(ops.exp, "exp")
log = _with_out(ops.log, "log")
sqrt = _with_out(ops.sqrt, "sqrt")
abs = _with_out(ops.abs, "abs")  # noqa: A001
neg = _with_out(ops.neg, "neg")
sin = _with_out(ops.sin, "sin")
cos = _with_out(ops.cos, "cos")
tanh = _with_out(ops.tanh, "tanh")
sigmoid = _with_out(ops.sigmoid, "sigmoid")
maximum = _with_out(ops.maximum, "maximum")
minimum = _with_out(ops.minimum, "minimum")
multiply, subtract, divide = mul, sub, div  # PyTorch's aliases
