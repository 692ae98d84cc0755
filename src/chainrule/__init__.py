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
    utils,
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
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)

# PyTorch's door: where its meaning of a name differs from NumPy's, the top level has PyTorch's
from chainrule.device import (  # noqa: E402
    accelerator,
    backends,
    cuda,
    device,
    double,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int8,
    int16,
    int32,
    int64,
    long,
    short,
    uint8,
)
from chainrule.device import bool_ as bool  # noqa: E402, A001 - torch.bool
from chainrule.device import float32 as float  # noqa: E402, A001 - torch.float
from chainrule.device import int32 as int  # noqa: E402, A001 - torch.int
from chainrule.errors import (
    ChainruleError,
    DTypeError,
    FormatError,
    GradcheckError,
    GraphError,
    ShapeError,
)
from chainrule.functions import (  # noqa: E402
    argmax,
    argmin,
    bmm,
    cat,
    chunk,
    clamp,
    concat,
    cumsum,
    eq,
    equal,
    flatten,
    gather,
    ge,
    gt,
    is_tensor,
    le,
    log_softmax,
    lt,
    max,
    mean,
    min,
    mm,
    ne,
    norm,
    numel,
    permute,
    prod,
    scatter,
    sign,
    softmax,
    sort,
    split,
    squeeze,
    stack,
    std,
    sum,
    topk,
    transpose,
    unsqueeze,
    var,
    where,
)
from chainrule.io import load_model
from chainrule.io.saved_objects import load, save
from chainrule.kernels.threads import get_num_threads, set_num_threads
from chainrule.ops import (
    astype,
    broadcast_to,
    clip,
    clone,
    concatenate,
    dot,
    expand_dims,
    getitem,
    leaky_relu,
    log1p,
    logsumexp,
    one_hot,
    pad,
    relu,
    reshape,
    softplus,
    swapaxes,
    take,
)
from chainrule.out_forms import (  # the ops with PyTorch's out= (and add's alpha)
    abs,
    add,
    cos,
    div,
    divide,
    exp,
    log,
    matmul,
    maximum,
    minimum,
    mul,
    multiply,
    neg,
    pow,
    sigmoid,
    sin,
    sqrt,
    sub,
    subtract,
    tanh,
)
from chainrule.random import Generator, manual_seed
from chainrule.train import Model, Sequential

__version__ = "0.1.0"
