"""``torch.nn.utils``: gradient clipping and parameters as one flat vector."""

import numpy

from chainrule.autograd.tensor import Tensor, mark_changed
from chainrule.optim.clip import clip_grad_norm_, clip_grad_value_  # noqa: F401 - PyTorch's home for them


def parameters_to_vector(parameters):
    """One 1-D tensor of every parameter's values, in order (a copy, outside the graph)."""
    arrays = [p.numpy().ravel() for p in parameters]
    return Tensor(numpy.concatenate(arrays) if arrays else numpy.zeros(0, numpy.float32))


def vector_to_parameters(vector, parameters):
    """Copy the slices of a 1-D ``vector`` into the parameters, in order (the inverse of the above)."""
    values = vector.numpy() if isinstance(vector, Tensor) else numpy.asarray(vector)
    parameters = list(parameters)
    total = sum(p.numel() for p in parameters)
    if values.ndim != 1 or values.shape[0] != total:
        raise ValueError(f"vector_to_parameters: expected a vector of {total} values, got shape "
                         f"{values.shape}")
    offset = 0
    for p in parameters:
        p.numpy()[...] = values[offset:offset + p.numel()].reshape(p.shape)
        mark_changed(p)
        offset += p.numel()
