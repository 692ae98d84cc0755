"""Draws shaped by tensors, PyTorch's ``multinomial``, ``bernoulli`` and ``normal``: sampling a
character from a language model's probabilities, a dropout mask, a regression's synthetic data.

They draw from the library's generator (``chainrule.manual_seed``) or a ``generator=``, and return
tensors outside the graph: a draw has no gradient, as in PyTorch.
"""

import numpy

from chainrule import backend, random
from chainrule import device as devices
from chainrule.autograd.tensor import Tensor
from chainrule.errors import DTypeError, ShapeError


def _host(x):
    """x's values on the host, and the device its result goes back to."""
    data = x._data if isinstance(x, Tensor) else backend.asarray(x)
    return (data.get(), data) if hasattr(data, "get") else (data, None)


def _like(values, original):
    return Tensor(values if original is None else backend.array_module(original).asarray(values))


def multinomial(input, num_samples, replacement=False, *, generator=None):  # noqa: A002 - PyTorch's names
    """``num_samples`` category indices per row of ``input``'s weights (non-negative, any total), int64.

    Without ``replacement`` a category is drawn at most once per row (so at most as many samples as
    categories with a weight). A vector gives a vector, a matrix one row of samples per row.
    """
    weights, original = _host(input)
    if weights.ndim not in (1, 2):
        raise ShapeError(f"multinomial: expects a vector or a matrix of weights, got shape {weights.shape}")
    if weights.dtype.kind != "f":
        raise DTypeError(f"multinomial: expects floating-point weights, got {weights.dtype}: pass "
                         "probabilities, e.g. counts.float()")
    if not numpy.all(numpy.isfinite(weights)) or numpy.any(weights < 0):
        raise ValueError("multinomial: weights must be finite and non-negative (got inf, NaN or a negative "
                         "one); pass probabilities such as softmax(logits)")
    rows = weights.reshape(-1, weights.shape[-1]).astype(numpy.float64)
    totals = rows.sum(axis=1)
    if numpy.any(totals <= 0):
        raise ValueError("multinomial: a row of weights sums to 0; every row needs a positive weight")
    fewest = numpy.count_nonzero(rows, axis=1).min()
    if not replacement and num_samples > fewest:
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement from a row "
                         f"with {fewest} categories of non-zero weight; pass replacement=True or draw fewer")
    draw = random.numpy_generator(generator)
    picked = numpy.stack([draw.choice(len(p), size=num_samples, replace=replacement, p=p / p.sum())
                          for p in rows]).astype(numpy.int64)
    return _like(picked.reshape(weights.shape[:-1] + (num_samples,)), original)


def bernoulli(input, p=None, *, generator=None):  # noqa: A002
    """1 with probability ``input`` (or ``p``) elementwise, else 0, in input's dtype."""
    probabilities, original = _host(input)
    chance = probabilities if p is None else numpy.full(probabilities.shape, p)
    if numpy.any((chance < 0) | (chance > 1)) or not numpy.all(numpy.isfinite(chance)):
        raise ValueError("bernoulli: probabilities must lie in [0, 1]")
    drawn = random.numpy_generator(generator).random(probabilities.shape) < chance
    dtype = probabilities.dtype if probabilities.dtype.kind == "f" else backend.DEFAULT_FLOAT
    return _like(drawn.astype(dtype), original)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Normal draws: ``normal(0, 1, (n, d))`` of ``size``, or elementwise around tensors of means and
    standard deviations (broadcast together), as PyTorch's ``torch.normal``."""
    means, original = _host(mean)
    spreads, other = _host(std)
    original = original if original is not None else other
    if numpy.any(spreads < 0):
        raise ValueError("normal: std must be non-negative")
    if size is None:
        if not (isinstance(mean, Tensor) or isinstance(std, Tensor)):
            raise TypeError("normal: give size= for numbers as mean and std, e.g. normal(0, 1, (3, 4))")
        shape = numpy.broadcast_shapes(means.shape, spreads.shape)
    else:
        shape = (size,) if isinstance(size, int) else tuple(size)
        if means.ndim or spreads.ndim:
            raise ShapeError("normal: with size=, mean and std must be numbers")
    kind = next((a.dtype for a in (means, spreads) if a.dtype.kind == "f" and a.ndim), None)
    target = devices.as_dtype(dtype) if dtype is not None else (kind or backend.DEFAULT_FLOAT)
    values = means + spreads * random.numpy_generator(generator).standard_normal(shape)
    out = _like(values.astype(target), original)
    if device is not None:
        out = out.to(device)
    return out.requires_grad_(requires_grad) if requires_grad else out
