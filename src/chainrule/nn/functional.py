"""The functional form of every layer and loss: ``import chainrule.nn.functional as F``.

A hub of re-exports; the code of each function lives beside its layer or op.
"""

from chainrule.nn.embedding_losses import (
    cosine_embedding_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    kl_div,
    margin_ranking_loss,
    poisson_nll_loss,
    soft_margin_loss,
    triplet_margin_loss,
)
from chainrule.nn.layers.activation import (
    heaviside,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    softplus,
    step,
    tanh,
)
from chainrule.nn.layers.conv_transpose import conv_transpose2d
from chainrule.nn.layers.dropout import dropout, dropout2d
from chainrule.nn.layers.embedding import embedding
from chainrule.nn.layers.group_norm import group_norm
from chainrule.nn.layers.normalization import batch_norm, layer_norm
from chainrule.nn.layers.pooling import (
    avg_pool1d,
    avg_pool2d,
    global_avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from chainrule.nn.layers.recurrent import gru_cell, lstm_cell, rnn_cell
from chainrule.nn.layers.resampling import adaptive_avg_pool2d, interpolate, pixel_shuffle
from chainrule.nn.layers.similarity import cosine_similarity, normalize, pairwise_distance
from chainrule.nn.layers.small_activations import (
    celu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    logsigmoid,
    mish,
    relu6,
    softmin,
    softshrink,
    softsign,
    tanhshrink,
    threshold,
)
from chainrule.nn.layers.smooth_activations import elu, gelu, hardtanh, prelu, selu, silu
from chainrule.nn.layers.transformer import scaled_dot_product_attention
from chainrule.nn.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    binary_crossentropy,
    categorical_crossentropy,
    cross_entropy,
    hinge_loss,
    huber_loss,
    l1_loss,
    mse_loss,
    multi_margin_loss,
    nll_loss,
    smooth_l1_loss,
    sparse_categorical_crossentropy,
    sse_loss,
)
from chainrule.nn.regularization import l1_penalty, l2_penalty
from chainrule.ops.conv import conv1d, conv2d, fold, unfold
from chainrule.ops.fused_linear import linear


def one_hot(tensor, num_classes=-1):
    """PyTorch's one_hot: int64 rows of the identity; ``num_classes=-1`` takes the largest label + 1."""
    from chainrule import backend
    from chainrule.autograd.tensor import Tensor
    from chainrule.ops.index import one_hot as _one_hot

    labels = tensor._data if isinstance(tensor, Tensor) else backend.asarray(tensor)
    if num_classes == -1:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    return _one_hot(labels, num_classes, dtype="int64")


def pad(input, pad, mode="constant", value=0.0):  # noqa: A002
    """PyTorch's pad: ``pad`` lists (before, after) pairs from the LAST dim backwards, e.g. ``(1, 1)``
    pads the last dim, ``(1, 1, 2, 0)`` the last two; only ``mode="constant"`` is implemented."""
    from chainrule.ops import pad as numpy_pad

    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is implemented, got {mode!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim or min(pad, default=0) < 0:
        raise ValueError(f"pad: expected an even number of non-negative sizes, at most two per dim of the "
                         f"{input.ndim}-d input, got {pad}")
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)]
    widths = [(0, 0)] * (input.ndim - len(pairs)) + pairs[::-1]
    return numpy_pad(input, widths, constant_values=value)
