"""chainrule: a deep-learning framework on NumPy, readable down to the last gradient.

    >>> import chainrule as cr
    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> y = x * x
    >>> y.backward()
    >>> x.grad.item()
    4.0
"""

from chainrule import (  # noqa: F401 - kernels registers the faster forms on the reference ops
    autograd,
    callbacks,
    data,
    distributed,
    explain,
    io,
    kernels,
    metrics,
    onnx,
    optim,
    tune,
    zoo,
)
from chainrule.autograd import (
    Tensor,
    enable_grad,
    hvp,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    jacobian,
    jvp,
    no_grad,
    set_grad_enabled,
    value_and_grad,
    vjp,
)
from chainrule.autograd.functional import grad
from chainrule.autograd.seam import use_reference_ops
from chainrule.creation import (
    arange,
    eye,
    full,
    linspace,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from chainrule.errors import (
    ChainruleError,
    DTypeError,
    FormatError,
    GradcheckError,
    GraphError,
    ShapeError,
)
from chainrule.io import load_model
from chainrule.ops import (
    abs,
    add,
    argmax,
    argmin,
    astype,
    broadcast_to,
    clip,
    clone,
    concatenate,
    cos,
    cumsum,
    div,
    dot,
    exp,
    expand_dims,
    flatten,
    getitem,
    leaky_relu,
    log,
    log1p,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    one_hot,
    pad,
    pow,
    prod,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    softplus,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sub,
    sum,
    swapaxes,
    take,
    tanh,
    transpose,
    var,
    where,
)
from chainrule.random import manual_seed
from chainrule.train import Model, Sequential

__version__ = "0.1.0"
