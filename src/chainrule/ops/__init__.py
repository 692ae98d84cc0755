"""The differentiable operations, re-exported by family."""

from chainrule.ops.activation import leaky_relu, relu, sigmoid, softplus  # noqa: F401
from chainrule.ops.elementwise import (  # noqa: F401
    abs,
    add,
    astype,
    clip,
    clone,
    cos,
    div,
    exp,
    log,
    log1p,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    sin,
    sqrt,
    sub,
    tanh,
    where,
)
from chainrule.ops.index import Scatter, getitem, one_hot, take  # noqa: F401
from chainrule.ops.linalg import dot, matmul  # noqa: F401
from chainrule.ops.reduce import (  # noqa: F401
    argmax,
    argmin,
    cumsum,
    log_softmax,
    logsumexp,
    max,
    mean,
    min,
    prod,
    softmax,
    std,
    sum,
    var,
)
from chainrule.ops.shape import (  # noqa: F401
    broadcast_to,
    concatenate,
    expand_dims,
    flatten,
    pad,
    reshape,
    split,
    squeeze,
    stack,
    sum_to,
    swapaxes,
    transpose,
)
