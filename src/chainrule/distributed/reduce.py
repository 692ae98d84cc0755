"""The public collectives: ``allreduce`` of a Tensor or an array, ``barrier``, and ``all_sum``, the
differentiable sum over ranks that SyncBatchNorm builds its statistics from."""

import numpy

from chainrule.autograd.op import Op
from chainrule.autograd.tensor import Tensor
from chainrule.distributed.collectives import allreduce_arrays
from chainrule.distributed.wait import wait_for
from chainrule.distributed.world import active, world


def allreduce(value, op="mean"):
    """``value`` (a Tensor or an array) reduced over every rank: "mean" (default), "sum", "max", "min".

    Returns a new object of the same kind (a Tensor outside the graph for a Tensor); without
    ``init()`` or with one rank, a copy. Every rank must pass the same shape and dtype.
    """
    array = value._data if isinstance(value, Tensor) else value
    (result,) = allreduce_arrays([numpy.asarray(array)], op, "allreduce")
    if isinstance(value, Tensor):
        return Tensor(result)
    return result if isinstance(value, numpy.ndarray) else result[()] if result.ndim == 0 else result


def barrier():
    """Wait until every rank arrives (with the collective deadline)."""
    if active():
        wait_for(world.comm.Ibarrier(), "barrier")


class AllSum(Op):
    """y = Σ_ranks x. Every rank's output depends on every rank's input, so the gradient of a
    rank's input is the sum over ranks of the output gradients: the vjp is an all-sum too."""

    label = "all_sum"

    def forward(self, a):
        (result,) = allreduce_arrays([a], "sum", "all_sum")
        return result

    def vjp(self, g):
        return (all_sum(g),)

    def jvp(self, t):
        return all_sum(t)


def all_sum(x):
    """The sum of Tensor ``x`` over the ranks, differentiable (the identity with one rank)."""
    return AllSum()(x) if active() else x
