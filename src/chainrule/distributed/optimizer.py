"""Data-parallel optimisation: every rank starts from rank 0's weights and steps on the mean gradient.

``Optimizer(optimizer)`` wraps any chainrule optimiser (Horovod's ``DistributedOptimizer``, ChainerMN's
``create_multi_node_optimizer``). Before its first step it broadcasts the parameters and the
optimiser's state from rank 0; before every step it replaces each gradient by its mean over the
ranks (one allreduce of a flat bucket per dtype). Every rank then applies the same update to the same
weights with the same gradient, so the ranks cannot drift apart: after any number of steps their
parameters are identical, bit for bit.

The mean of the ranks' mean losses over batches of B is the mean loss over the global batch of
n·B, so n ranks with batch B take the steps one process would take with batch n·B.
"""

import numpy

from chainrule.autograd.tensor import Tensor
from chainrule.distributed.collectives import allreduce_arrays, broadcast_arrays, broadcast_object
from chainrule.distributed.world import active, size
from chainrule.errors import ConfigError


def module_tensors(module):
    """The live tensors that make a module's state: parameters, then buffers (running statistics),
    each once (``state_dict()`` gives copies, which a broadcast must not write into)."""
    seen, tensors = set(), []
    for _, value in module._state_entries():
        if isinstance(value, Tensor) and id(value) not in seen:
            seen.add(id(value))
            tensors.append(value)
    return tensors


def broadcast_parameters(module, root=0):
    """Overwrite the parameters and buffers of ``module`` on every rank with those of ``root``."""
    from chainrule.autograd.tensor import mark_changed

    tensors = module_tensors(module)
    broadcast_arrays([t._data for t in tensors], root, "broadcast_parameters")
    for t in tensors:
        mark_changed(t)


def broadcast_optimizer_state(optimizer, root=0):
    """Give every rank ``root``'s optimiser state and hyperparameters (its steps, moments, lr)."""
    inner = optimizer.optimizer if isinstance(optimizer, Optimizer) else optimizer
    if not active() or not inner.param_groups:
        return
    state = broadcast_object(inner.state_dict(), root, "broadcast_optimizer_state")
    inner.load_state_dict(state)


def _parameters(optimizer):
    return [p for group in optimizer.param_groups for p in group["params"]]


def synchronize(optimizer):
    """Give every rank rank 0's values of the optimiser's parameters, and its state."""
    from chainrule.autograd.tensor import mark_changed

    params = _parameters(optimizer)
    broadcast_arrays([p._data for p in params], 0, "broadcast_parameters")
    for p in params:
        mark_changed(p)
    broadcast_optimizer_state(optimizer)


def average_gradients(optimizer, stop=None):
    """Replace each gradient by its mean over the ranks (new arrays: gradients may be shared).

    ``stop`` (True or False, optional): this rank's wish to stop before the step, carried in the
    same collective as the gradients (one number more in the first bucket); returns whether any
    rank wished it.
    """
    if not active():
        return bool(stop)
    with_grad = [p for p in _parameters(optimizer) if p.grad is not None]
    arrays = [p.grad._data for p in with_grad]
    if stop is not None:
        arrays.append(numpy.array([1.0 if stop else 0.0], dtype=arrays[0].dtype if arrays else numpy.float64))
    averaged = allreduce_arrays(arrays, "mean", "gradients")
    for p, g in zip(with_grad, averaged):
        p.grad = Tensor._from_op(g)
    return stop is not None and bool(averaged[-1][0] > 0)


class Optimizer:
    """``distributed.Optimizer(optimizer, scale_lr=False)``: ``optimizer`` made data-parallel.

    Create it on every rank at the same point, once the parameters exist: it broadcasts rank 0's
    parameters and optimiser state then (or at the first step, for an optimiser bound later).

    Everything not defined here (``param_groups``, ``state_dict``, ``load_state_dict``, ...) is the
    wrapped optimiser's. ``scale_lr=True`` multiplies every learning rate by the number of ranks
    once, here (the linear rule; nothing is scaled silently).
    """

    def __init__(self, optimizer, scale_lr=False):
        from chainrule.optim import LBFGS
        from chainrule.optim import Optimizer as BaseOptimizer

        if isinstance(optimizer, Optimizer):
            raise ConfigError("distributed.Optimizer: this optimiser is already distributed")
        if not isinstance(optimizer, BaseOptimizer):
            raise ConfigError("distributed.Optimizer wraps a chainrule optimiser, got "
                              f"{type(optimizer).__name__}")
        if isinstance(optimizer, LBFGS):
            raise ConfigError("distributed.Optimizer: LBFGS re-evaluates the loss in its line search, which "
                              "data-parallel steps do not support; hint: use sgd, adam, rmsprop, ...")
        self.__dict__["optimizer"] = optimizer
        self.__dict__["synchronized"] = False
        self.__dict__["lr_factor"] = size() if scale_lr else 1
        if scale_lr:
            for group in optimizer.param_groups:
                group["lr"] *= size()
            optimizer.defaults["lr"] = optimizer.defaults.get("lr", 0.0) * size()
        if optimizer.param_groups:  # now, so that the first gradients come from rank 0's weights too
            self.synchronize()

    def __getattr__(self, name):
        return getattr(self.__dict__["optimizer"], name)

    def __setattr__(self, name, value):
        setattr(self.optimizer, name, value)

    def step(self, closure=None):
        """Synchronise (at the first step), average the gradients over the ranks, then step."""
        if closure is not None:
            raise ConfigError("distributed.Optimizer.step: closures (re-evaluating the loss) are not "
                              "supported; compute the loss and call backward() before step()")
        if not self.synchronized:
            self.synchronize()
        self.average_gradients()
        return self.optimizer.step()

    def synchronize(self):
        """Broadcast the parameters and the optimiser state from rank 0 (done before the first step)."""
        synchronize(self.optimizer)
        self.__dict__["synchronized"] = True

    def average_gradients(self):
        average_gradients(self.optimizer)

    def zero_grad(self, set_to_none=True):
        self.optimizer.zero_grad(set_to_none)

    def __repr__(self):
        return f"distributed.Optimizer({self.optimizer!r})"
