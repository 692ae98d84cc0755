"""nn layers, losses and Module methods as a PyTorch user writes them, against torch itself (#12).

See ``torch_oracle``: each idiom is written once; ``m.T`` is ``torch`` or ``chainrule``.
Layers get the same parameters in both libraries (drawn here, copied in), so values and gradients
are compared, not only shapes.
"""

import numpy as np
from torch_oracle import A, B, idiom_test, registry

IDIOMS, idiom = registry()

IMAGES = np.random.default_rng(1).standard_normal((2, 4, 5, 5)).astype(np.float32)


def _same_parameters(m, net, seed=0):
    rng = np.random.default_rng(seed)
    with m.T.no_grad():
        for p in net.parameters():
            p.copy_(m.T.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.5))
    return net


def _forward_backward(m, make, x=IMAGES):
    net = _same_parameters(m, make(m.nn))
    inputs = m.T.tensor(x, requires_grad=True)
    out = net(inputs)
    weights = np.random.default_rng(2).standard_normal(tuple(out.shape)).astype(np.float32)
    (out * m.T.tensor(weights)).sum().backward()
    return out, inputs.grad, [p.grad for p in net.parameters()], [tuple(p.shape) for p in net.parameters()]


# ---------------------------------------------------------------- layers, values and gradients
LAYERS = {
    "ConvTranspose2d": lambda nn: nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1),
    "ConvTranspose2d_no_bias": lambda nn: nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1, bias=False),
    "Conv2d": lambda nn: nn.Conv2d(4, 3, 3, padding=1),
    "AdaptiveAvgPool2d": lambda nn: nn.AdaptiveAvgPool2d((2, 3)),
    "AdaptiveAvgPool2d_1": lambda nn: nn.AdaptiveAvgPool2d(1),
    "GroupNorm": lambda nn: nn.GroupNorm(2, 4),
    "Upsample": lambda nn: nn.Upsample(scale_factor=2, mode="nearest"),
    "Upsample_size": lambda nn: nn.Upsample(size=(7, 8)),
    "BatchNorm2d": lambda nn: nn.BatchNorm2d(4),
    "MaxPool2d": lambda nn: nn.MaxPool2d(2),
    "AvgPool2d": lambda nn: nn.AvgPool2d(2, stride=1),
    "ELU": lambda nn: nn.ELU(0.5),
    "GELU": lambda nn: nn.GELU(),
    "GELU_tanh": lambda nn: nn.GELU(approximate="tanh"),
    "SELU": lambda nn: nn.SELU(),
    "SiLU": lambda nn: nn.SiLU(),
    "PReLU": lambda nn: nn.PReLU(),
    "PReLU_per_channel": lambda nn: nn.PReLU(4),
    "Hardtanh": lambda nn: nn.Hardtanh(-0.5, 0.5),
    "LeakyReLU": lambda nn: nn.LeakyReLU(0.2),
    # each in-place activation follows a layer that does not keep its output (torch refuses otherwise)
    "Sequential_with_in_place_activations": lambda nn: nn.Sequential(
        nn.Conv2d(4, 3, 3),
        nn.ReLU(inplace=True),
        nn.Flatten(),
        nn.Linear(27, 10),
        nn.ELU(inplace=True),
        nn.Linear(10, 8),
        nn.LeakyReLU(0.1, True),
        nn.Linear(8, 8),
        nn.SiLU(True),
        nn.Linear(8, 6),
        nn.Hardtanh(inplace=True),
        nn.Linear(6, 6),
        nn.SELU(inplace=True),
        nn.Linear(6, 3),
        nn.LogSoftmax(dim=1),
    ),
}
for _name, _make in LAYERS.items():
    IDIOMS[f"layer_{_name}"] = lambda m, make=_make: _forward_backward(m, make)


@idiom
def in_place_activations_change_their_input(m):
    x = m.T.tensor(B)
    y = m.nn.ReLU(inplace=True)(x)
    z = m.T.tensor(B)
    m.F.relu(z, inplace=True)
    e = m.T.tensor(B)
    m.F.elu(e, inplace=True)
    return (
        y,
        x,
        y is x,
        z,
        e,
        m.F.relu(m.T.tensor(B)),
        m.F.dropout(m.T.tensor(B), 0.5, training=False, inplace=True),
    )


@idiom
def in_place_activation_of_a_leaf_that_requires_grad_is_refused(m):
    return m.nn.ReLU(inplace=True)(m.T.tensor(B, requires_grad=True))


@idiom
def dropout2d_zeroes_whole_channels_in_training_only(m):
    layer = m.nn.Dropout2d(0.5)
    out = layer(m.T.ones(4, 16, 3, 3)).detach().numpy().reshape(4, 16, 9)
    layer.eval()
    return (
        bool((out.min(2) == out.max(2)).all()),
        sorted(set(np.unique(out).tolist())),
        layer(m.T.tensor(IMAGES)),
    )


@idiom
def interpolate_pad_and_pools(m):
    F, x = m.F, m.T.tensor(IMAGES)
    return (
        F.interpolate(x, scale_factor=2),
        F.interpolate(x, size=3),
        F.max_pool2d(x, 2),
        F.avg_pool2d(x, 2),
        F.adaptive_avg_pool2d(x, 1),
        F.pad(x, (1, 1)),
        F.pad(x, (1, 2, 0, 1), value=0.5),
        F.one_hot(m.T.tensor([0, 2, 1])),
        F.one_hot(m.T.tensor([[0], [3]]), num_classes=5),
    )


@idiom
def functional_losses(m):
    F, x, t = m.F, m.T.tensor(B), m.T.tensor([1, 0, 3])
    return (
        F.cross_entropy(x, t),
        F.nll_loss(F.log_softmax(x, dim=1), t, reduction="sum"),
        F.mse_loss(x, x * 0.5),
        F.l1_loss(x, x * 0),
        F.binary_cross_entropy_with_logits(x, (x > 0).float()),
        F.binary_cross_entropy(x.sigmoid(), (x > 0).float()),
        F.cross_entropy(x, t, label_smoothing=0.1),
        F.cross_entropy(x, t, reduction="none"),
        F.smooth_l1_loss(x, x * 0),
        F.smooth_l1_loss(x, x * 0, beta=0.5),
        F.smooth_l1_loss(x, x * 0, reduction="none", beta=0.0),
        F.huber_loss(x, x * 0, delta=0.5),
    )


@idiom
def loss_modules(m):
    nn, x, t = m.nn, m.T.tensor(B, requires_grad=True), m.T.tensor([1, 0, 3])
    losses = (
        nn.CrossEntropyLoss()(x, t),
        nn.NLLLoss()(x, t),
        nn.MSELoss(reduction="sum")(x, x * 0),
        nn.BCEWithLogitsLoss()(x, (x > 0).float()),
        nn.L1Loss()(x, x * 0),
        nn.HuberLoss()(x, x * 0),
        nn.SmoothL1Loss(beta=0.5)(x, x * 0),
    )
    sum(losses).backward()
    return losses, x.grad


# ---------------------------------------------------------------- module methods
@idiom
def module_tree(m):
    nn = m.nn
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    return (
        [n for n, _ in net.named_modules()],
        len(list(net.children())),
        len(list(net.modules())),
        [n for n, _ in net.named_children()],
        [n for n, _ in net.named_parameters()],
        sum(p.numel() for p in net.parameters()),
        len(net),
        type(net[0]).__name__,
        type(net[-1]).__name__,
        len(net[:1]),
    )


@idiom
def module_apply_train_eval(m):
    nn = m.nn
    net = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5), nn.Linear(3, 1))

    def init(module):
        if isinstance(module, nn.Linear):
            nn.init.constant_(module.weight, 0.5)
            nn.init.zeros_(module.bias)

    applied = net.apply(init) is net
    evaluated = net.eval() is net, net.training, net[1].training
    net.train()
    return (
        applied,
        evaluated,
        net.training,
        net[1].training,
        net.train(False).training,
        net(m.T.tensor(A[:, :2])),
    )


@idiom
def frozen_parameters_are_skipped(m):
    net = _same_parameters(m, m.nn.Sequential(m.nn.Linear(2, 3), m.nn.Linear(3, 1)))
    net[0].requires_grad_(False)
    before = net[0].weight.detach().clone()
    optimizer = m.optim.Adam(net.parameters(), lr=0.1)
    net(m.T.tensor(A[:, :2])).sum().backward()
    optimizer.step()
    return (
        bool((net[0].weight == before).all()),
        net[0].weight.grad is None,
        [p.requires_grad for p in net.parameters()],
    )


@idiom
def containers_parameters_and_buffers(m):
    nn = m.nn

    class WithBuffer(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(m.T.ones(2, 3))
            self.register_buffer("b", m.T.zeros(3))
            self.layers = nn.ModuleList([nn.Linear(3, 3) for _ in range(2)])
            self.heads = nn.ModuleDict({"a": nn.Linear(3, 1)})

        def forward(self, x):
            return self.heads["a"](self.layers[1](x @ self.w + self.b))

    net = _same_parameters(m, WithBuffer())
    return (
        [n for n, _ in net.named_parameters()],
        [n for n, _ in net.named_buffers()],
        list(net.state_dict()),
        net(m.T.tensor(A[:, :2])),
        net.w.requires_grad,
    )


@idiom
def batchnorm_state_and_zero_grad(m):
    bn = m.nn.BatchNorm1d(3)
    bn(m.T.tensor(A[:, :3])).sum().backward()
    optimizer = m.optim.SGD(bn.parameters(), lr=0.1)
    optimizer.zero_grad()
    return list(bn.state_dict()), bn.running_mean, bn.running_var, bn.weight.grad is None


@idiom
def nn_utils_clip_and_vectors(m):
    net = _same_parameters(m, m.nn.Linear(4, 3))
    (net(m.T.tensor(B)) ** 2).sum().backward()
    total = m.nn.utils.clip_grad_norm_(net.parameters(), max_norm=1.0)
    grads = [p.grad.clone() for p in net.parameters()]
    inf_norm = m.nn.utils.clip_grad_norm_(net.parameters(), 0.5, norm_type=float("inf"))
    m.nn.utils.clip_grad_value_(net.parameters(), 0.05)
    vector = m.nn.utils.parameters_to_vector(net.parameters())
    m.nn.utils.vector_to_parameters(vector * 2, net.parameters())
    return total, total.item(), grads, inf_norm, [p.grad for p in net.parameters()], vector, net.weight


@idiom
def initialisers_draw_pytorchs_distributions(m):
    m.T.manual_seed(0)
    init, w = m.nn.init, m.T.empty(400, 300)
    stats = []
    for fill, measure in [
        (lambda: init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"), lambda: w.std()),
        (lambda: init.xavier_uniform_(w), lambda: w.abs().max()),
        (lambda: init.normal_(w, mean=0, std=0.02), lambda: w.std()),
        (lambda: init.trunc_normal_(w, std=1.0, a=-0.5, b=1.0), lambda: w.min()),
        (lambda: init.trunc_normal_(w, std=1.0, a=-0.5, b=1.0), lambda: w.max()),
        (lambda: init.uniform_(w, -0.1, 0.1), lambda: w.max()),
        (lambda: init.kaiming_uniform_(w, a=5**0.5), lambda: w.abs().max()),
    ]:
        fill()
        stats.append(round(float(measure()), 2))
    square, wide = m.T.empty(4, 4), m.T.empty(3, 2, 3)
    init.orthogonal_(square, gain=2.0)
    init.orthogonal_(wide)
    flat = wide.reshape(3, 6)
    return (
        stats,
        (square @ square.t()).round(),
        (flat @ flat.t()).round(),
        init.calculate_gain("relu"),
        init.calculate_gain("leaky_relu", 0.2),
        init.calculate_gain("tanh"),
    )


@idiom
def load_state_dict_reports_missing_and_unexpected_keys(m):
    net = m.nn.Linear(2, 2)
    state = net.state_dict()
    del state["bias"]
    state["extra"] = m.T.zeros(1)
    result = net.load_state_dict(state, strict=False)
    return result.missing_keys, result.unexpected_keys, list(result)


@idiom
def load_state_dict_strict_refuses_a_missing_key(m):
    state = m.nn.Linear(2, 2).state_dict()
    del state["bias"]
    return m.nn.Linear(2, 2).load_state_dict(state)


@idiom
def module_reprs(m):
    return (
        repr(m.nn.Linear(2, 3)),
        repr(m.nn.ReLU()),
        repr(m.nn.Conv2d(1, 2, 3)),
        str(m.nn.Linear(2, 3).weight.device),
    )


test_idiom_agrees_with_torch = idiom_test(IDIOMS)
