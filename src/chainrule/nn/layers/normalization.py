"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d``, ``LayerNorm`` and ``InstanceNorm1d/2d``,
PyTorch's semantics and names.

Both standardise, then scale and shift:

    y = (x − μ) / √(σ² + ε) · γ + β

BatchNorm takes μ, σ² per channel over the batch (and the spatial axes) while training, and keeps
exponential running averages of them for evaluation:

    running_mean ← (1 − momentum)·running_mean + momentum·μ
    running_var  ← (1 − momentum)·running_var  + momentum·σ²·n/(n − 1)

(the batch variance σ² is biased for normalising, unbiased in the running average, as PyTorch;
``momentum=None`` gives the plain cumulative average). With ``sync=True`` (or ``SyncBatchNorm``)
and several MPI ranks, μ and σ² are taken over the global batch, every rank's samples: the sums
behind them go through ``distributed.all_sum``, whose gradient is an all-sum too, so the backward
pass is that of one batch norm over the global batch. LayerNorm takes μ, σ² over the last axes of
each sample and behaves the same in training and evaluation. Training-mode BatchNorm on one process
is one primitive (:class:`chainrule.ops.normalization.BatchNormalize`, whose vjp and jvp are Tensor
operations); the rest is composed of primitives; gradients of any order come from the engine.
"""

import numpy

from chainrule import arguments, ops
from chainrule.autograd.mode import no_grad
from chainrule.autograd.tensor import Tensor
from chainrule.backend import DEFAULT_FLOAT, array_module
from chainrule.errors import DTypeError, ShapeError
from chainrule.nn import init
from chainrule.nn.layers.linear import require_floating
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops.elementwise import sqrt
from chainrule.ops.normalization import BatchNormalize
from chainrule.ops.reduce import mean
from chainrule.ops.shape import reshape


def _standardise(x, axes, eps):
    """(x − μ) / √(σ² + ε) over ``axes``, with μ and the biased σ² (kept dims) returned too."""
    mu = mean(x, axes, keepdims=True)
    centred = x - mu
    variance = mean(centred * centred, axes, keepdims=True)
    return centred / sqrt(variance + eps), mu, variance


def _standardise_over_ranks(x, axes, eps):
    """As _standardise, with μ and σ² over the samples of every rank; also returns the global count."""
    from chainrule.distributed import all_sum, allreduce
    from chainrule.ops.reduce import sum as reduce_sum

    count = float(allreduce(numpy.array(x.size // x.shape[1], dtype=numpy.float64), op="sum"))
    mu = all_sum(reduce_sum(x, axes, keepdims=True)) / count
    centred = x - mu
    variance = all_sum(reduce_sum(centred * centred, axes, keepdims=True)) / count
    return centred / sqrt(variance + eps), mu, variance, int(count)


def _update_running(running, batch_value, factor):
    """running ← (1 − factor)·running + factor·batch_value, in place and outside the graph.

    ``running`` is a Tensor or a NumPy array (PyTorch's F.batch_norm takes plain buffers too)."""
    array = running._data if isinstance(running, Tensor) else running
    array *= 1.0 - factor
    array += (factor * batch_value).astype(array.dtype, copy=False)


def _check_running(name, running, channels, training):
    """A running statistic must have shape (C,); while training, be a float Tensor or array (updated
    in place)."""
    if running is None:
        return
    array = running._data if isinstance(running, Tensor) else running
    if not training:
        array = numpy.asarray(array) if not hasattr(array, "shape") else array
    elif not isinstance(array, numpy.ndarray) and array_module(array) is numpy:  # neither host nor device
        raise DTypeError(f"batch_norm: {name} must be a Tensor or a NumPy array (updated in place), got "
                         f"{type(running).__name__}; hint: numpy.zeros({channels}, 'float32')")
    if tuple(array.shape) != (channels,) or array.dtype.kind != "f":
        raise ShapeError(f"batch_norm: {name} must be a float array of shape ({channels},) for an input "
                         f"with {channels} channels, got shape {tuple(array.shape)} and dtype {array.dtype}")


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5, num_batches_tracked=None, sync=False):
    """Batch normalisation of x (N, C), (N, C, L) or (N, C, H, W) per channel C, as ``F.batch_norm``.

    While ``training`` (or without running statistics) it uses the batch's statistics and, if given,
    updates ``running_mean``/``running_var`` in place; otherwise it uses the running statistics.
    ``sync=True`` takes the batch's statistics over every MPI rank (the same as False on one process).
    """
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expects input (N, C, ...), got shape {tuple(x.shape)}")
    channels = x.shape[1]
    _check_running("running_mean", running_mean, channels, training)
    _check_running("running_var", running_var, channels, training)
    axes = (0,) + tuple(range(2, x.ndim))
    per_channel = (1, channels) + (1,) * (x.ndim - 2)
    if x.size == 0:  # an empty batch: nothing to standardise, and no statistics to learn from
        y = x * 1.0
    elif training or running_mean is None:
        if sync:
            from chainrule.distributed import active

            sync = active()  # on one process: exactly the unsynchronised computation
        if sync:
            y, mu, variance, count = _standardise_over_ranks(x, axes, eps)
        else:
            count = x.size // channels
        if training and count <= 1:
            raise ShapeError(f"batch_norm: needs more than one value per channel while training, input "
                             f"has shape {tuple(x.shape)}: use a batch of more than one sample, or eval()")
        if not sync:  # one primitive (a kernel may run it); it leaves μ and σ² on itself
            normalize = BatchNormalize(eps)
            affine = weight is not None and bias is not None
            y = normalize(x, weight, bias) if affine else normalize(x)
            mu, variance = normalize.mean, normalize.variance
            if affine:
                weight = bias = None  # applied already
        if training and running_mean is not None:
            tracked = num_batches_tracked._data if isinstance(num_batches_tracked, Tensor) \
                else num_batches_tracked  # a Tensor or an array, counted in place
            if tracked is not None:
                tracked += 1
            if momentum is not None:
                factor = momentum
            else:  # the cumulative average of every batch seen so far
                factor = 1.0 / float(tracked) if tracked is not None else 0.0
            mu, variance = (v._data if isinstance(v, Tensor) else v for v in (mu, variance))
            with no_grad():
                _update_running(running_mean, mu.reshape(channels), factor)
                unbiased = variance.reshape(channels) * (count / (count - 1))
                _update_running(running_var, unbiased, factor)
    else:
        stats_mean = reshape(_constant(running_mean), per_channel)
        stats_var = reshape(_constant(running_var), per_channel)
        y = (x - stats_mean) / sqrt(stats_var + eps)
    if weight is not None:
        y = y * reshape(weight, per_channel)
    if bias is not None:
        y = y + reshape(bias, per_channel)
    return y


def _constant(t):
    return Tensor._from_op(t._data if isinstance(t, Tensor) else numpy.asarray(t))


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing axes ``normalized_shape`` of every sample, as ``F.layer_norm``."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(x.shape[x.ndim - len(shape):]) != shape or len(shape) > x.ndim:
        raise ShapeError(f"layer_norm: the input's trailing axes must be {shape}, got shape "
                         f"{tuple(x.shape)}")
    y, _, _ = _standardise(x, tuple(range(x.ndim - len(shape), x.ndim)), eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


class _BatchNorm(Module):
    """Shared body of BatchNorm1d/2d; ``ranks`` are the input ranks it accepts."""

    ranks = ()
    sync_default = False

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 sync=False):
        super().__init__()
        num_features = arguments.integer(num_features, "num_features", type(self).__name__)
        self.num_features, self.eps, self.momentum, self.sync = num_features, eps, momentum, bool(sync)
        self.affine, self.track_running_stats = affine, track_running_stats
        # reserved, not written: reset_parameters fills them, unless the model loader skips that
        if affine:
            self.weight = Parameter(numpy.empty(num_features, dtype=DEFAULT_FLOAT))
            self.bias = Parameter(numpy.empty(num_features, dtype=DEFAULT_FLOAT))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(numpy.empty(num_features, dtype=DEFAULT_FLOAT)))
            self.register_buffer("running_var", Tensor(numpy.empty(num_features, dtype=DEFAULT_FLOAT)))
            self.register_buffer("num_batches_tracked", Tensor(numpy.array(0, dtype=numpy.int64)))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self):
        """Running statistics to (0, 1), γ to ones and β to zeros."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, x):
        require_floating(x, f"{type(self).__name__}({self.num_features})")
        if x.ndim not in self.ranks or x.shape[1] != self.num_features:
            expected = " or ".join(str(("N", self.num_features) + ("…",) * (r - 2)) for r in self.ranks)
            raise ShapeError(f"{type(self).__name__}({self.num_features}) expects input {expected}, got "
                             f"{tuple(x.shape)}: is the channel axis in position 1?")
        use_batch = self.training or not self.track_running_stats
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          training=use_batch, momentum=self.momentum, eps=self.eps,
                          num_batches_tracked=self.num_batches_tracked, sync=self.sync)

    def get_config(self):
        config = {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum,
                  "affine": self.affine, "track_running_stats": self.track_running_stats}
        if self.sync and type(self).sync_default is False:  # files of unsynchronised layers stay as they were
            config["sync"] = True
        return config

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}" + (", sync=True" if self.sync else ""))


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) per channel, as ``torch.nn.BatchNorm1d``."""

    ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) per channel, as ``torch.nn.BatchNorm2d``."""

    ranks = (4,)


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation over the global batch of every MPI rank, as ``torch.nn.SyncBatchNorm``.

    Accepts (N, C), (N, C, L), (N, C, H, W) and (N, C, D, H, W). ``BatchNorm1d(..., sync=True)`` and
    ``BatchNorm2d(..., sync=True)`` do the same for their input ranks. Every rank must call it (it
    communicates in training mode); in evaluation mode it uses the running statistics, as BatchNorm.
    """

    ranks = (2, 3, 4, 5)
    sync_default = True

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, sync=True)


class LayerNorm(Module):
    """Layer normalisation over the trailing ``normalized_shape`` axes, as ``torch.nn.LayerNorm``."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        shape = tuple(arguments.integer(size, "normalized_shape", "LayerNorm") for size in shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        if elementwise_affine:  # reserved, not written: reset_parameters fills them (as in BatchNorm)
            self.weight = Parameter(numpy.empty(shape, dtype=DEFAULT_FLOAT))
            if bias:
                self.bias = Parameter(numpy.empty(shape, dtype=DEFAULT_FLOAT))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x):
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def get_config(self):
        return {"normalized_shape": list(self.normalized_shape), "eps": self.eps,
                "elementwise_affine": self.elementwise_affine, "bias": self.bias is not None}

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class InstanceNorm2d(Module):
    """Each sample's each channel normalised over its own positions (no running statistics, no affine
    weights unless ``affine=True``), as ``torch.nn.InstanceNorm2d``'s defaults."""

    spatial = 2

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False):
        super().__init__()
        if track_running_stats:
            raise NotImplementedError(f"{type(self).__name__}: track_running_stats=True is not supported "
                                      "here")
        self.num_features, self.eps, self.affine = num_features, eps, affine
        if affine:
            self.weight = Parameter(numpy.ones(num_features, dtype=DEFAULT_FLOAT))
            self.bias = Parameter(numpy.zeros(num_features, dtype=DEFAULT_FLOAT))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        n, c = x.shape[:2]
        if c != self.num_features:
            raise ShapeError(f"{type(self).__name__}: expects {self.num_features} channels, got shape "
                             f"{tuple(x.shape)}")
        flat = ops.reshape(x, (n, c, -1))
        y = ops.reshape(layer_norm(flat, (flat.shape[-1],), None, None, self.eps), x.shape)
        if self.affine:
            shape = (1, c) + (1,) * self.spatial
            y = y * ops.reshape(self.weight, shape) + ops.reshape(self.bias, shape)
        return y

    def get_config(self):
        return {"num_features": self.num_features, "eps": self.eps, "affine": self.affine}

class InstanceNorm1d(InstanceNorm2d):
    spatial = 1
