"""``GroupNorm``: normalise each sample over groups of channels (no batch statistics, any batch size)."""

import numpy

from chainrule.backend import DEFAULT_FLOAT
from chainrule.errors import ShapeError
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """(x − mean) / √(var + eps) over each group of C/G channels and all spatial positions, per sample."""
    n, c = x.shape[:2]
    if c % num_groups:
        raise ShapeError(f"group_norm: {c} channels do not split into {num_groups} groups")
    grouped = x.reshape(n, num_groups, -1)
    mean = grouped.mean(dim=-1, keepdim=True)
    centred = grouped - mean
    variance = (centred * centred).mean(dim=-1, keepdim=True)  # biased, as PyTorch normalises
    out = (centred / (variance + eps).sqrt()).reshape(x.shape)
    affine = (1, c) + (1,) * (x.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(affine)
    if bias is not None:
        out = out + bias.reshape(affine)
    return out


class GroupNorm(Module):
    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True):
        super().__init__()
        if num_channels % num_groups:
            raise ShapeError(f"GroupNorm: num_channels={num_channels} must be divisible by "
                             f"num_groups={num_groups}")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        if affine:
            self.weight = Parameter(numpy.ones(num_channels, DEFAULT_FLOAT))
            self.bias = Parameter(numpy.zeros(num_channels, DEFAULT_FLOAT))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ShapeError(f"GroupNorm({self.num_groups}, {self.num_channels}) expects (N, "
                             f"{self.num_channels}, ...), got {tuple(x.shape)}")
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def get_config(self):
        return {"num_groups": self.num_groups, "num_channels": self.num_channels, "eps": self.eps,
                "affine": self.affine}

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
