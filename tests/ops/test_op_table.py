"""Every differentiable op, from ONE table, checked four ways in float64.

1. forward value against the NumPy reference;
2. reverse mode against central differences (gradcheck);
3. forward mode against reverse mode: <u, J v> from jvp equals <vjp(u), v> on random u, v;
4. second order: gradgradcheck.

A row names an op, the chainrule function, its NumPy reference and the inputs to try it on. Every
positional input is a float64 tensor that gets a gradient; constants (indices, axes, conditions) go in
``kwargs``. Adding an op adds rows here, nothing else.

Input layouts cover the shapes that break engines: 0-d, size 1, broadcasting on either side, and
non-contiguous views (``layout="T"``: a transposed array; ``layout="S"``: every other element).
Domains keep inputs away from kinks and poles (abs and relu away from 0, distinct values for max).
"""

import math
from dataclasses import dataclass, field

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F


@dataclass(frozen=True)
class Arg:
    """One input: its shape, where its values are drawn, and how its memory is laid out."""

    shape: tuple
    domain: str = "real"
    layout: str = "C"  # "C" contiguous, "T" a transposed view, "S" a strided view


@dataclass
class Case:
    name: str
    fn: object  # fn(*tensors, **kwargs) -> tensor or list of tensors
    ref: object  # ref(*arrays, **kwargs) -> array or list of arrays
    args: tuple
    kwargs: dict = field(default_factory=dict)
    tol: dict = field(default_factory=dict)  # gradcheck eps/atol/rtol overrides
    second_order: bool = True

    @property
    def id(self):
        shapes = ",".join(f"{a.shape}{'' if a.layout == 'C' else a.layout}" for a in self.args)
        extra = ",".join(f"{k}={_short(v)}" for k, v in self.kwargs.items())
        return f"{self.name}[{shapes}{';' + extra if extra else ''}]".replace(" ", "")


def _short(value):
    if isinstance(value, np.ndarray):
        return f"array{value.shape}"
    if isinstance(value, tuple):
        return "(" + ",".join(_short(v) for v in value) + ")"
    return repr(value)


def _draw(rng, shape, domain):
    if domain == "real":
        return rng.uniform(-2, 2, shape)
    if domain == "pos":
        return rng.uniform(0.5, 2, shape)
    if domain == "unit":  # inside (−1, 1), away from asin's and acos's poles and tan's
        return rng.uniform(-0.8, 0.8, shape)
    if domain == "away":  # |x| in [0.5, 2], either sign
        return rng.uniform(0.5, 2, shape) * rng.choice([-1.0, 1.0], shape)
    if domain == "distinct":  # a shuffled grid: no two values within 0.2 of each other
        n = int(np.prod(shape, dtype=int))
        return (rng.permutation(n) * 0.3 - 0.15 * n + rng.uniform(0, 0.1)).reshape(shape)
    if domain == "clip":  # away from the bounds -0.5 and 0.5 used by the clip rows
        x = rng.uniform(-1, 1, shape)
        return np.where(np.abs(np.abs(x) - 0.5) < 0.1, x * 0.5, x)
    raise ValueError(domain)


def make_array(rng, arg):
    """A float64 array of ``arg.shape`` in ``arg.layout``; ``S`` and ``T`` give non-contiguous views."""
    shape = tuple(arg.shape)
    if arg.layout == "T":
        return _draw(rng, shape[::-1], arg.domain).T
    if arg.layout == "S":
        wide = shape[:-1] + (2 * shape[-1],)
        return _draw(rng, wide, arg.domain)[..., ::2]
    return _draw(rng, shape, arg.domain)


def _args(*specs):
    return tuple(s if isinstance(s, Arg) else Arg(s) for s in specs)


def _put_along(x, src, dim, index):
    """NumPy's form of PyTorch's scatter: src's corner the index's shape written along dim."""
    out = x.copy()
    np.put_along_axis(out, index, src[tuple(slice(0, n) for n in index.shape)], dim)
    return out


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _batch_norm(x, weight=None, bias=None):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + 1e-5)
    return y if weight is None else y * weight.reshape(shape) + bias.reshape(shape)


def _batch_norm_train(x, weight=None, bias=None):
    return F.batch_norm(x, None, None, weight, bias, training=True)


def _logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    return np.log(_softmax(x, axis))


# Shape sets for the elementwise rows: 0-d, size 1, broadcasting on both sides, non-contiguous.
UNARY_SHAPES = [(), (1,), (2, 3), Arg((3, 2), layout="T"), Arg((2, 3), layout="S")]
BINARY_SHAPES = [((), ()), ((2, 3), ()), ((), (2, 3)), ((3, 1), (1, 4)), ((2, 1, 3), (4, 1)),
                 ((1,), (2, 3)), (Arg((3, 2), layout="T"), Arg((2,), layout="S"))]


def _with_domain(spec, domain):
    arg = spec if isinstance(spec, Arg) else Arg(spec)
    return Arg(arg.shape, domain, arg.layout)


def _unary(name, fn, ref, domain="real", **extra):
    return [Case(name, fn, ref, (_with_domain(s, domain),), **extra) for s in UNARY_SHAPES]


def _binary(name, fn, ref, domains=("real", "real"), **extra):
    return [Case(name, fn, ref, (_with_domain(a, domains[0]), _with_domain(b, domains[1])), **extra)
            for a, b in BINARY_SHAPES]


ROWS = [
    *_binary("add", cr.add, np.add),
    *_binary("sub", cr.sub, np.subtract),
    *_binary("mul", cr.mul, np.multiply),
    *_binary("div", cr.div, np.divide, domains=("real", "away")),
    *_binary("pow", cr.pow, np.power, domains=("pos", "real")),
    Case("pow_scalar_exponent", lambda a: a ** 3, lambda a: a ** 3, _args((2, 3))),
    Case("pow_scalar_base", lambda a: 2.0 ** a, lambda a: 2.0 ** a, _args((2, 3))),
    Case("rsub_rdiv_scalar", lambda a: 1.5 - 2.0 / a, lambda a: 1.5 - 2.0 / a, (Arg((3,), "away"),)),
    *_unary("neg", cr.neg, np.negative),
    *_unary("abs", cr.abs, np.abs, domain="away"),
    *_unary("exp", cr.exp, np.exp),
    *_unary("log", cr.log, np.log, domain="pos"),
    *_unary("log1p", cr.log1p, np.log1p, domain="pos"),
    *_unary("sqrt", cr.sqrt, np.sqrt, domain="pos"),
    *_unary("sin", cr.sin, np.sin),
    *_unary("cos", cr.cos, np.cos),
    *_unary("tanh", cr.tanh, np.tanh),
    *_unary("tan", cr.tan, np.tan, domain="unit"),
    *_unary("asin", cr.asin, np.arcsin, domain="unit"),
    *_unary("acos", cr.acos, np.arccos, domain="unit"),
    *_unary("atan", cr.atan, np.arctan),
    *_unary("sinh", cr.sinh, np.sinh),
    *_unary("cosh", cr.cosh, np.cosh),
    *_unary("expm1", cr.expm1, np.expm1),
    *_unary("erf", cr.erf, np.vectorize(math.erf)),
    *_unary("log2", cr.log2, np.log2, domain="pos"),
    *_unary("exp2", cr.exp2, np.exp2),
    *_binary("atan2", cr.atan2, np.arctan2, domains=("real", "away")),
    Case("lerp", lambda a, b: cr.lerp(a, b, 0.3), lambda a, b: a + 0.3 * (b - a), _args((2, 3), (3,))),
    *_unary("sigmoid", cr.sigmoid, _sigmoid),
    *_unary("relu", cr.relu, lambda x: np.maximum(x, 0), domain="away"),
    *_unary("leaky_relu", lambda x: cr.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x),
            domain="away"),
    *_unary("softplus", cr.softplus, lambda x: np.log1p(np.exp(x))),
    *_binary("maximum", cr.maximum, np.maximum),
    *_binary("minimum", cr.minimum, np.minimum),
    Case("clip", cr.clip, np.clip, (Arg((2, 5), "clip"),), {"a_min": -0.5, "a_max": 0.5}),
    Case("clip", cr.clip, np.clip, (Arg((5, 2), "clip", "T"),), {"a_min": None, "a_max": 0.5}),
    Case("clip", cr.clip, np.clip, (Arg((), "clip"),), {"a_min": -0.5, "a_max": None}),
    Case("where", lambda a, b, c: cr.where(c, a, b), lambda a, b, c: np.where(c, a, b),
         _args((2, 3), (2, 3)), {"c": np.array([[True, False, True], [False, False, True]])}),
    Case("where", lambda a, b, c: cr.where(c, a, b), lambda a, b, c: np.where(c, a, b),
         _args((3, 1), ()), {"c": np.array([[True, False], [False, True], [True, True]])}),
    Case("matmul", cr.matmul, np.matmul, _args((3, 4), (4, 2))),
    Case("matmul", cr.matmul, np.matmul, _args((2, 3, 4), (4, 2))),
    Case("matmul", cr.matmul, np.matmul, _args((2, 1, 2, 3), (3, 3, 2))),
    Case("matmul", cr.matmul, np.matmul, _args((3,), (3, 2))),
    Case("matmul", cr.matmul, np.matmul, _args((2, 3), (3,))),
    Case("matmul", cr.matmul, np.matmul, _args((3,), (3,))),
    Case("matmul", cr.matmul, np.matmul, (Arg((3, 2), layout="T"), Arg((2, 2), layout="S"))),
    Case("dot", cr.dot, np.dot, _args((2, 3), (3, 2))),
    Case("dot", cr.dot, np.dot, _args((3,), (3,))),
    Case("dot", cr.dot, np.dot, _args((), (3,))),
    Case("sum", cr.sum, np.sum, _args((2, 3))),
    Case("sum", cr.sum, np.sum, _args(())),
    Case("sum", cr.sum, np.sum, _args((2, 3, 2)), {"axis": (0, 2), "keepdims": True}),
    Case("sum", cr.sum, np.sum, (Arg((3, 2), layout="T"),), {"axis": -1}),
    Case("mean", cr.mean, np.mean, _args((2, 3)), {"axis": 1}),
    Case("mean", cr.mean, np.mean, _args((1,))),
    Case("mean", cr.mean, np.mean, (Arg((2, 3), layout="S"),), {"axis": 0, "keepdims": True}),
    Case("var", cr.var, np.var, _args((2, 4)), {"axis": 1}),
    Case("var", cr.var, np.var, _args((5,)), {"ddof": 1}),
    Case("var", cr.var, np.var, (Arg((3, 2), layout="T"),), {"axis": 0, "keepdims": True}),
    Case("std", cr.std, np.std, _args((2, 4)), {"axis": 1}),
    Case("std", cr.std, np.std, _args((5,)), {"ddof": 1}),
    Case("prod", cr.prod, np.prod, (Arg((2, 3), "away"),)),
    Case("prod", cr.prod, np.prod, (Arg((3, 4), "away"),), {"axis": 1}),
    Case("prod", cr.prod, np.prod, (Arg((2, 3, 2), "away", "T"),), {"axis": (0, 2), "keepdims": True}),
    Case("prod", cr.prod, np.prod, _args(())),
    Case("cumsum", cr.cumsum, np.cumsum, _args((2, 3)), {"axis": 1}),
    Case("cumsum", cr.cumsum, np.cumsum, (Arg((3, 2), layout="T"),), {"axis": 0}),
    Case("cumsum", cr.cumsum, np.cumsum, (Arg((2, 3), layout="S"),)),
    Case("cumsum", cr.cumsum, np.cumsum, _args((4,)), {"axis": -1}),
    *_unary("clone", cr.clone, np.copy),
    Case("max", cr.max, np.max, (Arg((2, 3), "distinct"),)),
    Case("max", cr.max, np.max, (Arg((3, 4), "distinct"),), {"axis": 1}),
    Case("max", cr.max, np.max, (Arg((2, 3, 2), "distinct", "T"),), {"axis": (0, 2), "keepdims": True}),
    Case("max", cr.max, np.max, (Arg((), "distinct"),)),
    Case("min", cr.min, np.min, (Arg((3, 4), "distinct"),), {"axis": 0}),
    Case("min", cr.min, np.min, (Arg((2, 3), "distinct", "S"),)),
    Case("logsumexp", cr.logsumexp, _logsumexp, _args((2, 3))),
    Case("logsumexp", cr.logsumexp, _logsumexp, _args((2, 3)), {"axis": 1, "keepdims": True}),
    Case("logsumexp", cr.logsumexp, _logsumexp, (Arg((3, 2), layout="T"),), {"axis": 0}),
    Case("softmax", cr.softmax, _softmax, _args((2, 3))),
    Case("softmax", cr.softmax, _softmax, (Arg((3, 2), layout="T"),), {"axis": 0}),
    Case("softmax", cr.softmax, _softmax, _args((1,))),
    Case("log_softmax", cr.log_softmax, _log_softmax, _args((2, 3))),
    Case("log_softmax", cr.log_softmax, _log_softmax, (Arg((2, 3), layout="S"),), {"axis": 0}),
    Case("batch_norm", _batch_norm_train, _batch_norm, _args((4, 3), (3,), (3,))),
    Case("batch_norm", _batch_norm_train, _batch_norm, (Arg((3, 2, 2, 3), layout="T"), Arg((2,)), Arg((2,)))),
    Case("batch_norm", _batch_norm_train, _batch_norm, _args((3, 2, 4))),
    Case("reshape", cr.reshape, np.reshape, _args((2, 3)), {"shape": (3, 2)}),
    Case("reshape", cr.reshape, np.reshape, _args(()), {"shape": (1, 1)}),
    Case("reshape", cr.reshape, np.reshape, (Arg((3, 2), layout="T"),), {"shape": (-1,)}),
    Case("transpose", cr.transpose, np.transpose, _args((2, 3))),
    Case("transpose", cr.transpose, np.transpose, _args((2, 3, 2)), {"axes": (1, 2, 0)}),
    Case("transpose", cr.transpose, np.transpose, _args(())),
    Case("swapaxes", cr.swapaxes, np.swapaxes, _args((2, 3, 1)), {"axis1": 0, "axis2": -1}),
    Case("squeeze", cr.squeeze, np.squeeze, _args((1, 3, 1))),
    Case("squeeze", cr.squeeze, np.squeeze, _args((1, 3, 1)), {"axis": 2}),
    Case("expand_dims", cr.expand_dims, np.expand_dims, _args((2, 3)), {"axis": 1}),
    Case("expand_dims", cr.expand_dims, np.expand_dims, _args(()), {"axis": 0}),
    Case("broadcast_to", cr.broadcast_to, np.broadcast_to, _args((3, 1)), {"shape": (2, 3, 4)}),
    Case("broadcast_to", cr.broadcast_to, np.broadcast_to, _args(()), {"shape": (2,)}),
    Case("concatenate", lambda *xs, axis: cr.concatenate(xs, axis),
         lambda *xs, axis: np.concatenate(xs, axis), _args((2, 3), (1, 3), (2, 3)), {"axis": 0}),
    Case("concatenate", lambda *xs, axis: cr.concatenate(xs, axis),
         lambda *xs, axis: np.concatenate(xs, axis), (Arg((2, 2), layout="T"), Arg((2, 1))), {"axis": -1}),
    Case("stack", lambda *xs, axis: cr.stack(xs, axis), lambda *xs, axis: np.stack(xs, axis),
         _args((2, 3), (2, 3)), {"axis": 1}),
    Case("stack", lambda *xs, axis: cr.stack(xs, axis), lambda *xs, axis: np.stack(xs, axis),
         _args((), ()), {"axis": 0}),
    Case("split", cr.split, np.split, _args((4, 3)), {"indices_or_sections": 2}),
    Case("split", cr.split, np.split, _args((2, 5)), {"indices_or_sections": [1, 3], "axis": 1}),
    Case("flatten", cr.flatten, lambda x: x.reshape(-1), _args((2, 3, 2))),
    Case("flatten", cr.flatten, lambda x: x.reshape(-1), (Arg((3, 2), layout="T"),)),
    Case("flatten", lambda x: cr.flatten(x, 1), lambda x: x.reshape(x.shape[0], -1), _args((2, 3, 2))),
    Case("flip", lambda x: cr.flip(x, (0, 2)), lambda x: np.flip(x, (0, 2)), _args((2, 3, 2))),
    Case("roll", lambda x: cr.roll(x, (1, -2), (0, 1)), lambda x: np.roll(x, (1, -2), (0, 1)),
         (Arg((3, 4), layout="T"),)),
    Case("roll", lambda x: cr.roll(x, 4), lambda x: np.roll(x, 4), _args((2, 3))),
    Case("tril", cr.tril, np.tril, _args((3, 4))),
    Case("triu", lambda x: cr.triu(x, 1), lambda x: np.triu(x, 1), _args((2, 3, 3))),
    Case("diag", cr.diag, np.diag, _args((3,))),
    Case("diag", lambda v: cr.diag(v, -1), lambda v: np.diag(v, -1), _args((3,))),
    Case("diag", lambda x: cr.diag(x, 1), lambda x: np.diag(x, 1), _args((3, 4))),
    Case("trace", cr.trace, np.trace, _args((3, 3))),
    Case("masked_fill", lambda x, mask: cr.masked_fill(x, mask, 0.5), lambda x, mask: np.where(mask, 0.5, x),
         _args((2, 3)), {"mask": np.array([True, False, True])}),
    Case("index_select", lambda x, index: cr.index_select(x, 1, index), lambda x, index: x[:, index],
         _args((2, 3)), {"index": np.array([2, 0, 2])}),
    Case("repeat_interleave", lambda x: cr.repeat_interleave(x, 2, dim=1),
         lambda x: np.repeat(x, 2, axis=1), _args((2, 3))),
    Case("tile", lambda x: cr.tile(x, (2, 1, 2)), lambda x: np.tile(x, (2, 1, 2)), _args((2, 3))),
    Case("outer", cr.outer, np.outer, _args((3,), (2,))),
    Case("addmm", lambda c, a, b: cr.addmm(c, a, b, beta=0.5, alpha=2),
         lambda c, a, b: 0.5 * c + 2 * a @ b, _args((3,), (2, 4), (4, 3))),
    Case("diff", lambda x: cr.diff(x, n=2, dim=0), lambda x: np.diff(x, n=2, axis=0), _args((4, 3))),
    Case("amax", lambda x: cr.amax(x, (0, 2)), lambda x: np.max(x, axis=(0, 2)),
         (Arg((2, 3, 2), "distinct"),)),
    Case("median", cr.median, lambda x: np.sort(x, axis=None)[(x.size - 1) // 2], (Arg((2, 3), "distinct"),)),
    Case("median", lambda x: cr.median(x, 1).values, lambda x: np.sort(x, 1)[:, (x.shape[1] - 1) // 2],
         (Arg((3, 4), "distinct"),)),
    Case("inv", lambda a: cr.linalg.inv(a + 4 * a.xp.eye(3)), lambda a: np.linalg.inv(a + 4 * np.eye(3)),
         _args((3, 3))),
    Case("inv", lambda a: cr.linalg.inv(a + 4 * a.xp.eye(2)), lambda a: np.linalg.inv(a + 4 * np.eye(2)),
         (Arg((2, 2, 2), layout="T"),)),
    Case("det", lambda a: cr.linalg.det(a + 4 * a.xp.eye(3)), lambda a: np.linalg.det(a + 4 * np.eye(3)),
         _args((2, 3, 3))),
    Case("slogdet", lambda a: cr.linalg.slogdet(a).logabsdet, lambda a: np.linalg.slogdet(a)[1],
         (Arg((3, 3), "away"),)),
    Case("solve", lambda a, b: cr.linalg.solve(a + 4 * a.xp.eye(3), b),
         lambda a, b: np.linalg.solve(a + 4 * np.eye(3), b), _args((3, 3), (3, 2))),
    Case("solve", lambda a, b: cr.linalg.solve(a + 4 * a.xp.eye(3), b),
         lambda a, b: np.linalg.solve(a + 4 * np.eye(3), b[:, None])[:, 0], _args((3, 3), (3,))),
    # first order only: their rules hold the singular and eigen vectors constant (and say so)
    Case("svdvals", cr.linalg.svdvals, lambda a: np.linalg.svd(a, compute_uv=False), _args((3, 2)),
         second_order=False),
    Case("svdvals", cr.linalg.svdvals, lambda a: np.linalg.svd(a, compute_uv=False), _args((2, 2, 4)),
         second_order=False),
    Case("eigvalsh", lambda a: cr.linalg.eigvalsh(a + a.T), lambda a: np.linalg.eigvalsh(a + a.T),
         _args((3, 3)), second_order=False),
    Case("matrix_norm", lambda a: cr.linalg.matrix_norm(a, "nuc"), lambda a: np.linalg.norm(a, "nuc"),
         _args((3, 2)), second_order=False),
    Case("matrix_norm", lambda a: cr.linalg.matrix_norm(a, 1), lambda a: np.linalg.norm(a, 1),
         (Arg((3, 4), "distinct"),)),
    Case("einsum", lambda a, b: cr.einsum("bij,bjk->bik", a, b),
         lambda a, b: np.einsum("bij,bjk->bik", a, b), _args((2, 3, 4), (2, 4, 2))),
    Case("einsum", lambda a, b: cr.einsum("ij,j", a, b), lambda a, b: np.einsum("ij,j", a, b),
         (Arg((3, 4), layout="T"), Arg((4,)))),
    Case("einsum", lambda a: cr.einsum("ijk->ki", a), lambda a: np.einsum("ijk->ki", a), _args((2, 3, 4))),
    Case("einsum", lambda a, b: cr.einsum("...i,...i->...", a, b),
         lambda a, b: np.einsum("...i,...i->...", a, b), _args((2, 1, 3), (4, 3))),
    Case("einsum", lambda a, b, c: cr.einsum("i,j,k->ijk", a, b, c),
         lambda a, b, c: np.einsum("i,j,k->ijk", a, b, c), _args((2,), (3,), (2,))),
    Case("pad", cr.pad, np.pad, _args((2, 3)), {"pad_width": ((1, 0), (2, 1))}),
    Case("pad", cr.pad, np.pad, _args((3,)), {"pad_width": 1, "constant_values": 0.5}),
    Case("take", cr.take, np.take, _args((2, 3)), {"indices": np.array([0, 4, 4, 1])}),
    Case("take", cr.take, np.take, _args((2, 3)), {"indices": np.array([[2, 0], [2, 2]]), "axis": 1}),
    Case("getitem", cr.getitem, lambda x, index: x[index], _args((3, 4)),
         {"index": (slice(None), slice(1, None, 2))}),
    Case("getitem", cr.getitem, lambda x, index: x[index], _args((3, 4)), {"index": 1}),
    Case("getitem", cr.getitem, lambda x, index: x[index], _args((3, 4)), {"index": (Ellipsis, None, -1)}),
    Case("getitem", cr.getitem, lambda x, index: x[index], _args((3, 4)),
         {"index": np.array([0, 2, 0, 0])}),
    Case("getitem", cr.getitem, lambda x, index: x[index], _args((3, 4)),
         {"index": (np.array([0, 0, 2]), np.array([1, 1, 3]))}),
    Case("getitem", cr.getitem, lambda x, index: x[index], (Arg((4, 3), layout="T"),),
         {"index": np.array([[True, False, True]] * 2 + [[False, False, True]] * 2)}),
    Case("scatter", lambda x, src, dim, index: cr.scatter(x, dim, index, src),
         lambda x, src, dim, index: _put_along(x, src, dim, index), _args((3, 5), (3, 2)),
         {"dim": 1, "index": np.array([[0, 1], [2, 3], [4, 0]])}),
    Case("scatter", lambda x, src, dim, index: cr.scatter(x, dim, index, src),
         lambda x, src, dim, index: _put_along(x, src, dim, index), (Arg((3, 4), layout="T"), Arg((2, 5))),
         {"dim": 0, "index": np.array([[2, 0, 1, 2], [1, 1, 0, 0]])}),
    Case("astype", lambda x: cr.astype(x, np.float64), lambda x: x.astype(np.float64), _args((2, 3))),
    Case("astype", lambda x: cr.astype(cr.astype(x, np.float32), np.float64),
         lambda x: x.astype(np.float32).astype(np.float64), _args((2, 3)),
         tol={"eps": 1e-3, "atol": 1e-3, "rtol": 1e-3}),
]


# ---------------------------------------------------------------- the checks
def _inputs(case, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [make_array(rng, arg) for arg in case.args]
    return [cr.Tensor(a, requires_grad=True) for a in arrays]


def _listify(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _call(case):
    return lambda *xs: case.fn(*xs, **case.kwargs)


@pytest.fixture(params=ROWS, ids=[row.id for row in ROWS])
def case(request):
    return request.param


def test_forward_matches_numpy(case):
    inputs = _inputs(case)
    expected = _listify(case.ref(*[x.numpy().copy() for x in inputs], **case.kwargs))
    got = _listify(_call(case)(*inputs))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert isinstance(g, cr.Tensor)
        assert g.shape == np.shape(e)
        assert g.dtype == np.float64, f"{case.name} gave {g.dtype} from float64 inputs"
        np.testing.assert_allclose(g.numpy(), e, rtol=1e-12, atol=1e-12)


def test_reverse_mode_matches_finite_differences(case):
    assert cr.autograd.gradcheck(_call(case), _inputs(case), **case.tol)


def test_forward_mode_is_reverse_mode_transposed(case):
    """<u, J v> computed with jvp (J v) and with vjp (u^T J) agree."""
    inputs = _inputs(case)
    rng = np.random.default_rng(1)
    tangents = [cr.Tensor(rng.standard_normal(x.shape)) for x in inputs]
    outputs, out_tangents = cr.jvp(_call(case), inputs, tangents)
    outputs, out_tangents = _listify(outputs), _listify(out_tangents)
    cotangents = [rng.standard_normal(o.shape) for o in outputs]
    forward = sum(float(np.sum(u * t.numpy())) for u, t in zip(cotangents, out_tangents))

    _, vjp_fn = cr.vjp(_call(case), *inputs)
    cots = [cr.Tensor(u) for u in cotangents]
    grads = vjp_fn(cots if len(cots) > 1 or isinstance(outputs, list) and len(outputs) > 1 else cots[0])
    reverse = sum(float(np.sum(g.numpy() * v.numpy())) for g, v in zip(grads, tangents))
    tol = case.tol.get("rtol", 1e-9)
    assert np.isclose(forward, reverse, rtol=tol, atol=tol), (forward, reverse)
    for o, t in zip(outputs, out_tangents):
        assert t.shape == o.shape and t.dtype == o.dtype


def test_second_order(case):
    if not case.second_order:
        pytest.skip("no second derivative for this row")
    assert cr.autograd.gradgradcheck(_call(case), _inputs(case), **case.tol)
