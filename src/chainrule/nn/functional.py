"""The functional form of every layer and loss: ``import chainrule.nn.functional as F``.

A hub of re-exports; the code of each function lives beside its layer or op.
"""

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
from chainrule.nn.layers.dropout import dropout
from chainrule.nn.layers.embedding import embedding
from chainrule.nn.layers.normalization import batch_norm, layer_norm
from chainrule.nn.layers.pooling import (
    avg_pool1d,
    avg_pool2d,
    global_avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from chainrule.nn.layers.recurrent import gru_cell, lstm_cell, rnn_cell
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
    sparse_categorical_crossentropy,
    sse_loss,
)
from chainrule.nn.regularization import l1_penalty, l2_penalty
from chainrule.ops.conv import conv1d, conv2d, fold, unfold
from chainrule.ops.fused_linear import linear
