"""``torch.nn.utils``: gradient clipping and parameters as one flat vector; ``rnn.pad_sequence``."""

import math

import numpy

from chainrule import backend
from chainrule.autograd.tensor import Tensor, mark_changed
from chainrule.gpu import move_array
from chainrule.optim import clip
from chainrule.optim.clip import clip_grad_value_  # noqa: F401 - PyTorch's home for it


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """PyTorch's ``clip_grad_norm_``: as :func:`chainrule.optim.clip_grad_norm_`, but the total norm
    comes back as a 0-d Tensor (the gradients' dtype and device), as torch's does, so that
    ``norm.item()`` works; ``foreach`` is accepted and has no effect.
    """
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad._data for p in parameters if p.grad is not None]
    total = clip.clip_grad_norm_(parameters, max_norm, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
                           f"{total}, so they cannot be clipped; error_if_nonfinite=False scales them anyway")
    if not grads:
        return Tensor(numpy.zeros((), numpy.float32))
    return Tensor._from_op(backend.array_module(grads[0]).asarray(total, dtype=grads[0].dtype))


def parameters_to_vector(parameters):
    """One 1-D tensor of every parameter's values, in order (a copy, outside the graph).

    The vector lives where the parameters do (PyTorch requires them all on one device).
    """
    arrays = [p._data.ravel() for p in parameters]
    if not arrays:
        return Tensor(numpy.zeros(0, numpy.float32))
    return Tensor._from_op(backend.array_module(arrays[0]).concatenate(arrays))


def vector_to_parameters(vector, parameters):
    """Copy the slices of a 1-D ``vector`` into the parameters, in order (the inverse of the above)."""
    values = vector._data if isinstance(vector, Tensor) else backend.asarray(vector)
    parameters = list(parameters)
    total = sum(p.numel() for p in parameters)
    if values.ndim != 1 or values.shape[0] != total:
        raise ValueError(f"vector_to_parameters: expected a vector of {total} values, got shape "
                         f"{values.shape}")
    offset = 0
    for p in parameters:
        p._make_writable()
        piece = values[offset:offset + p.numel()].reshape(p.shape)
        p._data[...] = move_array(piece, backend.array_module(p._data)).astype(p.dtype, copy=False)
        mark_changed(p)
        offset += p.numel()


from chainrule.nn.utils import rnn  # noqa: E402, F401 - torch.nn.utils.rnn
