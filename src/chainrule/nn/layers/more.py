"""The layers of :mod:`chainrule.nn.functional_more`: the smaller activations, similarity and distance,
``PixelShuffle``, and the KL-divergence, ranking and embedding losses, as PyTorch's ``nn`` has them."""

from chainrule.nn import functional_more as F
from chainrule.nn import loss_checks as checks
from chainrule.nn.layers.activation import _Activation
from chainrule.nn.losses import _Loss
from chainrule.nn.module import Module


def _activation(name, function, doc, **defaults):
    """A parameter-free layer applying ``function`` with its options fixed at construction."""

    def __init__(self, *args, inplace=False, name=None, **options):
        _Activation.__init__(self, name)
        settings = dict(defaults)
        settings.update(zip(list(defaults), args))
        settings.update(options)
        self.options, self.inplace = settings, bool(inplace)

    def forward(self, x):
        if self.inplace:  # PyTorch's inplace=True: the input itself becomes the result
            return x._replace_by(lambda v: function(v, **self.options), f"{name}(inplace=True)")
        return function(x, **self.options)

    def extra_repr(self):
        return ", ".join(f"{k}={v!r}" for k, v in self.options.items())

    def get_config(self):  # what a model file keeps (chainrule.io)
        return {**self.options, "inplace": self.inplace, "name": self.name}

    return type(name, (_Activation,), {"__init__": __init__, "forward": forward, "extra_repr": extra_repr,
                                       "get_config": get_config, "__doc__": doc})


ReLU6 = _activation("ReLU6", F.relu6, "min(max(x, 0), 6).")
Hardsigmoid = _activation("Hardsigmoid", F.hardsigmoid, "relu6(x + 3) / 6.")
Hardswish = _activation("Hardswish", F.hardswish, "x · relu6(x + 3) / 6.")
LogSigmoid = _activation("LogSigmoid", F.logsigmoid, "log σ(x).")
Softsign = _activation("Softsign", F.softsign, "x / (1 + |x|).")
Mish = _activation("Mish", F.mish, "x · tanh(softplus(x)).")
Tanhshrink = _activation("Tanhshrink", F.tanhshrink, "x − tanh(x).")
CELU = _activation("CELU", F.celu, "max(0, x) + min(0, α(e^(x/α) − 1)).", alpha=1.0)
GLU = _activation("GLU", F.glu, "a · σ(b), the halves of the input along dim.", dim=-1)
Softmin = _activation("Softmin", F.softmin, "softmax(−x) along dim.", dim=None)
Softshrink = _activation("Softshrink", F.softshrink, "x − clip(x, −λ, λ).", lambd=0.5)
Hardshrink = _activation("Hardshrink", F.hardshrink, "x where |x| > λ, else 0.", lambd=0.5)
Threshold = _activation("Threshold", F.threshold, "x where x > threshold, else value.", threshold=None,
                        value=None)
PixelShuffle = _activation("PixelShuffle", F.pixel_shuffle, "(N, C·r², H, W) → (N, C, H·r, W·r).",
                           upscale_factor=None)


class CosineSimilarity(Module):
    """cos(x1, x2) along ``dim``."""

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)

    def get_config(self):
        return {"dim": self.dim, "eps": self.eps}


class PairwiseDistance(Module):
    """‖x1 − x2 + eps‖_p along the last dim."""

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.p, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.p, self.eps, self.keepdim)

    def get_config(self):
        return {"p": self.p, "eps": self.eps, "keepdim": self.keepdim}


class KLDivLoss(_Loss):
    """KL(target ‖ exp(input)) with ``input`` log-probabilities; ``reduction="batchmean"`` for the true KL."""

    def __init__(self, reduction="mean", log_target=False):
        Module.__init__(self)
        if reduction != "batchmean":
            checks.check_reduction(reduction, "KLDivLoss")
        self.reduction, self.options = reduction, {"log_target": log_target}

    @staticmethod
    def function(input, target, reduction, log_target):  # noqa: A002
        return F.kl_div(input, target, reduction, log_target)


class _LossOf(_Loss):
    """A loss whose arguments are not (input, target): they pass through to its function."""

    def __init__(self, reduction="mean", **options):
        Module.__init__(self)
        checks.check_reduction(reduction, type(self).__name__)
        self.reduction, self.options = reduction, options

    def forward(self, *args):
        return type(self).function(*args, reduction=self.reduction, **self.options)


def _loss(name, function, doc, **defaults):
    def __init__(self, *args, reduction="mean", **options):
        settings = dict(defaults)
        settings.update(zip(list(defaults), args))
        settings.update(options)
        _LossOf.__init__(self, reduction, **settings)

    return type(name, (_LossOf,), {"__init__": __init__, "function": staticmethod(function), "__doc__": doc})


MarginRankingLoss = _loss("MarginRankingLoss", F.margin_ranking_loss, "max(0, −y(x1 − x2) + margin).",
                          margin=0.0)
HingeEmbeddingLoss = _loss("HingeEmbeddingLoss", F.hinge_embedding_loss, "x or max(0, margin − x) by y.",
                           margin=1.0)
SoftMarginLoss = _loss("SoftMarginLoss", F.soft_margin_loss, "log(1 + e^(−y·x)).")
CosineEmbeddingLoss = _loss("CosineEmbeddingLoss", F.cosine_embedding_loss,
                            "1 − cos, or max(0, cos − margin).", margin=0.0)
TripletMarginLoss = _loss("TripletMarginLoss", F.triplet_margin_loss, "max(d(a, p) − d(a, n) + margin, 0).",
                          margin=1.0, p=2.0, eps=1e-6, swap=False)
PoissonNLLLoss = _loss("PoissonNLLLoss", F.poisson_nll_loss, "e^x − y·x for log-rates x.", log_input=True,
                       full=False, eps=1e-8)
GaussianNLLLoss = _loss("GaussianNLLLoss", F.gaussian_nll_loss, "½(log var + (x − y)²/var).", full=False,
                        eps=1e-6)
